"""The benchmark generator's output is pinned: the same arguments give the same projects, draw for draw.

The full benchmark caches its generated portfolio keyed by ``GENERATOR_VERSION``, and equivalence tests
compare engine paths on generated projects; both rely on ``bench.generate`` making exactly the same
projects from the same arguments. A refactoring that reorders one random draw changes every project
after it, and these hashes catch it. If the generator's output is changed on purpose, bump
``GENERATOR_VERSION`` and update the hashes.

Each project is hashed as its project-file document (defaults dropped), so adding a defaulted field to
the model does not disturb the hashes, while every generated value does.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

import pytest

from bench.generate import (
    GENERATOR_VERSION,
    PHASES,
    acceptance_project,
    clean_acceptance_project,
    generate_project,
    network_project,
    portfolio,
    schedule_network,
)
from lifecycle.domain.model import Project
from lifecycle.load.projectfile import project_to_document


def _digest(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _project_digest(project: Project) -> str:
    doc = project_to_document(project)
    doc.pop("schema_version", None)  # the file format's version, not the generator's
    return _digest(doc)


GENERATED = {
    # (code, seed, tasks, risks, deliverables, phase): hash
    ("G-A", 1, 8, None, None, None): "2d90b29dc7179b3a",
    ("G-B", 2, 40, None, None, None): "b84c1d3da48f330b",
    ("G-P", 3, 8, None, None, "initiation"): "4607d964cf1833c6",
    ("G-P", 3, 8, None, None, "planning"): "23085c7c85df5aa5",
    ("G-P", 3, 8, None, None, "execution"): "48d7111e8c2919d2",
    ("G-P", 3, 8, None, None, "control"): "0164069e898c79be",
    ("G-P", 3, 8, None, None, "closure"): "45c5b65264f90ca6",
    ("G-Q", 4, 40, None, None, "initiation"): "6fb1d4a70164dd58",
    ("G-Q", 4, 40, None, None, "planning"): "5a3eb006dabb2ea8",
    ("G-Q", 4, 40, None, None, "execution"): "0c401c78983e6129",
    ("G-Q", 4, 40, None, None, "control"): "43dbd9f7791002f3",
    ("G-Q", 4, 40, None, None, "closure"): "9713a68a51a9fa20",
    ("G-C", 5, 120, 2, 1, "closure"): "87dc8312365b504c",
    ("G-D", 6, 60, 0, 9, "control"): "c615055f705aab38",
}


@pytest.mark.parametrize(("args", "expected"), GENERATED.items(), ids=lambda a: ":".join(map(str, a)))
def test_generate_project_is_pinned(
    args: tuple[str, int, int, int | None, int | None, str | None], expected: str
) -> None:
    code, seed, tasks, risks, deliverables, phase = args
    project = generate_project(code, seed=seed, tasks=tasks, risks=risks, deliverables=deliverables, phase=phase)
    assert _project_digest(project) == expected


def test_generate_project_other_today_is_pinned() -> None:
    project = generate_project("G-T", seed=7, tasks=40, today=date(2027, 3, 1))
    assert _project_digest(project) == "82a39b1e585c750c"


def test_portfolio_is_pinned() -> None:
    projects = list(portfolio(4, seed=2, tasks=24, prefix="GP"))
    assert [_project_digest(p) for p in projects] == [
        "84e5da8f3840859b",
        "cf689a68375e4d78",
        "799b661a46ffd672",
        "f3e5315c86f4fd13",
    ]
    assert [_project_digest(p) for p in portfolio(4, seed=2, tasks=24, prefix="GP", start=2)] == [
        _project_digest(p) for p in projects[2:]
    ]


def test_acceptance_projects_are_pinned() -> None:
    assert _project_digest(acceptance_project(3, seed=2, code="G-ACC")) == "1be42367a226b0b4"
    assert _project_digest(clean_acceptance_project(3, seed=4, code="G-FLOW")) == "27f9cfd3259a1a45"


def test_schedule_network_is_pinned() -> None:
    durations, edges = schedule_network(300, links_per_task=3, seed=5)
    assert _digest([durations, edges]) == "030c4f326c2b7668"
    assert _project_digest(network_project(durations, edges)) == "7bacac37ee55981d"


def test_generator_version() -> None:
    # the hashes above belong to this version of the generator's output
    assert GENERATOR_VERSION == 1


def test_every_phase_is_pinned() -> None:
    for code in ("G-P", "G-Q"):
        assert {args[5] for args in GENERATED if args[0] == code} == set(PHASES)

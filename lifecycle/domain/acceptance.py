"""Criterion-level acceptance: which result of each acceptance criterion counts, and the tally.

A deliverable's acceptance criteria are verified one by one; each verification is a
:class:`~lifecycle.domain.model.CriterionResult` (several per criterion: a failed measurement, then a
passed one after the fix). The one that counts is the **latest**: the latest date, and of equal dates
the one recorded last (file order is record order). A criterion without a result is **open**
("not yet verified"). Gate facts, documents and the client's acceptance page all read the results
through this module, so they agree on which result counts.

Evidence is printed on documents the client keeps: it names a file relative to the documents folder
or a reference (a report number), never a path of the server (:func:`evidence_problem`).

Pure: the model only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from lifecycle.domain.model import AcceptanceCriterion, CriterionResult, Deliverable, Project, replace

OUTCOMES = ("pass", "fail", "conditional")
"""Results of a criterion; ``conditional`` is "accepted with conditions"."""

_LOCAL_PATH = re.compile(r"^(~|/|\\|[A-Za-z]:[\\/]|file:)|(^|[\\/])\.\.([\\/]|$)")


def evidence_problem(text: str) -> str:
    """Why ``text`` cannot be printed as evidence ('' when it can): an absolute, home or parent path."""
    if _LOCAL_PATH.search(text.strip()):
        return (
            f"evidence '{text}' is a path on this machine: name a file relative to the documents folder "
            "or a reference such as a report number"
        )
    return ""


def latest_results(results: Iterable[CriterionResult]) -> dict[tuple[str, str], CriterionResult]:
    """The result that counts per (deliverable, criterion): latest date, then latest recorded."""
    out: dict[tuple[str, str], CriterionResult] = {}
    for r in results:
        key = (r.deliverable, r.criterion)
        prev = out.get(key)
        if prev is None or (r.date or date.min) >= (prev.date or date.min):
            out[key] = r
    return out


@dataclass(frozen=True, slots=True)
class CriteriaTally:
    """How a deliverable's criteria stand by their latest results (open: no result yet)."""

    total: int
    passed: int
    failed: int
    conditional: int
    open: int
    failed_ids: tuple[str, ...]
    open_ids: tuple[str, ...]

    @property
    def verified(self) -> bool:
        """Every criterion has a result (a deliverable without criteria has nothing to verify)."""
        return self.open == 0


def tally(deliverable: Deliverable, latest: dict[tuple[str, str], CriterionResult]) -> CriteriaTally:
    counts = dict.fromkeys(OUTCOMES, 0)
    failed: list[str] = []
    missing: list[str] = []
    for c in deliverable.acceptance_criteria:
        r = latest.get((deliverable.id, c.id))
        if r is None:
            missing.append(c.id)
            continue
        counts[r.result] += 1
        if r.result == "fail":
            failed.append(c.id)
    return CriteriaTally(
        len(deliverable.acceptance_criteria),
        counts["pass"],
        counts["fail"],
        counts["conditional"],
        len(missing),
        tuple(failed),
        tuple(missing),
    )


def criterion_problems(project: Project) -> list[tuple[tuple[object, ...], str]]:
    """Findings ``(path, message)`` of the criterion results: a criterion the deliverable has, printable
    evidence, and the conditions of a conditional result."""
    out: list[tuple[tuple[object, ...], str]] = []
    criteria = {d.id: {c.id for c in d.acceptance_criteria} for d in project.deliverables}
    for i, r in enumerate(project.criterion_results):
        known = criteria.get(r.deliverable)
        if known is not None and r.criterion not in known:
            names = ", ".join(sorted(known)) or "none"
            out.append(
                (
                    ("criterion_results", i, "criterion"),
                    f"deliverable '{r.deliverable}' has no acceptance criterion '{r.criterion}' (criteria: {names})",
                )
            )
        problem = evidence_problem(r.evidence)
        if problem:
            out.append((("criterion_results", i, "evidence"), problem))
        if r.result == "conditional" and not r.conditions.strip():
            out.append((("criterion_results", i, "conditions"), "a conditional result states its conditions"))
    return out


def with_result(project: Project, result: CriterionResult) -> Project:
    """The project with ``result`` recorded last (an entry with its id is replaced: recorded again now).

    The one way a result is added, by a person (services.criteria) or by a quality check."""
    kept = (r for r in project.criterion_results if r.id != result.id)
    return replace(project, criterion_results=(*kept, result))


def default_target(project: Project, criterion: AcceptanceCriterion) -> str:
    """The criterion's target, else the target of the project's quality standard it names."""
    if criterion.target:
        return criterion.target
    standard = project.index("quality_standards").get(criterion.standard)
    return str(standard.target) if standard is not None else ""

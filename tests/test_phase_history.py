"""Stages and history in the facts (issue 14, finding 2): items carry ``phase`` and ``tags``, status
reports a ``kind``; the facts hold ``phase_history`` and ``phase_entered`` from the stored moves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli
from lifecycle.domain.history import phase_history
from lifecycle.expr import compile_expr
from lifecycle.expr.checks import ExprChecker

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "en-clinic-portal.yaml"
CODE = "NHP-PORTAL-2026"


def run(*args: str, code: int = 0) -> Any:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == code, res.output + (repr(res.exception) if res.exception else "")
    return res


def test_history_from_phase_changes() -> None:
    changes = [
        {"from": "planning", "to": "execution", "at": "2026-10-02T09:00:00+00:00", "review": "GR-2", "decision": "go"},
        {"from": "initiation", "to": "planning", "at": "2026-09-01T09:00:00+00:00", "review": "GR-1", "decision": "go"},
    ]
    got = phase_history(changes, "execution")
    assert [(h["phase"], h["entered"], h["left"]) for h in got["phase_history"]] == [
        ("initiation", None, "2026-09-01"),
        ("planning", "2026-09-01", "2026-10-02"),
        ("execution", "2026-10-02", None),
    ]
    assert got["phase_entered"] == "2026-10-02" and got["phase_history"][2]["review"] == "GR-2"
    assert phase_history([], "initiation") == {
        "phase_history": [
            {"phase": "initiation", "entered": None, "left": None, "transition": "", "decision": "", "review": ""}
        ],
        "phase_entered": None,
    }


def test_rules_may_use_phase_tags_kind_and_history() -> None:
    checker = ExprChecker()
    for text in (
        "count('tasks', {'phase': phase, 'status !=': 'done'}) == 0",
        "deliverables.all(d, d.phase != phase || 'signed' in d.tags)",
        "count('status_reports', {'kind': 'end_stage', 'phase': phase}) > 0",
        "phase_entered == null || days_since(phase_entered) <= 90",
        "phase_history.exists(h, h.phase == 'planning' && h.decision == 'go' && h.review != '')",
        "count('lessons', {'phase': phase}) > 0",
    ):
        compiled = compile_expr(text)
        assert not isinstance(compiled, str)
        assert checker.check(compiled, "bool") == [], text


def test_facts_carry_item_phase_tags_kind_and_history(
    tmp_path: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PMO_TODAY", "2026-09-20")
    monkeypatch.setenv("PMO_NOW", "2026-09-20T10:00:00+00:00")
    text = SAMPLE.read_text(encoding="utf-8")
    text = text.replace("  - id: pm\n", "  - id: pm\n    phase: execution\n    tags: [management]\n", 1)
    text = text.replace("  - id: SR-01\n", "  - id: SR-01\n    kind: highlight\n    phase: planning\n", 1)
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    run("apply", str(path))
    facts = json.loads(run("facts", CODE).output)
    assert facts["phase_history"][0]["phase"] == "initiation" and facts["phase_entered"] is None
    run("advance", CODE, "--to", "planning")
    facts = json.loads(run("facts", CODE).output)
    pm = next(t for t in facts["tasks"] if t["id"] == "pm")
    assert (pm["phase"], pm["tags"]) == ("execution", ["management"])
    assert (facts["status_reports"][0]["kind"], facts["status_reports"][0]["phase"]) == ("highlight", "planning")
    assert facts["phase_entered"] == "2026-09-20"
    last = facts["phase_history"][-1]
    assert last["phase"] == "planning" and last["decision"] == "go" and last["review"].endswith("GR-001")
    exported = run("export", CODE).output
    assert "phase: execution" in exported and "kind: highlight" in exported

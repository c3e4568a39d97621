"""The decisions the flows used to make, as services tested without Prefect.

The gate review names its blocking rules as the domain does: a warning-level rule whose evaluation
errors makes the decision no-go *and* is named as blocking, so the ``closeout.blocked`` notification
says which rule blocks (an earlier copy of this logic in the flow named nothing in that case).
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import yaml

from lifecycle.domain.model import replace
from lifecycle.errors import InvalidInput
from lifecycle.services import gate_review, milestones
from lifecycle.services.context import Context, Runtime
from lifecycle.storage.memory import MemoryStore
from lifecycle.workspace import Settings, Workspace
from tests.flows.conftest import sample_project

# a warning-level rule that errors at evaluation when no lesson is recorded (division by zero)
ERRORING_WARNING = {
    "gates": {
        "closure_to_closed": {
            "title": {"zh": "关闭项目", "en": "Close the project"},
            "rules": [
                {
                    "id": "W-RATIO",
                    "title": {"zh": "经验教训比例", "en": "Lessons per deliverable"},
                    "severity": "warning",
                    "check": "size(deliverables) / size(lessons) < 10",
                }
            ],
        }
    }
}


def erroring_pack(test_pack: Path, folder: Path) -> Path:
    """The flows' test pack plus a closing gate whose only rule is a warning that errors."""
    shutil.copytree(test_pack, folder)
    (folder / "gates" / "closing.yaml").write_text(yaml.safe_dump(ERRORING_WARNING), encoding="utf-8")
    return folder


@pytest.fixture
def ctx(tmp_path: Path, test_pack: Path) -> Context:
    pack = erroring_pack(test_pack, tmp_path / "pack")
    ws = Workspace(tmp_path, Settings(rules=str(pack)), Runtime(today=date(2026, 3, 30)))
    c = Context(ws, MemoryStore(), clock=lambda: datetime(2026, 3, 30, 9, tzinfo=timezone.utc), actor_override="t")
    c.store.save(sample_project(tmp_path / "files", phase="closure"), expected_version=None)
    return c


def test_an_erroring_warning_rule_blocks_and_is_named(ctx: Context) -> None:
    outcome = gate_review.review_gate(ctx, "DEMO-1", "closed")
    assert outcome.decision == "no_go" and not outcome.advanced
    assert outcome.blocking == ("W-RATIO",)
    stored = ctx.store.get_record("DEMO-1", "gate_review", outcome.review)
    assert stored is not None
    result = next(r for r in stored.data["results"] if r["id"] == "W-RATIO")
    assert result["severity"] == "warning" and result["outcome"] == "error"
    reason = gate_review.blocked_reason(outcome.to_dict())
    assert reason == "W-RATIO, approval 2 more of 2: steering"
    # the flow's own rule (blocking severity only) named nothing here although the decision is no-go
    assert not [r["id"] for r in stored.data["results"] if r["severity"] == "blocking" and r["outcome"] == "error"]
    assert "W-RATIO error" in outcome.message


def test_the_same_review_is_not_stored_twice(ctx: Context) -> None:
    first = gate_review.review_gate(ctx, "DEMO-1", "closed")
    again = gate_review.review_gate(ctx, "DEMO-1", "closed")
    assert again.review == first.review and len(ctx.store.records("DEMO-1", "gate_review")) == 1


def test_a_gate_without_blocking_rules_is_worded_by_its_decision() -> None:
    assert gate_review.blocked_reason({"blocking": [], "approvals_missing": [], "decision": "no_go"}) == "no_go"


def test_closing_plan(ctx: Context, tmp_path: Path) -> None:
    plan = gate_review.closing_plan(ctx, "DEMO-1")
    assert (plan.phase, plan.final, plan.target, plan.possible) == ("closure", False, "closed", True)
    ctx.store.save(replace(ctx.store.get("DEMO-1"), phase="execution"), expected_version=1)
    plan = gate_review.closing_plan(ctx, "DEMO-1")
    assert not plan.possible and plan.target is None and "take it through its gates" in plan.reason
    ctx.store.save(replace(ctx.store.get("DEMO-1"), phase="closed"), expected_version=2)
    plan = gate_review.closing_plan(ctx, "DEMO-1")
    assert plan.final and not plan.possible and "already in the final phase" in plan.reason


def test_review_recipients_are_the_pm_and_the_sponsor(ctx: Context) -> None:
    people = gate_review.review_recipients(ctx, "DEMO-1")
    assert people.to == ("p-pm", "c-spon") and people.names == ("Pat Manager", "Dana Sponsor")


def test_acceptance_verdict_and_check_tally(ctx: Context) -> None:
    with pytest.raises(InvalidInput, match="not done"):
        milestones.reached_milestone(ctx, "DEMO-1", "M1")
    checks = [
        {"id": "Q1", "result": "pass"},
        {"id": "Q2", "result": "conditional"},
        {"id": "Q3", "result": "fail"},
    ]
    tally = milestones.tally_checks(checks)
    assert (tally.failed, tally.conditional, tally.passed, tally.total) == (("Q3",), ("Q2",), 2, 3)
    acceptance = milestones.ReachedMilestone("M1", "Design accepted", "acceptance", ("D1",), "2026-01-16")
    assert milestones.acceptance_verdict(acceptance, tally).withheld == "withheld: 1 quality check(s) failed"
    assert milestones.acceptance_verdict(acceptance, milestones.tally_checks(checks[:2])).issue
    other = replace(acceptance, kind="delivery")
    assert not milestones.acceptance_verdict(other, milestones.tally_checks(checks[:2])).applies

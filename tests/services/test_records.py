"""The daily-record use cases without a face: defaults, refusals and what each one stores."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from lifecycle.domain.model import ProgressPoint
from lifecycle.errors import InvalidInput, NotFound
from lifecycle.services import records
from lifecycle.services.context import Context, Runtime
from lifecycle.storage.memory import MemoryStore
from lifecycle.workspace import Settings, Workspace
from tests.factory import small_project


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    ws = Workspace(tmp_path, Settings(), Runtime(today=date(2026, 2, 2)))
    c = Context(ws, MemoryStore(), clock=lambda: datetime(2026, 2, 2, 9, tzinfo=timezone.utc), actor_override="pat")
    c.store.save(small_project("DEMO-1"), expected_version=None)
    return c


def test_task_done_means_full_progress_and_dates(ctx: Context) -> None:
    task = ctx.store.get("DEMO-1").leaf_tasks()[0]
    done = records.record_task_progress(ctx, "DEMO-1", task.id, records.TaskProgress(status="done"))
    assert (done.status, done.percent_complete) == ("done", 100.0)
    assert done.actual_finish == date(2026, 2, 2) and done.actual_start == date(2026, 2, 2)
    audit = ctx.store.audit("DEMO-1")
    assert audit[-1].action == "task.progress" and audit[-1].entity_id == task.id


def test_progress_rules_without_storage() -> None:
    task = small_project().leaf_tasks()[0]
    today = date(2026, 2, 2)
    assert records.progress_values(task, records.TaskProgress(percent=40), today) == {
        "percent_complete": 40.0,
        "status": "in_progress",
        "actual_start": today,
        "progress": (ProgressPoint(today, 40.0),),  # the progress history gets the day's entry
    }
    assert records.progress_values(task, records.TaskProgress(percent=100), today)["status"] == "done"
    assert records.progress_values(task, records.TaskProgress(), today) == {}


def test_task_progress_needs_a_change(ctx: Context) -> None:
    task = ctx.store.get("DEMO-1").leaf_tasks()[0]
    with pytest.raises(InvalidInput, match="nothing to change"):
        records.record_task_progress(ctx, "DEMO-1", task.id, records.TaskProgress())


def test_risk_added_with_next_id_and_updated(ctx: Context) -> None:
    with pytest.raises(InvalidInput, match="needs --title"):
        records.add_risk(ctx, "DEMO-1", records.RiskFields())
    r = records.add_risk(ctx, "DEMO-1", records.RiskFields(title="Vendor late", probability=4, impact=4))
    assert r.id.startswith("R-") and r.score == 16 and r.identified_on == date(2026, 2, 2)
    u = records.update_risk(ctx, "DEMO-1", r.id, records.RiskFields(strategy="mitigate", owner="p-pm"))
    assert (u.strategy, u.owner, u.score) == ("mitigate", "p-pm", 16)
    with pytest.raises(InvalidInput, match="nothing to change"):
        records.update_risk(ctx, "DEMO-1", r.id, records.RiskFields())


def test_issue_cost_report_feedback_change(ctx: Context) -> None:
    issue = records.raise_issue(ctx, "DEMO-1", records.NewIssue("Scanner firmware", blocking=True))
    assert (issue.id, issue.raised_on, issue.blocking) == ("I-001", date(2026, 2, 2), True)
    assert records.resolve_issue(ctx, "DEMO-1", "I-001").resolved_on == date(2026, 2, 2)
    cost = records.book_cost(ctx, "DEMO-1", records.NewCost(Decimal("1200.50"), category="travel"))
    assert (cost.id, cost.date, cost.amount) == ("C-001", date(2026, 2, 2), Decimal("1200.50"))
    report = records.add_status_report(ctx, "DEMO-1", records.NewStatusReport("amber", "Behind on scanning"))
    assert (report.author, report.schedule, report.cost, report.scope) == ("p-pm", "amber", "amber", "green")
    assert report.period_start == date(2026, 1, 19) and report.period_end == date(2026, 2, 2)
    fb = records.record_feedback(ctx, "DEMO-1", records.NewFeedback("c-rep", 4, status_report=report.id))
    assert (fb.id, fb.rating, fb.status_report) == ("FB-001", 4, report.id)
    with pytest.raises(InvalidInput, match="csat"):
        records.record_survey(ctx, "DEMO-1", records.NewSurvey("c-rep"))
    assert records.record_survey(ctx, "DEMO-1", records.NewSurvey("c-rep", nps=9)).nps == 9
    cr = records.raise_change(ctx, "DEMO-1", records.NewChange("Add a site", cost_impact=-250.0))
    assert (cr.id, cr.cost_impact, cr.status) == ("CR-001", Decimal("-250.0"), "proposed")
    decided = records.decide_change(ctx, "DEMO-1", cr.id, approve=False, decided_by="c-spon")
    assert (decided.status, decided.decided_on) == ("rejected", date(2026, 2, 2))
    with pytest.raises(InvalidInput, match="already rejected"):
        records.decide_change(ctx, "DEMO-1", cr.id, approve=True, decided_by="c-spon")


def test_unknown_owner_is_refused_and_nothing_written(ctx: Context) -> None:
    version = ctx.store.get("DEMO-1").version
    with pytest.raises(Exception, match="inconsistent"):
        records.raise_issue(ctx, "DEMO-1", records.NewIssue("x", owner="nobody"))
    assert ctx.store.get("DEMO-1").version == version
    with pytest.raises(NotFound):
        records.resolve_issue(ctx, "DEMO-1", "I-999")

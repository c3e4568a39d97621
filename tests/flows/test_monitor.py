"""Portfolio monitoring without Prefect: health figures, alerts once per day, owners notified."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from lifecycle.domain.model import CostEntry, StatusReport, replace
from lifecycle.services import monitor
from lifecycle.services.context import read_runtime
from lifecycle.services.milestones import complete_milestone
from lifecycle.storage.sql import SqlStore
from tests.flows.conftest import open_ctx, sample_project, today_env


def test_alerts_of_a_late_project(make_workspace, hooks, monkeypatch):
    today_env(monkeypatch)
    ctx = open_ctx(make_workspace(webhook={"url": hooks.url}))
    try:
        health = monitor.portfolio_health(ctx)
        assert [h["project"] for h in health] == ["DEMO-1"]
        h = health[0]
        assert h["health"] == "red" and h["progress_pct"] == 0.0 and h["planned_progress_pct"] == 100.0
        kinds = {a["kind"]: a for a in h["alerts"]}
        assert set(kinds) == {
            "behind_schedule",
            "overdue_tasks",
            "overdue_milestones",
            "risks_past_review",
            "no_status_report",
        }
        assert kinds["overdue_tasks"]["evidence"] == ["T1", "T2", "T3"]
        assert [o["id"] for o in kinds["overdue_tasks"]["owners"]] == ["p-pm", "p-dev"]
        assert kinds["risks_past_review"]["owners"][0] == {
            "id": "p-pm",
            "name": "Pat Manager",
            "email": "pat@supplier.example",
        }
        records = ctx.store.records("DEMO-1", "alert")
        assert sorted(r.key for r in records) == sorted(f"2026-03-30:{k}" for k in kinds)
        assert len(hooks.bodies) == 5
        alert = next(b for b in hooks.bodies if b["payload"]["kind"] == "overdue_tasks")
        assert alert["event"] == "portfolio.alert" and alert["payload"]["to"] == ["Pat Manager", "Dev One"]
        assert alert["text"].startswith("[DEMO-1] alert (red): 3 task(s) past their finish date")

        # the same day again: nothing new recorded or sent
        again = monitor.portfolio_health(ctx)
        assert not any(a["new"] for a in again[0]["alerts"])
        assert len(ctx.store.records("DEMO-1", "alert")) == 5 and len(hooks.bodies) == 5

        # the next day: each alert once more (the environment is read once, when a workspace opens)
        monkeypatch.setenv("PMO_TODAY", "2026-03-31")
        ctx.workspace.runtime = read_runtime()
        monitor.portfolio_health(ctx)
        assert len(ctx.store.records("DEMO-1", "alert")) == 10 and len(hooks.bodies) == 10
    finally:
        ctx.close()


def test_budget_and_status_report_alerts_and_inactive_projects(make_workspace, tmp_path, monkeypatch):
    today_env(monkeypatch, "2026-01-20")
    p = sample_project(tmp_path / "files")
    p = replace(
        p,
        costs=(CostEntry(id="C1", date=date(2026, 1, 10), amount=Decimal("125000")),),
        status_reports=(
            StatusReport(
                id="SR-1", date=date(2026, 1, 2), period_start=date(2025, 12, 20), period_end=date(2026, 1, 2)
            ),
        ),
    )
    ws = make_workspace(project=p)
    store = SqlStore.open(f"sqlite:///{ws / 'pmo.db'}")
    store.save(replace(sample_project(tmp_path / "f2", code="OLD-1"), phase="closed"), expected_version=None)
    store.close()
    ctx = open_ctx(ws)
    try:
        health = monitor.portfolio_health(ctx)
        assert [h["project"] for h in health] == ["DEMO-1"]  # OLD-1 is closed
        kinds = {a["kind"]: a["message"] for a in health[0]["alerts"]}
        assert kinds["over_budget"] == "actual cost 125,000.00 exceeds the budget 110,000.50 GBP"
        assert kinds["stale_status_report"] == "last status report 18 days ago (expected every 14 days)"
        assert "notify_error" not in health[0]
        assert ctx.store.records("DEMO-1", "notification")[0].data["status"] == "skipped"
    finally:
        ctx.close()


def test_milestone_status_report_is_written_once(make_workspace, monkeypatch):
    today_env(monkeypatch)
    ctx = open_ctx(make_workspace())
    try:
        complete_milestone(ctx, "DEMO-1", "M1")
        checks = [
            {"deliverable": "D1", "standard": "QS-FILE", "result": "pass"},
            {"deliverable": "D2", "standard": "QS-DEF", "result": "fail", "evidence": "2 open defects"},
        ]
        report = monitor.record_milestone_report(ctx, "DEMO-1", "M1", checks)
        assert report.id == "SR-M1" and report.date == date(2026, 3, 30) and report.scope == "amber"
        assert report.overall == "red"  # far behind schedule
        assert "1/2 quality checks passed" in report.summary
        assert report.next_steps[0] == "Fix D2: QS-DEF (2 open defects)"
        version = ctx.store.get("DEMO-1").version
        assert monitor.record_milestone_report(ctx, "DEMO-1", "M1", checks) == report
        assert ctx.store.get("DEMO-1").version == version
        assert [r.id for r in ctx.store.get("DEMO-1").status_reports] == ["SR-M1"]
    finally:
        ctx.close()


@pytest.mark.parametrize("locale,first", [("en", "[DEMO-1] milestone M1"), ("zh-CN", "[DEMO-1] 里程碑 M1")])
def test_event_texts_follow_the_project_language(locale, first):
    from lifecycle.notify.templates import event_text

    text = event_text("milestone.reached", locale, {"project": "DEMO-1", "milestone": "M1", "passed": 3, "total": 4})
    assert text.splitlines()[0].startswith(first) and len(text.splitlines()) == 2

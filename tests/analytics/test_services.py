"""Analytics services on the in-memory store: baselines, earned value, the report."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from lifecycle.errors import ConcurrentUpdate, NotFound
from lifecycle.services import analytics
from lifecycle.services.context import Context
from lifecycle.storage.memory import MemoryStore
from lifecycle.workspace import Settings, Workspace
from tests.factory import small_project


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    c = Context(
        Workspace(tmp_path, Settings()),
        MemoryStore(),
        clock=lambda: datetime(2026, 1, 5, 9, tzinfo=timezone.utc),
        actor_override="pat",
    )
    c.store.save(small_project("DEMO-1"), expected_version=None)
    return c


def test_save_baseline_keeps_several_and_audits(ctx: Context) -> None:
    b1 = analytics.save_baseline(ctx, "DEMO-1")
    b2 = analytics.save_baseline(ctx, "DEMO-1", "after change request CR-1")
    assert (b1.id, b1.name, b2.id, b2.name) == ("BL-001", "Baseline 1", "BL-002", "after change request CR-1")
    assert b1.saved_on == date(2026, 1, 5) and float(b1.budget) == 110000.5
    assert b1.finish == date(2026, 3, 6)
    assert {bt.task: bt.finish for bt in b1.tasks} == {
        "T1": date(2026, 1, 16),
        "T2": date(2026, 2, 27),
        "T3": date(2026, 3, 27),
    }
    p = ctx.store.get("DEMO-1")
    assert [b.id for b in p.baselines] == ["BL-001", "BL-002"] and p.version == 3
    events = ctx.store.audit("DEMO-1")
    assert [e.action for e in events] == ["baseline.saved", "baseline.saved"]
    assert events[0].actor == "pat" and events[0].entity_id == "BL-001" and events[0].data["tasks"] == 3
    assert [b.id for b in analytics.list_baselines(ctx, "DEMO-1")] == ["BL-001", "BL-002"]


def test_save_baseline_conflict_writes_nothing(ctx: Context) -> None:
    real_get = ctx.store.get
    stale = real_get("DEMO-1")
    analytics.save_baseline(ctx, "DEMO-1")  # someone else saves first
    ctx.store.get = lambda code: stale  # type: ignore[method-assign]
    with pytest.raises(ConcurrentUpdate):
        analytics.save_baseline(ctx, "DEMO-1")
    ctx.store.get = real_get  # type: ignore[method-assign]
    assert len(ctx.store.get("DEMO-1").baselines) == 1


def test_earned_value_and_schedule_services(ctx: Context) -> None:
    analytics.save_baseline(ctx, "DEMO-1")
    ev = analytics.earned_value(ctx, "DEMO-1", date(2026, 1, 16))
    assert ev.baseline == "BL-001" and ev.project.pv == pytest.approx(110000.5 * 80 / 320)
    assert ev.project.ev == 0.0 and ev.project.spi == 0.0
    assert analytics.schedule(ctx, "DEMO-1").critical_path == ["T1", "T2", "T3"]
    pts = analytics.s_curve_series(ctx, "DEMO-1", date(2026, 1, 16))
    assert pts[-1].pv == pytest.approx(110000.5)
    with pytest.raises(NotFound):
        analytics.earned_value(ctx, "NOPE")


def test_report_is_plain_json_data(ctx: Context) -> None:
    r = analytics.report(ctx, "DEMO-1", date(2026, 1, 16))
    json.dumps(r)
    assert r["schedule"]["critical_path"] == ["T1", "T2", "T3"]
    assert r["earned_value"]["status_date"] == "2026-01-16"
    assert r["risks"]["open_count"] == 1 and r["s_curve"][0]["date"] == "2026-01-11"
    assert r["costs"]["budget"] == 110000.5 and r["schedule_error"] == ""

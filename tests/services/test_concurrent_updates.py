"""Two writers of one project at once (two flow runs of one project on two workers): each change is
applied to the project as stored when its save begins, so independent changes never fail each other
and none is lost (found by bench w12: a milestone's status report failed its run)."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

from lifecycle.domain.model import StatusReport
from lifecycle.services.context import open_context, open_workspace
from lifecycle.services.projects import update_project, upsert
from lifecycle.storage.sql import SqlStore
from tests.factory import small_project

N = 25


def _report(i: int) -> StatusReport:
    d = date(2026, 3, 1)
    return StatusReport(id=f"SR-{i:03d}", date=d, period_start=d, period_end=d, summary=f"report {i}")


def test_concurrent_independent_changes_all_land(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ws = tmp_path / ".pmo"
    ws.mkdir()
    store = SqlStore.open(f"sqlite:///{ws / 'pmo.db'}", create=True)
    project = small_project()
    store.save(project, expected_version=None)
    store.close()
    monkeypatch.setenv("PMO_WORKSPACE", str(ws))
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        ctx = open_context(open_workspace())
        try:
            start.wait()
            for i in range(offset, offset + N):
                update_project(
                    ctx,
                    project.code,
                    lambda p, i=i: upsert(p, "status_reports", _report(i)),
                    action="status_report.recorded",
                    entity="status_reports",
                    entity_id=f"SR-{i:03d}",
                )
        except BaseException as exc:  # reported below: a thread's exception would be lost
            errors.append(exc)
        finally:
            ctx.close()

    threads = [threading.Thread(target=writer, args=(k * N,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    ctx = open_context(open_workspace())
    try:
        stored = ctx.store.get(project.code)
        assert {r.id for r in stored.status_reports} >= {f"SR-{i:03d}" for i in range(2 * N)}
        recorded = [e for e in ctx.store.audit(project.code) if e.action == "status_report.recorded"]
        assert len(recorded) == 2 * N  # one event per change, none lost, none doubled
        assert ctx.store.verify_audit(project.code) == []
    finally:
        ctx.close()

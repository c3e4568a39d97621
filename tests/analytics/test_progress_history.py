"""Progress history: recording progress keeps dated percent-complete entries, and earned value at a past
status date uses what was known then (through the CLI on a real SQLite workspace)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from lifecycle.cli.main import cli
from lifecycle.domain.evm import earned_value
from lifecycle.domain.model import Calendar, ProgressPoint, Task
from tests.analytics.helpers import project
from tests.analytics.test_msproject_findings import mspdi, task


def test_earned_value_at_a_past_date_uses_the_entry_known_then() -> None:
    history = (ProgressPoint(date(2026, 3, 4), 30.0), ProgressPoint(date(2026, 3, 9), 60.0))
    t = Task(id="A", name="a", duration_days=10, percent_complete=60, status="in_progress", progress=history)
    p = project([t], calendar=Calendar(), start=date(2026, 3, 2))

    def ev(d: date) -> float:
        return earned_value(p, d, detail=False).project.ev

    assert (ev(date(2026, 3, 3)), ev(date(2026, 3, 4)), ev(date(2026, 3, 6)), ev(date(2026, 3, 9))) == (
        0.0,
        3.0,
        3.0,
        6.0,
    )  # budgets from effort: 10 days, 30 % then 60 %
    without = project([Task(id="A", name="a", duration_days=10, percent_complete=60)], start=date(2026, 3, 2))
    assert earned_value(without, date(2026, 3, 3), detail=False).project.ev == 6.0  # no history: as today


def test_recorded_progress_gives_earned_value_as_known_then(workspace: Path, tmp_path: Path, monkeypatch: Any) -> None:
    runner = CliRunner()

    def run(today: str, *args: str) -> Any:
        monkeypatch.setenv("PMO_TODAY", today)
        r = runner.invoke(cli, list(args), catch_exceptions=False)
        assert r.exit_code == 0, r.output
        return r

    f = tmp_path / "p.xml"
    f.write_bytes(mspdi(task(1, days=10, extra="<Cost>100000</Cost>")))  # 1,000.00
    run("2026-03-02", "import", "msproject", str(f), "--code", "HIST")
    run("2026-03-04", "task", "progress", "HIST", "T1", "--percent", "30")
    run("2026-03-09", "task", "progress", "HIST", "T1", "--percent", "60")
    run("2026-03-09", "task", "progress", "HIST", "T1", "--percent", "65")  # the day's last recording wins

    def ev(status_date: str) -> float:
        r = run("2026-03-12", "report", "HIST", "--status-date", status_date, "--json")
        return float(json.loads(r.output)["earned_value"]["project"]["ev"])

    assert [ev(d) for d in ("2026-03-03", "2026-03-05", "2026-03-09", "2026-03-12")] == [0.0, 300.0, 650.0, 650.0]

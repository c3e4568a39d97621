"""Schedule risk of a project: three-point estimates through the model, the project file, the CSV import,
the simulation as dates, `pmo schedule risk` and the on-demand `metrics.finish_p80`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli
from lifecycle.domain.facts import build_facts
from lifecycle.domain.metrics import referenced_on_demand
from lifecycle.domain.model import Calendar, Task, TaskLink
from lifecycle.load.csvimport import read_csv
from lifecycle.load.projectfile import dump_project, load_project_text
from lifecycle.services.scheduling import simulate_project
from tests.analytics.helpers import project

MON = date(2026, 3, 2)


def plan() -> Any:
    """A (5 d, 4-10) -> B (3 d, fixed) ; C (2 d, 1-12) alone. Deterministic finish: day 8 (Wed 11 March)."""
    tasks = [
        Task(id="A", name="Analysis", duration_days=5, optimistic_days=4, pessimistic_days=10),
        Task(id="B", name="Build", duration_days=3),
        Task(id="C", name="Check", duration_days=2, optimistic_days=1, pessimistic_days=12),
    ]
    return project(tasks, [TaskLink("A", "B")], calendar=Calendar(), start=MON)


def test_simulation_gives_dates_on_the_calendar_and_criticality() -> None:
    v = simulate_project(plan(), MON, iterations=4000, seed=7)
    assert v.deterministic_finish == date(2026, 3, 11)
    assert v.finish[50] <= v.finish[80] <= v.finish[95]
    assert v.finish[50] >= date(2026, 3, 11)  # the pessimistic tails push the median past the plan
    assert all(d.isoweekday() <= 5 for d in v.finish.values())  # working days only
    crit = {t: c for t, _, c in v.critical}
    assert crit["A"] == crit["B"] and crit["A"] > crit.get("C", 0.0)
    assert sum(c for _, _, c in v.histogram) == 4000
    again = simulate_project(plan(), MON, iterations=4000, seed=7)
    assert again.finish == v.finish  # seeded
    assert v.estimated_tasks == 2


def test_without_estimates_every_percentile_is_the_plan() -> None:
    p = project([Task(id="A", name="a", duration_days=4)], calendar=Calendar(), start=MON)
    v = simulate_project(p, MON, iterations=100)
    assert set(v.finish.values()) == {v.deterministic_finish} == {date(2026, 3, 5)}


def test_started_work_and_release_dates_are_kept() -> None:
    tasks = [
        Task(id="A", name="a", duration_days=2, status="in_progress", actual_start=date(2026, 3, 4)),
        Task(id="B", name="b", duration_days=1, constraint="start_no_earlier_than", constraint_date=date(2026, 3, 16)),
    ]
    v = simulate_project(project(tasks, calendar=Calendar(), start=MON), MON, iterations=50)
    assert v.deterministic_finish == date(2026, 3, 16)  # B on its release day


def test_estimates_in_project_files_and_csv(tmp_path: Path) -> None:
    p = plan()
    back = load_project_text(dump_project(p)).project
    assert {t.id: (t.optimistic_days, t.pessimistic_days) for t in back.tasks} == {
        "A": (4.0, 10.0),
        "B": (None, None),
        "C": (1.0, 12.0),
    }
    f = tmp_path / "tasks.csv"
    f.write_text("id,name,duration_days,optimistic_days,pessimistic_days\nX,x,5,3,9\n", encoding="utf-8")
    t = read_csv(f, "tasks").items[0]
    assert (t.optimistic_days, t.duration_days, t.pessimistic_days) == (3.0, 5.0, 9.0)


def test_finish_p80_is_computed_only_when_a_rule_names_it() -> None:
    p = plan()
    assert "finish_p80" not in build_facts(p, MON)["metrics"]
    wanted = referenced_on_demand(["metrics.finish_p80 <= project.finish"])
    p80 = build_facts(p, MON, wanted=wanted)["metrics"]["finish_p80"]
    assert p80 == simulate_project(p, MON, iterations=2000, seed=1).finish[80].isoformat()


@pytest.fixture
def run(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("PMO_TODAY", "2026-03-02")
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args), catch_exceptions=False)


def test_schedule_risk_command(run: Any, tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    text = dump_project(plan())
    f.write_text(text, encoding="utf-8")
    assert run("apply", str(f)).exit_code == 0
    r = run("schedule", "risk", "T-1", "--iterations", "3000", "--seed", "3", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["iterations"] == 3000 and d["deterministic_finish"] == "2026-03-11"
    assert set(d["finish"]) == {"p50", "p80", "p95"} and d["critical"][0]["task"] in ("A", "B")
    r = run("schedule", "risk", "T-1", "--iterations", "2000")
    assert r.exit_code == 0, r.output
    assert "P80" in r.output and "most critical tasks" in r.output and "#" in r.output
    r = run("schedule", "risk", "T-1", "--iterations", "0")
    assert r.exit_code != 0 and "iterations" in r.output


def test_status_report_figures_for_the_documents() -> None:
    from lifecycle.services.scheduling import status_report_risk

    d = status_report_risk(plan(), MON)
    assert set(d["finish"]) == {"p50", "p80", "p95"} and d["iterations"] == 5000 and d["histogram"]
    assert status_report_risk(project([], start=MON), MON) == {}

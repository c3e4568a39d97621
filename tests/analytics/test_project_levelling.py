"""Resource levelling of a project: the mapping to the levelling instance, the result as dates, the
`pmo schedule level` command and the on-demand `metrics.levelled_finish`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli
from lifecycle.domain.facts import build_facts
from lifecycle.domain.levelling import check
from lifecycle.domain.metrics import referenced_on_demand
from lifecycle.domain.model import Assignment, Calendar, Person, Task, TaskLink
from lifecycle.domain.project_levelling import level_project, levelling_instance
from lifecycle.domain.schedule import compute_schedule
from tests.analytics.helpers import project
from tests.analytics.test_msproject_findings import link, mspdi, task

MON = date(2026, 3, 2)
WEEKDAYS = Calendar()


def plan() -> Any:
    """T1 (3 d) and T2 (2 d) both need Ann full time from day 0; T3 follows T2; Bob owns T4 under a
    summary S that follows T1; Ann's capacity is 40 h a week (1.0), Bob's 20 h (0.5)."""
    tasks = [
        Task(id="T1", name="a", duration_days=3),
        Task(id="T2", name="b", duration_days=2),
        Task(id="T3", name="c", duration_days=1),
        Task(id="S", name="summary"),
        Task(id="T4", name="d", duration_days=2, parent="S", owner="bob"),
        Task(id="T5", name="e", duration_days=1, parent="S", status="done", actual_start=MON, actual_finish=MON),
    ]
    links = [TaskLink("T2", "T3"), TaskLink("T1", "S")]
    people = (
        Person(id="ann", name="Ann", role="dev", capacity_hours_per_week=40),
        Person(id="bob", name="Bob", role="dev", capacity_hours_per_week=20),
    )
    assignments = (Assignment("ann", "T1", 1.0), Assignment("ann", "T2", 1.0))
    return project(tasks, links, calendar=WEEKDAYS, start=MON, people=people, assignments=assignments)


def test_instance_maps_people_units_summaries_and_started_work() -> None:
    p = plan()
    inst, notes = levelling_instance(p, compute_schedule(p))
    acts = {a.id: a for a in inst.activities}
    assert set(acts) == {"T1", "T2", "T3", "T4", "T5"}  # the summary is left out
    assert dict(inst.capacities) == {"ann": 1.0, "bob": 0.5}
    assert dict(acts["T1"].demands) == {"ann": 1.0} and dict(acts["T3"].demands) == {}
    assert dict(acts["T4"].demands) == {"bob": 0.5}  # the owner at 1.0, cut to Bob's capacity
    assert any("bob" in n for n in notes)
    assert acts["T5"].fixed_start == 0 and dict(acts["T5"].demands) == {}
    # the link into the summary is pushed to its leaves; the one into the started T5 is dropped
    assert {(lk.pred, lk.succ) for lk in inst.links} == {("T2", "T3"), ("T1", "T4")}


def test_an_owner_works_on_a_long_task_at_its_effort() -> None:
    """A 10-day steering task of 20 hours takes a quarter of its owner, so his 2-day task of 12 hours runs
    beside it (full time each, they would not fit together)."""
    tasks = [
        Task(id="G", name="steering", duration_days=10, owner="bob", effort_hours=20),
        Task(id="W", name="work", duration_days=2, owner="bob", effort_hours=12),
    ]
    people = (Person(id="bob", name="Bob", role="pm", capacity_hours_per_week=40),)
    p = project(tasks, calendar=WEEKDAYS, start=MON, people=people)
    s = compute_schedule(p)
    inst, _ = levelling_instance(p, s)
    assert {a.id: dict(a.demands) for a in inst.activities} == {"G": {"bob": 0.25}, "W": {"bob": 0.75}}
    res = level_project(p, s)
    assert (res.over_before, res.over_after, res.moved) == (0, 0, {})
    assert res.levelled_finish == res.unlevelled_finish == date(2026, 3, 13)


def test_levelled_plan_fits_capacity_and_keeps_links() -> None:
    p = plan()
    s = compute_schedule(p)
    res = level_project(p, s)
    assert res.unlevelled_finish == date(2026, 3, 6)  # T1 2-4 March, T4 5-6 March
    assert res.over_before == 2 and res.over_after == 0  # Ann on 2 and 3 March
    # best: T1 first (2-4, then T4 5-6), T2 after it (5-6), T3 on 9 March; T2 first would end on 10 March
    assert res.levelled_finish == date(2026, 3, 9) and res.delay_days == 1
    assert res.moved == {"T2": (date(2026, 3, 5), date(2026, 3, 6), 3), "T3": (date(2026, 3, 9), date(2026, 3, 9), 3)}
    inst, _ = levelling_instance(p, s)
    starts = {a.id: s.early_start_index(a.id) for a in inst.activities}
    starts.update({k: s.calendar.index(v[0]) - s.base for k, v in res.moved.items()})
    check(inst, starts)  # the levelled dates break no link and no capacity


def test_levelled_finish_is_computed_only_when_a_rule_names_it() -> None:
    p = plan()
    today = date(2026, 3, 2)
    assert "levelled_finish" not in build_facts(p, today)["metrics"]
    wanted = referenced_on_demand(["metrics.levelled_finish <= project.finish"])
    assert wanted == {"levelled_finish"}
    assert build_facts(p, today, wanted=wanted)["metrics"]["levelled_finish"] == "2026-03-09"


@pytest.fixture
def run(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("PMO_TODAY", "2026-03-02")
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args), catch_exceptions=False)


def test_schedule_level_command(run: Any, tmp_path: Path) -> None:
    def assign(uid: int, t: int) -> str:
        ids = f"<UID>{uid}</UID><TaskUID>{t}</TaskUID><ResourceUID>1</ResourceUID>"
        return f"<Assignment>{ids}<Units>1</Units></Assignment>"

    f = tmp_path / "plan.xml"
    f.write_bytes(
        mspdi(
            task(1, days=3) + task(2, days=2) + task(3, days=1, links=link(2)),
            more="<Resources><Resource><UID>1</UID><Name>Ann</Name><Type>1</Type><MaxUnits>1</MaxUnits></Resource>"
            f"</Resources><Assignments>{assign(1, 1)}{assign(2, 2)}</Assignments>",
        )
    )
    assert run("import", "msproject", str(f), "--code", "LEVEL").exit_code == 0
    r = run("schedule", "level", "LEVEL", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert (d["unlevelled_finish"], d["levelled_finish"], d["delay_days"]) == ("2026-03-04", "2026-03-06", 2)
    assert d["over_allocated_person_days_before"] == 2 and d["over_allocated_person_days_after"] == 0
    assert d["moved"] == [{"task": "T1", "start": "2026-03-04", "finish": "2026-03-06", "days_later": 2}]
    r = run("schedule", "level", "LEVEL")
    assert r.exit_code == 0 and "levelled 2026-03-06" in r.output and "T1" in r.output
    r = run("schedule", "level", "NOPE")
    assert r.exit_code != 0 and "Traceback" not in r.output


def test_a_gate_rule_on_the_on_demand_metrics_sees_them(tmp_path: Path) -> None:
    import dataclasses
    import shutil

    import lifecycle.services  # noqa: F401  (registers metrics.finish_p80)
    from lifecycle.expr import evaluate_gate
    from lifecycle.expr.evaluate import _on_demand
    from lifecycle.load.rulepack import load_pack
    from tests.rules.helpers import DATA

    shutil.copytree(DATA / "mini_pack", tmp_path / "p")
    (tmp_path / "p" / "gates" / "more.yaml").write_text(
        "gates:\n  finish:\n    rules:\n"
        "      - id: L-1\n        title: {en: Levelled finish in time}\n"
        "        check: metrics.levelled_finish == '2026-03-09' && metrics.finish_p80 >= '2026-03-06'\n"
    )
    pack = load_pack(tmp_path / "p")
    assert _on_demand(pack, "finish") == {"levelled_finish", "finish_p80"}
    assert _on_demand(pack, "begin") == frozenset()
    d = evaluate_gate(pack, "finish", dataclasses.replace(plan(), phase="work"), date(2026, 3, 2))
    assert d.result("L-1").outcome == "pass", d.result("L-1")

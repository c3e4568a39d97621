"""The schedule, earned value, resource and risk figures in the gate metrics."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lifecycle.domain.metrics import METRICS, ON_DEMAND, project_metrics
from lifecycle.domain.model import Assignment, CostEntry, Material, Project, Risk, TaskLink, replace
from lifecycle.services.analytics import build_baseline
from tests.factory import small_project

TODAY = date(2026, 2, 2)
TYPES = {"int": int, "double": float, "string": str, "bool": bool, "date": str, "list": list}


def _check_types(m: dict[str, object]) -> None:
    assert set(m) == set(METRICS) - set(ON_DEMAND)  # those only when a rule names them
    for k, (typ, doc) in METRICS.items():
        assert doc, k
        if k in ON_DEMAND:
            continue
        v = m[k]
        if typ == "date" and v is None:
            continue
        assert isinstance(v, TYPES[typ]), (k, v)
        if typ == "int":
            assert not isinstance(v, bool), k
        if typ == "date" and v:
            date.fromisoformat(str(v))


def test_every_metric_is_documented_and_typed() -> None:
    m = project_metrics(small_project(), TODAY)
    _check_types(m)
    assert m["project_start"] == "2026-01-05"
    # T1 5 Jan - 16 Jan (10 d), T2 19 Jan - 27 Feb (30 d), T3 milestone 5 working days after T2
    assert m["project_finish"] == "2026-03-06"
    assert m["critical_path"] == ["T1", "T2", "T3"] and m["critical_task_count"] == 3
    assert m["schedule_error"] == "" and m["has_baseline"] is False and m["schedule_slip_days"] == 0
    assert m["bac"] == 110000.5 and m["evm_budget_source"] == "budget"
    assert m["risk_matrix"][2][3] == 1 and m["top_risks"] == ["R1"]


def test_empty_project() -> None:
    p = replace(small_project(), tasks=(), links=(), milestones=(), budget=(), risks=())
    m = project_metrics(p, TODAY)
    _check_types(m)
    assert m["project_finish"] is None and m["baseline_finish"] is None
    assert m["critical_path"] == [] and m["spi"] == 1.0


def test_a_link_cycle_does_not_break_the_other_metrics() -> None:
    p = small_project()
    p = replace(p, links=(*p.links, TaskLink("T3", "T1")))
    m = project_metrics(p, TODAY)
    _check_types(m)
    assert "cycle" in m["schedule_error"] and "T1" in m["schedule_error"]
    assert m["critical_path"] == [] and m["bac"] == 110000.5


def test_baseline_slip_and_earned_value() -> None:
    p = small_project()
    bl = build_baseline(p, date(2026, 1, 5))
    assert bl.finish == date(2026, 3, 6)
    # T2 runs a week longer than baselined
    tasks = tuple(replace(t, finish=date(2026, 3, 6), duration_days=None) if t.id == "T2" else t for t in p.tasks)
    p2 = replace(
        p,
        baselines=(bl,),
        tasks=tasks,
        costs=(CostEntry(id="C1", date=date(2026, 1, 16), amount=Decimal(30000), task="T1"),),
    )
    p2 = replace(
        p2, tasks=tuple(replace(t, status="done", percent_complete=100) if t.id == "T1" else t for t in p2.tasks)
    )
    m = project_metrics(p2, date(2026, 1, 16))
    assert m["has_baseline"] and m["baseline_finish"] == "2026-03-06"
    assert m["project_finish"] == "2026-03-13" and m["schedule_slip_days"] == 5
    # at 16 January T1 (80 of 320 effort hours, a quarter of 110,000.50) is planned and earned
    assert m["pv"] == m["ev"] == 27500.12 and m["ac"] == 30000.0
    assert m["spi"] == 1.0 and m["cpi"] == round(27500.125 / 30000, 4)
    assert m["cost_variance_pct"] < 0


def test_resources_and_materials_in_metrics() -> None:
    p: Project = small_project()
    p = replace(
        p,
        assignments=(
            Assignment(person="p-dev", task="T1", units=1.0),
            Assignment(person="p-dev", task="T2", units=1.0),
            Assignment(person="p-pm", task="T2", units=0.5),
        ),
        tasks=tuple(replace(t, start=date(2026, 1, 12)) if t.id == "T2" else t for t in p.tasks),
        links=(),
        materials=(Material(id="MAT1", name="scanners", needed_by=date(2026, 1, 30), task="T2"),),
        risks=(*p.risks, Risk(id="R2", title="x", probability=5, impact=4)),
    )
    m = project_metrics(p, date(2026, 1, 5))
    assert m["over_allocated_people"] == ["p-dev"]  # T1 and T2 overlap in the week of 12 January
    assert m["over_allocation_weeks"] == 1
    assert m["materials_late"] == ["MAT1"]  # needed after T2 starts
    assert m["top_risks"] == ["R2", "R1"] and m["risks_without_response"] == ["R2"]


def test_budget_without_tasks_is_still_the_bac() -> None:
    p = replace(small_project(), tasks=(), links=(), milestones=())
    m = project_metrics(p, TODAY)
    assert m["bac"] == 110000.5 and m["pv"] == 0.0 and m["spi"] == 1.0

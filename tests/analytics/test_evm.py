"""Earned value against worked examples with known answers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from lifecycle.domain.evm import (
    TCPI_UNREACHABLE,
    cost_breakdown,
    earned_value,
    evm_figures,
    s_curve,
    select_baseline,
    task_budgets,
)
from lifecycle.domain.model import Assignment, BudgetLine, Calendar, CostEntry, Person, Task, replace
from lifecycle.services.analytics import build_baseline
from tests.analytics.helpers import project

WEEKDAYS = Calendar()
D = date


def test_textbook_formulas() -> None:
    # BAC 100,000; PV 50,000; EV 40,000; AC 45,000 (the classic exam exercise)
    f = evm_figures(100_000, 50_000, 40_000, 45_000)
    assert f.sv == -10_000 and f.cv == -5_000
    assert f.spi == pytest.approx(0.8)
    assert f.cpi == pytest.approx(0.888889, abs=1e-6)
    assert f.eac == pytest.approx(112_500)  # BAC / CPI
    assert f.eac_atypical == pytest.approx(105_000)  # AC + (BAC - EV)
    assert f.eac_combined == pytest.approx(129_375)  # AC + (BAC - EV) / (CPI x SPI)
    assert f.etc == pytest.approx(67_500)
    assert f.vac == pytest.approx(-12_500)
    assert f.tcpi == pytest.approx(60_000 / 55_000)  # 1.0909
    assert f.tcpi_eac == pytest.approx(60_000 / 67_500)
    assert f.sv_pct == pytest.approx(-20.0) and f.cv_pct == pytest.approx(-12.5)
    assert f.percent_complete == pytest.approx(40.0) and f.percent_spent == pytest.approx(45.0)


def test_second_worked_example_ahead_and_under_budget() -> None:
    # BAC 200,000; PV 80,000; EV 100,000; AC 90,000
    f = evm_figures(200_000, 80_000, 100_000, 90_000)
    assert (f.sv, f.cv) == (20_000, 10_000)
    assert f.spi == pytest.approx(1.25) and f.cpi == pytest.approx(1.111111, abs=1e-6)
    assert f.eac == pytest.approx(180_000)
    assert f.eac_atypical == pytest.approx(190_000)
    assert f.eac_combined == pytest.approx(162_000)  # 90,000 + 100,000 / (1.1111 x 1.25 = 1.3889)
    assert f.vac == pytest.approx(20_000)
    assert f.tcpi == pytest.approx(100_000 / 110_000)


def test_zero_denominators() -> None:
    f = evm_figures(0, 0, 0, 0)
    assert (f.spi, f.cpi, f.tcpi, f.eac) == (1.0, 1.0, 1.0, 0.0)
    f = evm_figures(100, 20, 0, 100)  # budget spent, nothing earned
    assert f.cpi == 0.0
    assert f.eac == f.eac_atypical == 200  # BAC/CPI undefined: falls back to AC + (BAC - EV)
    assert f.tcpi == TCPI_UNREACHABLE
    f = evm_figures(100, 100, 100, 80)  # finished
    assert f.tcpi == 0.0 and f.etc == pytest.approx(0.0)


# A four-task project on a Monday-Friday calendar, status date Friday 13 March 2026:
#   A Mar 2 - Mar 6   (5 d)  budget 10,000  done           -> PV 10,000  EV 10,000
#   B Mar 9 - Mar 20  (10 d) budget 20,000  40 %           -> PV 10,000  EV  8,000  (5 of 10 days)
#   C Mar 16 - Mar 27 (10 d) budget 30,000                 -> PV 0
#   D Mar 30 - Apr 3  (5 d)  budget 40,000                 -> PV 0
# costs: 11,000 on A (Mar 6), 9,000 on B (Mar 13), 2,000 on B (Mar 16, after the status date)
# => BAC 100,000, PV 20,000, EV 18,000, AC 20,000, SPI 0.9, CPI 0.9, EAC 111,111.11,
#    EAC' 102,000, EAC'' 20,000 + 82,000 / 0.81 = 121,234.57, TCPI 82,000 / 80,000 = 1.025
STATUS = D(2026, 3, 13)


def _evm_project() -> object:
    tasks = [
        Task(id="P1", name="Phase 1", wbs="1"),
        Task(id="P2", name="Phase 2", wbs="2"),
        Task(
            id="A",
            name="A",
            wbs="1.1",
            parent="P1",
            start=D(2026, 3, 2),
            finish=D(2026, 3, 6),
            status="done",
            percent_complete=100,
        ),
        Task(
            id="B",
            name="B",
            wbs="1.2",
            parent="P1",
            start=D(2026, 3, 9),
            finish=D(2026, 3, 20),
            status="in_progress",
            percent_complete=40,
            actual_start=D(2026, 3, 9),
        ),
        Task(id="C", name="C", wbs="2.1", parent="P2", start=D(2026, 3, 16), finish=D(2026, 3, 27)),
        Task(id="D", name="D", wbs="2.2", parent="P2", start=D(2026, 3, 30), finish=D(2026, 4, 3)),
    ]
    budget = [
        BudgetLine(id=f"B{t}", category="labour", amount=Decimal(a), task=t)
        for t, a in (("A", 10_000), ("B", 20_000), ("C", 30_000), ("D", 40_000))
    ]
    costs = [
        CostEntry(id="C1", date=D(2026, 3, 6), amount=Decimal(11_000), task="A"),
        CostEntry(id="C2", date=D(2026, 3, 13), amount=Decimal(9_000), task="B"),
        CostEntry(id="C3", date=D(2026, 3, 16), amount=Decimal(2_000), task="B"),
    ]
    return project(tasks, calendar=WEEKDAYS, start=D(2026, 3, 2), budget=tuple(budget), costs=tuple(costs))


def test_project_earned_value_at_a_status_date() -> None:
    ev = earned_value(_evm_project(), STATUS)  # type: ignore[arg-type]
    f = ev.project
    assert ev.budget_source == "budget" and ev.baseline == ""
    assert (f.bac, f.pv, f.ev, f.ac) == (100_000, 20_000, 18_000, 20_000)
    assert f.spi == pytest.approx(0.9) and f.cpi == pytest.approx(0.9)
    assert f.eac == pytest.approx(111_111.11, abs=0.01)
    assert f.eac_atypical == pytest.approx(102_000)
    assert f.eac_combined == pytest.approx(121_234.57, abs=0.01)
    assert f.tcpi == pytest.approx(1.025)
    branches = {b.scope: b for b in ev.branches}
    p1 = branches["P1"]
    assert (p1.bac, p1.pv, p1.ev, p1.ac) == (30_000, 20_000, 18_000, 20_000)
    assert (branches["P2"].bac, branches["P2"].pv, branches["P2"].ev, branches["P2"].ac) == (70_000, 0, 0, 0)
    tasks = {t.scope: t for t in ev.tasks}
    assert tasks["B"].pv == 10_000 and tasks["B"].ev == 8_000 and tasks["B"].ac == 9_000
    d = ev.to_dict()
    assert d["project"]["spi"] == 0.9 and d["branches"][0]["scope"] == "P1"


def test_baseline_is_used_when_there_is_one() -> None:
    p = _evm_project()
    bl = build_baseline(p, D(2026, 3, 2), name="contract")  # type: ignore[arg-type]
    assert bl.budget == Decimal("100000") and bl.finish == D(2026, 4, 3)
    p2 = replace(p, baselines=(bl,))
    # the same day, earned value against the baseline equals earned value against the plan
    assert earned_value(p2, STATUS).project.pv == pytest.approx(earned_value(p, STATUS).project.pv)  # type: ignore[arg-type]
    # the plan slips B by a week: planned value still follows the baseline, so SPI shows the slip
    tasks = tuple(replace(t, start=D(2026, 3, 16), finish=D(2026, 3, 27)) if t.id == "B" else t for t in p2.tasks)
    p3 = replace(p2, tasks=tasks)
    ev = earned_value(p3, STATUS)
    assert ev.baseline == bl.id and ev.budget_source == "baseline"
    assert ev.project.pv == pytest.approx(20_000)
    assert earned_value(p3, STATUS, use_baseline=False).project.pv == pytest.approx(10_000)


def test_latest_baseline_is_selected_unless_named() -> None:
    p = _evm_project()
    b1 = build_baseline(p, D(2026, 3, 1), name="first")  # type: ignore[arg-type]
    b2 = replace(build_baseline(p, D(2026, 3, 20), name="re-plan"), id="BL-002")  # type: ignore[arg-type]
    p2 = replace(p, baselines=(b1, b2))
    assert select_baseline(p2).name == "re-plan"  # type: ignore[union-attr]
    assert select_baseline(p2, b1.id).name == "first"  # type: ignore[union-attr]


def test_unallocated_budget_is_spread_in_proportion() -> None:
    p = _evm_project()
    p = replace(p, budget=(*p.budget, BudgetLine(id="R", category="contingency", amount=Decimal(10_000))))  # type: ignore[attr-defined]
    budgets, source = task_budgets(p)
    assert source == "budget"
    assert budgets["A"] == pytest.approx(11_000)
    assert budgets["D"] == pytest.approx(44_000)
    assert sum(budgets.values()) == pytest.approx(110_000)


def test_budget_from_assignments_then_effort() -> None:
    tasks = [
        Task(id="A", name="A", start=D(2026, 3, 2), finish=D(2026, 3, 6), effort_hours=10),
        Task(id="B", name="B", start=D(2026, 3, 9), finish=D(2026, 3, 10), effort_hours=30),
    ]
    people = (Person(id="p", name="P", role="dev", rate=Decimal(100)),)
    p = project(
        tasks,
        calendar=WEEKDAYS,
        people=people,
        assignments=(Assignment(person="p", task="A", hours=40), Assignment(person="p", task="B", units=0.5)),
    )
    budgets, source = task_budgets(p)
    assert source == "assignments"
    assert budgets == {"A": 4000.0, "B": 800.0}  # 0.5 x 8 h x 2 days x 100
    budgets, source = task_budgets(replace(p, assignments=()))
    assert source == "effort" and budgets == {"A": 10.0, "B": 30.0}


def test_s_curve_weekly_points() -> None:
    pts = s_curve(_evm_project(), STATUS)  # type: ignore[arg-type]
    by_date = {pt.date: pt for pt in pts}
    assert [pt.date for pt in pts][:3] == [D(2026, 3, 8), STATUS, D(2026, 3, 15)]
    assert by_date[D(2026, 3, 8)].pv == pytest.approx(10_000)
    assert by_date[STATUS].pv == pytest.approx(20_000)
    assert by_date[D(2026, 3, 22)].pv == pytest.approx(45_000)  # A + B + half of C
    assert pts[-1].pv == pytest.approx(100_000)
    assert by_date[D(2026, 3, 8)].ev == pytest.approx(10_000)
    assert by_date[STATUS].ev == pytest.approx(18_000)  # the last EV point is the status-date EV
    assert by_date[D(2026, 3, 8)].ac == pytest.approx(11_000)
    assert by_date[STATUS].ac == pytest.approx(20_000)
    assert by_date[D(2026, 3, 15)].ev is None and by_date[D(2026, 3, 15)].ac is None
    pvs = [pt.pv for pt in pts]
    assert pvs == sorted(pvs)


def test_cost_breakdown_by_category_and_task() -> None:
    p = _evm_project()
    p = replace(p, costs=(*p.costs, CostEntry(id="C9", date=D(2026, 3, 10), amount=Decimal(500), category="travel")))  # type: ignore[attr-defined]
    cb = cost_breakdown(p, STATUS, eac=111_111.11)
    cats = {c["category"]: c for c in cb["categories"]}
    assert cats["labour"] == {"category": "labour", "budget": 100_000.0, "actual": 20_000.0, "variance": 80_000.0}
    assert cats["travel"]["actual"] == 500.0 and cats["travel"]["budget"] == 0.0
    tasks = {t["task"]: t for t in cb["tasks"]}
    assert tasks["A"]["variance"] == -1000.0
    assert cb["forecast_at_completion"] == 111_111.11

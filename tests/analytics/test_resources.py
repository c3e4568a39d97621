"""Resource loading per person per week, over-allocations, materials against dates."""

from __future__ import annotations

from datetime import date

from lifecycle.domain.model import Assignment, Calendar, Material, Person, Task
from lifecycle.domain.resources import material_checks, over_allocations, resource_loading
from lifecycle.domain.schedule import compute_schedule
from tests.analytics.helpers import project

D = date


def _project(calendar: Calendar = Calendar()) -> object:
    tasks = [
        Task(id="T1", name="T1", start=D(2026, 3, 2), finish=D(2026, 3, 6)),
        Task(id="T2", name="T2", start=D(2026, 3, 4), finish=D(2026, 3, 10)),
        Task(id="T3", name="T3", start=D(2026, 3, 16), finish=D(2026, 3, 20), status="not_started"),
    ]
    people = (
        Person(id="ann", name="Ann", role="dev", capacity_hours_per_week=40),
        Person(id="bo", name="Bo", role="qa", capacity_hours_per_week=20),
    )
    assignments = (
        Assignment(person="ann", task="T1", units=1.0),  # 8 h x 5 days = 40 h
        Assignment(person="ann", task="T2", hours=40),  # 5 working days: 8 h a day
        Assignment(person="bo", task="T2", units=0.5),  # 4 h a day
        Assignment(person="ann", task="T3", hours=36),
    )
    return project(tasks, calendar=calendar, start=D(2026, 3, 2), people=people, assignments=assignments)


def test_weekly_loading_against_capacity() -> None:
    loads = resource_loading(_project())  # type: ignore[arg-type]
    ann = {w.week: w for w in loads["ann"]}
    w1 = ann[D(2026, 3, 2)]
    assert w1.hours == 64 and w1.capacity == 40 and w1.over  # T1 40 h + T2 3 days x 8 h
    assert w1.tasks == (("T1", 40.0), ("T2", 24.0))
    assert ann[D(2026, 3, 9)].hours == 16 and not ann[D(2026, 3, 9)].over
    assert ann[D(2026, 3, 16)].hours == 36 and not ann[D(2026, 3, 16)].over
    bo = {w.week: w for w in loads["bo"]}
    assert bo[D(2026, 3, 2)].hours == 12 and bo[D(2026, 3, 2)].capacity == 20


def test_over_allocations_list_the_tasks_causing_them() -> None:
    overs = over_allocations(_project())  # type: ignore[arg-type]
    assert [(o.person, o.week, o.hours, o.capacity, o.tasks) for o in overs] == [
        ("ann", D(2026, 3, 2), 64.0, 40.0, ("T1", "T2"))
    ]
    assert overs[0].excess == 24.0
    assert overs[0].to_dict()["tasks"] == ["T1", "T2"]


def test_a_holiday_lowers_the_week_capacity() -> None:
    overs = over_allocations(_project(Calendar(holidays=(D(2026, 3, 16),))))  # type: ignore[arg-type]
    # the week of 16 March has 4 working days: capacity 32 h, and T3's 36 h now fall in it
    weeks = {(o.person, o.week): o for o in overs}
    o = weeks[("ann", D(2026, 3, 16))]
    assert o.capacity == 32.0 and o.hours == 36.0 and o.tasks == ("T3",)


def test_from_date_ignores_history() -> None:
    overs = over_allocations(_project(Calendar(holidays=(D(2026, 3, 16),))), from_date=D(2026, 3, 12))  # type: ignore[arg-type]
    assert [(o.person, o.week) for o in overs] == [("ann", D(2026, 3, 16))]


def test_loading_follows_the_schedule_when_given() -> None:
    p = _project()
    s = compute_schedule(p)  # type: ignore[arg-type]
    loads = resource_loading(p, s)  # type: ignore[arg-type]
    assert sum(w.hours for w in loads["ann"]) == 116.0


def test_materials_against_dates() -> None:
    p = _project()
    mats = (
        Material(id="m1", name="racks", needed_by=D(2026, 3, 1), task="T1"),
        Material(id="m2", name="cables", needed_by=D(2026, 3, 20), task="T2", status="ordered"),
        Material(id="m3", name="server", needed_by=D(2026, 3, 1), task="T1", status="delivered"),
        Material(id="m4", name="licences", task="T1"),
        Material(id="m5", name="scanners", needed_by=D(2026, 3, 16), task="T3"),
    )
    from lifecycle.domain.model import replace

    checks = {m.id: m for m in material_checks(replace(p, materials=mats), D(2026, 3, 3))}
    assert checks["m1"].late and "not delivered" in checks["m1"].reason
    assert checks["m2"].late and "after task T2 starts on 2026-03-04" in checks["m2"].reason
    assert not checks["m3"].late
    assert checks["m4"].late and "started" in checks["m4"].reason
    assert not checks["m5"].late

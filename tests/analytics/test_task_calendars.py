"""Task and resource calendars in the critical path method, dates worked out by hand.

March 2026: Monday 2, 9, 16, 23, 30. The project calendar works Monday to Friday.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from lifecycle.domain.model import Assignment, Calendar, Person, Project, ResourceCalendar, Task, TaskLink
from lifecycle.domain.schedule import compute_schedule
from lifecycle.domain.task_calendars import intersect, resolve_calendar, task_calendars
from lifecycle.errors import InvalidInput, SpecError
from tests.analytics.helpers import project

MON = date(2026, 3, 2)
FOUR_DAY = ResourceCalendar(id="four", name="Mon-Thu", working_weekdays=(1, 2, 3, 4))


def plan(tasks: list[Task], *, people: tuple[Person, ...] = (), assign: tuple[Assignment, ...] = (), **cal: Any):
    calendar = Calendar(**cal)
    return project(
        tasks,
        [TaskLink(tasks[i].id, tasks[i + 1].id) for i in range(len(tasks) - 1)],
        calendar=calendar,
        start=MON,
        people=people,
        assignments=assign,
    )


def on_calendar(tasks: list[Task], cid: str, *cals: ResourceCalendar) -> Project:
    """The tasks in a chain, the first done by R1 who works on calendar ``cid``."""
    return plan(
        tasks,
        people=(Person(id="R1", name="r", role="dev", calendar=cid),),
        assign=(Assignment(person="R1", task=tasks[0].id),),
        resource_calendars=cals,
    )


def test_four_day_resource_moves_an_effort_driven_task() -> None:
    # 10 days on Mon-Thu from Mon 2 March: 2-5 (4), 9-12 (8), 16-17 (10) -> Tue 17 March;
    # the successor (project calendar) then runs Wed 18 - Thu 19.
    p = on_calendar(
        [Task(id="A", name="a", duration_days=10, effort_driven=True), Task(id="B", name="b", duration_days=2)],
        "four",
        FOUR_DAY,
    )
    s = compute_schedule(p)
    assert s.dates("A")[:2] == (MON, date(2026, 3, 17))
    assert s.dates("B")[:2] == (date(2026, 3, 18), date(2026, 3, 19))
    assert s.timing("A").duration_days == 10
    assert s.project_finish == date(2026, 3, 19)
    assert s.critical_path == ["A", "B"]
    # a fixed-units task that is not effort-driven keeps the project calendar: Mon 2 - Fri 13
    q = on_calendar(
        [Task(id="A", name="a", duration_days=10), Task(id="B", name="b", duration_days=2)], "four", FOUR_DAY
    )
    assert compute_schedule(q).dates("A")[1] == date(2026, 3, 13)
    # fixed work counts like effort-driven
    fixed = on_calendar([Task(id="A", name="a", duration_days=10, task_type="fixed_work")], "four", FOUR_DAY)
    assert compute_schedule(fixed).project_finish == date(2026, 3, 17)


def test_task_calendar_with_a_holiday_exception() -> None:
    # task calendar: Mon-Fri with Wed 4 and Thu 5 March off; 5 days from Mon 2: 2, 3, 6, 9, 10 -> Tue 10.
    # B follows on the project calendar (no holiday): Wed 11.
    shut = ResourceCalendar(id="site", holidays=(date(2026, 3, 4), date(2026, 3, 5)))
    p = plan(
        [Task(id="A", name="a", duration_days=5, calendar="site"), Task(id="B", name="b", duration_days=1)],
        resource_calendars=(shut,),
    )
    s = compute_schedule(p)
    assert s.dates("A")[:2] == (MON, date(2026, 3, 10))
    assert s.dates("B")[:2] == (date(2026, 3, 11), date(2026, 3, 11))
    # B on the site calendar too, and starting on a holiday: A 1 day (Mon 2), B 2 days from Tue 3: 3, 6
    q = plan(
        [
            Task(id="A", name="a", duration_days=2, calendar="site"),
            Task(id="B", name="b", duration_days=2, calendar="site"),
        ],
        resource_calendars=(shut,),
    )
    s = compute_schedule(q)
    assert s.dates("A")[:2] == (MON, date(2026, 3, 3))
    assert s.dates("B")[:2] == (date(2026, 3, 6), date(2026, 3, 9))


def test_resource_calendar_inherits_a_base_calendar_with_exceptions() -> None:
    # base "plant": Mon-Fri, Fri 6 March off (and the project's holiday Mon 9 March inherited because plant
    # inherits the project calendar); the person's calendar inherits plant, works Sat 7 March, is off Tue 10.
    # Working days from Mon 2: 2, 3, 4, 5, 7(Sat), 11, 12 ... 6 days -> Wed 11 March.
    plant = ResourceCalendar(id="plant", holidays=(date(2026, 3, 6),))
    mine = ResourceCalendar(id="ann", base="plant", extra_workdays=(date(2026, 3, 7),), holidays=(date(2026, 3, 10),))
    p = plan(
        [Task(id="A", name="a", duration_days=6, effort_driven=True)],
        people=(Person(id="R1", name="Ann", role="dev", calendar="ann"),),
        assign=(Assignment(person="R1", task="A"),),
        holidays=(date(2026, 3, 9),),
        resource_calendars=(plant, mine),
    )
    full = resolve_calendar(p.calendar, {c.id: c for c in p.calendar.resource_calendars}, "ann")
    assert full.holidays == (date(2026, 3, 6), date(2026, 3, 9), date(2026, 3, 10))
    assert full.extra_workdays == (date(2026, 3, 7),)
    assert compute_schedule(p).project_finish == date(2026, 3, 11)


def test_task_calendar_intersects_resource_calendars_unless_ignored() -> None:
    # task calendar Tue-Fri, person Mon-Thu: together Tue-Thu. 6 days from Mon 2: 3, 4, 5, 10, 11, 12 -> Thu 12
    tue_fri = ResourceCalendar(id="tf", working_weekdays=(2, 3, 4, 5))
    people = (Person(id="R1", name="r", role="dev", calendar="four"),)
    assign = (Assignment(person="R1", task="A"),)
    task = Task(id="A", name="a", duration_days=6, effort_driven=True, calendar="tf")
    p = plan([task], people=people, assign=assign, resource_calendars=(FOUR_DAY, tue_fri))
    s = compute_schedule(p)
    assert s.dates("A")[:2] == (date(2026, 3, 3), date(2026, 3, 12))
    # ignore resource calendars: Tue-Fri only: 3, 4, 5, 6, 10, 11 -> Wed 11
    q = plan(
        [Task(id="A", name="a", duration_days=6, effort_driven=True, calendar="tf", ignore_resource_calendars=True)],
        people=people,
        assign=assign,
        resource_calendars=(FOUR_DAY, tue_fri),
    )
    assert compute_schedule(q).dates("A")[:2] == (date(2026, 3, 3), date(2026, 3, 11))
    inter = intersect(Calendar(working_weekdays=(1, 2, 3, 4)), Calendar(working_weekdays=(2, 3, 4, 5)))
    assert inter.working_weekdays == (2, 3, 4)


def test_two_people_on_different_calendars_finish_with_the_last() -> None:
    # R1 Mon-Fri, R2 Mon-Thu: 5 days each from Mon 2: R1 ends Fri 6, R2 ends Mon 9 -> the task ends Mon 9
    p = plan(
        [Task(id="A", name="a", duration_days=5, effort_driven=True), Task(id="B", name="b", duration_days=1)],
        people=(Person(id="R1", name="a", role="dev"), Person(id="R2", name="b", role="dev", calendar="four")),
        assign=(Assignment(person="R1", task="A"), Assignment(person="R2", task="A")),
        resource_calendars=(FOUR_DAY,),
    )
    s = compute_schedule(p)
    assert s.dates("A")[:2] == (MON, date(2026, 3, 9))
    assert s.dates("B")[0] == date(2026, 3, 10)
    assert set(task_calendars(p)) == {"A"}


def test_unknown_calendar_and_base_loop_are_refused() -> None:
    cal = Calendar(resource_calendars=(ResourceCalendar(id="a", base="b"), ResourceCalendar(id="b", base="a")))
    with pytest.raises(InvalidInput, match="loop"):
        resolve_calendar(cal, {c.id: c for c in cal.resource_calendars}, "a")
    with pytest.raises(InvalidInput, match="not one of"):
        resolve_calendar(cal, {c.id: c for c in cal.resource_calendars}, "zzz")


def test_the_project_file_keeps_calendars_through_export_and_load() -> None:
    from lifecycle.load.projectfile import dump_project, load_project_text

    site = ResourceCalendar(id="site", name="Site", base="four", holidays=(date(2026, 3, 4),))
    p = plan(
        [Task(id="A", name="a", duration_days=3, calendar="site", task_type="fixed_duration", effort_driven=True)],
        people=(Person(id="R1", name="r", role="dev", calendar="four"),),
        assign=(Assignment(person="R1", task="A", units=0.5, hours=12.0),),
        resource_calendars=(FOUR_DAY, site),
    )
    text = dump_project(p)
    assert "resource_calendars:" in text and "effort_driven: true" in text
    back = load_project_text(text).project
    assert back.calendar.resource_calendars == (FOUR_DAY, site)
    assert back.people == p.people and back.tasks == p.tasks and back.assignments == p.assignments
    bad = text.replace("calendar: four", "calendar: nowhere")
    with pytest.raises(SpecError, match=r"people\[0\]\.calendar: unknown resource calendars id 'nowhere'"):
        load_project_text(bad)


def test_a_day_only_the_task_calendar_works_is_shown_as_it_is() -> None:
    # the person works Saturdays: 6 days from Mon 2 are Mon 2 - Sat 7; the successor starts Mon 9
    six = ResourceCalendar(id="six", working_weekdays=(1, 2, 3, 4, 5, 6))
    p = on_calendar(
        [Task(id="A", name="a", duration_days=6, effort_driven=True), Task(id="B", name="b", duration_days=1)],
        "six",
        six,
    )
    s = compute_schedule(p)
    assert s.dates("A") == (MON, date(2026, 3, 7), MON, date(2026, 3, 7))
    assert s.dates("B")[:2] == (date(2026, 3, 9), date(2026, 3, 9))
    assert s.project_finish == date(2026, 3, 9)


def test_slack_of_a_task_on_a_four_day_week() -> None:
    # A: 5 days on Mon-Thu (2, 3, 4, 5, 9) in parallel with B: 10 days (2 - 13); both before C.
    # A's late finish: its last working day by Fri 13 is Thu 12; 5 days back: 12, 11, 10, 9, 5 -> late start
    # Thu 5, 3 project working days after its early start (the slack Microsoft Project gives: 10, 11, 12).
    tasks = [
        Task(id="A", name="a", duration_days=5, effort_driven=True),
        Task(id="B", name="b", duration_days=10),
        Task(id="C", name="c", duration_days=1),
    ]
    p = replace(
        on_calendar(tasks, "four", FOUR_DAY),
        links=(TaskLink("A", "C"), TaskLink("B", "C")),
    )
    s = compute_schedule(p)
    assert s.dates("A") == (MON, date(2026, 3, 9), date(2026, 3, 5), date(2026, 3, 12))
    assert s.total_slack("A") == 3 and not s.is_critical("A")
    assert s.critical_path == ["B", "C"]
    # on the critical path a placed task has no slack, a worked Saturday included
    six = ResourceCalendar(id="six", working_weekdays=(1, 2, 3, 4, 5, 6))
    q = on_calendar([Task(id="A", name="a", duration_days=6, effort_driven=True), tasks[2]], "six", six)
    assert compute_schedule(q).total_slack("A") == 0


def test_calendar_ids_are_checked() -> None:
    from lifecycle.domain.limits import ID_RULE
    from lifecycle.domain.validate import validate_project

    p = plan(
        [Task(id="A", name="a", duration_days=1)],
        resource_calendars=(FOUR_DAY, FOUR_DAY, ResourceCalendar(id="project")),
    )
    found = [(path, msg) for path, msg in validate_project(p) if path[0] == "calendar"]
    assert found == [
        (("calendar", "resource_calendars", 1, "id"), "duplicate calendar id 'four'"),
        (
            ("calendar", "resource_calendars", 2, "id"),
            f"'project' is not a valid calendar id ({ID_RULE}; not 'project')",
        ),
    ]

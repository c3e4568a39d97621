"""Microsoft Project import of resource and task calendars, assignments and task types, and the report of
how far they move the finish. Every file is a small MSPDI document written here.

March 2026: Monday 2, 9, 16, 23. The project calendar (UID 1, Standard) works Monday to Friday.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from lifecycle.domain.model import ResourceCalendar
from lifecycle.domain.schedule import Schedule, compute_schedule
from lifecycle.load.msproject import MsProjectData, parse_msproject
from lifecycle.services import analytics
from lifecycle.services.context import Context
from lifecycle.storage.memory import MemoryStore
from lifecycle.workspace import Settings, Workspace
from tests.analytics.helpers import project

STANDARD = "<Calendar><UID>1</UID><Name>Standard</Name><IsBaseCalendar>1</IsBaseCalendar></Calendar>"


def cal(uid: int, name: str, *, base: int | None = 1, body: str = "") -> str:
    b = f"<BaseCalendarUID>{base}</BaseCalendarUID>" if base is not None else ""
    is_base = f"<IsBaseCalendar>{0 if base else 1}</IsBaseCalendar>"
    return f"<Calendar><UID>{uid}</UID><Name>{name}</Name>{is_base}{b}{body}</Calendar>"


def weekday(day_type: int, working: bool) -> str:
    return f"<WeekDay><DayType>{day_type}</DayType><DayWorking>{int(working)}</DayWorking></WeekDay>"


def exception(a: str, b: str, working: bool) -> str:
    return (
        f"<Exception><Name>x</Name><Type>1</Type><DayWorking>{int(working)}</DayWorking>"
        f"<TimePeriod><FromDate>{a}T00:00:00</FromDate><ToDate>{b}T23:59:00</ToDate></TimePeriod></Exception>"
    )


def task(uid: int, days: int, extra: str = "", pred: int | None = None) -> str:
    link = f"<PredecessorLink><PredecessorUID>{pred}</PredecessorUID><Type>1</Type></PredecessorLink>" if pred else ""
    return (
        f"<Task><UID>{uid}</UID><ID>{uid}</ID><Name>Task {uid}</Name><OutlineLevel>1</OutlineLevel>"
        f"<Duration>PT{days * 8}H0M0S</Duration>{extra}{link}</Task>"
    )


def resource(uid: int, name: str, calendar: int) -> str:
    return (
        f"<Resource><UID>{uid}</UID><Name>{name}</Name><Type>1</Type><CalendarUID>{calendar}</CalendarUID></Resource>"
    )


def assignment(uid: int, task_uid: int, resource_uid: int, hours: int) -> str:
    return (
        f"<Assignment><UID>{uid}</UID><TaskUID>{task_uid}</TaskUID><ResourceUID>{resource_uid}</ResourceUID>"
        f"<Units>1</Units><Work>PT{hours}H0M0S</Work></Assignment>"
    )


def mspdi(calendars: str, tasks: str, resources: str = "", assignments: str = "", head: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Project xmlns="http://schemas.microsoft.com/project">'
        "<Title>Calendars</Title><StartDate>2026-03-02T08:00:00</StartDate><CurrencyCode>EUR</CurrencyCode>"
        f"{head}<MinutesPerDay>480</MinutesPerDay><MinutesPerWeek>2400</MinutesPerWeek><CalendarUID>1</CalendarUID>"
        f"<Calendars>{STANDARD}{calendars}</Calendars>"
        f"<Tasks><Task><UID>0</UID><OutlineLevel>0</OutlineLevel><Name>Calendars</Name></Task>{tasks}</Tasks>"
        f"<Resources>{resources}</Resources><Assignments>{assignments}</Assignments></Project>"
    ).encode()


FOUR_DAY_FILE = mspdi(
    cal(2, "Ann", body=f"<WeekDays>{weekday(6, False)}</WeekDays>"),  # Friday (day type 6) off
    task(1, 10, "<Type>0</Type><EffortDriven>1</EffortDriven>") + task(2, 2, pred=1),
    resource(1, "Ann", 2) + resource(2, "Bob", 3),
    assignment(1, 1, 1, 80),
)


def schedule_of(d: MsProjectData) -> Schedule:
    p = project(d.tasks, d.links, calendar=d.calendar, start=date(2026, 3, 2), people=d.people)
    return compute_schedule(replace(p, assignments=d.assignments))


def test_a_four_day_resource_moves_an_effort_driven_task() -> None:
    data = parse_msproject(FOUR_DAY_FILE, "four.xml")
    assert data.calendar.working_weekdays == (1, 2, 3, 4, 5)
    assert data.calendar.resource_calendars == (
        ResourceCalendar(id="C2", name="Ann", base="project", working_weekdays=(1, 2, 3, 4)),
    )
    ann = next(p for p in data.people if p.name == "Ann")
    assert ann.calendar == "C2"
    t1 = next(t for t in data.tasks if t.id == "T1")
    assert (t1.effort_driven, t1.task_type, t1.calendar) == (True, "fixed_units", "")
    assert [(a.person, a.task, a.units, a.hours) for a in data.assignments] == [("R1", "T1", 1.0, 80.0)]
    assert not any("CalendarUID" in k or "EffortDriven" in k for k in data.report.not_understood)
    assert not any("not imported" in a for a in data.report.approximations)
    # 10 days Monday to Thursday from Mon 2 March: 2-5, 9-12, 16-17 -> Tue 17; T2 Wed 18 - Thu 19
    s = schedule_of(data)
    assert s.dates("T1")[:2] == (date(2026, 3, 2), date(2026, 3, 17))
    assert s.dates("T2")[:2] == (date(2026, 3, 18), date(2026, 3, 19))


def test_a_task_calendar_with_a_holiday_exception() -> None:
    site = cal(3, "Site", body=f"<Exceptions>{exception('2026-03-04', '2026-03-05', False)}</Exceptions>")
    data = parse_msproject(mspdi(site, task(1, 5, "<CalendarUID>3</CalendarUID>") + task(2, 1, pred=1)), "site.xml")
    assert data.calendar.resource_calendars == (
        ResourceCalendar(id="C3", name="Site", base="project", holidays=(date(2026, 3, 4), date(2026, 3, 5))),
    )
    assert data.calendar.holidays == ()  # the project calendar keeps its own days
    # 5 days from Mon 2 without Wed 4 and Thu 5: 2, 3, 6, 9, 10 -> Tue 10; T2 (project calendar) Wed 11
    s = schedule_of(data)
    assert s.dates("T1")[:2] == (date(2026, 3, 2), date(2026, 3, 10))
    assert s.dates("T2")[:2] == (date(2026, 3, 11), date(2026, 3, 11))


def plant_and_bob() -> str:
    """Plant (UID 4): a base calendar of its own, Monday to Friday, Fri 6 March off; Bob (UID 5) derives
    from it, works Sat 7 March and has a work week 16-20 March without the Friday."""
    plant = cal(
        4,
        "Plant",
        base=None,
        body=f"<WeekDays>{weekday(1, False)}{weekday(7, False)}</WeekDays>"
        f"<Exceptions>{exception('2026-03-06', '2026-03-06', False)}</Exceptions>",
    )
    work_week = (
        "<WorkWeeks><WorkWeek><TimePeriod><FromDate>2026-03-16T00:00:00</FromDate><ToDate>2026-03-20T23:59:00"
        f"</ToDate></TimePeriod><Name>short</Name><WeekDays>{weekday(6, False)}</WeekDays></WorkWeek></WorkWeeks>"
    )
    saturday = exception("2026-03-07", "2026-03-07", True)
    return plant + cal(5, "Bob", base=4, body=f"<Exceptions>{saturday}</Exceptions>{work_week}")


def test_a_resource_calendar_inheriting_a_base_calendar_with_exceptions_and_a_work_week() -> None:
    data = parse_msproject(
        mspdi(
            plant_and_bob(),
            task(1, 15, "<Type>2</Type>"),
            resource(1, "Bob", 5),
            assignment(1, 1, 1, 120),
        ),
        "plant.xml",
    )
    cals = {c.id: c for c in data.calendar.resource_calendars}
    assert cals["C4"] == ResourceCalendar(id="C4", name="Plant", base="", holidays=(date(2026, 3, 6),))
    assert cals["C5"] == ResourceCalendar(
        id="C5", name="Bob", base="C4", holidays=(date(2026, 3, 20),), extra_workdays=(date(2026, 3, 7),)
    )
    assert data.tasks[0].task_type == "fixed_work"
    # Bob works Mon-Fri but not Fri 6 (Plant) nor Fri 20 (work week), and works Sat 7:
    # 2, 3, 4, 5, 7, 9, 10, 11, 12, 13, 16, 17, 18, 19, 23 -> the 15th day is Mon 23 March
    s = schedule_of(data)
    assert s.dates("T1")[:2] == (date(2026, 3, 2), date(2026, 3, 23))


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return Context(
        Workspace(tmp_path, Settings()), MemoryStore(), clock=lambda: datetime(2026, 3, 20, 9, tzinfo=timezone.utc)
    )


def test_the_import_reports_how_far_calendars_move_the_finish(ctx: Context, tmp_path: Path) -> None:
    # T1 effort-driven on Ann's 4-day week (applied: finish Thu 19 instead of Tue 17, 2 working days);
    # T3 (fixed units, not effort-driven) is Ann's too: on her calendar its 4 days from Fri 20 would be
    # Mon 23 - Thu 26 instead of Fri 20 - Wed 25 (1 working day later), not applied here.
    f = tmp_path / "report.xml"
    f.write_bytes(
        mspdi(
            cal(2, "Ann", body=f"<WeekDays>{weekday(6, False)}</WeekDays>"),
            task(1, 10, "<EffortDriven>1</EffortDriven>") + task(2, 2, pred=1) + task(3, 4, pred=2),
            resource(1, "Ann", 2),
            assignment(1, 1, 1, 80) + assignment(2, 3, 1, 32),
            head="<FinishDate>2026-03-26T17:00:00</FinishDate>",
        )
    )
    rep = analytics.import_msproject(ctx, f, "CALS")
    notes = rep.approximations
    assert (
        "resource and task calendars (applied): the finish is 2026-03-25 with them and 2026-03-23 without them "
        "(2 working day(s) later with them)"
    ) in notes
    assert (
        "people's calendars on 1 task(s) whose work does not drive their duration (T3) (not applied here): "
        "the finish is 2026-03-26 with them and 2026-03-25 without them (1 working day(s) later with them)"
    ) in notes
    moved = next(a for a in notes if "finish computed here" in a)
    assert "2026-03-25, is 1 working day(s) earlier than the file's 2026-03-26" in moved
    assert "people's calendars on 1 task(s)" in moved
    stored = ctx.store.get("CALS")
    assert stored.calendar.resource_calendars[0].working_weekdays == (1, 2, 3, 4)
    assert next(p for p in stored.people if p.id == "R1").calendar == "C2"
    assert compute_schedule(stored).project_finish == date(2026, 3, 25)


def calendars_file() -> bytes:
    """Every kind of calendar the import keeps: a resource on a 4-day week (derived from the project
    calendar), a task calendar with a holiday, a standalone base calendar with an exception and a person's
    calendar deriving from it with a working Saturday and a work week; effort-driven, fixed-work and
    fixed-duration tasks, one ignoring its resources' calendars."""
    calendars = (
        cal(2, "Ann", body=f"<WeekDays>{weekday(6, False)}</WeekDays>")
        + cal(3, "Site", body=f"<Exceptions>{exception('2026-03-04', '2026-03-05', False)}</Exceptions>")
        + plant_and_bob()
        + cal(6, "Carol", body=f"<WeekDays>{half_days()}</WeekDays>")
    )
    tasks = (
        task(1, 10, "<Type>0</Type><EffortDriven>1</EffortDriven>")
        + task(2, 5, "<Type>1</Type><CalendarUID>3</CalendarUID>", pred=1)
        + task(3, 15, "<Type>2</Type><EffortDriven>1</EffortDriven>")
        + task(
            4,
            3,
            "<EffortDriven>1</EffortDriven><CalendarUID>3</CalendarUID><IgnoreResourceCalendar>1</IgnoreResourceCalendar>",
            pred=3,
        )
        + task(5, 5, "<EffortDriven>1</EffortDriven>")
    )
    return mspdi(
        calendars,
        tasks,
        resource(1, "Ann", 2) + resource(2, "Bob", 5) + resource(3, "Carol", 6),
        assignment(1, 1, 1, 80)
        + assignment(2, 3, 2, 120)
        + assignment(3, 4, 1, 24)
        + assignment(4, 2, 2, 40)
        + assignment(5, 5, 3, 40),
    )


def half_days(*spans: tuple[str, str]) -> str:
    """Monday to Friday working the given spans of the day (08:00-12:00, 4 hours, by default)."""
    times = "".join(
        f"<WorkingTime><FromTime>{a}:00</FromTime><ToTime>{b}:00</ToTime></WorkingTime>"
        for a, b in (spans or (("08:00", "12:00"),))
    )
    return "".join(
        f"<WeekDay><DayType>{dt}</DayType><DayWorking>1</DayWorking><WorkingTimes>{times}</WorkingTimes></WeekDay>"
        for dt in (2, 3, 4, 5, 6)
    )


def test_a_part_time_calendar_needs_twice_the_days() -> None:
    # Carol works 4 hours a day: a 5-day (40-hour) effort-driven task takes 10 of her days, Mon 2 - Fri 13
    d = parse_msproject(
        mspdi(
            cal(6, "Carol", body=f"<WeekDays>{half_days()}</WeekDays>"),
            task(5, 5, "<EffortDriven>1</EffortDriven>"),
            resource(3, "Carol", 6),
            assignment(5, 5, 3, 40),
        ),
        "carol.xml",
    )
    assert d.calendar.resource_calendars == (ResourceCalendar(id="C6", name="Carol", hours_per_day=4.0),)
    assert schedule_of(d).dates("T5")[:2] == (date(2026, 3, 2), date(2026, 3, 13))


def test_every_calendar_of_the_file_is_kept() -> None:
    d = parse_msproject(calendars_file(), "all.xml")
    assert [c.id for c in d.calendar.resource_calendars] == ["C2", "C3", "C4", "C5", "C6"]
    assert {p.name: p.calendar for p in d.people} == {"Ann": "C2", "Bob": "C5", "Carol": "C6"}
    assert [(t.id, t.task_type, t.effort_driven, t.calendar, t.ignore_resource_calendars) for t in d.tasks] == [
        ("T1", "fixed_units", True, "", False),
        ("T2", "fixed_duration", False, "C3", False),
        ("T3", "fixed_work", True, "", False),
        ("T4", "fixed_units", True, "C3", True),
        ("T5", "fixed_units", True, "", False),
    ]
    s = schedule_of(d)
    # T2 fixed duration on the site calendar after T1 (Tue 17): 18, 19, 20, 23, 24 -> Tue 24
    assert s.dates("T2")[:2] == (date(2026, 3, 18), date(2026, 3, 24))
    # T4 after T3 (Mon 23) on the site calendar only: 24, 25, 26
    assert s.dates("T4")[:2] == (date(2026, 3, 24), date(2026, 3, 26))


def test_days_of_different_lengths_are_averaged_and_reported() -> None:
    short_friday = half_days().replace(
        "<DayType>6</DayType><DayWorking>1</DayWorking><WorkingTimes><WorkingTime><FromTime>08:00:00</FromTime>"
        "<ToTime>12:00:00",
        "<DayType>6</DayType><DayWorking>1</DayWorking><WorkingTimes><WorkingTime><FromTime>08:00:00</FromTime>"
        "<ToTime>10:00:00",
    )
    d = parse_msproject(mspdi(cal(6, "Carol", body=f"<WeekDays>{short_friday}</WeekDays>"), task(1, 1)), "c.xml")
    assert d.calendar.resource_calendars == ()  # nobody uses it
    assert any(
        "calendar 'Carol': working days of 2, 4 hours are scheduled as days of 3.6 hours" in a
        for a in d.report.approximations
    )


def test_a_calendar_uid_the_file_does_not_have_is_reported() -> None:
    d = parse_msproject(mspdi("", task(1, 2, "<CalendarUID>9</CalendarUID>"), resource(1, "Ann", 8)), "x.xml")
    assert d.people[0].calendar == "" and d.tasks[0].calendar == ""
    notes = " | ".join(d.report.approximations)
    assert "resource R1 names calendar UID 8, which the file does not have; the project calendar is used" in notes
    assert "task T1 names calendar UID 9, which the file does not have; ignored" in notes


def test_the_import_reports_how_far_a_left_out_constraint_moves_the_finish(ctx: Context, tmp_path: Path) -> None:
    # T2 (3 days after T1's 5) must finish no earlier than Fri 20 March: here it is scheduled as soon as
    # possible, Mon 9 - Wed 11; with the constraint (start no earlier than Wed 18) it would be Wed 18 - Fri 20
    fnet = "<ConstraintType>6</ConstraintType><ConstraintDate>2026-03-20T17:00:00</ConstraintDate>"
    f = tmp_path / "fnet.xml"
    f.write_bytes(mspdi("", task(1, 5) + task(2, 3, fnet, pred=1)))
    rep = analytics.import_msproject(ctx, f, "FNET")
    assert (
        "constraints the engine does not have (T2 finish no earlier than 2026-03-20) (not applied here): the "
        "finish is 2026-03-20 with them and 2026-03-11 without them (7 working day(s) later with them)"
    ) in rep.approximations
    assert compute_schedule(ctx.store.get("FNET")).project_finish == date(2026, 3, 11)


def test_hours_a_day_are_inherited_and_overridden() -> None:
    # Half (UID 7, base calendar of its own) works 4-hour days; Dana (UID 8) derives from it with 8-hour
    # days of her own: she keeps 8 hours, while Eve (UID 9, deriving, no days of her own) keeps Half's 4.
    full = half_days(("08:00", "12:00"), ("13:00", "17:00"))
    calendars = (
        cal(7, "Half", base=None, body=f"<WeekDays>{half_days()}</WeekDays>")
        + cal(8, "Dana", base=7, body=f"<WeekDays>{full}</WeekDays>")
        + cal(9, "Eve", base=7, body=f"<Exceptions>{exception('2026-03-04', '2026-03-04', False)}</Exceptions>")
    )
    d = parse_msproject(
        mspdi(calendars, task(1, 1) + task(2, 1), resource(1, "Dana", 8) + resource(2, "Eve", 9)), "h.xml"
    )
    hours = {c.name: c.hours_per_day for c in d.calendar.resource_calendars}
    assert hours == {"Half": 4.0, "Dana": 8.0, "Eve": 0.0}

"""Which calendars a task works on: its own calendar, its people's calendars, or the project calendar.

Resource calendars (``calendar.resource_calendars``) are named by a person's or a task's ``calendar``
field. Each inherits from its ``base`` (``project``: the project calendar with its statutory days; the id
of another resource calendar; empty: nothing, i.e. Monday to Friday without holidays), takes the base's
working week and hours a day unless it states its own, and adds its own holidays and extra workdays (its
own entries win over the base's).

The rules, as Microsoft Project schedules a task (for the cases this engine supports):

* A task with people assigned whose work drives its duration (``effort_driven``, or ``task_type``
  ``fixed_work``) works when its people work: each person's assignment runs on the person's calendar,
  intersected with the task's calendar when the task has one and ``ignore_resource_calendars`` is off.
  The task starts when the first of them starts and finishes when the last of them finishes (every
  assignment lasts the task's duration: its days of the project's hours a day, counted in days of its
  calendar's hours, so a 4-hour day does half a day's work).
* A task with a calendar of its own and no such assignments (or with ``ignore_resource_calendars``)
  works on its own calendar.
* Every other task works on the project calendar.

Pure: standard library only (intersections are cached per pair of calendars).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date

from lifecycle.domain.calendar import work_calendar
from lifecycle.domain.model import Calendar, Project, ResourceCalendar, Task
from lifecycle.errors import InvalidInput

PROJECT_BASE = "project"


def resolve_calendar(project_calendar: Calendar, calendars: dict[str, ResourceCalendar], cid: str) -> Calendar:
    """The full calendar of resource calendar ``cid`` (its base chain applied), as a plain Calendar.

    Raises :class:`InvalidInput` for an unknown id or a base chain that loops."""
    chain: list[ResourceCalendar] = []
    seen: set[str] = set()
    at = cid
    while at and at != PROJECT_BASE:
        if at in seen:
            raise InvalidInput(f"calendar {cid}: its bases form a loop ({' -> '.join([*seen, at])})")
        rc = calendars.get(at)
        if rc is None:
            raise InvalidInput(f"calendar '{at}' is not one of the project's resource calendars")
        seen.add(at)
        chain.append(rc)
        at = rc.base
    hours = project_calendar.hours_per_day
    if at == PROJECT_BASE:
        week = tuple(project_calendar.working_weekdays)
        off = set(project_calendar.effective_holidays())
        on = set(project_calendar.effective_workdays())
    else:
        week, off, on = (1, 2, 3, 4, 5), set(), set()
    for rc in reversed(chain):
        if rc.working_weekdays:
            week = tuple(rc.working_weekdays)
        if rc.hours_per_day:
            hours = rc.hours_per_day
        own_on, own_off = set(rc.extra_workdays), set(rc.holidays) - set(rc.extra_workdays)
        off = (off - own_on) | own_off
        on = (on - own_off) | own_on
    return Calendar(
        working_weekdays=tuple(sorted(set(week))),
        hours_per_day=hours,
        holidays=tuple(sorted(off - on)),
        extra_workdays=tuple(sorted(on)),
    )


@functools.lru_cache(maxsize=256)
def intersect(a: Calendar, b: Calendar) -> Calendar:
    """The calendar whose working days are those both ``a`` and ``b`` work, with the shorter of their
    working days (the hours both work, when one day lies within the other)."""
    wa, wb = work_calendar(a), work_calendar(b)
    week = tuple(sorted(set(a.working_weekdays) & set(b.working_weekdays)))
    dates: set[date] = {*a.effective_holidays(), *a.effective_workdays(), *b.effective_holidays()}
    dates |= set(b.effective_workdays())
    off, on = [], []
    for d in sorted(dates):
        both = wa.is_working(d) and wb.is_working(d)
        if d.isoweekday() in week and not both:
            off.append(d)
        elif d.isoweekday() not in week and both:
            on.append(d)
    hours = min(a.hours_per_day, b.hours_per_day)
    return Calendar(working_weekdays=week, hours_per_day=hours, holidays=tuple(off), extra_workdays=tuple(on))


def resource_driven(task: Task) -> bool:
    """Whether the task's people's calendars decide when it works (see the module docstring)."""
    return task.effort_driven or task.task_type == "fixed_work"


def task_calendars(project: Project) -> dict[str, tuple[Calendar, ...]]:
    """Task id -> the calendars it works on, for the tasks that do not simply work on the project
    calendar (empty for a project without resource calendars)."""
    pcal = project.calendar
    named = {c.id: c for c in pcal.resource_calendars}
    if not named:
        return {}
    resolved: dict[str, Calendar] = {}

    def cal_of(cid: str) -> Calendar:
        if not cid:
            return pcal
        got = resolved.get(cid)
        if got is None:
            got = resolved[cid] = resolve_calendar(pcal, named, cid)
        return got

    people = {p.id: p.calendar for p in project.people}
    assigned: dict[str, list[str]] = {}
    for a in project.assignments:
        if a.person in people and a.person not in assigned.get(a.task, []):
            assigned.setdefault(a.task, []).append(a.person)
    out: dict[str, tuple[Calendar, ...]] = {}
    for t in project.tasks:
        cals = _calendars_of(t, [cal_of(people[p]) for p in assigned.get(t.id, [])], cal_of)
        if cals and any(c != pcal for c in cals):
            out[t.id] = cals
    return out


def _calendars_of(t: Task, person_cals: list[Calendar], cal_of: Callable[[str], Calendar]) -> tuple[Calendar, ...]:
    own = cal_of(t.calendar) if t.calendar else None
    if person_cals and resource_driven(t) and not (own is not None and t.ignore_resource_calendars):
        cals = [intersect(own, c) if own is not None else c for c in person_cals]
        return tuple(dict.fromkeys(cals))
    return (own,) if own is not None else ()

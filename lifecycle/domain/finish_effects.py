"""How far one part of a plan moves its finish: the schedule computed with it and without it.

An imported plan keeps some things the engine applies (resource and task calendars) and some it
knows about but does not apply the way the source tool would (a task whose people work on other
calendars but whose work does not drive its duration keeps its own calendar here; the constraint
kinds the engine does not have, start-no-later-than and finish-no-earlier-than, are left out). For each, the
finish is computed both ways and the difference is said in working days of the project calendar, so
a person comparing with the source tool's dates knows what to look at.

Pure: standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from lifecycle.domain.calendar import work_calendar
from lifecycle.domain.model import Project
from lifecycle.domain.schedule import compute_schedule
from lifecycle.domain.task_calendars import resource_driven
from lifecycle.errors import LifecycleError


@dataclass(frozen=True, slots=True)
class FinishEffect:
    """The finish with and without one item; ``applied`` says which of the two the plan has."""

    item: str
    with_item: date
    without_item: date
    working_days: int  # with minus without, in working days of the project calendar
    applied: bool

    def text(self) -> str:
        n = self.working_days
        if n == 0:
            moved = f"the finish stays {self.with_item}"
        else:
            moved = (
                f"the finish is {self.with_item} with them and {self.without_item} without them "
                f"({abs(n)} working day(s) {'later' if n > 0 else 'earlier'} with them)"
            )
        return f"{self.item} ({'applied' if self.applied else 'not applied here'}): {moved}"


def finish_effects(
    project: Project, today: date | None = None, left_out: Sequence[tuple[str, str, date]] = ()
) -> list[FinishEffect]:
    """The effect on the finish of the plan's resource and task calendars, of the people's calendars
    on tasks whose work does not drive their duration, and of the constraints ``left_out`` (task id,
    ``start_no_later_than`` or ``finish_no_earlier_than``, date: kinds the engine does not have, taken
    as the finish-no-later-than or start-no-earlier-than of the same effect). Empty when there is none."""
    if not project.tasks or not (project.calendar.resource_calendars or left_out):
        return []
    try:
        ours = compute_schedule(project, today=today).project_finish
        out = []
        if left_out:
            listed = ", ".join(f"{tid} {kind.replace('_', ' ')} {d}" for tid, kind, d in left_out[:5])
            item = f"constraints the engine does not have ({listed}{' ...' if len(left_out) > 5 else ''})"
            alt = compute_schedule(_with_constraints(project, left_out), today=today).project_finish
            out.append(_between(project, item, alt, ours, applied=False))
        if not project.calendar.resource_calendars:
            return out
        out.append(_effect(project, today, ours, "resource and task calendars", _without_calendars(project), True))
        unapplied = _not_driven_with_people(project)
        if unapplied:
            driven = _as_effort_driven(project, unapplied)
            alt = compute_schedule(driven, today=today).project_finish
            item = (
                f"people's calendars on {len(unapplied)} task(s) whose work does not drive their duration "
                f"({', '.join(sorted(unapplied)[:5])}{' ...' if len(unapplied) > 5 else ''})"
            )
            out.append(_between(project, item, alt, ours, applied=False))
    except (LifecycleError, ValueError):
        return []
    return out


def _effect(project: Project, today: date | None, ours: date, item: str, other: Project, applied: bool) -> FinishEffect:
    alt = compute_schedule(other, today=today).project_finish
    return _between(project, item, ours, alt, applied=applied)


def _between(project: Project, item: str, with_item: date, without_item: date, *, applied: bool) -> FinishEffect:
    cal = work_calendar(project.calendar)
    n = cal.working_days_between(without_item, with_item)
    return FinishEffect(item, with_item, without_item, n, applied)


def _without_calendars(project: Project) -> Project:
    tasks = tuple(replace(t, calendar="") if t.calendar else t for t in project.tasks)
    people = tuple(replace(p, calendar="") if p.calendar else p for p in project.people)
    return replace(project, tasks=tasks, people=people, calendar=replace(project.calendar, resource_calendars=()))


def _not_driven_with_people(project: Project) -> set[str]:
    """Tasks whose people work on another calendar than the project's but whose work does not drive
    their duration (so their people's calendars are not applied)."""
    on_other = {p.id for p in project.people if p.calendar}
    tasks = {t.id: t for t in project.tasks}
    out = set()
    for a in project.assignments:
        t = tasks.get(a.task)
        if t is not None and a.person in on_other and not resource_driven(t) and not t.ignore_resource_calendars:
            out.add(t.id)
    return out


def _with_constraints(project: Project, left_out: Sequence[tuple[str, str, date]]) -> Project:
    """A start-no-later-than as the finish-no-later-than a duration later, a finish-no-earlier-than as
    the start-no-earlier-than a duration earlier (tasks that have no constraint of their own)."""
    cal = work_calendar(project.calendar)
    by_task = {tid: (kind, d) for tid, kind, d in left_out}
    tasks = []
    for t in project.tasks:
        got = by_task.get(t.id)
        if got is None or t.constraint:
            tasks.append(t)
            continue
        kind, d = got
        n = max(0, math.ceil((t.duration_days or 1) - 1e-9) - 1)
        if kind == "start_no_later_than":
            tasks.append(replace(t, constraint="finish_no_later_than", constraint_date=cal.add_working_days(d, n)))
        else:
            tasks.append(replace(t, constraint="start_no_earlier_than", constraint_date=cal.add_working_days(d, -n)))
    return replace(project, tasks=tuple(tasks))


def _as_effort_driven(project: Project, ids: set[str]) -> Project:
    return replace(project, tasks=tuple(replace(t, effort_driven=True) if t.id in ids else t for t in project.tasks))

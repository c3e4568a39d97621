"""Resource loading per person per week against capacity, over-allocations, and materials against dates.

Loading
  Each assignment's work is ``hours`` when given, else ``units x hours per day x task working days``.
  It is spread evenly over the task's working days (from the schedule when one is given, else the
  task's planned dates) and summed per person per ISO week (Monday to Sunday). A person's capacity in a
  week is ``capacity_hours_per_week`` pro rata to the working days of that week on the project calendar,
  so a week with a public holiday has less capacity (and a make-up Saturday more). A week is
  over-allocated when its load exceeds its capacity by more than 0.01 hour; the tasks that load the
  person that week are listed, largest first.

Materials
  A material not yet delivered (planned or ordered) is late when its ``needed_by`` date has passed, when
  it is needed after the start of the task that uses it, or, without a ``needed_by``, when that task has
  already started.

Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from lifecycle.domain.calendar import WorkCalendar, work_calendar
from lifecycle.domain.model import Person, Project, Task

_EPS = 0.01


@dataclass(frozen=True, slots=True)
class WeekLoad:
    person: str
    week: date  # the Monday
    hours: float
    capacity: float
    tasks: tuple[tuple[str, float], ...]  # (task id, hours) largest first

    @property
    def over(self) -> bool:
        return self.hours > self.capacity + _EPS

    @property
    def utilisation_pct(self) -> float:
        return 100.0 * self.hours / self.capacity if self.capacity else (0.0 if not self.hours else 999.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "person": self.person,
            "week": self.week.isoformat(),
            "hours": round(self.hours, 2),
            "capacity": round(self.capacity, 2),
            "over": self.over,
            "utilisation_pct": round(self.utilisation_pct, 1),
            "tasks": [{"task": t, "hours": round(h, 2)} for t, h in self.tasks],
        }


@dataclass(frozen=True, slots=True)
class OverAllocation:
    person: str
    name: str
    week: date
    hours: float
    capacity: float
    tasks: tuple[str, ...]

    @property
    def excess(self) -> float:
        return self.hours - self.capacity

    def to_dict(self) -> dict[str, Any]:
        return {
            "person": self.person,
            "name": self.name,
            "week": self.week.isoformat(),
            "hours": round(self.hours, 2),
            "capacity": round(self.capacity, 2),
            "excess": round(self.excess, 2),
            "tasks": list(self.tasks),
        }


@dataclass(frozen=True, slots=True)
class MaterialCheck:
    id: str
    name: str
    needed_by: date | None
    task: str
    task_start: date | None
    status: str
    late: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "needed_by": self.needed_by.isoformat() if self.needed_by else None,
            "task": self.task,
            "task_start": self.task_start.isoformat() if self.task_start else None,
            "status": self.status,
            "late": self.late,
            "reason": self.reason,
        }


def _span(t: Task, schedule: Any) -> tuple[date | None, date | None]:
    if schedule is not None and t.id in schedule:
        s, f, _, _ = schedule.dates(t.id)
        return s, f
    if t.start and t.finish:
        return t.start, t.finish
    return t.start or t.finish, t.finish or t.start


def resource_loading(
    project: Project, schedule: Any = None, *, from_date: date | None = None, include_done: bool = True
) -> dict[str, list[WeekLoad]]:
    """Weekly load of every person with assignments, in week order (weeks without load left out).

    ``from_date`` drops weeks before the week of that date; ``include_done=False`` leaves out the
    work of completed tasks.
    """
    people, load, week_days, cal = _weekly_load(project, schedule, from_date, include_done)
    out: dict[str, list[WeekLoad]] = {}
    for pid in sorted(load):
        person = people[pid]
        rows = []
        weeks = load[pid]
        for m in sorted(weeks):
            per_task = weeks[m]
            cap = float(person.capacity_hours_per_week) * week_days(m) / cal.weekly_days
            rows.append(
                WeekLoad(
                    pid,
                    date.fromordinal(m),
                    sum(per_task.values()),
                    cap,
                    tuple(sorted(per_task.items(), key=_largest_first)),
                )
            )
        out[pid] = rows
    return out


def _largest_first(kv: tuple[str, float]) -> tuple[float, str]:
    return -kv[1], kv[0]


def _weekly_load(
    project: Project, schedule: Any, from_date: date | None, include_done: bool
) -> tuple[dict[str, Person], dict[str, dict[int, dict[str, float]]], Callable[[int], int], WorkCalendar]:
    """People by id; hours per person, per week (the ordinal of its Monday), per task; working days of
    a week by its Monday's ordinal; the calendar. Weeks are day ordinals here (dates only for output):
    the loop meets the same Mondays for many assignments, and their working-day indexes are kept."""
    cal = work_calendar(project.calendar)
    tasks = {t.id: t for t in project.tasks}
    people = {p.id: p for p in project.people}
    first_week = _monday_ordinal(from_date.toordinal()) if from_date else None
    load: dict[str, dict[int, dict[str, float]]] = {}
    spans: dict[str, tuple[int, int] | None] = {}
    mondays = _Mondays(cal)
    monday_index = mondays.index
    index_of = cal.index_of_ordinal
    first = first_week if first_week is not None else 0  # ordinals start at 1: 0 keeps every week

    for a in project.assignments:
        t = tasks.get(a.task)
        if t is None or a.person not in people or t.status == "cancelled":
            continue
        if not include_done and (t.status == "done" or t.actual_finish is not None):
            continue
        if a.task not in spans:
            spans[a.task] = _span_index(t, schedule, cal)
        span = spans[a.task]
        if span is None:
            continue
        i0, n = span
        hours = float(a.hours) if a.hours else float(a.units) * cal.hours_per_day * n
        if hours <= 0:
            continue
        weeks = load.setdefault(a.person, {})
        m = _monday_ordinal(cal.ordinal_at(i0))
        tid = t.id
        if n <= 0:
            if m >= first:
                wk = weeks.setdefault(m, {})
                wk[tid] = wk.get(tid, 0.0) + hours
            continue
        end = i0 + n
        w0 = monday_index.get(m)
        if w0 is None:
            w0 = monday_index[m] = index_of(m)
        while w0 < end:  # one step per week the task spans; the hot loop of a portfolio sweep
            m7 = m + 7
            w1 = monday_index.get(m7)
            if w1 is None:
                w1 = monday_index[m7] = index_of(m7)
            if m >= first:
                days = (end if end < w1 else w1) - (i0 if i0 > w0 else w0)
                if days > 0:
                    got = weeks.get(m)
                    if got is None:
                        got = weeks[m] = {}
                    got[tid] = got.get(tid, 0.0) + hours * days / n
            m = m7
            w0 = w1
    return people, load, mondays.week_days, cal


class _Mondays:
    """The working-day index of each Monday met, by its day ordinal (weeks repeat across tasks)."""

    __slots__ = ("_index_of", "index")

    def __init__(self, cal: WorkCalendar):
        self.index: dict[int, int] = {}
        self._index_of = cal.index_of_ordinal

    def of(self, m: int) -> int:
        i = self.index.get(m)
        if i is None:
            i = self.index[m] = self._index_of(m)
        return i

    def week_days(self, m: int) -> int:
        """Working days of the week starting on the Monday with ordinal ``m``."""
        return self.of(m + 7) - self.of(m)


def _monday_ordinal(o: int) -> int:
    """The ordinal of the Monday of the week of day ordinal ``o`` (ordinal 1 is a Monday)."""
    return o - (o - 1) % 7


def _span_index(t: Task, schedule: Any, cal: WorkCalendar) -> tuple[int, int] | None:
    """(working-day index of the start, working days) of a task: the schedule's, else its planned dates."""
    if schedule is not None and t.id in schedule:
        i0, n = schedule.span(t.id)
        return i0, (0 if t.milestone else n)
    s, f = _span(t, None)
    if s is None or f is None:
        return None
    if f < s:
        s, f = f, s
    return cal.index(s), (0 if t.milestone else cal.count_working_days(s, f))


def over_allocations(project: Project, schedule: Any = None, *, from_date: date | None = None) -> list[OverAllocation]:
    """Every (person, week) whose load exceeds capacity, with the tasks causing it.

    With ``from_date`` only that week and later ones are considered, and completed tasks are left out
    (history cannot be re-planned).
    """
    people, load, week_days, cal = _weekly_load(project, schedule, from_date, from_date is None)
    out = []
    for pid in sorted(load):  # the weeks resource_loading() reports, keeping only those over capacity
        person = people[pid]
        weeks = load[pid]
        for m in sorted(weeks):
            per_task = weeks[m]
            hours = sum(per_task.values())
            cap = float(person.capacity_hours_per_week) * week_days(m) / cal.weekly_days
            if hours > cap + _EPS:
                ranked = sorted(per_task.items(), key=_largest_first)
                out.append(
                    OverAllocation(pid, person.name, date.fromordinal(m), hours, cap, tuple(t for t, _ in ranked))
                )
    out.sort(key=lambda o: (o.week, o.person))
    return out


def material_checks(project: Project, today: date, schedule: Any = None) -> list[MaterialCheck]:
    """Each material with the start of the task that needs it and whether it is late (see module doc)."""
    tasks = {t.id: t for t in project.tasks}
    out = []
    for m in project.materials:
        t = tasks.get(m.task) if m.task else None
        start = _span(t, schedule)[0] if t is not None else None
        if t is not None and t.actual_start is not None:
            start = t.actual_start
        pending = m.status in ("planned", "ordered")
        late = False
        reason = ""
        if pending:
            if m.needed_by is not None and m.needed_by < today:
                late, reason = True, f"needed by {m.needed_by}, not delivered"
            elif m.needed_by is not None and start is not None and m.needed_by > start:
                late, reason = True, f"needed by {m.needed_by}, after task {m.task} starts on {start}"
            elif m.needed_by is None and start is not None and start <= today:
                late, reason = True, f"task {m.task} started on {start}, not delivered"
        out.append(MaterialCheck(m.id, m.name, m.needed_by, m.task, start, m.status, late, reason))
    return out

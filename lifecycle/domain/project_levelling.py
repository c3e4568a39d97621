"""A project's plan as a resource-levelling instance, and the levelled plan back as dates.

:func:`levelling_instance` maps the plan onto :mod:`lifecycle.domain.levelling` in working days of the
project calendar, day 0 being the schedule's project start:

* activities are the leaf tasks (summary tasks are left out; a link to or from a summary is pushed to
  every leaf below it, as the critical path method lets it act on all its children); each lasts its
  working days from the critical path method (a cancelled task 0 days);
* every person is a resource whose capacity per day is ``capacity_hours_per_week`` over the calendar's
  hours per day times its working days per week (1.0 = one full-time person); a task uses the units of
  its assignments, or, when a leaf task has no assignment, its owner at 1.0 (at its effort over its
  working hours when that is less: a long level-of-effort task); a demand above the person's
  capacity is cut to the capacity (one person cannot work faster than full time);
* done and in-progress tasks are fixed at their actual (scheduled) start, and the links into them are
  dropped (an actual start is a fact, whatever the links say); start-no-earlier-than
  constraints, and the planned start of a task with no predecessor that the schedule keeps, are release
  days; the project's priority order is the schedule's (earlier early start first among equals).

:func:`level_project` runs the solver and returns, per task, the levelled start and finish dates, the
working days each task moved, the levelled finish against the unlevelled one and the person-days over
capacity before and after. Pure: standard library and the domain only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from lifecycle.domain.levelling import Activity, Instance, Levelled, Link, level
from lifecycle.domain.model import Project
from lifecycle.domain.schedule import Schedule


@dataclass(frozen=True)
class LevelledPlan:
    """The outcome of levelling a project (dates on the project calendar)."""

    unlevelled_finish: date
    levelled_finish: date
    delay_days: int  # working days the finish moved
    moved: dict[str, tuple[date, date, int]]  # task -> (levelled start, levelled finish, working days later)
    over_before: int  # person-days above capacity in the unlevelled plan
    over_after: int
    lower_bound_finish: date  # no schedule can finish before this (critical path or work per person)
    method: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "unlevelled_finish": self.unlevelled_finish.isoformat(),
            "levelled_finish": self.levelled_finish.isoformat(),
            "delay_days": self.delay_days,
            "moved": [
                {"task": t, "start": s.isoformat(), "finish": f.isoformat(), "days_later": d}
                for t, (s, f, d) in sorted(self.moved.items(), key=lambda kv: (-kv[1][2], kv[0]))
            ],
            "over_allocated_person_days_before": self.over_before,
            "over_allocated_person_days_after": self.over_after,
            "lower_bound_finish": self.lower_bound_finish.isoformat(),
            "method": self.method,
            "notes": list(self.notes),
        }


def _capacities(project: Project) -> dict[str, float]:
    cal = project.calendar
    per_week = cal.hours_per_day * max(1, len(cal.working_weekdays))
    return {p.id: round(p.capacity_hours_per_week / per_week, 4) for p in project.people}


def _demands(
    project: Project, leaves: set[str], caps: dict[str, float], notes: list[str], days_of: dict[str, int]
) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for a in project.assignments:
        if a.task in leaves and a.person in caps and a.units > 0:
            row = out.setdefault(a.task, {})
            row[a.person] = row.get(a.person, 0.0) + a.units
    hours_per_day = project.calendar.hours_per_day
    for t in project.tasks:
        if t.id in leaves and t.id not in out and t.owner in caps:
            days = days_of.get(t.id, 0)
            # the owner full time, unless the task's effort says less (a long level-of-effort task)
            units = min(1.0, t.effort_hours / (days * hours_per_day)) if t.effort_hours > 0 and days > 0 else 1.0
            out[t.id] = {t.owner: round(units, 4)}
    for tid, row in out.items():
        for pid, units in row.items():
            if units > caps[pid] + 1e-9:
                notes.append(f"{tid}: {units:g} units of {pid} cut to the capacity {caps[pid]:g}")
                row[pid] = caps[pid]
    return out


def _leaves_below(project: Project) -> dict[str, list[str]]:
    """Each summary's leaf tasks."""
    kids: dict[str, list[str]] = {}
    for t in project.tasks:
        if t.parent:
            kids.setdefault(t.parent, []).append(t.id)
    out: dict[str, list[str]] = {}

    def leaves(s: str) -> list[str]:
        if s not in out:
            acc: list[str] = []
            stack = [s]
            seen = {s}
            while stack:
                x = stack.pop()
                for c in kids.get(x, []):
                    if c in seen:
                        continue
                    seen.add(c)
                    if c in kids:
                        stack.append(c)
                    else:
                        acc.append(c)
            out[s] = acc
        return out[s]

    for s in kids:
        leaves(s)
    return out


def _round_lag(x: float) -> int:
    return math.floor(x + 0.5 + 1e-9) if x >= 0 else -math.floor(-x + 0.5 + 1e-9)


def _links(project: Project, below: dict[str, list[str]], leaves: set[str]) -> tuple[Link, ...]:
    seen: set[tuple[str, str]] = set()
    out: list[Link] = []
    for lk in project.links:
        preds = below.get(lk.predecessor, [lk.predecessor])
        succs = below.get(lk.successor, [lk.successor])
        for p in preds:
            for s in succs:
                if p in leaves and s in leaves and p != s and (p, s) not in seen:
                    seen.add((p, s))
                    out.append(Link(p, s, lk.type, _round_lag(lk.lag_days)))
    return tuple(out)


def levelling_instance(project: Project, schedule: Schedule) -> tuple[Instance, list[str]]:
    """The levelling instance of the plan (see the module docstring) and notes on what was adjusted."""
    notes: list[str] = []
    below = _leaves_below(project)
    leaves = {t.id for t in project.tasks if t.id not in below and t.id in schedule}
    caps = _capacities(project)
    demands = _demands(project, leaves, caps, notes, {tid: schedule.span(tid)[1] for tid in leaves})
    links = _links(project, below, leaves)
    has_pred = {lk.succ for lk in links}
    base = schedule.base
    cal = schedule.calendar
    acts = []
    for t in project.tasks:
        if t.id not in leaves:
            continue
        days = schedule.span(t.id)[1]
        es = schedule.early_start_index(t.id)
        started = t.actual_start is not None or t.status in ("done", "in_progress") or t.actual_finish is not None
        release = 0
        if t.constraint == "start_no_earlier_than" and t.constraint_date is not None:
            release = max(0, cal.index(t.constraint_date) - base)
        if t.id not in has_pred:
            release = max(release, es)  # a start the schedule keeps (planned start, inherited constraint)
        acts.append(
            Activity(
                id=t.id,
                duration=0 if t.status == "cancelled" else days,
                demands={} if t.status in ("done", "cancelled") else demands.get(t.id, {}),
                release=release,
                fixed_start=es if started else None,
            )
        )
    used = {r for a in acts for r in a.demands}
    # started work keeps its actual start whatever its links say (as in the critical path method)
    fixed = {a.id for a in acts if a.fixed_start is not None}
    kept = tuple(lk for lk in links if lk.succ not in fixed)
    return Instance(tuple(acts), kept, {r: caps[r] for r in used}), notes


def _over_days(instance: Instance, starts: dict[str, int]) -> int:
    """Person-days whose load is above the person's capacity."""
    load: dict[tuple[str, int], float] = {}
    for a in instance.activities:
        s = starts[a.id]
        for r, u in a.demands.items():
            for d in range(s, s + a.duration):
                load[(r, d)] = load.get((r, d), 0.0) + u
    return sum(1 for (r, _), v in load.items() if v > instance.capacities[r] + 1e-9)


def level_project(project: Project, schedule: Schedule, *, samples: int | None = None) -> LevelledPlan:
    """Level the plan's resources (see the module docstring); ``samples`` defaults by the plan's size."""
    inst, notes = levelling_instance(project, schedule)
    n = len(inst.activities)
    if samples is None:
        samples = 200 if n <= 300 else (30 if n <= 1500 else 0)
    before = {a.id: schedule.early_start_index(a.id) for a in inst.activities}
    res: Levelled = level(inst, samples=samples)
    at = schedule.calendar.date_at
    base = schedule.base
    moved: dict[str, tuple[date, date, int]] = {}
    for a in inst.activities:
        s = res.starts[a.id]
        if s > before[a.id]:
            fin = at(base + s + a.duration - 1) if a.duration else at(base + s)
            moved[a.id] = (at(base + s), fin, s - before[a.id])
    unlevelled = schedule.project_finish
    end = max((res.starts[a.id] + a.duration for a in inst.activities), default=0)
    levelled = max(unlevelled, at(base + end - 1)) if end > 0 else unlevelled
    bound = at(base + max(0, res.lower_bound - 1))
    delay = schedule.calendar.count_working_days(unlevelled, levelled) - 1 if levelled > unlevelled else 0
    return LevelledPlan(
        unlevelled_finish=unlevelled,
        levelled_finish=levelled,
        delay_days=delay,
        moved=moved,
        over_before=_over_days(inst, before),
        over_after=_over_days(inst, dict(res.starts)),
        lower_bound_finish=max(bound, schedule.project_start),
        method=res.method,
        notes=notes,
    )

"""Small builders for the analytics tests: a project from a task table, dates by day offset."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from lifecycle.domain.model import Calendar, Charter, Organisation, Project, Task, TaskLink

EVERY_DAY = Calendar(working_weekdays=(1, 2, 3, 4, 5, 6, 7))
START = date(2026, 1, 5)  # a Monday


def project(
    tasks: list[Task] | tuple[Task, ...],
    links: list[TaskLink] | tuple[TaskLink, ...] = (),
    *,
    calendar: Calendar = EVERY_DAY,
    start: date | None = START,
    **kw: Any,
) -> Project:
    return Project(
        charter=Charter(
            code="T-1", name="test", client=Organisation(name="client"), start=start, approved_budget=Decimal("0")
        ),
        calendar=calendar,
        tasks=tuple(tasks),
        links=tuple(links),
        **kw,
    )


def network(spec: dict[str, tuple[float, str]], *, calendar: Calendar = EVERY_DAY, start: date = START) -> Project:
    """{'A': (3, ''), 'B': (4, 'A'), 'C': (2, 'A,B')} -> tasks with finish-to-start links."""
    tasks = [Task(id=k, name=k, duration_days=d) for k, (d, _) in spec.items()]
    links = [TaskLink(p.strip(), k) for k, (_, ps) in spec.items() for p in ps.split(",") if p.strip()]
    return project(tasks, links, calendar=calendar, start=start)


def day(n: int, base: date = START) -> date:
    return base + timedelta(days=n)

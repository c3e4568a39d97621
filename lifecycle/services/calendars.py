"""The working calendar as a person reads it: ``pmo calendar show``.

:func:`calendar_view` lays out one year (or one month) of a project's calendar exactly as the schedule
counts it (the stored calendar: working weekdays, the country's statutory days filled at apply time,
the file's explicit days overriding them), each exception with its name in the project's language
where the holiday library gives one, and the warnings of what the calendar does not know (a year the
library has no data for; a schedule running past the years filled: see
:func:`~lifecycle.domain.schedule.schedule_calendar_warnings`, which the project services use for
``pmo apply``, ``show`` and ``gate check`` without importing the holiday libraries).
"""

from __future__ import annotations

import calendar as month_calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from lifecycle.domain import calendar as work
from lifecycle.domain.model import Calendar
from lifecycle.domain.schedule import schedule_calendar_warnings
from lifecycle.errors import InvalidInput
from lifecycle.load.statutory import statutory_days
from lifecycle.services.context import Context

DayKind = Literal["holiday", "workday", "weekend"]


@dataclass(frozen=True, slots=True)
class CalendarDay:
    """A day that is not what its weekday says, or a weekend day (``source``: where it comes from)."""

    day: date
    working: bool
    kind: DayKind  # holiday: a weekday off; workday: a weekend day worked; weekend: off by the week anyway
    source: Literal["statutory", "project", "week"]
    name: str  # the holiday's name (a make-up day: the holiday it is worked for); "" when none

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "weekday": self.day.isoweekday(),
            "working": self.working,
            "kind": self.kind,
            "source": self.source,
            "name": self.name,
        }


@dataclass(frozen=True, slots=True)
class CalendarView:
    """One year or month of a project's working calendar."""

    code: str
    locale: str
    country: str
    region: str
    working_weekdays: tuple[int, ...]
    hours_per_day: float
    year: int
    month: int | None
    first: date
    last: date
    working_days: int
    days: tuple[CalendarDay, ...]  # every day of the period that is off, or worked on a weekend
    year_unknown: bool  # the library has no statutory days for this year yet
    year_filled: bool  # the statutory days of this year were filled (False: working weekdays only)
    warnings: tuple[str, ...]

    def exceptions(self) -> tuple[CalendarDay, ...]:
        """The days that are not what the working week says (holidays on weekdays, worked weekend
        days) and the weekend days inside a statutory holiday (named, as calendars show them)."""
        return tuple(d for d in self.days if d.kind != "weekend" or d.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "country": self.country,
            "region": self.region,
            "working_weekdays": list(self.working_weekdays),
            "hours_per_day": self.hours_per_day,
            "year": self.year,
            "month": self.month,
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "working_days": self.working_days,
            "year_unknown": self.year_unknown,
            "year_filled": self.year_filled,
            "days": [d.to_dict() for d in self.exceptions()],
            "warnings": list(self.warnings),
        }


def _names(cal: Calendar, year: int, locale: str) -> dict[tuple[date, str], str]:
    """(day, kind) -> the statutory name of the day in the project's language."""
    if not cal.country or year not in cal.statutory_years:
        return {}
    days, _ = statutory_days(cal.country, cal.region, [year], locale)
    return {(s.day, s.kind): s.name for s in days}


def _period(year: int, month: int | None) -> tuple[date, date]:
    if not 1 <= year <= 9998:
        raise InvalidInput(f"--year {year}: give a year such as 2027")
    if month is None:
        return date(year, 1, 1), date(year, 12, 31)
    if not 1 <= month <= 12:
        raise InvalidInput(f"--month {month}: give a month from 1 to 12")
    return date(year, month, 1), date(year, month, month_calendar.monthrange(year, month)[1])


def _day(cal: Calendar, wc: work.WorkCalendar, d: date, names: dict[tuple[date, str], str]) -> CalendarDay | None:
    working = wc.is_working(d)
    by_week = d.isoweekday() in cal.working_weekdays
    if working == by_week:
        if working:
            return None
        name = names.get((d, "holiday"), "")  # a weekend day inside a statutory holiday keeps its name
        return CalendarDay(d, False, "weekend", "statutory" if name else "week", name)
    kind: DayKind = "workday" if working else "holiday"
    name = names.get((d, kind), "")
    explicit = cal.extra_workdays if working else cal.holidays
    source: Literal["statutory", "project"] = "project" if d in explicit or not name else "statutory"
    return CalendarDay(d, working, kind, source, name if source == "statutory" else "")


def calendar_view(ctx: Context, code: str, year: int | None = None, month: int | None = None) -> CalendarView:
    """Project ``code``'s working calendar for ``year`` (default: this year), or one ``month`` of it."""
    project = ctx.store.get(code)
    cal = project.calendar
    year = ctx.today().year if year is None else year
    first, last = _period(year, month)
    wc = work.work_calendar(cal)
    names = _names(cal, year, project.charter.locale)
    days = []
    d = first
    while d <= last:
        got = _day(cal, wc, d, names)
        if got is not None:
            days.append(got)
        d += timedelta(days=1)
    return CalendarView(
        code=project.code,
        locale=project.charter.locale,
        country=cal.country,
        region=cal.region,
        working_weekdays=cal.working_weekdays,
        hours_per_day=cal.hours_per_day,
        year=year,
        month=month,
        first=first,
        last=last,
        working_days=wc.count_working_days(first, last),
        days=tuple(days),
        year_unknown=year in cal.unknown_years,
        year_filled=year in cal.statutory_years and year not in cal.unknown_years,
        warnings=tuple(schedule_calendar_warnings(project)),
    )


__all__ = [
    "CalendarDay",
    "CalendarView",
    "calendar_view",
]

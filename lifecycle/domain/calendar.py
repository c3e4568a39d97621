"""Working-time arithmetic on a project :class:`~lifecycle.domain.model.Calendar`.

Every schedule, earned-value and loading figure counts *working days*: the ISO weekdays the calendar
works, minus its holidays, plus its extra workdays (the make-up working days, 调休, that Chinese public
holidays bring: a Saturday or Sunday that is worked so that a longer holiday can be taken). A date listed
both as a holiday and as an extra workday is a working day: the explicit make-up day wins. The holidays
and extra workdays are the calendar's *effective* ones: its country's statutory days (filled by the
loader) with the explicit entries of the project file overriding them.

The core is an integer *working-day index*: ``index(d)`` is the number of working days before ``d``
counted from a fixed origin, so a non-working day shares the index of the next working day. Schedules
compute on these integers and turn them into dates only at the end, so scheduling never walks the
calendar day by day. ``index`` is O(log h) for h exception dates (a closed formula over whole weeks
plus two binary searches); ``date_at`` (the inverse) reads a table of working dates that grows on
demand, so after the first call it is O(1).

Conventions used everywhere (and documented in the public functions):

* ``count_working_days(start, finish)`` counts both ends: a task from Monday to Friday lasts 5 days.
* ``working_days_between(a, b)`` counts the half-open range ``[a, b)``: negative when ``b < a``.
* ``add_working_days(d, n)`` gives the working day ``n`` working days after ``d`` (before it when
  ``n < 0``); from a non-working day, the first working day after it is one day away.

Pure: standard library only. :func:`work_calendar` caches one instance per (frozen, hashable) calendar.
"""

from __future__ import annotations

import bisect
import functools
from datetime import date, timedelta

from lifecycle.domain.model import Calendar
from lifecycle.errors import InvalidInput

_MAX_GAP_DAYS = 3660  # a calendar with no working day in ten years is refused, not looped over
_MAX_ORDINAL = date.max.toordinal() - 8


class WorkCalendar:
    """Working-day arithmetic for one calendar; build it with :func:`work_calendar`."""

    __slots__ = (
        "_extra",
        "_fwd",
        "_fwd_index0",
        "_hol",
        "_k",
        "_prefix",
        "_weekdays",
        "calendar",
        "hours_per_day",
        "weekly_days",
    )

    def __init__(self, calendar: Calendar | None = None):
        cal = calendar or Calendar()
        self.calendar = cal
        self.hours_per_day = float(cal.hours_per_day)
        wd = frozenset(int(d) for d in cal.working_weekdays if 1 <= int(d) <= 7)
        self._weekdays = wd
        self._k = len(wd)
        # weekly_days: nominal working days a week (for capacity pro rata); never 0 to avoid dividing by it
        self.weekly_days = self._k or 5
        # ordinal o has ISO weekday ((o - 1) % 7) + 1; within a block of 7 starting at a multiple of 7,
        # prefix[r] counts the working weekdays among offsets 0 .. r-1
        prefix = [0] * 8
        for r in range(7):
            iso = ((r - 1) % 7) + 1
            prefix[r + 1] = prefix[r] + (1 if iso in wd else 0)
        self._prefix = prefix
        extra = {d.toordinal() for d in cal.effective_workdays()}
        self._extra = sorted(o for o in extra if (((o - 1) % 7) + 1) not in wd)
        self._hol = sorted(
            {d.toordinal() for d in cal.effective_holidays() if d.toordinal() not in extra and d.isoweekday() in wd}
        )
        if not wd and not self._extra:
            raise InvalidInput("the calendar has no working days (no working weekdays and no extra workdays)")
        self._fwd: list[int] = []  # ordinals of consecutive working days
        self._fwd_index0 = 0  # index of _fwd[0]

    # ------------------------------------------------------------------ core
    def _cum(self, o: int) -> int:
        """Working days with an ordinal strictly below ``o``."""
        q, r = divmod(o, 7)
        return q * self._k + self._prefix[r] + bisect.bisect_left(self._extra, o) - bisect.bisect_left(self._hol, o)

    def _working_ord(self, o: int) -> bool:
        if (((o - 1) % 7) + 1) in self._weekdays:
            i = bisect.bisect_left(self._hol, o)
            return not (i < len(self._hol) and self._hol[i] == o)
        i = bisect.bisect_left(self._extra, o)
        return i < len(self._extra) and self._extra[i] == o

    def is_working(self, d: date) -> bool:
        return self._working_ord(d.toordinal())

    def index(self, d: date) -> int:
        """The working-day index of ``d`` (a non-working day has the index of the next working day)."""
        return self._cum(d.toordinal())

    def index_of_ordinal(self, o: int) -> int:
        """:meth:`index` of the day with ordinal ``o`` (for loops that count days as integers)."""
        return self._cum(o)

    def _locate(self, i: int) -> int:
        """Ordinal of the working day with index ``i`` (binary search; used to seed the table)."""
        k = self._k or 1
        guess = max(1, (i * 7) // k)
        lo, hi = guess, guess
        step = 16
        while lo > 1 and self._cum(lo) > i:
            lo = max(1, lo - step)
            step *= 2
        step = 16
        while self._cum(hi + 1) <= i:
            hi += step
            step *= 2
            if hi > _MAX_ORDINAL:
                raise InvalidInput("the calendar has no working day in range")
        # smallest o in [lo, hi] with cum(o + 1) > i
        while lo < hi:
            mid = (lo + hi) // 2
            if self._cum(mid + 1) > i:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def _extend_to(self, i: int) -> None:
        fwd = self._fwd
        if not fwd:
            o = self._locate(i)
            fwd.append(o)
            self._fwd_index0 = i
            return
        if i < self._fwd_index0:
            # grow backwards: rebuild from the new start (rare: dates before the first one asked for)
            start = self._locate(i)
            new = [start]
            o = start
            stop = fwd[0]
            while True:
                o += 1
                if o >= stop:
                    break
                if self._working_ord(o):
                    new.append(o)
            new.extend(fwd)
            self._fwd = new
            self._fwd_index0 = i
            return
        o = fwd[-1]
        need = i - self._fwd_index0 + 1
        gap = 0
        working = self._working_ord
        while len(fwd) < need:
            o += 1
            if working(o):
                fwd.append(o)
                gap = 0
            else:
                gap += 1
                if gap > _MAX_GAP_DAYS:
                    raise InvalidInput(
                        f"the calendar has no working day for ten years after {date.fromordinal(fwd[-1])}"
                    )

    def date_at(self, i: int) -> date:
        """The working day whose index is ``i``."""
        j = i - self._fwd_index0
        fwd = self._fwd
        if fwd and 0 <= j < len(fwd):
            return date.fromordinal(fwd[j])
        self._extend_to(i)
        return date.fromordinal(self._fwd[i - self._fwd_index0])

    def ordinal_at(self, i: int) -> int:
        j = i - self._fwd_index0
        fwd = self._fwd
        if fwd and 0 <= j < len(fwd):
            return fwd[j]
        self._extend_to(i)
        return self._fwd[i - self._fwd_index0]

    # ------------------------------------------------------------------ public arithmetic
    def next_working_day(self, d: date, *, include_self: bool = True) -> date:
        """The first working day on or after ``d`` (strictly after it when ``include_self`` is false)."""
        if include_self:
            return self.date_at(self.index(d))
        return self.date_at(self.index(d + timedelta(days=1)))

    def previous_working_day(self, d: date, *, include_self: bool = True) -> date:
        """The last working day on or before ``d`` (strictly before it when ``include_self`` is false)."""
        o = d.toordinal() + (1 if include_self else 0)
        return self.date_at(self._cum(o) - 1)

    def add_working_days(self, d: date, n: int) -> date:
        """The working day ``n`` working days after ``d`` (before it for negative ``n``).

        From a working day, ``+1`` is the next working day. From a non-working day, ``+1`` is the first
        working day after it, ``-1`` the last one before it, and ``0`` moves forward to the next one.
        """
        i = self.index(d)
        if self.is_working(d) or n == 0:
            return self.date_at(i + n)
        return self.date_at(i + n - 1 if n > 0 else i + n)

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in the half-open range ``[a, b)``; negative if ``b`` is before ``a``."""
        return self._cum(b.toordinal()) - self._cum(a.toordinal())

    def count_working_days(self, start: date, finish: date) -> int:
        """Working days from ``start`` to ``finish`` inclusive (0 if ``finish`` is before ``start``)."""
        n = self._cum(finish.toordinal() + 1) - self._cum(start.toordinal())
        return max(0, n)

    def finish_date(self, start: date, duration_days: int) -> date:
        """Finish of a task starting on ``start`` that lasts ``duration_days`` working days (0: ``start``)."""
        s = self.index(start)
        if duration_days <= 0:
            return self.date_at(s)
        return self.date_at(s + duration_days - 1)

    def working_days_in_week(self, monday: date) -> int:
        return self.working_days_between(monday, monday + timedelta(days=7))

    def hours(self, days: float) -> float:
        return days * self.hours_per_day


@functools.lru_cache(maxsize=256)
def work_calendar(calendar: Calendar | None = None) -> WorkCalendar:
    """The (cached) :class:`WorkCalendar` of a project calendar."""
    return WorkCalendar(calendar)


# Convenience functions on a plain Calendar ------------------------------------------------------
def is_working_day(calendar: Calendar, d: date) -> bool:
    return work_calendar(calendar).is_working(d)


def next_working_day(calendar: Calendar, d: date, *, include_self: bool = True) -> date:
    return work_calendar(calendar).next_working_day(d, include_self=include_self)


def add_working_days(calendar: Calendar, d: date, n: int) -> date:
    return work_calendar(calendar).add_working_days(d, n)


def working_days_between(calendar: Calendar, a: date, b: date) -> int:
    return work_calendar(calendar).working_days_between(a, b)


def count_working_days(calendar: Calendar, start: date, finish: date) -> int:
    return work_calendar(calendar).count_working_days(start, finish)


def monday_of(d: date) -> date:
    return d - timedelta(days=d.weekday())


def calendar_warnings(calendar: Calendar, through: date | None = None) -> list[str]:
    """What a person must know about the calendar's statutory days, one sentence each.

    A year the holiday library does not know counts the working weekdays (and the file's own days)
    only; a schedule running past the last year filled (``through``: the computed finish) has no
    statutory days there either. Both are said, never assumed away.
    """
    if not calendar.country:
        return []
    place = calendar.country + (f"-{calendar.region}" if calendar.region else "")
    out = []
    if calendar.unknown_years:
        years = ", ".join(str(y) for y in calendar.unknown_years)
        which = "that year counts" if len(calendar.unknown_years) == 1 else "those years count"
        out.append(
            f"calendar: the holiday library does not know {place}'s statutory days for {years} yet; "
            f"until it does (then apply the project file again) {which} the working weekdays "
            "and the file's own days only"
        )
    filled = calendar.statutory_years
    if through is not None and (not filled or through.year > max(filled)):
        upto = f"were filled up to {max(filled)}" if filled else "were not filled (the project states no dates)"
        out.append(
            f"calendar: the schedule runs to {through.isoformat()} but {place}'s statutory days {upto}; "
            "apply the project file again to fill the later years"
        )
    return out

"""Working-day arithmetic: weekends, public holidays and Chinese make-up working days (调休)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from lifecycle.domain.calendar import (
    WorkCalendar,
    add_working_days,
    count_working_days,
    next_working_day,
    work_calendar,
    working_days_between,
)
from lifecycle.domain.model import Calendar
from lifecycle.errors import InvalidInput

# The 2025 National Day and Mid-Autumn arrangement: 1-8 October off, Sunday 28 September and
# Saturday 11 October worked instead.
NATIONAL_DAY_2025 = Calendar(
    holidays=tuple(date(2025, 10, d) for d in range(1, 9)),
    extra_workdays=(date(2025, 9, 28), date(2025, 10, 11)),
)


def test_plain_week() -> None:
    cal = Calendar()
    mon = date(2026, 3, 2)
    assert count_working_days(cal, mon, mon + timedelta(days=4)) == 5  # Monday..Friday, both ends
    assert count_working_days(cal, mon, mon + timedelta(days=6)) == 5  # the weekend adds nothing
    assert working_days_between(cal, mon, mon + timedelta(days=7)) == 5  # half-open
    assert working_days_between(cal, mon + timedelta(days=7), mon) == -5
    assert add_working_days(cal, date(2026, 3, 6), 1) == date(2026, 3, 9)  # Friday + 1 = Monday
    assert add_working_days(cal, date(2026, 3, 9), -1) == date(2026, 3, 6)
    assert next_working_day(cal, date(2026, 3, 7)) == date(2026, 3, 9)  # Saturday -> Monday
    assert next_working_day(cal, date(2026, 3, 9)) == date(2026, 3, 9)
    assert next_working_day(cal, date(2026, 3, 9), include_self=False) == date(2026, 3, 10)


def test_from_a_day_off() -> None:
    cal = Calendar()
    sat = date(2026, 3, 7)
    assert add_working_days(cal, sat, 0) == date(2026, 3, 9)
    assert add_working_days(cal, sat, 1) == date(2026, 3, 9)
    assert add_working_days(cal, sat, 2) == date(2026, 3, 10)
    assert add_working_days(cal, sat, -1) == date(2026, 3, 6)
    wc = work_calendar(cal)
    assert wc.previous_working_day(sat) == date(2026, 3, 6)
    assert wc.previous_working_day(date(2026, 3, 9), include_self=False) == date(2026, 3, 6)


def test_chinese_holiday_with_make_up_days() -> None:
    cal = NATIONAL_DAY_2025
    wc = work_calendar(cal)
    assert wc.is_working(date(2025, 9, 28))  # a Sunday that is worked
    assert wc.is_working(date(2025, 10, 11))  # a Saturday that is worked
    assert not wc.is_working(date(2025, 10, 1))
    assert not wc.is_working(date(2025, 10, 8))  # a Wednesday off
    # Mon 22 Sep .. Sun 12 Oct: 5 (22-26) + Sun 28 + 29, 30 + Thu 9, Fri 10, Sat 11 = 11 working days
    assert count_working_days(cal, date(2025, 9, 22), date(2025, 10, 12)) == 11
    # the working day after 30 September is 9 October
    assert add_working_days(cal, date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert add_working_days(cal, date(2025, 10, 9), -1) == date(2025, 9, 30)
    # a 5-day task starting Thursday 25 September: 25, 26, 28, 29, 30
    assert wc.finish_date(date(2025, 9, 25), 5) == date(2025, 9, 30)
    # the week of the holiday has 3 working days (9, 10, 11 October fall in the next week: 0 here)
    assert wc.working_days_in_week(date(2025, 9, 29)) == 2  # Monday 29, Tuesday 30
    assert wc.working_days_in_week(date(2025, 10, 6)) == 3  # Thursday 9, Friday 10, Saturday 11
    assert wc.working_days_in_week(date(2025, 9, 22)) == 6  # five weekdays and Sunday 28


def test_make_up_day_wins_over_a_holiday_listing_the_same_date() -> None:
    cal = Calendar(holidays=(date(2025, 9, 28),), extra_workdays=(date(2025, 9, 28),))
    assert work_calendar(cal).is_working(date(2025, 9, 28))


def test_index_and_date_round_trip_over_years_both_directions() -> None:
    wc = WorkCalendar(NATIONAL_DAY_2025)
    mid = wc.index(date(2025, 10, 9))
    assert wc.date_at(mid) == date(2025, 10, 9)
    # far ahead, then before the first date asked (the table grows backwards)
    d = date(2031, 6, 2)
    assert wc.date_at(wc.index(d)) == d
    d = date(2019, 1, 7)
    assert wc.date_at(wc.index(d)) == d
    d = date(2025, 1, 1)
    for i in range(800):
        x = d + timedelta(days=i)
        got = wc.date_at(wc.index(x))
        assert got >= x and wc.is_working(got)
        assert all(not wc.is_working(x + timedelta(days=k)) for k in range((got - x).days))


def test_six_day_week_and_no_working_days() -> None:
    cal = Calendar(working_weekdays=(1, 2, 3, 4, 5, 6))
    assert count_working_days(cal, date(2026, 3, 2), date(2026, 3, 8)) == 6
    with pytest.raises(InvalidInput, match="no working days"):
        WorkCalendar(Calendar(working_weekdays=()))
    only = WorkCalendar(Calendar(working_weekdays=(), extra_workdays=(date(2026, 3, 7),)))
    assert only.next_working_day(date(2026, 3, 1)) == date(2026, 3, 7)
    with pytest.raises(InvalidInput, match="no working day"):
        only.add_working_days(date(2026, 3, 7), 1)

"""Statutory calendars: a country's public holidays and make-up working days, from the holiday libraries.

A project file says ``calendar: {country: CN}`` (or ``GB``, ``DE`` …, with an optional ``region``, a
subdivision such as ``SCT`` or ``BY``) instead of typing every holiday. This module, on the loader's
side of the pure domain, turns that into the explicit date lists the domain
:class:`~lifecycle.domain.model.Calendar` computes with (``statutory_holidays``,
``statutory_workdays``), for the years the project spans:

* ``CN`` reads ``chinese-calendar``, which knows the State Council's yearly arrangement: the holidays
  *and* the 调休 make-up working days (a Saturday or Sunday worked so a holiday can be longer). Its
  data ends with the last year published (the next year's arrangement appears late in the year).
* every other country reads ``holidays`` (public holidays; it computes them by rule for the years its
  country class covers). It has no make-up working days for them.

A year the library does not know is never taken as a year without holidays: it is listed in the
calendar's ``unknown_years``, the faces report it, rules see it (``calendar.unknown_years``), and the
schedule counts only the working weekdays (and the file's explicit days) in it until the library
knows it and the project file is applied again.

The years covered are those of the project's dates (charter, tasks, milestones) and of its computed
schedule, so a plan that runs past its stated finish still gets that year's holidays.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

import chinese_calendar
import holidays as holidays_lib

from lifecycle.domain.model import Calendar, Project, replace
from lifecycle.domain.schedule import compute_schedule
from lifecycle.errors import LifecycleError

MAX_YEARS = 60  # a project's calendar is looked up for at most this many years (from its first year)
_CN = "CN"
# the holidays library's language codes to try, best first, for each project locale
_LANGUAGES = {"zh-CN": ("zh_CN", "zh_TW", "en_US"), "zh-TW": ("zh_TW", "zh_CN", "en_US"), "en": ("en_US", "en_GB")}


@dataclass(frozen=True, slots=True)
class StatutoryDay:
    """One statutory exception: a holiday, or a make-up working day (``name`` is the holiday it is for)."""

    day: date
    kind: Literal["holiday", "workday"]
    name: str


@dataclass(frozen=True, slots=True)
class PlaceProblem:
    """A country or region the libraries do not know: which field, and what to write instead."""

    field: Literal["country", "region"]
    message: str


# ------------------------------------------------------------------ what the libraries know
def _cn_years() -> frozenset[int]:
    return frozenset(d.year for d in chinese_calendar.holidays)


def known_years(country: str) -> range:
    """The years the library has data for (chinese-calendar: up to the last arrangement published)."""
    if country == _CN:
        years = _cn_years()
        return range(min(years), max(years) + 1)
    cls = type(holidays_lib.country_holidays(country))
    return range(int(cls.start_year), int(cls.end_year) + 1)


def check_place(country: str, region: str) -> PlaceProblem | None:
    """None when the libraries know the country (and the region within it), else what is wrong."""
    if not country:
        return PlaceProblem("region", f"'{region}': a region needs the country it is in") if region else None
    if country == _CN:
        if region:
            return PlaceProblem(
                "region", f"'{region}': the statutory calendar of CN is national (no regions); leave region out"
            )
        return None
    supported = holidays_lib.list_supported_countries()
    if country not in supported:
        close = difflib.get_close_matches(country.upper(), sorted(supported), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else " (an ISO 3166 code such as CN, GB, DE, US)"
        return PlaceProblem("country", f"'{country}' is not a country the holiday library knows{hint}")
    if region:
        try:
            holidays_lib.country_holidays(country, subdiv=region)
        except NotImplementedError:
            known = ", ".join(supported[country]) or "none"
            return PlaceProblem("region", f"'{region}' is not a region of {country} the library knows (known: {known})")
    return None


# ------------------------------------------------------------------ the days
def statutory_days(
    country: str, region: str, years: Iterable[int], locale: str = "en"
) -> tuple[list[StatutoryDay], tuple[int, ...]]:
    """The statutory days of ``years`` (sorted by date) and the years among them the library does not know.

    Names are in the project's language where the library has it (chinese-calendar gives Chinese and
    English; ``holidays`` its translations, else the country's own language). The place must have
    passed :func:`check_place`.
    """
    wanted = sorted(set(years))
    known = known_years(country)
    unknown = tuple(y for y in wanted if y not in known)
    good = [y for y in wanted if y in known]
    if not good:
        return [], unknown
    if country == _CN:
        return _cn_days(good, locale), unknown
    return _world_days(country, region, good, locale), unknown


def _cn_days(years: list[int], locale: str) -> list[StatutoryDay]:
    chinese = locale.startswith("zh")
    ys = set(years)

    def name(english: str) -> str:
        try:
            holiday = chinese_calendar.Holiday(english)
        except ValueError:
            return english
        return str(holiday.chinese) if chinese else english

    out = [StatutoryDay(d, "holiday", name(n)) for d, n in chinese_calendar.holidays.items() if d.year in ys]
    out += [StatutoryDay(d, "workday", name(n)) for d, n in chinese_calendar.workdays.items() if d.year in ys]
    return sorted(out, key=lambda s: s.day)


def _language(country: str, locale: str) -> str | None:
    """The holidays library's language for a project locale: simplified Chinese where offered, the
    country's own when it is the project's language (GB: en_GB), else a translation (en_US …), else
    the country's own."""
    probe = holidays_lib.country_holidays(country)
    own = str(probe.default_language or "")
    wanted = _LANGUAGES.get(locale, ())
    offered = set(probe.supported_languages or ())
    if locale == "zh-CN" and "zh_CN" in offered:  # simplified characters where the library has them
        return "zh_CN"
    if own and wanted and own.split("_")[0] == wanted[0].split("_")[0]:
        return own
    return next((lang for lang in wanted if lang in offered), own or None)


def _world_days(country: str, region: str, years: list[int], locale: str) -> list[StatutoryDay]:
    language = _language(country, locale)
    found = holidays_lib.country_holidays(country, subdiv=region or None, years=years, language=language)
    return sorted((StatutoryDay(d, "holiday", str(n)) for d, n in found.items()), key=lambda s: s.day)


def filled_calendar(calendar: Calendar, years: Iterable[int]) -> Calendar:
    """The calendar with its country's statutory days of ``years`` filled in (unchanged without a country)."""
    if not calendar.country:
        return calendar
    ys = tuple(sorted(set(years)))
    days, unknown = statutory_days(calendar.country, calendar.region, ys)
    return replace(
        calendar,
        statutory_holidays=tuple(s.day for s in days if s.kind == "holiday"),
        statutory_workdays=tuple(s.day for s in days if s.kind == "workday"),
        statutory_years=ys,
        unknown_years=unknown,
    )


# ------------------------------------------------------------------ the project's years
def stated_years(project: Project) -> set[int]:
    """The years of the dates the project states: charter, tasks (planned and actual), milestones."""
    c = project.charter
    dates = [c.start, c.finish]
    for t in project.tasks:
        dates += [t.start, t.finish, t.actual_start, t.actual_finish]
    dates += [m.date for m in project.milestones]
    return {d.year for d in dates if d is not None}


def _span(years: set[int]) -> range:
    first = min(years)
    return range(first, min(max(years), first + MAX_YEARS - 1) + 1)


def _schedule_years(project: Project) -> set[int]:
    """The years of the computed schedule (empty when it cannot be computed: the checks report why)."""
    if not project.tasks:
        return set()
    try:
        s = compute_schedule(project)
    except (LifecycleError, ValueError):
        return set()
    return {s.project_start.year, s.project_finish.year}


def fill_project(project: Project) -> Project:
    """The project with its calendar's statutory days filled for every year it spans.

    The years are those the project states, widened to its computed schedule: filling a year can push
    the schedule on (holidays), so the schedule is computed again until it stays within the years
    filled (at most a few rounds; :data:`MAX_YEARS` bounds the span).
    """
    if not project.calendar.country:
        return project
    years = stated_years(project)
    if not years:
        return project
    filled = project
    for _ in range(4):
        span = _span(years)
        filled = replace(project, calendar=filled_calendar(project.calendar, span))
        more = _schedule_years(filled)
        if more <= set(span):
            break
        years |= more
    return filled


__all__ = [
    "MAX_YEARS",
    "PlaceProblem",
    "StatutoryDay",
    "check_place",
    "fill_project",
    "filled_calendar",
    "known_years",
    "stated_years",
    "statutory_days",
]

"""``pmo calendar show``: a project's working calendar, as a month grid or the year's list of days.

The service (:mod:`lifecycle.services.calendars`) decides which days are off and why; this face only
lays them out: Chinese projects mark 休 (a holiday) and 班 (a make-up working day) as Chinese
calendars do, English ones H and W.
"""

from __future__ import annotations

import calendar as month_calendar
import unicodedata
from typing import Any

import click

from lifecycle.cli.output import console, emit_json, handle_errors, run_in_context, warn
from lifecycle.services import calendars

WEEKDAYS = {"zh": "一 二 三 四 五 六 日", "en": "Mo Tu We Th Fr Sa Su"}
TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "{code} 工作日历 {period}",
        "place": "法定节假日：{place}",
        "none": "法定节假日：未设置（calendar 中没有 country）",
        "week": "每周工作：{days}，每天 {hours:g} 小时",
        "count": "工作日 {n} 天",
        "unknown": "{year} 年：日历库尚无该年的放假安排，只按每周工作日和项目文件中的日期计算",
        "unfilled": "{year} 年不在项目的日期范围内：法定节假日未填入，排程只按每周工作日计算",
        "holiday": "休",
        "workday": "班",
        "legend": "休 = 节假日  班 = 调休上班（周末上班）",
        "project_holiday": "项目休息日",
        "project_workday": "项目上班日",
        "make_up": "{name} 调休上班",
        "list": "非工作日和调休上班日：",
        "empty": "（除周末外没有例外）",
    },
    "en": {
        "title": "{code} working calendar {period}",
        "place": "statutory days: {place}",
        "none": "statutory days: none (the calendar names no country)",
        "week": "working week: {days}, {hours:g} h a day",
        "count": "{n} working days",
        "unknown": "{year}: the holiday library has no arrangement for this year yet; "
        "only the working week and the project file's own days count",
        "unfilled": "{year} is outside the project's dates: statutory days not filled, "
        "the schedule counts the working week only",
        "holiday": "H",
        "workday": "W",
        "legend": "H = holiday  W = make-up working day (a weekend day worked)",
        "project_holiday": "holiday (project file)",
        "project_workday": "working day (project file)",
        "make_up": "{name} (make-up working day)",
        "list": "days off and make-up working days:",
        "empty": "(no exceptions besides weekends)",
    },
}


@click.group("calendar")
def calendar_grp() -> None:
    """Show a project's working calendar (statutory holidays, make-up working days)."""


@calendar_grp.command("show")
@click.argument("code")
@click.option("--year", type=int, help="The year to show (default: this year).")
@click.option("--month", type=click.IntRange(1, 12), help="One month, as a grid.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable: the days that are exceptions.")
@click.pass_context
@handle_errors
def calendar_show(ctx: click.Context, code: str, year: int | None, month: int | None, as_json: bool) -> None:
    """Print the working calendar the schedule counts with: every holiday and make-up working day.

    \b
    pmo calendar show CODE                 this year's days off and make-up working days
    pmo calendar show CODE --year 2027     another year (a year the library does not know is said)
    pmo calendar show CODE --month 10      one month as a grid (休/班 or H/W marks)
    """
    view = run_in_context(ctx, lambda c: calendars.calendar_view(c, code, year, month))
    warn(list(view.warnings))
    if as_json:
        emit_json(view.to_dict())
        return
    lang = "zh" if view.locale.lower().startswith("zh") else "en"
    out = console()
    for line in _header(view, lang):
        out.print(line, markup=False)
    if view.month is not None:
        for line in _grid(view, lang):
            out.print(line, markup=False)
    for line in _listing(view, lang):
        out.print(line, markup=False)


def _header(view: Any, lang: str) -> list[str]:
    t = TEXT[lang]
    period = f"{view.year}-{view.month:02d}" if view.month else str(view.year)
    names = WEEKDAYS[lang].split()
    days = " ".join(names[d - 1] for d in sorted(view.working_weekdays))
    place = view.country + (f"-{view.region}" if view.region else "")
    lines = [
        t["title"].format(code=view.code, period=period),
        t["place"].format(place=place) if place else t["none"],
        t["week"].format(days=days, hours=view.hours_per_day),
        t["count"].format(n=view.working_days),
    ]
    if view.year_unknown:
        lines.append(t["unknown"].format(year=view.year))
    elif view.country and not view.year_filled:
        lines.append(t["unfilled"].format(year=view.year))
    return lines


def _width(text: str) -> int:
    """Columns a text takes in a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _cell(text: str, width: int = 4) -> str:
    return " " * max(0, width - _width(text)) + text


def _grid(view: Any, lang: str) -> list[str]:
    """The month as a grid: one row a week, each day with its mark (休/班 or H/W) when it is an exception."""
    t = TEXT[lang]
    marks = {d.day.day: t["workday" if d.working else "holiday"] for d in view.exceptions()}
    lines = ["", " ".join(_cell(w) for w in WEEKDAYS[lang].split())]
    for week in month_calendar.Calendar().monthdayscalendar(view.year, view.month):
        cells = [_cell("" if day == 0 else f"{day}{marks.get(day, '')}") for day in week]
        lines.append(" ".join(cells).rstrip())
    lines.append(t["legend"])
    return lines


def _listing(view: Any, lang: str) -> list[str]:
    t = TEXT[lang]
    lines = ["", t["list"]]
    names = WEEKDAYS[lang].split()
    for d in view.exceptions():
        if d.source == "statutory":
            label = t["make_up"].format(name=d.name) if d.kind == "workday" else d.name
        else:
            label = t["project_workday"] if d.kind == "workday" else t["project_holiday"]
        mark = t["workday" if d.working else "holiday"]
        lines.append(f"  {d.day.isoformat()} {names[d.day.isoweekday() - 1]}  {mark}  {label}")
    if len(lines) == 2:
        lines.append("  " + t["empty"])
    return lines

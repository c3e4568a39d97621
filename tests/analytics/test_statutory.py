"""Statutory calendars: ``calendar: {country: …}`` against the real holiday libraries.

chinese-calendar for CN (holidays and 调休 make-up working days, data up to the last arrangement
published), ``holidays`` for the other countries (regions included); the explicit days of the file
override; a year the library does not know is reported, never taken as a year without holidays; CPM
and the rules' working-day functions count with the filled days; the CLI shows and warns.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli
from lifecycle.domain.calendar import calendar_warnings, work_calendar
from lifecycle.domain.facts import facts_schema
from lifecycle.domain.model import Project, replace
from lifecycle.domain.schedule import compute_schedule
from lifecycle.expr.evaluate import evaluate_expression
from lifecycle.load.projectfile import dump_project, load_project_text
from lifecycle.load.statutory import known_years, statutory_days

LAST_CN_YEAR = max(known_years("CN"))  # the last year chinese-calendar knows (2026 in 1.11)
FIRST_UNKNOWN_CN_YEAR = LAST_CN_YEAR + 1


def project_text(calendar: str, start: str = "2025-09-22", finish: str = "2025-10-31", tasks: str = "") -> str:
    tasks = tasks or f"  - {{id: A, name: Build, start: {start}, finish: {finish}}}\n"
    return (
        f"project: {{code: CAL-1, name: Calendar test, client: {{name: Client}}, start: {start}, finish: {finish}}}\n"
        f"calendar: {calendar}\n"
        f"tasks:\n{tasks}"
    )


def load(calendar: str, **kw: str) -> Project:
    return load_project_text(project_text(calendar, **kw)).project


# ------------------------------------------------------------------ CN: holidays and 调休
def test_a_cn_make_up_saturday_is_worked_and_the_holiday_before_it_is_not() -> None:
    p = load("{country: CN}")
    wc = work_calendar(p.calendar)
    # 2025: 1-8 October off (National Day with Mid-Autumn); Sunday 28 Sept and Saturday 11 Oct worked
    assert date(2025, 10, 11).isoweekday() == 6 and wc.is_working(date(2025, 10, 11))
    assert date(2025, 9, 28).isoweekday() == 7 and wc.is_working(date(2025, 9, 28))
    assert not wc.is_working(date(2025, 10, 8))  # the Wednesday off just before the make-up Saturday
    assert not wc.is_working(date(2025, 10, 1))
    assert wc.is_working(date(2025, 10, 9))
    assert not wc.is_working(date(2025, 10, 12))  # an ordinary Sunday
    assert p.calendar.statutory_years == (2025,) and p.calendar.unknown_years == ()
    assert calendar_warnings(p.calendar) == []


def test_cpm_counts_the_filled_days() -> None:
    tasks = "  - {id: A, name: Build, start: 2025-09-29, duration_days: 5}\n"
    cn = load_project_text(project_text("{country: CN}", tasks=tasks)).project
    plain = load_project_text(project_text("{}", tasks=tasks)).project
    # Mon 29, Tue 30 Sept, then 1-8 Oct off, Thu 9, Fri 10 and the make-up Saturday 11 October
    assert compute_schedule(cn).project_finish == date(2025, 10, 11)
    assert compute_schedule(plain).project_finish == date(2025, 10, 3)


def test_rule_working_day_functions_use_the_statutory_days() -> None:
    p = load("{country: CN}")
    today = date(2025, 9, 1)
    assert evaluate_expression("is_working_day('2025-10-11')", p, today).value is True
    assert evaluate_expression("is_working_day('2025-10-08')", p, today).value is False
    # 29 Sept .. 12 Oct: 10 weekdays, 6 of them (1-8 Oct) off, and the make-up Saturday 11 Oct
    assert evaluate_expression("working_days('2025-09-29', '2025-10-12')", p, today).value == 5
    assert evaluate_expression("add_working_days('2025-09-30', 1)", p, today).value == "2025-10-09"
    assert evaluate_expression("size(calendar.unknown_years) == 0", p, today).value is True


# ------------------------------------------------------------------ other countries, regions
def test_a_uk_bank_holiday_is_off_and_the_region_decides_which() -> None:
    eng = work_calendar(load("{country: GB, region: ENG}", start="2026-07-01", finish="2026-09-30").calendar)
    sct = work_calendar(load("{country: GB, region: SCT}", start="2026-07-01", finish="2026-09-30").calendar)
    # the summer bank holiday: last Monday of August in England, first Monday of August in Scotland
    assert not eng.is_working(date(2026, 8, 31)) and eng.is_working(date(2026, 8, 3))
    assert not sct.is_working(date(2026, 8, 3)) and sct.is_working(date(2026, 8, 31))
    national = work_calendar(load("{country: GB}", start="2026-12-01", finish="2026-12-31").calendar)
    assert not national.is_working(date(2026, 12, 25)) and not national.is_working(date(2026, 12, 28))


def test_germany_by_state() -> None:
    by = load("{country: DE, region: BY}", start="2026-01-01", finish="2026-12-31").calendar
    be = load("{country: DE, region: BE}", start="2026-01-01", finish="2026-12-31").calendar
    assert date(2026, 1, 6) in by.statutory_holidays  # Epiphany in Bavaria
    assert date(2026, 1, 6) not in be.statutory_holidays
    assert date(2026, 10, 3) in by.statutory_holidays and date(2026, 10, 3) in be.statutory_holidays


def test_names_come_in_the_projects_language() -> None:
    hk_zh, _ = statutory_days("HK", "", [2026], "zh-CN")
    hk_en, _ = statutory_days("HK", "", [2026], "en")
    assert "农历年初一" in {d.name for d in hk_zh}  # simplified characters, as the project writes
    assert "Chinese New Year" in {d.name for d in hk_en}
    de_en, _ = statutory_days("DE", "BY", [2026], "en")
    assert "Epiphany" in {d.name for d in de_en}  # not the German name
    cn_zh, _ = statutory_days("CN", "", [2025], "zh-CN")
    cn_en, _ = statutory_days("CN", "", [2025], "en")
    assert {d.name for d in cn_zh if d.day == date(2025, 10, 11)} == {"国庆节"}
    assert {(d.kind, d.name) for d in cn_en if d.day == date(2025, 10, 11)} == {("workday", "National Day")}


def test_rule_packs_can_name_the_calendar_facts() -> None:
    props = facts_schema()["$defs"]["Calendar"]["properties"]
    assert {"country", "region", "statutory_holidays", "statutory_workdays", "unknown_years"} <= set(props)


# ------------------------------------------------------------------ explicit days override
def test_explicit_days_override_the_statutory_ones() -> None:
    p = load("{country: CN, extra_workdays: [2025-10-08], holidays: [2025-10-11, 2025-10-20]}")
    wc = work_calendar(p.calendar)
    assert wc.is_working(date(2025, 10, 8))  # a statutory holiday the file works
    assert not wc.is_working(date(2025, 10, 11))  # a statutory make-up day the file keeps off
    assert not wc.is_working(date(2025, 10, 20))  # a day of the project's own
    assert not wc.is_working(date(2025, 10, 7))  # the rest of the statutory days stand
    assert wc.is_working(date(2025, 9, 28))


def test_export_writes_the_country_not_the_filled_days() -> None:
    p = load("{country: CN, holidays: [2025-10-20]}")
    text = dump_project(p)
    assert "country: CN" in text and "statutory" not in text and "unknown_years" not in text
    again = load_project_text(text).project
    assert again.calendar == p.calendar


# ------------------------------------------------------------------ years: the range, unknown ones
def test_a_year_the_library_does_not_know_is_reported_and_counts_weekdays_only() -> None:
    y = FIRST_UNKNOWN_CN_YEAR
    p = load("{country: CN}", start=f"{y - 1}-12-01", finish=f"{y}-02-26")
    assert p.calendar.unknown_years == (y,)
    assert p.calendar.statutory_years == (y - 1, y)
    wc = work_calendar(p.calendar)
    jan1 = date(y, 1, 1)
    assert wc.is_working(jan1) == (jan1.isoweekday() <= 5)  # weekends only: the flagged assumption
    warnings = calendar_warnings(p.calendar)
    assert len(warnings) == 1 and str(y) in warnings[0] and "does not know" in warnings[0]
    assert evaluate_expression("calendar.unknown_years", p, date(y - 1, 12, 1)).value == [y]


def test_the_years_follow_the_computed_schedule() -> None:
    # stated dates in 2026 only, but 80 working days from November run into 2027
    tasks = "  - {id: A, name: Build, start: 2026-11-02, duration_days: 80}\n"
    text = project_text("{country: GB, region: ENG}", start="2026-11-02", finish="2026-12-18", tasks=tasks)
    p = load_project_text(text).project
    assert p.calendar.statutory_years == (2026, 2027)
    finish = compute_schedule(p).project_finish
    assert finish.year == 2027
    assert date(2027, 1, 1) in p.calendar.statutory_holidays
    assert calendar_warnings(p.calendar, finish) == []
    # a schedule that later runs past the years filled (e.g. after progress was recorded) is said
    stale = replace(p.calendar, statutory_years=(2026,))
    assert "filled up to 2026" in calendar_warnings(stale, finish)[0]


# ------------------------------------------------------------------ the CLI
def _cli(*args: str, code: int = 0) -> object:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == code, res.output + (repr(res.exception) if res.exception else "")
    return res


@pytest.fixture
def applied(workspace: Path, tmp_path: Path) -> Path:
    f = tmp_path / "cal.yaml"
    y = FIRST_UNKNOWN_CN_YEAR
    f.write_text(
        project_text("{country: CN}", start="2025-09-01", finish=f"{y}-01-29").replace(
            "Client}", "Client}, locale: zh-CN"
        ),
        encoding="utf-8",
    )
    res = _cli("apply", str(f))
    assert f"warning: CAL-1: calendar: the holiday library does not know CN's statutory days for {y}" in res.output
    return f


def test_calendar_show_month_grid_and_list(applied: Path) -> None:
    res = _cli("calendar", "show", "CAL-1", "--year", "2025", "--month", "10")
    out = res.output
    assert "CAL-1 工作日历 2025-10" in out and "法定节假日：CN" in out
    assert "11班" in out and " 8休" in out  # the grid marks the make-up Saturday and the day off before it
    assert "2025-10-11 六  班  国庆节 调休上班" in out
    assert "2025-10-08 三  休  国庆节" in out
    assert "工作日 18 天" in out  # 23 weekdays in October 2025, 6 of them off, 1 Saturday worked
    whole = _cli("calendar", "show", "CAL-1", "--year", "2025").output
    assert "2025-09-28 日  班  国庆节 调休上班" in whole and "2025-01-01 三  休  元旦" in whole


def test_calendar_show_json_and_an_unknown_year(applied: Path) -> None:
    y = FIRST_UNKNOWN_CN_YEAR
    data = json.loads(_cli("calendar", "show", "CAL-1", "--year", "2025", "--month", "10", "--json").stdout)
    days = {d["date"]: d for d in data["days"]}
    assert days["2025-10-11"] == {
        "date": "2025-10-11",
        "weekday": 6,
        "working": True,
        "kind": "workday",
        "source": "statutory",
        "name": "国庆节",
    }
    assert days["2025-10-08"]["kind"] == "holiday" and days["2025-10-04"]["kind"] == "weekend"
    assert data["year_filled"] is True and data["year_unknown"] is False
    res = _cli("calendar", "show", "CAL-1", "--year", str(y))
    assert f"{y} 年：日历库尚无该年的放假安排" in res.stdout
    assert f"does not know CN's statutory days for {y}" in res.stderr
    other = json.loads(_cli("calendar", "show", "CAL-1", "--year", str(y), "--json").stdout)
    assert other["year_unknown"] is True and other["days"] == []
    assert "--month" in _cli("calendar", "show", "CAL-1", "--month", "13", code=2).output
    assert "NOPE" in _cli("calendar", "show", "NOPE", code=2).output


def test_show_and_gate_check_warn_about_the_unknown_year(applied: Path) -> None:
    y = FIRST_UNKNOWN_CN_YEAR
    shown = _cli("show", "CAL-1")
    assert f"does not know CN's statutory days for {y}" in shown.stderr
    checked = CliRunner().invoke(cli, ["gate", "check", "CAL-1"])
    assert checked.exit_code in (0, 1), checked.output
    assert f"does not know CN's statutory days for {y}" in checked.stderr
    data = json.loads(_cli("show", "CAL-1", "--json").stdout)
    assert data["calendar"] == {"country": "CN", "region": ""} and len(data["warnings"]) == 1
    again = json.loads(_cli("apply", str(applied), "--json").stdout)  # unchanged, and still said
    assert again[0]["changes"] == [] and f"statutory days for {y}" in again[0]["warnings"][0]

"""`pmo export msproject`: the MSPDI writer read back by our reader (import -> export -> import changes
nothing) on the sample projects and MSPDI test files, and through the CLI."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli
from lifecycle.domain.model import Project
from lifecycle.load.mspdi_write import write_mspdi
from lifecycle.load.msproject import MsProjectData, parse_msproject
from lifecycle.load.projectfile import load_project_file
from lifecycle.services.scheduling import scheduled_dates
from tests.analytics.test_msproject_calendars import calendars_file
from tests.analytics.test_msproject_findings import link, mspdi, task

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TODAY = date(2026, 3, 20)
PARTS = ("currency", "calendar", "tasks", "links", "people", "materials", "assignments", "budget", "costs", "baselines")


def as_project(d: MsProjectData, code: str = "RT") -> Project:
    """What `pmo import msproject` stores, without the store."""
    base = load_project_file(EXAMPLES / "en-clinic-portal.yaml").project
    charter = replace(
        base.charter, code=code, name=d.name, currency=d.currency or "CNY", start=d.start, finish=d.finish
    )
    return Project(
        charter=charter,
        calendar=d.calendar,
        tasks=d.tasks,
        links=d.links,
        people=d.people,
        materials=d.materials,
        assignments=d.assignments,
        budget=d.budget,
        costs=d.costs,
        baselines=d.baselines,
    )


def export(p: Project, saved: date = TODAY) -> bytes:
    return write_mspdi(p, scheduled_dates(p, TODAY), saved=saved)


def assert_same(a: MsProjectData, b: MsProjectData) -> None:
    for part in PARTS:
        assert getattr(a, part) == getattr(b, part), part
    assert (a.name, a.start, a.finish, a.status_date) == (b.name, b.start, b.finish, b.status_date)


PERT_HEAD = (
    "<ExtendedAttributes><ExtendedAttribute><FieldID>188743783</FieldID><FieldName>Duration1</FieldName>"
    "<Alias>Optimistic Duration</Alias></ExtendedAttribute><ExtendedAttribute><FieldID>188743785</FieldID>"
    "<FieldName>Duration3</FieldName><Alias>Pessimistic Duration</Alias></ExtendedAttribute></ExtendedAttributes>"
)
PERT_TASK = (
    "<ExtendedAttribute><FieldID>188743783</FieldID><Value>PT24H0M0S</Value></ExtendedAttribute>"
    "<ExtendedAttribute><FieldID>188743785</FieldID><Value>PT64H0M0S</Value></ExtendedAttribute>"
)


def test_three_point_estimates_are_read_from_the_pert_fields() -> None:
    d = parse_msproject(small_file(), today=TODAY)
    build = {t.id: t for t in d.tasks}["T3"]
    assert (build.optimistic_days, build.duration_days, build.pessimistic_days) == (3.0, 4.5, 8.0)


def small_file() -> bytes:
    """A plan as Microsoft Project writes one: every task with its WBS and dates (Thursday 5 March off,
    Saturdays worked), a fractional duration, every link type, a lead, a baseline with a duration."""

    def dated(wbs: str, start: str, finish: str, more: str = "") -> str:
        return (
            f"<WBS>{wbs}</WBS><Start>2026-03-{start}T08:00:00</Start><Finish>2026-03-{finish}T17:00:00</Finish>{more}"
        )

    bl = "<Baseline><Number>0</Number><Start>2026-03-02T08:00:00</Start><Finish>2026-03-04T17:00:00</Finish>"
    return mspdi(
        task(1, "Phase", days=8, extra=dated("1", "02", "11"))
        + task(
            2,
            "Design",
            days=3,
            level=2,
            extra=dated(
                "1.1",
                "02",
                "04",
                f"<Cost>120000</Cost>{bl}<Duration>PT24H0M0S</Duration><Cost>110000</Cost></Baseline>",
            ),
        )
        + task(3, "Build", days=4.5, level=2, extra=dated("1.2", "06", "11") + PERT_TASK, links=link(2, 1, 4800))
        + task(4, "Review", days=2, extra=dated("2", "10", "11"), links=link(3, 3, -2400) + link(2, 0, 0))
        + task(5, "Sign-off", days=0, extra=dated("3", "12", "12", "<Milestone>1</Milestone>"), links=link(4, 2, 9600)),
        head="<CurrencySymbol>£</CurrencySymbol>" + PERT_HEAD,
        more="<Calendars><Calendar><UID>1</UID><Name>Std</Name><IsBaseCalendar>1</IsBaseCalendar>"
        "<WeekDays><WeekDay><DayType>7</DayType><DayWorking>1</DayWorking></WeekDay></WeekDays>"
        "<Exceptions><Exception><TimePeriod><FromDate>2026-03-05T00:00:00</FromDate>"
        "<ToDate>2026-03-05T23:59:00</ToDate></TimePeriod><DayWorking>0</DayWorking></Exception></Exceptions>"
        "</Calendar></Calendars>",
    )


@pytest.mark.parametrize("source", ["clinic", "small", "calendars"])
def test_import_export_import_changes_nothing(source: str) -> None:
    raw = {"clinic": lambda: (DATA / "clinic.xml").read_bytes(), "small": small_file, "calendars": calendars_file}
    first = parse_msproject(raw[source](), today=TODAY)
    if source == "calendars":  # written by hand without WBS and dates: the first export adds them
        first = parse_msproject(export(as_project(first)), today=TODAY)
    saved = first.baselines[-1].saved_on if first.baselines else TODAY
    again = parse_msproject(export(as_project(first), saved=saved), today=TODAY)
    assert_same(first, again)
    assert again.report.not_understood == {}
    if source == "calendars":
        assert len(first.calendar.resource_calendars) == 5 and first.assignments
        assert [p.calendar for p in again.people] == ["C2", "C5", "C6"]
        assert again.calendar.resource_calendars[-1].hours_per_day == 4.0


@pytest.mark.parametrize("sample", ["en-clinic-portal.yaml", "zh-smart-factory.yaml"])
def test_sample_projects_round_trip(sample: str) -> None:
    p = load_project_file(EXAMPLES / sample).project
    first = parse_msproject(export(p), today=TODAY)
    # what the file carries over: every task with its name, outline, duration and status; every link
    uid = {t.id: f"T{k}" for k, t in enumerate(_outline_order(p), start=1)}
    by_id = {t.id: t for t in first.tasks}
    assert len(first.tasks) == len(p.tasks)
    summaries = {t.parent for t in p.tasks}
    for t in p.tasks:
        got = by_id[uid[t.id]]
        assert (got.name, got.parent, got.milestone, got.status) == (
            t.name,
            uid.get(t.parent, ""),
            t.milestone,
            t.status,
        )
        if t.id not in summaries and t.duration_days is not None:
            assert got.duration_days == t.duration_days, t.id
    assert {(uid[lk.predecessor], uid[lk.successor], lk.type, lk.lag_days) for lk in p.links} == {
        (lk.predecessor, lk.successor, lk.type, lk.lag_days) for lk in first.links
    }
    # the file carries the days the calendar counts (the country's statutory days with the project's
    # own overriding them) as explicit exceptions: a tool without our country lookup sees the same days
    ours, theirs = p.calendar, first.calendar
    assert (theirs.working_weekdays, theirs.hours_per_day) == (ours.working_weekdays, ours.hours_per_day)
    assert theirs.effective_holidays() == ours.effective_holidays()
    assert theirs.effective_workdays() == ours.effective_workdays()
    assert [x.name for x in first.people] == [x.name for x in p.people]
    assert first.currency == p.charter.currency
    # and the second round changes nothing
    again = parse_msproject(export(as_project(first), saved=first.baselines[-1].saved_on if first.baselines else TODAY))
    assert_same(first, again)


def _outline_order(p: Project) -> list[Any]:
    kids: dict[str, list[Any]] = {}
    for t in p.tasks:
        kids.setdefault(t.parent, []).append(t)
    out: list[Any] = []
    stack = list(reversed(kids.get("", [])))
    while stack:
        t = stack.pop()
        out.append(t)
        stack.extend(reversed(kids.get(t.id, [])))
    return out


def test_export_command_writes_a_file_the_import_reads(workspace: Path, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("PMO_TODAY", "2026-03-20")
    runner = CliRunner()
    r = runner.invoke(cli, ["import", "msproject", str(DATA / "clinic.xml"), "--code", "CLINIC"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "clinic-out.xml"
    r = runner.invoke(cli, ["export", "msproject", "CLINIC", "-o", str(out)])
    assert r.exit_code == 0, r.output
    back = parse_msproject(out.read_bytes(), today=TODAY)
    first = parse_msproject((DATA / "clinic.xml").read_bytes(), today=TODAY)
    assert_same(first, back)
    r = runner.invoke(cli, ["export", "msproject", "NOPE"])
    assert r.exit_code != 0 and "Traceback" not in r.output

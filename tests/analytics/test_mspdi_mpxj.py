"""Our MSPDI export read by an independent reader: the MPXJ library (the ``mpxj`` package, Java code in the
wheel, run on the machine's Java runtime). Tasks, links, lags, calendars, resources and baselines it
reads must equal ours. Nothing is downloaded: the package and ``default-jre-headless`` are installed by
the project's set-up."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lifecycle.domain.calendar import work_calendar
from lifecycle.domain.model import Project
from lifecycle.domain.task_calendars import resolve_calendar
from lifecycle.load.msproject import parse_msproject
from lifecycle.load.projectfile import load_project_file
from tests.analytics.test_mspdi_export import DATA, EXAMPLES, TODAY, as_project, export, small_file
from tests.analytics.test_msproject_calendars import calendars_file

mpxj = pytest.importorskip("mpxj", reason="the mpxj package is in the dev extras")
jpype = pytest.importorskip("jpype")

TYPES = {"FS": "FS", "SS": "SS", "FF": "FF", "SF": "SF"}  # RelationType prints its short name


@pytest.fixture(scope="module")
def reader() -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.fail("no Java runtime: scripts/setup.sh installs default-jre-headless")
    if not jpype.isJVMStarted():
        jpype.startJVM()
    from org.mpxj.reader import UniversalProjectReader

    yield UniversalProjectReader()


def _day(v: Any) -> date | None:
    return None if v is None else date.fromisoformat(str(v)[:10])


def _days(d: Any, minutes_per_day: float) -> float | None:
    """An MPXJ duration in working days of the project (it reads them in days or hours)."""
    if d is None:
        return None
    units = str(d.getUnits())
    n = float(d.getDuration())
    return {"d": n, "h": n * 60 / minutes_per_day, "m": n / minutes_per_day}[units]


def read(reader: Any, path: Path) -> dict[str, Any]:
    pf = reader.read(str(path))
    props = pf.getProjectProperties()
    mpd = float(props.getMinutesPerDay())
    tasks, links, baselines = {}, set(), {}
    for t in pf.getTasks():
        uid = int(t.getUniqueID())
        if uid == 0:
            continue
        tasks[f"T{uid}"] = (
            str(t.getName()),
            str(t.getWBS()),
            int(t.getOutlineLevel()),
            _day(t.getStart()),
            _day(t.getFinish()),
            bool(t.getMilestone()),
            _days(t.getDuration(), mpd),
        )
        for r in t.getPredecessors():
            lag = _days(r.getLag(), mpd) or 0.0
            links.add((f"T{int(r.getPredecessorTask().getUniqueID())}", f"T{uid}", TYPES[str(r.getType())], lag))
        for n in range(11):
            cost = t.getBaselineCost(n) if n else t.getBaselineCost()
            start = t.getBaselineStart(n) if n else t.getBaselineStart()
            if cost is None and start is None:
                continue
            finish = t.getBaselineFinish(n) if n else t.getBaselineFinish()
            dur = t.getBaselineDuration(n) if n else t.getBaselineDuration()
            baselines[(n, f"T{uid}")] = (
                _day(start),
                _day(finish),
                Decimal(str(float(cost or 0))).quantize(Decimal("0.01")),
                _days(dur, mpd),
            )
    from java.time import DayOfWeek

    cal = pf.getDefaultCalendar()
    working = tuple(sorted(int(d.getValue()) for d in DayOfWeek.values() if cal.isWorkingDay(d)))
    exceptions = {(_day(e.getFromDate()), bool(e.getWorking())) for e in cal.getCalendarExceptions()}
    resources = {}
    for r in pf.getResources():
        if r.getName() is None:
            continue
        rate = r.getStandardRate()
        resources[int(r.getUniqueID())] = (
            str(r.getName()),
            str(r.getType()),
            None if r.getMaxUnits() is None else float(r.getMaxUnits()) / 100,
            Decimal(str(float(rate.getAmount()))).quantize(Decimal("0.01")) if rate is not None else None,
        )
    return {
        "currency": str(props.getCurrencyCode()),
        "tasks": tasks,
        "links": links,
        "baselines": baselines,
        "calendar": (working, exceptions),
        "resources": resources,
    }


def ours(p: Project, minutes_per_week: float) -> dict[str, Any]:
    """The same figures from the project we exported, read back by our own reader."""
    d = parse_msproject(export(p), today=TODAY)
    cal = d.calendar
    nums = {b.id: (int(b.id[6:]) if b.id.startswith("MSP-BL") else None) for b in d.baselines}
    resources: dict[int, Any] = {}
    for x in d.people:
        units = round(x.capacity_hours_per_week * 60 / minutes_per_week, 4)
        resources[int(x.id[1:])] = (x.name, "WORK", units, x.rate)
    for m in d.materials:
        resources[int(m.id[1:])] = (m.name, "MATERIAL", None, m.unit_cost)
    return {
        "currency": d.currency,
        "tasks": {
            t.id: (
                t.name,
                t.wbs,
                t.wbs.count(".") + 1,
                t.start,
                t.finish,
                t.milestone,
                t.duration_days,
            )
            for t in d.tasks
        },
        "links": {(lk.predecessor, lk.successor, lk.type, lk.lag_days) for lk in d.links},
        "baselines": {
            (nums[b.id], bt.task): (bt.start, bt.finish, bt.cost, bt.duration_days)
            for b in d.baselines
            for bt in b.tasks
        },
        "calendar": (
            tuple(sorted(cal.working_weekdays)),
            {(h, False) for h in cal.holidays} | {(x, True) for x in cal.extra_workdays},
        ),
        "resources": resources,
    }


def _compare(theirs: dict[str, Any], mine: dict[str, Any]) -> None:
    # a summary's duration is derived on both sides; MPXJ reads the one we wrote, we leave it empty
    for tid, row in mine["tasks"].items():
        if row[6] is None:
            theirs["tasks"][tid] = (*theirs["tasks"][tid][:6], None)
    for key in ("currency", "tasks", "links", "baselines", "calendar", "resources"):
        assert theirs[key] == mine[key], key


@pytest.mark.parametrize("source", ["clinic.xml", "small", "en-clinic-portal.yaml", "zh-smart-factory.yaml"])
def test_mpxj_reads_what_we_wrote(reader: Any, tmp_path: Path, source: str) -> None:
    if source.endswith(".yaml"):
        p = load_project_file(EXAMPLES / source).project
    else:
        raw = (DATA / source).read_bytes() if source == "clinic.xml" else small_file()
        p = as_project(parse_msproject(raw, today=TODAY))
    f = tmp_path / "out.xml"
    f.write_bytes(export(p))
    mpw = p.calendar.hours_per_day * 60 * len(p.calendar.working_weekdays)
    theirs, mine = read(reader, f), ours(p, mpw)
    assert mine["tasks"] and mine["links"] and mine["calendar"][1] and theirs["tasks"]
    if source != "small":
        assert mine["resources"]
    if not source.endswith(".yaml"):
        assert mine["baselines"]
    _compare(theirs, mine)


def _working_dates(cal: Any, days: list[date]) -> tuple[date, ...]:
    from java.time import LocalDate

    return tuple(d for d in days if bool(cal.isWorkingDate(LocalDate.of(d.year, d.month, d.day))))


def test_mpxj_reads_our_resource_and_task_calendars_and_assignments(reader: Any, tmp_path: Path) -> None:
    p = as_project(parse_msproject(calendars_file(), today=TODAY))
    f = tmp_path / "calendars.xml"
    f.write_bytes(export(p))
    pf = reader.read(str(f))
    from java.time import LocalDate

    days = [date(2026, 3, 1) + timedelta(days=k) for k in range(61)]
    named = {c.id: c for c in p.calendar.resource_calendars}

    def mine(cid: str) -> tuple[date, ...]:
        c = resolve_calendar(p.calendar, named, cid) if cid else p.calendar
        w = work_calendar(c)
        return tuple(d for d in days if w.is_working(d))

    people = {x.name: x for x in p.people}
    got = {str(r.getName()): _working_dates(r.getCalendar(), days) for r in pf.getResources() if r.getName()}
    assert got == {name: mine(x.calendar) for name, x in people.items()}
    assert got["Ann"] != mine("") and got["Bob"] != mine("")  # the calendars really differ from the project's
    from org.mpxj import TimeUnit

    hours = {
        str(r.getName()): float(r.getCalendar().getWork(LocalDate.of(2026, 3, 2), TimeUnit.HOURS).getDuration())
        for r in pf.getResources()
        if r.getName()
    }
    assert hours == {"Ann": 8.0, "Bob": 8.0, "Carol": 4.0}
    tasks = {t.id: t for t in p.tasks}
    kinds = {"FIXED_UNITS": "fixed_units", "FIXED_DURATION": "fixed_duration", "FIXED_WORK": "fixed_work"}
    for t in pf.getTasks():
        uid = int(t.getUniqueID())
        if uid == 0:
            continue
        ours_ = tasks[f"T{uid}"]
        theirs_cal = t.getCalendar()
        assert (None if theirs_cal is None else _working_dates(theirs_cal, days)) == (
            mine(ours_.calendar) if ours_.calendar else None
        ), uid
        assert (kinds[str(t.getType())], bool(t.getEffortDriven()), bool(t.getIgnoreResourceCalendar())) == (
            ours_.task_type,
            ours_.effort_driven,
            ours_.ignore_resource_calendars,
        )
    theirs_a = {
        (
            f"T{int(a.getTask().getUniqueID())}",
            f"R{int(a.getResource().getUniqueID())}",
            float(a.getUnits()) / 100,
            _days(a.getWork(), float(pf.getProjectProperties().getMinutesPerDay())) * 8,  # type: ignore[operator]
        )
        for a in pf.getResourceAssignments()
        if a.getResource() is not None
    }
    assert theirs_a == {(a.task, a.person, a.units, a.hours) for a in p.assignments}
    assert len(theirs_a) == 5

"""Microsoft Project XML (MSPDI) import: content, units, hostile files, and the import service.

``data/clinic.xml`` is written by hand from the published schema. Its plan, worked out by hand on a
Monday-Friday calendar with 2026-04-06 off and Saturday 2026-04-11 worked (index 0 = Mon 2 March):

  T2 Requirements   done 2 - 6 March (actuals)                       ES 0   EF 5
  T3 Architecture   FS after T2, started 9 March, 3 d                ES 5   EF 8   (9 - 11 March)
  T5 Backend        FS+2 d after T3 (LinkLag 9600), 20 d             ES 10  EF 30  (16 March - Sat 11 April)
  T6 Frontend       SS+3 d after T5 (LinkLag 14400), 8 d             ES 13  EF 21  (19 - 30 March)
  T7 Integration    FF+2 d after T5, FS-1 d after T6, 4 d            ES 28  EF 32  (10 - 14 April)
  T8 Training       SF after T7, FS+7 elapsed days (= 5 working) after T3, SNET 16 March, 2 d
                                                                     ES 26  EF 28  (8 - 9 April)
  T9 Go-live        milestone, FS after T7, FF after T8              at boundary 32: Tue 14 April
Backward pass from 32: T9 LS 32, T7 28, T8 30 (TS 4), T6 21 (TS 8), T5 10, T3 5, T2 0.
Critical path (T2 is done): T3, T5, T7, T9.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from lifecycle.domain.evm import earned_value
from lifecycle.domain.schedule import compute_schedule
from lifecycle.errors import InvalidInput, SpecError
from lifecycle.load.msproject import parse_msproject, read_msproject
from lifecycle.services import analytics
from lifecycle.services.context import Context
from lifecycle.storage.memory import MemoryStore
from lifecycle.workspace import Settings, Workspace

DATA = Path(__file__).parent / "data"
CLINIC = DATA / "clinic.xml"
D = date


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return Context(
        Workspace(tmp_path, Settings()), MemoryStore(), clock=lambda: datetime(2026, 3, 20, 9, tzinfo=timezone.utc)
    )


def test_tasks_hierarchy_and_units() -> None:
    d = read_msproject(CLINIC, today=D(2026, 3, 20))
    tasks = {t.id: t for t in d.tasks}
    assert list(tasks) == ["T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9"]  # UID 0 (project summary) left out
    assert (tasks["T2"].parent, tasks["T3"].parent, tasks["T5"].parent, tasks["T8"].parent) == ("T1", "T1", "T4", "")
    assert tasks["T3"].wbs == "1.2" and tasks["T1"].wbs == "1"
    assert tasks["T1"].duration_days is None  # a summary's duration is derived
    assert tasks["T5"].duration_days == 20.0  # PT160H0M0S at 480 minutes a day
    assert tasks["T5"].effort_hours == 160.0
    assert tasks["T9"].milestone and tasks["T9"].duration_days == 0
    assert tasks["T2"].status == "done" and tasks["T2"].actual_finish == D(2026, 3, 6)
    assert tasks["T3"].status == "in_progress" and tasks["T3"].percent_complete == 50
    assert tasks["T8"].constraint == "start_no_earlier_than" and tasks["T8"].constraint_date == D(2026, 3, 16)
    assert "Deadline: 2026-04-15" in tasks["T9"].notes
    assert tasks["T5"].owner == "R1" and tasks["T3"].owner == "R2"
    assert d.name == "Clinic portal rollout" and d.company == "Harbour Clinics" and d.currency == "CNY"
    assert d.start == D(2026, 3, 2) and d.status_date == D(2026, 3, 20)


def test_links_types_and_lag_units() -> None:
    d = read_msproject(CLINIC, today=D(2026, 3, 20))
    links = {(lk.predecessor, lk.successor): (lk.type, lk.lag_days) for lk in d.links}
    assert links == {
        ("T2", "T3"): ("FS", 0.0),
        ("T3", "T5"): ("FS", 2.0),  # LinkLag 9600 tenths of a minute = 960 min = 2 days of 480 min
        ("T5", "T6"): ("SS", 3.0),  # Type 3
        ("T5", "T7"): ("FF", 2.0),  # Type 0
        ("T6", "T7"): ("FS", -1.0),  # a lead
        ("T7", "T8"): ("SF", 0.0),  # Type 2
        ("T3", "T8"): ("FS", 5.0),  # 7 elapsed days (LagFormat 8) = 5 working days
        ("T7", "T9"): ("FS", 0.0),  # no Type: finish-to-start
        ("T8", "T9"): ("FF", 0.0),
    }


def test_calendar_resources_assignments_costs_baselines() -> None:
    d = read_msproject(CLINIC, today=D(2026, 3, 20))
    assert d.calendar.working_weekdays == (1, 2, 3, 4, 5)
    assert d.calendar.holidays == (D(2026, 4, 6),)
    assert d.calendar.extra_workdays == (D(2026, 4, 11),)
    assert d.calendar.hours_per_day == 8.0
    people = {p.id: p for p in d.people}
    assert set(people) == {"R1", "R2"}  # the unnamed placeholder resource 0 is skipped
    assert people["R1"].rate == Decimal("50.00") and people["R1"].capacity_hours_per_week == 40.0
    assert people["R2"].capacity_hours_per_week == 20.0 and people["R1"].role == "developer"
    assert [(m.id, m.task, m.needed_by, m.unit_cost) for m in d.materials] == [
        ("M3", "T7", D(2026, 4, 10), Decimal("12000.00"))
    ]
    assert {(a.person, a.task, a.units, a.hours) for a in d.assignments} == {
        ("R1", "T5", 1.0, 160.0),
        ("R1", "T6", 1.0, 64.0),
        ("R2", "T3", 0.5, 12.0),
    }
    budget = {b.task: b.amount for b in d.budget}
    assert budget == {"T2": 4000, "T3": 2400, "T5": 8000, "T6": 3200, "T7": 6400, "T8": 2400}
    assert {(c.task, c.amount, c.date) for c in d.costs} == {
        ("T2", Decimal("4200.00"), D(2026, 3, 6)),
        ("T3", Decimal("1300.00"), D(2026, 3, 20)),
    }
    assert [b.id for b in d.baselines] == ["MSP-BL1", "MSP-BL0"]  # baseline 0 last: the one measured against
    bl0 = d.baselines[-1]
    assert bl0.budget == Decimal("26400.00") and bl0.finish == D(2026, 4, 10)
    assert {bt.task: bt.finish for bt in bl0.tasks}["T7"] == D(2026, 4, 9)


def test_import_report_lists_what_was_not_understood() -> None:
    rep = read_msproject(CLINIC, today=D(2026, 3, 20)).report
    assert set(rep.not_understood) == {"Project/ProjectMood", "Tasks/Task/Frobnicate"}
    assert rep.not_understood["Tasks/Task/Frobnicate"][1] == 126  # its line
    assert "Tasks/Task/EarlyStart" in rep.ignored and "Tasks/Task/ExtendedAttribute" in rep.ignored
    assert any("unknown task UID 42" in s for s in rep.skipped)
    assert any("elapsed lag of 7 calendar days" in s for s in rep.approximations)
    assert rep.counts["tasks"] == 9 and rep.counts["links"] == 9 and rep.counts["calendar exceptions"] == 2
    text = "\n".join(rep.lines())
    assert "not understood" in text and "Frobnicate" in text


def test_imported_plan_schedules_as_worked_out_by_hand() -> None:
    d = read_msproject(CLINIC, today=D(2026, 3, 20))
    from tests.analytics.helpers import project

    p = project(d.tasks, d.links, calendar=d.calendar, start=d.start)
    s = compute_schedule(p)
    expect = {
        "T2": (D(2026, 3, 2), D(2026, 3, 6), 0),
        "T3": (D(2026, 3, 9), D(2026, 3, 11), 0),
        "T5": (D(2026, 3, 16), D(2026, 4, 11), 0),
        "T6": (D(2026, 3, 19), D(2026, 3, 30), 8),
        "T7": (D(2026, 4, 10), D(2026, 4, 14), 0),
        "T8": (D(2026, 4, 8), D(2026, 4, 9), 4),
        "T9": (D(2026, 4, 14), D(2026, 4, 14), 0),
    }
    for tid, (es, ef, ts) in expect.items():
        t = s.timing(tid)
        assert (t.early_start, t.early_finish, t.total_slack) == (es, ef, ts), tid
    assert s.critical_path == ["T3", "T5", "T7", "T9"]
    assert s.project_finish == D(2026, 4, 14)  # the file's own FinishDate
    assert s.dates("T1")[:2] == (D(2026, 3, 2), D(2026, 3, 11)) and s.is_critical("T4")


def test_recurring_and_old_style_exceptions_and_percent_lags() -> None:
    xml = b"""<?xml version="1.0"?>
<Project xmlns="http://schemas.microsoft.com/project"><Title>t</Title><MinutesPerDay>420</MinutesPerDay>
 <CalendarUID>3</CalendarUID>
 <Calendars>
  <Calendar><UID>3</UID><Name>Six days</Name><IsBaseCalendar>1</IsBaseCalendar>
   <WeekDays>
    <WeekDay><DayType>7</DayType><DayWorking>1</DayWorking></WeekDay>
    <WeekDay><DayType>0</DayType><DayWorking>0</DayWorking>
      <TimePeriod><FromDate>2026-05-01T00:00:00</FromDate><ToDate>2026-05-03T23:59:00</ToDate></TimePeriod></WeekDay>
   </WeekDays>
   <Exceptions>
    <Exception><TimePeriod><FromDate>2026-12-25T00:00:00</FromDate><ToDate>2028-12-25T23:59:00</ToDate></TimePeriod>
      <Name>Christmas</Name><Type>2</Type><Month>11</Month><MonthDay>25</MonthDay><DayWorking>0</DayWorking></Exception>
    <Exception><TimePeriod><FromDate>2026-06-01T00:00:00</FromDate><ToDate>2026-06-30T23:59:00</ToDate></TimePeriod>
      <Name>Tuesdays off</Name><Type>6</Type><Period>1</Period><DaysOfWeek>4</DaysOfWeek>
      <DayWorking>0</DayWorking></Exception>
   </Exceptions>
  </Calendar>
 </Calendars>
 <Tasks>
  <Task><UID>1</UID><Name>A</Name><OutlineLevel>1</OutlineLevel><Duration>PT70H0M0S</Duration></Task>
  <Task><UID>2</UID><Name>B</Name><OutlineLevel>1</OutlineLevel><Duration>PT3H30M0S</Duration>
   <PredecessorLink><PredecessorUID>1</PredecessorUID><Type>1</Type><LinkLag>500</LinkLag><LagFormat>19</LagFormat></PredecessorLink>
   <PredecessorLink><PredecessorUID>9</PredecessorUID><CrossProject>1</CrossProject><CrossProjectName>other.mpp</CrossProjectName></PredecessorLink>
  </Task>
 </Tasks>
</Project>"""
    d = parse_msproject(xml, "inline.xml", today=D(2026, 1, 5))
    assert d.calendar.working_weekdays == (1, 2, 3, 4, 5, 6)  # Saturday made working
    hol = set(d.calendar.holidays)
    assert {D(2026, 12, 25), D(2027, 12, 25), D(2028, 12, 25)} <= hol
    assert {D(2026, 5, 1), D(2026, 5, 2), D(2026, 5, 3)} <= hol
    assert {D(2026, 6, 2), D(2026, 6, 9), D(2026, 6, 16), D(2026, 6, 23), D(2026, 6, 30)} <= hol
    assert D(2026, 6, 3) not in hol
    tasks = {t.id: t for t in d.tasks}
    assert tasks["T1"].duration_days == 10.0  # 70 h at 420 minutes a day
    assert tasks["T2"].duration_days == 0.5
    (link,) = d.links
    assert link.lag_days == 5.0  # LinkLag 500 read as tenths of a percent: 50 % of A's 10 days
    assert any("tenths of a percent" in a for a in d.report.approximations)
    assert any("another project" in s for s in d.report.skipped)
    assert d.calendar.hours_per_day == 7.0


# ------------------------------------------------------------------------------------------------ hostile files
@pytest.mark.parametrize("name", ["billion_laughs.xml", "xxe_passwd.xml", "external_dtd.xml"])
def test_hostile_xml_is_refused(name: str) -> None:
    with pytest.raises(SpecError) as err:
        read_msproject(DATA / name)
    text = str(err.value)
    assert "refused" in text and "DTD" in text
    assert "root:" not in text and "lollol" not in text
    assert err.value.problems[0].file.endswith(name)


def test_malformed_xml_names_its_line() -> None:
    with pytest.raises(SpecError) as err:
        read_msproject(DATA / "malformed.xml")
    p = err.value.problems[0]
    assert p.line == 7 and "not well-formed" in p.message


def test_not_a_project_file_and_bad_values() -> None:
    with pytest.raises(SpecError, match="root element is <Workbook>"):
        parse_msproject(b"<Workbook/>", "x.xml")
    xml = b"""<Project><Tasks>
<Task><UID>1</UID><Name>A</Name><OutlineLevel>1</OutlineLevel><Duration>eight hours</Duration></Task>
<Task><UID>2</UID><Name>B</Name><Start>yesterday</Start>
  <PredecessorLink><PredecessorUID>1</PredecessorUID><Type>7</Type></PredecessorLink></Task>
</Tasks></Project>"""
    with pytest.raises(SpecError) as err:
        parse_msproject(xml, "bad.xml")
    probs = {(p.line, p.path): p.message for p in err.value.problems}
    assert "duration like PT16H0M0S" in probs[(2, "Tasks/Task[UID=1]/Duration")]
    assert "date and time" in probs[(3, "Tasks/Task[UID=2]/Start")]
    assert "link type 7" in probs[(4, "Tasks/Task[T2]/PredecessorLink/Type")]
    with pytest.raises(SpecError, match="file not found"):
        read_msproject(DATA / "missing.xml")


# ------------------------------------------------------------------------------------------------ the service
def test_import_creates_a_project(ctx: Context) -> None:
    rep = analytics.import_msproject(ctx, CLINIC)
    assert rep.created and rep.code == "CLINIC-PORTAL-ROLLOUT"
    p = ctx.store.get(rep.code)
    assert p.charter.name == "Clinic portal rollout" and p.charter.client.name == "Harbour Clinics"
    assert p.charter.approved_budget == Decimal("26400.00") and p.phase
    assert len(p.tasks) == 9 and len(p.baselines) == 2
    ev = earned_value(p, D(2026, 3, 20), schedule=compute_schedule(p))
    assert ev.baseline == "MSP-BL0"
    # PV at 20 March against baseline 0: T2 4,000 + T3 2,400 + T5 8,000 x 5/19 + T6 3,200 x 2/8
    assert ev.project.pv == pytest.approx(4000 + 2400 + 8000 * 5 / 19 + 800)
    assert ev.project.ev == pytest.approx(5200) and ev.project.ac == pytest.approx(5500)
    (event,) = ctx.store.audit(rep.code)
    assert event.action == "project.imported" and event.data["counts"]["tasks"] == 9


def test_import_into_an_existing_project(ctx: Context) -> None:
    from tests.factory import small_project

    ctx.store.save(small_project("DEMO-1"), expected_version=None)
    with pytest.raises(InvalidInput, match="already exists"):  # a title naming an existing project, no --code
        analytics.import_msproject(ctx, _copy_titled(ctx, "DEMO-1"))
    rep = analytics.import_msproject(ctx, CLINIC, "DEMO-1")
    assert not rep.created
    p = ctx.store.get("DEMO-1")
    assert {t.id for t in p.tasks} == {f"T{i}" for i in range(1, 10)}
    assert {b.id for b in p.budget} >= {"B1", "B2", "MSP-B-T5"}  # the project's own lines are kept
    assert p.charter.name == "Warehouse scanning rollout"  # the charter is kept
    assert {x.id for x in p.people} >= {"p-pm", "p-dev", "R1", "R2"}
    # importing again replaces what the first import brought instead of doubling it
    analytics.import_msproject(ctx, CLINIC, "DEMO-1")
    p2 = ctx.store.get("DEMO-1")
    assert len(p2.budget) == len(p.budget) and len(p2.baselines) == len(p.baselines)


def _copy_titled(ctx: Context, title: str) -> Path:
    path = Path(ctx.workspace.root) / "titled.xml"
    path.write_text(
        CLINIC.read_text(encoding="utf-8").replace("<Title>Clinic portal rollout</Title>", f"<Title>{title}</Title>"),
        encoding="utf-8",
    )
    return path


def test_a_cycle_in_the_file_is_refused_naming_the_tasks(ctx: Context) -> None:
    with pytest.raises(SpecError) as err:
        analytics.import_msproject(ctx, DATA / "cycle.xml")
    assert "cycle" in str(err.value) and "T1" in str(err.value) and "T3" in str(err.value)
    assert ctx.store.list_projects() == []


def test_hostile_file_writes_nothing(ctx: Context) -> None:
    with pytest.raises(SpecError):
        analytics.import_msproject(ctx, DATA / "xxe_passwd.xml")
    assert ctx.store.list_projects() == []


def test_manually_scheduled_task_keeps_its_start() -> None:
    xml = b"""<Project><StartDate>2026-03-02T08:00:00</StartDate><Tasks>
<Task><UID>1</UID><Name>A</Name><OutlineLevel>1</OutlineLevel><Duration>PT16H0M0S</Duration></Task>
<Task><UID>2</UID><Name>B</Name><OutlineLevel>1</OutlineLevel><Duration>PT8H0M0S</Duration><Manual>1</Manual>
  <Start>2026-03-09T08:00:00</Start><Finish>2026-03-09T17:00:00</Finish>
  <PredecessorLink><PredecessorUID>1</PredecessorUID></PredecessorLink></Task>
</Tasks></Project>"""
    d = parse_msproject(xml, "manual.xml")
    b = {t.id: t for t in d.tasks}["T2"]
    assert (b.constraint, b.constraint_date) == ("start_no_earlier_than", D(2026, 3, 9))
    assert any("manually scheduled" in a for a in d.report.approximations)

"""Export of a project as Microsoft Project XML (MSPDI), the file Microsoft Project and ProjectLibre open.

:func:`write_mspdi` is the inverse of :mod:`lifecycle.load.msproject`: reading its output back gives the
same tasks, links, calendar, resources, assignments, costs and baselines (import -> export -> import
changes nothing). What it writes, in the element order of the format's schema:

* ``Project``: name, title, company (the client), start and finish, status date (the latest cost entry),
  currency code and symbol, minutes per day and week from the calendar, the project calendar's UID.
* ``Calendars``: the project calendar (UID 1, a base calendar), its working days with working times
  (08:00-12:00 and 13:00 onwards for the hours of the day), holidays as non-working exceptions and
  make-up days as working ones; each resource calendar (``C<n>`` keeps UID ``n``) deriving from the
  project calendar or from another one (``BaseCalendarUID``) with its own working week and days, or a
  base calendar of its own when it inherits nothing; and one calendar per person, deriving from the
  calendar the person works on (the format gives every resource its own calendar).
* ``Tasks``: the project summary task (UID 0, with the baselines' totals), then every task in outline
  order: a task id ``T<n>`` keeps UID ``n`` (so a re-export of an import keeps its UIDs), other ids get
  the next free numbers. WBS, outline number and level, start and finish (the critical path method's
  early dates where the plan has none), duration and work in ``PT#H#M#S``, milestone, summary, percent
  complete, actual dates, constraint, notes, cost (the budget allocated to the task) and actual cost (its
  cost entries) in hundredths, predecessor links with their type and lag in tenths of a minute
  (``LagFormat`` 7, days), baselines (``MSP-BL<n>`` keeps number ``n``; others are numbered with the
  latest as 0, the one earned value uses), a three-point estimate's optimistic and pessimistic durations
  (custom fields Duration1 and Duration3, aliased as the tool's PERT analysis does), ``Active`` 0
  for a cancelled task, the task type, effort-driven flag, task calendar and "ignore resource calendars".
* ``Resources``: people as work resources (``R<n>`` keeps UID ``n``; ``MaxUnits`` from the capacity,
  standard rate per hour), materials as material resources (label, unit cost).
* ``Assignments``: people's units and work; a material's quantity on the task that needs it.

Not written (the format has no place for them, or they are not plan data): budget lines allocated to no
task, cost categories, owners of tasks nobody is assigned to, the ``blocked`` status, people's skills.
Pure: standard library only; the caller passes the schedule's dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from lifecycle.domain.model import Baseline, Project, Task
from lifecycle.domain.task_calendars import resolve_calendar

NS = "http://schemas.microsoft.com/project"
# the custom duration fields a three-point estimate is written to, as the tool's PERT analysis uses them
PERT_FIELDS = (("188743783", "Duration1", "Optimistic Duration"), ("188743785", "Duration3", "Pessimistic Duration"))
LINK_TYPE_CODE = {"FF": 0, "FS": 1, "SF": 2, "SS": 3}
_SYMBOL = {"GBP": "£", "EUR": "€", "USD": "$", "CNY": "¥", "JPY": "¥", "INR": "₹"}
_TASK_TYPE_CODE = {"fixed_units": 0, "fixed_duration": 1, "fixed_work": 2}
_ISO_DAYTYPE = {7: 1, 1: 2, 2: 3, 3: 4, 4: 5, 5: 6, 6: 7}  # ISO weekday -> the format's DayType (1 = Sunday)
_NUMBERED = re.compile(r"^[TRM](\d{1,9})$")
_BASELINE_NUMBER = re.compile(r"^MSP-BL(\d{1,2})$")


@dataclass(frozen=True)
class Dates:
    """Start and finish to write for a task without planned dates (the schedule's early dates), and
    a summary's rolled-up duration in working days."""

    start: date
    finish: date
    days: int


def write_mspdi(project: Project, scheduled: Mapping[str, Dates], *, saved: date) -> bytes:
    """The project as MSPDI bytes (UTF-8, with an XML declaration); ``saved`` is the file's save date."""
    w = _Writer(project, scheduled, saved)
    root = w.build()
    indent(root, space=" ")
    body: bytes = tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + body + b"\n"


def _uids(ids: Iterable[str], start: int = 1) -> dict[str, int]:
    """A number per id: ``X<n>`` keeps ``n`` when no other id took it, the rest get the next free ones."""
    ids = list(ids)
    out: dict[str, int] = {}
    used: set[int] = set()
    for i in ids:
        m = _NUMBERED.match(i)
        if m and int(m.group(1)) >= start and int(m.group(1)) not in used:
            out[i] = int(m.group(1))
            used.add(out[i])
    nxt = max(used, default=start - 1) + 1
    for i in ids:
        if i not in out:
            out[i] = nxt
            used.add(nxt)
            nxt += 1
    return out


def _text(parent: Element, name: str, value: object) -> Element:
    el = SubElement(parent, name)
    el.text = str(value)
    return el


def _hours(h: float) -> str:
    secs = round(h * 3600)
    sign = "-" if secs < 0 else ""
    secs = abs(secs)
    return f"{sign}PT{secs // 3600}H{secs % 3600 // 60}M{secs % 60}S"


def _cents(amount: Decimal) -> str:
    return f"{(amount * 100).quantize(Decimal('1'))}"


def _num(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".") or "0"


def _clock(hours: float) -> str:
    m = round(hours * 60)
    return f"{m // 60:02d}:{m % 60:02d}:00"


def _working_times(parent: Element, hours_per_day: float) -> None:
    """08:00 to noon and 13:00 on for the hours of the day (all from 08:00 when it is half a day or less)."""
    wts = SubElement(parent, "WorkingTimes")
    spans = [(8.0, 8.0 + hours_per_day)] if hours_per_day <= 4 else [(8.0, 12.0), (13.0, 9.0 + hours_per_day)]
    for a, b in spans:
        wt = SubElement(wts, "WorkingTime")
        _text(wt, "FromTime", _clock(a))
        _text(wt, "ToTime", _clock(min(b, 24.0)) if b < 24 else "00:00:00")


class _Writer:
    def __init__(self, project: Project, scheduled: Mapping[str, Dates], saved: date):
        self.p = project
        self.cal = project.calendar
        self.scheduled = scheduled
        self.saved = saved
        self.mpd = round(self.cal.hours_per_day * 60)
        self.task_uid = _uids(t.id for t in project.tasks)
        self.res_uid = _uids([x.id for x in project.people] + [m.id for m in project.materials])
        self.finish_clock = _clock(8.0 + self.cal.hours_per_day + (1 if self.cal.hours_per_day > 4 else 0))
        self.baseline_no = self._baseline_numbers(project.baselines)
        self.cal_uid = _uids((c.id for c in self.cal.resource_calendars), start=2)
        first = max(self.cal_uid.values(), default=1) + 1
        self.person_cal = {x.id: first + k for k, x in enumerate(project.people)}

    # ------------------------------------------------------------------ project
    def build(self) -> Element:
        p, ch = self.p, self.p.charter
        root = Element("Project", {"xmlns": NS})
        _text(root, "SaveVersion", 14)
        _text(root, "Name", f"{ch.code}.xml")
        _text(root, "Title", ch.name)
        _text(root, "Company", ch.client.name)
        _text(root, "LastSaved", f"{self.saved.isoformat()}T00:00:00")
        _text(root, "ScheduleFromStart", 1)
        if ch.start:
            _text(root, "StartDate", f"{ch.start.isoformat()}T08:00:00")
        if ch.finish:
            _text(root, "FinishDate", f"{ch.finish.isoformat()}T{self.finish_clock}")
        _text(root, "CurrencyDigits", 2)
        if ch.currency in _SYMBOL:
            _text(root, "CurrencySymbol", _SYMBOL[ch.currency])
        _text(root, "CurrencyCode", ch.currency)
        _text(root, "CalendarUID", 1)
        _text(root, "DefaultStartTime", "08:00:00")
        _text(root, "DefaultFinishTime", self.finish_clock)
        _text(root, "MinutesPerDay", self.mpd)
        _text(root, "MinutesPerWeek", self.mpd * len(self.cal.working_weekdays))
        status = max((c.date for c in p.costs if c.task), default=None)
        if status is not None:
            _text(root, "StatusDate", f"{status.isoformat()}T{self.finish_clock}")
        if any(t.optimistic_days is not None or t.pessimistic_days is not None for t in p.tasks):
            eas = SubElement(root, "ExtendedAttributes")
            for fid, name, alias in PERT_FIELDS:
                ea = SubElement(eas, "ExtendedAttribute")
                _text(ea, "FieldID", fid)
                _text(ea, "FieldName", name)
                _text(ea, "Alias", alias)
        self._calendars(SubElement(root, "Calendars"))
        self._tasks(SubElement(root, "Tasks"))
        self._resources(SubElement(root, "Resources"))
        self._assignments(SubElement(root, "Assignments"))
        return root

    def _calendars(self, parent: Element) -> None:
        """The project calendar (UID 1), the resource calendars, and one calendar per person deriving
        from the one the person works on (the format gives every resource a calendar of its own)."""
        cal = self.cal
        marked = [(d, False) for d in cal.effective_holidays()] + [(d, True) for d in cal.effective_workdays()]
        self._calendar(parent, (1, "Standard", -1), cal.working_weekdays, marked, cal.hours_per_day)
        named = {c.id: c for c in cal.resource_calendars}
        for rc in cal.resource_calendars:
            base = -1 if not rc.base else (1 if rc.base == "project" else self.cal_uid.get(rc.base, 1))
            week = rc.working_weekdays or (() if base != -1 else (1, 2, 3, 4, 5))
            full = resolve_calendar(cal, named, rc.id)
            if rc.hours_per_day and not week:  # its own hours: every working day of the week states them
                week = full.working_weekdays
            own = [(d, False) for d in rc.holidays if d not in rc.extra_workdays]
            own += [(d, True) for d in rc.extra_workdays]
            self._calendar(parent, (self.cal_uid[rc.id], rc.name or rc.id, base), week, own, full.hours_per_day)
        for x in self.p.people:
            base = self.cal_uid.get(x.calendar, 1) if x.calendar else 1
            self._calendar(parent, (self.person_cal[x.id], x.name, base), (), [], cal.hours_per_day)

    def _calendar(
        self,
        parent: Element,
        head: tuple[int, str, int],
        week: tuple[int, ...],
        marked: list[tuple[date, bool]],
        hpd: float,
    ) -> None:
        """One calendar (``head``: UID, name, base UID): a base calendar (base -1) states every day of the
        week; a derived one only when it works differently from its base (``week`` empty: it does not)."""
        uid, name, base = head
        c = SubElement(parent, "Calendar")
        _text(c, "UID", uid)
        _text(c, "Name", name)
        _text(c, "IsBaseCalendar", int(base == -1))
        _text(c, "IsBaselineCalendar", 0)
        _text(c, "BaseCalendarUID", base)
        if week:
            wds = SubElement(c, "WeekDays")
            for iso in (7, 1, 2, 3, 4, 5, 6):
                wd = SubElement(wds, "WeekDay")
                _text(wd, "DayType", _ISO_DAYTYPE[iso])
                working = iso in week
                _text(wd, "DayWorking", int(working))
                if working:
                    _working_times(wd, hpd)
        if not marked:
            return
        exs = SubElement(c, "Exceptions")
        for d, working in sorted(marked):
            ex = SubElement(exs, "Exception")
            _text(ex, "EnteredByOccurrences", 0)
            tp = SubElement(ex, "TimePeriod")
            _text(tp, "FromDate", f"{d.isoformat()}T00:00:00")
            _text(tp, "ToDate", f"{d.isoformat()}T23:59:00")
            _text(ex, "Occurrences", 1)
            _text(ex, "Name", "Working day" if working else "Holiday")
            _text(ex, "Type", 1)
            _text(ex, "DayWorking", int(working))
            if working:
                _working_times(ex, hpd)

    # ------------------------------------------------------------------ tasks
    def _outline(self) -> list[tuple[Task, int, str]]:
        """Tasks in outline order with their level and outline number (each summary before its children)."""
        ids = {t.id for t in self.p.tasks}
        kids: dict[str, list[Task]] = {}
        for t in self.p.tasks:
            kids.setdefault(t.parent if t.parent in ids and t.parent != t.id else "", []).append(t)
        out: list[tuple[Task, int, str]] = []
        stack: list[tuple[Task, int, str]] = [
            (t, 1, str(k + 1)) for k, t in reversed(list(enumerate(kids.get("", []))))
        ]
        seen: set[str] = set()
        while stack:
            t, level, number = stack.pop()
            if t.id in seen:
                continue
            seen.add(t.id)
            out.append((t, level, number))
            stack.extend((c, level + 1, f"{number}.{k + 1}") for k, c in reversed(list(enumerate(kids.get(t.id, [])))))
        return out

    def _tasks(self, parent: Element) -> None:
        t0 = SubElement(parent, "Task")
        _text(t0, "UID", 0)
        _text(t0, "ID", 0)
        _text(t0, "Name", self.p.charter.name)
        _text(t0, "OutlineNumber", 0)
        _text(t0, "OutlineLevel", 0)
        _text(t0, "Summary", 1)
        for b in self.p.baselines:
            if b.id not in self.baseline_no:
                continue
            bl = SubElement(t0, "Baseline")
            _text(bl, "Number", self.baseline_no[b.id])
            if b.finish:
                _text(bl, "Finish", f"{b.finish.isoformat()}T{self.finish_clock}")
            _text(bl, "Cost", _cents(b.budget))
        summaries = {t.parent for t in self.p.tasks if t.parent}
        budget: dict[str, Decimal] = {}
        for line in self.p.budget:
            if line.task:
                budget[line.task] = budget.get(line.task, Decimal("0")) + line.amount
        actual: dict[str, Decimal] = {}
        for c in self.p.costs:
            if c.task:
                actual[c.task] = actual.get(c.task, Decimal("0")) + c.amount
        preds: dict[str, list[tuple[str, str, float]]] = {}
        for lk in self.p.links:
            if lk.predecessor in self.task_uid and lk.successor in self.task_uid:
                preds.setdefault(lk.successor, []).append((lk.predecessor, lk.type, lk.lag_days))
        for k, (t, level, number) in enumerate(self._outline(), start=1):
            el = SubElement(parent, "Task")
            self._task(el, t, k, level, number, t.id in summaries)
            if t.id not in summaries:
                self._task_money(el, t, budget.get(t.id), actual.get(t.id))
            self._task_tail(el, t, preds.get(t.id, []))

    def _task(self, el: Element, t: Task, k: int, level: int, number: str, summary: bool) -> None:
        _text(el, "UID", self.task_uid[t.id])
        _text(el, "ID", k)
        _text(el, "Name", t.name)
        _text(el, "Type", _TASK_TYPE_CODE[t.task_type])
        _text(el, "WBS", t.wbs or number)
        _text(el, "OutlineNumber", number)
        _text(el, "OutlineLevel", level)
        sched = self.scheduled.get(t.id)
        start = t.start or (sched.start if sched else None)
        finish = t.finish or (sched.finish if sched else None)
        if start:
            _text(el, "Start", f"{start.isoformat()}T08:00:00")
        if finish:
            _text(el, "Finish", f"{finish.isoformat()}T{self.finish_clock}")
        days = t.duration_days
        if summary or days is None:
            days = float(sched.days) if sched else None
        if t.milestone:
            days = 0.0
        if days is not None:
            _text(el, "Duration", _hours(days * self.cal.hours_per_day))
            _text(el, "DurationFormat", 7)
        _text(el, "Work", _hours(t.effort_hours))
        _text(el, "EffortDriven", int(t.effort_driven))
        _text(el, "Milestone", int(t.milestone))
        _text(el, "Summary", int(summary))
        pct = 100.0 if t.status == "done" else t.percent_complete
        _text(el, "PercentComplete", _num(pct))

    def _task_money(self, el: Element, t: Task, budget: Decimal | None, actual: Decimal | None) -> None:
        _text(el, "Cost", _cents(budget or Decimal("0")))
        if t.actual_start:
            _text(el, "ActualStart", f"{t.actual_start.isoformat()}T08:00:00")
        if t.actual_finish:
            _text(el, "ActualFinish", f"{t.actual_finish.isoformat()}T{self.finish_clock}")
        if actual:
            _text(el, "ActualCost", _cents(actual))

    def _task_tail(self, el: Element, t: Task, preds: list[tuple[str, str, float]]) -> None:
        code = {"start_no_earlier_than": 4, "finish_no_later_than": 7}.get(t.constraint, 0)
        _text(el, "ConstraintType", code if t.constraint_date else 0)
        _text(el, "CalendarUID", self.cal_uid.get(t.calendar, -1) if t.calendar else -1)
        if code and t.constraint_date:
            clock = "08:00:00" if code == 4 else self.finish_clock
            _text(el, "ConstraintDate", f"{t.constraint_date.isoformat()}T{clock}")
        _text(el, "IgnoreResourceCalendar", int(t.ignore_resource_calendars))
        if t.notes:
            _text(el, "Notes", t.notes)
        for pred, typ, lag in preds:
            pl = SubElement(el, "PredecessorLink")
            _text(pl, "PredecessorUID", self.task_uid[pred])
            _text(pl, "Type", LINK_TYPE_CODE.get(typ, 1))
            _text(pl, "CrossProject", 0)
            _text(pl, "LinkLag", round(lag * self.mpd * 10))
            _text(pl, "LagFormat", 7)
        for (fid, _, _), days in zip(PERT_FIELDS, (t.optimistic_days, t.pessimistic_days), strict=True):
            if days is not None:
                ea = SubElement(el, "ExtendedAttribute")
                _text(ea, "FieldID", fid)
                _text(ea, "Value", _hours(days * self.cal.hours_per_day))
        for b in self.p.baselines:
            bt = next((x for x in b.tasks if x.task == t.id), None)
            if bt is None or b.id not in self.baseline_no:
                continue
            bl = SubElement(el, "Baseline")
            _text(bl, "Number", self.baseline_no[b.id])
            if bt.start:
                _text(bl, "Start", f"{bt.start.isoformat()}T08:00:00")
            if bt.finish:
                _text(bl, "Finish", f"{bt.finish.isoformat()}T{self.finish_clock}")
            if bt.duration_days is not None:
                _text(bl, "Duration", _hours(bt.duration_days * self.cal.hours_per_day))
                _text(bl, "DurationFormat", 7)
            _text(bl, "Work", _hours(bt.effort_hours))
            _text(bl, "Cost", _cents(bt.cost))
        if t.status == "cancelled":
            _text(el, "Active", 0)

    @staticmethod
    def _baseline_numbers(baselines: tuple[Baseline, ...]) -> dict[str, int]:
        """``MSP-BL<n>`` keeps ``n``; of the others the latest takes 0 (the one earned value uses) when it
        is free, the earlier ones the free numbers 1-10, newest first (the format holds eleven)."""
        out: dict[str, int] = {}
        for b in baselines:
            m = _BASELINE_NUMBER.match(b.id)
            if m and int(m.group(1)) <= 10 and int(m.group(1)) not in out.values():
                out[b.id] = int(m.group(1))
        rest = [b for b in baselines if b.id not in out]
        if rest and 0 not in out.values():
            out[rest.pop().id] = 0
        free = [n for n in range(1, 11) if n not in out.values()]
        for b in reversed(rest):
            if not free:
                break
            out[b.id] = free.pop(0)
        return out

    # ------------------------------------------------------------------ resources
    def _resources(self, parent: Element) -> None:
        mpw = self.mpd * len(self.cal.working_weekdays)
        for x in self.p.people:
            r = SubElement(parent, "Resource")
            _text(r, "UID", self.res_uid[x.id])
            _text(r, "ID", self.res_uid[x.id])
            _text(r, "Name", x.name)
            _text(r, "Type", 1)
            _text(r, "Group", x.role)
            if x.email:
                _text(r, "EmailAddress", x.email)
            _text(r, "MaxUnits", _num(x.capacity_hours_per_week * 60 / mpw if mpw else 1.0))
            _text(r, "StandardRate", f"{x.rate:.2f}")
            _text(r, "StandardRateFormat", 2)
            _text(r, "CalendarUID", self.person_cal[x.id])
        for m in self.p.materials:
            r = SubElement(parent, "Resource")
            _text(r, "UID", self.res_uid[m.id])
            _text(r, "ID", self.res_uid[m.id])
            _text(r, "Name", m.name)
            _text(r, "Type", 0)
            _text(r, "MaterialLabel", m.unit)
            _text(r, "StandardRate", f"{m.unit_cost:.2f}")
            _text(r, "StandardRateFormat", 8)  # per unit of material

    def _assignments(self, parent: Element) -> None:
        uid = 0
        for a in self.p.assignments:
            if a.task not in self.task_uid or a.person not in self.res_uid:
                continue
            uid += 1
            el = SubElement(parent, "Assignment")
            _text(el, "UID", uid)
            _text(el, "TaskUID", self.task_uid[a.task])
            _text(el, "ResourceUID", self.res_uid[a.person])
            _text(el, "Units", _num(a.units))
            _text(el, "Work", _hours(a.hours))
        for m in self.p.materials:
            if m.task not in self.task_uid:
                continue
            uid += 1
            el = SubElement(parent, "Assignment")
            _text(el, "UID", uid)
            _text(el, "TaskUID", self.task_uid[m.task])
            _text(el, "ResourceUID", self.res_uid[m.id])
            _text(el, "Units", _num(m.quantity))

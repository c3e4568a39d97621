"""Analytics use cases: schedule, earned value, baselines, the project report, imports and iCalendar.

The figures themselves are pure domain functions (:mod:`lifecycle.domain.schedule`, ``evm``,
``resources``, ``risk_matrix``); this module loads the project, picks the status date (the context's
today unless given), stores what has to be stored (baselines, imported plans) with an audit event and
optimistic concurrency, and shapes the result for the CLI, documents and flows.

Imports (Microsoft Project XML, CSV) validate the whole resulting project before writing anything: a
problem anywhere is one :class:`~lifecycle.errors.SpecError` listing them all, and nothing is saved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from lifecycle.domain.calendar import work_calendar
from lifecycle.domain.evm import (
    EarnedValue,
    SCurvePoint,
    budget_at_completion,
    cost_breakdown,
    s_curve,
    task_budgets,
)
from lifecycle.domain.evm import earned_value as _earned_value
from lifecycle.domain.finish_effects import finish_effects
from lifecycle.domain.model import (
    AuditEvent,
    Baseline,
    BaselineTask,
    Charter,
    Organisation,
    Project,
    replace,
)
from lifecycle.domain.resources import material_checks, over_allocations, resource_loading
from lifecycle.domain.risk_matrix import band, risk_matrix
from lifecycle.domain.schedule import Schedule, ScheduleCycle, compute_schedule
from lifecycle.domain.validate import CODE_RE, validate_project
from lifecycle.errors import InvalidInput, Problem, SpecError
from lifecycle.load.csvimport import read_csv
from lifecycle.load.msproject import ImportReport, read_msproject
from lifecycle.load.source import format_path
from lifecycle.services.context import Context
from lifecycle.services.projects import initial_phase

CODE_HELP = "2 to 40 letters, digits, '-' or '_', starting with a letter"


# ---------------------------------------------------------------------------------------- figures
def schedule(ctx: Context, code: str) -> Schedule:
    """The critical-path schedule of a stored project."""
    p = ctx.store.get(code)
    return compute_schedule(p, today=ctx.today())


def earned_value(
    ctx: Context, code: str, status_date: date | None = None, *, baseline_id: str | None = None
) -> EarnedValue:
    """Earned value at ``status_date`` (default today) per project, WBS branch and task."""
    p = ctx.store.get(code)
    when = status_date or ctx.today()
    sched = _try_schedule(p, ctx.today())
    return _earned_value(p, when, schedule=sched, baseline_id=baseline_id)


def s_curve_series(ctx: Context, code: str, status_date: date | None = None) -> list[SCurvePoint]:
    p = ctx.store.get(code)
    when = status_date or ctx.today()
    return s_curve(p, when, schedule=_try_schedule(p, ctx.today()))


def _try_schedule(p: Project, today: date) -> Schedule | None:
    if not p.tasks:
        return None
    try:
        return compute_schedule(p, today=today)
    except InvalidInput:
        return None


def report(ctx: Context, code: str, status_date: date | None = None) -> dict[str, Any]:
    """Everything ``pmo report`` shows, as plain data (dates as ISO text)."""
    p = ctx.store.get(code)
    today = ctx.today()
    when = status_date or today
    sched_error = ""
    sched: Schedule | None = None
    if p.tasks:
        try:
            sched = compute_schedule(p, today=today)
        except InvalidInput as exc:
            sched_error = str(exc)
    ev = _earned_value(p, when, schedule=sched)
    people = {x.id: x.name for x in p.people}
    return {
        "code": p.code,
        "name": p.charter.name,
        "currency": p.charter.currency,
        "phase": p.phase,
        "status_date": when.isoformat(),
        "today": today.isoformat(),
        "schedule": sched.to_dict() if sched is not None else None,
        "schedule_error": sched_error,
        "earned_value": ev.to_dict(),
        "s_curve": [pt.to_dict() for pt in s_curve(p, when, schedule=sched)] if p.tasks else [],
        "costs": cost_breakdown(p, when, eac=ev.project.eac),
        "over_allocations": [o.to_dict() for o in over_allocations(p, sched)],
        "loading": {
            pid: {"name": people.get(pid, pid), "weeks": [w.to_dict() for w in weeks]}
            for pid, weeks in resource_loading(p, sched).items()
        },
        "materials": [m.to_dict() for m in material_checks(p, when, sched)],
        "risks": risk_matrix(p.risks, when).to_dict(),
        "baselines": [
            {
                "id": b.id,
                "name": b.name,
                "saved_on": b.saved_on.isoformat(),
                "budget": float(b.budget),
                "finish": b.finish.isoformat() if b.finish else None,
            }
            for b in p.baselines
        ],
    }


# ---------------------------------------------------------------------------------------- baselines
def build_baseline(
    project: Project, saved_on: date, *, name: str | None = None, baseline_id: str | None = None
) -> Baseline:
    """A baseline of the current plan: every task's dates, budget share and effort, and the totals.

    Task dates are the planned ones where a task has both, else the schedule's early dates; budgets are
    the current plan's task budgets (:func:`lifecycle.domain.evm.task_budgets`), so earned value against
    the new baseline equals earned value against the current plan on the day it is saved.
    """
    sched = _try_schedule(project, saved_on)
    budgets, _ = task_budgets(project, None, sched)
    n = len(project.baselines) + 1
    existing = {b.id for b in project.baselines}
    bid = baseline_id or f"BL-{n:03d}"
    while bid in existing:
        n += 1
        bid = f"BL-{n:03d}"
    tasks = []
    for t in project.tasks:
        s, f = t.start, t.finish
        if (s is None or f is None) and sched is not None and t.id in sched:
            es, ef, _, _ = sched.dates(t.id)
            s, f = s or es, f or ef
        tasks.append(
            BaselineTask(
                task=t.id,
                start=s,
                finish=f,
                cost=Decimal(str(round(budgets.get(t.id, 0.0), 2))),
                effort_hours=float(t.effort_hours),
            )
        )
    finish = sched.project_finish if sched is not None else project.charter.finish
    total = Decimal(str(round(budget_at_completion(project, budgets), 2)))
    return Baseline(
        id=bid, name=name or f"Baseline {n}", saved_on=saved_on, budget=total, finish=finish, tasks=tuple(tasks)
    )


def save_baseline(ctx: Context, code: str, name: str | None = None) -> Baseline:
    """Save the current plan as a new baseline (kept with the earlier ones) and audit it."""
    p = ctx.store.get(code)
    bl = build_baseline(p, ctx.today(), name=name)
    new = replace(p, baselines=(*p.baselines, bl))
    ctx.store.save(new, expected_version=p.version, events=[baseline_event(ctx, code, bl)])
    return bl


def baseline_event(ctx: Context, code: str, bl: Baseline) -> AuditEvent:
    """The audit event recording a saved baseline."""
    return AuditEvent(
        code,
        "baseline.saved",
        ctx.actor,
        ctx.now(),
        "baselines",
        bl.id,
        {
            "name": bl.name,
            "budget": float(bl.budget),
            "finish": bl.finish.isoformat() if bl.finish else None,
            "tasks": len(bl.tasks),
        },
    )


def list_baselines(ctx: Context, code: str) -> list[Baseline]:
    return list(ctx.store.get(code).baselines)


# ---------------------------------------------------------------------------------------- imports
@dataclass
class CsvImportResult:
    code: str
    kind: str
    file: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    links: int | None = None
    version: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "kind": self.kind,
            "file": self.file,
            "added": self.added,
            "updated": self.updated,
            "links": self.links,
            "version": self.version,
        }


def _code_from(name: str) -> str:
    code = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-_")
    if not code or not code[0].isalpha():
        code = "P-" + code
    code = code[:40].rstrip("-_")
    return code.upper() if len(code) >= 2 else "P-IMPORT"


def _check(project: Project, file: str, lines: dict[str, int] | None, today: date) -> None:
    """Validate the whole project; a SpecError (with lines for imported tasks where known) if not."""
    findings = validate_project(project)
    problems = []
    for path, msg in findings:
        line = None
        if lines and len(path) >= 2 and path[0] in ("tasks", "links") and isinstance(path[1], int):
            items = project.section(path[0])
            if path[1] < len(items):
                item = items[path[1]]
                line = lines.get(item.id if path[0] == "tasks" else item.successor)
        problems.append(Problem(file, line, format_path(path), msg))
    if not problems and project.tasks:
        try:
            compute_schedule(project, today=today)
        except ScheduleCycle as exc:
            line = (lines or {}).get(exc.cycle[0])
            problems.append(Problem(file, line, "links", str(exc)))
    if problems:
        raise SpecError(
            problems, f"{len(problems)} problem(s): the imported plan is not consistent, nothing was written"
        )


def _finish_moved(project: Project, file_finish: date | None, approximations: list[str], today: date) -> str:
    """How far the finish computed here is from the one the file states, and what may explain it ('' when
    they agree or the file states none)."""
    if file_finish is None or not project.tasks:
        return ""
    ours = compute_schedule(project, today=today).project_finish
    if ours == file_finish:
        return ""
    cal = work_calendar(project.calendar)
    a, b = sorted((ours, file_finish))
    days = cal.count_working_days(a, b) - 1
    why = [
        re.sub(r"^line \d+: ", "", x)
        for x in approximations
        if "not imported" in x or "not supported" in x or "not applied here" in x
    ][:3]
    return (
        f"the finish computed here, {ours}, is {days} working day(s) {'later' if ours > file_finish else 'earlier'} "
        f"than the file's {file_finish}" + (f"; what was not imported may explain it: {'; '.join(why)}" if why else "")
    )


def import_msproject(ctx: Context, path: str | Path, code: str | None = None) -> ImportReport:
    """Import a Microsoft Project XML file into a new project, or into ``code`` if it exists.

    Into an existing project the file replaces the plan (tasks, links, assignments, calendar), updates
    or adds its people and materials, and replaces what an earlier import of the same kind brought
    (budget lines ``MSP-B-*``, costs ``MSP-AC-*``, baselines ``MSP-BL*``); everything else is kept.
    Returns the :class:`~lifecycle.load.msproject.ImportReport`.
    """
    data = read_msproject(path, today=ctx.today())
    rep = data.report
    target = code or _code_from(data.name)
    if not CODE_RE.match(target):
        if code is not None:
            raise InvalidInput(f"--code '{code}' is not a valid project code ({CODE_HELP})")
        raise InvalidInput(f"'{target}' (from the file's title) is not a valid project code ({CODE_HELP}); pass --code")
    exists = ctx.store.exists(target)
    if exists and code is None:
        raise InvalidInput(
            f"project {target} already exists: pass --code {target} to import into it, "
            "or --code NEW-CODE for a new project"
        )
    approved = data.baselines[-1].budget if data.baselines else sum((b.amount for b in data.budget), Decimal("0"))
    if exists:
        cur = ctx.store.get(target)

        def upsert(old: tuple[Any, ...], new: tuple[Any, ...]) -> tuple[Any, ...]:
            ids = {x.id for x in new}
            return tuple(x for x in old if x.id not in ids) + new

        project = replace(
            cur,
            calendar=data.calendar,
            tasks=data.tasks,
            links=data.links,
            assignments=data.assignments,
            people=upsert(cur.people, data.people),
            materials=upsert(cur.materials, data.materials),
            budget=tuple(b for b in cur.budget if not b.id.startswith("MSP-B-")) + data.budget,
            costs=tuple(c for c in cur.costs if not c.id.startswith("MSP-AC-")) + data.costs,
            baselines=tuple(b for b in cur.baselines if not b.id.startswith("MSP-BL")) + data.baselines,
        )
        if cur.charter.start is None and data.start is not None:
            project = replace(project, charter=replace(cur.charter, start=data.start))
    else:
        charter = Charter(
            code=target,
            name=data.name or target,
            client=Organisation(name=data.company or "(client to be set)"),
            currency=data.currency or "CNY",
            start=data.start,
            finish=data.finish,
            approved_budget=approved,
        )
        project = Project(
            charter=charter,
            phase=initial_phase(ctx),
            calendar=data.calendar,
            tasks=data.tasks,
            links=data.links,
            people=data.people,
            materials=data.materials,
            assignments=data.assignments,
            budget=data.budget,
            costs=data.costs,
            baselines=data.baselines,
        )
    _check(project, str(path), data.task_lines, ctx.today())
    for effect in finish_effects(project, ctx.today(), data.unsupported_constraints):
        rep.note(None, effect.text())
    moved = _finish_moved(project, data.finish, rep.approximations, ctx.today())
    if moved:
        rep.note(None, moved)
    ev = AuditEvent(
        target,
        "project.imported",
        ctx.actor,
        ctx.now(),
        "project",
        target,
        {
            "source": str(path),
            "format": "msproject",
            "counts": dict(rep.counts),
            "not_understood": sorted(rep.not_understood),
            "approximations": len(rep.approximations),
        },
    )
    ctx.store.save(project, expected_version=cur.version if exists else None, events=[ev])
    rep.code = target
    rep.created = not exists
    return rep


def import_csv(ctx: Context, code: str, kind: str, path: str | Path) -> CsvImportResult:
    """Upsert the tasks or risks of a CSV file into a stored project (see :mod:`lifecycle.load.csvimport`)."""
    if kind not in ("tasks", "risks"):
        raise InvalidInput(f"unknown kind '{kind}' (tasks or risks)")
    rows = read_csv(path, kind)
    cur = ctx.store.get(code)
    existing = {x.id for x in cur.section(kind)}
    incoming = {x.id: x for x in rows.items}
    merged = [incoming.pop(x.id) if x.id in incoming else x for x in cur.section(kind)]
    merged += [x for x in rows.items if x.id in incoming]
    new = replace(cur, **{kind: tuple(merged)})
    if kind == "tasks" and rows.links is not None:
        ids = set(rows.lines)
        kept = tuple(lk for lk in cur.links if lk.successor not in ids)
        new = replace(new, links=kept + tuple(rows.links))
    _check(new, str(path), rows.lines, ctx.today())
    result = CsvImportResult(
        code,
        kind,
        str(path),
        [x.id for x in rows.items if x.id not in existing],
        [x.id for x in rows.items if x.id in existing],
        len(rows.links) if rows.links is not None else None,
    )
    ev = AuditEvent(
        code,
        f"{kind}.imported",
        ctx.actor,
        ctx.now(),
        kind,
        "",
        {"source": str(path), "format": "csv", "added": result.added, "updated": result.updated, "links": result.links},
    )
    result.version = ctx.store.save(new, expected_version=cur.version, events=[ev]).version
    return result


# ---------------------------------------------------------------------------------------- iCalendar
_ICAL_DOMAIN = "pmo-lifecycle"


def _ical_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 3.1), never inside a UTF-8 character."""
    out: list[str] = []
    cur = ""
    size = 0
    limit = 75
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            out.append(cur)
            cur = " " + ch
            size = 1 + n
        else:
            cur += ch
            size += n
    out.append(cur)
    return "\r\n".join(out)


def _uid_part(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", value)


def risk_band(score: int) -> str:
    """The band (low, moderate, significant, high) of a probability x impact score."""
    return str(band(score))


def project_calendar(ctx: Context, code: str) -> str:
    """The project's key dates and milestones as an iCalendar text (``pmo export ical CODE``)."""
    return export_ical(ctx.store.get(code))


CalendarEvent = tuple[date, str, str, str, str]  # (date, uid, summary, description, categories)


def _key_date_events(project: Project) -> list[CalendarEvent]:
    ch, code = project.charter, project.code
    events: list[CalendarEvent] = []
    if ch.start:
        events.append((ch.start, f"{code}-start", f"[{code}] Project start: {ch.name}", ch.description, "KEY DATE"))
    if ch.finish:
        events.append((ch.finish, f"{code}-finish", f"[{code}] Project finish: {ch.name}", "", "KEY DATE"))
    return events


def _milestone_events(project: Project) -> list[CalendarEvent]:
    code = project.code
    deliverables = {d.id: d.name for d in project.deliverables}
    events: list[CalendarEvent] = []
    for ms in project.milestones:
        info = [f"Kind: {ms.kind}", f"Status: {ms.status}"]
        if ms.deliverables:
            info.append("Deliverables: " + ", ".join(deliverables.get(d, d) for d in ms.deliverables))
        if ms.completed_on:
            info.append(f"Completed on {ms.completed_on.isoformat()}")
        events.append(
            (
                ms.date,
                f"{code}-milestone-{ms.id}",
                f"[{code}] {ms.name}",
                "\n".join(info),
                "MILESTONE," + ms.kind.upper(),
            )
        )
    return events


def _milestone_task_events(project: Project) -> list[CalendarEvent]:
    """Milestone tasks without a milestone record, on their actual or scheduled date."""
    recorded = {ms.task for ms in project.milestones if ms.task}
    tasks = [t for t in project.tasks if t.milestone and t.id not in recorded]
    sched = None
    if tasks:
        try:
            sched = compute_schedule(project)
        except InvalidInput:
            sched = None
    events: list[CalendarEvent] = []
    for t in tasks:
        when = t.actual_finish or (sched.dates(t.id)[0] if sched is not None else (t.finish or t.start))
        if when is not None:
            events.append(
                (
                    when,
                    f"{project.code}-task-{t.id}",
                    f"[{project.code}] {t.name}",
                    f"Milestone task {t.wbs}".strip(),
                    "MILESTONE",
                )
            )
    return events


def _hours(hours: float) -> str:
    return f"{hours:g} hours" if hours else ""


def _calendar_events(project: Project) -> list[CalendarEvent]:
    code, tag = project.code, f"[{project.code}] "
    events = _key_date_events(project) + _milestone_events(project) + _milestone_task_events(project)
    events += [
        (d.due, f"{code}-deliverable-{d.id}", tag + f"Deliverable due: {d.name}", f"Status: {d.status}", "DELIVERABLE")
        for d in project.deliverables
        if d.due
    ]
    events += [
        (
            tr.date,
            f"{code}-training-{tr.id}",
            tag + f"Training: {tr.topic}",
            f"{tr.hours:g} hours" if tr.hours else "",
            "TRAINING",
        )
        for tr in project.training
        if tr.date
    ]
    return events


def export_ical(project: Project, *, now: datetime | None = None) -> str:
    """Milestones and key dates of a project as an RFC 5545 iCalendar text (CRLF, folded lines).

    Events are all-day: the project start and finish, each milestone, each milestone task without a
    milestone record (on its scheduled date), each deliverable due date and each planned training.
    UIDs are stable (``<code>-<kind>-<id>@pmo-lifecycle``) so a calendar that imported the file
    before updates its events instead of duplicating them, and ``SEQUENCE`` is the project version.
    """
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    code = project.code
    ch = project.charter
    events = _calendar_events(project)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//pmo-lifecycle//project calendar//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_ical_text(f'{code} {ch.name}')}",
    ]
    for when, uid, summary, desc, cats in sorted(events, key=lambda e: (e[0], e[1])):
        lines += [
            "BEGIN:VEVENT",
            f"UID:{_uid_part(uid)}@{_ICAL_DOMAIN}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{when.strftime('%Y%m%d')}",
            f"DTEND;VALUE=DATE:{(when + timedelta(days=1)).strftime('%Y%m%d')}",
            f"SUMMARY:{_ical_text(summary)}",
        ]
        if desc:
            lines.append(f"DESCRIPTION:{_ical_text(desc)}")
        lines += [f"CATEGORIES:{cats}", f"SEQUENCE:{project.version}", "TRANSP:TRANSPARENT", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(_fold(ln) + "\r\n" for ln in lines)

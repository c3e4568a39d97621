"""Earned value management: PV, EV, AC and every index derived from them, at a status date.

The figures follow the PMI standard for earned value management:

=========  =====================================================  ============================
PV         planned value: budget of the work scheduled by the status date
EV         earned value: budget of the work done (budget x percent complete)
AC         actual cost booked up to and including the status date
SV, CV     EV - PV, EV - AC
SPI, CPI   EV / PV, EV / AC (1.0 while the denominator is 0: nothing planned or spent yet)
EAC        BAC / CPI (typical: the cost performance so far continues)
           ``eac_atypical`` AC + (BAC - EV) (the rest goes to budget)
           ``eac_combined`` AC + (BAC - EV) / (CPI x SPI) (cost and schedule both weigh)
ETC, VAC   EAC - AC, BAC - EAC
TCPI       (BAC - EV) / (BAC - AC): cost efficiency needed on the rest to finish within BAC
           (``tcpi_eac`` the same against EAC); reported as 999 when the budget is spent and
           work remains (it cannot be met)
=========  =====================================================  ============================

Budgets (what each task is worth)
  With a baseline, each task is worth its baseline cost and planned value follows its baseline dates;
  the baseline's total budget above the task costs is spread over the tasks. Without a baseline, the
  current plan is used: budget lines allocated to a task (a summary's share goes to its leaf tasks),
  then lines allocated to no task spread in proportion to what the tasks already carry (or their
  assignment cost, or their effort). With no budget lines the tasks' assignment costs (hours x rate)
  are the budget; with no money at all, effort hours (or durations) are used so that SPI still works
  (``budget_source`` says which, and CPI and EAC are then not money).

Time-phasing
  A task's budget is spread evenly over its working days (a flat contour), so planned value at a date is
  the budget times the share of the task's working days up to and including that date. BAC is the sum
  of the task budgets. The S-curve is weekly (each Sunday, plus the status date); earned value before
  the status date is reconstructed by spreading each task's earned value evenly from its actual start
  to its actual finish or the status date. A task with a progress history (``Task.progress``, dated
  percent-complete entries that recording progress appends) is measured at the status date by its
  latest entry up to that day, so earned value at a past date is what was known then.

Pure: standard library only.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from lifecycle.domain.calendar import WorkCalendar, monday_of, work_calendar
from lifecycle.domain.model import Baseline, Project, Task
from lifecycle.errors import NotFound

TCPI_UNREACHABLE = 999.0


@dataclass(frozen=True, slots=True)
class EvmFigures:
    """Earned value figures of one scope: the project, a WBS branch (summary task) or a task."""

    scope: str
    name: str
    wbs: str
    bac: float
    pv: float
    ev: float
    ac: float
    sv: float
    cv: float
    spi: float
    cpi: float
    eac: float
    eac_atypical: float
    eac_combined: float
    etc: float
    vac: float
    tcpi: float
    tcpi_eac: float
    sv_pct: float
    cv_pct: float
    percent_planned: float
    percent_complete: float
    percent_spent: float

    def to_dict(self, digits: int = 2) -> dict[str, Any]:
        out: dict[str, Any] = {"scope": self.scope, "name": self.name, "wbs": self.wbs}
        for k in (
            "bac",
            "pv",
            "ev",
            "ac",
            "sv",
            "cv",
            "eac",
            "eac_atypical",
            "eac_combined",
            "etc",
            "vac",
            "sv_pct",
            "cv_pct",
            "percent_planned",
            "percent_complete",
            "percent_spent",
        ):
            out[k] = round(getattr(self, k), digits)
        for k in ("spi", "cpi", "tcpi", "tcpi_eac"):
            out[k] = round(getattr(self, k), 4)
        return out


def _tcpi(remaining_work: float, remaining_funds: float) -> float:
    """To-complete performance index: the efficiency the remaining work needs to finish on the funds left."""
    if abs(remaining_work) < 1e-9:
        return 1.0 if abs(remaining_funds) < 1e-9 else 0.0
    if remaining_funds <= 1e-9:
        return TCPI_UNREACHABLE
    return remaining_work / remaining_funds


def evm_figures(
    bac: float, pv: float, ev: float, ac: float, *, scope: str = "project", name: str = "", wbs: str = ""
) -> EvmFigures:
    """Every derived figure from the four base values (the formulas of the module docstring)."""
    bac, pv, ev, ac = float(bac), float(pv), float(ev), float(ac)
    sv = ev - pv
    cv = ev - ac
    spi = ev / pv if pv else 1.0
    cpi = ev / ac if ac else 1.0
    eac_atypical = ac + (bac - ev)
    eac = bac / cpi if cpi else eac_atypical
    eac_combined = ac + (bac - ev) / (cpi * spi) if cpi * spi else eac_atypical
    etc = eac - ac
    vac = bac - eac
    remaining_work = bac - ev
    tcpi = _tcpi(remaining_work, bac - ac)
    tcpi_eac = _tcpi(remaining_work, eac - ac)
    return EvmFigures(
        scope=scope,
        name=name,
        wbs=wbs,
        bac=bac,
        pv=pv,
        ev=ev,
        ac=ac,
        sv=sv,
        cv=cv,
        spi=spi,
        cpi=cpi,
        eac=eac,
        eac_atypical=eac_atypical,
        eac_combined=eac_combined,
        etc=etc,
        vac=vac,
        tcpi=tcpi,
        tcpi_eac=tcpi_eac,
        sv_pct=100.0 * sv / pv if pv else 0.0,
        cv_pct=100.0 * cv / ev if ev else 0.0,
        percent_planned=100.0 * pv / bac if bac else 0.0,
        percent_complete=100.0 * ev / bac if bac else 0.0,
        percent_spent=100.0 * ac / bac if bac else 0.0,
    )


@dataclass(frozen=True, slots=True)
class SCurvePoint:
    date: date
    pv: float
    ev: float | None  # None after the status date
    ac: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "pv": round(self.pv, 2),
            "ev": None if self.ev is None else round(self.ev, 2),
            "ac": None if self.ac is None else round(self.ac, 2),
        }


@dataclass
class EarnedValue:
    """Earned value of a project at a status date, for the project, each WBS branch and each task."""

    status_date: date
    baseline: str
    budget_source: str
    project: EvmFigures
    branches: list[EvmFigures] = field(default_factory=list)
    tasks: list[EvmFigures] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status_date": self.status_date.isoformat(),
            "baseline": self.baseline,
            "budget_source": self.budget_source,
            "project": self.project.to_dict(),
            "branches": [b.to_dict() for b in self.branches],
            "tasks": [t.to_dict() for t in self.tasks],
        }


# ---------------------------------------------------------------------------------------- inputs
def select_baseline(project: Project, baseline_id: str | None = None) -> Baseline | None:
    """The baseline to measure against: the one named, else the latest saved (by date, then order)."""
    if not project.baselines:
        return None
    if baseline_id:
        for b in project.baselines:
            if b.id == baseline_id:
                return b
        raise NotFound(f"project {project.code} has no baseline '{baseline_id}'")
    best = None
    for pos, b in enumerate(project.baselines):
        key = (b.saved_on, pos)
        if best is None or key >= best[0]:
            best = (key, b)
    return best[1] if best else None


def _weight(t: Task) -> float:
    """Share basis when nothing else says what a task is worth: effort, else duration; a milestone 0."""
    if t.milestone:
        return 0.0
    if t.effort_hours:
        return float(t.effort_hours)
    if t.duration_days:
        return float(t.duration_days)
    return 1.0


def _structure(project: Project) -> tuple[list[Task], dict[str, list[str]], dict[str, str]]:
    """Leaf tasks, children by parent id, parent by id (only parents that exist)."""
    ids = {t.id for t in project.tasks}
    parent = {t.id: t.parent for t in project.tasks if t.parent and t.parent in ids and t.parent != t.id}
    kids: dict[str, list[str]] = {}
    for c, p in parent.items():
        kids.setdefault(p, []).append(c)
    leaves = [t for t in project.tasks if t.id not in kids]
    return leaves, kids, parent


def _task_days(t: Task, cal: WorkCalendar, schedule: Any = None) -> float:
    if t.milestone:
        return 0.0
    if t.duration_days is not None:
        return float(t.duration_days)
    if t.start and t.finish:
        return float(cal.count_working_days(t.start, t.finish))
    if schedule is not None and t.id in schedule:
        s, f, _, _ = schedule.dates(t.id)
        return float(cal.count_working_days(s, f))
    return 1.0


def assignment_costs(project: Project, schedule: Any = None) -> dict[str, float]:
    """Planned labour cost per task: hours (or units x hours per day x duration) x the person's rate."""
    cal = work_calendar(project.calendar)
    people = {p.id: p for p in project.people}
    tasks = {t.id: t for t in project.tasks}
    out: dict[str, float] = {}
    for a in project.assignments:
        person = people.get(a.person)
        task = tasks.get(a.task)
        if person is None or task is None or not person.rate:
            continue
        hours = a.hours or a.units * cal.hours_per_day * _task_days(task, cal, schedule)
        out[a.task] = out.get(a.task, 0.0) + hours * float(person.rate)
    return out


def _spread(amount: float, targets: list[Task], basis: dict[str, float], out: dict[str, float]) -> None:
    """Add ``amount`` to ``targets`` in proportion to ``basis`` (effort weights if the basis is all 0)."""
    if not targets or not amount:
        return
    total = sum(basis.get(t.id, 0.0) for t in targets)
    if total <= 0:
        weights = {t.id: _weight(t) for t in targets}
        total = sum(weights.values())
        if total <= 0:
            weights = {t.id: 1.0 for t in targets}
            total = float(len(targets))
    else:
        weights = {t.id: basis.get(t.id, 0.0) for t in targets}
    for t in targets:
        out[t.id] = out.get(t.id, 0.0) + amount * weights[t.id] / total


def task_budgets(
    project: Project, baseline: Baseline | None = None, schedule: Any = None
) -> tuple[dict[str, float], str]:
    """What each leaf task is worth (its share of BAC) and where that came from.

    Returns ``(budgets, source)`` with source ``baseline``, ``budget``, ``assignments`` or ``effort``.
    """
    leaves, kids, _ = _structure(project)
    active = [t for t in leaves if t.status != "cancelled"]
    if baseline is not None:
        budgets = _baseline_budgets(baseline, leaves, active)
        if budgets:
            return budgets, "baseline"
    by_id = {t.id: t for t in project.tasks}
    labour = assignment_costs(project, schedule)
    if project.budget:
        return _budget_line_budgets(project, by_id, kids, active, labour), "budget"
    if labour and sum(labour.values()) > 0:
        budgets = {}
        leaf_ids = {t.id for t in leaves}
        for tid, amount in labour.items():
            if tid in leaf_ids:
                budgets[tid] = budgets.get(tid, 0.0) + amount
            elif tid in kids:
                _spread(amount, _leaves_under(tid, kids, by_id), {}, budgets)
        return budgets, "assignments"
    return {t.id: _weight(t) for t in active}, "effort"


def _baseline_budgets(baseline: Baseline, leaves: list[Task], active: list[Task]) -> dict[str, float]:
    """Leaf budgets from the baseline's task costs, the rest of its budget spread over the active leaves."""
    budgets: dict[str, float] = {}
    leaf_ids = {t.id for t in leaves}
    for bt in baseline.tasks:
        if bt.task in leaf_ids and bt.cost:
            budgets[bt.task] = budgets.get(bt.task, 0.0) + float(bt.cost)
    rest = float(baseline.budget) - sum(budgets.values())
    if rest > 0.005:
        in_baseline = {bt.task for bt in baseline.tasks}
        targets = [t for t in active if t.id in in_baseline] or active
        _spread(rest, targets, budgets, budgets)
    return budgets


def _budget_line_budgets(
    project: Project,
    by_id: dict[str, Task],
    kids: dict[str, list[str]],
    active: list[Task],
    labour: dict[str, float],
) -> dict[str, float]:
    """Leaf budgets from the budget lines: a line on a summary spreads over its leaves (by labour cost),
    a line on no task over every active leaf."""
    budgets: dict[str, float] = {}
    unallocated = 0.0
    for line in project.budget:
        amount = float(line.amount)
        if line.task and line.task in by_id:
            if line.task in kids:
                _spread(amount, _leaves_under(line.task, kids, by_id), labour, budgets)
            else:
                budgets[line.task] = budgets.get(line.task, 0.0) + amount
        else:
            unallocated += amount
    if unallocated:
        basis = budgets if sum(budgets.values()) > 0 else labour
        _spread(unallocated, active, dict(basis), budgets)
    return budgets


def _leaves_under(tid: str, kids: dict[str, list[str]], by_id: dict[str, Task]) -> list[Task]:
    """The leaf tasks (not cancelled) below task ``tid``."""
    out: list[Task] = []
    stack = [tid]
    seen = set()
    while stack:
        x = stack.pop()
        if x in seen:
            continue
        seen.add(x)
        if x in kids:
            stack.extend(kids[x])
        elif x in by_id and by_id[x].status != "cancelled":
            out.append(by_id[x])
    return out


def budget_at_completion(project: Project, budgets: dict[str, float]) -> float:
    """BAC: the task budgets, or the budget lines when there is no task to carry them yet."""
    if budgets:
        return sum(budgets.values())
    return float(sum((line.amount for line in project.budget), Decimal("0")))


def _planned_span(
    t: Task, baseline_dates: dict[str, tuple[date | None, date | None]] | None, schedule: Any
) -> tuple[date | None, date | None]:
    if baseline_dates is not None:
        return baseline_dates.get(t.id, (None, None))
    if t.start is not None and t.finish is not None:
        return t.start, t.finish
    if schedule is not None and t.id in schedule:
        s, f, _, _ = schedule.dates(t.id)
        return s, f
    return t.start, t.finish


def _planned_index(
    cal: WorkCalendar, t: Task, baseline_dates: dict[str, tuple[date | None, date | None]] | None, schedule: Any
) -> tuple[int, int] | None:
    """(working-day index of the planned start, planned working days) or None without dates."""
    if baseline_dates is None and (t.start is None or t.finish is None) and schedule is not None and t.id in schedule:
        return schedule.span(t.id)  # type: ignore[no-any-return]
    s, f = _planned_span(t, baseline_dates, schedule)
    if s is None and f is None:
        return None
    s = s or f
    f = f or s
    assert s is not None and f is not None
    if s == f and not cal.is_working(s):
        return cal.index(s) - 1, 0  # a milestone on a day off counts from the working day before
    return cal.index(s), cal.count_working_days(s, f)


def _fraction_idx(span: tuple[int, int] | None, limit: int) -> float:
    """Share of a span's working days with an index below ``limit`` (a 0-day span: all or nothing)."""
    if span is None:
        return 0.0
    i0, n = span
    if limit <= i0:
        return 0.0
    if n <= 0 or limit >= i0 + n:
        return 1.0
    return (limit - i0) / n


def _done_share(t: Task, status_date: date | None = None) -> float:
    """The share of the task done: at ``status_date`` from its progress history when it has one (the
    latest entry up to that day; none yet is 0), else from its current state."""
    if status_date is not None and t.progress:
        known = [p for p in t.progress if p.date <= status_date]
        if not known:
            return 0.0
        return max(0.0, min(100.0, float(max(known, key=lambda p: p.date).percent_complete))) / 100.0
    if t.status == "done" or t.actual_finish is not None:
        return 1.0
    return max(0.0, min(100.0, float(t.percent_complete))) / 100.0


# ---------------------------------------------------------------------------------------- figures
def earned_value(
    project: Project,
    status_date: date,
    *,
    schedule: Any = None,
    baseline_id: str | None = None,
    use_baseline: bool = True,
    detail: bool = True,
) -> EarnedValue:
    """Earned value at ``status_date`` for the project and (``detail``) every WBS branch and task.

    ``schedule`` (a :class:`~lifecycle.domain.schedule.Schedule`) supplies dates for tasks that have no
    planned dates of their own; pass it when you have one to avoid computing it twice.
    """
    cal = work_calendar(project.calendar)
    baseline = select_baseline(project, baseline_id) if use_baseline else None
    budgets, source = task_budgets(project, baseline, schedule)
    base_dates = None
    if baseline is not None and source == "baseline":
        base_dates = {bt.task: (bt.start, bt.finish) for bt in baseline.tasks}
    leaves, kids, parent = _structure(project)
    pv_t: dict[str, float] = {}
    ev_t: dict[str, float] = {}
    limit = cal.index(status_date + timedelta(days=1))
    for t in leaves:
        b = budgets.get(t.id, 0.0)
        if not b:
            continue
        pv_t[t.id] = b * _fraction_idx(_planned_index(cal, t, base_dates, schedule), limit)
        ev_t[t.id] = b * _done_share(t, status_date)
    ac_t: dict[str, float] = {}
    ac_total = 0.0
    for c in project.costs:
        if c.date <= status_date:
            amt = float(c.amount)
            ac_total += amt
            if c.task:
                ac_t[c.task] = ac_t.get(c.task, 0.0) + amt
    bac = budget_at_completion(project, budgets)
    proj = evm_figures(
        bac, sum(pv_t.values()), sum(ev_t.values()), ac_total, scope="project", name=project.charter.name
    )
    result = EarnedValue(
        status_date, baseline.id if baseline is not None and source == "baseline" else "", source, proj
    )
    if not detail:
        return result
    # roll leaf figures up every ancestor (a WBS branch is a summary task)
    sums: dict[str, list[float]] = {s: [0.0, 0.0, 0.0, 0.0] for s in kids}
    for t in project.tasks:
        tid = t.id
        vals = (budgets.get(tid, 0.0), pv_t.get(tid, 0.0), ev_t.get(tid, 0.0), ac_t.get(tid, 0.0))
        if tid in kids:
            sums[tid][3] += vals[3]  # costs booked on the summary itself
            vals = (0.0, 0.0, 0.0, vals[3])
        else:
            result.tasks.append(evm_figures(*vals, scope=tid, name=t.name, wbs=t.wbs))
        p = parent.get(tid)
        hops = 0
        while p is not None and hops <= len(kids):
            acc = sums[p]
            acc[0] += vals[0]
            acc[1] += vals[1]
            acc[2] += vals[2]
            acc[3] += vals[3]
            p = parent.get(p)
            hops += 1
    for t in project.tasks:
        if t.id in kids:
            b, pv, ev, ac = sums[t.id]
            result.branches.append(evm_figures(b, pv, ev, ac, scope=t.id, name=t.name, wbs=t.wbs))
    return result


def s_curve(
    project: Project,
    status_date: date,
    *,
    schedule: Any = None,
    baseline_id: str | None = None,
    use_baseline: bool = True,
) -> list[SCurvePoint]:
    """Cumulative PV, EV and AC at the end of every week (Sunday) and at the status date."""
    cal = work_calendar(project.calendar)
    baseline = select_baseline(project, baseline_id) if use_baseline else None
    budgets, source = task_budgets(project, baseline, schedule)
    base_dates = None
    if baseline is not None and source == "baseline":
        base_dates = {bt.task: (bt.start, bt.finish) for bt in baseline.tasks}
    leaves, _, _ = _structure(project)
    pv_spans: list[tuple[date, date, float]] = []
    ev_spans: list[tuple[date, date, float]] = []
    for t in leaves:
        b = budgets.get(t.id, 0.0)
        if not b:
            continue
        s, f = _planned_span(t, base_dates, schedule)
        if s is not None or f is not None:
            s = s or f
            f = f or s
            assert s is not None and f is not None
            pv_spans.append((s, f, b))
        share = _done_share(t, status_date)
        if share > 0:
            es = t.actual_start or s or status_date
            ef = t.actual_finish or (status_date if share < 1.0 or f is None else min(f, status_date))
            es = min(es, status_date)
            ef = max(es, min(ef, status_date))
            ev_spans.append((es, ef, b * share))
    costs = sorted((c.date, float(c.amount)) for c in project.costs)
    dates = [d for s, f, _ in pv_spans for d in (s, f)] + [d for s, f, _ in ev_spans for d in (s, f)]
    dates += [c[0] for c in costs] + [status_date]
    if project.charter.start:
        dates.append(project.charter.start)
    first, last = min(dates), max(dates)
    points = []
    d = monday_of(first) + timedelta(days=6)
    samples = []
    while d < last + timedelta(days=7):
        samples.append(d)
        d += timedelta(days=7)
    if status_date not in samples:
        samples.append(status_date)
        samples.sort()
    pv_at = _cumulator(cal, pv_spans)
    ev_at = _cumulator(cal, ev_spans)
    ci = 0
    ac_run = 0.0
    for sd in samples:
        while ci < len(costs) and costs[ci][0] <= sd:
            ac_run += costs[ci][1]
            ci += 1
        past = sd <= status_date
        points.append(SCurvePoint(sd, pv_at(sd), ev_at(sd) if past else None, ac_run if past else None))
    return points


def _cumulator(cal: WorkCalendar, spans: Iterable[tuple[date, date, float]]) -> Any:
    """A function date -> sum of the spans' amounts spread evenly over their working days up to it."""
    rate: dict[int, float] = {}  # working index -> change of the daily amount
    lump: dict[int, float] = {}  # working index -> one-off amount (zero-length spans)
    for s, f, amount in spans:
        i0 = cal.index(s)
        n = cal.count_working_days(s, f)
        if n <= 0:
            lump[i0] = lump.get(i0, 0.0) + amount
            continue
        r = amount / n
        rate[i0] = rate.get(i0, 0.0) + r
        rate[i0 + n] = rate.get(i0 + n, 0.0) - r
    keys = sorted(set(rate) | set(lump))
    before: list[float] = []  # total before day keys[j]
    current_after: list[float] = []  # daily amount from keys[j] on
    total = 0.0
    current = 0.0
    for j, k in enumerate(keys):
        if j:
            total += lump.get(keys[j - 1], 0.0) + current * (k - keys[j - 1])
        before.append(total)
        current += rate.get(k, 0.0)
        current_after.append(current)

    def at(d: date) -> float:
        limit = cal.index(d + timedelta(days=1))  # working days with an index below this are counted
        j = bisect.bisect_left(keys, limit) - 1
        if j < 0:
            return 0.0
        return before[j] + lump.get(keys[j], 0.0) + current_after[j] * (limit - keys[j])

    return at


def cost_breakdown(project: Project, status_date: date, *, eac: float | None = None) -> dict[str, Any]:
    """Budget by category and by task against actual cost at the status date, with the forecast."""
    cats: dict[str, dict[str, float]] = {}
    for line in project.budget:
        c = cats.setdefault(line.category, {"budget": 0.0, "actual": 0.0})
        c["budget"] += float(line.amount)
    for ce in project.costs:
        if ce.date <= status_date:
            c = cats.setdefault(ce.category, {"budget": 0.0, "actual": 0.0})
            c["actual"] += float(ce.amount)
    budgets, _ = task_budgets(project, None)
    per_task: dict[str, dict[str, float]] = {}
    for tid, b in budgets.items():
        per_task[tid] = {"budget": b, "actual": 0.0}
    for ce in project.costs:
        if ce.task and ce.date <= status_date:
            per_task.setdefault(ce.task, {"budget": 0.0, "actual": 0.0})["actual"] += float(ce.amount)
    total_budget = sum(c["budget"] for c in cats.values())
    total_actual = sum(c["actual"] for c in cats.values())
    return {
        "categories": [
            {
                "category": k,
                "budget": round(v["budget"], 2),
                "actual": round(v["actual"], 2),
                "variance": round(v["budget"] - v["actual"], 2),
            }
            for k, v in sorted(cats.items())
        ],
        "tasks": [
            {
                "task": k,
                "budget": round(v["budget"], 2),
                "actual": round(v["actual"], 2),
                "variance": round(v["budget"] - v["actual"], 2),
            }
            for k, v in per_task.items()
        ],
        "budget": round(total_budget, 2),
        "actual": round(total_actual, 2),
        "forecast_at_completion": round(eac if eac is not None else total_budget, 2),
    }

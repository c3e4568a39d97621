"""Computed project figures for gate facts, ``pmo show`` and reports.

``project_metrics(project, today)`` returns a flat mapping of named figures; ``METRICS`` documents
each name's type and meaning (it is published in the facts JSON Schema). The schedule and earned
value modules add their figures here, so gate rules see one ``metrics`` object.

The schedule figures come from one critical-path pass (:mod:`lifecycle.domain.schedule`), the earned
value figures from :mod:`lifecycle.domain.evm` at ``today`` as the status date (against the latest
baseline when there is one), loading from :mod:`lifecycle.domain.resources` and the matrix from
:mod:`lifecycle.domain.risk_matrix`. Dates are ISO text, ``None`` (null) when there is none. A plan whose links
form a cycle still gets every other figure; ``schedule_error`` then says why the schedule ones are
empty. Everything here runs for every gate evaluation, so it computes each input once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from lifecycle.domain.model import Project, Task
from lifecycle.errors import LifecycleError

if TYPE_CHECKING:
    from lifecycle.domain.schedule import Schedule

ScheduleOf = Callable[[Project, date], "Schedule"]
"""Gives a project's schedule as of a date (what ``compute_schedule(project, today=...)`` returns)."""

# name -> (type, description); types: int, double, string, bool, date (ISO text), list
METRICS: dict[str, tuple[str, str]] = {
    "task_count": ("int", "Number of tasks"),
    "leaf_task_count": ("int", "Number of leaf (work) tasks"),
    "progress_pct": ("double", "Effort-weighted percent complete of leaf tasks (duration-weighted if no effort)"),
    "planned_progress_pct": (
        "double",
        "Percent of leaf-task effort planned to be complete by today (scheduled dates for tasks without dates)",
    ),
    "overdue_task_count": (
        "int",
        "Leaf tasks past their finish date (scheduled finish when none is set) and not done",
    ),
    "overdue_tasks": ("list", "Ids of overdue leaf tasks"),
    "budget_total": ("double", "Sum of budget lines"),
    "approved_budget": ("double", "Approved budget from the charter"),
    "cost_actual": ("double", "Sum of booked costs"),
    "budget_spent_pct": ("double", "cost_actual / budget_total in percent (0 if no budget)"),
    "open_risk_count": ("int", "Risks with status open"),
    "high_risk_count": ("int", "Open risks with score >= 15"),
    "risk_exposure": ("double", "Sum of probability x impact over open risks"),
    "risks_past_review": ("list", "Ids of open risks whose review date has passed"),
    "open_issue_count": ("int", "Issues not resolved or closed"),
    "blocking_issue_count": ("int", "Open issues marked blocking"),
    "days_since_status_report": ("int", "Days since the latest status report (-1 if none)"),
    "pending_change_requests": ("int", "Change requests still proposed"),
    # schedule (critical path method, working days of the project calendar)
    "project_start": ("date", "Start of the schedule: the charter's start (or the earliest task date)"),
    "project_finish": (
        "date",
        "Early finish of the project from the critical path method (null without tasks "
        "or when the schedule cannot be computed)",
    ),
    "schedule_duration_days": ("int", "Working days from project_start to project_finish, both included"),
    "critical_path": ("list", "Ids of the critical leaf tasks (total slack <= 0, not done), in schedule order"),
    "critical_task_count": ("int", "Number of tasks in critical_path"),
    "min_total_slack_days": (
        "int",
        "Smallest total slack of unfinished tasks, working days (< 0: a deadline cannot be met)",
    ),
    "negative_slack_tasks": ("list", "Ids of leaf tasks with negative total slack"),
    "schedule_error": ("string", "Why the schedule could not be computed (e.g. a link cycle); '' when it was"),
    "has_baseline": ("bool", "At least one baseline has been saved"),
    "baseline_finish": ("date", "Finish of the latest baseline (null without a baseline)"),
    "schedule_slip_days": (
        "int",
        "Working days project_finish is later than baseline_finish (negative: earlier; 0 without a baseline)",
    ),
    # earned value at today (PMI formulas; see lifecycle.domain.evm)
    "evm_budget_source": ("string", "Where task budgets come from: baseline, budget, assignments or effort"),
    "bac": ("double", "Budget at completion"),
    "pv": ("double", "Planned value at today"),
    "ev": ("double", "Earned value at today"),
    "ac": ("double", "Actual cost booked up to today"),
    "sv": ("double", "Schedule variance EV - PV"),
    "cv": ("double", "Cost variance EV - AC"),
    "spi": ("double", "Schedule performance index EV / PV (1.0 while PV is 0)"),
    "cpi": ("double", "Cost performance index EV / AC (1.0 while AC is 0)"),
    "eac": ("double", "Estimate at completion BAC / CPI"),
    "eac_atypical": ("double", "Estimate at completion AC + (BAC - EV)"),
    "eac_combined": ("double", "Estimate at completion AC + (BAC - EV) / (CPI x SPI)"),
    "etc": ("double", "Estimate to complete EAC - AC"),
    "vac": ("double", "Variance at completion BAC - EAC"),
    "tcpi": ("double", "To-complete performance index (BAC - EV) / (BAC - AC); 999 when unreachable"),
    "schedule_variance_pct": ("double", "SV / PV in percent (0 while PV is 0)"),
    "cost_variance_pct": ("double", "CV / EV in percent (0 while EV is 0)"),
    "earned_pct": ("double", "EV / BAC in percent"),
    # resources
    "over_allocated_people": ("list", "Ids of people loaded above capacity in some week from this week on"),
    "over_allocation_weeks": ("int", "Person-weeks loaded above capacity from this week on"),
    "materials_late": ("list", "Ids of materials not delivered that are overdue or needed after their task starts"),
    # risks
    "risk_matrix": ("list", "Open risks per cell: risk_matrix[probability - 1][impact - 1], a 5 x 5 list of ints"),
    "top_risks": ("list", "Ids of the five open risks with the highest score"),
    "risks_without_response": ("list", "Ids of open risks with no response strategy or no owner"),
    # on demand (see ON_DEMAND): only in the facts of gates whose rules use them
    "levelled_finish": (
        "date",
        "Finish after resource levelling (people's capacity per day, links kept, started work fixed); "
        "computed only for gates whose rules use it",
    ),
    "finish_p80": (
        "date",
        "Finish met in 80 % of a Monte Carlo simulation of the three-point estimates (seeded); "
        "computed only for gates whose rules use it",
    ),
}

# Figures too costly to compute at every gate check of a large plan (seconds for 5,000 tasks): they are
# computed only when a rule names them, by the function registered for each (the schedule-risk one
# needs numerical code the domain does not import, so its service registers it).
ON_DEMAND = ("levelled_finish", "finish_p80")
_PROVIDERS: dict[str, Callable[[Project, date], Any]] = {}


def register_on_demand(name: str, provider: Callable[[Project, date], Any]) -> None:
    """Make ``provider(project, today)`` the source of the on-demand metric ``name``."""
    if name not in ON_DEMAND:
        raise ValueError(f"'{name}' is not an on-demand metric")
    _PROVIDERS[name] = provider


def referenced_on_demand(texts: Iterable[str]) -> frozenset[str]:
    """The on-demand metrics named in rule expressions (``metrics.levelled_finish`` ...)."""
    joined = "\n".join(texts)
    return frozenset(n for n in ON_DEMAND if n in joined)


def on_demand_metrics(project: Project, today: date, names: Iterable[str]) -> dict[str, Any]:
    """The named on-demand metrics; None when the plan gives none (no tasks, a link cycle)."""
    out: dict[str, Any] = {}
    for name in names:
        provider = _PROVIDERS.get(name, _levelled_finish if name == "levelled_finish" else None)
        try:
            out[name] = provider(project, today) if provider is not None and project.tasks else None
        except LifecycleError:
            out[name] = None
    return out


def _levelled_finish(project: Project, today: date) -> str | None:
    # lazy: levelling is only needed when a rule asks for it
    from lifecycle.domain.project_levelling import level_project
    from lifecycle.domain.schedule import compute_schedule

    return level_project(project, compute_schedule(project, today=today)).levelled_finish.isoformat()


def _money(v: Decimal) -> float:
    return float(v)


def project_metrics(
    project: Project, today: date, wanted: Iterable[str] = (), *, schedule_of: ScheduleOf | None = None
) -> dict[str, Any]:
    """Every metric but the on-demand ones, which are added when named in ``wanted``.

    ``schedule_of(project, today)`` gives the project's schedule (default: computed); a caller that
    keeps schedules passes its own, which must return what ``compute_schedule`` would."""
    out = _basic_metrics(project, today)
    out.update(_analytics_metrics(project, today, schedule_of))
    if wanted:
        out.update(on_demand_metrics(project, today, wanted))
    return out


def _analytics_metrics(project: Project, today: date, schedule_of: ScheduleOf | None = None) -> dict[str, Any]:
    # lazy: the analytics modules cost ~25 ms to import and `pmo --help` loads this module without them
    from lifecycle.domain.calendar import work_calendar
    from lifecycle.domain.evm import earned_value, select_baseline
    from lifecycle.domain.resources import material_checks, over_allocations
    from lifecycle.domain.risk_matrix import risk_matrix
    from lifecycle.domain.schedule import compute_schedule

    out: dict[str, Any] = {}
    schedule = None
    error = ""
    if project.tasks:
        try:
            schedule = compute_schedule(project, today=today) if schedule_of is None else schedule_of(project, today)
        except LifecycleError as exc:
            error = str(exc)
    baseline = select_baseline(project)
    base_finish = None
    if baseline is not None:
        base_finish = baseline.finish or max((bt.finish for bt in baseline.tasks if bt.finish), default=None)
    if schedule is not None:
        neg = schedule.negative_slack
        slip = 0
        if base_finish is not None:
            cal = work_calendar(project.calendar)
            pf = schedule.project_finish
            slip = (
                cal.count_working_days(base_finish, pf) - 1
                if pf >= base_finish
                else -(cal.count_working_days(pf, base_finish) - 1)
            )
        out.update(
            {
                "project_start": schedule.project_start.isoformat(),
                "project_finish": schedule.project_finish.isoformat(),
                "schedule_duration_days": schedule.duration_days,
                "critical_path": list(schedule.critical_path),
                "critical_task_count": schedule.critical_task_count,
                "min_total_slack_days": schedule.min_total_slack,
                "negative_slack_tasks": neg,
                "schedule_slip_days": slip,
            }
        )
    else:
        out.update(
            {
                "project_start": project.charter.start.isoformat() if project.charter.start else None,
                "project_finish": None,
                "schedule_duration_days": 0,
                "critical_path": [],
                "critical_task_count": 0,
                "min_total_slack_days": 0,
                "negative_slack_tasks": [],
                "schedule_slip_days": 0,
            }
        )
    out["schedule_error"] = error
    if schedule is not None:
        out.update(_scheduled_plan(project, today, schedule))
    out["has_baseline"] = baseline is not None
    out["baseline_finish"] = base_finish.isoformat() if base_finish else None
    ev = earned_value(project, today, schedule=schedule, detail=False)
    f = ev.project
    out.update(
        {
            "evm_budget_source": ev.budget_source,
            "bac": round(f.bac, 2),
            "pv": round(f.pv, 2),
            "ev": round(f.ev, 2),
            "ac": round(f.ac, 2),
            "sv": round(f.sv, 2),
            "cv": round(f.cv, 2),
            "spi": round(f.spi, 4),
            "cpi": round(f.cpi, 4),
            "eac": round(f.eac, 2),
            "eac_atypical": round(f.eac_atypical, 2),
            "eac_combined": round(f.eac_combined, 2),
            "etc": round(f.etc, 2),
            "vac": round(f.vac, 2),
            "tcpi": round(f.tcpi, 4),
            "schedule_variance_pct": round(f.sv_pct, 2),
            "cost_variance_pct": round(f.cv_pct, 2),
            "earned_pct": round(f.percent_complete, 2),
        }
    )
    overs = over_allocations(project, schedule, from_date=today) if project.assignments else []
    out["over_allocated_people"] = sorted({o.person for o in overs})
    out["over_allocation_weeks"] = len(overs)
    out["materials_late"] = [m.id for m in material_checks(project, today, schedule) if m.late]
    rm = risk_matrix(project.risks, today)
    out["risk_matrix"] = [list(row) for row in rm.cells]
    out["top_risks"] = [r.id for r in rm.top]
    out["risks_without_response"] = [r.id for r in rm.no_response]
    return out


def _weight(t: Task) -> float:
    if t.effort_hours:
        return float(t.effort_hours)
    if t.duration_days:
        return float(t.duration_days)
    if t.start and t.finish:
        return float((t.finish - t.start).days + 1)
    return 1.0


def _plan_figures(active: list[Task], today: date, scheduled: dict[str, tuple[date, date]]) -> tuple[float, list[str]]:
    """Planned percent complete at ``today`` and the overdue task ids; a task without planned dates is
    measured on its scheduled (early) dates when ``scheduled`` has them, so a plan of durations and links
    has a plan too."""
    total_w = sum(_weight(t) for t in active) or 1.0
    planned = 0.0
    overdue: list[str] = []
    for t in active:
        start, finish = t.start, t.finish
        if (start is None or finish is None) and t.id in scheduled:
            es, ef = scheduled[t.id]
            start, finish = start or es, finish or ef
        if start and finish:
            if today >= finish:
                share = 1.0
            elif today < start:
                share = 0.0
            else:
                share = ((today - start).days + 1) / ((finish - start).days + 1)
            planned += _weight(t) * share
        if finish and finish < today and t.status != "done":
            overdue.append(t.id)
    return round(100.0 * planned / total_w, 2), overdue


def _scheduled_plan(project: Project, today: date, schedule: Any) -> dict[str, Any]:
    """Planned progress and overdue tasks again, on the schedule's dates for tasks with no planned dates
    (an imported plan of durations and links); nothing when every task has its dates."""
    active = [t for t in project.leaf_tasks() if t.status != "cancelled"]
    undated = [t.id for t in active if (t.start is None or t.finish is None) and t.id in schedule]
    if not undated:
        return {}
    scheduled = {tid: schedule.dates(tid)[:2] for tid in undated}
    pct, overdue = _plan_figures(active, today, scheduled)
    return {"planned_progress_pct": pct, "overdue_task_count": len(overdue), "overdue_tasks": overdue}


def _basic_metrics(project: Project, today: date) -> dict[str, Any]:
    leaves = project.leaf_tasks()

    active = [t for t in leaves if t.status != "cancelled"]
    total_w = sum(_weight(t) for t in active) or 1.0
    progress = sum(_weight(t) * (100.0 if t.status == "done" else t.percent_complete) for t in active) / total_w
    planned_pct, overdue = _plan_figures(active, today, {})
    budget_total = sum((b.amount for b in project.budget), Decimal(0))
    cost_actual = sum((c.amount for c in project.costs), Decimal(0))
    open_risks = [r for r in project.risks if r.status == "open"]
    reports = sorted(project.status_reports, key=lambda r: r.date)
    return {
        "task_count": len(project.tasks),
        "leaf_task_count": len(leaves),
        "progress_pct": round(progress, 2),
        "planned_progress_pct": planned_pct,
        "overdue_task_count": len(overdue),
        "overdue_tasks": overdue,
        "budget_total": _money(budget_total),
        "approved_budget": _money(project.charter.approved_budget),
        "cost_actual": _money(cost_actual),
        "budget_spent_pct": round(100.0 * float(cost_actual) / float(budget_total), 2) if budget_total else 0.0,
        "open_risk_count": len(open_risks),
        "high_risk_count": sum(1 for r in open_risks if r.score >= 15),
        "risk_exposure": float(sum(r.score for r in open_risks)),
        "risks_past_review": [r.id for r in open_risks if r.review_date and r.review_date < today],
        "open_issue_count": sum(1 for i in project.issues if i.status in ("open", "in_progress")),
        "blocking_issue_count": sum(1 for i in project.issues if i.blocking and i.status in ("open", "in_progress")),
        "days_since_status_report": (today - reports[-1].date).days if reports else -1,
        "pending_change_requests": sum(1 for c in project.change_requests if c.status == "proposed"),
    }

"""Scheduling services: the plan written back for Microsoft Project (MSPDI export), resource levelling
and schedule risk (a Monte Carlo simulation of three-point estimates, dates on the project calendar).

Importing this module registers ``metrics.finish_p80`` as an on-demand metric (the domain cannot run
the numerical simulation itself); :mod:`lifecycle.services` imports it so every service user has it.

The export takes the stored project, computes its schedule (the early dates fill in tasks that have no
planned dates, and give summaries their durations) and hands both to
:func:`lifecycle.load.mspdi_write.write_mspdi`. A plan whose links form a cycle is still exported, with
the dates it has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from lifecycle.domain.metrics import register_on_demand
from lifecycle.domain.model import Project
from lifecycle.domain.project_levelling import LevelledPlan, level_project, levelling_instance
from lifecycle.domain.schedule import Schedule, compute_schedule
from lifecycle.errors import InvalidInput, LifecycleError
from lifecycle.load.mspdi_write import Dates, write_mspdi
from lifecycle.services.context import Context


def scheduled_dates(project: Project, today: date) -> dict[str, Dates]:
    """Early start and finish and working days of every task from the critical path method ({} when the
    schedule cannot be computed)."""
    if not project.tasks:
        return {}
    try:
        sched = compute_schedule(project, today=today)
    except LifecycleError:
        return {}
    return {r.id: Dates(r.early_start, r.early_finish, r.duration_days) for r in sched.rows()}


def export_msproject(ctx: Context, code: str) -> bytes:
    """Project ``code`` as Microsoft Project XML (see :mod:`lifecycle.load.mspdi_write`)."""
    project = ctx.store.get(code)
    saved = max((b.saved_on for b in project.baselines), default=ctx.today())
    return write_mspdi(project, scheduled_dates(project, ctx.today()), saved=saved)


def level_resources(ctx: Context, code: str) -> LevelledPlan:
    """Level the resources of project ``code`` (nothing is saved: the plan is shown, not changed)."""
    project = ctx.store.get(code)
    if not project.tasks:
        raise InvalidInput(f"project {code} has no tasks to level")
    schedule = compute_schedule(project, today=ctx.today())
    return level_project(project, schedule)


# ---------------------------------------------------------------------------------------- schedule risk
@dataclass(frozen=True)
class RiskView:
    """Schedule risk of a project: the finish percentiles as dates, the most critical tasks, a histogram."""

    iterations: int
    seed: int
    deterministic_finish: date
    finish: dict[int, date]  # percentile -> date on the project calendar
    mean_days: float
    critical: list[tuple[str, str, float]]  # (task, name, criticality index), most critical first
    histogram: list[tuple[date, date, int]]  # (first day, last day, iterations finishing then)
    estimated_tasks: int
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "iterations": self.iterations,
            "seed": self.seed,
            "deterministic_finish": self.deterministic_finish.isoformat(),
            "finish": {f"p{q}": d.isoformat() for q, d in self.finish.items()},
            "mean_working_days": round(self.mean_days, 2),
            "critical": [{"task": t, "name": n, "criticality": c} for t, n, c in self.critical],
            "histogram": [{"from": a.isoformat(), "to": b.isoformat(), "count": c} for a, b, c in self.histogram],
            "estimated_tasks": self.estimated_tasks,
            "notes": list(self.notes),
        }


def _risk_model(project: Project, schedule: Schedule) -> tuple[list[Any], list[Any], list[str], int]:
    """Estimates and links of the simulation from the levelling instance's view of the plan: leaf tasks,
    summary links pushed to leaves, started work fixed. A release day or a fixed start is a dummy
    predecessor of that many days (the simulation has no dates)."""
    from lifecycle.forecast.montecarlo import Estimate, SimLink  # lazy: numpy only for a simulation

    inst, _ = levelling_instance(project, schedule)
    by_id = {t.id: t for t in project.tasks}
    estimates: list[Any] = []
    links: list[Any] = [SimLink(lk.pred, lk.succ, lk.type, float(lk.lag)) for lk in inst.links]
    notes: list[str] = []
    estimated = 0
    for a in inst.activities:
        t = by_id[a.id]
        m = float(a.duration)
        o = p = m
        if a.duration and t.status not in ("done", "cancelled"):
            o = m if t.optimistic_days is None else min(m, float(t.optimistic_days))
            p = m if t.pessimistic_days is None else max(m, float(t.pessimistic_days))
            if (t.optimistic_days is not None and t.optimistic_days > m) or (t.pessimistic_days or m) < m:
                notes.append(f"{t.id}: estimate outside its duration {m:g} days; read as {o:g} / {m:g} / {p:g}")
            estimated += int(o != m or p != m)
        estimates.append(Estimate(a.id, o, m, p))
        offset = a.fixed_start if a.fixed_start is not None else a.release
        if offset:
            estimates.append(Estimate(f"~{a.id}", float(offset), float(offset), float(offset)))
            links.append(SimLink(f"~{a.id}", a.id, "FS", 0.0))
    return estimates, links, notes, estimated


def simulate_project(
    project: Project, today: date, *, iterations: int = 10_000, seed: int = 1, top: int = 10, bins: int = 20
) -> RiskView:
    """A seeded Monte Carlo simulation of the plan's three-point estimates (see the forecast module)."""
    from lifecycle.forecast.montecarlo import simulate  # lazy: numpy only for a simulation

    if not project.tasks:
        raise InvalidInput(f"project {project.code} has no tasks to simulate")
    if not 1 <= iterations <= 1_000_000:
        raise InvalidInput("--iterations must be between 1 and 1,000,000")
    schedule = compute_schedule(project, today=today)
    estimates, links, notes, estimated = _risk_model(project, schedule)
    sim = simulate(estimates, links, iterations=iterations, seed=seed, bins=bins)
    cal, base = schedule.calendar, schedule.base

    def on(days: float) -> date:
        return cal.date_at(base + max(0, math.ceil(days - 1e-9) - 1))

    names = {t.id: t.name for t in project.tasks}
    ranked = sorted(((c, i) for i, c in sim.criticality.items() if not i.startswith("~") and c > 0), reverse=True)
    edges, counts = sim.histogram
    return RiskView(
        iterations=iterations,
        seed=seed,
        deterministic_finish=on(sim.deterministic),
        finish={q: on(v) for q, v in sim.finish.items()},
        mean_days=sim.mean,
        critical=[(i, names.get(i, i), c) for c, i in ranked[:top]],
        histogram=[(on(edges[k]), on(edges[k + 1]), counts[k]) for k in range(len(counts))],
        estimated_tasks=estimated,
        notes=notes,
    )


def schedule_risk(ctx: Context, code: str, *, iterations: int = 10_000, seed: int = 1) -> RiskView:
    """Schedule risk of project ``code`` (nothing is saved)."""
    return simulate_project(ctx.store.get(code), ctx.today(), iterations=iterations, seed=seed)


def status_report_risk(project: Project, today: date) -> dict[str, Any]:
    """The schedule-risk figures for the status report's data (P50/P80/P95, most critical tasks,
    histogram), for the documents to call; an empty dict when the plan cannot be simulated."""
    try:
        return simulate_project(project, today, iterations=5_000, seed=1).to_dict()
    except LifecycleError:
        return {}


def _finish_p80(project: Project, today: date) -> str:
    return simulate_project(project, today, iterations=2_000, seed=1).finish[80].isoformat()


register_on_demand("finish_p80", _finish_p80)

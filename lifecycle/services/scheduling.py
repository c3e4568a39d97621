"""Scheduling services: the plan written back for Microsoft Project (MSPDI export) and resource levelling.

The export takes the stored project, computes its schedule (the early dates fill in tasks that have no
planned dates, and give summaries their durations) and hands both to
:func:`lifecycle.load.mspdi_write.write_mspdi`. A plan whose links form a cycle is still exported, with
the dates it has.
"""

from __future__ import annotations

from datetime import date

from lifecycle.domain.model import Project
from lifecycle.domain.project_levelling import LevelledPlan, level_project
from lifecycle.domain.schedule import compute_schedule
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

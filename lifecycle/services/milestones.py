"""Milestone use cases: completing a milestone and what it sets off.

``complete_milestone`` records the milestone as done (audited, version-checked). What follows a
milestone (quality checks, status report, acceptance certificate) is the ``milestone_reached`` flow:

* with a Prefect server configured (``PREFECT_API_URL``) this service emits the
  ``pmo.milestone.completed`` event once the milestone is recorded, and the deployment trigger starts
  the flow on a worker;
* in embedded mode it imports nothing from Prefect: the CLI runs the flow in process when asked
  (``pmo milestone done --run-flows``), otherwise ``pmo flow run milestone_reached`` runs it later.

An event that cannot be delivered does not undo the milestone: the result says so in ``notes``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from lifecycle.errors import DeliveryError, InvalidInput
from lifecycle.services.context import Context
from lifecycle.services.events import emit_milestone_completed, server_mode
from lifecycle.services.projects import get_item, set_fields


def complete_milestone(ctx: Context, code: str, milestone: str, *, on: date | None = None) -> dict[str, Any]:
    project = ctx.store.get(code)
    ms = get_item(project, "milestones", milestone)
    notes: list[str] = []
    if ms.status == "done":
        notes.append(f"already done on {ms.completed_on}; nothing changed")
        return {
            "project": code,
            "milestone": milestone,
            "completed_on": ms.completed_on,
            "changed": False,
            "kind": ms.kind,
            "notes": notes,
            "event": None,
        }
    when = on or ctx.today()
    if when > ctx.today():
        raise InvalidInput(f"{when} is in the future: a milestone is done when it is reached")
    ms = set_fields(
        ctx, code, "milestones", milestone, {"status": "done", "completed_on": when}, action="milestone.completed"
    )
    event = _emit(ctx, code, milestone, notes)
    return {
        "project": code,
        "milestone": milestone,
        "completed_on": ms.completed_on,
        "changed": True,
        "kind": ms.kind,
        "notes": notes,
        "event": event,
    }


def _emit(ctx: Context, code: str, milestone: str, notes: list[str]) -> str | None:
    if not server_mode(ctx.workspace):
        return None
    try:
        event = emit_milestone_completed(code, milestone, workspace=ctx.workspace)
    except DeliveryError as exc:
        notes.append(
            f"the milestone_reached flow was not triggered: {exc}; "
            f"run `pmo flow run milestone_reached -p project={code} -p milestone={milestone}`"
        )
        return None
    notes.append(f"event pmo.milestone.completed sent ({event}): the milestone_reached flow will run on a worker")
    return event

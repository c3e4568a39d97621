"""Milestone use cases: completing a milestone and what it sets off.

``complete_milestone`` records the milestone as done (audited, version-checked). What follows a
milestone (quality checks, status report, acceptance certificate) is the ``milestone_reached`` flow;
this service only records the fact, so it never imports Prefect.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from lifecycle.errors import InvalidInput
from lifecycle.services.context import Context
from lifecycle.services.projects import get_item, set_fields


def complete_milestone(ctx: Context, code: str, milestone: str, *, on: date | None = None) -> dict[str, Any]:
    project = ctx.store.get(code)
    ms = get_item(project, "milestones", milestone)
    notes: list[str] = []
    if ms.status == "done":
        notes.append(f"already done on {ms.completed_on}; nothing changed")
        return {"project": code, "milestone": milestone, "completed_on": ms.completed_on, "changed": False,
                "kind": ms.kind, "notes": notes}
    when = on or ctx.today()
    if when > ctx.today():
        raise InvalidInput(f"{when} is in the future: a milestone is done when it is reached")
    ms = set_fields(ctx, code, "milestones", milestone, {"status": "done", "completed_on": when},
                    action="milestone.completed")
    return {"project": code, "milestone": milestone, "completed_on": ms.completed_on, "changed": True,
            "kind": ms.kind, "notes": notes}

"""Milestone use cases: completing a milestone and what it sets off.

``complete_milestone`` records the milestone as done (audited, version-checked). What follows a
milestone (quality checks, status report, acceptance certificate) is the ``milestone_reached`` flow:

* with a Prefect server configured (``PREFECT_API_URL``) this service emits the
  ``pmo.milestone.completed`` event once the milestone is recorded, and the deployment trigger starts
  the flow on a worker;
* in embedded mode it imports nothing from Prefect: the CLI runs the flow in process when asked
  (``pmo milestone done --run-flows``), otherwise ``pmo flow run milestone_reached`` runs it later.

An event that cannot be delivered does not undo the milestone: the result says so in ``notes`` and
``event_error`` (with the command that retries), and the CLI exits 3. Completing a milestone that is
already done changes nothing and sends nothing, unless ``resend_event`` asks to emit its event again
(a flow that did not run, or crashed, is started anew; the flow itself is idempotent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from lifecycle.errors import DeliveryError, InvalidInput
from lifecycle.services.context import Context
from lifecycle.services.events import emit_milestone_completed, server_mode
from lifecycle.services.projects import get_item, set_fields


@dataclass(frozen=True)
class MilestoneDone:
    """What completing a milestone did: whether anything changed, the event sent (server mode), notes."""

    project: str
    milestone: str
    completed_on: date | None
    changed: bool
    kind: str
    notes: tuple[str, ...]
    event: str | None
    event_error: str = ""  # the event could not be sent: why, and how to retry

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "notes": list(self.notes)}


def retry_hint(code: str, milestone: str) -> str:
    """The commands that start the milestone's flow again when its event was not sent."""
    return (
        f"`pmo milestone done {code} {milestone} --resend-event` (when the server is back), or "
        f"`pmo flow run milestone_reached -p project={code} -p milestone={milestone}` (here)"
    )


def complete_milestone(
    ctx: Context, code: str, milestone: str, *, on: date | None = None, resend_event: bool = False
) -> MilestoneDone:
    """Record the milestone as done (today unless ``on``); in server mode emit the event that runs the flow.

    On a milestone already done nothing changes; ``resend_event`` emits its event again (server mode).
    """
    ms = get_item(ctx.store.get(code), "milestones", milestone)
    if resend_event and not server_mode(ctx.workspace):
        raise InvalidInput(
            "--resend-event needs a Prefect server (PREFECT_API_URL); without one run the flow here: "
            f"`pmo flow run milestone_reached -p project={code} -p milestone={milestone}`"
        )
    if ms.status == "done":
        notes = [f"already done on {ms.completed_on}; nothing changed"]
        if not resend_event:
            if server_mode(ctx.workspace):
                notes.append(
                    f"its event was not sent again; to start the milestone_reached flow anew run "
                    f"`pmo milestone done {code} {milestone} --resend-event`"
                )
            return MilestoneDone(code, milestone, ms.completed_on, False, ms.kind, tuple(notes), None)
        event, error = _emit(ctx, code, milestone, notes)
        return MilestoneDone(code, milestone, ms.completed_on, False, ms.kind, tuple(notes), event, error)
    when = on or ctx.today()
    if when > ctx.today():
        raise InvalidInput(f"{when} is in the future: a milestone is done when it is reached")
    values = {"status": "done", "completed_on": when}
    ms = set_fields(ctx, code, "milestones", milestone, values, action="milestone.completed")
    notes = []
    event, error = _emit(ctx, code, milestone, notes)
    return MilestoneDone(code, milestone, ms.completed_on, True, ms.kind, tuple(notes), event, error)


def _emit(ctx: Context, code: str, milestone: str, notes: list[str]) -> tuple[str | None, str]:
    """Emit the milestone's event in server mode: (event id, "") or (None, why it failed and how to retry)."""
    if not server_mode(ctx.workspace):
        return None, ""
    try:
        event = emit_milestone_completed(code, milestone, workspace=ctx.workspace)
    except DeliveryError as exc:
        error = (
            f"{code} {milestone} is recorded as done, but the milestone_reached flow was not triggered: {exc}; "
            f"retry with {retry_hint(code, milestone)}"
        )
        notes.append(error)
        return None, error
    notes.append(f"event pmo.milestone.completed sent ({event}): the milestone_reached flow will run on a worker")
    return event, ""


# ------------------------------------------------------------------ what the milestone_reached flow decides
@dataclass(frozen=True)
class ReachedMilestone:
    """A milestone recorded as done: what the flow needs to know about it."""

    id: str
    name: str
    kind: str
    deliverables: tuple[str, ...]
    completed_on: str | None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "deliverables": list(self.deliverables)}


def reached_milestone(ctx: Context, code: str, milestone: str) -> ReachedMilestone:
    """The milestone, which must be recorded as done (the flow follows a reached milestone only)."""
    ms = get_item(ctx.store.get(code), "milestones", milestone)
    if ms.status != "done":
        raise InvalidInput(
            f"{code} milestone {milestone} is {ms.status}, not done: record it with "
            f"`pmo milestone done {code} {milestone}` first"
        )
    done = ms.completed_on.isoformat() if ms.completed_on else None
    return ReachedMilestone(ms.id, ms.name, ms.kind, tuple(ms.deliverables), done)


@dataclass(frozen=True)
class CheckTally:
    """Quality check results counted: ids of the failed and conditional ones, how many passed."""

    failed: tuple[str, ...]
    conditional: tuple[str, ...]
    passed: int
    total: int


def tally_checks(checks: Sequence[Mapping[str, Any]]) -> CheckTally:
    """Count check results: ``fail`` fails; ``conditional`` passes with an open item on the certificate."""
    failed = tuple(str(c["id"]) for c in checks if c["result"] == "fail")
    conditional = tuple(str(c["id"]) for c in checks if c["result"] == "conditional")
    return CheckTally(failed, conditional, len(checks) - len(failed), len(checks))


@dataclass(frozen=True)
class AcceptanceVerdict:
    """Whether the acceptance certificate is issued for a reached milestone, and if not why."""

    applies: bool  # an acceptance milestone
    issue: bool
    withheld: str = ""


def acceptance_verdict(milestone: ReachedMilestone, tally: CheckTally) -> AcceptanceVerdict:
    """An acceptance milestone gets its certificate when no quality check failed."""
    if milestone.kind != "acceptance":
        return AcceptanceVerdict(False, False)
    if tally.failed:
        return AcceptanceVerdict(True, False, f"withheld: {len(tally.failed)} quality check(s) failed")
    return AcceptanceVerdict(True, True)

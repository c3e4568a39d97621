"""The boundary to Prefect's process environment and event bus, imported without importing Prefect.

Two modes (see the README):

* **Embedded** (default, no ``PREFECT_API_URL``): flows run in the ``pmo`` process on a temporary
  Prefect API that Prefect starts itself; plain commands never import Prefect.
* **Server** (``PREFECT_API_URL`` set): ``pmo milestone done`` emits the ``pmo.milestone.completed``
  event (resource ``pmo.project.<code>``, payload ``{project, milestone}``); the deployment trigger in
  ``prefect.yaml`` starts ``milestone_reached`` on a worker with the payload as parameters.

The mode is the workspace's :class:`~lifecycle.workspace.Runtime` (read once at the edge);
:func:`lifecycle.workspace.prefect_environment` sets Prefect's home inside the workspace (never the
user's ``~/.prefect``) and telemetry off before Prefect is first imported.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from lifecycle.errors import DeliveryError
from lifecycle.services.local_server import local_api_url
from lifecycle.workspace import Workspace
from lifecycle.workspace import prefect_environment as _workspace_environment

__all__ = [
    "CRASH_AUTOMATION",
    "HEARTBEAT_SECONDS",
    "RECOVERY_AUTOMATION",
    "RECOVERY_DEPLOYMENT",
    "recovery_automation",
    "MILESTONE_COMPLETED",
    "crash_automation",
    "RESOURCE_PREFIX",
    "emit_milestone_completed",
    "milestone_event",
    "prefect_environment",
    "server_mode",
]

MILESTONE_COMPLETED = "pmo.milestone.completed"
RESOURCE_PREFIX = "pmo.project."


CRASH_AUTOMATION = "pmo: unresponsive flow runs are crashed"
HEARTBEAT_SECONDS = 30  # PREFECT_FLOWS_HEARTBEAT_FREQUENCY of deployment runs (prefect.yaml); Prefect's minimum


def crash_automation(within: int = HEARTBEAT_SECONDS * 3) -> dict[str, Any]:
    """The automation that marks a flow run Crashed when its heartbeats stop (its worker or machine died).

    A run started by a worker sends ``prefect.flow-run.heartbeat`` every ``HEARTBEAT_SECONDS``; when
    neither another heartbeat nor a final state follows within ``within`` seconds (three beats by
    default), the server sets the run Crashed. (A flow process killed while its worker lives is
    reported Crashed by the worker.)
    """
    return {
        "name": CRASH_AUTOMATION,
        "description": "Marks a pmo flow run Crashed when its worker stops sending heartbeats.",
        "enabled": True,
        "trigger": {
            "type": "event",
            "posture": "Proactive",
            "after": ["prefect.flow-run.heartbeat"],
            "expect": [
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
            ],
            "match": {"prefect.resource.id": ["prefect.flow-run.*"]},
            "for_each": ["prefect.resource.id"],
            "threshold": 1,
            "within": within,
        },
        "actions": [
            {
                "type": "change-flow-run-state",
                "state": "CRASHED",
                "message": f"no heartbeat for {within} s: the worker or its machine stopped",
            }
        ],
    }


RECOVERY_AUTOMATION = "pmo: crashed runs are started again"
RECOVERY_DEPLOYMENT = "recover-crashed-runs/pmo-recover"  # flows.recover, deployed from prefect.yaml


def recovery_automation(deployment_id: str) -> dict[str, Any]:
    """The automation that starts the recovery deployment whenever a run tagged ``pmo`` is Crashed.

    The recovery flow decides what to start again (:mod:`lifecycle.services.recovery`); several
    crashes at once start several recovery runs, which derive the same idempotency keys, so each
    crashed subject is started again once.
    """
    return {
        "name": RECOVERY_AUTOMATION,
        "description": "Starts the pmo-recover deployment when a pmo flow run crashed.",
        "enabled": True,
        "trigger": {
            "type": "event",
            "posture": "Reactive",
            "expect": ["prefect.flow-run.Crashed"],
            "match": {"prefect.resource.id": ["prefect.flow-run.*"]},
            "match_related": {"prefect.resource.role": "tag", "prefect.resource.id": ["prefect.tag.pmo"]},
            "threshold": 1,
            "within": 0,
        },
        "actions": [
            {
                "type": "run-deployment",
                "source": "selected",
                "deployment_id": deployment_id,
                "parameters": {},
                "job_variables": {},
            }
        ],
    }


def prefect_environment(workspace: Workspace) -> dict[str, str]:
    """Prefect's process environment for this workspace; in embedded mode the local server that
    ``pmo serve`` keeps is used when it answers, which spares each command the temporary API's start."""
    return _workspace_environment(workspace, api_url="" if workspace.runtime.server_mode else local_api_url(workspace))


def server_mode(workspace: Workspace) -> bool:
    """True when a Prefect server is configured for this process (``PREFECT_API_URL``)."""
    return workspace.runtime.server_mode


def milestone_event(code: str, milestone: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The event as plain data: name, resource and payload (what the deployment trigger reads)."""
    return {
        "event": MILESTONE_COMPLETED,
        "resource": {"prefect.resource.id": f"{RESOURCE_PREFIX}{code}", "prefect.resource.name": code},
        "payload": {"project": code, "milestone": milestone, **dict(extra or {})},
    }


def emit_milestone_completed(
    code: str, milestone: str, *, workspace: Workspace, extra: Mapping[str, Any] | None = None
) -> str | None:
    """Emit ``pmo.milestone.completed`` to the configured Prefect server; returns the event id.

    Returns None (and imports nothing) in embedded mode. Raises DeliveryError if the server cannot
    be reached, so the caller can tell the user the flow was not triggered.
    """
    if not server_mode(workspace):
        return None
    prefect_environment(workspace)
    # Prefect (~0.8 s) is imported only in server mode, when an event is really sent
    from prefect.events import Event
    from prefect.events.clients import get_events_client

    spec = milestone_event(code, milestone, extra)
    event = Event(event=spec["event"], resource=spec["resource"], payload=spec["payload"])

    async def send() -> None:
        async with get_events_client(reconnection_attempts=2) as client:
            await client.emit(event)

    try:
        asyncio.run(send())
    except Exception as exc:  # any transport failure: the event did not reach the server
        raise DeliveryError(
            f"could not emit {MILESTONE_COMPLETED} to {workspace.runtime.prefect_api_url}: {exc}"
        ) from exc
    return str(event.id)

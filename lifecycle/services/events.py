"""The boundary to Prefect's process environment and event bus, imported without importing Prefect.

Two modes (see the README):

* **Embedded** (default, no ``PREFECT_API_URL``): flows run in the ``pmo`` process on a temporary
  Prefect API that Prefect starts itself; plain commands never import Prefect.
* **Server** (``PREFECT_API_URL`` set): ``pmo milestone done`` emits the ``pmo.milestone.completed``
  event (resource ``pmo.project.<code>``, payload ``{project, milestone}``); the deployment trigger in
  ``prefect.yaml`` starts ``milestone_reached`` on a worker with the payload as parameters.

:func:`prefect_environment` is applied before Prefect is first imported by ``pmo``: Prefect's home
inside the workspace (never the user's ``~/.prefect``) and telemetry off. Values already set in the
environment win, so an operator can point ``PREFECT_HOME`` elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from lifecycle.errors import DeliveryError
from lifecycle.services.local_server import local_api_url
from lifecycle.workspace import Workspace

MILESTONE_COMPLETED = "pmo.milestone.completed"
RESOURCE_PREFIX = "pmo.project."


def server_mode() -> bool:
    """True when a Prefect server is configured for this process (``PREFECT_API_URL``)."""
    return bool(os.environ.get("PREFECT_API_URL", "").strip())


def prefect_environment(workspace: Workspace) -> dict[str, str]:
    """Set (if unset) and return the variables Prefect must see in this process."""
    wanted = {
        "PREFECT_HOME": str(workspace.prefect_home),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # Prefect's default (20 s) is tight: a first start in a new home migrates its database, and
        # takes 15 s or more on a busy two-core machine
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    }
    if not server_mode():  # a local server kept by `pmo serve` spares the temporary API's start-up
        wanted["PREFECT_API_URL"] = local_api_url(workspace) or ""
    applied = {}
    for key, value in wanted.items():
        if not value:
            continue
        os.environ.setdefault(key, value)
        applied[key] = os.environ[key]
    if applied["PREFECT_HOME"] == str(workspace.prefect_home):
        workspace.prefect_home.mkdir(parents=True, exist_ok=True)
    return applied


def milestone_event(code: str, milestone: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The event as plain data: name, resource and payload (what the deployment trigger reads)."""
    return {
        "event": MILESTONE_COMPLETED,
        "resource": {"prefect.resource.id": f"{RESOURCE_PREFIX}{code}", "prefect.resource.name": code},
        "payload": {"project": code, "milestone": milestone, **dict(extra or {})},
    }


def emit_milestone_completed(
    code: str, milestone: str, *, workspace: Workspace | None = None, extra: Mapping[str, Any] | None = None
) -> str | None:
    """Emit ``pmo.milestone.completed`` to the configured Prefect server; returns the event id.

    Returns None (and imports nothing) in embedded mode. Raises DeliveryError if the server cannot
    be reached, so the caller can tell the user the flow was not triggered.
    """
    if not server_mode():
        return None
    if workspace is not None:
        prefect_environment(workspace)
    import asyncio

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
            f"could not emit {MILESTONE_COMPLETED} to {os.environ.get('PREFECT_API_URL')}: {exc}"
        ) from exc
    return str(event.id)

"""The ``recover_crashed_runs`` flow: start again the crashed runs of the pmo deployments.

The recovery automation (``pmo flow crash-detection``) starts its deployment ``pmo-recover`` on every
``prefect.flow-run.Crashed`` event of a run tagged ``pmo``; the decision (which runs, which key, how
many attempts) is :func:`lifecycle.services.recovery.arecover`'s, this flow only calls it and logs
what it did. Its own runs are never recovered.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import log, service_context
from lifecycle.services import recovery


@flow(name=recovery.RECOVER_FLOW)
async def recover_crashed_runs(max_attempts: int = recovery.MAX_ATTEMPTS) -> dict[str, Any]:
    """Start again each crashed run whose subject has no later completed or active run."""
    with service_context() as ctx:
        decisions = await recovery.arecover(ctx, max_attempts=max_attempts)
    for d in decisions:
        if d.action == "start":
            log().warning("started %s again as %s (key %s): %s", d.crashed_name, d.new_run, d.key, d.reason)
        else:
            log().info("left %s: %s", d.crashed_name, d.reason)
    return {
        "recovered": [d.to_dict() for d in decisions if d.action == "start"],
        "left": [d.to_dict() for d in decisions if d.action != "start"],
    }

"""The ``closeout`` flow: final acceptance report, handover package, and closing the project.

Issues the final acceptance report (验收报告, with the project summary and lessons learned) and the
handover package (交接清单), e-mails both to the client representative, then moves the project to
its final phase (the rule pack's forward move into a phase of kind ``final``) when the closing
gate allows it; when it does not (for instance the client has not signed
off yet) the review is stored and a ``closeout.blocked`` notification names the reasons. Run it
again after fixing the data: documents are re-issued only if the project changed, e-mails are sent
once per document, and a closed project is left alone. Whether the project can close, and why not,
is decided by :mod:`lifecycle.services.gate_review`.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.common import (
    delivery_settings_task,
    ensure_document_task,
    label_run,
    log,
    notify_task,
    run_name,
    send_document_task,
    service_context,
)
from flows.gate import evaluate_gate_task
from lifecycle.services import gate_review as service


@task(name="closing-move", cache_policy=NO_CACHE)
async def closing_move_task(project: str) -> dict[str, Any]:
    """The project's phase and the final phase a forward move from it reaches (none: not closable now)."""
    with service_context() as ctx:
        return asdict(service.closing_plan(ctx, project))


@task(name="blocked-reason", cache_policy=NO_CACHE)
async def blocked_reason_task(outcome: dict[str, Any]) -> str:
    """Why the closing gate kept the project: its blocking rules and missing approvals."""
    return service.blocked_reason(outcome)


@flow(name="closeout", flow_run_name=run_name("closeout"))
async def closeout(project: str) -> dict[str, Any]:
    """Issue and send the closing documents, then close the project if its gate allows."""
    await label_run("closeout", {"project": project})
    move = await closing_move_task(project)
    phase = move["phase"]
    result: dict[str, Any] = {"project": project, "phase_before": phase, "documents": [], "deliveries": []}
    if move["final"]:
        log().info("%s is already closed", project)
        return {**result, "closed": True, "note": "already closed"}
    if not move["possible"]:
        log().warning("%s cannot close from %s: %s", project, phase, move["reason"])
        await notify_task(project, "closeout.blocked", {"reason": move["reason"], "phase": phase})
        return {**result, "closed": False, "reason": move["reason"]}
    await delivery_settings_task(project, "closing documents")
    for kind in service.CLOSING_DOCUMENTS:
        doc = await ensure_document_task(project, kind)
        result["documents"].append(doc)
        result["deliveries"].append(await send_document_task(project, doc["id"]))
    outcome = await evaluate_gate_task(project, move["target"])
    result["gate"] = outcome
    result["closed"] = outcome["advanced"]
    if outcome["advanced"]:
        await notify_task(project, "project.closed", {"review": outcome["review"]})
    else:
        result["reason"] = await blocked_reason_task(outcome)
        await notify_task(project, "closeout.blocked", {"reason": result["reason"], "review": outcome["review"]})
    return result

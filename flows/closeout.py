"""The ``closeout`` flow: final acceptance report, handover package, and closing the project.

Issues the final acceptance report (验收报告, with the project summary and lessons learned) and the
handover package (交接清单), e-mails both to the client representative, then moves the project to
its final phase (the rule pack's forward move into a phase of kind ``final``) when the closing
gate allows it; when it does not (for instance the client has not signed
off yet) the review is stored and a ``closeout.blocked`` notification names the reasons. Run it
again after fixing the data: documents are re-issued only if the project changed, e-mails are sent
once per document, and a closed project is left alone.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.common import ensure_document_task, log, notify_task, send_document_task, service_context
from flows.gate import evaluate_gate_task


@task(name="closing-move", cache_policy=NO_CACHE)
async def closing_move_task(project: str) -> dict[str, Any]:
    """The project's phase and the final phase a forward move from it reaches (none: not closable now)."""
    from lifecycle.services.gates import closing_target, is_final

    with service_context() as ctx:
        p = ctx.store.get(project)
        if is_final(ctx, p):
            return {
                "phase": p.phase,
                "final": True,
                "target": p.phase,
                "possible": False,
                "reason": f"already in the final phase '{p.phase}'",
            }
        target = closing_target(ctx, p)
        if target is None:
            return {
                "phase": p.phase,
                "final": False,
                "target": None,
                "possible": False,
                "reason": f"no move from '{p.phase}' closes the project; take it through its gates first",
            }
        return {"phase": p.phase, "final": False, "target": target, "possible": True, "reason": ""}


@flow(name="closeout")
async def closeout(project: str) -> dict[str, Any]:
    """Issue and send the closing documents, then close the project if its gate allows."""
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
    for kind in ("final_acceptance", "handover"):
        doc = await ensure_document_task(project, kind)
        result["documents"].append(doc)
        result["deliveries"].append(await send_document_task(project, doc["id"]))
    outcome = await evaluate_gate_task(project, move["target"])
    result["gate"] = outcome
    result["closed"] = outcome["advanced"]
    if outcome["advanced"]:
        await notify_task(project, "project.closed", {"review": outcome["review"]})
    else:
        reason = (
            ", ".join(outcome["blocking"] + [f"approval {m}" for m in outcome["approvals_missing"]])
            or outcome["decision"]
        )
        result["reason"] = reason
        await notify_task(project, "closeout.blocked", {"reason": reason, "review": outcome["review"]})
    return result

"""The ``gate_review`` flow: evaluate a gate, report it, advance when allowed, tell the PM and sponsor.

The decision and what follows from it are the gate review service's
(:func:`lifecycle.services.gate_review.review_gate`: rules, waivers, approvals on the current project
version; advance when allowed, else store the review; a retry re-uses what the first attempt did).
This flow orchestrates: the gate review report is issued and e-mailed to the project manager and the
sponsor (those with an e-mail address), and a webhook notification is posted.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.common import (
    delivery_settings_task,
    ensure_document_task,
    label_run,
    log,
    notify_task,
    publish_markdown,
    run_name,
    send_document_task,
    service_context,
)
from lifecycle.services import artifacts
from lifecycle.services import gate_review as service


@task(name="evaluate-gate", cache_policy=NO_CACHE)
async def evaluate_gate_task(project: str, to_phase: str | None) -> dict[str, Any]:
    with service_context() as ctx:
        outcome = service.review_gate(ctx, project, to_phase)
        markdown = artifacts.gate_review_markdown(ctx, project, outcome.review)
    if outcome.advanced:
        log().info(
            "%s: %s → %s (%s), review %s",
            project,
            outcome.from_phase,
            outcome.to_phase,
            outcome.decision,
            outcome.review,
        )
    else:
        log().warning("%s stays in %s: %s\n%s", project, outcome.from_phase, outcome.decision, outcome.message)
    await publish_markdown(
        artifacts.artifact_key("gate", project), markdown, f"{project} {outcome.from_phase} → {outcome.to_phase}"
    )
    return outcome.to_dict()


@task(name="gate-recipients", cache_policy=NO_CACHE)
async def recipients_task(project: str) -> dict[str, Any]:
    with service_context() as ctx:
        people = service.review_recipients(ctx, project)
    return {"to": list(people.to), "names": list(people.names)}


@flow(name="gate-review", flow_run_name=run_name("gate-review"))
async def gate_review(project: str, to_phase: str | None = None) -> dict[str, Any]:
    """Evaluate the gate towards ``to_phase`` (default: the next phase) and act on the decision."""
    await label_run("gate-review", {"project": project, "to_phase": to_phase})
    outcome = await evaluate_gate_task(project, to_phase)
    people = await recipients_task(project)
    if people["to"]:
        await delivery_settings_task(project, "gate review report", people["to"])
    doc = await ensure_document_task(project, "gate_review", review_id=outcome["review"])
    delivery = None
    if people["to"]:
        delivery = await send_document_task(project, doc["id"], people["to"])
    else:
        log().warning("neither the project manager nor the sponsor has an e-mail address: report not sent")
    await notify_task(project, "gate.reviewed", {**outcome, "document": doc["number"], "to": people["names"]})
    return {"project": project, **outcome, "document": doc, "delivery": delivery}

"""The ``gate_review`` flow: evaluate a gate, report it, advance when allowed, tell the PM and sponsor.

The decision is the gates service's (rules, waivers, approvals on the current project version). When
it allows the move, ``advance`` performs it and stores the review; otherwise the review is stored
as it is. Either way the gate review report is issued and e-mailed to the project manager and the
sponsor (those with an e-mail address), and a webhook notification is posted.

A retry re-uses what the first attempt did: a review with the same facts, rules and decision is not
stored twice, a project already moved by this flow is not evaluated again (the stored review is
reported), and the report and e-mails follow the delivery rules (same file, sent once).
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.common import (
    ensure_document_task,
    log,
    notify_task,
    people_with_email,
    send_document_task,
    service_context,
)


def _summary(review: dict[str, Any]) -> dict[str, Any]:
    blocking = [
        r["id"]
        for r in review.get("results", [])
        if r.get("severity") == "blocking" and r.get("outcome") in ("fail", "error")
    ]
    return {
        "review": review["id"],
        "transition": review["transition"],
        "from_phase": review["from"],
        "to_phase": review["to"],
        "decision": review["decision"],
        "advanced": bool(review.get("advanced")),
        "blocking": blocking,
        "approvals_missing": list((review.get("approvals") or {}).get("missing", [])),
    }


_COMPARED = (
    "transition",
    "from",
    "to",
    "decision",
    "today",
    "pack",
    "facts_hash",
    "project_version",
    "results",
    "approvals",
    "waivers",
)


def _same_review(stored: dict[str, Any], new: dict[str, Any]) -> bool:
    """Would storing ``new`` repeat ``stored``? Same facts, rules, results, approvals and waivers."""
    from lifecycle.storage.protocol import canonical_json, jsonable

    return all(canonical_json(jsonable(stored.get(k))) == canonical_json(jsonable(new.get(k))) for k in _COMPARED)


@task(name="evaluate-gate", cache_policy=NO_CACHE)
async def evaluate_gate_task(project: str, to_phase: str | None) -> dict[str, Any]:
    from lifecycle.errors import GateBlocked
    from lifecycle.services import gates

    with service_context() as ctx:
        current = ctx.store.get(project)
        reviews = sorted(
            (r.data for r in ctx.store.records(project, "gate_review")),
            key=lambda d: (str(d.get("evaluated_at", "")), str(d.get("id", ""))),
        )
        if to_phase and current.phase == to_phase:
            done = [r for r in reviews if r.get("advanced") and r.get("to") == to_phase]
            if done:
                log().info("%s is already in %s (review %s)", project, to_phase, done[-1]["id"])
                return _summary(done[-1])
        decision = gates.check_gate(ctx, project, to_phase)
        if decision.allows_advance:
            try:
                moved = gates.advance(
                    ctx, project, decision.to_phase, transition=decision.transition, reason="gate_review flow"
                )
                review = ctx.store.get_record(project, "gate_review", moved["review"])
                assert review is not None
                log().info("%s advanced %s → %s (%s)", project, moved["from"], moved["to"], moved["decision"])
                return _summary(dict(review.data))
            except GateBlocked as exc:  # the project changed between check and advance
                decision = exc.decision
        same = [r for r in reviews if not r.get("advanced") and _same_review(r, decision.to_dict())]
        if same:
            log().info("gate unchanged since review %s: %s", same[-1]["id"], decision.decision)
            return _summary(dict(same[-1]))
        stored = gates.record_review(ctx, decision)
        log().warning(
            "%s stays in %s: %s\n%s", project, decision.from_phase, decision.decision, gates.describe_refusal(decision)
        )
        return _summary(stored.to_dict())


@task(name="gate-recipients", cache_policy=NO_CACHE)
async def recipients_task(project: str) -> dict[str, Any]:
    with service_context() as ctx:
        p = ctx.store.get(project)
        ids = [p.charter.project_manager, p.charter.sponsor]
        names = {**p.index("contacts"), **p.index("people")}
        return {
            "to": people_with_email(ctx, project, ids),
            "names": [names[i].name if i in names else i for i in ids if i],
        }


@flow(name="gate-review")
async def gate_review(project: str, to_phase: str | None = None) -> dict[str, Any]:
    """Evaluate the gate towards ``to_phase`` (default: the next phase) and act on the decision."""
    outcome = await evaluate_gate_task(project, to_phase)
    doc = await ensure_document_task(project, "gate_review", review_id=outcome["review"])
    people = await recipients_task(project)
    delivery = None
    if people["to"]:
        delivery = await send_document_task(project, doc["id"], people["to"])
    else:
        log().warning("neither the project manager nor the sponsor has an e-mail address: report not sent")
    await notify_task(project, "gate.reviewed", {**outcome, "document": doc["number"], "to": people["names"]})
    return {"project": project, **outcome, "document": doc, "delivery": delivery}

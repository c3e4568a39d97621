"""Gate use cases: check a gate, approve it, waive a rule, advance a project, read the audit trail.

The gate is evaluated *outside* the state machine (a failing condition in a state machine just
returns False); only when the decision allows it does ``advance`` perform the move, and then it
stores the gate review (rule pack hash, facts hash, every result, approvals, waivers), the new phase
and an audit event in one transaction with the project version it evaluated. A concurrent change
makes the store refuse (``ConcurrentUpdate``), so two advances of one project never both win, and a
decision is never applied to facts it did not see.

Who may approve or waive is checked against the project: charter roles (``sponsor``,
``project_manager``, ``client_representative``, ``steering``, ``acceptance_team``) name their
people; any other role matches contacts and people whose ``role`` is that role. The decision is
taken by the signed-in principal holding that role (linked by e-mail), or recorded by a
``pmo_admin`` on behalf of the holder named with ``by`` (see :mod:`lifecycle.services.acting`).
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import replace
from datetime import date
from typing import Any

from lifecycle.domain import policy
from lifecycle.domain.facts import build_facts
from lifecycle.domain.gates import Decision, Vote, Waiver
from lifecycle.domain.history import phase_history
from lifecycle.domain.lifecycle import Move, PhaseMachine
from lifecycle.domain.model import AuditEvent, Project
from lifecycle.errors import GateBlocked, InvalidInput, NotFound
from lifecycle.expr import CelEnv, evaluate_gate
from lifecycle.expr.explain import Part, explain
from lifecycle.services.acting import decider
from lifecycle.services.analytics import baseline_event, build_baseline
from lifecycle.services.context import Context
from lifecycle.services.projects import load_rules
from lifecycle.storage.protocol import Record

CHARTER_ROLES = policy.CHARTER_ROLES


def machine(ctx: Context) -> PhaseMachine:
    """The rule pack's state machine (built once with the pack)."""
    m: PhaseMachine = load_rules(ctx).machine
    return m


def resolve_move(ctx: Context, project: Project, to: str | None = None, transition: str | None = None) -> Move:
    return machine(ctx).resolve(project.phase, project.phase_before_hold, to=to, transition=transition)


def waivers(ctx: Context, code: str) -> list[Waiver]:
    return [Waiver.from_dict(r.data) for r in ctx.store.records(code, "waiver")]


def votes(ctx: Context, code: str, transition: str) -> list[Vote]:
    return [
        Vote.from_dict(r.data) for r in ctx.store.records(code, "approval") if r.data.get("transition") == transition
    ]


def history_facts(ctx: Context, project: Project) -> dict[str, Any]:
    """The facts of the project's phase history (``phase_history``, ``phase_entered``)."""
    return phase_history((r.data for r in ctx.store.records(project.code, "phase_change")), project.phase)


def evaluate(ctx: Context, project: Project, move: Move, *, today: date | None = None) -> Decision:
    """The decision for ``move`` on ``project`` as stored now (pure evaluation plus stored records)."""
    pack = load_rules(ctx)
    d: Decision = evaluate_gate(
        pack,
        move.name,
        project,
        today or ctx.today(),
        waivers(ctx, project.code),
        votes(ctx, project.code, move.name),
        history_facts(ctx, project),
    )
    return replace(d, evaluated_at=ctx.now().isoformat(timespec="seconds"), evaluated_by=ctx.actor)


def explanations(ctx: Context, project: Project, decision: Decision) -> dict[str, Part]:
    """For each failing or erroneous rule of ``decision``, its check taken apart with the values seen.

    The facts are rebuilt for the decision's date from ``project`` as given (the project the decision saw
    when called at evaluation time).
    """
    failing = [r.id for r in decision.results if r.outcome in ("fail", "error")]
    if not failing:
        return {}
    pack = load_rules(ctx)
    facts = build_facts(project, decision.today, history_facts(ctx, project))
    env = CelEnv(pack.extend_facts(facts, project))
    return {rule_id: explain(pack.rule(rule_id).check, env) for rule_id in failing}


def review_record(ctx: Context, project: Project, review: Decision) -> dict[str, Any]:
    """A gate review as stored: the decision and, for each rule that did not pass, why (the annex of the
    gate review report prints it)."""
    data = review.to_dict()
    found = explanations(ctx, project, review)
    if found:
        data["explanations"] = {rule_id: part.to_dict() for rule_id, part in found.items()}
    return data


def check_gate(ctx: Context, code: str, to: str | None = None, transition: str | None = None) -> Decision:
    project = ctx.store.get(code)
    return evaluate(ctx, project, resolve_move(ctx, project, to, transition))


def next_transition(ctx: Context, code: str) -> str | None:
    """The name of the project's next forward transition (its next gate), or None at the end."""
    project = ctx.store.get(code)
    m = machine(ctx).next_move(project.phase, project.phase_before_hold)
    return m.name if m else None


def is_final(ctx: Context, project: Project) -> bool:
    """Whether the project is in a final phase (closed, cancelled ...: nothing leaves it)."""
    return bool(load_rules(ctx).lifecycle.phase(project.phase).kind == "final")


def closing_target(ctx: Context, project: Project) -> str | None:
    """The final phase a forward move from the project's phase reaches (its 'close' move), if any.

    Phase names come from the rule pack; a pack that calls its last phase 'archived' works the same.
    """
    lc = load_rules(ctx).lifecycle
    for m in machine(ctx).moves(project.phase, project.phase_before_hold):
        if m.kind == "forward" and lc.phase(m.dest).kind == "final":
            return m.dest
    return None


def _review_id(ctx: Context, code: str) -> str:
    n = len(ctx.store.records(code, "gate_review")) + 1
    return f"{code}-GR-{n:03d}"


def record_review(ctx: Context, decision: Decision) -> Decision:
    """Store a gate review without moving the project (e.g. for the gate review report of a no-go)."""
    review = replace(decision, id=_review_id(ctx, decision.project))
    ev = AuditEvent(
        decision.project,
        "gate.reviewed",
        ctx.actor,
        ctx.now(),
        "gate_review",
        review.id,
        {
            "transition": decision.transition,
            "decision": decision.decision,
            "pack_hash": decision.pack.hash,
            "facts_hash": decision.facts_hash,
        },
    )
    data = review_record(ctx, ctx.store.get(decision.project), review)
    ctx.store.add_records(
        decision.project, [Record(decision.project, "gate_review", review.id, data, ctx.now())], events=[ev]
    )
    return review


def describe_refusal(d: Decision) -> str:
    why = (
        f"decision {d.decision.replace('_', ' ')}"
        if d.decision == "no_go"
        else f"the rules say {d.decision.replace('_', ' ')} but approvals are missing"
    )
    lines = [f"{d.project}: {d.from_phase} → {d.to_phase} refused: {why}"]
    for r in d.results:
        if r.blocks:
            what = "error" if r.outcome == "error" else "failed"
            ev = ", ".join(e.id for e in r.evidence[:8]) + (" …" if len(r.evidence) > 8 else "")
            lines.append(
                f"  ✗ {r.id} {what}: {r.message or r.title.get('en', '')}"
                + (f" [{ev}]" if ev else "")
                + (f" ({r.error})" if r.error else "")
            )
    if not d.approvals.satisfied:
        lines.append(
            f"  ✗ approvals missing: {', '.join(d.approvals.missing) or 'rejected'}"
            + (f" (rejected by {', '.join(d.approvals.rejected_by)})" if d.approvals.rejected_by else "")
        )
    return "\n".join(lines)


def advance(
    ctx: Context, code: str, to: str | None = None, *, transition: str | None = None, reason: str = ""
) -> dict[str, Any]:
    """Evaluate the gate and, if it allows, move the project; everything in one transaction.

    A signed-in principal needs ADVANCE on the project; without one the workspace itself acts (its
    owner in embedded mode, or a flow).
    """
    project = ctx.store.get(code)
    if ctx.principal is not None:
        policy.require(ctx.principal, policy.ADVANCE, project)
    move = resolve_move(ctx, project, to, transition)
    decision = evaluate(ctx, project, move)
    if not decision.allows_advance:
        raise GateBlocked(describe_refusal(decision), decision)
    state = machine(ctx).perform(project.phase, move.name, project.phase_before_hold)
    new = replace(project, phase=state.phase, phase_before_hold=state.phase_before_hold)
    review = replace(decision, id=_review_id(ctx, code), advanced=True)
    now = ctx.now()
    change = {
        "from": project.phase,
        "to": state.phase,
        "transition": move.name,
        "kind": move.kind,
        "review": review.id,
        "decision": decision.decision,
        "reason": reason,
        "at": now.isoformat(),
        "by": ctx.actor,
        "pack_hash": decision.pack.hash,
        "facts_hash": decision.facts_hash,
        "waivers": [w.id for w in decision.waivers],
        **ctx.acting(),
    }
    records = [
        Record(code, "gate_review", review.id, review_record(ctx, project, review), now),
        Record(code, "phase_change", review.id, change, now),
    ]
    events = [AuditEvent(code, "phase.changed", ctx.actor, now, "project", code, change)]
    notes = []
    if move.kind == "forward" and move.dest in (load_rules(ctx).lifecycle.baseline_phases or ()):
        # the pack's baseline_on_entry phases: the plan is baselined in the same transaction as the move
        bl = build_baseline(new, ctx.today(), name=f"{state.phase} {now.date().isoformat()}")
        new = replace(new, baselines=(*new.baselines, bl))
        events.append(baseline_event(ctx, code, bl))
        notes.append(f"baseline {bl.id} saved")
    saved = ctx.store.save(new, expected_version=project.version, events=events, records=records)
    return {
        "project": code,
        "from": project.phase,
        "to": saved.phase,
        "transition": move.name,
        "decision": decision.decision,
        "review": review.id,
        "version": saved.version,
        "notes": notes,
    }


# ------------------------------------------------------------------ who holds a role
def holders(project: Project, role: str) -> set[str]:
    """Ids of the people and contacts who hold ``role`` in ``project``."""
    return set(policy.role_holders(project, role))


def resolve_person(project: Project, by: str) -> str:
    """The id of the person or contact named by ``by``: their id, or their name as written."""
    ids = {p.id for p in project.people} | {c.id for c in project.contacts}
    if by in ids:
        return by
    want = " ".join(by.split()).casefold()
    everyone: list[Any] = [*project.people, *project.contacts]
    matches = sorted({x.id for x in everyone if " ".join(str(x.name).split()).casefold() == want})
    if len(matches) == 1:
        return str(matches[0])
    if len(matches) > 1:
        raise InvalidInput(f"'{by}' names several people in {project.code} ({', '.join(matches)}): use the id")
    raise InvalidInput(f"'{by}' is not a person or contact of {project.code} (give their id or full name)")


def _check_holder(project: Project, role: str, by: str) -> None:
    allowed = holders(project, role)
    if by not in allowed:
        who = ", ".join(sorted(allowed)) or "nobody in this project"
        raise InvalidInput(f"'{by}' does not hold the role '{role}' in {project.code} (held by: {who})")


def _name(project: Project, pid: str) -> str:
    item: Any
    for item in (*project.people, *project.contacts):
        if item.id == pid:
            return str(item.name)
    return pid


def approve(
    ctx: Context,
    code: str,
    *,
    role: str,
    by: str | None = None,
    comment: str = "",
    reject: bool = False,
    to: str | None = None,
) -> dict[str, Any]:
    """Record the acting principal's approval (or rejection) of the next gate (or the one reaching ``to``).

    ``by`` names the holder only when a pmo_admin records a decision taken elsewhere on their behalf.
    """
    project = ctx.store.get(code)
    move = resolve_move(ctx, project, to)
    req = move.transition.approvals
    if req is None or not req.required:
        raise InvalidInput(f"the gate {move.source} → {move.dest} ({move.name}) needs no approvals")
    if role not in req.roles:
        raise InvalidInput(f"the gate {move.name} takes approvals from: {', '.join(req.roles)} (not '{role}')")
    who = decider(ctx, project, policy.APPROVE_GATE, role=role, by=resolve_person(project, by) if by else None)
    by = who.person
    _check_holder(project, role, by)
    now = ctx.now()
    vote = Vote(
        role=role,
        by=by,
        decision="reject" if reject else "approve",
        comment=comment,
        at=now.isoformat(timespec="seconds"),
        project_version=project.version,
    )
    data = {
        **vote.to_dict(),
        "project_version": project.version,
        "transition": move.name,
        "name": _name(project, by),
        **who.audit,
    }
    key = f"{move.name}:{role}:{by}:v{project.version}"
    ev = AuditEvent(code, "gate.approval", ctx.actor, now, "approval", key, data)
    ctx.store.add_records(code, [Record(code, "approval", key, data, now)], events=[ev])
    status = evaluate(ctx, project, move).approvals
    return {
        "project": code,
        "transition": move.name,
        "vote": data,
        "satisfied": status.satisfied,
        "missing": list(status.missing),
        "requirement": status.rule,
    }


def waive(ctx: Context, code: str, *, rule: str, role: str, reason: str, until: date, by: str | None = None) -> Waiver:
    """Grant a waiver of one rule as the acting principal (first-class record: who, why, until when).

    ``by`` names the holder only when a pmo_admin records a waiver granted elsewhere on their behalf.
    """
    pack = load_rules(ctx)
    project = ctx.store.get(code)
    if not reason.strip():
        raise InvalidInput("a waiver needs a reason")
    known = pack_rule_ids(pack)
    if rule not in known:
        close = difflib.get_close_matches(rule, sorted(known), n=1)
        raise NotFound(f"no rule '{rule}' in the rule pack" + (f" (did you mean '{close[0]}'?)" if close else ""))
    problems = pack.waiver_policy.problems(role, ctx.today(), until)
    if problems:
        raise InvalidInput("waiver refused: " + "; ".join(problems))
    who = decider(ctx, project, policy.WAIVE_RULE, role=role, by=resolve_person(project, by) if by else None)
    by = who.person
    if "on_behalf_of" in who.audit:  # the principal's own holding was checked by decider
        _check_holder(project, role, by)
    now = ctx.now()
    wid = "W-" + hashlib.sha256(f"{code}:{rule}:{by}:{now.isoformat()}".encode()).hexdigest()[:8]
    w = Waiver(
        id=wid,
        rule=rule,
        granted_by=by,
        role=role,
        reason=reason.strip(),
        expires_on=until,
        granted_at=now.isoformat(timespec="seconds"),
    )
    data = {**w.to_dict(), "name": _name(project, by), **who.audit}
    ev = AuditEvent(code, "gate.waiver", ctx.actor, now, "waiver", wid, data)
    ctx.store.add_records(code, [Record(code, "waiver", wid, data, now)], events=[ev])
    return w


def pack_rule_ids(pack: Any) -> set[str]:
    out: set[str] = set()
    for gate in pack.gates.values():
        out |= {r.id for r in gate.rules}
    return out


def gate_reviews(ctx: Context, code: str) -> list[Decision]:
    return [Decision.from_dict(r.data) for r in ctx.store.records(code, "gate_review")]


def audit_trail(ctx: Context, code: str) -> list[AuditEvent]:
    return ctx.store.audit(code)


def verify_audit(ctx: Context, code: str | None = None) -> list[str]:
    return ctx.store.verify_audit(code)

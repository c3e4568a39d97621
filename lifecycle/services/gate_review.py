"""The gate review and close-out use cases the flows orchestrate: every decision of them lives here.

``review_gate`` evaluates a gate and acts on it: when the decision allows the move it advances the
project (storing the review), otherwise it stores the review, unless the same review (facts, rules,
results, approvals, waivers) is already stored, or the project already moved through this gate, in
which case the stored review is reported. So a retried flow repeats nothing. Its
:class:`GateOutcome` names the blocking rules exactly as the domain does
(:attr:`lifecycle.domain.gates.Decision.blocking`: a blocking rule that fails, or any rule whose
evaluation errors), so a notification of a blocked gate always says which rules block it.

``closing_plan`` says whether a project can be closed now and towards which final phase;
``blocked_reason`` words why a gate outcome did not move the project.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from lifecycle.domain.gates import Decision
from lifecycle.errors import GateBlocked
from lifecycle.services import gates
from lifecycle.services.context import Context
from lifecycle.storage.protocol import canonical_json, jsonable

CLOSING_DOCUMENTS = ("final_acceptance", "handover")

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


@dataclass(frozen=True)
class GateOutcome:
    """What a gate review did: the stored review, the decision, and what blocks the move (if anything)."""

    review: str
    transition: str
    from_phase: str
    to_phase: str
    decision: str
    advanced: bool
    blocking: tuple[str, ...]
    approvals_missing: tuple[str, ...]
    message: str = ""  # why the project stays (empty when it moved or was already moved)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["blocking"] = list(self.blocking)
        data["approvals_missing"] = list(self.approvals_missing)
        del data["message"]
        return data


def outcome_of(review: Mapping[str, Any], message: str = "") -> GateOutcome:
    """The outcome a stored gate review records; blocking rules as the domain defines them."""
    decision = Decision.from_dict(dict(review))
    return GateOutcome(
        review=str(review["id"]),
        transition=decision.transition,
        from_phase=decision.from_phase,
        to_phase=decision.to_phase,
        decision=decision.decision,
        advanced=bool(review.get("advanced")),
        blocking=tuple(r.id for r in decision.blocking),
        approvals_missing=tuple(decision.approvals.missing),
        message=message,
    )


def same_review(stored: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Would storing ``new`` repeat ``stored``? Same facts, rules, results, approvals and waivers."""
    return all(canonical_json(jsonable(stored.get(k))) == canonical_json(jsonable(new.get(k))) for k in _COMPARED)


def _stored_reviews(ctx: Context, code: str) -> list[dict[str, Any]]:
    return sorted(
        (dict(r.data) for r in ctx.store.records(code, "gate_review")),
        key=lambda d: (str(d.get("evaluated_at", "")), str(d.get("id", ""))),
    )


def _already_moved(reviews: Sequence[Mapping[str, Any]], phase: str, to_phase: str | None) -> Mapping[str, Any] | None:
    if not to_phase or phase != to_phase:
        return None
    done = [r for r in reviews if r.get("advanced") and r.get("to") == to_phase]
    return done[-1] if done else None


def _try_advance(ctx: Context, code: str, decision: Decision) -> tuple[GateOutcome | None, Decision]:
    """Advance when the decision allows it; the fresher decision when the project changed meanwhile."""
    if not decision.allows_advance:
        return None, decision
    try:
        moved = gates.advance(ctx, code, decision.to_phase, transition=decision.transition, reason="gate_review flow")
    except GateBlocked as exc:  # the project changed between check and advance
        return None, exc.decision
    review = ctx.store.get_record(code, "gate_review", moved["review"])
    if review is None:  # advance stores the review in the same transaction as the move
        raise RuntimeError(f"gate review {moved['review']} of {code} was not stored")
    return outcome_of(review.data), decision


def review_gate(ctx: Context, code: str, to_phase: str | None = None) -> GateOutcome:
    """Evaluate the gate towards ``to_phase`` (default: the next phase), advance if allowed, store the review."""
    reviews = _stored_reviews(ctx, code)
    done = _already_moved(reviews, ctx.store.get(code).phase, to_phase)
    if done is not None:
        return outcome_of(done)
    moved, decision = _try_advance(ctx, code, gates.check_gate(ctx, code, to_phase))
    if moved is not None:
        return moved
    refusal = gates.describe_refusal(decision)
    same = [r for r in reviews if not r.get("advanced") and same_review(r, decision.to_dict())]
    if same:
        return outcome_of(same[-1], refusal)
    return outcome_of(gates.record_review(ctx, decision).to_dict(), refusal)


def blocked_reason(outcome: Mapping[str, Any]) -> str:
    """Why the gate did not move the project: its blocking rules and missing approvals, else the decision.

    ``outcome`` is a :meth:`GateOutcome.to_dict` (what the flows pass between tasks).
    """
    parts = list(outcome["blocking"]) + [f"approval {m}" for m in outcome["approvals_missing"]]
    return ", ".join(parts) or str(outcome["decision"])


# ------------------------------------------------------------------ recipients
@dataclass(frozen=True)
class Recipients:
    """Who hears of a gate review: ids with an e-mail address (``to``) and everyone's names."""

    to: tuple[str, ...]
    names: tuple[str, ...]


def people_with_email(ctx: Context, code: str, ids: Sequence[str]) -> list[str]:
    """The ids among ``ids`` that name a person or contact with an e-mail address."""
    project = ctx.store.get(code)
    index = {**project.index("contacts"), **project.index("people")}
    return [i for i in dict.fromkeys(ids) if i and i in index and index[i].email]


def review_recipients(ctx: Context, code: str) -> Recipients:
    """The project manager and the sponsor: those to e-mail the gate review report to."""
    project = ctx.store.get(code)
    ids = [project.charter.project_manager, project.charter.sponsor]
    names = {**project.index("contacts"), **project.index("people")}
    return Recipients(
        to=tuple(people_with_email(ctx, code, ids)),
        names=tuple(str(names[i].name) if i in names else i for i in ids if i),
    )


# ------------------------------------------------------------------ close-out
@dataclass(frozen=True)
class ClosingPlan:
    """Whether the project can close now: its phase, the final phase a forward move reaches, or why not."""

    phase: str
    final: bool  # already in a final phase
    target: str | None
    possible: bool
    reason: str = ""


def closing_plan(ctx: Context, code: str) -> ClosingPlan:
    """The project's phase and the final phase a forward move from it reaches (none: not closable now)."""
    project = ctx.store.get(code)
    if gates.is_final(ctx, project):
        return ClosingPlan(project.phase, True, project.phase, False, f"already in the final phase '{project.phase}'")
    target = gates.closing_target(ctx, project)
    if target is None:
        reason = f"no move from '{project.phase}' closes the project; take it through its gates first"
        return ClosingPlan(project.phase, False, None, False, reason)
    return ClosingPlan(project.phase, False, target, True)

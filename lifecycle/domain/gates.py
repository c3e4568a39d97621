"""Gate decisions: rule results, waivers, approvals and how they add up to go / conditional go / no-go.

Pure data and pure functions; no I/O and no CEL (the spec layer evaluates the expressions and hands
the outcomes here). :class:`Decision` is the gate review record of ``docs/CONTRACTS.md``:
``to_dict()`` gives exactly that shape and ``from_dict()`` reads it back.

Aggregation (:func:`aggregate`):

* a blocking rule that fails, or **any** rule whose evaluation errors, makes the decision ``no_go``
  (an error never passes: a rule that cannot be evaluated has not shown its criterion is met);
* otherwise a failing warning, or a rule passed only by a waiver, makes it ``conditional_go``;
* otherwise ``go``.

Waivers (:class:`Waiver`) turn a failing or erroring rule into ``waived``; a waiver is active up to
and including its ``expires_on`` date, so an expired waiver stops applying and the rule blocks again.
Approvals (:func:`approval_status`) are counted only when given on the project version being
decided, so any change to the project after a vote voids it; a reject vote by a required role blocks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

DECISION_SCHEMA_VERSION = 1
Outcome = Literal["pass", "fail", "error", "waived", "not_applicable"]
Verdict = Literal["go", "conditional_go", "no_go"]
OUTCOMES: tuple[str, ...] = ("pass", "fail", "error", "waived", "not_applicable")
VERDICTS: tuple[str, ...] = ("go", "conditional_go", "no_go")
SEVERITIES: tuple[str, ...] = ("blocking", "warning")


def _iso(value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value) if value is not None else ""


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


# --------------------------------------------------------------------------- waivers
@dataclass(frozen=True, slots=True)
class Waiver:
    """A recorded permission to pass one failing rule until a date (inclusive)."""

    id: str
    rule: str
    granted_by: str
    role: str
    reason: str
    expires_on: date
    granted_at: str = ""  # ISO datetime

    def is_active(self, today: date) -> bool:
        return today <= self.expires_on

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "granted_by": self.granted_by,
            "role": self.role,
            "reason": self.reason,
            "expires_on": self.expires_on.isoformat(),
            "granted_at": self.granted_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Waiver:
        return cls(
            id=str(data["id"]),
            rule=str(data["rule"]),
            granted_by=str(data.get("granted_by", "")),
            role=str(data.get("role", "")),
            reason=str(data.get("reason", "")),
            expires_on=_date(data["expires_on"]),
            granted_at=_iso(data.get("granted_at", "")),
        )


@dataclass(frozen=True, slots=True)
class WaiverPolicy:
    """Who may waive a rule, and for how long at most (from the rule pack)."""

    roles: tuple[str, ...] = ()
    max_days: int = 90

    def problems(self, role: str, granted_on: date, expires_on: date) -> list[str]:
        """Why a waiver with these terms may not be granted (empty when it may)."""
        out: list[str] = []
        if role not in self.roles:
            allowed = ", ".join(self.roles) or "nobody"
            out.append(f"role '{role}' may not grant waivers (allowed: {allowed})")
        if expires_on < granted_on:
            out.append(f"expiry {expires_on} is before today ({granted_on})")
        elif (expires_on - granted_on).days > self.max_days:
            out.append(
                f"a waiver lasts at most {self.max_days} days; {expires_on} is "
                f"{(expires_on - granted_on).days} days away"
            )
        return out


def active_waiver(waivers: Iterable[Waiver], rule_id: str, today: date) -> Waiver | None:
    """The active waiver for a rule on ``today`` (the one lasting longest), or None."""
    best: Waiver | None = None
    for w in waivers:
        if w.rule == rule_id and w.is_active(today) and (best is None or w.expires_on > best.expires_on):
            best = w
    return best


# --------------------------------------------------------------------------- approvals
@dataclass(frozen=True, slots=True)
class Vote:
    """One approval (or rejection) of a gate, by a person acting in a role."""

    role: str
    by: str
    decision: Literal["approve", "reject"] = "approve"
    comment: str = ""
    at: str = ""  # ISO datetime
    project_version: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The contract's vote shape (the project version is what made it count, not part of it)."""
        return {"role": self.role, "by": self.by, "comment": self.comment, "at": self.at, "decision": self.decision}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], project_version: int | None = None) -> Vote:
        decision = str(data.get("decision", "approve"))
        if decision not in ("approve", "reject"):
            raise ValueError(f"vote decision must be approve or reject, not {decision!r}")
        version = data.get("project_version", project_version if project_version is not None else 0)
        return cls(
            role=str(data["role"]),
            by=str(data["by"]),
            decision=decision,  # type: ignore[arg-type]
            comment=str(data.get("comment", "")),
            at=_iso(data.get("at", "")),
            project_version=int(version),
        )


@dataclass(frozen=True, slots=True)
class ApprovalRequirement:
    """``all_of``: each role approves; ``n_of``: ``n`` distinct people among ``n_of_roles`` approve.

    Both may be given (both must hold). An empty requirement requires nothing.
    """

    all_of: tuple[str, ...] = ()
    n: int = 0
    n_of_roles: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return bool(self.all_of) or self.n > 0

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.all_of + self.n_of_roles))

    def describe(self) -> str:
        parts = []
        if self.all_of:
            parts.append("all of: " + ", ".join(self.all_of))
        if self.n:
            parts.append(f"{self.n} of: " + ", ".join(self.n_of_roles))
        return "; ".join(parts) or "none"

    @classmethod
    def parse(cls, text: str) -> ApprovalRequirement:
        """The inverse of :meth:`describe` (used by ``Decision.from_dict``)."""
        all_of: tuple[str, ...] = ()
        n = 0
        roles: tuple[str, ...] = ()
        for part in (p.strip() for p in text.split(";")):
            if part.startswith("all of:"):
                all_of = tuple(r.strip() for r in part[len("all of:") :].split(",") if r.strip())
            elif " of:" in part:
                head, tail = part.split(" of:", 1)
                if head.strip().isdigit():
                    n = int(head)
                    roles = tuple(r.strip() for r in tail.split(",") if r.strip())
        return cls(all_of=all_of, n=n, n_of_roles=roles)


@dataclass(frozen=True, slots=True)
class ApprovalStatus:
    required: bool
    rule: str
    satisfied: bool
    votes: tuple[Vote, ...] = ()  # the votes that count (current version, a required role)
    missing: tuple[str, ...] = ()
    rejected_by: tuple[str, ...] = ()  # "name (role)" of counted reject votes
    voided: tuple[Vote, ...] = ()  # votes given on an earlier project version

    def to_dict(self) -> dict[str, Any]:
        return {
            "required": self.required,
            "rule": self.rule,
            "satisfied": self.satisfied,
            "votes": [v.to_dict() for v in self.votes],
            "missing": list(self.missing),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ApprovalStatus:
        votes = tuple(Vote.from_dict(v) for v in data.get("votes", ()))
        return cls(
            required=bool(data.get("required", False)),
            rule=str(data.get("rule", "")),
            satisfied=bool(data.get("satisfied", True)),
            votes=votes,
            missing=tuple(str(m) for m in data.get("missing", ())),
            rejected_by=tuple(f"{v.by} ({v.role})" for v in votes if v.decision == "reject"),
        )


def approval_status(
    requirement: ApprovalRequirement | None, votes: Iterable[Vote], project_version: int
) -> ApprovalStatus:
    """Whether ``votes`` satisfy ``requirement`` for the project at ``project_version``.

    A vote counts only if it was given on ``project_version`` and in a role the requirement names;
    a person's latest counted vote per role is the one that stands. Any counted reject blocks.
    """
    if requirement is None or not requirement.required:
        return ApprovalStatus(required=False, rule="none", satisfied=True)
    roles = set(requirement.roles)
    counted: dict[tuple[str, str], Vote] = {}
    voided: list[Vote] = []
    for v in votes:
        if v.role not in roles:
            continue
        if v.project_version != project_version:
            voided.append(v)
            continue
        counted[(v.role, v.by)] = v  # later votes replace earlier ones by the same person and role
    current = tuple(counted.values())
    approvals = [v for v in current if v.decision == "approve"]
    rejects = tuple(f"{v.by} ({v.role})" for v in current if v.decision == "reject")
    missing: list[str] = []
    approved_roles = {v.role for v in approvals}
    for role in requirement.all_of:
        if role not in approved_roles:
            missing.append(role)
    if requirement.n:
        people = {v.by for v in approvals if v.role in requirement.n_of_roles}
        short = requirement.n - len(people)
        if short > 0:
            missing.append(f"{short} more of {requirement.n}: {', '.join(requirement.n_of_roles)}")
    satisfied = not missing and not rejects
    return ApprovalStatus(
        required=True,
        rule=requirement.describe(),
        satisfied=satisfied,
        votes=current,
        missing=tuple(missing),
        rejected_by=rejects,
        voided=tuple(voided),
    )


# --------------------------------------------------------------------------- rule results
@dataclass(frozen=True, slots=True)
class Evidence:
    id: str
    label: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "label": self.label}


@dataclass(frozen=True, slots=True)
class RuleResult:
    id: str
    title: Mapping[str, str]
    severity: str
    outcome: str
    message: str = ""
    evidence: tuple[Evidence, ...] = ()
    source: str = ""
    tags: tuple[str, ...] = ()
    error: str = ""
    waiver: Waiver | None = None

    @property
    def blocks(self) -> bool:
        """Whether this result alone makes the decision no-go."""
        return self.outcome == "error" or (self.outcome == "fail" and self.severity == "blocking")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": {"zh": self.title.get("zh", ""), "en": self.title.get("en", "")},
            "severity": self.severity,
            "outcome": self.outcome,
            "message": self.message,
            "evidence": [e.to_dict() for e in self.evidence],
            "source": self.source,
            "tags": list(self.tags),
            "error": self.error,
            "waiver": self.waiver.to_dict() if self.waiver else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleResult:
        waiver = data.get("waiver")
        title = data.get("title") or {}
        return cls(
            id=str(data["id"]),
            title={"zh": str(title.get("zh", "")), "en": str(title.get("en", ""))},
            severity=str(data.get("severity", "blocking")),
            outcome=str(data["outcome"]),
            message=str(data.get("message", "")),
            evidence=tuple(Evidence(str(e.get("id", "")), str(e.get("label", ""))) for e in data.get("evidence", ())),
            source=str(data.get("source", "")),
            tags=tuple(str(t) for t in data.get("tags", ())),
            error=str(data.get("error", "")),
            waiver=Waiver.from_dict(waiver) if waiver else None,
        )


def apply_waiver(result: RuleResult, waivers: Iterable[Waiver], today: date) -> RuleResult:
    """``result`` marked ``waived`` if it fails or errors and an active waiver covers its rule."""
    if result.outcome not in ("fail", "error"):
        return result
    w = active_waiver(waivers, result.id, today)
    if w is None:
        return result
    return replace(result, outcome="waived", waiver=w)


def aggregate(results: Sequence[RuleResult]) -> str:
    """go / conditional_go / no_go from rule results (see the module docstring)."""
    if any(r.blocks for r in results):
        return "no_go"
    if any(r.outcome == "waived" or (r.outcome == "fail" and r.severity == "warning") for r in results):
        return "conditional_go"
    return "go"


# --------------------------------------------------------------------------- the decision
@dataclass(frozen=True, slots=True)
class PackRef:
    name: str
    version: str
    hash: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "hash": self.hash}


@dataclass(frozen=True, slots=True)
class Decision:
    """A gate review: what was decided, on which facts and rules, and why."""

    project: str
    transition: str
    from_phase: str
    to_phase: str
    decision: str
    today: date
    pack: PackRef
    facts_hash: str
    project_version: int
    results: tuple[RuleResult, ...]
    approvals: ApprovalStatus
    waivers: tuple[Waiver, ...] = ()
    evaluated_at: str = ""  # ISO datetime, UTC
    evaluated_by: str = ""
    id: str = ""  # set by the service when stored
    advanced: bool = False
    schema_version: int = DECISION_SCHEMA_VERSION
    notes: tuple[str, ...] = field(default=(), compare=False)  # not stored: hints for the CLI

    @property
    def allows_advance(self) -> bool:
        """The rules allow it (go or conditional go) and the required approvals are in."""
        return self.decision != "no_go" and self.approvals.satisfied

    @property
    def blocking(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.results if r.blocks)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(OUTCOMES, 0)
        for r in self.results:
            out[r.outcome] = out.get(r.outcome, 0) + 1
        return out

    def result(self, rule_id: str) -> RuleResult:
        for r in self.results:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "id": self.id,
            "project": self.project,
            "transition": self.transition,
            "from": self.from_phase,
            "to": self.to_phase,
            "decision": self.decision,
            "evaluated_at": self.evaluated_at,
            "evaluated_by": self.evaluated_by,
            "today": self.today.isoformat(),
            "pack": self.pack.to_dict(),
            "facts_hash": self.facts_hash,
            "project_version": self.project_version,
            "results": [r.to_dict() for r in self.results],
            "approvals": self.approvals.to_dict(),
            "waivers": [w.to_dict() for w in self.waivers],
            "advanced": self.advanced,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        version = int(data.get("schema_version", DECISION_SCHEMA_VERSION))
        if version != DECISION_SCHEMA_VERSION:
            raise ValueError(f"gate review schema_version {version} is not supported")
        pack = data.get("pack") or {}
        project_version = int(data.get("project_version", 0))
        approvals = ApprovalStatus.from_dict(data.get("approvals") or {})
        approvals = replace(
            approvals, votes=tuple(replace(v, project_version=project_version) for v in approvals.votes)
        )
        return cls(
            project=str(data.get("project", "")),
            transition=str(data["transition"]),
            from_phase=str(data.get("from", "")),
            to_phase=str(data.get("to", "")),
            decision=str(data["decision"]),
            today=_date(data["today"]),
            pack=PackRef(str(pack.get("name", "")), str(pack.get("version", "")), str(pack.get("hash", ""))),
            facts_hash=str(data.get("facts_hash", "")),
            project_version=project_version,
            results=tuple(RuleResult.from_dict(r) for r in data.get("results", ())),
            approvals=approvals,
            waivers=tuple(Waiver.from_dict(w) for w in data.get("waivers", ())),
            evaluated_at=str(data.get("evaluated_at", "")),
            evaluated_by=str(data.get("evaluated_by", "")),
            id=str(data.get("id", "")),
            advanced=bool(data.get("advanced", False)),
            schema_version=version,
        )


__all__ = [
    "DECISION_SCHEMA_VERSION",
    "OUTCOMES",
    "SEVERITIES",
    "VERDICTS",
    "ApprovalRequirement",
    "ApprovalStatus",
    "Decision",
    "Evidence",
    "PackRef",
    "RuleResult",
    "Vote",
    "Waiver",
    "WaiverPolicy",
    "active_waiver",
    "aggregate",
    "apply_waiver",
    "approval_status",
]

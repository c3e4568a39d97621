"""Evaluating gates: a pure function of (rule pack, project, today).

:func:`evaluate_gate` is what the services call for ``gate check`` and ``advance``: it finds the move,
builds the facts document and its CEL context once, evaluates every rule of the gate (``when`` ->
``not_applicable``; ``check`` true -> ``pass``, false -> ``fail`` with its evidence; any evaluation
error -> ``error``, which blocks; so does a rule over its evaluation budget, and every rule not
reached within the gate's, see :mod:`lifecycle.expr.budget`), applies active waivers, counts
approvals on the current project version, and returns a :class:`~lifecycle.domain.gates.Decision`.
It does no I/O and changes nothing.
:func:`deliverable_results` evaluates a quality standard's CEL over each deliverable (for the
quality-check flows).

Rules, gates and packs are the rule-pack loader's frozen objects; this module reads them through the
small protocols below, so rule evaluation does not depend on how packs are loaded.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Any, Protocol

from lifecycle.domain.facts import build_facts, facts_hash, use_orjson
from lifecycle.domain.gates import (
    Decision,
    Evidence,
    PackRef,
    RuleResult,
    Vote,
    Waiver,
    aggregate,
    apply_waiver,
    approval_status,
)
from lifecycle.domain.lifecycle import Move, PhaseMachine
from lifecycle.domain.metrics import referenced_on_demand
from lifecycle.domain.model import Project
from lifecycle.expr.budget import GATE_SECONDS
from lifecycle.expr.compiler import CelSyntax, CompiledExpr, compile_expr
from lifecycle.expr.env import CelEnv, Evaluated, referenced_names

try:  # optional: orjson serialises facts faster; the bytes, and so the hash, stay json.dumps's
    import orjson
except ImportError:  # json.dumps alone: slower, the same hash
    pass
else:
    use_orjson(orjson)

EVIDENCE_LIMIT = 50


class RuleSpec(Protocol):
    """A compiled gate rule, as the rule-pack loader gives it."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> Mapping[str, str]: ...
    @property
    def severity(self) -> str: ...
    @property
    def check(self) -> CompiledExpr: ...
    @property
    def when(self) -> CompiledExpr | None: ...
    @property
    def evidence(self) -> CompiledExpr | None: ...
    @property
    def message(self) -> Mapping[str, str]: ...
    @property
    def tags(self) -> tuple[str, ...]: ...
    @property
    def source(self) -> str: ...
    def text(self, what: Mapping[str, str], lang: str) -> str: ...


class GateSpec(Protocol):
    @property
    def rules(self) -> Sequence[RuleSpec]: ...


class PackSpec(Protocol):
    """What gate evaluation reads of a rule pack."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def hash(self) -> str: ...
    @property
    def machine(self) -> PhaseMachine: ...
    def gate_for(self, transition: str) -> GateSpec: ...


class QualitySpecLike(Protocol):
    @property
    def applies_to(self) -> CompiledExpr | None: ...


def lang_of(project: Project) -> str:
    return "zh" if project.charter.locale.lower().startswith("zh") else "en"


# --------------------------------------------------------------------------- one rule
def _evidence(env: CelEnv, rule: RuleSpec) -> tuple[tuple[Evidence, ...], str]:
    if rule.evidence is None:
        return (), ""
    ev = env.evaluate(rule.evidence)
    if not ev.ok:
        return (), f"evidence: {ev.error}"
    value = ev.value
    if not isinstance(value, list):
        value = [value] if value not in (None, "") else []
    if set(map(type, value)) <= {str}:
        keys: list[str] = list(dict.fromkeys(value))  # ids: de-duplicated in order, at C speed
        out = [Evidence(key, env.label(key)) for key in keys[:EVIDENCE_LIMIT]]
        more = len(keys) - len(out)
    else:
        out, more = _mixed_evidence(env, value)
    if more:
        out.append(Evidence("", f"… and {more} more"))
    return tuple(out), ""


def _mixed_evidence(env: CelEnv, value: list[Any]) -> tuple[list[Evidence], int]:
    """Evidence from ids and ``{'id', 'label'}`` maps: the first EVIDENCE_LIMIT, and how many more."""
    out: list[Evidence] = []
    seen: set[str] = set()
    more = 0
    for item in value:
        key = str(item.get("id", "")) if isinstance(item, Mapping) else str(item)
        if key in seen:
            continue
        seen.add(key)
        if len(out) >= EVIDENCE_LIMIT:
            more += 1  # counted, not labelled: only the first EVIDENCE_LIMIT are shown
            continue
        label = str(item.get("label") or env.label(key)) if isinstance(item, Mapping) else env.label(key)
        out.append(Evidence(key, label))
    return out, more


def evaluate_rule(rule: RuleSpec, env: CelEnv, lang: str = "en") -> RuleResult:
    """The outcome of one rule against one project's CEL context (waivers not applied)."""
    base = RuleResult(
        id=rule.id,
        title=dict(rule.title),
        severity=rule.severity,
        outcome="pass",
        message="",
        source=rule.source,
        tags=tuple(rule.tags),
    )
    message = rule.text(rule.message, lang) or rule.text(rule.title, lang)
    if rule.when is not None:
        w = env.evaluate(rule.when)
        if not w.ok:
            return replace(base, outcome="error", message=message, error=_error(rule, "when: ", w))
        if not isinstance(w.value, bool):
            return replace(
                base, outcome="error", message=message, error=f"when must give true or false, gave {w.value!r}"
            )
        if not w.value:
            return replace(base, outcome="not_applicable")
    c = env.evaluate(rule.check)
    if not c.ok:
        return replace(base, outcome="error", message=message, error=_error(rule, "", c))
    if not isinstance(c.value, bool):
        return replace(base, outcome="error", message=message, error=f"check must give true or false, gave {c.value!r}")
    if c.value:
        return base
    evidence, ev_error = _evidence(env, rule)
    return replace(base, outcome="fail", message=message, evidence=evidence, error=ev_error)


def _error(rule: RuleSpec, part: str, got: Evaluated) -> str:
    """An evaluation error as a rule result says it (a spent budget names the rule)."""
    return f"rule {rule.id} {got.error}" if got.kind == "budget" else f"{part}{got.error}"


def _not_reached(rule: RuleSpec, lang: str, seconds: float) -> RuleResult:
    return RuleResult(
        id=rule.id,
        title=dict(rule.title),
        severity=rule.severity,
        outcome="error",
        message=rule.text(rule.message, lang) or rule.text(rule.title, lang),
        source=rule.source,
        tags=tuple(rule.tags),
        error=f"rule {rule.id} not evaluated: the gate's evaluation budget of {seconds:g} seconds was spent",
    )


def evaluate_rules(
    rules: Sequence[RuleSpec],
    env: CelEnv,
    today: date,
    waivers: Iterable[Waiver] = (),
    lang: str = "en",
    seconds: float = GATE_SECONDS,
) -> tuple[RuleResult, ...]:
    """Every rule's result, waivers applied; rules not reached within ``seconds`` are errors."""
    waivers = tuple(waivers)
    deadline = time.monotonic() + seconds
    out = []
    for rule in rules:
        result = evaluate_rule(rule, env, lang) if time.monotonic() <= deadline else _not_reached(rule, lang, seconds)
        out.append(apply_waiver(result, waivers, today))
    return tuple(out)


# --------------------------------------------------------------------------- native or library
@dataclass(frozen=True)
class LibraryOnlyRule:
    """A rule with an expression that never runs natively: which parts, and why (for ``pmo rules lint``)."""

    rule: str
    parts: tuple[tuple[str, str], ...]  # (when | check | evidence, why it has no native function)

    def describe(self) -> str:
        return f"{self.rule} " + "; ".join(f"{part}: {reason}" for part, reason in self.parts)


def library_only_rules(rules: Iterable[RuleSpec]) -> list[LibraryOnlyRule]:
    """The rules with a ``when``, ``check`` or ``evidence`` that always runs in the library, in order."""
    out = []
    for rule in rules:
        parts = tuple(
            (name, expr.library_only)
            for name, expr in (("when", rule.when), ("check", rule.check), ("evidence", rule.evidence))
            if expr is not None and expr.native is None
        )
        if parts:
            out.append(LibraryOnlyRule(rule.id, parts))
    return out


# --------------------------------------------------------------------------- a gate
_NAMES: dict[tuple[str, str], frozenset[str]] = {}


def _names(pack: PackSpec, transition: str, rules: Sequence[RuleSpec]) -> frozenset[str]:
    """The facts a gate's rules read as CEL variables (computed once per pack and gate)."""
    key = (pack.hash, transition)
    if key not in _NAMES:
        _NAMES[key] = referenced_names(e for r in rules for e in (r.when, r.check, r.evidence))
    return _NAMES[key]


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _on_demand(pack: PackSpec, transition: str) -> frozenset[str]:
    """The on-demand metrics (levelled finish, P80 finish) the gate's rules use: only those are computed."""
    texts = []
    for r in pack.gate_for(transition).rules:
        texts += [e.text for e in (r.check, r.when, r.evidence) if e is not None]
    return referenced_on_demand(texts)


def decide(
    pack: PackSpec,
    move: Move,
    project: Project,
    facts: Mapping[str, Any],
    today: date,
    waivers: Iterable[Waiver] = (),
    votes: Iterable[Vote] = (),
    *,
    env: CelEnv | None = None,
    now: datetime | None = None,
    actor: str = "",
    lang: str | None = None,
) -> Decision:
    """The decision for ``move`` given an already built facts document (and optionally its context)."""
    rules = pack.gate_for(move.name).rules
    extend = getattr(pack, "extend_facts", None)  # a pack with params or custom fields adds them
    if extend is not None and env is None:
        facts = extend(facts, project)
    env = env or CelEnv(facts, names=_names(pack, move.name, rules))
    waivers = tuple(waivers)
    results = evaluate_rules(rules, env, today, waivers, lang or lang_of(project))
    used = {r.waiver.id: r.waiver for r in results if r.waiver is not None}
    approvals = approval_status(move.transition.approvals, votes, project.version)
    notes = []
    if approvals.voided:
        notes.append(
            f"{len(approvals.voided)} approval vote(s) were given on an earlier version of the project "
            "and no longer count"
        )
    return Decision(
        project=project.code,
        transition=move.name,
        from_phase=move.source,
        to_phase=move.dest,
        decision=aggregate(results),
        today=today,
        pack=PackRef(pack.name, pack.version, pack.hash),
        facts_hash=facts_hash(facts),
        project_version=project.version,
        results=results,
        approvals=approvals,
        waivers=tuple(used.values()),
        evaluated_at=(now.astimezone(timezone.utc).isoformat(timespec="seconds") if now else _utc_now()),
        evaluated_by=actor,
        notes=tuple(notes),
    )


def evaluate_gate(
    pack: PackSpec,
    transition_name: str,
    project: Project,
    today: date,
    waivers: Iterable[Waiver] = (),
    votes: Iterable[Vote] = (),
    extra: Mapping[str, Any] | None = None,
    *,
    now: datetime | None = None,
    actor: str = "",
    lang: str | None = None,
) -> Decision:
    """Evaluate the gate of ``transition_name`` for ``project`` as it stands (``project.phase``).

    Raises :class:`~lifecycle.errors.IllegalTransition` if the transition cannot be taken from the
    project's phase. ``waivers`` are all of the project's waivers (only active ones for this gate's
    rules apply); ``votes`` are the approval votes recorded for this transition (only those on
    ``project.version`` count). ``extra`` is merged into the facts (e.g. ``approvals``).
    """
    move = pack.machine.move(project.phase, transition_name, project.phase_before_hold)
    facts = build_facts(project, today, extra, wanted=_on_demand(pack, move.name))
    return decide(pack, move, project, facts, today, waivers, votes, now=now, actor=actor, lang=lang)


def check_gate(
    pack: PackSpec,
    project: Project,
    today: date,
    *,
    to: str | None = None,
    transition: str | None = None,
    waivers: Iterable[Waiver] = (),
    votes: Iterable[Vote] = (),
    extra: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    actor: str = "",
    lang: str | None = None,
) -> Decision:
    """Like :func:`evaluate_gate`, choosing the move by target phase (``--to``) or the next forward one."""
    move = pack.machine.resolve(project.phase, project.phase_before_hold, to=to, transition=transition)
    facts = build_facts(project, today, extra, wanted=_on_demand(pack, move.name))
    return decide(pack, move, project, facts, today, waivers, votes, now=now, actor=actor, lang=lang)


# --------------------------------------------------------------------------- quality standards
def deliverable_results(env: CelEnv, expr: CompiledExpr) -> list[tuple[str, Evaluated]]:
    """``expr`` (over ``d``, a deliverable) evaluated for every deliverable of the project, in order.

    One ``map`` over the deliverables is tried first; if it errors, each deliverable is evaluated on
    its own so one bad record does not hide the others' results.
    """
    deliverables = env.facts.get("deliverables") or []
    ids = [str(d.get("id", "")) for d in deliverables]
    if not ids:
        return []
    whole = env.evaluate_text(f"deliverables.map(d, ({expr.text}))")
    if whole.ok and isinstance(whole.value, list) and len(whole.value) == len(ids):
        return [(i, Evaluated(v)) for i, v in zip(ids, whole.value, strict=True)]
    out = []
    for index, key in enumerate(ids):
        out.append((key, env.evaluate_text(f"[deliverables[{index}]].map(d, ({expr.text}))[0]")))
    return out


def quality_targets(spec: QualitySpecLike, env: CelEnv) -> list[str]:
    """Ids of the deliverables a quality standard applies to (an error in applies_to selects it)."""
    if spec.applies_to is None:
        return [str(d.get("id", "")) for d in env.facts.get("deliverables") or []]
    return [key for key, res in deliverable_results(env, spec.applies_to) if not res.ok or res.value is True]


def evaluate_expression(text: str, project: Project, today: date, extra: Mapping[str, Any] | None = None) -> Evaluated:
    """Evaluate one CEL expression against a project (for trying rules out; not used by gates)."""
    compiled = compile_expr(text)
    if isinstance(compiled, CelSyntax):
        return Evaluated(None, compiled.describe(), "syntax")
    return CelEnv(build_facts(project, today, extra)).evaluate(compiled)


__all__ = [
    "EVIDENCE_LIMIT",
    "GateSpec",
    "LibraryOnlyRule",
    "PackSpec",
    "QualitySpecLike",
    "RuleSpec",
    "check_gate",
    "decide",
    "deliverable_results",
    "evaluate_expression",
    "evaluate_gate",
    "evaluate_rule",
    "evaluate_rules",
    "lang_of",
    "library_only_rules",
]

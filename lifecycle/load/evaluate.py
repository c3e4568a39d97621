"""Evaluating gates and running a pack's rule tests: a pure function of (rule pack, project, today).

:func:`evaluate_gate` is what the services call for ``gate check`` and ``advance``: it finds the move,
builds the facts document and its CEL context once, evaluates every rule of the gate (``when`` ->
``not_applicable``; ``check`` true -> ``pass``, false -> ``fail`` with its evidence; any evaluation
error -> ``error``, which blocks), applies active waivers, counts approvals on the current project
version, and returns a :class:`~lifecycle.domain.gates.Decision`. It does no I/O and changes nothing.

:func:`run_pack_tests` runs the pack's ``tests/*.yaml``; :func:`deliverable_results` evaluates a
quality standard's CEL over each deliverable (for the quality-check flows).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Any

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
from lifecycle.domain.lifecycle import Move
from lifecycle.domain.model import Charter, Organisation, Project
from lifecycle.errors import LifecycleError, SpecError
from lifecycle.load.cel import CelEnv, CelSyntax, CompiledExpr, Evaluated, compile_expr, referenced_names
from lifecycle.load.rulepack import QualitySpec, Rule, RulePack, RuleTest

EVIDENCE_LIMIT = 50


def _fast_facts_hash() -> None:
    """Let facts_hash serialise with orjson (the domain imports no third-party code; the bytes, and so
    the hash, stay those of json.dumps: see lifecycle.domain.facts.use_orjson)."""
    try:
        import orjson
    except ImportError:  # json.dumps alone: slower, the same hash
        return
    use_orjson(orjson)


_fast_facts_hash()


def lang_of(project: Project) -> str:
    return "zh" if project.charter.locale.lower().startswith("zh") else "en"


# --------------------------------------------------------------------------- one rule
def _evidence(env: CelEnv, rule: Rule) -> tuple[tuple[Evidence, ...], str]:
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


def evaluate_rule(rule: Rule, env: CelEnv, lang: str = "en") -> RuleResult:
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
            return replace(base, outcome="error", message=message, error=f"when: {w.error}")
        if not isinstance(w.value, bool):
            return replace(
                base, outcome="error", message=message, error=f"when must give true or false, gave {w.value!r}"
            )
        if not w.value:
            return replace(base, outcome="not_applicable")
    c = env.evaluate(rule.check)
    if not c.ok:
        return replace(base, outcome="error", message=message, error=c.error)
    if not isinstance(c.value, bool):
        return replace(base, outcome="error", message=message, error=f"check must give true or false, gave {c.value!r}")
    if c.value:
        return base
    evidence, ev_error = _evidence(env, rule)
    return replace(base, outcome="fail", message=message, evidence=evidence, error=ev_error)


def evaluate_rules(
    rules: Sequence[Rule], env: CelEnv, today: date, waivers: Iterable[Waiver] = (), lang: str = "en"
) -> tuple[RuleResult, ...]:
    waivers = tuple(waivers)
    return tuple(apply_waiver(evaluate_rule(rule, env, lang), waivers, today) for rule in rules)


# --------------------------------------------------------------------------- a gate
_NAMES: dict[tuple[str, str], frozenset[str]] = {}


def _names(pack: RulePack, transition: str, rules: Sequence[Rule]) -> frozenset[str]:
    """The facts a gate's rules read as CEL variables (computed once per pack and gate)."""
    key = (pack.hash, transition)
    if key not in _NAMES:
        _NAMES[key] = referenced_names(e for r in rules for e in (r.when, r.check, r.evidence))
    return _NAMES[key]


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def decide(
    pack: RulePack,
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
    pack: RulePack,
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
    facts = build_facts(project, today, extra)
    return decide(pack, move, project, facts, today, waivers, votes, now=now, actor=actor, lang=lang)


def check_gate(
    pack: RulePack,
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
    facts = build_facts(project, today, extra)
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


def quality_targets(spec: QualitySpec, env: CelEnv) -> list[str]:
    """Ids of the deliverables a quality standard applies to (an error in applies_to selects it)."""
    if spec.applies_to is None:
        return [str(d.get("id", "")) for d in env.facts.get("deliverables") or []]
    return [key for key, res in deliverable_results(env, spec.applies_to) if not res.ok or res.value is True]


# --------------------------------------------------------------------------- rule tests
@dataclass(frozen=True)
class PackTestResult:
    name: str
    file: str
    line: int | None
    passed: bool
    failures: tuple[str, ...] = ()
    decision: Decision | None = None


@dataclass(frozen=True)
class PackTestReport:
    pack: str
    results: tuple[PackTestResult, ...]

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if not r.passed)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "pack": self.pack,
            "passed": self.passed,
            "failed": self.failed,
            "tests": [
                {
                    "name": r.name,
                    "file": r.file,
                    "line": r.line,
                    "passed": r.passed,
                    "failures": list(r.failures),
                    "decision": r.decision.decision if r.decision else None,
                }
                for r in self.results
            ],
        }


_PATH_RE = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")


def _split_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    pos = 0
    for m in _PATH_RE.finditer(path):
        if m.start() != pos and path[pos : m.start()] != ".":
            raise ValueError(f"cannot read the facts path '{path}'")
        pos = m.end()
        if m.group(1) is not None:
            parts.append(m.group(1))
        else:
            inner = m.group(2).strip()
            parts.append(int(inner) if inner.lstrip("-").isdigit() else inner.strip("'\""))
    if pos != len(path) or not parts:
        raise ValueError(f"cannot read the facts path '{path}'")
    return parts


def patch_facts(facts: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``facts`` with dotted paths set (``tasks[0].owner``, ``tasks[T1].owner``, ``metrics.x``).

    A bracket holds a list index or an item id. Paths must exist; a whole number patched over a
    double stays a double, so tests need not write ``120.0``.
    """
    out = copy.deepcopy(facts)
    for path, value in patch.items():
        parts = _split_path(str(path))
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if isinstance(part, int):
                    if not -len(node) <= part < len(node):
                        raise ValueError(f"{path}: index {part} is out of range ({len(node)} items)")
                    key: Any = part
                else:
                    matches = [k for k, item in enumerate(node) if isinstance(item, Mapping) and item.get("id") == part]
                    if not matches:
                        raise ValueError(f"{path}: no item with id '{part}'")
                    key = matches[0]
            elif isinstance(node, dict):
                if part not in node:
                    raise ValueError(f"{path}: no '{part}' in the facts")
                key = part
            else:
                raise ValueError(f"{path}: '{part}' is inside a value that is not a list or a mapping")
            if last:
                old = node[key]
                if isinstance(old, float) and isinstance(value, int) and not isinstance(value, bool):
                    value = float(value)
                if isinstance(value, (date, datetime)):
                    value = value.isoformat()
                node[key] = value
            else:
                node = node[key]
    return out


def _test_project(pack: RulePack, test: RuleTest, cache: dict[str, Project]) -> Project:
    from lifecycle.load.projectfile import load_project_file  # only rule tests read project files

    if not test.fixture:
        project = Project(charter=Charter(code="RULE-TEST", name="Rule test", client=Organisation(name="Client")))
    elif test.fixture in cache:
        project = cache[test.fixture]
    else:
        pf = load_project_file(pack.root / test.fixture)
        project = replace(pf.project, phase=pf.phase or "")
        cache[test.fixture] = project
    t = pack.lifecycle.transition(test.transition)
    sources = pack.lifecycle.expanded_sources(t)
    if project.phase not in sources and sources:
        project = replace(project, phase=sources[0])
    return project


def run_pack_test(pack: RulePack, test: RuleTest, cache: dict[str, Project] | None = None) -> PackTestResult:
    cache = cache if cache is not None else {}
    try:
        project = _test_project(pack, test, cache)
        t = pack.lifecycle.transition(test.transition)
        dest = t.dest or project.phase_before_hold or (pack.lifecycle.ids_of_kind("active") or ("",))[0]
        move = Move(t, project.phase, dest)
        facts = build_facts(project, test.today)
        if test.patch:
            facts = patch_facts(facts, test.patch)
        votes = tuple(replace(v, project_version=project.version) if v.project_version == -1 else v for v in test.votes)
        decision = decide(pack, move, project, facts, test.today, test.waivers, votes, actor="rule test", lang="en")
    except SpecError as exc:
        return PackTestResult(
            test.name,
            test.file,
            test.line,
            False,
            (f"fixture '{test.fixture}' is not a valid project file:", *(f"  {p}" for p in exc.problems)),
        )
    except (LifecycleError, ValueError) as exc:
        return PackTestResult(test.name, test.file, test.line, False, (str(exc),))
    failures: list[str] = []
    if test.expect_decision and decision.decision != test.expect_decision:
        failing = [f"{r.id}={r.outcome}" for r in decision.results if r.outcome in ("fail", "error", "waived")]
        failures.append(
            f"decision: expected {test.expect_decision}, got {decision.decision}"
            + (f" ({', '.join(failing)})" if failing else "")
        )
    by_id = {r.id: r for r in decision.results}
    for rid, expected in test.expect_rules.items():
        got = by_id.get(rid)
        if got is None:
            failures.append(f"rule {rid}: expected {expected}, but the gate has no such rule")
        elif got.outcome != expected:
            detail = f": {got.error}" if got.error else ""
            if got.evidence and got.outcome == "fail":
                detail += " [" + ", ".join(e.id for e in got.evidence[:8] if e.id) + "]"
            failures.append(f"rule {rid}: expected {expected}, got {got.outcome}{detail}")
    if test.expect_approved is not None and decision.approvals.satisfied != test.expect_approved:
        missing = ", ".join(decision.approvals.missing + decision.approvals.rejected_by)
        failures.append(
            f"approved: expected {str(test.expect_approved).lower()}, got "
            f"{str(decision.approvals.satisfied).lower()}" + (f" ({missing})" if missing else "")
        )
    return PackTestResult(test.name, test.file, test.line, not failures, tuple(failures), decision)


def run_pack_tests(pack: RulePack, name_filter: str = "") -> PackTestReport:
    """Run every rule test of the pack (those whose name contains ``name_filter``)."""
    cache: dict[str, Project] = {}
    results = tuple(run_pack_test(pack, t, cache) for t in pack.tests if name_filter in t.name)
    return PackTestReport(pack.name, results)


def evaluate_expression(text: str, project: Project, today: date, extra: Mapping[str, Any] | None = None) -> Evaluated:
    """Evaluate one CEL expression against a project (for trying rules out; not used by gates)."""
    compiled = compile_expr(text)
    if isinstance(compiled, CelSyntax):
        return Evaluated(None, compiled.describe(), "syntax")
    return CelEnv(build_facts(project, today, extra)).evaluate(compiled)


__all__ = [
    "EVIDENCE_LIMIT",
    "PackTestReport",
    "PackTestResult",
    "check_gate",
    "decide",
    "deliverable_results",
    "evaluate_expression",
    "evaluate_gate",
    "evaluate_rule",
    "evaluate_rules",
    "lang_of",
    "patch_facts",
    "quality_targets",
    "run_pack_test",
    "run_pack_tests",
]

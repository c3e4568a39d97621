"""Rule pack use cases: lint a pack, run its tests, list the functions rules may call.

``lint_pack`` loads a pack exactly as the engine does (every problem raised at once as a
:class:`~lifecycle.errors.SpecError`) and returns a :class:`PackSummary` a face prints or dumps as
JSON: phases, transitions with their gates and approvals, counts, the waiver policy and the pack's
content hash. ``test_pack`` runs the pack's own rule tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lifecycle.expr import FUNCTION_DOCS, library_only_rules
from lifecycle.load.rulepack import load_pack
from lifecycle.load.ruletests import PackTestReport, run_pack_tests

__all__ = [
    "DEMO_PHASES",
    "PackSummary",
    "PackTestReport",
    "TransitionSummary",
    "lint_pack",
    "rule_functions",
    "run_rule_tests",
    "walk_route",
]


@dataclass(frozen=True)
class TransitionSummary:
    name: str
    sources: tuple[str, ...]  # every phase it leaves from, "*" expanded
    written_sources: str  # as the pack writes them ("*" first)
    dest: str
    kind: str
    gate: str
    rules: int
    blocking: int
    approvals: str | None


@dataclass(frozen=True)
class PackSummary:
    name: str
    version: str
    hash: str
    phases: tuple[dict[str, Any], ...]
    initial: str
    transitions: tuple[TransitionSummary, ...]
    rules: int
    gates: int
    quality_standards: int
    tests: int
    waiver_roles: tuple[str, ...]
    waiver_max_days: int
    library_only: tuple[tuple[str, dict[str, str], str], ...] = ()  # (rule, parts, description)
    warnings: tuple[str, ...] = ()  # the pack loads, but something looks unintended
    languages: tuple[str, ...] = ()


def _transition(pack: Any, t: Any) -> TransitionSummary:
    rules = pack.rules_for(t.name)
    named = [s for s in t.sources if s != "*"]
    return TransitionSummary(
        name=t.name,
        sources=tuple(pack.lifecycle.expanded_sources(t)),
        written_sources=", ".join((["*"] if "*" in t.sources else []) + named),
        dest=t.dest or "(phase before hold)",
        kind=t.kind,
        gate=t.gate_id,
        rules=len(rules),
        blocking=sum(1 for r in rules if r.severity == "blocking"),
        approvals=t.approvals.describe() if t.approvals else None,
    )


def lint_pack(directory: str) -> PackSummary:
    """Load the pack in ``directory``; raises SpecError with every problem, else summarises it."""
    pack = load_pack(directory)
    lc = pack.lifecycle
    return PackSummary(
        name=pack.name,
        version=pack.version,
        hash=pack.hash,
        phases=tuple({"id": p.id, "kind": p.kind, "title": dict(p.title)} for p in lc.phases),
        initial=lc.initial,
        transitions=tuple(_transition(pack, t) for t in lc.transitions),
        rules=len(pack.all_rules()),
        gates=len(pack.gates),
        quality_standards=len(pack.quality),
        tests=len(pack.tests),
        waiver_roles=tuple(pack.waiver_policy.roles),
        waiver_max_days=int(pack.waiver_policy.max_days),
        library_only=tuple((r.rule, dict(r.parts), r.describe()) for r in library_only_rules(pack.all_rules())),
        warnings=pack.warnings,
        languages=pack.languages,
    )


def run_rule_tests(directory: str, name_filter: str = "") -> PackTestReport:
    """Run the pack's rule tests (``tests/*.yaml``), optionally only those whose name holds ``name_filter``."""
    return run_pack_tests(load_pack(directory), name_filter)


def rule_functions() -> dict[str, str]:
    """The functions gate rules may call, with their one-line documentation."""
    return dict(FUNCTION_DOCS)


# The phases the demo's script fills with work, in its order (between them a pack may add its own).
DEMO_PHASES = ("planning", "execution", "control", "closure")


def walk_route(directory: str, needed: tuple[str, ...] = DEMO_PHASES) -> tuple[list[str], list[str]]:
    """The forward route of a pack (its initial phase, then each next forward move until a final
    phase) and what keeps a scripted walk through ``needed`` (in that order) from following it."""
    pack = load_pack(directory)
    lc, machine = pack.lifecycle, pack.machine
    route = [lc.initial]
    while len(route) <= len(lc.phases):
        move = machine.next_move(route[-1])
        if move is None or move.kind != "forward" or move.dest in route:
            break
        route.append(move.dest)
    problems = [f"the pack has no phase '{p}' on its forward route" for p in needed if p not in route]
    present = [p for p in needed if p in route]
    if present != sorted(present, key=route.index):
        problems.append(f"its forward route ({' → '.join(route)}) visits {', '.join(needed)} in another order")
    if lc.phase(route[-1]).kind != "final":
        problems.append(f"its forward route stops at '{route[-1]}', which is not a final phase")
    return route, problems

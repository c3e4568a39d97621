"""Running a rule pack's own tests (``tests/*.yaml``): fixtures read, facts patched, gates decided.

Each test names a fixture (a project file) and/or a facts patch, a transition, a date, waivers and
votes, and what must come out; :func:`run_pack_tests` decides the gate with
:func:`lifecycle.expr.decide` and reports every difference, like a test runner (``pmo rules test``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from lifecycle.domain.facts import build_facts
from lifecycle.domain.gates import Decision
from lifecycle.domain.lifecycle import Move
from lifecycle.domain.model import Charter, Organisation, Project
from lifecycle.errors import LifecycleError, Problem, SpecError
from lifecycle.expr import CelEnv, decide
from lifecycle.expr.explain import explain, explain_lines
from lifecycle.load.projectfile import load_project_file
from lifecycle.load.rulepack import RulePack, RuleTest


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
        facts = pack.extend_facts(build_facts(project, test.today), project)
        if test.patch:
            facts = patch_facts(dict(facts), test.patch)
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
            if got.outcome in ("pass", "fail", "error"):
                failures.extend(_explained(pack, rid, facts))
    if test.expect_approved is not None and decision.approvals.satisfied != test.expect_approved:
        missing = ", ".join(decision.approvals.missing + decision.approvals.rejected_by)
        failures.append(
            f"approved: expected {str(test.expect_approved).lower()}, got "
            f"{str(decision.approvals.satisfied).lower()}" + (f" ({missing})" if missing else "")
        )
    return PackTestResult(test.name, test.file, test.line, not failures, tuple(failures), decision)


def _explained(pack: RulePack, rule_id: str, facts: Mapping[str, Any]) -> list[str]:
    """The rule's check taken apart with the values it saw, indented under its failure line."""
    part = explain(pack.rule(rule_id).check, CelEnv(facts))
    return ["    " + line for line in explain_lines(part)]


def _load_fixtures(pack: RulePack, tests: Sequence[RuleTest]) -> dict[str, Project]:
    """Every fixture the tests name, read once; a fixture that is no valid project file (out of the
    input limits included) is bad input, not a failed test: SpecError with every problem of every
    such fixture, naming file, line and field."""
    cache: dict[str, Project] = {}
    problems: list[Problem] = []
    bad: set[str] = set()
    for test in tests:
        if not test.fixture or test.fixture in cache or test.fixture in bad:
            continue
        try:
            pf = load_project_file(pack.root / test.fixture)
        except SpecError as exc:
            bad.add(test.fixture)
            problems += exc.problems
            continue
        cache[test.fixture] = replace(pf.project, phase=pf.phase or "")
    if problems:
        names = ", ".join(sorted(bad))
        raise SpecError(problems, f"the test fixture(s) {names} are not valid project files, no test was run")
    return cache


def run_pack_tests(pack: RulePack, name_filter: str = "") -> PackTestReport:
    """Run every rule test of the pack (those whose name contains ``name_filter``); SpecError (bad
    input, exit 2) when a fixture they name is not a valid project file."""
    tests = [t for t in pack.tests if name_filter in t.name]
    cache = _load_fixtures(pack, tests)
    results = tuple(run_pack_test(pack, t, cache) for t in tests)
    return PackTestReport(pack.name, results)


__all__ = ["PackTestReport", "PackTestResult", "patch_facts", "run_pack_test", "run_pack_tests"]

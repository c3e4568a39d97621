"""Differential test: native evaluation against the CEL library on generated expressions.

A seeded generator (:mod:`tests.rules.celgen`) writes rule-like expressions over the facts of both
sample projects and of mutated copies (nulls, other types, non-ASCII text where the samples have
plain values). Each expression runs natively and in the library; where the native function gives a
value (rather than stepping aside with ``Fallback``), the library must give the same value. At least
5,000 expressions run per test run; ``PMO_DIFF_EXPRESSIONS=150000`` runs more.
"""

from __future__ import annotations

import math
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from lifecycle.domain.facts import build_facts
from lifecycle.domain.model import replace
from lifecycle.expr import CelEnv, CompiledExpr, compile_expr
from lifecycle.expr.native import Fallback
from lifecycle.load.projectfile import load_project_file
from tests.rules.celgen import expressions, mutated

ROOT = Path(__file__).resolve().parents[2]
TOTAL = max(5000, int(os.environ.get("PMO_DIFF_EXPRESSIONS", "5000")))
SEED = int(os.environ.get("PMO_DIFF_SEED", "20261206"))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    return bool(a == b)


def _documents() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        project = load_project_file(path).project
        facts = dict(build_facts(replace(project, phase="execution"), date(2026, 11, 16)))
        docs.append((path.stem, facts))
        docs.append((path.stem + "~1", mutated(facts, seed=SEED + 1)))
        docs.append((path.stem + "~2", mutated(facts, seed=SEED + 2, share=0.25)))
    return docs


def _compare(name: str, facts: dict[str, Any], seed: int, n: int) -> tuple[int, int, list[str]]:
    env = CelEnv(facts)
    native_values = fallbacks = 0
    problems: list[str] = []
    for text in expressions(facts, seed, n):
        compiled = compile_expr(text)
        if not isinstance(compiled, CompiledExpr):
            problems.append(f"{name}: the generator wrote invalid CEL: {text}\n{compiled.describe()}")
            continue
        try:
            library: tuple[str, Any] = ("value", compiled.program.execute(env.context))
        except Exception as exc:  # the library's errors: native code must not give a value then
            library = ("error", f"{type(exc).__name__}: {exc}")
        if compiled.native is None:
            continue
        try:
            value = compiled.native(env.variables, env.functions)
        except Fallback:
            fallbacks += 1
            continue
        native_values += 1
        if library[0] != "value" or not _same(value, library[1]):
            problems.append(f"{name}: {text}\n    native {value!r}, library {library[0]} {library[1]!r}")
    return native_values, fallbacks, problems


def test_native_and_library_agree_on_generated_expressions() -> None:
    docs = _documents()
    per_doc = -(-TOTAL // len(docs))
    native_values = fallbacks = 0
    problems: list[str] = []
    for i, (name, facts) in enumerate(docs):
        v, f, p = _compare(name, facts, SEED * 100 + i, per_doc)
        native_values, fallbacks, problems = native_values + v, fallbacks + f, problems + p
    assert not problems, f"{len(problems)} disagreement(s), first ones:\n" + "\n".join(problems[:10])
    assert per_doc * len(docs) >= 5000
    # the generator must mostly exercise the native path, and the fallbacks too
    assert native_values >= 0.5 * per_doc * len(docs), (native_values, fallbacks)
    assert fallbacks > 0


@pytest.mark.parametrize(
    "text",
    [
        # finding 8: the where-map's order does not decide whether the selection is an error
        "count('risks', {'status': 'closed', 'probability contains': 3})",
        "count('risks', {'probability contains': 3, 'status': 'closed'})",
    ],
)
def test_where_maps_give_the_same_outcome_in_any_written_order(text: str) -> None:
    project = load_project_file(ROOT / "examples" / "en-clinic-portal.yaml").project
    facts = build_facts(project, date(2026, 11, 16))
    outcomes = set()
    for _ in range(6):  # the library hands maps over in a different key order on each call
        env = CelEnv(facts)
        compiled = compile_expr(text)
        assert isinstance(compiled, CompiledExpr)
        got = env.evaluate(compiled)
        lib = env.in_library(compiled)
        outcomes.add((got.ok, got.value, lib.ok, lib.value))
    assert len(outcomes) == 1, outcomes
    ((native_ok, _, library_ok, _),) = outcomes
    assert native_ok == library_ok is False  # 'contains' on a number is an error, always

"""Evaluation as CEL says, the same on the native path and in the library (issue 14, findings 9-11)."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from lifecycle.errors import SpecError
from lifecycle.expr import CelEnv, CelSyntax, CompiledExpr, compile_expr
from lifecycle.expr.syntax import library_text
from lifecycle.load.rulepack import load_pack
from tests.rules.helpers import DEFAULT_PACK

FACTS: dict[str, Any] = {"phase": "execution", "word": "πέντε", "cjk": "日本語", "tags": ["a", "b"], "xs": [1, 2]}


def _compiled(text: str) -> CompiledExpr:
    c = compile_expr(text)
    assert isinstance(c, CompiledExpr), c
    return c


@pytest.mark.parametrize(
    ("text", "want"),
    [("size(word)", 5), ("word.size()", 5), ("size(cjk)", 3), ("size('πέντε') == 5", True), ("size(tags)", 2)],
)
def test_size_counts_code_points_on_both_paths(text: str, want: Any) -> None:
    expr = _compiled(text)
    env = CelEnv(FACTS)
    assert expr.native is not None
    assert expr.native(env.variables, env.functions) == want
    assert env.in_library(expr).value == want


def test_size_inside_a_string_literal_is_left_alone() -> None:
    assert library_text("'size(x)' == size(word)") == "'size(x)' == _size_cp(word)"
    assert CelEnv(FACTS).in_library(_compiled("'size(x)' + word == 'size(x)πέντε'")).value is True


@pytest.mark.parametrize("text", [".phase == 'execution'", "xs.all(phase, .phase == 'execution')", "1 in .xs"])
def test_a_leading_dot_is_refused_clearly(text: str) -> None:
    got = compile_expr(text)
    assert isinstance(got, CelSyntax)
    assert "leading dot" in got.message and "write '" in got.message


def test_a_dot_after_an_operand_is_a_field() -> None:
    env = CelEnv(FACTS)
    for text in ("[{'a': 1}][0].a == 1", "{'a': {'b': 2}}.a.b == 2", "(xs).size() == 2"):
        assert env.evaluate(_compiled(text)).value is True


def test_a_leading_dot_in_a_pack_is_a_load_error_with_its_place(tmp_path: Any) -> None:
    pack = tmp_path / "p"
    shutil.copytree(DEFAULT_PACK, pack)
    gates = pack / "gates" / "closure.yaml"
    gates.write_text(gates.read_text().replace("check: size(lessons) > 0", "check: size(.lessons) > 0"))
    with pytest.raises(SpecError) as err:
        load_pack(pack)
    assert "closure.yaml" in str(err.value) and "leading dot" in str(err.value)


def test_a_hundred_ands_and_a_200_term_sum_run_natively_and_agree() -> None:
    ors = " || ".join(f"phase == 'p{i}'" for i in range(100)) + " || phase == 'execution'"
    ands = " && ".join(["size(tags) == 2"] * 120)
    total = " + ".join(["xs[1]"] * 200) + " == 400"
    floats = " + ".join(["0.1"] * 200)
    env = CelEnv(FACTS)
    for text in (ors, ands, total, floats):
        expr = _compiled(text)
        assert expr.native is not None, text[:40]
        native = expr.native(env.variables, env.functions)
        assert native == env.in_library(expr).value  # floats added left to right, as written
    assert env.evaluate(_compiled(total)).value is True


def test_explicit_grouping_of_a_sum_is_kept() -> None:
    env = CelEnv(FACTS)
    text = "0.1 + (0.2 + 0.3) + 0.4 + 1e16 + (1.0 + 1.0) + -1e16"
    expr = _compiled(text)
    assert expr.native is not None
    assert expr.native(env.variables, env.functions) == env.in_library(expr).value


def test_a_deep_rule_loads_and_runs_natively(tmp_path: Any) -> None:
    pack = tmp_path / "p"
    shutil.copytree(DEFAULT_PACK, pack)
    deep = " || ".join(f"phase == 'p{i}'" for i in range(100))
    total = " + ".join(["metrics.overdue_task_count"] * 200)
    gates = pack / "gates" / "closure.yaml"
    gates.write_text(
        gates.read_text().replace("check: size(lessons) > 0", f'check: "size(lessons) > 0 || {deep} || {total} < 0"')
    )
    loaded = load_pack(pack)
    rule = next(r for g in loaded.gates.values() for r in g.rules if r.id == "CLD-01")
    assert rule.check.native is not None and rule.check.library_only == ""

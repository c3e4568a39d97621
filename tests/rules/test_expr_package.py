"""The rule-evaluation package: its import graph, the native path's one fallback signal and its
counters, the lint listing of library-only rules, and the pinned texts of the CEL library."""

from __future__ import annotations

import ast
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli
from lifecycle.expr import CelEnv, CompiledExpr, ExprChecker, Fallback, compile_expr
from lifecycle.expr.errors_text import SyntaxPosition, read_syntax_error, translate
from lifecycle.expr.functions import Functions
from lifecycle.expr.library import cel_module
from tests.rules.helpers import DATA, ROOT
from tests.rules.test_cel_native import EXPRESSIONS, VARIABLES

EXPR = ROOT / "lifecycle" / "expr"


def _compiled(text: str) -> CompiledExpr:
    c = compile_expr(text)
    assert isinstance(c, CompiledExpr), c
    return c


# --------------------------------------------------------------------------- the import graph
def _our_imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("lifecycle")}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            if node.module and node.module.startswith("lifecycle"):
                out.add(node.module)
    return out


def _graph() -> dict[str, set[str]]:
    return {f"lifecycle.expr.{p.stem}": _our_imports(p) for p in sorted(EXPR.glob("*.py")) if p.stem != "__init__"}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """A cycle of the graph (as a path that ends where it starts), or [] if it is acyclic."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path, node, nxt]
            if nxt in graph and nxt not in state:
                found = visit(nxt, [*path, node])
                if found:
                    return found
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [])
            if found:
                return found
    return []


def test_the_package_import_graph_is_acyclic():
    graph = _graph()
    assert len(graph) >= 8, sorted(graph)
    assert _cycle(graph) == []
    for module, imports in graph.items():
        assert "lifecycle.expr" not in imports, f"{module} imports the package itself (a cycle through __init__)"


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


def test_the_package_imports_only_the_domain_and_errors_of_ours():
    for path in EXPR.glob("*.py"):
        for mod in _our_imports(path):
            assert mod.startswith(("lifecycle.expr", "lifecycle.domain")) or mod == "lifecycle.errors", (
                f"{path.name} imports {mod}"
            )


def test_the_old_modules_are_gone():
    for name in ("cel.py", "celnative.py", "evaluate.py"):
        assert not (ROOT / "lifecycle" / "load" / name).exists()


# --------------------------------------------------------------------------- one fallback signal
def test_a_broken_native_function_raises_instead_of_running_in_the_library():
    def broken(variables: Any, functions: Any) -> Any:
        return variables["m"].nonexistent  # a bug in generated code: AttributeError

    expr = replace(_compiled("m.a == 1"), native=broken)
    env = CelEnv(VARIABLES)
    with pytest.raises(AttributeError):
        env.evaluate(expr)
    assert env._context is None, "the library must not have been asked"
    assert expr.stats.fallbacks == 0


def test_a_bug_in_a_registered_function_called_natively_raises(monkeypatch):
    def buggy(self: Functions, coll: Any, where: Any = None) -> int:
        raise AttributeError("a bug")

    monkeypatch.setattr(Functions, "f_count", buggy)
    with pytest.raises(AttributeError, match="a bug"):
        CelEnv(VARIABLES).evaluate(_compiled("count('items') > 0"))


def test_a_registered_function_refusing_its_arguments_falls_back_and_the_library_reports_it():
    expr = _compiled("days_since(m.n) > 0")
    env = CelEnv(VARIABLES)
    result = env.evaluate(expr)
    assert not result.ok and result.kind == "data" and "the date is null" in result.error
    assert expr.stats.fallbacks == 1 and expr.stats.reasons == {"days_since raised ValueError": 1}


def test_native_code_raises_nothing_but_its_fallback_signal_on_the_table():
    """Every expression of the differential table either gives a value natively or signals Fallback."""
    ran = 0
    for text in EXPRESSIONS:
        expr = _compiled(text)
        if expr.native is None:
            continue
        try:
            expr.native(VARIABLES, Functions(VARIABLES))
        except Fallback:
            continue
        ran += 1
    assert ran > len(EXPRESSIONS) // 2


def test_a_missing_variable_is_a_fallback_not_a_key_error():
    expr = _compiled("nothing_here == 1")
    assert expr.native is not None
    with pytest.raises(Fallback, match="no variable 'nothing_here'"):
        expr.native(VARIABLES, Functions(VARIABLES))
    assert CelEnv(VARIABLES).evaluate(expr).kind == "name"


# --------------------------------------------------------------------------- counters
def test_fallbacks_are_counted_on_the_expression_and_the_context():
    mixed, plain, regex = _compiled("m.a + m.b"), _compiled("m.a + 1"), _compiled("m.s.matches('x')")
    env = CelEnv(VARIABLES)
    assert env.evaluate(mixed).kind == "type"
    env.evaluate(mixed)
    assert env.evaluate(plain).value == 2
    assert env.evaluate(regex).value is True
    assert (mixed.stats.native, mixed.stats.fallbacks, mixed.stats.library) == (0, 2, 0)
    assert sum(mixed.stats.reasons.values()) == 2
    assert (plain.stats.native, plain.stats.fallbacks) == (1, 0)
    assert (regex.stats.native, regex.stats.library) == (0, 1)
    assert env.fallbacks == 2


def test_why_an_expression_runs_in_the_library_only():
    assert _compiled("m.a == 1").library_only == ""
    assert _compiled("m.s.matches('x')").library_only == "outside the native subset: the method 'matches'"
    assert _compiled("1u == 1u").library_only == "outside the native subset: a uint literal"
    unread = _compiled("size(tasks) > 0 || google.protobuf.BoolValue{value: true}.value")
    assert unread.tree is None and unread.native is None
    assert unread.library_only.startswith("our parser cannot read it (message construction is not supported)")


@pytest.mark.parametrize("text", ["!" * 150 + "true", " - ".join(["1"] * 210), "-" * 400 + "1"])
def test_deeply_nested_expressions_run_in_the_library_instead_of_crashing(text: str):
    expr = _compiled(text)
    assert expr.native is None and expr.library_only
    assert CelEnv({}).evaluate(expr).ok  # the library decides
    assert ExprChecker().check(expr) == []  # and the load-time checks run without a RecursionError


# --------------------------------------------------------------------------- the lint listing
def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_lint_lists_the_rules_that_never_run_natively(tmp_path):
    pack = tmp_path / "p"
    shutil.copytree(DATA / "mini_pack", pack)
    gates = pack / "gates" / "work.yaml"
    gates.write_text(
        gates.read_text(encoding="utf-8") + "      - id: M-04\n"
        "        title: {en: Names look like names}\n"
        "        check: \"tasks.all(t, t.name.matches('^[A-Z]'))\"\n"
        "      - id: M-05\n"
        "        title: {en: Odd but valid}\n"
        '        when: "size(tasks) > 0"\n'
        '        check: "size(tasks) > 0 || google.protobuf.BoolValue{value: true}.value"\n'
        "        evidence: \"ids('tasks', {'status': 'blocked'}) + [string(1)]\"\n",
        encoding="utf-8",
    )
    r = _run("rules", "lint", str(pack))
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    at = lines.index("native: 3 of 5 rules run natively; 2 run in the library only:")
    assert lines[at + 1] == "  M-04 check: outside the native subset: the method 'matches'"
    assert lines[at + 2].startswith(
        "  M-05 check: our parser cannot read it (message construction is not supported); "
        "its fields are checked by the exemplar run only; evidence: outside the native subset: the function 'string'"
    )
    assert lines[at + 3].startswith("hash: ")
    data = json.loads(_run("rules", "lint", str(pack), "--json").output)
    assert [r["rule"] for r in data["library_only"]] == ["M-04", "M-05"]
    assert set(data["library_only"][1]["parts"]) == {"check", "evidence"}


def test_lint_says_when_every_rule_runs_natively():
    r = _run("rules", "lint", str(DATA / "mini_pack"))
    assert r.exit_code == 0 and "native: all 3 rules run natively" in r.output
    assert json.loads(_run("rules", "lint", str(DATA / "mini_pack"), "--json").output)["library_only"] == []


# --------------------------------------------------------------------------- the library's texts, pinned
def _library_error(text: str) -> str:
    with pytest.raises(ValueError) as info:
        cel_module().compile(text)
    return str(info.value)


def test_the_library_syntax_error_text_is_the_one_we_read():
    """Pins the library's wording: if an upgrade changes it, this fails before users see column 1."""
    message = _library_error("tasks.all(t, t.owner != ''")
    assert message == (
        "Failed to parse expression 'tasks.all(t, t.owner != ''': ERROR: <input>:1:27: Syntax error: "
        "missing ')' at '<EOF>'\n| tasks.all(t, t.owner != ''\n| ..........................^"
    )
    assert read_syntax_error(message) == SyntaxPosition(1, 27, "missing ')' at '<EOF>'")
    second = _library_error("size(tasks) > 0 &&\n  tasks.all(t, +)")
    expected = (
        "{'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, "
        "IDENTIFIER}"
    )
    assert second == (
        "Failed to parse expression 'size(tasks) > 0 &&\n  tasks.all(t, +)': ERROR: <input>:2:16: Syntax error: "
        f"mismatched input '+' expecting {expected}\n|   tasks.all(t, +)\n| ...............^\n"
        f"ERROR: <input>:2:17: Syntax error: mismatched input ')' expecting {expected}\n"
        "|   tasks.all(t, +)\n| ................^"
    )
    # the first error is the one reported; the library's token list reads as "an expression"
    assert read_syntax_error(second) == SyntaxPosition(2, 16, "mismatched input '+' expecting an expression")
    assert read_syntax_error("no position here") is None


def test_the_library_evaluation_error_texts_are_the_ones_we_read():
    def refuse() -> None:
        raise LookupError("unknown collection 'x'")

    lib = cel_module()
    ctx = lib.Context(variables={"m": {"a": 1}}, functions={"f": refuse})
    seen = {}
    for text in ("f()", "nothing", "m.b", "m.a + 1.0", "1 / 0"):
        try:
            lib.compile(text).execute(ctx)
        except Exception as exc:
            seen[text] = translate(exc)
    assert seen == {
        "f()": ("f: unknown collection 'x'", "function"),
        "nothing": ("unknown name 'nothing'", "name"),
        "m.b": ("no field 'b'", "field"),
        "m.a + 1.0": (seen["m.a + 1.0"][0], "type"),
        "1 / 0": ("division by zero", "data"),
    }
    assert seen["m.a + 1.0"][0].startswith("no matching operator or function for these value types")

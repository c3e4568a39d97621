"""Rule evaluation is bounded: a runaway rule (three nested macros over 2,000 tasks) becomes an error
result naming the rule and its budget, the gate says no-go because of it, and the other rules are
evaluated as usual; natively the budget is counted in steps and seconds, in the library it is
estimated before the expression runs; a gate's rules share a time budget too."""

from __future__ import annotations

import re
import shutil
import time
from datetime import date

import pytest

from lifecycle.domain.model import replace
from lifecycle.expr import budget
from lifecycle.expr.env import CelEnv
from lifecycle.expr.evaluate import evaluate_expression, evaluate_gate, evaluate_rules
from lifecycle.load.rulepack import load_pack
from tests.factory import small_project
from tests.rules.helpers import DATA

TODAY = date(2026, 1, 10)
RUNAWAY = "tasks.all(a, tasks.all(b, tasks.all(c, c.id != '')))"


def _project(n: int, phase: str = "start") -> object:
    p = small_project(phase=phase)
    t = p.tasks[0]
    tasks = tuple(replace(t, id=f"T{i}", wbs=str(i + 1), deliverables=()) for i in range(n))
    return replace(p, tasks=tasks, deliverables=(), milestones=())


@pytest.fixture
def runaway_pack(tmp_path):
    folder = tmp_path / "pack"
    shutil.copytree(DATA / "mini_pack", folder)
    gates = folder / "gates" / "work.yaml"
    text = gates.read_text(encoding="utf-8")
    rule = f'      - id: M-RUNAWAY\n        title: {{en: Every triple of tasks}}\n        check: "{RUNAWAY}"\n'
    gates.write_text(text.replace("  begin:\n    rules:\n", "  begin:\n    rules:\n" + rule, 1), encoding="utf-8")
    return load_pack(folder)


def test_a_runaway_rule_is_an_error_and_the_gate_is_no_go(runaway_pack):
    started = time.perf_counter()
    d = evaluate_gate(runaway_pack, "begin", _project(2000), TODAY)
    seconds = time.perf_counter() - started
    results = {r.id: r for r in d.results}
    assert results["M-RUNAWAY"].outcome == "error"
    assert re.fullmatch(  # whichever is spent first on this machine
        r"rule M-RUNAWAY exceeded its evaluation budget of (2,000,000 steps|5 seconds)", results["M-RUNAWAY"].error
    )
    assert results["M-01"].outcome == "pass"  # the other rules are evaluated as usual
    assert d.decision == "no_go" and "M-RUNAWAY" in {r.id for r in d.blocking}
    assert seconds < budget.SECONDS + 2  # not a hang: at most the rule's budget


def test_the_library_path_is_refused_on_its_estimate_without_running():
    text = "tasks.all(a, tasks.all(b, tasks.all(c, int(a.wbs) >= 0)))"  # int(): library only
    started = time.perf_counter()
    got = evaluate_expression(text, _project(2000), TODAY)
    assert time.perf_counter() - started < 2
    assert got.kind == "budget" and got.error.startswith("exceeded its evaluation budget of 2,000,000 steps (about ")


def test_small_nesting_is_untouched():
    got = evaluate_expression("tasks.all(a, tasks.exists(b, b.id == a.id))", _project(300), TODAY)
    assert got.ok and got.value is True  # 90,000 steps


def test_the_time_budget_ends_a_slow_expression(monkeypatch):
    monkeypatch.setattr(budget, "SECONDS", 0.2)
    started = time.perf_counter()
    got = evaluate_expression("tasks.exists(a, tasks.exists(b, a.id == b.id && a.id == 'none'))", _project(1400), TODAY)
    assert time.perf_counter() - started < 2
    assert got.kind == "budget" and got.error == "exceeded its evaluation budget of 0.2 seconds"


def test_each_expression_gets_a_fresh_budget(monkeypatch):
    monkeypatch.setattr(budget, "STEPS", 1000)
    from lifecycle.domain.facts import build_facts
    from lifecycle.expr.compiler import compile_expr

    env = CelEnv(build_facts(_project(600), TODAY))  # type: ignore[arg-type]
    one = compile_expr("tasks.all(t, t.id != '')")
    assert all(env.evaluate(one).value is True for _ in range(5))  # 600 steps each, never summed
    over = env.evaluate(compile_expr("tasks.all(a, tasks.all(b, true))"))  # type: ignore[arg-type]
    assert over.kind == "budget" and over.error == "exceeded its evaluation budget of 1,000 steps"


def test_a_gate_that_runs_out_of_time_reports_the_rules_not_reached(runaway_pack):
    from lifecycle.domain.facts import build_facts

    rules = runaway_pack.gate_for("begin").rules
    env = CelEnv(build_facts(_project(10), TODAY))  # type: ignore[arg-type]
    results = evaluate_rules(rules, env, TODAY, seconds=-1.0)
    assert {r.outcome for r in results} == {"error"}
    assert results[0].error == (
        f"rule {results[0].id} not evaluated: the gate's evaluation budget of -1 seconds was spent"
    )


def test_estimates():
    from lifecycle.expr.compiler import compile_expr

    variables = {"tasks": [{}] * 100, "project": {"risks": [{}] * 7}}
    tree = compile_expr("tasks.all(a, a.predecessors.all(p, p != ''))").tree  # type: ignore[union-attr]
    assert budget.estimate(tree, variables) > 100 * budget.UNKNOWN_LENGTH
    tree = compile_expr("project.risks.exists(r, tasks.exists(t, t.id == r.id))").tree  # type: ignore[union-attr]
    assert 700 < budget.estimate(tree, variables) < 7 * 100 * 10


def test_lint_warns_about_nested_macros_over_big_collections(runaway_pack):
    [warning] = [w for w in runaway_pack.warnings if "M-RUNAWAY" in w]
    assert warning.endswith(
        "rule M-RUNAWAY check nests macros over project collections: about 40,008,004,001 steps with 2,000 items "
        "each, over the evaluation budget of 2,000,000 (the rule would be an error on such a project)"
    )
    assert warning.startswith(f"{runaway_pack.root}/gates/work.yaml:") or "gates/work.yaml:" in warning
    assert not [w for w in load_pack(DATA / "mini_pack").warnings if "nests macros" in w]


def test_the_default_pack_has_no_heavy_rule(default_pack):
    assert not [w for w in default_pack.warnings if "nests macros" in w]

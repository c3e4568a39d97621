"""Explanations (issue 14, finding 4): `pmo facts`, `--as-of` on gate check / show / sweep, and
`--explain` naming the failing sub-conditions with the values they saw, also in rule-test failures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli
from lifecycle.expr import CelEnv, CompiledExpr, compile_expr
from lifecycle.expr.explain import explain, explain_lines

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "en-clinic-portal.yaml"
CODE = "NHP-PORTAL-2026"


def run(*args: str, code: int = 0) -> Any:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == code, res.output + (repr(res.exception) if res.exception else "")
    return res


@pytest.fixture
def planning(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMO_TODAY", "2026-09-20")
    run("apply", str(SAMPLE))
    run("advance", CODE, "--to", "planning")


def test_facts_prints_the_document_a_decision_sees(planning: None) -> None:
    facts = json.loads(run("facts", CODE).output)
    assert facts["today"] == "2026-09-20" and facts["phase"] == "planning"
    assert facts["project"]["code"] == CODE and len(facts["tasks"]) == 52
    later = json.loads(run("facts", CODE, "--as-of", "2027-01-05").output)
    assert later["today"] == "2027-01-05"
    assert later["metrics"]["overdue_task_count"] > facts["metrics"]["overdue_task_count"]
    assert "no project 'NOPE'" in run("facts", "NOPE", code=2).output


def test_as_of_on_gate_check_show_and_sweep(planning: None) -> None:
    now = json.loads(run("gate", "check", CODE, "--json", code=1).output)
    then = json.loads(run("gate", "check", CODE, "--json", "--as-of", "2027-01-05", code=1).output)
    assert now["today"] == "2026-09-20" and then["today"] == "2027-01-05"
    assert then["facts_hash"] != now["facts_hash"]
    assert json.loads(run("show", CODE, "--json", "--as-of", "2027-01-05").output)["today"] == "2027-01-05"
    swept = json.loads(run("gate", "sweep", "--json", "--as-of", "2027-01-05").output)
    assert "2027-01-05" in json.dumps(swept)


def test_explain_names_the_failing_sub_conditions_with_their_values(planning: None) -> None:
    out = run("gate", "check", CODE, "--explain", code=1).output
    assert "why PLN-12 fails:" in out
    assert "✓ size(budget) > 0" in out and "size(budget) = 15" in out
    assert "✗ count('budget', {'task': '', 'category !=': 'contingency'}) == 0" in out
    assert "count('budget', {'task': '', 'category !=': 'contingency'}) = 2" in out
    d = json.loads(run("gate", "check", CODE, "--explain", "--json", code=1).output)
    pln12 = d["explanations"]["PLN-12"]
    assert pln12["op"] == "&&" and pln12["value"] is False
    assert [p["value"] for p in pln12["parts"]] == [True, False]
    assert set(d["explanations"]) == {r["id"] for r in d["results"] if r["outcome"] in ("fail", "error")}


def _c(text: str) -> CompiledExpr:
    c = compile_expr(text)
    assert isinstance(c, CompiledExpr)
    return c


def test_explain_walks_or_not_and_conditionals_and_reports_errors() -> None:
    env = CelEnv({"a": 1, "b": "x", "m": {"k": 2}})
    part = explain(_c("a > 1 || !(b == 'x') || (a == 1 ? m.zz == 1 : true)"), env)
    assert part.error == "no field 'zz'" and part.op == "||" and len(part.parts) == 3  # CEL: false || error
    assert part.parts[0].parts[0].value == 1  # the left side of a > 1
    lines = explain_lines(part)
    assert lines[0].startswith("! a > 1 ||")
    assert [p.value for p in part.parts[:2]] == [False, False]
    assert any(line.strip() == "a = 1" for line in lines)
    assert any("(error: no field 'zz')" in line for line in lines)


def test_rule_test_failures_carry_the_explanation(tmp_path: Path) -> None:
    pack = tmp_path / "p"
    shutil.copytree(ROOT / "rules" / "default", pack)
    tests = pack / "tests" / "planning.yaml"
    tests.write_text(tests.read_text(encoding="utf-8").replace("rules: {PLN-05: fail}", "rules: {PLN-05: pass}", 1))
    res = CliRunner().invoke(cli, ["rules", "test", str(pack)])
    assert res.exit_code != 0
    assert "rule PLN-05: expected pass, got fail" in res.output
    assert "✗ count('tasks', {'is_leaf': true, 'status !=': 'cancelled', 'owner': ''}) == 0" in res.output
    assert "count('tasks', {'is_leaf': true, 'status !=': 'cancelled', 'owner': ''}) = 1" in res.output


def test_a_failing_all_names_the_items_it_fails_for() -> None:
    env = CelEnv({"risks": [{"id": "R1", "s": 3}, {"id": "R2", "s": 20}, {"id": "R3", "s": 16}]})
    part = explain(_c("size(risks) > 0 && risks.all(r, r.s < 15)"), env)
    lines = explain_lines(part)
    assert "✗ risks.all(r, r.s < 15)" in lines[3] and lines[4].strip() == "✗ fails for: R2, R3"
    assert part.to_dict()["parts"][1]["parts"][0] == {"expr": "fails for", "value": ["R2", "R3"]}


def test_a_recorded_review_keeps_why_and_its_report_prints_the_annex(planning: None, workspace: Path) -> None:
    """The gate review record holds each failing rule's explanation as the review saw it, and the gate
    review report prints it in an annex (issue 14: explanations in the gate review PDF)."""
    import subprocess

    from lifecycle.services.context import open_context, open_workspace

    run("gate", "check", CODE, "--record", code=1)
    ctx = open_context(open_workspace())
    try:
        (review,) = ctx.store.records(CODE, "gate_review")[-1:]
    finally:
        ctx.close()
    failing = {r["id"] for r in review.data["results"] if r["outcome"] in ("fail", "error")}
    assert failing and set(review.data["explanations"]) == failing
    assert review.data["explanations"]["PLN-12"]["parts"][1]["value"] is False

    out = run("docs", "gate-review", CODE, "--json").output
    pdf = json.loads(out[out.index("{") :])["path"]
    text = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True, check=True).stdout
    annex = text[text.index("Annex: why rules did not pass") :]
    assert "count('budget', {'task': '', 'category !=': 'contingency'}) == 0" in annex.replace("\n", " ")
    assert "No" in annex and "Value seen" in annex

"""`pmo rules lint` and `pmo rules test`: output and exit codes."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from lifecycle.cli.main import cli
from tests.rules.helpers import DATA, DEFAULT_PACK


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_lint_a_good_pack():
    r = run("rules", "lint", str(DEFAULT_PACK))
    assert r.exit_code == 0, r.output
    assert "pmo-default 1.0.0: no problems" in r.output
    assert "planning_to_execution" in r.output and "approvals: all of: sponsor, client_representative" in r.output
    assert "hash: " in r.output
    data = json.loads(run("rules", "lint", str(DEFAULT_PACK), "--json").output)
    assert data["ok"] and data["rules"] == 60 and data["initial"] == "initiation"


def test_lint_a_bad_pack_prints_every_problem_and_exits_2():
    folder = DATA / "bad_packs" / "cel_bad_values"
    r = run("rules", "lint", str(folder))
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert lines[0].startswith(f"{folder}/gates/more.yaml:6 gates.finish.rules[0].check: 'finished' is not a value")
    assert lines[-1] == f"5 problems in {folder}"
    data = json.loads(run("rules", "lint", str(folder), "--json").output)
    assert not data["ok"] and data["problems"][1]["line"] == 9


def test_lint_a_missing_folder():
    r = run("rules", "lint", "/nonexistent/pack")
    assert r.exit_code == 2 and "not a folder" in r.output


def test_test_passes():
    r = run("rules", "test", str(DATA / "mini_pack"))
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0].startswith("PASS an empty project cannot begin")
    assert r.output.strip().endswith("2 passed, 0 failed")


def test_test_reports_failures_with_expected_and_actual(tmp_path):
    shutil.copytree(DATA / "mini_pack", tmp_path / "p")
    t = tmp_path / "p" / "tests" / "mini.yaml"
    t.write_text(
        t.read_text().replace(
            "expect: {decision: no_go, rules: {M-01: fail, M-02: pass}}", "expect: {decision: go, rules: {M-01: pass}}"
        )
    )
    r = run("rules", "test", str(tmp_path / "p"))
    assert r.exit_code == 1
    assert "FAIL an empty project cannot begin" in r.output
    assert "decision: expected go, got no_go (M-01=fail)" in r.output
    assert "rule M-01: expected pass, got fail" in r.output
    assert r.output.strip().endswith("1 passed, 1 failed")
    data = json.loads(run("rules", "test", str(tmp_path / "p"), "--json").output)
    assert data["failed"] == 1 and data["tests"][0]["failures"]


def test_test_filter_and_bad_pack():
    r = run("rules", "test", str(DEFAULT_PACK), "-k", "waiver")
    assert r.exit_code == 0 and r.output.strip().endswith("2 passed, 0 failed")
    r = run("rules", "test", str(DATA / "bad_packs" / "no_initial"))
    assert r.exit_code == 2 and "no initial phase" in r.output

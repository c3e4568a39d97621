"""Portfolio sweeps and `pmo rules diff`: what a rule change would do to every live project."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from lifecycle.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
ZH = ROOT / "examples" / "zh-smart-factory.yaml"
EN = ROOT / "examples" / "en-clinic-portal.yaml"


def run(*args: str, code: int = 0) -> object:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == code, res.output + (repr(res.exception) if res.exception else "")
    return res


def _codes() -> tuple[str, str]:
    rows = json.loads(run("list", "--json").output)
    by_locale = {r["locale"]: r["code"] for r in rows}
    return by_locale["zh-CN"], by_locale["en"]


def test_sweep_and_diff(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("PMO_TODAY", "2026-11-26")
    run("apply", str(ZH), str(EN))
    zh, en = _codes()
    run("advance", en, "--to", "planning")

    from lifecycle.services.context import open_context
    from lifecycle.services.portfolio import sweep

    ctx = open_context()
    try:
        decisions = {d.project: d for d in sweep(ctx)}
    finally:
        ctx.close()
    assert decisions[zh].transition == "initiation_to_planning" and decisions[zh].decision == "go"
    assert decisions[en].transition == "planning_to_execution" and decisions[en].decision == "no_go"

    pack = tmp_path / "stricter"
    shutil.copytree(ROOT / "rules" / "default", pack)
    gate = pack / "gates" / "initiation.yaml"
    text = gate.read_text(encoding="utf-8")
    text = text.replace("    rules:\n", "    rules:\n"
                        "      - id: INI-99\n"
                        "        title: {zh: 合同已签署, en: The contract is signed}\n"
                        "        check: \"project.contract_number == 'SIGNED'\"\n"
                        "        message: {zh: 合同未签署, en: No signed contract}\n", 1)
    gate.write_text(text, encoding="utf-8")
    plan = pack / "gates" / "planning.yaml"
    plan.write_text(plan.read_text(encoding="utf-8").replace(
        "check: \"count('tasks', {'is_leaf': true, 'status !=': 'cancelled', 'owner': ''}) == 0\"",
        "check: \"true\""), encoding="utf-8")
    run("rules", "lint", str(pack))
    out = json.loads(run("rules", "diff", str(pack), "--json").output)
    assert out["projects"] == 2
    changes = {c["code"]: c for c in out["changes"]}
    assert changes[zh]["decision_changed"] and changes[zh]["new"]["decision"] == "no_go"
    assert {"id": "INI-99", "old": "absent", "new": "fail", "title": "The contract is signed"} in changes[zh]["rules"]
    assert not changes[en]["decision_changed"]
    assert [r["id"] for r in changes[en]["rules"]] == ["PLN-05"]
    text_out = run("rules", "diff", str(pack)).output
    assert "1 would get another decision" in text_out and "INI-99: absent → fail" in text_out

    broken = tmp_path / "broken"
    shutil.copytree(pack, broken)
    (broken / "gates" / "initiation.yaml").write_text(text.replace("project.contract_number", "project.contrct"))
    res = run("rules", "diff", str(broken), code=2)
    assert "contrct" in res.output and "initiation.yaml:" in res.output

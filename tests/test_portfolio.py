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
    text = text.replace(
        "    rules:\n",
        "    rules:\n"
        "      - id: INI-99\n"
        "        title: {zh: 合同已签署, en: The contract is signed}\n"
        "        check: \"project.contract_number == 'SIGNED'\"\n"
        "        message: {zh: 合同未签署, en: No signed contract}\n",
        1,
    )
    gate.write_text(text, encoding="utf-8")
    plan = pack / "gates" / "planning.yaml"
    plan.write_text(
        plan.read_text(encoding="utf-8").replace(
            "check: \"count('tasks', {'is_leaf': true, 'status !=': 'cancelled', 'owner': ''}) == 0\"", 'check: "true"'
        ),
        encoding="utf-8",
    )
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


def test_sweep_keeps_decisions_and_evaluates_only_what_changed(workspace, monkeypatch):
    """A second sweep serves every decision from the cache; a change, a waiver, a vote, another day or
    another rule pack makes exactly the affected projects be evaluated again."""
    monkeypatch.setenv("PMO_TODAY", "2026-11-26")
    run("apply", str(ZH), str(EN))
    zh, en = _codes()

    from lifecycle.services.context import open_context
    from lifecycle.services.portfolio import NEXT_GATE, SweepStats, sweep

    def swept(**kw: object) -> tuple[dict[str, object], SweepStats]:
        stats = SweepStats()
        ctx = open_context()
        try:
            return {d.project: d for d in sweep(ctx, stats=stats, **kw)}, stats  # type: ignore[arg-type]
        finally:
            ctx.close()

    first, s1 = swept()
    assert (s1.projects, s1.evaluated, s1.cached) == (2, 2, 0)
    again, s2 = swept()
    assert (s2.evaluated, s2.cached) == (0, 2)
    assert {k: d.to_dict() for k, d in again.items()} == {k: d.to_dict() for k, d in first.items()}

    run("advance", en, "--to", "planning")  # a real change to one project
    moved, s3 = swept()
    assert (s3.evaluated, s3.cached) == (1, 1)
    assert moved[en].transition == "planning_to_execution" and moved[en].decision == "no_go"
    assert moved[zh].to_dict() == first[zh].to_dict()

    run("user", "add", "admin@pmo.example", "--name", "PMO Admin", "--role", "pmo_admin", "--no-password")
    monkeypatch.setenv("PMO_USER", "admin@pmo.example")  # records the sponsor's waiver on their behalf
    run(
        "gate",
        "waive",
        en,
        "--rule",
        "PLN-05",
        "--as",
        "sponsor",
        "--by",
        _sponsor(en),
        "--reason",
        "agreed",
        "--until",
        "2026-12-31",
    )
    waived, s4 = swept()
    assert (s4.evaluated, s4.cached) == (1, 1)
    assert waived[en].result("PLN-05").outcome in ("waived", "pass")

    monkeypatch.setenv("PMO_TODAY", "2026-11-27")
    _, s5 = swept()
    assert (s5.evaluated, s5.cached) == (2, 0)

    _, s6 = swept(use_cache=False)
    assert (s6.evaluated, s6.cached) == (2, 0)
    ctx = open_context()
    try:
        assert set(ctx.store.derived(NEXT_GATE)) == {zh, en}
    finally:
        ctx.close()

    out = json.loads(run("gate", "sweep", "--json").output)
    assert out["cached"] == 2 and out["evaluated"] == 0 and len(out["decisions"]) == 2
    text = run("gate", "sweep", "--only", "no_go").output
    assert en in text and zh not in text.split("\n")[0] and "2 projects, 2 with a next gate" in text


def test_sweep_cache_is_keyed_by_the_rule_pack(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("PMO_TODAY", "2026-11-26")
    run("apply", str(ZH))
    from lifecycle.load.rulepack import load_pack
    from lifecycle.services.context import open_context
    from lifecycle.services.portfolio import SweepStats, sweep

    pack = tmp_path / "pack"
    shutil.copytree(ROOT / "rules" / "default", pack)
    ctx = open_context()
    try:
        sweep(ctx)
        stats = SweepStats()
        sweep(ctx, stats=stats)
        assert stats.cached == 1
        gate = pack / "gates" / "initiation.yaml"
        text = gate.read_text(encoding="utf-8")
        assert "size(project.objectives) > 0" in text
        gate.write_text(text.replace("size(project.objectives) > 0", "size(project.objectives) >= 0"), encoding="utf-8")
        stats = SweepStats()
        sweep(ctx, load_pack(pack), stats=stats)
        assert (stats.evaluated, stats.cached) == (1, 0)
    finally:
        ctx.close()


def _sponsor(code: str) -> str:
    from lifecycle.services.context import open_context

    ctx = open_context()
    try:
        return ctx.store.get(code).charter.sponsor
    finally:
        ctx.close()

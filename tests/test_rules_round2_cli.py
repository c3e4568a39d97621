"""CLI round two (issue 14, findings 6 and 7): rule titles in the project's language; `rules diff`
warns about projects a new pack would strand instead of listing every rule as absent."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
ZH = ROOT / "examples" / "zh-smart-factory.yaml"
EN = ROOT / "examples" / "en-clinic-portal.yaml"


def run(*args: str, code: int = 0) -> Any:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == code, res.output + (repr(res.exception) if res.exception else "")
    return res


def test_gate_check_prints_rule_titles_in_the_project_language(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PMO_TODAY", "2026-11-26")
    run("apply", str(ZH), str(EN))
    zh = run("gate", "check", "SZ-MES-2026", "--all").output
    assert "INI-01: 项目目标已明确" in zh and "Objectives are stated" not in zh
    en = run("gate", "check", "NHP-PORTAL-2026", "--all").output
    assert "INI-01: Objectives are stated" in en


def test_rules_diff_warns_about_stranded_projects(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PMO_TODAY", "2026-11-26")
    run("apply", str(EN))
    run("advance", "NHP-PORTAL-2026", "--to", "planning")
    pack = tmp_path / "renamed"
    shutil.copytree(ROOT / "rules" / "default", pack)
    life = pack / "lifecycle.yaml"
    text = life.read_text(encoding="utf-8")
    text = re.sub(r"(id|to|from): planning\b", r"\1: plan", text)
    life.write_text(text, encoding="utf-8")
    for test in (pack / "tests").glob("*.yaml"):
        test.unlink()  # the tests name phases of the old pack
    out = run("rules", "diff", str(pack)).output
    assert "warning:" in out and "NHP-PORTAL-2026" in out and "would be stranded" in out
    assert "absent" not in out
    d = json.loads(run("rules", "diff", str(pack), "--json").output)
    (change,) = d["changes"]
    assert change["stranded"].startswith("the new pack has no phase 'planning'") and change["rules"] == []

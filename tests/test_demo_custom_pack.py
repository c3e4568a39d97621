"""`pmo demo --rules DIR` (issue 14, finding 7): walks a custom lifecycle with an extra phase and
extra approvals, or says before it starts exactly what it cannot do; `pmo --rules DIR init` saves
the pack in the workspace."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]


def uat_pack(tmp_path: Path) -> Path:
    """The default pack with a 'uat' phase between execution and control, left with two approvals."""
    pack = tmp_path / "uat"
    shutil.copytree(ROOT / "rules" / "default", pack)
    life = pack / "lifecycle.yaml"
    text = life.read_text(encoding="utf-8")
    text = text.replace(
        "  - id: control\n",
        "  - id: uat\n    title: {zh: 用户验收测试, en: User acceptance testing}\n  - id: control\n",
        1,
    )
    text = text.replace(
        "    from: execution\n    to: control\n",
        "    from: execution\n    to: uat\n"
        "  - name: uat_to_control\n    title: {zh: 验收测试通过, en: User acceptance passed}\n"
        "    from: uat\n    to: control\n    approvals:\n      all_of: [client_representative, project_manager]\n",
        1,
    )
    life.write_text(text, encoding="utf-8")
    gates = pack / "gates" / "execution.yaml"
    gates.write_text(
        gates.read_text(encoding="utf-8").rstrip("\n")
        + "\n  uat_to_control:\n    title: {zh: 验收测试评审, en: UAT review}\n    rules:\n"
        "      - id: UAT-01\n        title: {zh: 没有未关闭的阻塞问题, en: No blocking issue is open}\n"
        "        check: \"count('issues', {'blocking': true, 'is_open': true}) == 0\"\n",
        encoding="utf-8",
    )
    return pack


def _demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PMO_WORKSPACE": "", "NO_COLOR": "1"}
    env.pop("PMO_DATABASE_URL", None)
    env.pop("PMO_RULES", None)
    return subprocess.run(
        [sys.executable, "-m", "lifecycle.cli.main", "demo", "--sample", "en", "--out", str(tmp_path / "d"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )


def test_demo_says_what_it_cannot_walk(tmp_path: Path) -> None:
    pack = uat_pack(tmp_path)
    life = pack / "lifecycle.yaml"
    text = life.read_text(encoding="utf-8")
    life.write_text(text.replace("  - id: closure\n", "  - id: wrap_up\n", 1).replace(": closure\n", ": wrap_up\n"))
    res = _demo(tmp_path, "--rules", str(pack))
    assert res.returncode != 0
    assert "pmo demo cannot walk this rule pack: the pack has no phase 'closure' on its forward route" in res.stderr
    assert not (tmp_path / "d").exists()  # nothing started


@pytest.mark.slow
def test_demo_walks_a_custom_lifecycle_with_an_extra_phase_and_approvals(tmp_path: Path) -> None:
    res = _demo(tmp_path, "--rules", str(uat_pack(tmp_path)))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    out = res.stdout
    assert "execution → uat → control → closure → closed" in " ".join(out.split())  # the route, maybe wrapped
    assert "phase 'uat' of this rule pack: the walk passes its gate" in out
    assert "→ execution → uat" in out and "→ uat → control" in out
    assert re.search(r"approval by olivia_grant \([^)]+@[^)]+\) as project_manager", out), out[-2000:]  # as herself
    assert "phase closed" in out and "audit trail: intact" in out


def test_init_with_rules_saves_the_pack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMO_WORKSPACE", str(tmp_path / ".pmo"))
    monkeypatch.delenv("PMO_RULES", raising=False)
    monkeypatch.delenv("PMO_DATABASE_URL", raising=False)
    pack = uat_pack(tmp_path)
    res = CliRunner().invoke(cli, ["--rules", str(pack), "init"])
    assert res.exit_code == 0, res.output
    assert f'rules: "{pack.resolve()}"' in (tmp_path / ".pmo" / "settings.yaml").read_text(encoding="utf-8")
    lint = CliRunner().invoke(cli, ["init"])  # later commands use the saved pack without --rules
    assert f"rules     {pack.resolve()}" in lint.output
    bad = tmp_path / "bad"
    shutil.copytree(pack, bad)
    (bad / "lifecycle.yaml").write_text("name: x\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["--rules", str(bad), "init"])
    assert res.exit_code == 2 and "lifecycle.yaml" in res.output
    assert str(bad) not in (tmp_path / ".pmo" / "settings.yaml").read_text(encoding="utf-8")

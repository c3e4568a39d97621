"""Shell completion: the bash script, sourced in a real bash, completes pmo's commands and options."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PMO = str(Path(sys.executable).with_name("pmo"))


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PMO_")}
    env["HOME"] = str(tmp_path)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    return env


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_commands_and_options(tmp_path: Path) -> None:
    env = _env(tmp_path)
    out = subprocess.run([PMO, "completion", "bash", "--install"], env=env, capture_output=True, text=True, check=True)
    target = tmp_path / ".local/share/bash-completion/completions/pmo"
    assert str(target) in out.stdout and target.is_file()
    ask = "COMPREPLY=(); _pmo_completion pmo; echo"
    probe = (
        f"source {target}\n"
        "complete -p pmo >/dev/null || exit 3\n"
        f'COMP_WORDS=(pmo ga); COMP_CWORD=1; {ask} "CMDS:${{COMPREPLY[*]}}"\n'
        f"COMP_WORDS=(pmo gate ''); COMP_CWORD=2; {ask} \"SUB:${{COMPREPLY[*]}}\"\n"
        f"COMP_WORDS=(pmo completion ''); COMP_CWORD=2; {ask} \"SHELLS:${{COMPREPLY[*]}}\"\n"
    )
    res = subprocess.run(["bash", "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    lines = dict(line.split(":", 1) for line in res.stdout.splitlines() if ":" in line)
    assert lines["CMDS"].split() == ["gate"]
    assert {"check", "approve", "waive"} <= set(lines["SUB"].split())
    assert lines["SHELLS"].split() == ["bash", "zsh", "fish"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_name_pmo(shell: str, tmp_path: Path) -> None:
    out = subprocess.run([PMO, "completion", shell], env=_env(tmp_path), capture_output=True, text=True, check=True)
    assert "_PMO_COMPLETE" in out.stdout and "pmo" in out.stdout


def test_unknown_shell_is_a_usage_error(tmp_path: Path) -> None:
    res = subprocess.run([PMO, "completion", "tcsh"], env=_env(tmp_path), capture_output=True, text=True)
    assert res.returncode == 2 and "'tcsh' is not one of 'bash', 'zsh', 'fish'" in res.stderr

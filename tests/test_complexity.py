"""Functions stay small: ruff's cyclomatic complexity rule (C901) at 15 over the whole engine and the
flows, with no exception. The limit is pyproject.toml's (``[tool.ruff.lint.mccabe]``), so ``ruff check``
enforces it too; this test says so even when ruff's configuration is changed by mistake."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_COMPLEXITY = 15
CHECKED = ("lifecycle", "flows")


def _files() -> list[str]:
    return [p.relative_to(ROOT).as_posix() for folder in CHECKED for p in sorted((ROOT / folder).rglob("*.py"))]


def test_the_checked_folders_hold_code_and_ruff_enforces_the_same_limit() -> None:
    files = _files()
    assert "lifecycle/domain/schedule.py" in files and "lifecycle/expr/native.py" in files
    assert "lifecycle/web/app.py" in files and "flows/milestone.py" in files
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]["lint"]
    assert "C90" in lint["select"] and lint["mccabe"]["max-complexity"] == MAX_COMPLEXITY
    assert not [k for k in lint.get("per-file-ignores", {}).values() if any(c.startswith("C90") for c in k)]


def test_no_function_is_too_complex() -> None:
    cmd = [
        sys.executable,
        "-m",
        "ruff",
        "check",
        "--select",
        "C901",
        "--config",
        f"lint.mccabe.max-complexity={MAX_COMPLEXITY}",
        "--output-format",
        "concise",
        "--force-exclude",  # the project's excludes (generated migrations) apply to the files named here too
        "--no-cache",
        *_files(),
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    offenders = [line for line in run.stdout.splitlines() if "C901" in line]
    assert run.returncode in (0, 1), run.stderr
    assert not offenders, f"functions above complexity {MAX_COMPLEXITY} (split them into named steps):\n" + "\n".join(
        offenders
    )
    assert run.returncode == 0, run.stdout + run.stderr

"""Workload 2: ``pmo gate check`` as a new process on a 5,000-task project in SQLite.

The project of workload 1 (5,000 tasks, 500 risks, 300 deliverables, in planning, so the next gate
is ``planning_to_execution`` of the default pack) is stored in a fresh SQLite workspace; then
``pmo gate check CODE`` is started as a new process, as a user runs it: interpreter start, imports,
opening the database, loading the project and the rule pack, building the facts, evaluating, printing.
Exit code 0 (go) or 1 (no-go) are both fine; anything else fails the workload. Baseline, in the same
run: ``python -c pass``. Target: under 1 s.

Also recorded: the packages the command spends its import time in, and (in the scratch folder,
``w2/profile.txt``) a pyinstrument profile of one run, for finding the cause when the target is missed.
"""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import (
    Bench,
    NotAvailable,
    default_pack,
    env_for,
    pmo_command,
    python,
    result,
    run_command,
    slowest_imports,
    time_commands,
)

NUMBER = 2
TITLE = "`pmo gate check`, SQLite (new process)"


def _title(tasks: int) -> str:
    return f"`pmo gate check`, {tasks:,} tasks, SQLite (new process)"


TARGET = "< 1 s"
LIMIT_S = 1.0
CODE = "GATE-5000"


def big_project(b: Bench, phase: str = "planning") -> Any:
    from bench.generate import generate_project

    s = b.size
    return generate_project(
        CODE, seed=5, tasks=s.w1_tasks, risks=s.w1_risks, deliverables=s.w1_deliverables, phase=phase
    )


def profile_command(args: list[str], env: dict[str, str], out: Path) -> dict[str, Any]:
    """Run a command under pyinstrument, writing its text profile to ``out``; where it is, or the error."""
    try:
        proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.SubprocessError) as exc:
        return {"profile_error": str(exc)}
    if out.exists():
        return {"profile": str(out)}
    return {"profile_error": (proc.stderr or "").strip()[-300:]}


def run(b: Bench) -> dict[str, Any]:
    try:
        import lifecycle.cli.gates
        import lifecycle.services.gates  # noqa: F401
    except ModuleNotFoundError as exc:
        raise NotAvailable(f"{exc.name} has not landed") from exc
    pack = default_pack()
    if not any(g.rules for g in pack.gates.values()):
        raise NotAvailable("the default rule pack has no gate rules yet")

    from lifecycle.storage.sql import SqlStore

    ws = b.scratch("w2")
    env = env_for(ws)
    run_command([*pmo_command(), "init"], env)
    store = SqlStore.open(f"sqlite:///{ws / 'pmo.db'}")
    try:
        store.save(replace(big_project(b), version=0), expected_version=None)
    finally:
        store.close()
    check = [*pmo_command(), "gate", "check", CODE]
    _, proc = run_command(check, env, ok_codes=(0, 1))
    verdict = next((w for w in ("CONDITIONAL GO", "NO-GO", "GO") if w in proc.stdout), "?")
    timed = time_commands(
        {"check": (check, {"env": env, "ok_codes": (0, 1)}), "pass": ([python(), "-c", "pass"], {"env": env})},
        repeat=b.size.process_repeat,
        warmup=1,
        budget_s=30,
    )
    measured, base = timed["check"], timed["pass"]
    met = measured["median"] < LIMIT_S
    extra: dict[str, Any] = {"verdict": verdict, "slowest_imports": slowest_imports(check, env)}
    if b.size.profile:
        extra.update(
            profile_command(
                [
                    python(),
                    "-m",
                    "pyinstrument",
                    "-r",
                    "text",
                    "-o",
                    str(ws / "profile.txt"),
                    "-m",
                    "lifecycle.cli.main",
                    "gate",
                    "check",
                    CODE,
                ],
                env,
                ws / "profile.txt",
            )
        )
    imports = ", ".join(f"{m['package']} {m['ms']:.0f} ms" for m in extra["slowest_imports"][:4])
    note = f"decision {verdict}; slowest imports: {imports}"
    return result(
        NUMBER,
        _title(b.size.w1_tasks),
        target=TARGET,
        measured=measured,
        baseline=base,
        baseline_label="python -c pass",
        met=met,
        note=note,
        size={"tasks": b.size.w1_tasks, "risks": b.size.w1_risks, "deliverables": b.size.w1_deliverables},
        extra=extra,
    )

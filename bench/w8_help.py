"""Workload 8: ``pmo --help`` as a new process, against ``python -c pass``.

Start-up is what a user feels on every command. ``pmo --help`` must list every command without
importing a command module, the storage layer, Prefect or WeasyPrint (the design's rule). When the
target is missed, the workload records which packages the start-up spends its import time in
(``-X importtime``), which names the module to make lazy.
"""

from __future__ import annotations

from typing import Any

from bench import Bench, env_for, pmo_command, python, result, slowest_imports, time_commands

NUMBER = 8
TITLE = "`pmo --help` (new process)"
TARGET = "< 0.3 s"
LIMIT_S = 0.3


def run(b: Bench) -> dict[str, Any]:
    ws = b.scratch("w8")
    env = env_for(ws)
    help_cmd = [*pmo_command(), "--help"]
    timed = time_commands(
        {"help": (help_cmd, {"env": env}), "pass": ([python(), "-c", "pass"], {"env": env})},
        repeat=max(5, b.size.process_repeat),
        warmup=2,
    )
    measured, base = timed["help"], timed["pass"]
    met = measured["median"] < LIMIT_S
    extra: dict[str, Any] = {"overhead_s": round(measured["median"] - base["median"], 4)}
    imported = slowest_imports(help_cmd, env, top=1000)
    extra["slowest_imports"] = imported[:8]
    names = {m["package"] for m in imported}
    forbidden = [p for p in ("prefect", "sqlalchemy", "weasyprint") if p in names]
    note = "imports " + ", ".join(forbidden) if forbidden else ""
    return result(
        NUMBER,
        TITLE,
        target=TARGET,
        measured=measured,
        baseline=base,
        baseline_label="python -c pass",
        met=met,
        note=note,
        extra=extra,
    )

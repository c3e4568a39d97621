"""The benchmark suite: every workload timed against a baseline measured in the same run.

``python -m bench [--size tiny|small|full] [--only 1,3] [--output FILE]`` runs the workloads
(``bench/w1_gate.py`` … ``bench/w8_help.py``), prints a table and writes ``bench/results.json``
(see :mod:`bench.report`). ``bash scripts/bench.sh`` does the set-up, runs the ``full`` size and
refreshes the table in the README.

This module holds what every workload shares: the sizes, the timing helpers (medians of repeated
runs, with min and max), the environment commands run in (a fixed ``PMO_TODAY``, telemetry off, a
private Prefect home), and :class:`NotAvailable`, which a workload raises when the part of the engine
it measures has not been built yet, so the run reports it and carries on. Standard library only: the
workloads import the engine, this module does not.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TODAY_ISO = "2026-09-15"  # bench.generate.TODAY


class NotAvailable(Exception):
    """The engine part this workload measures is not in this build; the message says which."""


@dataclass(frozen=True)
class Size:
    name: str
    repeat: int  # repetitions of a quick measurement (the median is reported)
    w1_tasks: int
    w1_risks: int
    w1_deliverables: int
    w3_projects: tuple[int, ...]  # the sweep sizes; the last one is the headline
    w3_tasks: int
    w4_deliverables: int
    w4_batch: int
    w5_tasks: tuple[int, ...]
    w6_tasks: tuple[int, ...]  # the apply sizes; the last one is the headline
    w7_later_runs: int
    w7_enabled: bool
    process_repeat: int  # repetitions of a command started as a new process
    w4_repeat: int = 5  # renders are slow: their own repeat count
    profile: bool = True  # record profiles of the slow paths (skipped at the smoke-test size)
    w3_budget_s: float | None = None  # larger sweeps are skipped (and said so) when they would not fit


SIZES: dict[str, Size] = {
    "tiny": Size(
        "tiny",
        repeat=2,
        w1_tasks=300,
        w1_risks=30,
        w1_deliverables=18,
        w3_projects=(20, 60),
        w3_tasks=40,
        w4_deliverables=4,
        w4_batch=2,
        w5_tasks=(300, 1000),
        w6_tasks=(100, 200),
        w7_later_runs=1,
        w7_enabled=False,
        process_repeat=2,
        w4_repeat=2,
        profile=False,
    ),
    "small": Size(
        "small",
        repeat=5,
        w1_tasks=1000,
        w1_risks=100,
        w1_deliverables=60,
        w3_projects=(200, 1000),
        w3_tasks=200,
        w4_deliverables=40,
        w4_batch=20,
        w5_tasks=(1000, 10_000),
        w6_tasks=(500, 1000),
        w7_later_runs=3,
        w7_enabled=True,
        process_repeat=5,
        w4_repeat=3,
        w3_budget_s=120,
    ),
    "full": Size(
        "full",
        repeat=7,
        w1_tasks=5000,
        w1_risks=500,
        w1_deliverables=300,
        w3_projects=(300, 1000, 3000, 10_000),
        w3_tasks=200,
        w4_deliverables=40,
        w4_batch=200,
        w5_tasks=(1000, 10_000, 100_000),
        w6_tasks=(1250, 2500, 5000),
        w7_later_runs=3,
        w7_enabled=True,
        process_repeat=7,
        w4_repeat=3,
        w3_budget_s=900,
    ),
}


@dataclass
class Bench:
    """What a workload gets: the size, a scratch folder, a cache folder kept between runs, a log."""

    size: Size
    workdir: Path
    cache: Path
    verbose: bool = True
    notes: list[str] = field(default_factory=list)

    def log(self, message: str) -> None:
        if self.verbose:
            print(f"  {message}", file=sys.stderr, flush=True)

    def scratch(self, name: str) -> Path:
        path = self.workdir / name
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return path


# --------------------------------------------------------------------------- timing
def stats(samples: Sequence[float]) -> dict[str, Any]:
    """Median, min and max of repeated runs (seconds), with the runs themselves."""
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "runs": [round(s, 6) for s in samples],
    }


def timeit(
    fn: Callable[[], Any], repeat: int, *, warmup: int = 1, setup: Callable[[], Any] | None = None
) -> dict[str, Any]:
    """Run ``fn`` ``warmup`` times untimed, then ``repeat`` times timed (``setup`` before each, untimed)."""
    for _ in range(warmup):
        if setup:
            setup()
        fn()
    samples = []
    for _ in range(repeat):
        if setup:
            setup()
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return stats(samples)


def _rounds(repeat: int, round_cost: float, budget_s: float | None, minimum: int = 3) -> int:
    """How many timed rounds fit the time budget (at least ``minimum``, at most ``repeat``)."""
    if not budget_s or round_cost <= 0:
        return repeat
    return max(min(repeat, minimum), min(repeat, int(budget_s / round_cost)))


def interleaved(
    fns: dict[str, Callable[[], Any]],
    repeat: int,
    *,
    warmup: int = 1,
    setup: Callable[[], Any] | None = None,
    budget_s: float | None = None,
) -> dict[str, dict[str, Any]]:
    """Time several functions in alternation, so a noisy neighbour on the machine hits them alike.

    With ``budget_s`` the number of rounds is cut (to no fewer than 3) so the timed rounds take about
    that long, judged from the warm-up round.
    """
    t0 = time.perf_counter()
    for _ in range(warmup):
        for fn in fns.values():
            if setup:
                setup()
            fn()
    rounds = _rounds(repeat, (time.perf_counter() - t0) / max(1, warmup), budget_s)
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            if setup:
                setup()
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)
    return {k: stats(v) for k, v in samples.items()}


def python() -> str:
    """The interpreter of this run (the project's .venv when started by scripts/bench.sh)."""
    return sys.executable


def pmo_command() -> list[str]:
    """``pmo`` as installed next to this interpreter (what a user types), else ``python -m``."""
    exe = Path(sys.executable).parent / "pmo"
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-m", "lifecycle.cli.main"]


def env_for(workspace: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a command under test: fixed today, no telemetry, nothing from the user's setup."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMO_", "PREFECT_"))}
    env.update({"PMO_TODAY": TODAY_ISO, "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    if workspace is not None:
        env["PMO_WORKSPACE"] = str(workspace)
        env["PREFECT_HOME"] = str(workspace / "prefect")
    env.update(extra)
    return env


Completed = subprocess.CompletedProcess


def run_command(
    args: Sequence[str],
    env: dict[str, str] | None = None,
    *,
    cwd: Path | None = None,
    ok_codes: tuple[int, ...] = (0,),
    timeout: float = 600,
) -> tuple[float, Completed[str]]:
    """Run a command as a new process; its wall time and result. Fails loudly on an unexpected exit code."""
    t0 = time.perf_counter()
    proc = subprocess.run(list(args), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in ok_codes:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-8:]
        raise RuntimeError(f"`{' '.join(args)}` exited {proc.returncode}: " + " | ".join(tail))
    return elapsed, proc


RESULT_PREFIX = "BENCH-RESULT "


class SmtpInbox:
    """A real SMTP server on 127.0.0.1 keeping what it receives (the tests' inbox); ``stop()`` ends it."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        from tests.flows.conftest import Inbox, free_port

        self.box = Inbox()
        self.controller = Controller(self.box, hostname="127.0.0.1", port=free_port())
        self.controller.start()
        self.box.port = self.controller.port

    def settings(self) -> dict[str, Any]:
        """The workspace's ``smtp:`` setting that sends to this server."""
        return dict(self.box.settings())

    def stop(self) -> None:
        self.controller.stop()


def report_result(data: dict[str, Any]) -> None:
    """What a measuring child process prints: one line that :func:`child_result` reads back."""
    print(RESULT_PREFIX + json.dumps(data))


def child_result(
    args: Sequence[str], env: dict[str, str] | None = None, *, cwd: Path | None = None, timeout: float = 600
) -> dict[str, Any]:
    """Run a measuring child process and return the result it reported with :func:`report_result`."""
    _, proc = run_command(args, env, cwd=cwd, timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            data: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return data
    raise RuntimeError(f"`{' '.join(args[:4])}` printed no result: {proc.stdout[-300:]} {proc.stderr[-300:]}")


def time_commands(
    commands: dict[str, tuple[Sequence[str], dict[str, Any]]],
    repeat: int,
    warmup: int = 1,
    budget_s: float | None = None,
) -> dict[str, dict[str, Any]]:
    """Time commands started as new processes, alternating between them; ``{name: stats}``."""
    t0 = time.perf_counter()
    for _ in range(warmup):
        for args, kw in commands.values():
            run_command(args, **kw)
    rounds = _rounds(repeat, (time.perf_counter() - t0) / max(1, warmup), budget_s)
    samples: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(rounds):
        for name, (args, kw) in commands.items():
            samples[name].append(run_command(args, **kw)[0])
    return {k: stats(v) for k, v in samples.items()}


def slowest_imports(args: Sequence[str], env: dict[str, str] | None = None, top: int = 8) -> list[dict[str, Any]]:
    """The top-level packages a command spends its import time in (``python -X importtime``)."""
    env = dict(env or os.environ)
    env["PYTHONPROFILEIMPORTTIME"] = "1"
    proc = subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=300)
    per_pkg: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        try:
            _, rest = line.split(":", 1)
            _self, cum, raw = rest.split("|")
        except ValueError:
            continue
        name = raw.strip()
        if len(raw) - len(raw.lstrip()) <= 1:  # a top-level import (nesting indents by two more spaces)
            pkg = name.split(".")[0]
            per_pkg[pkg] = per_pkg.get(pkg, 0) + int(cum)
    ranked = sorted(per_pkg.items(), key=lambda kv: -kv[1])[:top]
    return [{"package": k, "ms": round(v / 1000, 1)} for k, v in ranked]


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB.

    Read from ``VmHWM`` (kept per address space, so it starts afresh at exec); ``ru_maxrss`` would
    carry over the parent's size from before the fork.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pin_to_one_core() -> int | None:
    """Restrict this process to one CPU (for 'on one core' targets); the CPU, or None if not possible."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})
        return cpus[-1]
    except (AttributeError, OSError):
        return None


def growth_exponent(sizes: Sequence[float], times: Sequence[float]) -> float | None:
    """Least-squares slope of log(time) against log(size): 1.0 is linear, 2.0 quadratic."""
    import math

    pts = [(math.log(s), math.log(t)) for s, t in zip(sizes, times, strict=True) if s > 0 and t > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    den = sum((p[0] - mx) ** 2 for p in pts)
    if den == 0:
        return None
    return round(sum((p[0] - mx) * (p[1] - my) for p in pts) / den, 3)


def result(
    number: int,
    title: str,
    *,
    target: str,
    status: str = "ok",
    note: str = "",
    measured: dict[str, Any] | None = None,
    baseline: dict[str, Any] | None = None,
    baseline_label: str = "",
    ratio: float | None = None,
    met: bool | None = None,
    unit: str = "s",
    size: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One workload's entry of results.json (see bench.report for the shape)."""
    out: dict[str, Any] = {
        "number": number,
        "id": f"w{number}",
        "title": title,
        "status": status,
        "note": note,
        "unit": unit,
        "target": target,
        "met": met,
        "size": size or {},
    }
    if measured:
        out.update({k: measured[k] for k in ("median", "min", "max", "runs") if k in measured})
    if baseline:
        out["baseline"] = {
            "label": baseline_label,
            **{k: baseline[k] for k in ("median", "min", "max", "runs") if k in baseline},
        }
    if ratio is None and measured and baseline and baseline.get("median"):
        ratio = measured["median"] / baseline["median"]
    out["ratio"] = round(ratio, 3) if ratio is not None else None
    out["extra"] = extra or {}
    return out


def default_pack() -> Any:
    """The shipped rule pack, or NotAvailable with the reason it does not load."""
    from lifecycle.errors import SpecError
    from lifecycle.load.rulepack import load_pack
    from lifecycle.workspace import package_data_dir

    try:
        return load_pack(package_data_dir("rules") / "default")
    except SpecError as exc:
        raise NotAvailable(f"the default rule pack does not load: {str(exc).splitlines()[-1].strip()}") from exc

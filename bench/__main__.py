"""``python -m bench [--size tiny|small|full] [--only N,...] [--output FILE]``: run the benchmark suite.

Runs the selected workloads in order, each in a ``try``: a workload whose engine part has not landed
reports "not available", one that fails reports its error, and the run goes on. Prints the table and
writes the results file (``bench/results.json`` by default; see :mod:`bench.report`). Exit code 0
when every workload ran or was not available, 1 when one failed.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import ROOT, SIZES, Bench, NotAvailable, result

WORKLOADS = (
    "w1_gate",
    "w2_gate_cli",
    "w3_sweep",
    "w4_documents",
    "w5_schedule",
    "w6_apply",
    "w7_flow",
    "w8_help",
    "w9_pages",
    "w10_levelling",
    "w11_montecarlo",
    "w12_server",
    "w13_latency",
)


def _workload_meta(name: str) -> tuple[int, str, str]:
    number = int(name[1:].split("_")[0])
    try:
        mod = importlib.import_module(f"bench.{name}")
        return number, str(getattr(mod, "TITLE", name)), str(getattr(mod, "TARGET", ""))
    except Exception:  # a module that cannot even be imported still gets a row
        return number, name, ""


def run_one(name: str, b: Bench) -> dict[str, Any]:
    number, title, target = _workload_meta(name)
    t0 = time.perf_counter()
    try:
        mod = importlib.import_module(f"bench.{name}")
        out: dict[str, Any] = mod.run(b)
    except NotAvailable as exc:
        out = result(number, title, target=target, status="not_available", note=str(exc))
    except Exception as exc:  # report and go on: one broken workload must not hide the others
        traceback.print_exc(file=sys.stderr)
        out = result(number, title, target=target, status="error", note=f"{type(exc).__name__}: {exc}"[:400])
    out["wall_s"] = round(time.perf_counter() - t0, 2)
    with contextlib.suppress(OSError):  # how busy the (shared) machine was: 1-minute load average at the end
        out["load_avg_1m"] = round(os.getloadavg()[0], 2)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--only", default="", help="comma-separated workload numbers, e.g. 1,3")
    ap.add_argument("--output", default=str(ROOT / "bench" / "results.json"), help="results file to write")
    ap.add_argument("--workdir", default="", help="scratch folder (default: out/bench/<size>)")
    ap.add_argument(
        "--cache", default="", help="folder for generated databases kept between runs (default: out/bench/cache)"
    )
    ap.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = ap.parse_args(argv)

    size = SIZES[args.size]
    only = {int(x) for x in args.only.split(",") if x.strip()} if args.only else set()
    names = [n for n in WORKLOADS if not only or int(n[1:].split("_")[0]) in only]
    workdir = Path(args.workdir or ROOT / "out" / "bench" / size.name).resolve()
    cache = Path(args.cache or ROOT / "out" / "bench" / "cache").resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    b = Bench(size=size, workdir=workdir, cache=cache, verbose=not args.quiet)

    from bench import report

    started = time.time()
    commit = report.commit()  # the code measured is the code at the start
    rows = []
    for name in names:
        if not args.quiet:
            print(f"[bench] {name} ({size.name})", file=sys.stderr, flush=True)
        row = run_one(name, b)
        rows.append(row)
        if not args.quiet:
            print(f"[bench] {name}: {row['status']} in {row['wall_s']} s", file=sys.stderr, flush=True)
    doc = report.document(rows, size=size.name, size_params=asdict(size), started=started, commit_id=commit)
    report.write(doc, Path(args.output))
    print(report.table(doc))
    return 1 if any(r["status"] == "error" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

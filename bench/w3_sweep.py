"""Workload 3: a portfolio sweep, the next-gate decision of every project, read from SQLite.

A portfolio of 10,000 projects of ~200 tasks each (phases mixed as in a live portfolio; built once by
``bench.generate`` through the store and cached in ``out/bench/cache`` keyed by the generator; an
older schema is upgraded in place) is copied to a scratch folder and swept by the engine's portfolio
sweep (``lifecycle.services.portfolio.sweep``), four ways:

- **first**: every derived datum emptied (decisions and kept schedules): the very first sweep;
- **cold**: the sweep's decision cache emptied, so every project is loaded, its facts built and its
  next gate evaluated (what the first sweep of a day, or after a rule change, does); the critical-path
  schedules kept by the sweep before are reused where a project's plan did not change;
- **warm**: the same sweep again, nothing changed (every decision comes from the cache);
- **5% changed** (the headline): 5% of the projects get a new status report first (untimed), then the
  sweep: it evaluates those and serves the rest from the cache, the steady state of a monitor that
  runs through the day.

Baseline, in the same run: the sweep's reading alone (its own reader, ``_portfolio``: waivers and
votes, then ``get_many`` per 500 projects) and nothing else. The limit the cold sweep is reported
against, as a ratio: fetching the same rows (every project's head and section rows, in the reader's
order) with the driver alone (``sqlite3`` or ``psycopg``), converting nothing.

Each measurement runs in a new process pinned to one CPU, which reports its own elapsed time
(imports and opening the database excluded) and its peak resident memory. Targets: at least 500
projects/s on one core, peak memory under 1 GiB, and time growing linearly from 1,000 to 10,000
projects (log-log slope at most 1.15), judged on the 5%-changed sweep; the cold rate is reported
beside it with its target (400 projects/s) and its ratio to the raw rows. Each child also reports its
CPU time: on a busy machine the CPU-time rates show the code's cost when the wall clock cannot.
Sizes that would not fit the size's time budget at the rate measured so far are skipped and named
in the note. The sweep is also run on PostgreSQL (copied into a throw-away cluster): at the
full size up to 1,000 projects, as many as take ~20 s cold; at the small size the smallest size.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bench import (
    ROOT,
    Bench,
    NotAvailable,
    child_result,
    env_for,
    growth_exponent,
    python,
    report_result,
    result,
    stats,
)

NUMBER = 3
TITLE = "portfolio sweep, next-gate decisions, 5% changed since the last sweep"


def _title(projects: int, tasks: int) -> str:
    return (
        f"portfolio sweep of {projects:,} projects, ~{tasks:,} tasks each, next-gate decisions, "
        "5% changed since the last sweep"
    )


TARGET = "≥ 500 projects/s on one core, < 1 GiB, linear 1k→10k"
CHANGED_SHARE = 0.05
MIN_RATE = 500.0
COLD_TARGET = 400.0  # projects/s, every decision evaluated (issue: at 10,000 projects, one core)
MAX_MIB = 1024.0
MAX_EXPONENT = 1.15
BATCH = 500


# --------------------------------------------------------------------------- the engine's sweep
def sweep_function() -> Callable[..., Any]:
    """``lifecycle.services.portfolio.sweep`` (NotAvailable before it lands)."""
    try:
        from lifecycle.services.portfolio import sweep
    except (ModuleNotFoundError, ImportError) as exc:
        raise NotAvailable("lifecycle.services.portfolio.sweep has not landed") from exc
    return sweep


def read_only(ctx: Any) -> int:
    """What the sweep reads, and nothing else: its own reader when it has one, else the same calls."""
    try:
        from lifecycle.services.portfolio import _portfolio
    except ImportError:
        _portfolio = None
    if _portfolio is not None:
        return sum(1 for _ in _portfolio(ctx))
    ctx.store.all_records("waiver")
    ctx.store.all_records("approval")
    codes = [s.code for s in ctx.store.list_projects()]
    return sum(len(ctx.store.get_many(codes[i : i + BATCH])) for i in range(0, len(codes), BATCH))


def _consume(value: Any) -> int:
    if isinstance(value, dict):
        return len(value)
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        return sum(1 for _ in value)
    return 0


def raw_rows(url: str) -> tuple[int, int, int]:
    """The limit: the rows a sweep reads (every project's head and section rows, in the reader's order)
    fetched with the driver alone (sqlite3 or psycopg), no conversion; (projects, rows, task rows)."""
    from lifecycle.storage.sql import _HEAD_SQL, _SECTION_SQL

    if url.startswith("sqlite"):
        conn: Any = sqlite3.connect(url.split("///", 1)[1])
    else:
        import psycopg

        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    try:
        cur = conn.cursor()
        projects = len(cur.execute(_HEAD_SQL + ' ORDER BY "code"').fetchall())
        rows, tasks = projects, 0
        for name, sql in _SECTION_SQL.items():
            cur.execute(sql + ' ORDER BY "project_id", "position"')
            while chunk := cur.fetchmany(5000):
                rows += len(chunk)
                tasks += len(chunk) if name == "tasks" else 0
        return projects, rows, tasks
    finally:
        conn.close()


# --------------------------------------------------------------------------- the child process
def _clear_cache(store: Any, kinds: tuple[str, ...] = ("next_gate",)) -> None:
    """Forget the sweep's decisions (and, with ``kinds``, other derived data such as kept schedules)."""
    from sqlalchemy import text

    with store.engine.begin() as conn:
        for kind in kinds:
            conn.execute(text('DELETE FROM "derived" WHERE "kind" = :kind'), {"kind": kind})


def _change_some(store: Any, share: float) -> int:
    """Give every 1/share-th project a new status report (a real save: new version, audit event)."""
    from datetime import date

    from lifecycle.domain.model import AuditEvent, StatusReport, replace

    codes = [s.code for s in store.list_projects()]
    step = max(1, round(1 / share))
    changed = 0
    for code in codes[::step]:
        p = store.get(code)
        n = len(p.status_reports) + 1
        day = date(2026, 9, 14)
        report = StatusReport(
            id=f"SR-BENCH-{p.version}-{n}",
            date=day,
            period_start=day,
            period_end=day,
            author=p.charter.project_manager,
            audience="internal",
            overall="green",
            schedule="green",
            cost="green",
            scope="green",
            summary="Weekly report.",
        )
        store.save(
            replace(p, status_reports=(*p.status_reports, report)),
            expected_version=p.version,
            events=[AuditEvent(code, "status_report.recorded", "bench", _now(), "status_report", report.id)],
        )
        changed += 1
    return changed


def _now() -> Any:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


def child(url: str, mode: str) -> dict[str, Any]:
    """One measurement in this process: ``cold``, ``warm`` or ``changed`` sweeps, ``read`` or ``raw`` rows."""
    from bench import peak_rss_mib, pin_to_one_core

    cpu = pin_to_one_core()
    from lifecycle.services.context import Context
    from lifecycle.storage.sql import SqlStore
    from lifecycle.workspace import Settings, Workspace

    store = SqlStore.open(url)
    ctx = Context(Workspace(Path.cwd(), Settings()), store)
    extra: dict[str, Any] = {}
    try:
        codes = [s.code for s in store.list_projects()]
        count = 0
        if mode in ("first", "cold", "warm", "changed"):
            fn = sweep_function()
            if mode == "first":
                _clear_cache(store, ("next_gate", "schedule"))
            elif mode == "cold":
                _clear_cache(store)
            elif mode == "changed":
                extra["changed"] = _change_some(store, CHANGED_SHARE)
            from lifecycle.services.portfolio import SweepStats

            sweep_stats = SweepStats()
            t0, c0 = time.perf_counter(), time.process_time()
            count = _consume(fn(ctx, stats=sweep_stats))
            extra.update(
                evaluated=sweep_stats.evaluated,
                cached=sweep_stats.cached,
                schedules_reused=getattr(sweep_stats, "schedules_reused", 0),
            )
        elif mode == "read":
            t0, c0 = time.perf_counter(), time.process_time()
            count = read_only(ctx)
        else:
            t0, c0 = time.perf_counter(), time.process_time()
            count, extra["rows"], extra["task_rows"] = raw_rows(url)
        elapsed, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    finally:
        ctx.close()
    return {
        "mode": mode,
        "projects": len(codes),
        "results": count,
        "seconds": elapsed,
        "cpu_seconds": cpu_s,
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "cpu": cpu,
        **extra,
    }


def _child_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.w3_sweep child")
    ap.add_argument("mode", choices=("first", "cold", "warm", "changed", "read", "raw"))
    ap.add_argument("--url", required=True)
    args = ap.parse_args(argv)
    report_result(child(args.url, args.mode))
    return 0


def measure(url: str, mode: str, workdir: Path) -> dict[str, Any]:
    env = env_for(workdir, PYTHONPATH=str(ROOT))
    return child_result([python(), "-m", "bench.w3_sweep", "child", mode, "--url", url], env, cwd=workdir, timeout=3600)


# --------------------------------------------------------------------------- the portfolio databases
def _cache_key(tasks: int) -> str:
    """The generator and the project size: a database made by an older schema is upgraded, not rebuilt."""
    from bench.generate import GENERATOR_VERSION

    return hashlib.sha256(f"{GENERATOR_VERSION}:{tasks}".encode()).hexdigest()[:12]


def portfolio_db(b: Bench, n: int, tasks: int) -> Path:
    """A SQLite file holding ``n`` generated projects (cached; grown from the largest smaller one)."""
    from bench.generate import portfolio
    from lifecycle.storage.sql import SqlStore

    key = _cache_key(tasks)
    path = b.cache / f"portfolio-{n}x{tasks}-{key}.db"
    if path.exists():
        SqlStore.open(f"sqlite:///{path}", create=True).close()  # brings an older schema up to date
        return path
    smaller = sorted(
        (int(p.name.split("-")[1].split("x")[0]), p)
        for p in b.cache.glob(f"portfolio-*x{tasks}-{key}.db")
        if int(p.name.split("-")[1].split("x")[0]) < n
    )
    tmp = path.with_suffix(".building")
    start = 0
    if smaller:
        start, src = smaller[-1]
        shutil.copyfile(src, tmp)
    elif tmp.exists():
        tmp.unlink()
    store = SqlStore.open(f"sqlite:///{tmp}", create=True)
    t0 = time.perf_counter()
    try:
        for i, p in enumerate(portfolio(n, tasks=tasks, start=start), start=start):
            store.save(p, expected_version=None)
            if (i + 1) % 1000 == 0:
                b.log(f"w3 building the portfolio: {i + 1:,}/{n:,} ({time.perf_counter() - t0:.0f}s)")
    finally:
        store.close()
    tmp.rename(path)
    return path


# --------------------------------------------------------------------------- the workload
def _measure_size(b: Bench, n: int, tasks: int, folder: Path) -> dict[str, Any]:
    """First, cold, warm and 5%-changed sweeps, the read baseline and the raw-rows limit, on a copy."""
    src = portfolio_db(b, n, tasks)
    db = folder / f"portfolio-{n}.db"
    shutil.copyfile(src, db)
    url = f"sqlite:///{db}"
    runs: dict[str, list[dict[str, Any]]] = {"first": [], "cold": [], "warm": [], "changed": [], "read": [], "raw": []}
    try:
        for mode in runs:
            for _ in range(1 if mode == "first" else 3 if b.size.profile else 1):  # repeat while runs are short
                runs[mode].append(measure(url, mode, folder))
                if runs[mode][-1]["seconds"] > 10:
                    break
    finally:
        db.unlink(missing_ok=True)
    row = _size_row(n, runs)
    row["db_mib"] = round(src.stat().st_size / 2**20, 1)
    b.log(
        f"w3 {n:,} projects: first {row['first_projects_per_s']}/s, cold {row['cold']['median']:.1f}s "
        f"({row['cold_projects_per_s']}/s, {row['cold_to_raw']}x the raw rows), warm {row['warm']['median']:.2f}s, "
        f"5% changed {row['changed']['median']:.2f}s ({row['projects_per_s']}/s, {row['peak_rss_mib']} MiB), "
        f"read {row['read']['median']:.1f}s, raw rows {row['raw']['median']:.1f}s"
    )
    return row


def _size_row(n: int, runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """One size's figures: wall-clock stats per mode, rates, CPU-time rates and the cold/raw ratio."""
    st = {mode: stats([m["seconds"] for m in ms]) for mode, ms in runs.items()}
    cpu = {mode: stats([m["cpu_seconds"] for m in ms])["median"] for mode, ms in runs.items()}
    raw = runs["raw"][0]
    row = {
        "projects": n,
        **st,
        "raw_rows_s": round(st["raw"]["median"], 3),
        "raw_rows": raw.get("rows"),
        "tasks_per_project": round(raw.get("task_rows", 0) / n) if n else 0,
        **{f"{mode}_projects_per_s": round(n / st[mode]["median"], 1) for mode in runs},
        **{f"{mode}_cpu_projects_per_s": round(n / cpu[mode], 1) for mode in runs if cpu[mode]},
        "cold_to_raw": round(st["cold"]["median"] / st["raw"]["median"], 2),
        "cold_to_raw_cpu": round(cpu["cold"] / cpu["raw"], 2) if cpu["raw"] else None,
        "cold_schedules_reused": runs["cold"][0].get("schedules_reused"),
        "changed_projects": runs["changed"][0].get("changed"),
        "changed_evaluated": runs["changed"][0].get("evaluated"),
        "peak_rss_mib": max(m["peak_rss_mib"] for mode in ("first", "cold", "warm", "changed") for m in runs[mode]),
        "read_peak_rss_mib": max(m["peak_rss_mib"] for m in runs["read"]),
        "results": runs["cold"][0]["results"],
    }
    row["projects_per_s"] = row["changed_projects_per_s"]
    return row


def run(b: Bench) -> dict[str, Any]:
    sweep_function()  # NotAvailable early
    folder = b.scratch("w3")
    tasks = b.size.w3_tasks
    budget = b.size.w3_budget_s
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for n in b.size.w3_projects:
        if rows and budget:
            last = rows[-1]
            predicted = n / last["cold_projects_per_s"] + n / last["read_projects_per_s"]
            if time.perf_counter() - started + predicted > budget:
                skipped.append(
                    f"{n:,} (one cold sweep and one read would take ~{predicted:.0f} s at the measured rate)"
                )
                continue
        rows.append(_measure_size(b, n, tasks, folder))

    extra: dict[str, Any] = {"sizes": rows, "not_measured": skipped}
    if b.size.name != "tiny":
        rate = rows[-1]["cold_projects_per_s"]  # keep the PostgreSQL sweep to ~20 s at the SQLite rate
        n_pg = max((r["projects"] for r in rows if r["projects"] / rate <= 20), default=rows[0]["projects"])
        if b.size.name != "full":
            n_pg = rows[0]["projects"]  # the smallest size: loading the copy is the long part
        try:
            extra["postgresql"] = postgres_sweep(b, folder, tasks, n_pg)
        except Exception as exc:  # the scale figure is optional; never lose the SQLite results for it
            extra["postgresql_error"] = f"{type(exc).__name__}: {exc}"[:300]

    sizes = [r["projects"] for r in rows]
    exp = growth_exponent(sizes, [r["changed"]["median"] for r in rows])
    cold_exp = growth_exponent(sizes, [r["cold"]["median"] for r in rows])
    head = rows[-1]
    rate_ok = head["projects_per_s"] >= MIN_RATE
    mem_ok = max(r["peak_rss_mib"] for r in rows) < MAX_MIB
    linear = exp is not None and exp <= MAX_EXPONENT and not skipped
    extra.update(
        {
            "growth_exponent": exp,
            "cold_growth_exponent": cold_exp,
            "rate_ok": rate_ok,
            "memory_ok": mem_ok,
            "linear": linear,
        }
    )
    note = (
        f"{head['projects_per_s']:.0f} projects/s at {head['projects']:,} with 5% changed since the last "
        f"sweep; warm {head['warm_projects_per_s']:.0f}/s; cold (every decision evaluated, kept schedules "
        f"reused) {head['cold_projects_per_s']:.0f}/s = {head['cold_to_raw']}x the time of fetching the same "
        f"{head['raw_rows']:,} raw rows with the driver ({head['raw_projects_per_s']:.0f} projects/s; CPU time "
        f"{head['cold_to_raw_cpu']}x); first sweep (no schedule kept) {head['first_projects_per_s']:.0f}/s, "
        f"reading alone {head['read_projects_per_s']:.0f}/s; {_cold_verdict(head)}; "
        f"peak {head['peak_rss_mib']:.0f} MiB, "
        f"growth exponent {exp} (cold {cold_exp}) over " + ", ".join(f"{x:,}" for x in sizes)
    )
    if skipped:
        note += "; not measured within the time budget: " + "; ".join(skipped)
    if "postgresql" in extra:
        pg = extra["postgresql"]
        note += (
            f"; PostgreSQL {pg['projects']:,} projects: cold {pg['cold_projects_per_s']:.0f}/s = "
            f"{pg['cold_to_raw']}x the raw rows ({pg['raw_projects_per_s']:.0f}/s), first "
            f"{pg['first_projects_per_s']:.0f}/s, 5% changed {pg['projects_per_s']:.0f}/s"
        )
    return result(
        NUMBER,
        _title(sizes[-1], head["tasks_per_project"] or tasks),
        target=TARGET,
        measured=head["changed"],
        baseline=head["read"],
        baseline_label="reading the same projects",
        met=rate_ok and mem_ok and linear,
        note=note,
        size={"projects": sizes, "tasks_per_project": tasks},
        extra=extra,
    )


def _cold_verdict(head: dict[str, Any]) -> str:
    """The cold target's verdict; when missed, by how much and why."""
    cold = head["cold_projects_per_s"]
    if cold >= COLD_TARGET:
        return f"cold target {COLD_TARGET:.0f}/s met"
    return (
        f"cold target {COLD_TARGET:.0f}/s missed by {COLD_TARGET / cold:.1f}x: every project's ~800 rows are read "
        f"into the model and its facts built before its rules run, and fetching the raw rows alone runs at "
        f"{head['raw_projects_per_s']:.0f}/s ({head['cold_to_raw_cpu']}x that in CPU time); reaching 400/s needs a "
        "per-project snapshot that avoids reading the rows, which is not built"
    )


def postgres_sweep(b: Bench, folder: Path, tasks: int, n: int = 1000) -> dict[str, Any]:
    """The sweep on PostgreSQL: ``n`` projects of the SQLite portfolio copied into a throw-away cluster."""
    sys.path.insert(0, str(ROOT))
    from lifecycle.domain.model import replace
    from lifecycle.storage.sql import SqlStore
    from tests.pgcluster import PgCluster

    src = SqlStore.open(f"sqlite:///{portfolio_db(b, n, tasks)}")
    cluster = PgCluster().start()
    try:
        url = cluster.create_database("bench")
        dst = SqlStore.open(url, create=True)
        try:
            codes = [s.code for s in src.list_projects()]
            t0 = time.perf_counter()
            for i in range(0, len(codes), BATCH):
                for p in src.get_many(codes[i : i + BATCH]):
                    dst.save(replace(p, version=0), expected_version=None)
            load_s = time.perf_counter() - t0
        finally:
            dst.close()
            src.close()
        got = {mode: measure(url, mode, folder) for mode in ("first", "cold", "changed", "read", "raw")}
        secs = {mode: m["seconds"] for mode, m in got.items()}
        b.log(
            f"w3 PostgreSQL {n:,} projects: first {n / secs['first']:.0f}/s, cold {secs['cold']:.1f}s "
            f"({n / secs['cold']:.0f}/s), raw rows {secs['raw']:.2f}s, 5% changed {secs['changed']:.2f}s "
            f"({n / secs['changed']:.0f}/s)"
        )
        return {
            "projects": n,
            "first_projects_per_s": round(n / secs["first"], 1),
            "cold_s": round(secs["cold"], 2),
            "cold_projects_per_s": round(n / secs["cold"], 1),
            "cold_cpu_projects_per_s": round(n / got["cold"]["cpu_seconds"], 1),
            "raw_rows_s": round(secs["raw"], 3),
            "raw_projects_per_s": round(n / secs["raw"], 1),
            "cold_to_raw": round(secs["cold"] / secs["raw"], 2),
            "cold_to_raw_cpu": round(got["cold"]["cpu_seconds"] / got["raw"]["cpu_seconds"], 2),
            "changed_s": round(secs["changed"], 3),
            "projects_per_s": round(n / secs["changed"], 1),
            "read_s": round(secs["read"], 2),
            "peak_rss_mib": max(got["cold"]["peak_rss_mib"], got["changed"]["peak_rss_mib"]),
            "load_s": round(load_s, 1),
        }
    finally:
        cluster.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        sys.exit(_child_main(sys.argv[2:]))
    print("usage: python -m bench.w3_sweep child first|cold|warm|changed|read|raw --url URL", file=sys.stderr)
    sys.exit(2)

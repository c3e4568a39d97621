"""Workload 6: ``pmo apply`` of a 5,000-task project file into an empty database.

Ours: :func:`lifecycle.services.projects.apply_files` in this process on a fresh SQLite workspace
(the database is created and migrated, and the rule pack read, before the clock starts: constant
costs that would hide how the rest grows), i.e. parse with line numbers, build and validate the
model, diff against nothing, write every row and the audit events. Baseline, in the same run: what a
capable user would write instead, i.e. parse the same file with PyYAML's C loader and bulk-insert
exactly the rows our apply wrote (read back from its database) into an empty database of the same
schema with the driver's ``executemany``, in one transaction. The ratio is reported; the target is
that nothing in the path is quadratic, checked by applying files of growing size and fitting the
growth exponent (1.0 linear, 2.0 quadratic; at most 1.2 passes).

Also reported: where the time goes at the largest size (parse with lines, build and validate, write),
the parse with PyYAML's C loader for comparison, and ``pmo apply`` as a new process (what a user
waits for).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import Bench, env_for, growth_exponent, pmo_command, result, run_command, stats

NUMBER = 6
TITLE = "`pmo apply` of a project file (empty SQLite)"
TARGET = "report the ratio; no quadratic step (growth exponent ≤ 1.2)"
MAX_EXPONENT = 1.2


def _write_file(folder: Path, n: int) -> Path:
    from bench.generate import generate_project
    from lifecycle.load.projectfile import dump_project

    p = generate_project(f"APPLY-{n}", seed=3, tasks=n, risks=n // 10, deliverables=max(3, n // 17), phase="planning")
    path = folder / f"apply-{n}.yaml"
    path.write_text(dump_project(replace(p, phase="")), encoding="utf-8")
    return path


def _title(tasks: int) -> str:
    return f"`pmo apply` of a {tasks:,}-task project file (empty SQLite)"


def _written_rows(db: Path) -> tuple[list[str], dict[str, tuple[list[str], list[tuple[Any, ...]]]]]:
    """The schema statements and every row our apply left in ``db`` (Alembic's own table aside)."""
    con = sqlite3.connect(db)
    try:
        schema = [
            r[0]
            for r in con.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'")
        ]
        rows: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for name in tables:
            if name == "alembic_version" or name.startswith("sqlite_"):
                continue
            cur = con.execute(f'SELECT * FROM "{name}"')
            data = cur.fetchall()
            if data:
                rows[name] = ([d[0] for d in cur.description], data)
        return schema, rows
    finally:
        con.close()


def _bulk_insert_baseline(text: str, db: Path, schema: list[str], rows: dict[str, Any]) -> float:
    """C-loader parse plus one-transaction ``executemany`` of the same rows; seconds, schema made untimed."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    con = sqlite3.connect(db, isolation_level=None)
    try:
        for pragma in ("PRAGMA foreign_keys=ON", "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"):
            con.execute(pragma)  # the settings our store opens SQLite with
        for stmt in schema:
            con.execute(stmt)
        t0 = time.perf_counter()
        yaml.load(text, Loader=loader)  # a safe loader (CSafeLoader or SafeLoader)
        con.execute("BEGIN")
        for name, (cols, data) in rows.items():
            marks = ", ".join("?" for _ in cols)
            names = ", ".join(f'"{c}"' for c in cols)
            con.executemany(f'INSERT INTO "{name}" ({names}) VALUES ({marks})', data)
        con.execute("COMMIT")
        return time.perf_counter() - t0
    finally:
        con.close()


def run(b: Bench) -> dict[str, Any]:
    import yaml

    from lifecycle.load.projectfile import load_project_source
    from lifecycle.load.source import read_source
    from lifecycle.services.context import Context
    from lifecycle.services.projects import apply_files, load_rules
    from lifecycle.storage.sql import SqlStore
    from lifecycle.workspace import Settings, Workspace

    folder = b.scratch("w6")
    state: dict[str, Any] = {}
    counter = [0]

    def fresh() -> None:
        if "ctx" in state:
            state["ctx"].close()
        counter[0] += 1
        root = folder / f"ws{counter[0]}"
        root.mkdir()
        store = SqlStore.open(f"sqlite:///{root / 'pmo.db'}", create=True)
        state["ctx"] = Context(Workspace(root, Settings()), store)
        # the rule pack (for the initial phase) is read once per process: keep that constant out
        with contextlib.suppress(Exception):  # no pack in this build: apply falls back to its default phase
            load_rules(state["ctx"])

    rows = []
    for n in b.size.w6_tasks:
        path = _write_file(folder, n)
        text = path.read_text(encoding="utf-8")
        repeat = max(2, b.size.repeat // 2)
        ours: list[float] = []
        bulk: list[float] = []
        written: tuple[list[str], dict[str, Any]] | None = None
        for i in range(repeat + 1):  # the first round warms up
            fresh()
            t0 = time.perf_counter()
            res = apply_files(state["ctx"], [path])
            t1 = time.perf_counter()
            if not res or not res[0].created:
                raise RuntimeError(f"apply of {path.name} did not create the project")
            if written is None:
                written = _written_rows(folder / f"ws{counter[0]}" / "pmo.db")
            bulk_s = _bulk_insert_baseline(text, folder / f"bulk{n}-{i}.db", *written)
            if i:
                ours.append(t1 - t0)
                bulk.append(bulk_s)
        state["ctx"].close()
        state.clear()
        n_rows = sum(len(data) for _, data in written[1].values()) if written else 0
        rows.append({"tasks": n, "bytes": len(text.encode()), "rows": n_rows, "ours": stats(ours), "bulk": stats(bulk)})
        med = rows[-1]["ours"]["median"], rows[-1]["bulk"]["median"]
        b.log(f"w6 {n} tasks: apply {med[0]:.2f}s, C parse + bulk insert {med[1]:.2f}s")

    head = rows[-1]
    path = folder / f"apply-{head['tasks']}.yaml"
    # where the time goes at the largest size
    t0 = time.perf_counter()
    source = read_source(path)
    t1 = time.perf_counter()
    load_project_source(source)
    t2 = time.perf_counter()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    text = path.read_text(encoding="utf-8")
    t3 = time.perf_counter()
    yaml.load(text, Loader=loader)  # a safe loader (CSafeLoader or SafeLoader)
    c_parse = time.perf_counter() - t3
    parse_lines, build = t1 - t0, t2 - t1
    breakdown = {
        "parse_with_lines_s": round(parse_lines, 3),
        "build_and_validate_s": round(build, 3),
        "write_and_rest_s": round(max(0.0, head["ours"]["median"] - parse_lines - build), 3),
        "parse_c_loader_s": round(c_parse, 3),
    }

    # the same as a new process, as a user runs it
    cli: list[float] = []
    for i in range(2 if b.size.profile else 1):
        ws = folder / f"cli{i}"
        env = env_for(ws)
        run_command([*pmo_command(), "init"], env)
        cli.append(run_command([*pmo_command(), "apply", str(path)], env)[0])

    sizes = [r["tasks"] for r in rows]
    exp = growth_exponent(sizes, [r["ours"]["median"] for r in rows])
    exp_bulk = growth_exponent(sizes, [r["bulk"]["median"] for r in rows])
    met = exp is not None and exp <= MAX_EXPONENT
    note = (
        f"growth exponent {exp} (baseline {exp_bulk}); {head['rows']:,} rows written; at {head['tasks']:,} tasks: "
        f"parse with lines "
        f"{breakdown['parse_with_lines_s']} s, build+validate {breakdown['build_and_validate_s']} s, write "
        f"{breakdown['write_and_rest_s']} s; as a new process {stats(cli)['median']:.2f} s"
    )
    return result(
        NUMBER,
        _title(head["tasks"]),
        target=TARGET,
        measured=head["ours"],
        baseline=head["bulk"],
        baseline_label="C YAML loader + executemany of the same rows, one transaction",
        met=met,
        note=note,
        size={"tasks": sizes, "file_bytes": head["bytes"]},
        extra={
            "sizes": rows,
            "growth_exponent": exp,
            "growth_exponent_baseline": exp_bulk,
            "breakdown": breakdown,
            "cli_process": stats(cli),
        },
    )

"""Workload 6: ``pmo apply`` of a 5,000-task project file into an empty database.

Ours: :func:`lifecycle.services.projects.apply_files` in this process on a fresh SQLite workspace
(the database is created and migrated, and the rule pack read, before the clock starts: constant
costs that would hide how the rest grows), i.e. parse with line numbers, build and validate the
model, diff against nothing, write every row and the audit events. Baseline,
in the same run: parsing the same YAML alone with ``yaml.safe_load``. The ratio is reported; the
target is that nothing in the path is quadratic, checked by applying files of 1,250, 2,500 and
5,000 tasks and fitting the growth exponent (1.0 linear, 2.0 quadratic; at most 1.2 passes).

Also reported: where the time goes at the largest size (parse with lines, build and validate, write),
the parse with PyYAML's C loader for comparison, and ``pmo apply`` as a new process (what a user
waits for).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import Bench, env_for, growth_exponent, pmo_command, result, run_command, stats

NUMBER = 6
TITLE = "`pmo apply` of a 5,000-task project file (empty SQLite)"
TARGET = "report the ratio; no quadratic step (growth exponent ≤ 1.2)"
MAX_EXPONENT = 1.2


def _write_file(folder: Path, n: int) -> Path:
    from bench.generate import generate_project
    from lifecycle.load.projectfile import dump_project

    p = generate_project(f"APPLY-{n}", seed=3, tasks=n, risks=n // 10, deliverables=max(3, n // 17), phase="planning")
    path = folder / f"apply-{n}.yaml"
    path.write_text(dump_project(replace(p, phase="")), encoding="utf-8")
    return path


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
        parse: list[float] = []
        for i in range(repeat + 1):  # the first round warms up
            fresh()
            t0 = time.perf_counter()
            res = apply_files(state["ctx"], [path])
            t1 = time.perf_counter()
            yaml.safe_load(text)
            t2 = time.perf_counter()
            if not res or not res[0].created:
                raise RuntimeError(f"apply of {path.name} did not create the project")
            if i:
                ours.append(t1 - t0)
                parse.append(t2 - t1)
        state["ctx"].close()
        state.clear()
        rows.append({"tasks": n, "bytes": len(text.encode()), "ours": stats(ours), "parse": stats(parse)})
        b.log(f"w6 {n} tasks: apply {rows[-1]['ours']['median']:.2f}s, parse {rows[-1]['parse']['median']:.2f}s")

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
    exp_parse = growth_exponent(sizes, [r["parse"]["median"] for r in rows])
    met = exp is not None and exp <= MAX_EXPONENT
    note = (
        f"growth exponent {exp} (parse alone {exp_parse}); at {head['tasks']:,} tasks: parse with lines "
        f"{breakdown['parse_with_lines_s']} s, build+validate {breakdown['build_and_validate_s']} s, write "
        f"{breakdown['write_and_rest_s']} s; as a new process {stats(cli)['median']:.2f} s"
    )
    return result(
        NUMBER,
        TITLE,
        target=TARGET,
        measured=head["ours"],
        baseline=head["parse"],
        baseline_label="yaml.safe_load",
        met=met,
        note=note,
        size={"tasks": sizes, "file_bytes": head["bytes"]},
        extra={
            "sizes": rows,
            "growth_exponent": exp,
            "growth_exponent_parse": exp_parse,
            "breakdown": breakdown,
            "cli_process": stats(cli),
        },
    )

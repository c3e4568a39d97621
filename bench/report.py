"""The benchmark report: ``results.json``, the printed table and the README block.

``results.json`` (``schema_version`` 1)::

    {"schema_version": 1, "generated_at": ISO, "size": "full", "size_params": {...},
     "machine": {"cpu": str, "cores": int, "memory_gib": float, "platform": str, "load_avg": [..]},
     "versions": {"python": str, "sqlite": str, "pmo-lifecycle": str, ...}, "commit": str,
     "duration_s": float,
     "workloads": [{"number": 1, "id": "w1", "title": str, "status": "ok" | "not_available" | "skipped" | "error",
                    "note": str, "unit": "s", "median": s, "min": s, "max": s, "runs": [s, ...],
                    "baseline": {"label": str, "median": s, "min": s, "max": s, "runs": [...]},
                    "ratio": median / baseline median, "target": str, "met": bool | null,
                    "size": {...}, "extra": {...}, "wall_s": s, "load_avg_1m": float}, ...]}

``python -m bench.report --readme README.md [--results bench/results.json]`` rewrites only the block
between ``<!-- BENCHMARK-TABLE -->`` and ``<!-- /BENCHMARK-TABLE -->`` of the README.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import ROOT

SCHEMA_VERSION = 1
BEGIN, END = "<!-- BENCHMARK-TABLE -->", "<!-- /BENCHMARK-TABLE -->"
PACKAGES = (
    "pmo-lifecycle",
    "SQLAlchemy",
    "common-expression-language",
    "weasyprint",
    "prefect",
    "transitions",
    "PyYAML",
    "Jinja2",
    "networkx",
    "psycopg",
)
STATUS_TEXT = {"not_available": "not available", "skipped": "skipped", "error": "ERROR"}


# --------------------------------------------------------------------------- facts about the run
def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_gib": mem,
        "platform": platform.platform(),
        "load_avg": load,
    }


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = ""
    return out


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return head + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def document(
    rows: list[dict[str, Any]], *, size: str, size_params: dict[str, Any], started: float, commit_id: str | None = None
) -> dict[str, Any]:
    """The results document; ``commit_id`` is the commit measured (taken at the start of the run)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "size": size,
        "size_params": size_params,
        "machine": machine(),
        "versions": versions(),
        "commit": commit_id if commit_id is not None else commit(),
        "duration_s": round(time.time() - started, 1),
        "workloads": rows,
    }


def write(doc: dict[str, Any], path: Path) -> None:
    """Write atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- formatting
def fmt_s(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 0.001:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1000:.1f} ms" if value < 0.1 else f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


def _met(row: dict[str, Any]) -> str:
    if row["status"] != "ok":
        return STATUS_TEXT.get(row["status"], row["status"])
    return {True: "met", False: "MISSED", None: "reported"}[row.get("met")]


def rows_for_table(doc: dict[str, Any]) -> list[list[str]]:
    out = []
    for r in doc["workloads"]:
        base = r.get("baseline") or {}
        ratio = r.get("ratio")
        spread = f"{fmt_s(r.get('min'))} – {fmt_s(r.get('max'))}" if "min" in r else "–"
        out.append(
            [
                str(r["number"]),
                r["title"],
                fmt_s(r.get("median")),
                spread,
                f"{fmt_s(base.get('median'))} ({base.get('label', '')})" if base else "–",
                f"{ratio:.2f}×" if ratio is not None else "–",
                r.get("target", ""),
                _met(r),
            ]
        )
    return out


HEADERS = ["#", "workload", "median", "min – max", "baseline median", "ratio", "target", "result"]


def table(doc: dict[str, Any]) -> str:
    rows = rows_for_table(doc)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(HEADERS)]
    line = "  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True))
    out = [_header_line(doc), line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    notes = [f"  {r['number']}. {r['note']}" for r in doc["workloads"] if r.get("note")]
    if notes:
        out += ["", "notes:", *notes]
    return "\n".join(out)


def _header_line(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    return (
        f"pmo-lifecycle benchmarks, size {doc['size']}, {doc['generated_at'][:10]}, {m['cpu']}, "
        f"{m['cores']} cores, {m['memory_gib']} GiB, Python {doc['versions']['python']}, "
        f"commit {doc.get('commit') or '?'}"
    )


def markdown(doc: dict[str, Any]) -> str:
    """The README block: date and machine, the table, the notes."""
    m, v = doc["machine"], doc["versions"]
    lines = [
        f"Measured {doc['generated_at'][:10]} (size `{doc['size']}`, commit `{doc.get('commit') or '?'}`) on "
        f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB RAM, Python {v['python']}, SQLite {v['sqlite']}; "
        f"load average {', '.join(str(x) for x in m.get('load_avg') or [])} at the start. Every time is the median "
        "of repeated runs; every baseline was measured in the same run. Full figures: `bench/results.json`.",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join("---" for _ in HEADERS) + "|",
    ]
    for r in rows_for_table(doc):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    notes = [(r["number"], r["note"]) for r in doc["workloads"] if r.get("note")]
    if notes:
        lines.append("")
        lines += [f"{n}. {note}" for n, note in notes]
    scale = scale_lines(doc)
    if scale:
        lines += ["", *scale]
    return "\n".join(lines)


def _row(doc: dict[str, Any], number: int) -> dict[str, Any] | None:
    for r in doc["workloads"]:
        if r["number"] == number and r["status"] == "ok":
            return r
    return None


def scale_lines(doc: dict[str, Any]) -> list[str]:
    """ "How far one machine goes", from this run's figures only (nothing here is estimated elsewhere)."""
    out: list[str] = []
    cores = doc["machine"].get("cores") or 1
    sweep = _row(doc, 3)
    if sweep:
        sizes = sweep["extra"].get("sizes") or []
        if sizes:
            big = sizes[-1]
            rate, cold = big["projects_per_s"], big["cold_projects_per_s"]
            tasks = sweep["size"].get("tasks_per_project", 200)
            line = (
                f"- **Gate sweeps** ({big['projects']:,} projects of ~{tasks} tasks, SQLite, one core, peak "
                f"{big['peak_rss_mib']:.0f} MiB): a sweep after 5% of the projects changed takes "
                f"{big['changed']['median']:.1f} s ({rate:,.0f} projects/s), an unchanged portfolio "
                f"{big['warm']['median']:.1f} s; the first sweep of a day (or after a rule change) evaluates "
                f"every project at {cold:,.0f} projects/s (reading alone {big['read_projects_per_s']:,.0f}/s), "
                f"about {big['projects'] / cold / 60:.0f} min"
            )
            pg = sweep["extra"].get("postgresql")
            if pg:
                line += (
                    f"; from PostgreSQL ({pg['projects']:,} projects) {pg['cold_projects_per_s']:,.0f}/s "
                    f"cold and {pg['projects_per_s']:,.0f}/s with 5% changed (reading alone "
                    f"{pg['projects'] / pg['read_s']:,.0f}/s)"
                )
            out.append(line + ".")
    docs = _row(doc, 4)
    if docs and docs["extra"].get("batch"):
        bat = docs["extra"]["batch"]
        out.append(
            f"- **Documents**: {bat['docs_per_s']:.2f} acceptance certificates per second with "
            f"{bat['processes']} processes writing to one SQLite workspace "
            f"({bat['docs_per_s'] * 3600:,.0f} per hour; one core: "
            f"{docs['extra'].get('one_core_docs_per_s', 0):.2f}/s)."
        )
    flow = _row(doc, 7)
    if flow:
        later = flow["extra"]["later_runs"]["flow"]["median"]
        first = flow["extra"]["first_run"]["overhead_s"]
        over = flow["extra"]["later_runs"]["overhead_s"]
        out.append(
            f"- **Flows**: a warm `milestone_reached` run (quality checks, report, certificate) takes "
            f"{later:.1f} s, the first run of a process {first:+.1f} s more (Prefect's temporary API starts); "
            f"one worker per core gives about {3600 / later * cores:,.0f} milestone runs per hour on this "
            f"machine. The later-run overhead of Prefect itself is {over:+.2f} s."
        )
    if out:
        out.insert(0, f"Scale on this machine ({cores} cores), from the figures above:")
        out.append(
            "- **PostgreSQL and several workers**: SQLite serialises writes on one database lock, so "
            "processes on one machine queue for it briefly (a document being rendered locks only itself); "
            "PostgreSQL locks rows, so workers on several machines write at once, and the per-run work "
            "(rendering, evaluating) then scales with the number of worker processes and cores."
        )
    return out


def update_readme(readme: Path, doc: dict[str, Any]) -> bool:
    """Replace the text between the markers; False (and nothing written) if the markers are missing."""
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text or text.index(BEGIN) > text.index(END):
        return False
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n{markdown(doc)}\n{END}{tail}"
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.report", description="Print or publish benchmark results.")
    ap.add_argument("--results", default=str(ROOT / "bench" / "results.json"))
    ap.add_argument("--readme", default="", help="README whose BENCHMARK-TABLE block to rewrite")
    args = ap.parse_args(argv)
    doc = json.loads(Path(args.results).read_text(encoding="utf-8"))
    if args.readme:
        if not update_readme(Path(args.readme), doc):
            print(f"{args.readme}: no {BEGIN} … {END} block; nothing changed", file=sys.stderr)
            return 2
        print(f"updated the benchmark table in {args.readme}")
    else:
        print(table(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())

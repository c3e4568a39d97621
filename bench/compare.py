"""``python -m bench.compare A.json B.json``: the change of every workload's ratio between two runs.

A review of a change that may affect speed runs the suite before and after (or keeps an older
``bench/results.json``) and prints this table: for each workload present in either file, the ratio to
its baseline in A and in B, the change in percent, and whether the target was met in each. A ratio
that grew by more than ``--threshold`` percent (default 15) is marked as a regression and makes the
exit code 1, so the comparison can gate a pipeline. Ratios, not seconds, are compared: both runs
measured their baseline on the same machine at the same time as the engine, so the ratio survives
a busier or slower machine better than a raw time does.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Change:
    number: int
    title: str
    before: float | None
    after: float | None
    met_before: bool | None
    met_after: bool | None

    @property
    def percent(self) -> float | None:
        if self.before is None or self.after is None or self.before == 0:
            return None
        return (self.after - self.before) / self.before * 100.0

    def regressed(self, threshold: float) -> bool:
        pct = self.percent
        return (pct is not None and pct > threshold) or (self.met_before is True and self.met_after is False)


def _rows(doc: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {int(w["number"]): w for w in doc.get("workloads", [])}


def compare(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    """One change per workload number found in either results document, in number order."""
    ra, rb = _rows(a), _rows(b)
    out = []
    for n in sorted(set(ra) | set(rb)):
        wa, wb = ra.get(n, {}), rb.get(n, {})
        out.append(
            Change(
                n,
                str(wb.get("title") or wa.get("title") or f"w{n}"),
                wa.get("ratio"),
                wb.get("ratio"),
                wa.get("met"),
                wb.get("met"),
            )
        )
    return out


def _fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _fmt_met(value: bool | None) -> str:
    return {True: "met", False: "missed", None: "—"}[value]


def table(changes: list[Change], threshold: float) -> str:
    lines = ["| # | workload | ratio A | ratio B | change | target A → B |", "|---|---|---|---|---|---|"]
    for c in changes:
        pct = c.percent
        change = "—" if pct is None else f"{pct:+.0f} %"
        if c.regressed(threshold):
            change += " **regression**"
        lines.append(
            f"| {c.number} | {c.title} | {_fmt_ratio(c.before)} | {_fmt_ratio(c.after)} | {change} "
            f"| {_fmt_met(c.met_before)} → {_fmt_met(c.met_after)} |"
        )
    return "\n".join(lines)


def _load(path: str) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"bench.compare: cannot read {path}: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("workloads"), list):
        raise SystemExit(f"bench.compare: {path} is not a benchmark results file (no 'workloads' list)")
    return doc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n\n")[0])
    ap.add_argument("before", help="results file A (e.g. the committed bench/results.json)")
    ap.add_argument("after", help="results file B")
    ap.add_argument("--threshold", type=float, default=15.0, help="percent growth of a ratio called a regression")
    args = ap.parse_args(argv)
    a, b = _load(args.before), _load(args.after)
    changes = compare(a, b)
    print(f"A: {args.before} ({a.get('size', '?')}, {a.get('commit', '?')})")
    print(f"B: {args.after} ({b.get('size', '?')}, {b.get('commit', '?')})")
    print(table(changes, args.threshold))
    return 1 if any(c.regressed(args.threshold) for c in changes) else 0


if __name__ == "__main__":
    sys.exit(main())

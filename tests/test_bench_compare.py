"""``python -m bench.compare``: ratio changes between two results files, regressions flagged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.compare import compare, table

ROOT = Path(__file__).resolve().parents[1]


def _doc(*rows: tuple[int, float | None, bool | None]) -> dict:
    return {"workloads": [{"number": n, "title": f"w{n} title", "ratio": r, "met": m} for n, r, m in rows]}


def test_changes_and_regressions():
    a = _doc((1, 2.0, True), (2, 1.0, True), (3, 0.5, True))
    b = _doc((1, 2.1, True), (2, 1.5, True), (4, 3.0, False))
    changes = {c.number: c for c in compare(a, b)}
    assert round(changes[1].percent or 0, 1) == 5.0 and not changes[1].regressed(15)
    assert round(changes[2].percent or 0, 1) == 50.0 and changes[2].regressed(15)
    assert changes[3].after is None and changes[3].percent is None
    assert changes[4].before is None and not changes[4].regressed(15)
    text = table(list(changes.values()), 15)
    assert "| 2 | w2 title | 1.00× | 1.50× | +50 % **regression** | met → met |" in text
    assert "| 4 | w4 title | — | 3.00× | — | — → missed |" in text


def test_a_target_newly_missed_is_a_regression_even_when_the_ratio_barely_moves():
    changes = compare(_doc((1, 1.98, True)), _doc((1, 2.02, False)))
    assert changes[0].regressed(15)


def test_command_exit_codes(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_doc((1, 1.0, True))), encoding="utf-8")
    b.write_text(json.dumps(_doc((1, 1.05, True))), encoding="utf-8")
    ok = subprocess.run(
        [sys.executable, "-m", "bench.compare", str(a), str(b)], cwd=ROOT, capture_output=True, text=True
    )
    assert ok.returncode == 0 and "+5 %" in ok.stdout
    b.write_text(json.dumps(_doc((1, 2.0, True))), encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-m", "bench.compare", str(a), str(b)], cwd=ROOT, capture_output=True, text=True
    )
    assert bad.returncode == 1 and "regression" in bad.stdout
    b.write_text("{}", encoding="utf-8")
    broken = subprocess.run(
        [sys.executable, "-m", "bench.compare", str(a), str(b)], cwd=ROOT, capture_output=True, text=True
    )
    assert broken.returncode != 0 and "not a benchmark results file" in broken.stderr

"""The inline SVG charts are well-formed, escaped, and show what they should."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

from lifecycle.analytics_svg import CRITICAL, NORMAL, gantt_svg, s_curve_svg
from lifecycle.domain.evm import s_curve
from lifecycle.domain.schedule import compute_schedule
from tests.analytics.test_schedule import _link_network
from tests.factory import small_project

NS = "{http://www.w3.org/2000/svg}"


def test_gantt_highlights_the_critical_path() -> None:
    s = compute_schedule(_link_network())  # type: ignore[arg-type]
    svg = gantt_svg(s, labels={"title": "进度计划 <Gantt> & more", "critical": "关键任务"}, today=date(2026, 3, 9))
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "进度计划 <Gantt> & more" in texts and "关键任务" in texts
    bars = [r for r in root.iter(f"{NS}rect") if r.find(f"{NS}title") is not None]
    by_name = {r.find(f"{NS}title").text.split(":")[0]: r.get("fill") for r in bars}  # type: ignore[union-attr]
    assert {k for k, v in by_name.items() if v == CRITICAL} == {"A", "B", "D", "F", "G"}
    assert by_name["C"] == NORMAL


def test_gantt_limits_rows_and_handles_empty() -> None:
    s = compute_schedule(small_project())
    svg = gantt_svg(s, max_rows=2, labels={"more": "more"})
    assert "1 more" in svg
    ET.fromstring(svg)
    ET.fromstring(gantt_svg([]))


def test_s_curve_draws_three_series() -> None:
    pts = s_curve(small_project(), date(2026, 2, 2))
    svg = s_curve_svg(pts, currency="¥", labels={"pv": "计划值 PV", "ev": "挣值 EV", "ac": "实际成本 AC"})
    root = ET.fromstring(svg)
    lines = list(root.iter(f"{NS}polyline"))
    assert len(lines) == 3  # PV, and EV and AC (flat at 0: no progress and no cost yet)
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "计划值 PV" in texts and any(t and t.startswith("¥") for t in texts)
    svg2 = s_curve_svg([p.to_dict() for p in pts])
    assert ET.fromstring(svg2) is not None
    ET.fromstring(s_curve_svg([]))

"""Inline SVG charts for client documents, drawn by our own code (no plotting library).

Each function takes plain record values (ISO dates, decimal text) and a
:class:`~lifecycle.documents.locale.Formatter`, and returns :class:`markupsafe.Markup` holding one
``<svg>`` element sized in points for the A4 text column; every piece of text that reaches the SVG
is escaped here, which is why templates may insert the result unescaped. A chart costs well under a
millisecond, so documents draw them on every render instead of caching images.

* :func:`schedule_chart`: a simple Gantt of summary tasks (planned span, progress) followed by
  milestone diamonds, month grid and a "today" line.
* :func:`milestone_timeline`: the same chart with milestones only.
* :func:`budget_bars`: spent against plan per budget category, with a total row.
* :func:`gantt_chart`: the status report's Gantt from critical-path dates: summary brackets, task
  bars with the completed part dark, critical tasks in red, milestone diamonds, month grid, today
  line and a legend in the document's language.
* :func:`cost_s_curve`: cumulative planned value, earned value and actual cost over time with the
  status date marked; :func:`s_curve_chart` draws it from a record's ``s_curve`` block.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from html import escape
from typing import Any

from markupsafe import Markup

from lifecycle.documents.locale import Formatter
from lifecycle.documents.locale import to_date as _date

PLOT_WIDTH = 493.0  # points: A4 (595 pt) minus 2 x 18 mm margins
FONT = "Noto Sans CJK SC, Noto Sans, DejaVu Sans, sans-serif"

INK = "#1f2933"
MUTED = "#7b8794"
GRID = "#d9dee4"
PLAN = "#c8d3df"
DONE = "#33597f"
GOOD = "#2f7d4f"
BAD = "#b3261e"
WARN = "#b7791f"
CRIT = BAD  # critical path: dark red bars, light red for the part still to do
CRIT_LIGHT = "#eebdb8"
TODAY = "#8a5a00"
ZEBRA = "#f4f6f8"


def _text_width(text: str, size: float) -> float:
    """Rough advance width: CJK glyphs are one em, Latin about 0.55 em."""
    return sum(size if ord(ch) > 0x2E7F else size * 0.56 for ch in text)


def _fit(text: str, size: float, width: float) -> str:
    if _text_width(text, size) <= width:
        return text
    out = ""
    for ch in text:
        if _text_width(out + ch + "…", size) > width:
            break
        out += ch
    return out + "…"


def _t(
    x: float, y: float, text: str, *, size: float = 7.5, anchor: str = "start", fill: str = INK, weight: str = "normal"
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" '
        f'font-weight="{weight}">{escape(text)}</text>'
    )


def chart_font(fmt: Formatter) -> str:
    """The charts' font list: the language's CJK face (SC, TC …) when its catalog names one first."""
    cjk = [f.strip().strip('"') for f in fmt.font.split(",") if "CJK" in f]
    return FONT.replace("Noto Sans CJK SC", cjk[0]) if cjk else FONT


def _svg(width: float, height: float, body: list[str], label: str, font: str = FONT) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{escape(label)}" '
        f'width="{width:.0f}pt" height="{height:.0f}pt" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'font-family="{escape(font)}">'
    )
    return Markup(head + "".join(body) + "</svg>")


def _ticks(start: date, end: date) -> list[date]:
    """First days of months (or quarters for long spans) inside [start, end]."""
    months = (end.year - start.year) * 12 + end.month - start.month
    step = 1 if months <= 14 else 3 if months <= 40 else 6
    d = date(start.year, start.month, 1)
    if d < start:
        d = date(d.year + (d.month // 12), d.month % 12 + 1, 1)
    out = []
    while d <= end:
        if (d.month - 1) % step == 0:
            out.append(d)
        y, m = d.year + (d.month // 12), d.month % 12 + 1
        d = date(y, m, 1)
    return out


def schedule_chart(
    tasks: Sequence[Mapping[str, Any]],
    milestones: Sequence[Mapping[str, Any]],
    *,
    start: Any,
    finish: Any,
    today: Any,
    fmt: Formatter,
    width: float = PLOT_WIDTH,
) -> Markup:
    """Gantt rows for ``tasks`` (id, name, start, finish, percent, status) then milestone diamonds
    (name, date, status, completed_on), with month grid and a today line."""
    label_w = 150.0
    x0, x1 = label_w + 6, width - 8
    row_h, top = 15.0, 20.0
    dates = [d for d in (_date(start), _date(finish), _date(today)) if d]
    for t in tasks:
        dates += [d for d in (_date(t.get("start")), _date(t.get("finish"))) if d]
    for m in milestones:
        dates += [d for d in (_date(m.get("date")), _date(m.get("completed_on"))) if d]
    if not dates:
        return Markup("")
    lo, hi = min(dates), max(dates)
    lo -= timedelta(days=3)
    hi += timedelta(days=3)
    span = max((hi - lo).days, 1)

    def x(d: date) -> float:
        return x0 + (x1 - x0) * (d - lo).days / span

    rows = len(tasks) + len(milestones)
    height = top + rows * row_h + 8
    body: list[str] = []
    # month grid and labels
    ticks = _ticks(lo, hi)
    free_from = 0.0  # labels never overlap: one that would is left out (its grid line stays)
    for i, tk in enumerate(ticks):
        xx = x(tk)
        body.append(
            f'<line x1="{xx:.1f}" y1="{top - 4}" x2="{xx:.1f}" y2="{height - 6}" stroke="{GRID}" stroke-width="0.5"/>'
        )
        label = fmt.month(tk) if (i == 0 or tk.month == 1) else fmt.month_name(tk)
        if xx + 2 >= free_from and xx + 2 + _text_width(label, 6.5) <= width:
            body.append(_t(xx + 2, top - 7, label, size=6.5, fill=MUTED))
            free_from = xx + 2 + _text_width(label, 6.5) + 4
    body.append(f'<line x1="{x0}" y1="{top - 4}" x2="{x1}" y2="{top - 4}" stroke="{MUTED}" stroke-width="0.5"/>')
    y = top
    for t in tasks:
        s, f = _date(t.get("start")), _date(t.get("finish"))
        body.append(_t(0, y + 10, _fit(str(t.get("name", "")), 7.5, label_w), size=7.5))
        if s and f:
            xs, xf = x(s), max(x(f + timedelta(days=1)), x(s) + 1.5)
            pct = max(0.0, min(100.0, float(t.get("percent") or 0)))
            if t.get("status") == "done":
                pct = 100.0
            body.append(f'<rect x="{xs:.1f}" y="{y + 3.5}" width="{xf - xs:.1f}" height="8" fill="{PLAN}" rx="1"/>')
            if pct:
                body.append(
                    f'<rect x="{xs:.1f}" y="{y + 3.5}" width="{(xf - xs) * pct / 100:.1f}" height="8" '
                    f'fill="{DONE}" rx="1"/>'
                )
            body.append(
                _t(
                    min(xf + 3, x1 - 1),
                    y + 10,
                    f"{pct:.0f}%",
                    size=6.5,
                    fill=MUTED,
                    anchor="start" if xf + 22 < x1 else "end",
                )
            )
        y += row_h
    for m in milestones:
        d = _date(m.get("date"))
        body.append(_t(0, y + 10, _fit(str(m.get("name", "")), 7.5, label_w), size=7.5))
        if d:
            done = m.get("status") == "done"
            late = m.get("status") == "missed" or (not done and _date(today) is not None and d < _date(today))  # type: ignore[operator]
            fill = GOOD if done else BAD if late else "#ffffff"
            stroke = GOOD if done else BAD if late else DONE
            cx, cy, r = x(d), y + 7.5, 4.2
            body.append(
                f'<path d="M{cx:.1f} {cy - r:.1f} L{cx + r:.1f} {cy:.1f} L{cx:.1f} {cy + r:.1f} '
                f'L{cx - r:.1f} {cy:.1f} Z" fill="{fill}" stroke="{stroke}" stroke-width="0.9"/>'
            )
            actual = _date(m.get("completed_on"))
            if actual and actual != d:
                ax = x(actual)
                body.append(
                    f'<line x1="{cx:.1f}" y1="{cy}" x2="{ax:.1f}" y2="{cy}" stroke="{stroke}" '
                    f'stroke-width="0.8" stroke-dasharray="1.5 1.5"/>'
                )
                body.append(f'<circle cx="{ax:.1f}" cy="{cy}" r="1.8" fill="{stroke}"/>')
            label = fmt.month_day(d)
            right = cx + 8 + _text_width(label, 6.5) < x1
            body.append(
                _t(cx + 7 if right else cx - 7, y + 10, label, size=6.5, fill=MUTED, anchor="start" if right else "end")
            )
        y += row_h
    td = _date(today)
    if td and lo <= td <= hi:
        tx = x(td)
        body.append(
            f'<line x1="{tx:.1f}" y1="{top - 4}" x2="{tx:.1f}" y2="{height - 6}" stroke="{BAD}" '
            f'stroke-width="0.8" stroke-dasharray="3 2"/>'
        )
        label = fmt.t("chart.today")
        right = tx + 4 + _text_width(label, 6.5) < x1
        body.append(
            _t(
                tx + 3 if right else tx - 3,
                height - 1,
                label,
                size=6.5,
                fill=BAD,
                anchor="start" if right else "end",
                weight="bold",
            )
        )
    return _svg(width, height, body, fmt.t("chart.schedule"), chart_font(fmt))


def milestone_timeline(
    milestones: Sequence[Mapping[str, Any]],
    *,
    start: Any,
    finish: Any,
    today: Any,
    fmt: Formatter,
    width: float = PLOT_WIDTH,
) -> Markup:
    """Milestones only: one row per milestone, planned diamond, actual date dot, today line."""
    return schedule_chart((), milestones, start=start, finish=finish, today=today, fmt=fmt, width=width)


def budget_bars(
    rows: Sequence[Mapping[str, Any]],
    *,
    fmt: Formatter,
    currency: str = "",
    total_label: str = "",
    total_pct: float | None = None,
    width: float = PLOT_WIDTH,
) -> Markup:
    """Spent against plan: ``rows`` of {label or category, plan, actual} (decimal text); a total row
    is added. A ``category`` is printed as the locale's word for it. A row's ``used_pct`` (and
    ``total_pct`` for the total), when given, is the percentage printed, so the chart and the table
    beside it show the one figure the view computed."""
    if not rows:
        return Markup("")
    data = [
        (
            str(r.get("label") or fmt.enum("category", r.get("category", ""))),
            Decimal(str(r.get("plan") or 0)),
            Decimal(str(r.get("actual") or 0)),
            r.get("used_pct"),
        )
        for r in rows
    ]
    total = (
        total_label or fmt.t("common.total"),
        sum((p for _, p, _, _ in data), Decimal(0)),
        sum((a for _, _, a, _ in data), Decimal(0)),
        total_pct,
    )
    label_w, value_w = 110.0, 120.0
    x0, x1 = label_w + 6, width - value_w
    row_h, top = 16.0, 14.0
    body: list[str] = []
    all_rows = [*data, total]
    scale = max([max(p, a) for _, p, a, _ in data] + [Decimal(1)])
    height = top + len(all_rows) * row_h + 6
    # legend
    body.append(f'<rect x="{x0}" y="2" width="9" height="6" fill="{PLAN}"/>')
    body.append(_t(x0 + 12, 8, fmt.t("chart.plan"), size=6.5, fill=MUTED))
    lx = x0 + 18 + _text_width(fmt.t("chart.plan"), 6.5)
    body.append(f'<rect x="{lx:.1f}" y="2" width="9" height="6" fill="{DONE}"/>')
    body.append(_t(lx + 12, 8, fmt.t("chart.actual"), size=6.5, fill=MUTED))
    lx2 = lx + 18 + _text_width(fmt.t("chart.actual"), 6.5)
    body.append(f'<rect x="{lx2:.1f}" y="2" width="9" height="6" fill="{BAD}"/>')
    body.append(_t(lx2 + 12, 8, fmt.t("chart.over"), size=6.5, fill=MUTED))
    y = top
    for i, (label, plan, actual, given_pct) in enumerate(all_rows):
        is_total = i == len(all_rows) - 1
        if is_total:
            body.append(f'<line x1="0" y1="{y + 1}" x2="{width}" y2="{y + 1}" stroke="{GRID}" stroke-width="0.6"/>')
            y += 2
            tscale = max(plan, actual, Decimal(1))
        else:
            tscale = scale
        w_plan = float(plan / tscale) * (x1 - x0)
        w_act = float(actual / tscale) * (x1 - x0)
        weight = "bold" if is_total else "normal"
        body.append(_t(0, y + 10, _fit(label, 7.5, label_w), size=7.5, weight=weight))
        body.append(f'<rect x="{x0}" y="{y + 2}" width="{w_plan:.1f}" height="10" fill="{PLAN}"/>')
        colour = BAD if actual > plan else DONE
        body.append(f'<rect x="{x0}" y="{y + 4.5}" width="{w_act:.1f}" height="5" fill="{colour}"/>')
        if given_pct is not None:
            pct = f" ({fmt.percent(given_pct, 0)})"
        else:
            pct = f" ({fmt.percent(actual * 100 / plan, 0)})" if plan else ""
        body.append(
            _t(
                width,
                y + 10,
                f"{fmt.money(actual, currency)} / {fmt.money(plan, currency)}{pct}",
                size=6.8,
                anchor="end",
                fill=INK,
                weight=weight,
            )
        )
        y += row_h
    return _svg(width, height, body, fmt.t("chart.budget"), chart_font(fmt))


def _month_labels(
    lo: date,
    hi: date,
    x: Any,
    y: float,
    fmt: Formatter,
    width: float,
    body: list[str],
    grid: tuple[float, float] | None = None,
) -> None:
    """Month ticks between ``lo`` and ``hi``: grid lines from ``grid[0]`` to ``grid[1]`` and labels at
    ``y`` (the year with the first month and with January); a label that would overlap is left out."""
    free_from = 0.0
    for i, tk in enumerate(_ticks(lo, hi)):
        xx = x(tk)
        if grid:
            body.append(
                f'<line x1="{xx:.1f}" y1="{grid[0]:.1f}" x2="{xx:.1f}" y2="{grid[1]:.1f}" stroke="{GRID}" '
                f'stroke-width="0.5"/>'
            )
        label = fmt.month(tk) if (i == 0 or tk.month == 1) else fmt.month_name(tk)
        if xx + 2 >= free_from and xx + 2 + _text_width(label, 6.5) <= width:
            body.append(_t(xx + 2, y, label, size=6.5, fill=MUTED))
            free_from = xx + 2 + _text_width(label, 6.5) + 4


def _legend(items: Sequence[tuple[str, str]], x: float, y: float, width: float) -> tuple[list[str], float]:
    """A one-line legend (wrapping when it must): ``items`` of (swatch SVG at 0,0 sized 14x8, label).
    Returns the elements and the height used."""
    out: list[str] = []
    lx, ly = x, y
    for swatch, label in items:
        w = 18 + _text_width(label, 6.8) + 10
        if lx + w > width and lx > x:
            lx, ly = x, ly + 11
        out.append(f'<g transform="translate({lx:.1f} {ly - 7:.1f})">{swatch}</g>')
        out.append(_t(lx + 18, ly, label, size=6.8, fill=INK))
        lx += w
    return out, ly - y + 11


def _diamond(cx: float, cy: float, r: float, fill: str, stroke: str) -> str:
    return (
        f'<path d="M{cx:.1f} {cy - r:.1f} L{cx + r:.1f} {cy:.1f} L{cx:.1f} {cy + r:.1f} L{cx - r:.1f} {cy:.1f} Z" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="0.9"/>'
    )


def _today_marker(tx: float, y1: str, y2: str, label: str, label_y: float, limit: float) -> list[str]:
    """The dashed "today" line of a time chart and its label, set right of the line unless it would
    pass ``limit`` (then left of it). ``y1``/``y2`` come formatted, as each chart writes its own."""
    right = tx + 4 + _text_width(label, 6.5) < limit
    return [
        f'<line x1="{tx:.1f}" y1="{y1}" x2="{tx:.1f}" y2="{y2}" stroke="{TODAY}" '
        f'stroke-width="0.9" stroke-dasharray="3 2"/>',
        _t(
            tx + 3 if right else tx - 3,
            label_y,
            label,
            size=6.5,
            fill=TODAY,
            anchor="start" if right else "end",
            weight="bold",
        ),
    ]


def gantt_chart(
    rows: Sequence[Mapping[str, Any]], *, today: Any, fmt: Formatter, hidden: int = 0, width: float = PLOT_WIDTH
) -> Markup:
    """A Gantt chart of ``rows`` (id, wbs, name, level, summary, milestone, critical, done, start, finish,
    percent) in the order given: critical rows are drawn red and carry ``class="gantt-row critical"``.
    The legend names the critical path in the document's language; the today line is dashed."""
    label_w = 190.0
    x0, x1 = label_w + 6, width - 24
    row_h = 12.5
    legend_items = [
        (
            f'<rect x="0" y="1" width="14" height="6" fill="{CRIT_LIGHT}"/><rect x="0" y="1" width="7" height="6" '
            f'fill="{CRIT}"/><rect x="0" y="1" width="14" height="6" fill="none" stroke="{CRIT}" stroke-width="0.7"/>',
            fmt.t("chart.critical"),
        ),
        (
            f'<rect x="0" y="1" width="14" height="6" fill="{PLAN}"/><rect x="0" y="1" width="7" height="6" '
            f'fill="{DONE}"/>',
            fmt.t("chart.noncritical"),
        ),
        (
            f'<rect x="0" y="2" width="14" height="3" fill="{INK}"/>'
            f'<path d="M0 5 L3.5 5 L0 8.5 Z M14 5 L10.5 5 L14 8.5 Z" fill="{INK}"/>',
            fmt.t("chart.summary"),
        ),
        (_diamond(7, 4, 3.8, "#ffffff", DONE), fmt.t("chart.milestone")),
        (
            f'<line x1="7" y1="-1" x2="7" y2="9" stroke="{TODAY}" stroke-width="0.9" stroke-dasharray="2.5 1.5"/>',
            fmt.t("chart.today"),
        ),
    ]
    legend, legend_h = _legend(legend_items, 0, 8, width)
    top = legend_h + 16  # month labels sit between the legend and the first row
    dates = [d for d in (_date(today),) if d]
    for r in rows:
        dates += [d for d in (_date(r.get("start")), _date(r.get("finish"))) if d]
    if not rows or not dates:
        return Markup("")
    lo, hi = min(dates) - timedelta(days=3), max(dates) + timedelta(days=4)
    span = max((hi - lo).days, 1)

    def x(d: date) -> float:
        return x0 + (x1 - x0) * (d - lo).days / span

    bottom = top + len(rows) * row_h
    height = bottom + (22 if hidden else 12)
    body: list[str] = list(legend)
    for i in range(len(rows)):
        if i % 2:
            body.append(f'<rect x="0" y="{top + i * row_h:.1f}" width="{width:.0f}" height="{row_h}" fill="{ZEBRA}"/>')
    _month_labels(lo, hi, x, top - 4, fmt, width, body, grid=(top - 2, bottom))
    body.append(f'<line x1="{x0}" y1="{top - 2}" x2="{x1}" y2="{top - 2}" stroke="{MUTED}" stroke-width="0.5"/>')
    y = top
    for r in rows:
        crit = bool(r.get("critical"))
        level = int(r.get("level") or 0)
        summary = bool(r.get("summary"))
        light, dark = (CRIT_LIGHT, CRIT) if crit else (PLAN, DONE)
        cls = "gantt-row critical" if crit else "gantt-row"
        body.append(f'<g class="{cls}" data-task="{escape(str(r.get("id", "")))}">')
        indent = 7.0 * min(level, 4)
        name = " ".join(p for p in (str(r.get("wbs") or ""), str(r.get("name") or "")) if p)
        body.append(
            _t(
                indent,
                y + 9,
                _fit(name, 7.2, label_w - indent),
                size=7.2,
                fill=CRIT if crit and not summary else INK,
                weight="bold" if summary else "normal",
            )
        )
        s, f = _date(r.get("start")), _date(r.get("finish"))
        if s and f:
            pct = 100.0 if r.get("done") else max(0.0, min(100.0, float(r.get("percent") or 0)))
            xs = x(s)
            if r.get("milestone"):
                fill = GOOD if r.get("done") else (CRIT if crit else "#ffffff")
                stroke = GOOD if r.get("done") else (CRIT if crit else DONE)
                body.append(_diamond(xs, y + 6.25, 4.0, fill, stroke))
                label = fmt.month_day(s)
                right = xs + 7 + _text_width(label, 6.3) < width
                body.append(
                    _t(
                        xs + 6 if right else xs - 6,
                        y + 8.7,
                        label,
                        size=6.3,
                        fill=MUTED,
                        anchor="start" if right else "end",
                    )
                )
            else:
                xf = max(x(f + timedelta(days=1)), xs + 1.5)
                if summary:
                    body.append(f'<rect x="{xs:.1f}" y="{y + 3:.1f}" width="{xf - xs:.1f}" height="4" fill="{light}"/>')
                    if pct:
                        body.append(
                            f'<rect x="{xs:.1f}" y="{y + 3:.1f}" width="{(xf - xs) * pct / 100:.1f}" '
                            f'height="4" fill="{dark}"/>'
                        )
                    ink = CRIT if crit else INK
                    body.append(
                        f'<path d="M{xs:.1f} {y + 3:.1f} L{xs + 3.5:.1f} {y + 3:.1f} L{xs:.1f} {y + 10:.1f} Z '
                        f'M{xf:.1f} {y + 3:.1f} L{xf - 3.5:.1f} {y + 3:.1f} L{xf:.1f} {y + 10:.1f} Z" '
                        f'fill="{ink}"/>'
                    )
                    body.append(
                        f'<line x1="{xs:.1f}" y1="{y + 3:.1f}" x2="{xf:.1f}" y2="{y + 3:.1f}" stroke="{ink}" '
                        f'stroke-width="0.8"/>'
                    )
                else:
                    body.append(
                        f'<rect x="{xs:.1f}" y="{y + 2.5:.1f}" width="{xf - xs:.1f}" height="7.5" '
                        f'fill="{light}" rx="1"/>'
                    )
                    if pct:
                        body.append(
                            f'<rect x="{xs:.1f}" y="{y + 2.5:.1f}" width="{(xf - xs) * pct / 100:.1f}" '
                            f'height="7.5" fill="{dark}" rx="1"/>'
                        )
                    if crit:  # outlined too, so a critical task not yet started stands out (also in grey)
                        body.append(
                            f'<rect x="{xs:.1f}" y="{y + 2.5:.1f}" width="{xf - xs:.1f}" height="7.5" '
                            f'fill="none" stroke="{CRIT}" stroke-width="0.7" rx="1"/>'
                        )
                text = f"{pct:.0f}%"
                right = xf + 3 + _text_width(text, 6.3) <= width
                body.append(
                    _t(
                        xf + 3 if right else xs - 3,
                        y + 8.7,
                        text,
                        size=6.3,
                        fill=MUTED,
                        anchor="start" if right else "end",
                    )
                )
        body.append("</g>")
        y += row_h
    td = _date(today)
    if td and lo <= td <= hi:
        label = f"{fmt.t('chart.today')} {fmt.month_day(td)}"
        body += _today_marker(x(td), f"{top - 2}", f"{bottom + 2:.1f}", label, bottom + 9, width)
    if hidden:
        body.append(_t(0, height - 2, fmt.t("label.gantt_more", n=hidden), size=6.5, fill=MUTED))
    return _svg(width, height, body, fmt.t("chart.gantt"), chart_font(fmt))


def _nice_step(vmax: float, target: int = 5) -> float:
    """A round step (1, 2, 2.5, 5 x 10^n) giving about ``target`` intervals up to ``vmax``."""
    raw = max(vmax, 1e-9) / target
    exp = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * exp >= raw:
            return m * exp
    return 10.0 * exp


def _amount_tick(v: float, step: float, fmt: Formatter, currency: str, money: bool) -> str:
    """Axis label for an amount: ``¥150万`` / ``£120k`` / ``£1.25M`` with as few decimals as the step needs."""
    sym = fmt.symbol(currency) if money else ""
    if v == 0:
        return f"{sym}0"
    myriad = fmt.myriad()
    if myriad and abs(v) >= 10_000 and step >= 1_000:
        unit, suffix = 10_000.0, myriad
    elif abs(v) >= 1_000_000 and step >= 10_000:
        unit, suffix = 1_000_000.0, "M"
    elif abs(v) >= 1_000 and step >= 100:
        unit, suffix = 1_000.0, "k"
    else:
        unit, suffix = 1.0, ""
    places = 0
    while places < 3 and abs(round(step / unit, places) - step / unit) > 1e-9:
        places += 1
    return f"{sym}{v / unit:,.{places}f}{suffix}"


def cost_s_curve(
    planned: Sequence[tuple[Any, Any]],
    actual: Sequence[tuple[Any, Any]],
    earned: Sequence[tuple[Any, Any]] = (),
    *,
    today: Any,
    fmt: Formatter,
    currency: str = "",
    width: float = PLOT_WIDTH,
    height: float = 150.0,
    money: bool = True,
) -> Markup:
    """Cumulative cost over time: planned value, actual cost and (optionally) earned value, each a
    series of (date, cumulative amount) sorted by date, with the status date (``today``) marked and
    a legend. Dates may be ISO text, amounts decimal text or numbers; ``money=False`` prints plain
    numbers on the axis (earned value measured in hours).

    Returns an ``<svg>`` like the other charts (text escaped, sized in points).
    """
    series: list[tuple[str, str, str, list[tuple[date, float]]]] = []
    for key, colour, dash, seq in (
        ("chart.pv", DONE, "", planned),
        ("chart.ev", GOOD, "5 2.5", earned),
        ("chart.ac", BAD, "1.6 1.4", actual),
    ):
        pts = [(d, float(v)) for d, v in ((_date(a), b) for a, b in seq) if d is not None and v is not None]
        series.append((key, colour, dash, pts))
    every = [p for _, _, _, pts in series for p in pts]
    if not every:
        return Markup("")
    lo, hi = min(d for d, _ in every), max(d for d, _ in every)
    td = _date(today)
    span = max((hi - lo).days, 1)
    top_value = max(max(v for _, v in every), 0.0)
    step = _nice_step(top_value or 1.0)
    n_steps = max(1, math.ceil((top_value or 1.0) / step - 1e-9))
    vmax = step * n_steps
    ticks = [step * i for i in range(n_steps + 1)]
    labels = [_amount_tick(v, step, fmt, currency, money) for v in ticks]
    left = max(_text_width(lb, 6.5) for lb in labels) + 8
    legend_items = [
        (
            f'<line x1="0" y1="4" x2="14" y2="4" stroke="{colour}" stroke-width="1.6"'
            + (f' stroke-dasharray="{dash}"' if dash else "")
            + "/>",
            fmt.t(key),
        )
        for key, colour, dash, pts in series
        if pts
    ]
    legend_items.append(
        (
            f'<line x1="7" y1="-1" x2="7" y2="9" stroke="{TODAY}" stroke-width="0.9" stroke-dasharray="3 2"/>',
            fmt.t("chart.status_date"),
        )
    )
    legend, legend_h = _legend(legend_items, left, 8, width)
    top, bottom, x0, x1 = legend_h + 8, height - 14, left, width - 6

    def x(d: date) -> float:
        return x0 + (x1 - x0) * (d - lo).days / span

    def y(v: float) -> float:
        return bottom - (bottom - top) * v / vmax

    body: list[str] = list(legend)
    for v, lb in zip(ticks, labels, strict=True):
        yy = y(v)
        body.append(
            f'<line x1="{x0:.1f}" y1="{yy:.1f}" x2="{x1:.1f}" y2="{yy:.1f}" stroke="{GRID}" stroke-width="0.5"/>'
        )
        body.append(_t(x0 - 4, yy + 2.3, lb, size=6.5, anchor="end", fill=MUTED))
    _month_labels(lo, hi, x, bottom + 9, fmt, width, body)
    for tk in _ticks(lo, hi):
        body.append(
            f'<line x1="{x(tk):.1f}" y1="{bottom:.1f}" x2="{x(tk):.1f}" y2="{bottom + 2.5:.1f}" '
            f'stroke="{MUTED}" stroke-width="0.5"/>'
        )
    body.append(
        f'<line x1="{x0:.1f}" y1="{bottom:.1f}" x2="{x1:.1f}" y2="{bottom:.1f}" stroke="{MUTED}" stroke-width="0.6"/>'
    )
    if td and lo <= td <= hi:
        body += _today_marker(x(td), f"{top:.1f}", f"{bottom:.1f}", fmt.month_day(td), top + 7, x1)
    for key, colour, dash, pts in series:
        if not pts:
            continue
        coords = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in pts)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(
            f'<polyline class="series {key[6:]}" fill="none" stroke="{colour}" stroke-width="1.5" '
            f'stroke-linejoin="round"{dash_attr} points="{coords}"/>'
        )
    return _svg(width, height, body, fmt.t("chart.s_curve"), chart_font(fmt))


def s_curve_chart(
    block: Mapping[str, Any], *, fmt: Formatter, currency: str = "", width: float = PLOT_WIDTH, height: float = 160.0
) -> Markup:
    """:func:`cost_s_curve` from a record's ``s_curve`` block (``points`` of date, pv, ev, ac; ev and
    ac null after ``status_date``). When the budgets are effort hours (``budget_source`` ``effort``)
    actual cost is left out: it is money and the other two lines are hours."""
    points = list(block.get("points") or ())
    money = block.get("budget_source") != "effort"
    planned = [(p.get("date"), p.get("pv")) for p in points]
    earned = [(p.get("date"), p.get("ev")) for p in points if p.get("ev") is not None]
    actual = [(p.get("date"), p.get("ac")) for p in points if p.get("ac") is not None] if money else []
    return cost_s_curve(
        planned,
        actual,
        earned,
        today=block.get("status_date"),
        fmt=fmt,
        currency=currency,
        width=width,
        height=height,
        money=money,
    )

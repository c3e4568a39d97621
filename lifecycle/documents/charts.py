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
* :func:`cost_s_curve`: cumulative planned / actual / earned cost over time; its signature is fixed
  here for the analytics work, which fills it in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from html import escape
from typing import Any

from markupsafe import Markup

from lifecycle.documents.locale import Formatter

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


def _date(value: Any) -> date | None:
    if not value:
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


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


def _t(x: float, y: float, text: str, *, size: float = 7.5, anchor: str = "start", fill: str = INK,
       weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" '
            f'font-weight="{weight}">{escape(text)}</text>')


def _svg(width: float, height: float, body: list[str], label: str) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{escape(label)}" '
            f'width="{width:.0f}pt" height="{height:.0f}pt" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'font-family="{FONT}">')
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


def schedule_chart(tasks: Sequence[Mapping[str, Any]], milestones: Sequence[Mapping[str, Any]], *,
                   start: Any, finish: Any, today: Any, fmt: Formatter, width: float = PLOT_WIDTH) -> Markup:
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
        body.append(f'<line x1="{xx:.1f}" y1="{top - 4}" x2="{xx:.1f}" y2="{height - 6}" stroke="{GRID}" '
                    f'stroke-width="0.5"/>')
        label = fmt.month(tk) if (i == 0 or tk.month == 1) else (f"{tk.month}月" if fmt.zh else fmt.month(tk)[:3])
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
                body.append(f'<rect x="{xs:.1f}" y="{y + 3.5}" width="{(xf - xs) * pct / 100:.1f}" height="8" '
                            f'fill="{DONE}" rx="1"/>')
            body.append(_t(min(xf + 3, x1 - 1), y + 10, f"{pct:.0f}%", size=6.5, fill=MUTED,
                           anchor="start" if xf + 22 < x1 else "end"))
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
            body.append(f'<path d="M{cx:.1f} {cy - r:.1f} L{cx + r:.1f} {cy:.1f} L{cx:.1f} {cy + r:.1f} '
                        f'L{cx - r:.1f} {cy:.1f} Z" fill="{fill}" stroke="{stroke}" stroke-width="0.9"/>')
            actual = _date(m.get("completed_on"))
            if actual and actual != d:
                ax = x(actual)
                body.append(f'<line x1="{cx:.1f}" y1="{cy}" x2="{ax:.1f}" y2="{cy}" stroke="{stroke}" '
                            f'stroke-width="0.8" stroke-dasharray="1.5 1.5"/>')
                body.append(f'<circle cx="{ax:.1f}" cy="{cy}" r="1.8" fill="{stroke}"/>')
            label = fmt.month_day(d)
            right = cx + 8 + _text_width(label, 6.5) < x1
            body.append(_t(cx + 7 if right else cx - 7, y + 10, label, size=6.5, fill=MUTED,
                           anchor="start" if right else "end"))
        y += row_h
    td = _date(today)
    if td and lo <= td <= hi:
        tx = x(td)
        body.append(f'<line x1="{tx:.1f}" y1="{top - 4}" x2="{tx:.1f}" y2="{height - 6}" stroke="{BAD}" '
                    f'stroke-width="0.8" stroke-dasharray="3 2"/>')
        label = fmt.t("chart.today")
        right = tx + 4 + _text_width(label, 6.5) < x1
        body.append(_t(tx + 3 if right else tx - 3, height - 1, label, size=6.5, fill=BAD,
                       anchor="start" if right else "end", weight="bold"))
    return _svg(width, height, body, fmt.t("chart.schedule"))


def milestone_timeline(milestones: Sequence[Mapping[str, Any]], *, start: Any, finish: Any, today: Any,
                       fmt: Formatter, width: float = PLOT_WIDTH) -> Markup:
    """Milestones only: one row per milestone, planned diamond, actual date dot, today line."""
    return schedule_chart((), milestones, start=start, finish=finish, today=today, fmt=fmt, width=width)


def budget_bars(rows: Sequence[Mapping[str, Any]], *, fmt: Formatter, currency: str = "",
                total_label: str = "", width: float = PLOT_WIDTH) -> Markup:
    """Spent against plan: ``rows`` of {label or category, plan, actual} (decimal text); a total row
    is added. A ``category`` is printed as the locale's word for it."""
    if not rows:
        return Markup("")
    data = [(str(r.get("label") or fmt.enum("category", r.get("category", ""))), Decimal(str(r.get("plan") or 0)),
             Decimal(str(r.get("actual") or 0))) for r in rows]
    total = (total_label or fmt.t("common.total"), sum((p for _, p, _ in data), Decimal(0)),
             sum((a for _, _, a in data), Decimal(0)))
    label_w, value_w = 110.0, 120.0
    x0, x1 = label_w + 6, width - value_w
    row_h, top = 16.0, 14.0
    body: list[str] = []
    all_rows = [*data, total]
    scale = max([max(p, a) for _, p, a in data] + [Decimal(1)])
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
    for i, (label, plan, actual) in enumerate(all_rows):
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
        pct = f" ({float(actual * 100 / plan):.0f}%)" if plan else ""
        body.append(_t(width, y + 10, f"{fmt.money(actual, currency)} / {fmt.money(plan, currency)}{pct}",
                       size=6.8, anchor="end", fill=INK, weight=weight))
        y += row_h
    return _svg(width, height, body, fmt.t("chart.budget"))


def cost_s_curve(planned: Sequence[tuple[date, Decimal]], actual: Sequence[tuple[date, Decimal]],
                 earned: Sequence[tuple[date, Decimal]] = (), *, today: date, fmt: Formatter, currency: str = "",
                 width: float = PLOT_WIDTH, height: float = 150.0) -> Markup:
    """Cumulative cost over time: planned value, actual cost and (optionally) earned value, each a
    series of (date, cumulative amount) sorted by date, with a today line and a legend.

    Returns an ``<svg>`` like the other charts (text escaped, sized in points). The status template
    draws it when the record holds an ``s_curve`` block with ``planned``/``actual``/``earned`` lists of
    ``[iso_date, decimal_text]``. Filled in by the analytics (earned value) work.
    """
    raise NotImplementedError("cost S-curve arrives with the earned-value analytics")

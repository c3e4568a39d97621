"""Inline SVG charts for documents and reports: the earned-value S-curve and a Gantt chart.

Both builders are pure functions from computed figures to SVG text (standard library only, no fonts
or scripts, ~0.1 ms per chart), meant to be placed inline in an HTML template; every piece of text is
XML-escaped. Labels are passed in, so a Chinese document passes Chinese labels and an English one
English; fonts come from the document's CSS (no ``font-family`` is set). Colours are chosen to
survive grey-scale printing (line styles differ too).

* :func:`s_curve_svg` takes the weekly points of :func:`lifecycle.domain.evm.s_curve` (or dicts with
  ``date``, ``pv``, ``ev``, ``ac``) and draws cumulative PV, EV and AC with the status date marked.
* :func:`gantt_svg` takes a :class:`lifecycle.domain.schedule.Schedule` (or its ``rows()``) and draws
  one bar per task, critical tasks highlighted, milestones as diamonds, summaries as brackets and
  total slack as a thin tail after each non-critical bar.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any
from xml.sax.saxutils import escape, quoteattr

CRITICAL = "#c0392b"
NORMAL = "#2e86c1"
DONE = "#7f8c8d"
SUMMARY = "#2c3e50"
PV_COLOUR = "#2e86c1"
EV_COLOUR = "#27ae60"
AC_COLOUR = "#c0392b"

S_CURVE_LABELS = {
    "title": "",
    "pv": "Planned value (PV)",
    "ev": "Earned value (EV)",
    "ac": "Actual cost (AC)",
    "status_date": "Status date",
}
GANTT_LABELS = {
    "title": "",
    "critical": "Critical",
    "normal": "Task",
    "milestone": "Milestone",
    "slack": "Total slack",
    "today": "Today",
    "more": "more tasks not shown",
}


def _get(p: Any, key: str) -> Any:
    return p[key] if isinstance(p, Mapping) else getattr(p, key)


def _as_date(v: Any) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v))


def _money_tick(v: float, currency: str) -> str:
    a = abs(v)
    if a >= 1_000_000:
        s = f"{v / 1_000_000:.1f}M"
    elif a >= 10_000:
        s = f"{v / 1000:.0f}k"
    elif a >= 1000:
        s = f"{v / 1000:.1f}k"
    else:
        s = f"{v:.0f}"
    return f"{currency}{s}"


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    import math

    exp = float(10 ** math.floor(math.log10(v)))
    for m in (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if m * exp >= v:
            return m * exp
    return 10.0 * exp


def _text(
    x: float, y: float, s: str, *, size: int = 11, anchor: str = "start", fill: str = "#333", weight: str = "normal"
) -> str:
    extra = f' font-weight="{weight}"' if weight != "normal" else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}"{extra}>'
        f"{escape(s)}</text>"
    )


def s_curve_svg(
    series: Sequence[Any],
    *,
    width: int = 720,
    height: int = 320,
    labels: Mapping[str, str] | None = None,
    currency: str = "",
    status_date: date | None = None,
) -> str:
    """Cumulative PV, EV and AC against time as an SVG document fragment (``<svg>...</svg>``)."""
    lab = {**S_CURVE_LABELS, **(labels or {})}
    pts = [
        (
            _as_date(_get(p, "date")),
            float(_get(p, "pv") or 0.0),
            None if _get(p, "ev") is None else float(_get(p, "ev")),
            None if _get(p, "ac") is None else float(_get(p, "ac")),
        )
        for p in series
    ]
    title = lab.get("title") or ""
    head = 28 if title else 8
    left, right, top, bottom = 64, 16, head + 22, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(title or lab["pv"])}>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    if title:
        out.append(_text(width / 2, 18, title, size=14, anchor="middle", weight="bold"))
    if not pts:
        out.append(_text(width / 2, height / 2, "-", anchor="middle"))
        out.append("</svg>")
        return "".join(out)
    d0 = min(p[0] for p in pts)
    d1 = max(p[0] for p in pts)
    span = max(1, (d1 - d0).days)
    vmax = _nice_max(max(max(p[1], p[2] or 0.0, p[3] or 0.0) for p in pts))

    def x(d: date) -> float:
        return left + plot_w * (d - d0).days / span

    def y(v: float) -> float:
        return top + plot_h * (1 - v / vmax)

    # grid and axes
    for i in range(6):
        v = vmax * i / 5
        yy = y(v)
        out.append(f'<line x1="{left}" y1="{yy:.1f}" x2="{left + plot_w}" y2="{yy:.1f}" stroke="#e5e5e5"/>')
        out.append(_text(left - 6, yy + 4, _money_tick(v, currency), size=10, anchor="end", fill="#555"))
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888"/>')
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>')
    n_ticks = min(8, len(pts))
    step = max(1, len(pts) // max(1, n_ticks))
    for p in pts[::step]:
        xx = x(p[0])
        out.append(f'<line x1="{xx:.1f}" y1="{top + plot_h}" x2="{xx:.1f}" y2="{top + plot_h + 4}" stroke="#888"/>')
        out.append(_text(xx, top + plot_h + 16, p[0].strftime("%m-%d"), size=10, anchor="middle", fill="#555"))
    out.append(_text(left, top + plot_h + 32, f"{d0.isoformat()} – {d1.isoformat()}", size=10, fill="#777"))
    # status date
    sd = status_date or max((p[0] for p in pts if p[2] is not None), default=None)
    if sd is not None and d0 <= sd <= d1:
        xx = x(sd)
        out.append(
            f'<line x1="{xx:.1f}" y1="{top}" x2="{xx:.1f}" y2="{top + plot_h}" stroke="#999" stroke-dasharray="4 3"/>'
        )
        out.append(_text(xx + 3, top + 10, f"{lab['status_date']} {sd.isoformat()}", size=10, fill="#777"))

    def poly(values: Iterable[tuple[date, float]], colour: str, dash: str) -> str:
        coords = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in values)
        if not coords:
            return ""
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        return f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash_attr} points="{coords}"/>'

    out.append(poly(((p[0], p[1]) for p in pts), PV_COLOUR, ""))
    out.append(poly(((p[0], p[2]) for p in pts if p[2] is not None), EV_COLOUR, "6 3"))
    out.append(poly(((p[0], p[3]) for p in pts if p[3] is not None), AC_COLOUR, "2 2"))
    # legend
    lx = left
    for key, colour, dash in (("pv", PV_COLOUR, ""), ("ev", EV_COLOUR, "6 3"), ("ac", AC_COLOUR, "2 2")):
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<line x1="{lx}" y1="{head + 8}" x2="{lx + 22}" y2="{head + 8}" stroke="{colour}" '
            f'stroke-width="2"{dash_attr}/>'
        )
        out.append(_text(lx + 27, head + 12, lab[key], size=11))
        lx += 40 + 7 * len(lab[key])
    out.append("</svg>")
    return "".join(s for s in out if s)


def gantt_svg(
    schedule: Any,
    *,
    width: int = 900,
    row_height: int = 18,
    labels: Mapping[str, str] | None = None,
    today: date | None = None,
    max_rows: int = 80,
    label_width: int = 240,
) -> str:
    """A Gantt chart of a schedule (or a list of task timings), critical path highlighted."""
    lab = {**GANTT_LABELS, **(labels or {})}
    rows = list(schedule.rows()) if hasattr(schedule, "rows") else list(schedule)
    hidden = max(0, len(rows) - max_rows)
    rows = rows[:max_rows]
    title = lab.get("title") or ""
    head = 26 if title else 4
    axis = 34
    legend = 22
    height = head + axis + row_height * max(1, len(rows)) + legend + (16 if hidden else 0) + 6
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(title or "Gantt")}>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    if title:
        out.append(_text(width / 2, 18, title, size=14, anchor="middle", weight="bold"))
    if not rows:
        out.append("</svg>")
        return "".join(out)
    d0: date = min(r.early_start for r in rows)
    d1: date = max(max(r.early_finish, r.late_finish) for r in rows) + timedelta(days=1)
    span = max(1, (d1 - d0).days)
    left = label_width
    plot_w = width - left - 12
    top = head + axis

    def x(d: date) -> float:
        return left + plot_w * (d - d0).days / span

    # time axis: weeks for short plans, months for long ones
    ticks: list[date] = []
    if span <= 120:
        t = d0 - timedelta(days=d0.weekday())
        while t <= d1:
            if t >= d0:
                ticks.append(t)
            t += timedelta(days=7)
        fmt = "%m-%d"
    else:
        t = date(d0.year, d0.month, 1)
        while t <= d1:
            if t >= d0:
                ticks.append(t)
            t = date(t.year + (t.month == 12), t.month % 12 + 1, 1)
        fmt = "%Y-%m"
    bottom = top + row_height * len(rows)
    for t in ticks:
        xx = x(t)
        out.append(f'<line x1="{xx:.1f}" y1="{top - 6}" x2="{xx:.1f}" y2="{bottom}" stroke="#eeeeee"/>')
        out.append(_text(xx + 2, top - 10, t.strftime(fmt), size=10, fill="#555"))
    if today is not None and d0 <= today <= d1:
        xx = x(today)
        out.append(
            f'<line x1="{xx:.1f}" y1="{top - 6}" x2="{xx:.1f}" y2="{bottom}" stroke="#8e44ad" stroke-dasharray="3 3"/>'
        )
        out.append(_text(xx + 2, head + 12, lab["today"], size=10, fill="#8e44ad"))
    for i, r in enumerate(rows):
        y0 = top + i * row_height
        mid = y0 + row_height / 2
        if i % 2:
            out.append(f'<rect x="0" y="{y0}" width="{width}" height="{row_height}" fill="#fafafa"/>')
        name = f"{r.wbs} {r.name}".strip() if r.wbs else r.name
        indent = 6 + 10 * min(r.level, 6)
        max_chars = max(4, int((label_width - indent - 6) / 6.5))
        if len(name) > max_chars:
            name = name[: max_chars - 1] + "…"
        colour = CRITICAL if r.critical else (DONE if r.done else NORMAL)
        out.append(
            _text(
                indent,
                mid + 4,
                name,
                size=11,
                fill=CRITICAL if r.critical and not r.summary else "#222",
                weight="bold" if r.summary else "normal",
            )
        )
        xs = x(r.early_start)
        xe = x(r.early_finish + timedelta(days=1))
        if r.summary:
            yb = mid - 3
            out.append(f'<rect x="{xs:.1f}" y="{yb:.1f}" width="{max(1.0, xe - xs):.1f}" height="5" fill="{SUMMARY}"/>')
            out.append(
                f'<polygon points="{xs:.1f},{yb + 5:.1f} {xs + 5:.1f},{yb + 5:.1f} {xs:.1f},{yb + 10:.1f}" '
                f'fill="{SUMMARY}"/>'
            )
            out.append(
                f'<polygon points="{xe:.1f},{yb + 5:.1f} {xe - 5:.1f},{yb + 5:.1f} {xe:.1f},{yb + 10:.1f}" '
                f'fill="{SUMMARY}"/>'
            )
            continue
        if r.milestone:
            cx = x(r.early_start) + plot_w / span / 2
            h = row_height / 2 - 2
            out.append(
                f'<polygon points="{cx:.1f},{mid - h:.1f} {cx + h:.1f},{mid:.1f} {cx:.1f},{mid + h:.1f} '
                f'{cx - h:.1f},{mid:.1f}" fill="{colour}"><title>{escape(r.name)} '
                f"{r.early_start.isoformat()}</title></polygon>"
            )
            continue
        if r.total_slack > 0 and not r.critical:
            xl = x(r.late_finish + timedelta(days=1))
            out.append(
                f'<line x1="{xe:.1f}" y1="{mid:.1f}" x2="{xl:.1f}" y2="{mid:.1f}" stroke="#aaaaaa" stroke-width="1.5"/>'
            )
        out.append(
            f'<rect x="{xs:.1f}" y="{mid - row_height * 0.3:.1f}" width="{max(1.0, xe - xs):.1f}" '
            f'height="{row_height * 0.6:.1f}" rx="2" fill="{colour}"><title>{escape(r.name)}: '
            f"{r.early_start.isoformat()} – {r.early_finish.isoformat()}, "
            f"{escape(lab['slack'])} {r.total_slack}</title></rect>"
        )
    ly = bottom + 16
    if hidden:
        out.append(_text(6, ly, f"… {hidden} {lab['more']}", size=10, fill="#777"))
        ly += 16
    lx = 6
    for key, colour in (("critical", CRITICAL), ("normal", NORMAL)):
        out.append(f'<rect x="{lx}" y="{ly - 9}" width="16" height="9" rx="2" fill="{colour}"/>')
        out.append(_text(lx + 20, ly, lab[key], size=10))
        lx += 30 + 7 * len(lab[key])
    out.append(f'<polygon points="{lx + 5},{ly - 10} {lx + 10},{ly - 5} {lx + 5},{ly} {lx},{ly - 5}" fill="{NORMAL}"/>')
    out.append(_text(lx + 14, ly, lab["milestone"], size=10))
    lx += 24 + 7 * len(lab["milestone"])
    out.append(f'<line x1="{lx}" y1="{ly - 5}" x2="{lx + 18}" y2="{ly - 5}" stroke="#aaaaaa" stroke-width="1.5"/>')
    out.append(_text(lx + 22, ly, lab["slack"], size=10))
    out.append("</svg>")
    return "".join(out)

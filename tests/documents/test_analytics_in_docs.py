"""Schedule and earned-value analytics in the client documents and in ``pmo show``.

The status report carries the CPM forecast, a Gantt of the critical path, the weekly S-curve and the
earned value table; the final acceptance report the S-curve over the whole project and the final
figures. Every figure is the one :func:`project_metrics` and :func:`evm.s_curve` compute, the record
stays plain JSON with numbers as numbers, and the same inputs give the same bytes.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from lifecycle.documents import charts
from lifecycle.documents.locale import Formatter
from lifecycle.documents.registry import build_view
from lifecycle.documents.render import record_json, render_html, render_pdf
from lifecycle.documents.views import Stamp, _gantt_block
from lifecycle.domain.evm import s_curve
from lifecycle.domain.metrics import project_metrics
from lifecycle.domain.model import Project, TaskLink
from lifecycle.domain.schedule import compute_schedule
from lifecycle.services.analytics import build_baseline
from tests.documents.conftest import SCENARIOS, needs_tools, project_for
from tests.documents.samples import SAMPLES, default_titles
from tests.factory import small_project

LANG = {"zh": "zh-CN", "en": "en"}
STATUS_DAY = SCENARIOS["status"][1]
FINAL_DAY = SCENARIOS["final_acceptance"][1]
EVM_KEYS = ("bac", "pv", "ev", "ac", "sv", "cv", "eac", "etc", "vac", "spi", "cpi", "tcpi")


def stamp(lang: str, today: date) -> Stamp:
    return Stamp(
        "T-1",
        1,
        lang,
        datetime(today.year, today.month, today.day, 9, tzinfo=timezone.utc),
        today,
        "tester",
        titles=default_titles(),
    )


def status_view(which: str, project: Project | None = None) -> dict:
    """The status report's record; the PMO's version holds the earned value figures and the S-curve."""
    project = project or project_for(which, "execution", STATUS_DAY)
    return build_view("status", project, stamp(LANG[which], STATUS_DAY), audience="internal")


def final_view(which: str, audience: str = "internal") -> dict:
    """The final acceptance report's record; the PMO's variant holds the earned value figures."""
    project = project_for(which, "closed", FINAL_DAY)
    return build_view("final_acceptance", project, stamp(LANG[which], FINAL_DAY), audience=audience)


def _numbers_only(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# --------------------------------------------------------------------------- records
@pytest.mark.parametrize("which", ["zh", "en"])
def test_status_record_holds_the_metrics_and_the_s_curve(which):
    project = project_for(which, "execution", STATUS_DAY)
    view = status_view(which, project)
    assert json.loads(json.dumps(view)) == view
    metrics = project_metrics(project, STATUS_DAY)
    evm = view["evm"]
    for key in EVM_KEYS:
        assert _numbers_only(evm[key]), key
        assert evm[key] == metrics[key], key
    assert evm["status_date"] == STATUS_DAY.isoformat() and evm["budget_source"] == metrics["evm_budget_source"]
    expected = [p.to_dict() for p in s_curve(project, STATUS_DAY, schedule=compute_schedule(project, today=STATUS_DAY))]
    assert view["s_curve"]["points"] == expected
    assert view["s_curve"]["points"] == [p.to_dict() for p in s_curve(project, STATUS_DAY)]
    assert all(_numbers_only(p["pv"]) for p in view["s_curve"]["points"])
    # earned value and actual cost stop at the status date, planned value runs to the end
    past = [p for p in view["s_curve"]["points"] if p["date"] <= STATUS_DAY.isoformat()]
    assert all(p["ev"] is not None and p["ac"] is not None for p in past)
    assert all(p["ev"] is None for p in view["s_curve"]["points"] if p["date"] > STATUS_DAY.isoformat())
    sch = view["schedule"]
    assert sch["forecast_finish"] == metrics["project_finish"]
    assert sch["critical_task_count"] == metrics["critical_task_count"] > 0
    assert sch["critical_path"] == metrics["critical_path"]
    assert sch["reference"] == "plan" and isinstance(sch["slip_days"], int)  # the samples have no baseline


def test_status_record_compares_the_forecast_with_the_baseline():
    base = project_for("en", "execution", STATUS_DAY)
    bl = build_baseline(base, date(2026, 9, 1))
    bl = dataclasses.replace(bl, finish=date(2027, 3, 17))  # the plan that was agreed finished a week earlier
    project = dataclasses.replace(base, baselines=(bl,))
    view = status_view("en", project)
    metrics = project_metrics(project, STATUS_DAY)
    assert view["schedule"]["reference"] == "baseline"
    assert view["schedule"]["baseline_finish"] == "2027-03-17"
    assert view["schedule"]["slip_days"] == metrics["schedule_slip_days"] == 5
    assert view["evm"]["budget_source"] == "baseline" and view["evm"]["baseline"] == bl.id
    html = render_html(view)
    assert "Baseline finish" in html and "+5" in html and f"baseline {bl.id}" in html


@pytest.mark.parametrize("which", ["zh", "en"])
def test_final_record_has_the_whole_project_and_every_booked_cost(which):
    project = project_for(which, "closed", FINAL_DAY)
    view = final_view(which)
    assert json.loads(json.dumps(view)) == view
    evm_day = max([FINAL_DAY, *(c.date for c in project.costs)])
    metrics = project_metrics(project, evm_day)
    for key in EVM_KEYS:
        assert view["evm"][key] == metrics[key], key
    assert view["evm"]["ac"] == pytest.approx(float(view["cost"]["actual"]))  # the same actual cost twice
    assert view["evm"]["ev"] == view["evm"]["bac"] and view["evm"]["work_complete"]
    points = view["s_curve"]["points"]
    assert points == [p.to_dict() for p in s_curve(project, evm_day)]
    assert points[0]["date"] <= (project.charter.start + timedelta(days=7)).isoformat()
    assert points[-1]["date"] >= max(t.finish for t in project.tasks if t.finish).isoformat()
    assert points[-1]["pv"] == pytest.approx(view["evm"]["bac"])


def test_same_inputs_give_the_same_record_and_the_same_pdf():
    a, b = status_view("zh"), status_view("zh")
    assert record_json(a) == record_json(b)
    assert render_pdf(a).pdf == render_pdf(b).pdf


# --------------------------------------------------------------------------- the Gantt chart
def _rows_by_class(svg: str) -> dict[str, bool]:
    """task id -> drawn with the critical style."""
    return {
        m.group(2): "critical" in m.group(1)
        for m in re.finditer(r'<g class="(gantt-row[^"]*)" data-task="([^"]+)">', svg)
    }


@pytest.mark.parametrize("which", ["zh", "en"])
def test_critical_tasks_are_drawn_critical_with_a_legend_and_a_today_line(which):
    project = project_for(which, "execution", STATUS_DAY)
    view = status_view(which, project)
    fmt = Formatter(LANG[which])
    svg = str(charts.gantt_chart(view["gantt"]["rows"], today=view["as_of"], fmt=fmt, hidden=view["gantt"]["hidden"]))
    rows = _rows_by_class(svg)
    critical = set(project_metrics(project, STATUS_DAY)["critical_path"])
    assert critical <= set(rows), "every critical task is in the chart"
    leaves = {r["id"] for r in view["gantt"]["rows"] if not r["summary"]}
    assert {tid for tid, crit in rows.items() if crit and tid in leaves} == critical
    summaries = {r["id"]: r["critical"] for r in view["gantt"]["rows"] if r["summary"]}
    assert {tid: rows[tid] for tid in summaries} == summaries and not all(summaries.values())
    for tid in critical:
        group = svg[svg.index(f'data-task="{tid}"') :]
        group = group[: group.index("</g>")]
        assert charts.CRIT in group  # red bar, outline or diamond
    legend = "关键路径" if which == "zh" else "Critical path"
    today = "今天" if which == "zh" else "Today"
    assert f">{legend}<" in svg and f">{today} " in svg and 'stroke-dasharray="3 2"' in svg
    assert len(view["gantt"]["rows"]) <= 30  # one page


def test_big_plans_show_the_top_level_and_the_critical_tasks():
    project = project_for("en", "execution", STATUS_DAY)
    sched = compute_schedule(project, today=STATUS_DAY)
    every = _gantt_block(project, sched, max_rows=100)
    assert every["mode"] == "all" and len(every["rows"]) == len(project.tasks)
    summary = _gantt_block(project, sched, max_rows=30)
    assert summary["mode"] == "summary"
    assert all(r["summary"] or r["critical"] for r in summary["rows"])
    top = _gantt_block(project, sched, max_rows=12)
    assert top["mode"] == "top" and len(top["rows"]) == 12
    levels = [r for r in top["rows"] if r["level"] == 0]
    assert len(levels) == sum(1 for t in project.tasks if not t.parent)
    shown = sum(1 for r in top["rows"] if r["critical"] and not r["summary"])
    assert top["hidden"] == len(sched.critical_path) - shown > 0
    order = [r["id"] for r in every["rows"]]
    assert [r["id"] for r in top["rows"]] == [i for i in order if i in {r["id"] for r in top["rows"]}]
    svg = str(charts.gantt_chart(top["rows"], today=STATUS_DAY, fmt=Formatter("en"), hidden=top["hidden"]))
    assert f"{top['hidden']} more critical task(s)" in svg


def test_a_plan_without_a_schedule_says_why():
    cyclic = small_project("CYC-1", phase="execution")
    cyclic = dataclasses.replace(cyclic, links=(*cyclic.links, TaskLink("T2", "T1")))
    view = build_view("status", cyclic, stamp("en", date(2026, 2, 2)))
    assert view["gantt"]["rows"] == [] and view["schedule"]["error"]
    assert "could not be computed by the critical path method" in render_html(view)
    empty = dataclasses.replace(small_project("NONE-1"), tasks=(), links=())
    view = build_view("status", empty, stamp("zh-CN", date(2026, 2, 2)))
    assert "无（尚未编制任务计划）。" in render_html(view)


# --------------------------------------------------------------------------- the S-curve chart
@pytest.mark.parametrize(("which", "unit"), [("zh", "万"), ("en", "k")])
def test_s_curve_draws_three_series_with_local_axis_labels(which, unit):
    view = status_view(which)
    fmt = Formatter(LANG[which])
    svg = str(charts.s_curve_chart(view["s_curve"], fmt=fmt, currency=view["project"]["currency"]))
    assert svg.count("<polyline") == 3
    for key in ("chart.pv", "chart.ev", "chart.ac", "chart.status_date"):
        assert f">{fmt.t(key)}<" in svg
    symbol = fmt.symbol(view["project"]["currency"])
    ticks = re.findall(r'text-anchor="end" fill="[^"]+" font-weight="normal">([^<]+)</text>', svg)
    assert ticks and all(t.startswith(symbol) for t in ticks) and any(t.endswith(unit) for t in ticks)
    assert f">{fmt.month_day(STATUS_DAY)}<" in svg
    assert charts.cost_s_curve((), (), today=STATUS_DAY, fmt=fmt) == ""


# --------------------------------------------------------------------------- read back from the PDF
def pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(out.split())


@needs_tools
@pytest.mark.parametrize("kind", ["status", "final_acceptance"])
@pytest.mark.parametrize("which", ["zh", "en"])
def test_evm_labels_and_values_read_back(which, kind, tmp_path):
    # earned value is in the PMO's versions of the status and final reports, not in the client's
    record = status_view(which) if kind == "status" else final_view(which, "internal")
    (tmp_path / "internal.pdf").write_bytes(render_pdf(record).pdf)
    text = pdf_text(tmp_path / "internal.pdf")
    fmt = Formatter(LANG[which])
    state, today = SCENARIOS[kind]
    project = project_for(which, state, today)
    metrics = project_metrics(project, date.fromisoformat(record["evm"]["status_date"]))
    cur = record["project"]["currency"]
    labels = (
        [
            "挣值分析",
            "完工预算",
            "计划价值",
            "挣值",
            "实际成本",
            "进度绩效指数",
            "成本绩效指数",
            "完工估算",
            "完工尚需估算",
            "完工偏差",
            "完工尚需绩效指数",
        ]
        if which == "zh"
        else [
            "Earned value",
            "Budget at completion",
            "Planned value",
            "Actual cost",
            "Schedule performance index",
            "Cost performance index",
            "Estimate at completion",
            "Estimate to complete",
            "Variance at completion",
            "To-complete performance index",
        ]
    )
    for word in [*labels, "BAC", "PV", "EV", "AC", "SV", "CV", "SPI", "CPI", "EAC", "ETC", "VAC", "TCPI"]:
        assert word in text, word
    assert f"SPI {fmt.t('evm.spi')}" in text
    for key in ("bac", "pv", "ev", "ac", "sv", "cv", "eac", "vac"):
        assert fmt.money(metrics[key], cur) in text, key
    spi, cpi = fmt.number(metrics["spi"], 2), fmt.number(metrics["cpi"], 2)
    # the value follows its label in the same row, after the rating in words (进度略落后 / Slightly behind)
    assert re.search(rf"SPI {fmt.t('evm.spi')} (?:\S+ ){{1,3}}{re.escape(spi)} ", text)
    assert re.search(rf"CPI {fmt.t('evm.cpi')} (?:\S+ ){{1,3}}{re.escape(cpi)} ", text)
    assert fmt.t("chart.pv") in text and fmt.t("chart.status_date") in text
    if kind == "status":
        assert fmt.t("chart.critical") in text and fmt.t("stat.forecast_finish") in text
        assert fmt.date_short(metrics["project_finish"]) in text


# --------------------------------------------------------------------------- pmo show
def test_pmo_show_prints_the_cpm_finish_and_critical_tasks(workspace, monkeypatch):
    from lifecycle.cli.main import cli

    monkeypatch.setenv("PMO_NOW", "2026-11-16T09:00:00+00:00")
    runner = CliRunner()
    assert runner.invoke(cli, ["apply", str(SAMPLES["en"])]).exit_code == 0
    code = "NHP-PORTAL-2026"
    out = runner.invoke(cli, ["show", code], catch_exceptions=False).output
    data = json.loads(runner.invoke(cli, ["show", code, "--json"], catch_exceptions=False).output)
    m = data["metrics"]
    assert m["project_finish"] and m["critical_task_count"] > 0 and m["baseline_finish"] is None
    assert f"finish (CPM) {m['project_finish']} (no baseline saved)   critical tasks {m['critical_task_count']}" in out
    assert runner.invoke(cli, ["baseline", "save", code]).exit_code == 0
    out = runner.invoke(cli, ["show", code], catch_exceptions=False).output
    data = json.loads(runner.invoke(cli, ["show", code, "--json"], catch_exceptions=False).output)
    m = data["metrics"]
    assert m["baseline_finish"] and "schedule_slip_days" in m
    assert (
        f"finish (CPM) {m['project_finish']} vs baseline {m['baseline_finish']}: "
        f"slip {m['schedule_slip_days']:+d} working days"
    ) in out

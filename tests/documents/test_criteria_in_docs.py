"""Criterion-level results on the acceptance certificate and the final acceptance report: one row per
criterion with the result that counts, "not yet verified" without one, the conclusion that follows
from them, the quality checks in an annex, and the client's acceptance page reading the same rows."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime, timezone

from lifecycle.documents.registry import build_view
from lifecycle.documents.render import render_html
from lifecycle.documents.views import Stamp
from lifecycle.domain.model import CriterionResult
from tests.documents.samples import closed, default_titles, load_sample


def stamp(lang: str) -> Stamp:
    return Stamp(
        "X-1", 1, lang, datetime(2027, 3, 29, 9, tzinfo=timezone.utc), date(2027, 3, 29), "pm", titles=default_titles()
    )


def _final(p):  # type: ignore[no-untyped-def]
    ms = next(m for m in p.milestones if m.id == "M5")
    return build_view("acceptance", p, stamp("zh-CN"), milestone=ms)


def _rows(html: str) -> list[str]:
    tables = re.findall(r'<table class="checks criteria-results">(.*?)</table>', html, re.DOTALL)
    return [row for t in tables for row in re.findall(r"<tr>(.*?)</tr>", t.split("</thead>", 1)[1], re.DOTALL)]


def test_each_criterion_prints_the_result_that_counts() -> None:
    view = _final(closed(load_sample("zh")))
    d3 = next(d for d in view["deliverables"] if d["id"] == "D3")
    ac2 = next(c for c in d3["criteria"] if c["id"] == "D3-AC2")
    r = ac2["result"]
    # the failed first measurement is history: the re-test after tuning counts
    assert (r["result"], r["measured"], r["unit"], r["history"]) == ("pass", "1.8", "秒", 2)
    assert (r["verifier"], r["date"], r["evidence"], r["method"]) == (
        "刘洋",
        "2027-02-26",
        "性能测试报告 PT-2027-003",
        "test",
    )
    assert view["criteria_standing"] == {"total": 14, "passed": 13, "failed": 0, "conditional": 1, "unverified": 0}
    html = render_html(view)
    rows = _rows(html)
    assert len(rows) == 14  # one row per criterion of the milestone's five deliverables
    assert "1.8 秒" in html and "性能测试报告 PT-2027-003" in html and "PT-2027-001" not in html
    assert "全部 14 项验收指标均已验证：13 项合格，1 项有条件合格。" in html
    # the conditional criterion's conditions are an open item, so the conclusion carries conditions
    assert any(i["source"] == "criterion_condition" and "补考" in i["text"] for i in view["open_items"])
    assert view["conclusion"] == "accepted_with_conditions"


def test_unverified_and_failed_criteria_decide_the_conclusion() -> None:
    p = closed(load_sample("en"))
    p = dataclasses.replace(p, criterion_results=tuple(r for r in p.criterion_results if r.deliverable != "D4"))
    ms = next(m for m in p.milestones if m.id == "M6")
    view = build_view("acceptance", p, stamp("en"), milestone=ms)
    d4 = next(d for d in view["deliverables"] if d["id"] == "D4")
    assert [c["result"] for c in d4["criteria"]] == [None, None]
    assert view["conclusion"] == "pending" and view["criteria_standing"]["unverified"] == 2
    html = render_html(view)
    assert html.count("Not yet verified") == 2
    assert "2 of the 14 acceptance criteria are not yet verified (section 5)" in html
    # a failed latest result: not accepted, and the failure is an open item
    fail = CriterionResult(
        id="D3-AC3-V2",
        deliverable="D3",
        criterion="D3-AC3",
        result="fail",
        measured="1",
        unit="high finding",
        evidence="PT-2027-05",
        verifier="kiran_shah",
        date=date(2027, 3, 18),
    )
    p = dataclasses.replace(p, criterion_results=(*p.criterion_results, fail))
    view = build_view("acceptance", p, stamp("en"), milestone=ms)
    assert view["conclusion"] == "not_accepted"
    assert any(i["source"] == "criterion_failed" and i["about"] == "D3-AC3" for i in view["open_items"])
    assert "1 of the 14 acceptance criteria failed" in render_html(view)


def test_quality_checks_move_to_the_annex() -> None:
    for which in ("zh", "en"):
        p = closed(load_sample(which))
        for kind in ("acceptance", "final_acceptance"):
            kw = {"milestone": p.milestones[-1]} if kind == "acceptance" else {}
            view = build_view(kind, p, stamp("zh-CN" if which == "zh" else "en"), **kw)
            html = render_html(view)
            signing = html.index('<div class="signing">')
            annex = html.index('<section class="annex">')
            assert signing < annex
            evidence = next(c["evidence"] for d in view["deliverables"] for c in d["checks"])
            # the checks' evidence appears in the annex only, after the signatures
            assert evidence in html[annex:] and evidence not in html[:signing]

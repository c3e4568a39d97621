"""What a client would send back (issue 13, findings 5–11), each pinned by a check that fails if it returns.

Amounts in words (大写 and English), blank signature dates and the client's comment, one set of cost
figures in the final report, payments on the documents, no machine-looking content (paths, raw ids,
database counters), Chinese typography, no contradictions, an embedded record that holds only what
the page shows, one attachment entry and small files in both languages.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import subprocess
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from lifecycle.documents.locale import Formatter, amount_in_words_en, amount_in_words_zh, tidy_zh
from lifecycle.documents.registry import build_view, number_prefix
from lifecycle.documents.render import render_html
from lifecycle.documents.views import Stamp, collect_waivers, file_name
from lifecycle.domain.model import QualityCheck
from tests.documents.conftest import needs_tools
from tests.documents.samples import closed, default_titles, gate_review, in_execution, load_sample, stress

KINDS = ("acceptance", "final_acceptance", "handover", "gate_review", "status")
LANG = {"zh": "zh-CN", "en": "en"}
NOW = datetime(2027, 3, 29, 9, 0, tzinfo=timezone.utc)


def stamp(lang: str, today: date = date(2027, 3, 29)) -> Stamp:
    return Stamp("X-1", 1, lang, NOW, today, "tester", titles=default_titles())


def pdf_text(path: str | Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def squashed(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --------------------------------------------------------------------------- amounts in words
@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("1014000", "壹佰零壹万肆仟元整"),
        ("1352000", "壹佰叁拾伍万贰仟元整"),
        ("3380000", "叁佰叁拾捌万元整"),
        ("0", "零元整"),
        ("1", "壹元整"),
        ("10", "壹拾元整"),
        ("105", "壹佰零伍元整"),
        ("1010", "壹仟零壹拾元整"),
        ("1001", "壹仟零壹元整"),
        ("10000", "壹万元整"),
        ("10001", "壹万零壹元整"),
        ("10100", "壹万零壹佰元整"),
        ("110000", "壹拾壹万元整"),
        ("1000000", "壹佰万元整"),
        ("100000000", "壹亿元整"),
        ("100010000", "壹亿零壹万元整"),
        ("100000001", "壹亿零壹元整"),
        ("120034005", "壹亿贰仟零叁万肆仟零伍元整"),
        ("1000000000000", "壹万亿元整"),
        ("0.5", "伍角整"),
        ("0.05", "伍分"),
        ("0.55", "伍角伍分"),
        ("1.5", "壹元伍角整"),
        ("20000.07", "贰万元零柒分"),
        ("100010000.5", "壹亿零壹万元伍角整"),
        ("1234.56", "壹仟贰佰叁拾肆元伍角陆分"),
        ("0.005", "壹分"),  # rounded half up to the fen
        ("2.999", "叁元整"),
        ("-3.2", "负叁元贰角整"),
    ],
)
def test_amount_in_words_zh(amount: str, words: str) -> None:
    assert amount_in_words_zh(Decimal(amount)) == words


@pytest.mark.parametrize(
    ("amount", "currency", "words"),
    [
        ("102500", "GBP", "One hundred and two thousand five hundred pounds only"),
        ("205000", "GBP", "Two hundred and five thousand pounds only"),
        ("1", "GBP", "One pound only"),
        ("1.01", "GBP", "One pound and one penny"),
        ("0.5", "GBP", "Fifty pence"),
        ("1005", "USD", "One thousand and five dollars only"),
        ("1014000", "CNY", "One million fourteen thousand yuan only"),
        ("21.99", "EUR", "Twenty-one euros and ninety-nine cents"),
        ("0", "GBP", "Zero pounds only"),
        ("7", "XYZ", "Seven XYZ only"),
    ],
)
def test_amount_in_words_en(amount: str, currency: str, words: str) -> None:
    assert amount_in_words_en(Decimal(amount), currency) == words


def test_amounts_in_words_refuse_what_they_cannot_write() -> None:
    with pytest.raises(ValueError):
        amount_in_words_zh(Decimal("1e16"))
    with pytest.raises(ValueError):
        amount_in_words_en("not a number", "GBP")


# --------------------------------------------------------------------------- signatures
def test_client_signature_date_blank_until_signed_and_comment_printed() -> None:
    p = closed(load_sample("zh"))
    signoff = next(s for s in p.signoffs if s.scope == "project")
    later = build_view("final_acceptance", p, stamp("zh-CN", date(2027, 4, 3)))["signatures"]["client"]
    assert later["date"] is None, "a sign-off recorded before the document cannot date its signature"
    assert later["comment"] == "同意终验" and later["comment_date"] == signoff.date.isoformat()
    same_day = build_view("final_acceptance", p, stamp("zh-CN", signoff.date))["signatures"]["client"]
    assert same_day["date"] == signoff.date.isoformat()
    html = render_html(build_view("final_acceptance", p, stamp("zh-CN", date(2027, 4, 3))))
    assert "客户签收意见：同意终验" in html
    assert build_view("final_acceptance", p, stamp("zh-CN"))["signatures"]["supplier"]["date"] is None


# --------------------------------------------------------------------------- one set of figures
FIGURE_LABELS = ("stat.approved", "stat.actual_cost", "stat.variance", "stat.spent_pct")


@pytest.fixture(scope="module")
def internal_final(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``internal_final(which)``: the PMO's variant of the final report, (record, pdftotext text), made once."""
    from lifecycle.documents.render import render_pdf
    from tests.documents.conftest import SCENARIOS, project_for

    cache: dict[str, tuple[dict[str, Any], str]] = {}
    folder = tmp_path_factory.mktemp("internal")

    def get(which: str) -> tuple[dict[str, Any], str]:
        if which not in cache:
            state, today = SCENARIOS["final_acceptance"]
            view = build_view(
                "final_acceptance", project_for(which, state, today), stamp(LANG[which], today), audience="internal"
            )
            (folder / f"{which}.pdf").write_bytes(render_pdf(view).pdf)
            cache[which] = view, pdf_text(folder / f"{which}.pdf")
        return cache[which]

    return get


def _section(whole: str, fmt: Formatter, heading: str) -> str:
    """The squashed text of a section of the final report, from its heading to the next one."""
    start = whole.index(squashed(fmt.t(heading)))
    return whole[start : whole.index(squashed(fmt.t("sec.problems")), start)]


@needs_tools
@pytest.mark.parametrize("which", ["zh", "en"])
def test_final_report_prints_each_figure_once_with_one_value(issued: Any, internal_final: Any, which: str) -> None:
    fmt = Formatter(LANG[which])
    # the PMO's variant: each cost figure once, and where two tables print the same figure, one value
    view, text = internal_final(which)
    whole = squashed(text)
    section = _section(whole, fmt, "sec.cost")
    html = render_html(view)
    cur, cost = view["project"]["currency"], view["cost"]
    values = {
        "stat.approved": fmt.money(cost["approved"], cur),
        "stat.actual_cost": fmt.money(cost["actual"], cur),
        "stat.variance": fmt.money(cost["variance"], cur),
        "stat.spent_pct": fmt.percent(cost["spent_pct"], 1),
    }
    for key in FIGURE_LABELS:  # one figure box each, showing the view's value
        shown = re.findall(rf'<div class="label">{re.escape(fmt.t(key))}</div><div class="value">([^<]*)</div>', html)
        assert shown == [values[key]], (key, shown)
    assert section.count(values["stat.approved"]) == 1 and section.count(values["stat.variance"]) == 1
    # the actual cost: the figure box, AC of the earned value table and the budget tables' totals agree
    evm = view["evm"]
    assert fmt.money(evm["ac"], cur) == values["stat.actual_cost"] == fmt.money(cost["actual"], cur)
    assert fmt.money(evm["bac"], cur) == fmt.money(cost["budget_total"], cur)  # one planned budget
    total_row = re.search(
        r'<tr class="total"><td>' + re.escape(fmt.t("common.budget_lines_total")) + r"</td>(.*?)</tr>", html
    )
    assert total_row and re.findall(r'<td class="num">([^<]*)</td>', total_row.group(1))[:2] == [
        fmt.money(cost["budget_total"], cur),
        values["stat.actual_cost"],
    ]
    # the lines reconcile the two budgets: lines + unallocated = approved; booked costs = actual
    lines = cost["lines"]
    plans = sum(Decimal(r["plan"]) for r in lines if r["plan"]) + Decimal(cost["unallocated"] or 0)
    assert plans == Decimal(cost["approved"])
    assert sum(Decimal(r["actual"]) for r in lines) == Decimal(cost["actual"])
    # the client's variant holds no cost figure at all, so none can disagree
    record = issued(which, "final_acceptance").doc.record
    assert record["cost"] == {} and "evm" not in record


@needs_tools
@pytest.mark.parametrize("which", ["zh", "en"])
def test_internal_variant_has_the_breakdown_the_client_variant_does_not(
    issued: Any, internal_final: Any, which: str
) -> None:
    """Finding 7: the PMO sees cost lines, contingency, budget against actual per line and EAC; the
    client sees the contract value and the payment milestones, and none of the internal figures."""
    fmt = Formatter(LANG[which])
    view, text = internal_final(which)
    internal = squashed(text)
    item = issued(which, "final_acceptance")
    client = squashed(pdf_text(item.path))
    for objective in item.doc.record["objectives"]:  # the charter's own words may name the budget
        client = client.replace(squashed(objective), "")
    cur, cost = view["project"]["currency"], view["cost"]
    contingency = next(r for r in cost["lines"] if r["category"] == "contingency")
    internal_only = [
        fmt.t("sec.cost"),
        fmt.t("sub.budget_lines"),
        fmt.t("category.contingency"),
        fmt.t("evm.eac"),
        fmt.t("stat.approved"),
        fmt.t("stat.actual_cost"),
        fmt.money(cost["approved"], cur),
        fmt.money(cost["actual"], cur),
        fmt.money(cost["variance"], cur),
        fmt.money(view["evm"]["eac"], cur),
        fmt.money(contingency["plan"], cur),
    ]
    for words in internal_only:
        assert squashed(words) in internal, words
        assert squashed(words) not in client, words
    # budget against actual, line by line (a line's description may also name a task or a phase)
    for r in cost["lines"]:
        if r["category"]:
            row = squashed(f"{fmt.money(r['plan'], cur)}{fmt.money(r['actual'], cur)}{fmt.money(r['difference'], cur)}")
            assert row in internal and row not in client, r
            assert squashed(r["description"]) in internal
    # both show the client's figures: contract value and each payment milestone
    payments = view["payments"]
    contract = fmt.money(payments["contract_value"], cur)
    for doc in (internal, client):
        assert (
            squashed(
                fmt.t("label.contract_value", amount=contract, words=fmt.amount_words(payments["contract_value"], cur))
            )
            in doc
        )
        for r in payments["rows"]:
            assert squashed(r["name"]) in doc and fmt.money(r["payment_amount"], cur) in doc
    assert squashed(fmt.t("sec.payments")) in client


def test_internal_variant_keeps_the_breakdown_and_shares_add_up() -> None:
    p = closed(load_sample("zh"))
    view = build_view("final_acceptance", p, stamp("zh-CN"), audience="internal")
    cost = view["cost"]
    assert view["audience"] == "internal" and "evm" in view
    assert any(r["category"] == "contingency" for r in cost["by_category"])
    assert all(re.fullmatch(r"-?\d+\.\d{2}", r["plan"]) for r in cost["by_category"])
    with pytest.raises(Exception, match="audience"):
        build_view("final_acceptance", p, stamp("zh-CN"), audience="everyone")


def test_internal_lines_show_costs_booked_to_no_line_and_the_unallocated_budget() -> None:
    from lifecycle.domain.model import CostEntry

    p = closed(load_sample("en"))
    stray = CostEntry(id="C-STRAY", date=date(2027, 3, 1), amount=Decimal("1234.50"), category="travel")
    p = dataclasses.replace(p, costs=(*p.costs, stray))
    view = build_view("final_acceptance", p, stamp("en"), audience="internal")
    cost, fmt = view["cost"], Formatter("en")
    assert cost["lines"][-1] == {
        "description": "",
        "category": None,
        "plan": None,
        "actual": "1234.50",
        "difference": None,
    }
    assert sum(Decimal(r["actual"]) for r in cost["lines"]) == Decimal(cost["actual"])
    html = render_html(view)
    assert f"<td>{fmt.t('common.unassigned_costs')}</td>" in html
    assert (Decimal(cost["unallocated"] or 0) + Decimal(cost["budget_total"])) == Decimal(cost["approved"])
    assert (f"<td>{fmt.t('common.unallocated_budget')}</td>" in html) == (cost["unallocated"] is not None)
    assert build_view("final_acceptance", p, stamp("en"))["cost"] == {}  # the client's view: none of it


# --------------------------------------------------------------------------- payments
@needs_tools
def test_payments_with_amounts_in_words(issued: Any) -> None:
    zh = squashed(pdf_text(issued("zh", "final_acceptance").path))
    assert "¥1,014,000.00壹佰零壹万肆仟元整" in zh and "¥1,352,000.00壹佰叁拾伍万贰仟元整" in zh
    # the three payments are the whole contract: 30 % + 40 % + 30 %, the total 100 % in words
    assert "30%¥1,014,000.00壹佰零壹万肆仟元整" in zh and "40%¥1,352,000.00" in zh
    assert "100%¥3,380,000.00叁佰叁拾捌万元整" in zh
    assert "合同总价：¥3,380,000.00（大写：叁佰叁拾捌万元整）。" in zh
    en = squashed(pdf_text(issued("en", "final_acceptance").path))
    assert squashed("25% £102,500.00 One hundred and two thousand five hundred pounds only") in en
    assert squashed("Contract value: £410,000.00 (Four hundred and ten thousand pounds only).") in en


def test_a_payment_linked_certificate_states_the_payment() -> None:
    p = closed(load_sample("zh"))
    ms = next(m for m in p.milestones if m.kind == "acceptance")
    linked = dataclasses.replace(ms, payment_amount=Decimal("676000"))
    p = dataclasses.replace(p, milestones=tuple(linked if m.id == ms.id else m for m in p.milestones))
    html = render_html(build_view("acceptance", p, stamp("zh-CN"), milestone=linked))
    assert "本里程碑对应付款：¥676,000.00，占合同总价 ¥3,380,000.00 的 20%（大写：陆拾柒万陆仟元整）。" in html
    # without a contract value the amount is stated alone
    bare = dataclasses.replace(p, charter=dataclasses.replace(p.charter, contract_value=Decimal(0)))
    html = render_html(build_view("acceptance", bare, stamp("zh-CN"), milestone=linked))
    assert "本里程碑对应付款：¥676,000.00（大写：陆拾柒万陆仟元整）" in html and "合同总价" not in html


def test_payment_shares_of_the_contract_value() -> None:
    p = closed(load_sample("en"))
    pay = build_view("final_acceptance", p, stamp("en"))["payments"]
    assert [r["percent"] for r in pay["rows"]] == [25.0, 50.0, 25.0]
    assert (pay["total"], pay["total_percent"], pay["contract_value"]) == ("410000.00", 100.0, "410000.00")
    odd = dataclasses.replace(p, charter=dataclasses.replace(p.charter, contract_value=Decimal("300000")))
    assert build_view("final_acceptance", odd, stamp("en"))["payments"]["rows"][0]["percent"] == 34.17


# --------------------------------------------------------------------------- no machine-looking content
@needs_tools
@pytest.mark.parametrize("which", ["zh", "en"])
@pytest.mark.parametrize("kind", KINDS)
def test_no_database_counters_or_raw_ids(issued: Any, which: str, kind: str) -> None:
    item = issued(which, kind)
    text = pdf_text(item.path)
    fmt = Formatter(LANG[which])
    p = item.doc.record["project"]
    assert "数据版本" not in text and "data version" not in text
    assert squashed(fmt.t("foot.revision", v=1)) in squashed(text)
    conf = fmt.t("foot.confidential", client=p["client"]["name"], supplier=p["supplier"]["name"])
    assert squashed(conf) in squashed(text)
    for raw in ("QC-01", "W-1 ", "start_execution", "risks.reviewed", "plan.tasks_owned", "AR-01", "IA-01"):
        assert raw not in text, raw
    assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", text), "an ISO date in prose"


def test_rule_pack_names_in_the_documents_language() -> None:
    p = closed(load_sample("zh"))
    d = p.deliverables[0]
    check = QualityCheck(id="QC-D1-QS-CHECKSUM", deliverable=d.id, standard="QS-CHECKSUM", automated=True)
    p = dataclasses.replace(p, quality_checks=(*p.quality_checks, check))
    for lang, title in (
        ("zh-CN", "交付文件与登记的校验值一致"),
        ("en", "Delivered files match their recorded checksum"),
    ):
        view = build_view("final_acceptance", p, stamp(lang))
        checks = next(x for x in view["deliverables"] if x["id"] == d.id)["checks"]
        standard = next(c for c in checks if c["id"] == check.id)["standard"]
        assert standard["name"] == title
        assert standard["reference"] == (
            "ISO 9001:2015 7.5.3"
            if lang == "zh-CN"
            else "ISO 9001:2015 7.5.3: control of documented information (integrity)"
        )
        assert "QC-D1-QS-CHECKSUM" not in render_html(view)
    review = gate_review(p)
    view = build_view("gate_review", p, stamp("zh-CN"), review=review)
    assert view["phase_titles"] == {"closure": "收尾", "planning": "计划", "execution": "执行"}
    html = render_html(view)
    assert "计划 → 执行" in html and "start_execution" not in html
    assert Formatter("en", phases={"uat": "User acceptance"}).phase("uat") == "User acceptance"


def test_waivers_print_the_rules_title_and_expired_ones_are_open_items() -> None:
    p = closed(load_sample("zh"))
    review = gate_review(p)
    waivers = collect_waivers([review], [], date(2027, 3, 29))
    view = build_view("final_acceptance", p, stamp("zh-CN"), waivers=waivers)
    assert view["waivers"][0]["title"]["zh"] == "开放风险均已按期复核"
    expired = [i for i in view["open_items"] if i["source"] == "waiver"]
    assert [i["ref"] for i in expired] == ["W-1"] and expired[0]["expired_on"] == "2026-08-05"
    assert view["conclusion"] != "accepted"
    html = render_html(view)
    assert "开放风险均已按期复核" in html and "豁免已于2026年8月5日到期" in html
    assert "无遗留问题" not in html


def test_server_paths_become_file_names() -> None:
    assert file_name("/srv/pmo/projects/X/D1.pdf") == "D1.pdf"
    assert file_name("C:\\data\\out\\D1.pdf") == "D1.pdf"
    assert file_name("D1.pdf") == "D1.pdf" and file_name("") == ""
    assert file_name("drop/D1.pdf") == "drop/D1.pdf"  # relative to the documents root: printed as it is
    assert file_name("../../etc/D1.pdf") == "D1.pdf" and file_name("~/D1.pdf") == "D1.pdf"
    view = build_view("handover", stress(load_sample("en")), stamp("en"))
    blob = json.dumps(view)
    assert "/srv/" not in blob
    html = render_html(view)
    assert "/srv/" not in html


def test_long_milestone_ids_keep_document_numbers_short() -> None:
    long_id = "MS-" + "X7Q2" * 25
    prefix = number_prefix("P", "acceptance", long_id)
    assert len(prefix) <= len("P-ACC-") + 24 and prefix != number_prefix("P", "acceptance", long_id[:-1] + "Z")
    assert number_prefix("P", "acceptance", "M2") == "P-ACC-M2"


# --------------------------------------------------------------------------- Chinese finish
def test_chinese_punctuation_is_tidied() -> None:
    assert tidy_zh("完成， 通过。 下一步 (一期)") == "完成，通过。下一步（一期）"
    assert tidy_zh("OPC UA (Modbus)") == "OPC UA (Modbus)"
    p = closed(load_sample("zh"))
    p = dataclasses.replace(p, charter=dataclasses.replace(p.charter, acceptance_method="分阶段验收， 终验 (现场)。"))
    html = render_html(build_view("final_acceptance", p, stamp("zh-CN")))
    text = re.sub(r"<[^>]+>", "\n", html[html.index("<body") :])
    assert "分阶段验收，终验（现场）。" in text
    assert not re.search(r"[，。；：、！？）][ \u3000]", text)
    assert not re.search(r"\([^()\n]*[\u4e00-\u9fff][^()\n]*\)", text)


# --------------------------------------------------------------------------- no contradictions
def test_training_accepted_as_a_deliverable_is_not_denied() -> None:
    p = dataclasses.replace(closed(load_sample("zh")), training=())
    view = build_view("handover", p, stamp("zh-CN"))
    assert [d["name"] for d in view["training_deliverables"]] == ["培训材料与用户操作手册"]
    assert "培训已作为交付物验收：培训材料与用户操作手册。" in render_html(view)


def test_no_critical_tasks_is_not_paired_with_a_float() -> None:
    p = in_execution(load_sample("en"), date(2026, 11, 16))
    view = build_view("status", p, stamp("en", date(2026, 11, 16)))
    view["schedule"]["critical_task_count"] = 0
    html = render_html(view)
    assert "All critical tasks are complete" in html and "Least total float" not in html


# --------------------------------------------------------------------------- the embedded record
_CONTACT_KEYS = {"phone", "email", "address"}


def _contact_keys(value: Any, path: str = "") -> list[str]:
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            where = f"{path}.{k}"
            if k in _CONTACT_KEYS and not where.startswith(".support.contacts"):
                found.append(where)
            found += _contact_keys(v, where)
    elif isinstance(value, list):
        for v in value:
            found += _contact_keys(v, path)
    return found


@needs_tools
@pytest.mark.parametrize("which", ["zh", "en"])
@pytest.mark.parametrize("kind", KINDS)
def test_embedded_record_holds_what_the_page_shows_once(issued: Any, which: str, kind: str) -> None:
    item = issued(which, kind)
    assert not _contact_keys(item.doc.record), _contact_keys(item.doc.record)
    reader = PdfReader(io.BytesIO(item.path.read_bytes()))
    af = reader.trailer["/Root"]["/AF"]
    assert len(af) == 1, f"the catalog lists {len(af)} attachment entries"
    assert len(reader.attachments) == 1


@needs_tools
@pytest.mark.parametrize("which", ["zh", "en"])
def test_a_short_document_is_small(issued: Any, which: str) -> None:
    """Font subsets that are really subset: the gate review (the shortest kind) is ≤ 80 KiB in both
    languages (Chinese was ~340 KiB while the CJK programs kept every glyph slot; see test_font_subsets)."""
    size = issued(which, "gate_review").path.stat().st_size
    assert size <= 80 * 1024, f"{size / 1024:.0f} KiB"


def test_budget_chart_and_table_print_the_same_shares() -> None:
    """The chart's percentages are the view's figures, not recomputed (材料 42 % vs 43 % once)."""
    from lifecycle.documents import charts

    fmt = Formatter("zh-CN")
    rows = [{"category": "materials", "plan": "40000.00", "actual": "16980.00", "used_pct": 42.5}]
    svg = str(charts.budget_bars(rows, fmt=fmt, currency="CNY", total_pct=42.5))
    assert svg.count("(43%)") == 2 and "(42%)" not in svg
    p = in_execution(load_sample("zh"), date(2026, 11, 16))
    view = build_view("status", p, stamp("zh-CN", date(2026, 11, 16)), audience="internal")
    html = render_html(view)
    for r in view["budget"]["by_category"]:
        if r["used_pct"] is not None:
            share = fmt.percent(r["used_pct"], 0)
            assert f"({share})" in html and f">{share}</td>" in html, r["category"]

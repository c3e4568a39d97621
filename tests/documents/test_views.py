"""View models: numbering, conclusions, the milestone chosen, status reports, plain JSON records."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timedelta, timezone

import pytest

from lifecycle.documents.registry import build_view, next_number, number_prefix
from lifecycle.documents.views import Stamp, choose_milestone, collect_waivers
from lifecycle.domain.model import AcceptanceRecord, DocumentRecord
from lifecycle.errors import InvalidInput, NotFound
from tests.documents.samples import closed, default_titles, gate_review, in_execution, load_sample

NOW = datetime(2027, 3, 29, 9, tzinfo=timezone.utc)


def stamp(lang: str = "en", today: date = date(2027, 3, 29)) -> Stamp:
    return Stamp("X-1", 1, lang, NOW, today, "tester", titles=default_titles())


def doc(number: str, kind: str) -> DocumentRecord:
    return DocumentRecord(id=number, project="P", kind=kind, number=number, path="", sha256="", created_at=NOW)


def test_numbers_are_per_kind_and_milestone_and_count_up():
    assert number_prefix("P", "final_acceptance") == "P-FAR"
    assert number_prefix("P", "acceptance", "M/2") == "P-ACC-M_2"
    existing = [
        doc("P-ACC-M2-1", "acceptance"),
        doc("P-ACC-M2-2", "acceptance"),
        doc("P-ACC-M5-1", "acceptance"),
        doc("P-STR-1", "status"),
    ]
    assert next_number("P", "acceptance", existing, "M2") == ("P-ACC-M2-3", 3)
    assert next_number("P", "acceptance", existing, "M5") == ("P-ACC-M5-2", 2)
    assert next_number("P", "status", existing) == ("P-STR-2", 2)
    assert next_number("P", "handover", existing) == ("P-HOV-1", 1)
    assert next_number("P", "gate_review", existing) == ("P-GRR-1", 1)
    with pytest.raises(InvalidInput):
        number_prefix("P", "invoice")
    with pytest.raises(InvalidInput):
        number_prefix("P", "acceptance")


def test_record_is_plain_json_and_has_the_project_basics():
    p = closed(load_sample("zh"))
    ms = choose_milestone(p, date(2026, 7, 25), "M2")
    view = build_view("acceptance", p, stamp("zh-CN"), milestone=ms)
    assert json.loads(json.dumps(view)) == view
    assert view["project"]["code"] == "SZ-MES-2026" and view["project"]["contract_number"] == "HR-YH-2026-0518"
    assert view["project"]["client"]["name"] == "苏州恒锐精密机械有限公司"
    assert [d["id"] for d in view["deliverables"]] == ["D1", "D2"]
    assert view["milestone"]["id"] == "M2" and view["issued_at"] == NOW.isoformat()
    assert {c["deliverable"] for c in view["criteria"]} == {"D1", "D2"}
    assert view["conclusion"] == "accepted"
    assert view["signatures"]["client"]["name"] == "沈雅琴"


def test_conclusion_follows_the_verdicts():
    p = closed(load_sample("en"))
    final = build_view("final_acceptance", p, stamp())
    assert final["conclusion"] == "accepted_with_conditions"  # one deliverable has conditions, items are open
    rejected = dataclasses.replace(
        p,
        acceptance_records=(
            *p.acceptance_records,
            AcceptanceRecord(id="AR-99", deliverable="D1", date=date(2027, 3, 28), verdict="rejected"),
        ),
    )
    assert build_view("final_acceptance", rejected, stamp())["conclusion"] == "not_accepted"
    pending = dataclasses.replace(load_sample("en"), acceptance_records=())
    ms = choose_milestone(pending, date(2026, 10, 20))
    assert build_view("acceptance", pending, stamp(), milestone=ms)["conclusion"] == "pending"


def test_default_milestone_is_the_latest_acceptance_milestone_reached():
    p = load_sample("en")
    assert choose_milestone(p, date(2026, 9, 1)).id == "M1"  # none reached yet: the next one
    assert choose_milestone(p, date(2026, 11, 1)).id == "M1"
    assert choose_milestone(p, date(2027, 3, 25)).id == "M6"
    with pytest.raises(NotFound, match="no milestone 'M99'"):
        choose_milestone(p, date(2027, 3, 25), "M99")


def test_status_report_uses_a_current_report_else_derives_the_ratings():
    base = load_sample("zh")
    current = build_view("status", in_execution(base, date(2026, 11, 16)), stamp("zh-CN", date(2026, 11, 16)))
    assert current["report"]["recorded"] is True and current["report"]["overall"] == "amber"
    stale = build_view("status", base, stamp("zh-CN", date(2026, 11, 16)))  # only the May report exists
    assert stale["report"]["recorded"] is False
    assert stale["report"]["period_end"] == "2026-11-16"
    assert stale["report"]["overall"] in ("green", "amber", "red")
    assert len(current["risks"]) <= 5 and current["risks"] == sorted(current["risks"], key=lambda r: -r["score"])


def test_waivers_are_collected_once_and_marked_active_or_expired():
    p = load_sample("en")
    gr = gate_review(p)
    first = dict(gr["waivers"][0])
    waivers = collect_waivers([gr, gr], [first], date(2026, 7, 25))
    assert [w["id"] for w in waivers] == ["W-1"] and waivers[0]["active"]
    assert not collect_waivers([gr], [], date(2026, 12, 1))[0]["active"]
    view = build_view("handover", closed(p), stamp(), waivers=waivers)
    assert view["waivers"][0]["granted_by_name"] == "Richard Ashworth"


def test_gate_review_view_embeds_the_review_and_resolves_names():
    p = load_sample("zh")
    gr = gate_review(p)
    view = build_view("gate_review", p, stamp("zh-CN"), review=gr)
    assert view["review"] == gr
    assert view["counts"] == {"pass": 2, "waived": 1, "fail": 1, "not_applicable": 1}
    assert view["names"]["lu_jianguo"] == "陆建国" and view["names"]["wang_lei"] == "王磊"
    with pytest.raises(NotFound):
        build_view("gate_review", p, stamp())


def test_handover_lists_items_training_support_and_open_items():
    p = closed(load_sample("en"))
    view = build_view("handover", p, stamp())
    assert len(view["items"]) == len(p.handover_items)
    assert all(len(i["sha256"]) == 64 for i in view["items"] if i["file"])
    assert view["support"]["warranty_until"] == "2028-03-31"
    assert {c["name"] for c in view["support"]["contacts"]} == {"Emma Clarke", "Ben Carter"}
    sources = {i["source"] for i in view["open_items"]}
    assert {"improvement", "condition", "issue", "handover"} <= sources
    assert view["lessons"] and view["training"][0]["trainees"]


def test_final_acceptance_has_schedule_and_cost_outcome():
    p = closed(load_sample("zh"))
    view = build_view("final_acceptance", p, stamp("zh-CN"), audience="internal")
    sch, cost = view["schedule"], view["cost"]
    assert sch["tasks_done"] == sch["tasks_total"] and sch["actual_finish"]
    assert sch["milestones"][2]["variance_days"] == 3
    assert cost["approved"] == "2680000.00" and float(cost["actual"]) > 0
    assert sum(float(r["plan"]) for r in cost["by_category"]) == pytest.approx(float(cost["budget_total"]))
    assert (date.fromisoformat(sch["actual_finish"]) - date.fromisoformat(sch["planned_finish"])) <= timedelta(0)

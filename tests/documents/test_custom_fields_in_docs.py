"""Documents print the project's custom fields the rule pack declares (issue 14: "documents can print
them"): the labels in the document's language, the values as the client reads them, and nothing for a
value the pack does not declare or that is not a plain value."""

from __future__ import annotations

import subprocess
from datetime import date, datetime, timezone

import pytest

from lifecycle.documents.registry import build_view
from lifecycle.documents.render import render_pdf
from lifecycle.documents.views import PackTitles, Stamp
from lifecycle.domain.model import replace
from tests.documents.conftest import needs_tools
from tests.documents.samples import gate_review, load_sample

FIELDS = {
    "strategic_fit": {"zh": "符合战略（否决项）", "en": "Fits the strategy (knock-out)"},
    "npv": {"zh": "净现值", "en": "Net present value"},
    "benefits_owner": {"zh": "收益负责人", "en": "Benefits owner"},
    "scorecard": {"zh": "关口评分卡", "en": "Gate scorecard"},
}
VALUES = {
    "strategic_fit": True,
    "npv": 1250000.5,
    "benefits_owner": "Dr <b>Helen</b> Marsh",
    "scorecard": [{"criterion": "fit", "weight": 1, "score": 4}],  # not a plain value: not printed
    "undeclared": "not in the pack",
}


def _record(which: str, kind: str) -> dict:  # type: ignore[type-arg]
    p = load_sample(which)
    p = replace(p, charter=replace(p.charter, custom=dict(VALUES)))
    stamp = Stamp(
        number=f"{p.code}-X-1",
        sequence=1,
        lang="zh-CN" if which == "zh" else "en",
        issued_at=datetime(2026, 7, 22, 9, tzinfo=timezone.utc),
        today=date(2026, 7, 22),
        actor="test",
        titles=PackTitles(project_fields=FIELDS),
    )
    review = gate_review(p) if kind == "gate_review" else None
    return build_view(kind, p, stamp, review=review)


def test_the_view_holds_declared_plain_values_in_pack_order() -> None:
    rows = _record("en", "status")["project"]["custom"]
    assert [r["label"] for r in rows] == ["Fits the strategy (knock-out)", "Net present value", "Benefits owner"]
    assert [r["value"] for r in rows] == [True, 1250000.5, "Dr <b>Helen</b> Marsh"]
    zh = _record("zh", "status")["project"]["custom"]
    assert zh[0]["label"] == "符合战略（否决项）"


def test_no_declared_fields_leave_the_record_as_it_was() -> None:
    p = load_sample("en")
    stamp = Stamp("N-1", 1, "en", datetime(2026, 7, 22, tzinfo=timezone.utc), date(2026, 7, 22), "test")
    assert "custom" not in build_view("status", p, stamp)["project"]


@needs_tools
@pytest.mark.parametrize(("which", "kind"), [("en", "gate_review"), ("zh", "status")])
def test_the_pdf_prints_them_as_text(which: str, kind: str) -> None:
    pdf = render_pdf(_record(which, kind)).pdf
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    flat = " ".join(text.split())
    if which == "en":
        assert "Fits the strategy (knock-out) Yes" in flat and "1,250,000.50" in flat
        assert "Dr <b>Helen</b> Marsh" in flat  # markup in a value prints as text
    else:
        tight = flat.replace(" ", "")  # a label may wrap in its cell
        assert "符合战略（否决项）是" in tight and "净现值1,250,000.50" in tight and "收益负责人" in tight
    assert "Gate scorecard" not in flat and "关口评分卡" not in flat and "not in the pack" not in flat

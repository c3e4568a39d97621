"""Every document in both languages, read back the way a client's tools would read it.

pdftotext finds the labels and values, pdffonts shows embedded (Chinese: Noto Sans CJK SC) fonts,
qpdf finds no structural error, the attached JSON equals the registered record, the file carries the
PDF/A-3b markers, and the same record renders to the same bytes.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from lifecycle.documents.render import record_json, render_pdf
from tests.documents.conftest import needs_tools

pytestmark = needs_tools

KINDS = ("acceptance", "final_acceptance", "handover", "gate_review", "status")

EXPECTED = {
    ("zh", "acceptance"): [
        "项目验收单",
        "项目基本情况",
        "验收方式与方法",
        "验收人员组成",
        "验收主要指标和标准",
        "验收内容及结果",
        "存在问题和改进意见",
        "验收结论",
        "签字确认",
        "盖章",
        "苏州恒锐精密机械有限公司",
        "方案设计确认（初验）",
        "需求规格说明书",
        "2026年7月25日",
        "沈雅琴",
        "通过验收",
    ],
    ("en", "acceptance"): [
        "Acceptance Certificate",
        "Project basics",
        "Acceptance method",
        "Acceptance team",
        "Indicators and standards",
        "Content and results",
        "Problems and improvement advice",
        "Conclusion",
        "Signatures",
        "Company seal",
        "Northbridge Health Partners Ltd",
        "Design sign-off",
        "25 July 2026",
        "Priya Nair",
        "Accepted",
    ],
    ("zh", "final_acceptance"): [
        "项目验收报告",
        "进度执行情况",
        "合同付款",
        "经验教训总结",
        "¥3,380,000.00",
        "有条件通过",
        "设备联网提前摸底",
        "2027年3月29日",
    ],
    ("en", "final_acceptance"): [
        "Final Acceptance Report",
        "Schedule outcome",
        "Contract payments",
        "Lessons learned",
        "£410,000.00",
        "Accepted with conditions",
        "Survey integrations early",
    ],
    ("zh", "handover"): [
        "项目交接清单",
        "交付文档与资产",
        "培训情况",
        "技术支持与质保",
        "遗留事项",
        "2028年3月31日",
        "SHA-256",
        "蒋悦",
        "接收方（甲方）",
        "移交方（乙方）",
    ],
    ("en", "handover"): [
        "Handover Package",
        "Documents and assets delivered",
        "Training given",
        "Support and warranty",
        "Open items",
        "31 March 2028",
        "SHA-256",
        "Emma Clarke",
        "Received by (client)",
    ],
    ("zh", "gate_review"): [
        "阶段关口评审报告",
        "评审结论",
        "有条件通过",
        "规则检查结果",
        "所有任务都有责任人",
        "审批情况",
        "豁免事项",
        "陆建国",
        "default 2026.1",
    ],
    ("en", "gate_review"): [
        "Gate Review Report",
        "Decision",
        "Conditional go",
        "Results of each rule",
        "Every task has an owner",
        "Approvals",
        "Waivers",
        "Richard Ashworth",
        "default 2026.1",
    ],
    ("zh", "status"): [
        "项目状态报告",
        "总体状态",
        "黄色（关注）",
        "进度与计划对比",
        "里程碑",
        "合同付款",
        "主要风险",
        "问题跟踪",
        "需客户决策事项",
        "今天",
        "¥3,380,000.00",
    ],
    ("en", "status"): [
        "Project Status Report",
        "Overall status",
        "Amber",
        "Progress against plan",
        "Milestones",
        "Contract payments",
        "Top risks",
        "Issues",
        "Decisions needed from the client",
        "Today",
        "£410,000.00",
    ],
}


def text_of(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("which", ["zh", "en"])
@pytest.mark.parametrize("kind", KINDS)
def test_labels_values_and_page_numbers_read_back(issued, which, kind):
    item = issued(which, kind)
    text = " ".join(text_of(item.path).split())
    for expected in EXPECTED[(which, kind)]:
        assert expected in text, f"{expected!r} not found in {item.path.name}"
    pages = int(
        next(
            line.split()[-1]
            for line in subprocess.run(
                ["pdfinfo", str(item.path)], capture_output=True, text=True, check=True
            ).stdout.splitlines()
            if line.startswith("Pages:")
        )
    )
    if which == "zh":  # pdftotext drops the spaces between Chinese and digits
        squeezed = text.replace(" ", "")
        assert "第1页/共" + f"{pages}页" in squeezed and f"第{pages}页/共{pages}页" in squeezed
    else:
        assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text
    assert item.doc.number in text and item.doc.number in item.path.name


@pytest.mark.parametrize("which", ["zh", "en"])
@pytest.mark.parametrize("kind", KINDS)
def test_fonts_embedded_and_qpdf_clean(issued, which, kind):
    item = issued(which, kind)
    fonts = subprocess.run(["pdffonts", str(item.path)], capture_output=True, text=True, check=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows, fonts
    for row in rows:
        emb = row.split()[-5]
        assert emb == "yes", f"font not embedded: {row}"
    if which == "zh":
        assert "Noto-Sans-CJK-SC" in fonts
    check = subprocess.run(["qpdf", "--check", str(item.path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No syntax or stream encoding errors" in check.stdout


@pytest.mark.parametrize("which", ["zh", "en"])
@pytest.mark.parametrize("kind", KINDS)
def test_embedded_json_equals_registered_record(issued, which, kind, tmp_path):
    item = issued(which, kind)
    listing = subprocess.run(["pdfdetach", "-list", str(item.path)], capture_output=True, text=True, check=True).stdout
    assert "1 embedded files" in listing and f"{item.doc.number}.json" in listing
    subprocess.run(["pdfdetach", "-save", "1", "-o", str(tmp_path / "r.json"), str(item.path)], check=True)
    detached = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert detached == item.doc.record
    registered = item.ctx.store.find_document(item.doc.sha256)
    assert registered is not None and registered.record == detached
    reader = PdfReader(str(item.path))
    (blob,) = reader.attachments[f"{item.doc.number}.json"]
    assert json.loads(blob) == detached
    assert detached["number"] == item.doc.number and detached["kind"] == kind


@pytest.mark.parametrize("which", ["zh", "en"])
def test_pdfa_markers(issued, which):
    item = issued(which, "acceptance")
    reader = PdfReader(str(item.path))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    root = reader.trailer["/Root"]
    intent = root["/OutputIntents"][0].get_object()
    assert intent["/S"] == "/GTS_PDFA1"
    assert "/AF" in root
    filespec = root["/AF"][0].get_object()
    assert filespec["/AFRelationship"] == "/Data"
    assert reader.metadata.creation_date.isoformat().startswith(item.doc.record["issued_at"][:19])
    assert root["/Lang"] == ("zh-CN" if which == "zh" else "en")


@pytest.mark.parametrize("which", ["zh", "en"])
def test_same_record_same_bytes(issued, which):
    record = issued(which, "final_acceptance").doc.record
    first = render_pdf(record).pdf
    second = render_pdf(json.loads(json.dumps(record))).pdf
    assert first == second
    unsigned = Path(issued(which, "final_acceptance").doc.path).read_bytes()
    assert first == unsigned  # issuing (unsigned) writes exactly the rendered bytes
    changed = dict(record, issued_at="2027-03-30T09:00:00+00:00")
    assert render_pdf(changed).pdf != first
    assert record_json(record) == record_json(json.loads(json.dumps(record)))


def test_pages_render_to_images(issued, tmp_path):
    """pdftoppm can rasterise every page (what a reviewer looks at)."""
    item = issued("zh", "handover")
    subprocess.run(["pdftoppm", "-png", "-r", "30", str(item.path), str(tmp_path / "p")], check=True)
    assert len(list(tmp_path.glob("p-*.png"))) >= 2


def test_record_only_in_attachment_no_other_files(issued):
    item = issued("en", "status")
    reader = PdfReader(io.BytesIO(item.path.read_bytes()))
    assert list(reader.attachments) == [f"{item.doc.number}.json"]

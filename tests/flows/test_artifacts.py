"""What the flows show in the Prefect UI, built by lifecycle.services.artifacts (no Prefect here):
run names and tags, markdown with project text escaped, the gate, quality, document and alert artifacts."""

from __future__ import annotations

import re
import shutil

import yaml

from lifecycle.domain.model import replace
from lifecycle.services import artifacts
from lifecycle.services.gate_review import review_gate
from tests.flows.conftest import GATES, open_ctx, sample_project, today_env

HOSTILE = "<img src=x onerror=alert(1)> [click](javascript:alert(1)) **bold** | pipe\n# heading"


def test_runs_are_named_and_tagged_by_project_and_subject():
    label = artifacts.run_label("milestone-reached", {"project": "HZ-MES-2026", "milestone": "M2"})
    assert label.name == "milestone-reached/HZ-MES-2026/M2"
    assert label.tags == ("pmo", "project:HZ-MES-2026", "milestone:M2")
    gate = artifacts.run_label("gate-review", {"project": "P1", "to_phase": "closure"})
    assert (gate.name, gate.tags) == ("gate-review/P1/gate-closure", ("pmo", "project:P1", "gate:closure"))
    assert artifacts.run_label("gate-review", {"project": "P1", "to_phase": None}).name == "gate-review/P1/gate-next"
    assert artifacts.run_label("closeout", {"project": "P1"}).name == "closeout/P1/gate-final"
    quality = artifacts.run_label("quality-checks", {"project": "P1", "deliverables": ["D1", "D2"]})
    assert quality.name == "quality-checks/P1/D1+D2" and quality.tags == ("pmo", "project:P1")
    monitor = artifacts.run_label("portfolio-monitor", {})
    assert (monitor.name, monitor.tags) == ("portfolio-monitor/portfolio", ("pmo", "portfolio"))
    # and back: `pmo flow list --runs` reads project and milestone from the tags (or the parameters)
    assert artifacts.run_subject(label.tags, {}) == {"project": "HZ-MES-2026", "milestone": "M2", "gate": ""}
    assert artifacts.run_subject(["pmo"], {"project": "P9", "milestone": "M1"})["project"] == "P9"
    assert artifacts.run_subject(monitor.tags, {})["project"] == "portfolio"


def test_project_text_is_escaped_in_markdown():
    text = artifacts.md_text(HOSTILE)
    assert "<" not in text and ">" not in text and "\n" not in text
    assert not re.search(r"(?<!\\)[\[\]()*|#]", text), text
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" in text
    assert artifacts.artifact_key("quality", "HZ-MES_2026") == "quality-hz-mes-2026"


def _hostile_pack(test_pack, folder):
    shutil.copytree(test_pack, folder)
    gates = yaml.safe_load(yaml.safe_dump(GATES))
    gates["gates"]["control_to_closure"]["rules"][0]["message"] = {"zh": HOSTILE, "en": HOSTILE}
    gates["gates"]["control_to_closure"]["rules"][0]["title"] = {"zh": HOSTILE, "en": HOSTILE}
    (folder / "gates" / "closure.yaml").write_text(yaml.safe_dump(gates, allow_unicode=True), encoding="utf-8")
    return folder


def test_gate_review_markdown_lists_each_rule_with_verdict_escaped(make_workspace, test_pack, tmp_path, monkeypatch):
    today_env(monkeypatch)
    ws = make_workspace(project=replace(sample_project(tmp_path / "files"), phase="control"))
    settings = yaml.safe_load((ws / "settings.yaml").read_text(encoding="utf-8"))
    settings["rules"] = str(_hostile_pack(test_pack, tmp_path / "hostile-pack"))
    (ws / "settings.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    with open_ctx(ws) as ctx:
        outcome = review_gate(ctx, "DEMO-1", "closure")
        md = artifacts.gate_review_markdown(ctx, "DEMO-1", outcome.review)
    assert md.startswith("# Gate review DEMO\\-1: control → closure")
    assert "**Decision:** no\\_go (not advanced)" in md
    rows = [line for line in md.splitlines() if line.startswith("| T\\-LESSONS")]
    assert len(rows) == 1 and "| blocking | fail |" in rows[0]
    assert "<img" not in md and "](javascript" not in md and "\n# heading" not in md
    assert rows[0].count(" | ") == 5  # six cells: the pipe in the message is text, not a column


def test_documents_markdown_links_only_with_a_base_url(make_workspace, tmp_path, monkeypatch):
    today_env(monkeypatch)
    monkeypatch.delenv("PMO_BASE_URL", raising=False)
    doc = {"id": "DEMO-1:acceptance:M1", "number": "DEMO-1-ACC-M1-1", "kind": "acceptance", "sha256": "ab" * 32}
    ws = make_workspace()
    with open_ctx(ws) as ctx:
        plain = artifacts.documents_markdown(ctx, "DEMO-1", [{**doc, "issued_now": True}])
    assert "| DEMO\\-1\\-ACC\\-M1\\-1 | acceptance | `" + "ab" * 32 + "` | yes |" in plain
    assert "http" not in plain
    monkeypatch.setenv("PMO_BASE_URL", "https://pmo.example/")
    with open_ctx(ws) as ctx:
        linked = artifacts.documents_markdown(ctx, "DEMO-1", [{**doc, "issued_now": False}])
    assert "[open](https://pmo.example/projects/DEMO-1/documents/DEMO-1%3Aacceptance%3AM1)" in linked
    assert "no (re-used)" in linked


def test_quality_and_alert_tables_have_one_row_each():
    checks = [
        {"deliverable": "D1", "standard": "QS-FILE", "result": "pass", "evidence": "sha ok", "date": "2026-03-30"},
        {"deliverable": "D2", "standard": "QS-DEF", "result": "fail", "evidence": "2 open defects", "date": None},
    ]
    table = artifacts.quality_table(checks)
    assert [(r["deliverable"], r["result"], r["date"]) for r in table] == [
        ("D1", "pass", "2026-03-30"),
        ("D2", "fail", ""),
    ]
    rows = artifacts.alerts_table(
        [{"project": "P1", "phase": "execution", "health": "red", "alerts": ["high: late", "medium: budget"]}]
    )
    assert [r["alert"] for r in rows] == ["high: late", "medium: budget"] and rows[0]["project"] == "P1"

"""A project with almost no data still gets complete documents: every empty section says so."""

from __future__ import annotations

import subprocess
from datetime import date

import pytest

from lifecycle.documents.render import render_html
from lifecycle.services.documents import issue_document
from lifecycle.storage.protocol import Record
from tests.documents.conftest import make_ctx, needs_tools
from tests.factory import small_project

KINDS = ("acceptance", "final_acceptance", "handover", "gate_review", "status")


def bare_review(code: str) -> dict:
    return {
        "schema_version": 1,
        "id": f"{code}-GR-1",
        "project": code,
        "transition": "start_planning",
        "from": "initiation",
        "to": "planning",
        "decision": "no_go",
        "evaluated_at": "2026-01-05T08:00:00+00:00",
        "evaluated_by": "someone",
        "today": "2026-01-05",
        "pack": {"name": "p", "version": "1", "hash": "0" * 64},
        "facts_hash": "1" * 64,
        "project_version": 1,
        "results": [],
        "approvals": {"required": False, "rule": "", "satisfied": True, "votes": [], "missing": []},
        "waivers": [],
        "advanced": False,
    }


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_kind_renders_for_a_bare_project(tmp_path, lang):
    project = small_project("BARE-1", phase="planning")
    ctx = make_ctx(tmp_path / "ws", project, today=date(2026, 2, 2), reviews=False)
    ctx.store.add_records("BARE-1", [Record("BARE-1", "gate_review", "BARE-1-GR-1", bare_review("BARE-1"))])
    none_word = "无" if lang == "zh-CN" else "None"
    for kind in KINDS:
        doc = issue_document(ctx, "BARE-1", kind, lang=lang, out_dir=tmp_path / "out")
        html = render_html(doc.record)
        assert html.count('class="none"') >= 2, kind
        assert none_word in html


@needs_tools
def test_bare_handover_reads_none_in_each_empty_section(tmp_path):
    project = small_project("BARE-2")
    ctx = make_ctx(tmp_path / "ws", project, reviews=False)
    doc = issue_document(ctx, "BARE-2", "handover", lang="zh-CN")
    text = subprocess.run(["pdftotext", doc.path, "-"], capture_output=True, text=True, check=True).stdout
    for sentence in (
        "无交付项。",
        "无培训记录。",
        "无（未指定支持联系人）。",
        "无（合同未约定支持服务条款）。",
        "无质保约定。",
        "无豁免事项。",
        "无（未登记经验教训）。",
    ):
        assert sentence in text, sentence

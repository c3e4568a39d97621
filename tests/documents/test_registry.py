"""The registry of document kinds is complete and is the one place a kind is described.

Every registered kind renders in both languages from the sample state its entry names; every
template in ``templates/`` (but the shared base and macros) belongs to a registered kind; the
`pmo docs` commands, the numbering and the e-mail subjects come from the registry.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from lifecycle.documents import catalogs, registry, views
from lifecycle.documents.render import render_html, templates_dir
from lifecycle.notify.templates import document_email
from lifecycle.services.documents import issue_document
from tests.documents.conftest import make_ctx, project_for

DAYS = {"execution": date(2026, 11, 16), "planning": date(2026, 7, 22), "closed": date(2027, 3, 29)}
SHARED = {"base.html", "_macros.html"}


@pytest.mark.parametrize("which", ["zh", "en"])
@pytest.mark.parametrize("kind", list(registry.KINDS))
def test_every_registered_kind_renders(kind: str, which: str, tmp_path: Path) -> None:
    entry = registry.KINDS[kind]
    today = DAYS[entry.fixture]
    project = project_for(which, entry.fixture, today)
    ctx = make_ctx(tmp_path, project, today=today)
    milestone = (
        next(m.id for m in project.milestones if m.kind == "acceptance") if entry.subject == "milestone" else None
    )
    doc = issue_document(ctx, project.code, kind, milestone=milestone)
    assert doc.kind == kind and doc.record["kind"] == kind
    assert doc.number.startswith(f"{project.code}-{entry.prefix}-") and Path(doc.path).read_bytes()[:5] == b"%PDF-"
    html = render_html(doc.record)
    assert doc.number in html and ('lang="zh-CN"' if which == "zh" else 'lang="en"') in html


def test_every_template_is_a_registered_kind() -> None:
    pages = {p.name for p in templates_dir().glob("*.html")} - SHARED
    assert pages == {e.template for e in registry.KINDS.values()}
    assert {f"doc.{k}" for k in registry.KINDS} <= set(catalogs.source("documents"))


def test_prefixes_and_commands_are_unique_and_numbering_follows_the_registry() -> None:
    entries = list(registry.KINDS.values())
    assert len({e.prefix for e in entries}) == len(entries) == len({e.command for e in entries})
    assert registry.next_number("P-1", "status", []) == ("P-1-STR-1", 1)
    assert registry.number_prefix("P-1", "acceptance", "M 2") == "P-1-ACC-M_2"
    with pytest.raises(Exception, match="unknown document kind 'memo'"):
        registry.document_kind("memo")
    assert not hasattr(views, "KIND_CODES") and not hasattr(views, "next_number")  # one table: the registry


def test_docs_commands_and_email_subjects_come_from_the_registry() -> None:
    from lifecycle.cli.docs import docs_grp

    for entry in registry.KINDS.values():
        command = docs_grp.commands[entry.command]
        assert command.help == entry.help and entry.title_zh in command.help
        usage = CliRunner().invoke(docs_grp, [entry.command, "--help"]).output
        assert ("--milestone" in usage) == (entry.subject == "milestone")
        assert ("--review" in usage) == (entry.subject == "review")
        for locale, title in (("zh-CN", entry.title_zh), ("en", entry.title_en)):
            subject, _ = document_email(registry.titles_of(entry.kind), locale, {"code": "P-1", "number": "N-1"})
            assert subject.startswith(f"[P-1] {title} N-1")

"""The document service: registering, numbering, atomic writes, verification verdicts, listing."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lifecycle.errors import InvalidInput, NotFound, RenderError, StorageError
from lifecycle.services import documents as service
from lifecycle.services.documents import issue_document, list_documents, verify_document
from lifecycle.storage.memory import MemoryStore
from tests.documents.conftest import make_ctx, needs_tools
from tests.documents.samples import closed, gate_review, load_sample


@pytest.fixture
def ctx(tmp_path):
    return make_ctx(tmp_path / "ws", closed(load_sample("en")))


CODE = "NHP-PORTAL-2026"


def test_issue_registers_audits_and_names_the_file_after_the_number(ctx):
    doc = issue_document(ctx, CODE, "handover")
    assert doc.number == f"{CODE}-HOV-1" and doc.id == doc.number
    assert Path(doc.path) == ctx.workspace.documents_dir / CODE / f"{doc.number}.pdf"
    assert Path(doc.path).is_file() and doc.lang == "en" and not doc.signed
    assert doc.created_at == ctx.now() and doc.record["issued_at"] == ctx.now().isoformat()
    assert doc.pack_hash == gate_review(ctx.store.get(CODE))["pack"]["hash"]
    assert ctx.store.find_document(doc.sha256) == doc
    event = ctx.store.audit(CODE)[-1]
    assert event.action == "document.issued" and event.entity_id == doc.number
    assert event.data["sha256"] == doc.sha256 and event.actor == "test-pm"
    assert ctx.store.verify_audit(CODE) == []


def test_numbers_count_up_and_lang_can_be_overridden(ctx, tmp_path):
    a = issue_document(ctx, CODE, "status", out_dir=tmp_path / "out")
    b = issue_document(ctx, CODE, "status", lang="zh-CN", out_dir=tmp_path / "out")
    assert (a.number, b.number) == (f"{CODE}-STR-1", f"{CODE}-STR-2")
    assert b.lang == "zh-CN" and b.record["lang"] == "zh-CN"
    assert [d.number for d in list_documents(ctx, CODE)] == [a.number, b.number]
    acc = issue_document(ctx, CODE, "acceptance", milestone="M6", out_dir=tmp_path / "out")
    assert acc.number == f"{CODE}-ACC-M6-1" and acc.subject == "M6"


def test_same_clock_and_data_give_the_same_file(tmp_path):
    project = closed(load_sample("zh"))
    docs = [issue_document(make_ctx(tmp_path / f"ws{i}", project), project.code, "final_acceptance") for i in range(2)]
    assert docs[0].sha256 == docs[1].sha256
    assert Path(docs[0].path).read_bytes() == Path(docs[1].path).read_bytes()


def test_bad_requests(ctx):
    with pytest.raises(InvalidInput, match="unknown document kind"):
        issue_document(ctx, CODE, "invoice")
    with pytest.raises(InvalidInput, match="language"):
        issue_document(ctx, CODE, "status", lang="de")
    with pytest.raises(NotFound):
        issue_document(ctx, "NOPE", "status")
    with pytest.raises(NotFound, match="M42"):
        issue_document(ctx, CODE, "acceptance", milestone="M42")
    with pytest.raises(NotFound, match="no gate review 'GR-9'"):
        issue_document(ctx, CODE, "gate_review", review_id="GR-9")
    with pytest.raises(NotFound):
        list_documents(ctx, "NOPE")
    bare = make_ctx(ctx.workspace.root.parent / "bare", closed(load_sample("zh")), reviews=False)
    with pytest.raises(NotFound, match="no gate review"):
        issue_document(bare, "SZ-MES-2026", "gate_review")


def test_gate_review_by_id(ctx):
    doc = issue_document(ctx, CODE, "gate_review", review_id=f"{CODE}-GR-1")
    assert doc.subject == f"{CODE}-GR-1" and doc.record["review"]["decision"] == "conditional_go"


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_interrupted_write_leaves_no_file_and_registers_nothing(ctx, tmp_path, monkeypatch):
    out = tmp_path / "out"

    def crash(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(service.os, "fsync", crash)
    with pytest.raises(RenderError, match="could not write"):
        issue_document(ctx, CODE, "handover", out_dir=out)
    assert ctx.store.documents(CODE) == [] and _leftovers(out) == []
    assert all(e.action != "document.issued" for e in ctx.store.audit(CODE))


def test_crash_at_rename_leaves_no_temporary_file(ctx, tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setattr(service.os, "link", lambda a, b: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        issue_document(ctx, CODE, "handover", out_dir=out)
    assert ctx.store.documents(CODE) == [] and _leftovers(out) == []


def test_a_file_system_without_hard_links_still_never_replaces_a_file(ctx, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / f"{CODE}-HOV-1.pdf").write_bytes(b"someone else's file")
    monkeypatch.setattr(service.os, "link", lambda a, b: (_ for _ in ()).throw(PermissionError(1, "no links here")))
    doc = issue_document(ctx, CODE, "handover", out_dir=out)
    assert (out / f"{CODE}-HOV-1.pdf").read_bytes() == b"someone else's file"
    assert Path(doc.path).name.startswith(f"{CODE}-HOV-1-") and Path(doc.path).read_bytes()[:5] == b"%PDF-"
    assert _leftovers(out) == sorted([f"{CODE}-HOV-1.pdf", Path(doc.path).name])


def test_failed_registration_removes_the_written_file(ctx, tmp_path, monkeypatch):
    out = tmp_path / "out"

    def refuse(doc, events=(), content=None):
        raise StorageError("database is locked")

    monkeypatch.setattr(ctx.store, "add_document", refuse)
    with pytest.raises(StorageError):
        issue_document(ctx, CODE, "handover", out_dir=out)
    assert _leftovers(out) == []


@needs_tools
def test_verify_unsigned_documents(ctx, tmp_path):
    doc = issue_document(ctx, CODE, "status")
    ok = verify_document(ctx, doc.path)
    assert ok.verdict == "authentic" and ok.signature == "absent" and ok.record_matches and ok.ok
    assert ok.to_dict()["document"]["number"] == doc.number

    data = bytearray(Path(doc.path).read_bytes())
    # a byte of the page content, before the embedded record (a changed record says nothing of its number)
    data[len(data) // 4] ^= 0x01
    assert len(data) // 4 < data.find(b"/EmbeddedFile")
    changed = tmp_path / "copy.pdf"
    changed.write_bytes(bytes(data))
    bad = verify_document(ctx, changed)
    assert bad.verdict == "altered" and not bad.registered
    assert bad.document is not None and bad.document.number == doc.number

    other = MemoryStore()
    foreign = make_ctx(tmp_path / "other", store=other)
    unknown = verify_document(foreign, doc.path)
    assert unknown.verdict == "unknown" and unknown.document is None

    with pytest.raises(NotFound):
        verify_document(ctx, tmp_path / "missing.pdf")


@needs_tools
def test_record_swapped_for_another_is_altered(ctx, tmp_path):
    """A file whose attached JSON no longer matches the registry is reported, even by path."""
    doc = issue_document(ctx, CODE, "handover")
    from lifecycle.documents.render import render_pdf

    forged = dict(doc.record, conclusion="accepted")
    forged["items"] = []
    Path(doc.path).write_bytes(render_pdf(forged).pdf)
    result = verify_document(ctx, doc.path)
    assert result.verdict == "altered" and result.record_matches is False
    assert any("embedded JSON record differs" in p for p in result.problems)


def test_logo_is_embedded_as_data_uri(ctx, tmp_path):
    import base64

    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    (ctx.workspace.root).mkdir(parents=True, exist_ok=True)
    (ctx.workspace.root / "logo.png").write_bytes(png)
    ctx.workspace.settings.supplier = {"logo": "logo.png"}
    assert service._logo(ctx).startswith("data:image/png;base64,")
    doc = issue_document(ctx, CODE, "handover", out_dir=tmp_path / "out")
    assert doc.sha256
    ctx.workspace.settings.supplier = {"logo": "logo.gif"}
    with pytest.raises(InvalidInput):
        service._logo(ctx)


def test_supplier_name_falls_back_to_settings(tmp_path):
    p = closed(load_sample("en"))
    p = dataclasses.replace(
        p,
        charter=dataclasses.replace(
            p.charter, supplier=dataclasses.replace(p.charter.supplier, name="", short_name="")
        ),
    )
    ctx = make_ctx(tmp_path / "ws", p)
    ctx.workspace.settings.supplier = {"name": "Settings Supplier Ltd"}
    doc = issue_document(ctx, CODE, "handover", out_dir=tmp_path / "out")
    assert doc.record["project"]["supplier"]["name"] == "Settings Supplier Ltd"

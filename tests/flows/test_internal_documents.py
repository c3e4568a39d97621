"""The PMO's internal version of a document (issue 13, finding 7): the final acceptance report with every
budget line is issued as a document of its own (identity project, kind, subject and audience; number
``...-<N>-INT``), once under the same issuing lock as the client's version, re-issued as revisions,
audited, stored in the database, verifiable, marked internal on every page, and never e-mailed to a
client contact nor offered through a client link.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lifecycle.domain import policy
from lifecycle.errors import Forbidden, InvalidInput
from lifecycle.services import client_acceptance, delivery
from lifecycle.services.context import Context, acting_as
from lifecycle.services.documents import issue, verify_registered
from lifecycle.storage.memory import MemoryStore
from tests.flows.conftest import open_ctx, sample_project, today_env
from tests.flows.test_issue_once import _env, _pg_workspace, _pmo

CODE = "DEMO-1"
CLIENT, INTERNAL = f"{CODE}-FAR-1", f"{CODE}-FAR-1-INT"
MARK = {"en": "Internal — not for the client", "zh-CN": "内部文件，不得提供给客户"}


def _pages(path: str | Path) -> list[str]:
    """The text of each page (pdftotext splits pages with a form feed)."""
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return [p for p in out.split("\f") if p.strip()]


def _memory_ctx(ws: Path, tmp_path: Path) -> Any:
    """The workspace's context on an in-memory store holding the sample project."""
    ctx = open_ctx(ws)
    ctx.store.close()
    store = MemoryStore()
    store.save(sample_project(tmp_path / "files-mem"), expected_version=None)
    return Context(ctx.workspace, store, clock=ctx.clock, principal=ctx.principal)


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_internal_and_client_versions_are_two_documents_each_issued_once(
    backend, make_workspace, tmp_path, monkeypatch
):
    today_env(monkeypatch)
    ws = make_workspace()
    ctx = _memory_ctx(ws, tmp_path) if backend == "memory" else open_ctx(ws)
    try:
        client = issue(ctx, CODE, "final_acceptance")
        internal = issue(ctx, CODE, "final_acceptance", audience="internal")
        assert client.issued_now and internal.issued_now
        assert (client.document.number, internal.document.number) == (CLIENT, INTERNAL)
        assert (client.document.audience, internal.document.audience) == ("client", "internal")
        # asked again, each returns its own registered document
        again = issue(ctx, CODE, "final_acceptance", audience="internal")
        assert not again.issued_now and again.document == internal.document
        assert issue(ctx, CODE, "final_acceptance").document == client.document
        # re-issued as a revision of the same number, audited with its audience
        rev = issue(ctx, CODE, "final_acceptance", audience="internal", reissue=True).document
        assert (rev.number, rev.revision, rev.id) == (INTERNAL, 2, f"{INTERNAL}-R2")
        event = ctx.store.audit(CODE)[-1]
        assert event.action == "document.reissued" and event.data["audience"] == "internal"
        assert event.data["replaces"] == INTERNAL
        issued = [e for e in ctx.store.audit(CODE) if e.action == "document.issued"]
        assert [(e.entity_id, e.data["audience"]) for e in issued] == [(CLIENT, "client"), (INTERNAL, "internal")]
        # stored (bytes too) and verifiable
        assert ctx.store.document_content(INTERNAL) == Path(internal.document.path).read_bytes()
        assert verify_registered(ctx, INTERNAL).verdict == "authentic"
        # a kind without an internal version refuses the audience
        with pytest.raises(InvalidInput, match="no version for audience 'internal'"):
            issue(ctx, CODE, "handover", audience="internal")
    finally:
        ctx.close()
    if backend == "sqlite":  # the audience survives in the database
        ctx = open_ctx(ws)
        try:
            got = {d.id: d.audience for d in ctx.store.documents(CODE)}
            assert got == {CLIENT: "client", INTERNAL: "internal", f"{INTERNAL}-R2": "internal"}
        finally:
            ctx.close()


def _issued(ws: Path, kind: str, *options: dict[str, str]) -> list[Any]:
    """The documents of ``kind`` issued (or found) with each of ``options``, in order."""
    ctx = open_ctx(ws)
    try:
        return [issue(ctx, CODE, kind, **o).document for o in options]
    finally:
        ctx.close()


def test_the_internal_mark_is_on_every_page_and_the_client_version_has_no_internal_figure(make_workspace, monkeypatch):
    today_env(monkeypatch)
    client, internal, internal_zh = _issued(
        make_workspace(), "final_acceptance", {}, {"audience": "internal"}, {"audience": "internal", "lang": "zh-CN"}
    )
    assert internal_zh.number == f"{CODE}-FAR-2-INT"  # a language asked for is its own document
    for doc, lang in ((internal, "en"), (internal_zh, "zh-CN")):
        pages = _pages(doc.path)
        assert len(pages) >= 2
        assert all(MARK[lang] in page for page in pages), doc.number
    client_pages = _pages(client.path)
    assert not any(MARK["en"] in page for page in client_pages)
    client_text, internal_text = "".join(client_pages), "".join(_pages(internal.path))
    # the PMO's version prints the budget lines (labour £100,000.50, contingency) and earned value; the client's none
    internal_figures = ("100,000.50", "Contingency", "Estimate at completion")
    assert [f in internal_text for f in internal_figures] == [True, True, True]
    assert [f in client_text for f in internal_figures] == [False, False, False]
    assert client.record["cost"] == {} and "evm" not in client.record
    assert "Confidential: for" in client_text and "Confidential: for" not in internal_text


def test_delivery_sends_the_internal_version_to_the_project_manager_never_to_a_client_contact(
    make_workspace, inbox, monkeypatch
):
    today_env(monkeypatch)
    ws = make_workspace(smtp=inbox.settings())
    ctx = open_ctx(ws)
    try:
        internal = issue(ctx, CODE, "final_acceptance", audience="internal").document
        for to in (["c-rep"], ["rob@northwind.example"], ["c-spon", "p-pm"], ["someone@else.example"]):
            res = delivery.deliver_document(ctx, CODE, internal.id, to)
            assert res["status"] == "not_sent" and "internal version" in res["reason"], (to, res)
        assert inbox.messages == []
        with pytest.raises(InvalidInput, match="internal version"):
            client_acceptance.issue_link(ctx, internal.id, "rob@northwind.example")
        sent = delivery.deliver_document(ctx, CODE, internal.id)  # default: the project manager
        assert sent["status"] == "sent", sent
        assert [m.rcpt_tos for m in inbox.messages] == [["pat@supplier.example"]]
        # the client's version still goes to the client representative by default
        client = issue(ctx, CODE, "final_acceptance").document
        assert delivery.deliver_document(ctx, CODE, client.id)["status"] == "sent"
        assert inbox.messages[-1].rcpt_tos == ["rob@northwind.example"]
        project = ctx.store.get(CODE)
    finally:
        ctx.close()
    rep = policy.Principal("u1", "rob@northwind.example", "Rob Rep", "en", frozenset(), "password")
    pm = policy.Principal("u2", "pat@supplier.example", "Pat Manager", "en", frozenset(), "password")
    dev = policy.Principal("u3", "dev@supplier.example", "Dev One", "en", frozenset(), "password")
    viewer = policy.Principal("u4", "pmo@supplier.example", "PMO", "en", frozenset({policy.PMO_VIEWER}), "password")
    assert [policy.reads_internal(project, p) for p in (rep, pm, dev, viewer)] == [False, True, False, True]
    ctx = open_ctx(ws)
    try:  # a signed-in client representative can neither issue nor get the PMO's version
        with pytest.raises(Forbidden, match="internal documents"):
            issue(acting_as(ctx, rep), CODE, "final_acceptance", audience="internal")
        assert issue(acting_as(ctx, pm), CODE, "final_acceptance", audience="internal").document == internal
    finally:
        ctx.close()


@pytest.mark.postgres
def test_concurrent_cli_issues_of_both_versions_on_postgres(make_workspace, tmp_path, pg_url, monkeypatch):
    today_env(monkeypatch)
    ws = _pg_workspace(make_workspace, tmp_path, pg_url, "ws-pg")
    base = [sys.executable, "-m", "lifecycle.cli.main", "docs", "final-acceptance", CODE, "--json"]
    runs = [base, base + ["--internal"], base, base + ["--internal"]]
    procs = [
        subprocess.Popen(a, env=_env(ws), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ws.parent)
        for a in runs
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outs
    numbers = [json.loads(out)["number"] for out, _ in outs]
    assert numbers == [CLIENT, INTERNAL, CLIENT, INTERNAL], outs
    assert sum(json.loads(out)["issued_now"] for out, _ in outs) == 2, outs
    listed = json.loads(_pmo(ws, "docs", "list", CODE, "--json").stdout)
    assert sorted((d["number"], d["audience"]) for d in listed) == [(CLIENT, "client"), (INTERNAL, "internal")]
    verdict = _pmo(ws, "docs", "verify", INTERNAL)
    assert verdict.returncode == 0 and verdict.stdout.startswith("AUTHENTIC"), verdict
    res = _pmo(ws, "docs", "handover", CODE, "--internal")
    assert res.returncode == 2 and "--internal" in res.stderr, res


def test_the_status_report_for_the_client_states_payments_and_no_internal_cost_figure(make_workspace, monkeypatch):
    today_env(monkeypatch)
    internal_only = {"audience": "internal"}
    client, internal, again = _issued(make_workspace(), "status", {}, internal_only, internal_only)
    assert again == internal  # one per day and audience
    assert (client.number, internal.number) == (f"{CODE}-STR-1", f"{CODE}-STR-1-INT")
    # one view model: the client's record has the payments and none of the PMO's cost figures
    assert {"budget", "evm", "s_curve"} & set(client.record) == set()
    assert client.record["payments"] == internal.record["payments"]
    assert {"budget", "evm", "s_curve"} <= set(internal.record)
    assert any(r["category"] == "contingency" for r in internal.record["budget"]["by_category"])
    client_pages, internal_pages = _pages(client.path), _pages(internal.path)
    assert all(MARK["en"] in page for page in internal_pages)
    client_text, internal_text = "".join(client_pages), "".join(internal_pages)
    for figure in ("Contingency", "100,000.50", "Estimate at completion", "Approved budget"):
        assert figure in internal_text and figure not in client_text, figure
    assert "Contract payments" in client_text and MARK["en"] not in client_text

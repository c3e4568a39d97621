"""A document is issued once per (project, kind, milestone or review): concurrent `pmo docs` processes
and concurrent or repeated flows get the one registered document, whose file is never replaced or
removed by a losing run; a changed document is only made by an explicit re-issue (revision 2, audited);
its bytes live in the database, so a second workspace folder on the same PostgreSQL serves and verifies it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from lifecycle.domain.policy import Principal
from lifecycle.errors import Forbidden, LifecycleError, StorageError
from lifecycle.services import delivery
from lifecycle.services.delivery import ensure_document
from lifecycle.services.documents import (
    document_content,
    issue,
    issue_document,
    verify_document,
    verify_registered,
)
from lifecycle.services.milestones import complete_milestone
from lifecycle.services.projects import load_rules, update_project
from lifecycle.storage.sql import SqlStore
from tests.flows.conftest import open_ctx, sample_project, today_env

ROOT = Path(__file__).resolve().parents[2]
CODE = "DEMO-1"
NUMBER = "DEMO-1-ACC-M1-1"


def _pg_workspace(make_workspace: Any, tmp_path: Path, url: str, name: str, **kw: Any) -> Path:
    """A workspace folder on the PostgreSQL database ``url`` (the project saved there once)."""
    ws = make_workspace(root=tmp_path / name, **kw)
    with (ws / "settings.yaml").open("a", encoding="utf-8") as fh:
        fh.write(f"database_url: {url}\n")
    store = SqlStore.open(url, create=True)
    try:
        if not store.exists(CODE):
            store.save(sample_project(tmp_path / "files"), expected_version=None)
    finally:
        store.close()
    return ws


def _env(ws: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PMO_")}
    return {
        **env,
        "PYTHONPATH": str(ROOT),
        "PMO_WORKSPACE": str(ws),
        "PMO_TODAY": "2026-03-30",
        "PMO_NOW": "2026-03-30T09:00:00+00:00",
    }


def _pmo(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lifecycle.cli.main", *args],
        env=_env(ws),
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ws.parent,
    )


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_four_concurrent_cli_issues_register_one_document(backend, make_workspace, tmp_path, request, monkeypatch):
    today_env(monkeypatch)
    if backend == "postgres":
        ws = _pg_workspace(make_workspace, tmp_path, request.getfixturevalue("pg_url"), "ws-pg")
    else:
        ws = make_workspace()
    args = [sys.executable, "-m", "lifecycle.cli.main", "docs", "acceptance", CODE, "--milestone", "M1"]
    procs = [
        subprocess.Popen(args, env=_env(ws), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ws.parent)
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outs
    paths = {out.strip() for out, _ in outs}
    assert len(paths) == 1, outs  # every process names the one document
    path = Path(paths.pop())
    assert path.name == f"{NUMBER}.pdf" and path.is_file()
    assert sum("was already issued" in err and NUMBER in err for _, err in outs) == 3, outs
    listed = json.loads(_pmo(ws, "docs", "list", CODE, "--json").stdout)
    assert [d["number"] for d in listed] == [NUMBER]
    verdict = _pmo(ws, "docs", "verify", str(path))
    assert verdict.returncode == 0 and verdict.stdout.startswith("AUTHENTIC"), verdict
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary file left behind
    res = _pmo(ws, "docs", "acceptance", CODE, "--milestone", "M1", "--reissue", "--json")
    second = json.loads(res.stdout)
    assert res.returncode == 0 and second["issued_now"] and (second["number"], second["revision"]) == (NUMBER, 2)
    assert second["id"] == f"{NUMBER}-R2" and Path(second["path"]).is_file() and path.is_file()


def test_two_concurrent_flows_get_the_same_certificate(make_workspace, monkeypatch):
    today_env(monkeypatch)
    ws = make_workspace()
    first = open_ctx(ws)
    try:
        complete_milestone(first, CODE, "M1")
        load_rules(first)  # the pack loader's first use is not thread-safe (a separate matter): warm it here
    finally:
        first.close()
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def run() -> None:
        ctx = open_ctx(ws)
        try:
            barrier.wait(30)
            results.append(ensure_document(ctx, CODE, "acceptance", milestone="M1"))
        except Exception as exc:  # the test reports what a losing thread saw
            results.append(exc)
        finally:
            ctx.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    assert all(isinstance(r, tuple) for r in results), results
    assert {doc.id for doc, _ in results} == {NUMBER} and sorted(new for _, new in results) == [False, True]
    ctx = open_ctx(ws)
    try:
        assert [d.number for d in ctx.store.documents(CODE)] == [NUMBER]
        assert verify_document(ctx, results[0][0].path).verdict == "authentic"
    finally:
        ctx.close()


def _rename_deliverable(ctx: Any, name: str) -> None:
    update_project(
        ctx,
        CODE,
        lambda p: replace(p, deliverables=(replace(p.deliverables[0], name=name), *p.deliverables[1:])),
        action="deliverable.updated",
        entity="deliverable",
        entity_id="D1",
    )


def test_a_repeated_flow_keeps_the_certificate_and_only_a_reissue_makes_revision_two(make_workspace, monkeypatch):
    today_env(monkeypatch)
    ctx = open_ctx(make_workspace())
    try:
        complete_milestone(ctx, CODE, "M1")
        first, issued = ensure_document(ctx, CODE, "acceptance", milestone="M1")
        assert issued and first.number == NUMBER and first.revision == 1
        _rename_deliverable(ctx, "Design document v4")  # printed on the certificate: still the same one
        again, issued = ensure_document(ctx, CODE, "acceptance", milestone="M1")
        assert not issued and again.id == first.id
        assert not issue(ctx, CODE, "acceptance", milestone="M1").issued_now

        second = issue(ctx, CODE, "acceptance", milestone="M1", reissue=True).document
        assert (second.number, second.revision, second.id) == (NUMBER, 2, f"{NUMBER}-R2")
        assert second.record["revision"] == 2 and second.record["number"] == NUMBER
        assert "Design document v4" in json.dumps(second.record)
        assert Path(first.path).is_file() and Path(second.path).name == f"{NUMBER}-R2.pdf"
        text = subprocess.run(["pdftotext", second.path, "-"], capture_output=True, text=True, check=True).stdout
        assert "Revision 2" in text
        event = ctx.store.audit(CODE)[-1]
        assert event.action == "document.reissued" and event.entity_id == second.id
        assert event.data["replaces"] == first.id and event.data["revision"] == 2
        latest, issued = ensure_document(ctx, CODE, "acceptance", milestone="M1")
        assert not issued and latest.id == second.id  # flows now find the newest revision
        assert verify_document(ctx, first.path).verdict == "authentic"  # revision 1 stays a registered document
        assert delivery.find_document(ctx, CODE, second.id) == second
        assert delivery.find_document(ctx, CODE, NUMBER) == first  # a number is the id of its revision 1
    finally:
        ctx.close()


def test_reissue_needs_the_right_to_generate_documents(make_workspace, monkeypatch):
    today_env(monkeypatch)
    ctx = open_ctx(make_workspace())
    try:
        issue_document(ctx, CODE, "acceptance", milestone="M1")
        ctx.principal = Principal("u-rob", "rob@northwind.example", "Rob Rep", "en", frozenset(), "password")
        with pytest.raises(Forbidden):
            issue(ctx, CODE, "acceptance", milestone="M1", reissue=True)
        assert [d.revision for d in ctx.store.documents(CODE)] == [1]
        ctx.principal = Principal(
            "u-adm", "admin@supplier.example", "Ada Admin", "en", frozenset({"pmo_admin"}), "token"
        )
        doc = issue(ctx, CODE, "acceptance", milestone="M1", reissue=True).document
        assert doc.revision == 2 and ctx.store.audit(CODE)[-1].actor == "admin@supplier.example"
    finally:
        ctx.close()


def test_a_stale_part_file_and_an_unregistered_file_change_nothing(make_workspace, monkeypatch):
    """A run killed after writing (a ``.part`` file) or after naming its file but before registering it
    leaves files behind: the number still comes from the registry and neither file is touched."""
    today_env(monkeypatch)
    ws = make_workspace()
    folder = ws / "documents" / CODE
    folder.mkdir(parents=True)
    part = folder / f".{NUMBER}.pdf.k9x2.part"
    part.write_bytes(b"%PDF-1.7 half written")
    stale = folder / f"{NUMBER}.pdf"
    stale.write_bytes(b"%PDF-1.7 a killed run's unregistered file")
    ctx = open_ctx(ws)
    try:
        doc, issued = ensure_document(ctx, CODE, "acceptance", milestone="M1")
        assert issued and doc.number == NUMBER
        assert stale.read_bytes() == b"%PDF-1.7 a killed run's unregistered file"
        assert part.read_bytes() == b"%PDF-1.7 half written"
        assert Path(doc.path) != stale and Path(doc.path).parent == folder
        assert verify_document(ctx, doc.path).verdict == "authentic"
    finally:
        ctx.close()


def test_a_losing_run_never_removes_the_registered_file(make_workspace, monkeypatch):
    """A run that read the registry before the winner registered (a stale view) must not replace or
    remove the winner's file."""
    today_env(monkeypatch)
    ctx = open_ctx(make_workspace())
    try:
        winner = issue_document(ctx, CODE, "acceptance", milestone="M1")
        original = Path(winner.path).read_bytes()
        monkeypatch.setattr(ctx.store, "documents", lambda code=None: [])
        try:
            again: Any = issue_document(ctx, CODE, "acceptance", milestone="M1")
        except LifecycleError as exc:  # a losing run may fail; it must not take the winner's file with it
            again = exc
        monkeypatch.undo()
        today_env(monkeypatch)
        assert Path(winner.path).read_bytes() == original
        assert verify_document(ctx, winner.path).verdict == "authentic"
        assert getattr(again, "id", None) == winner.id  # under the lock the registry is read again
    finally:
        ctx.close()


def test_a_failed_registration_removes_only_its_own_new_file(make_workspace, monkeypatch):
    today_env(monkeypatch)
    ctx = open_ctx(make_workspace())
    try:
        kept = issue_document(ctx, CODE, "handover")
        folder = Path(kept.path).parent

        def refuse(*args: Any, **kw: Any) -> None:
            raise StorageError("database is locked")

        monkeypatch.setattr(ctx.store, "_insert_document", refuse)
        with pytest.raises(StorageError):
            issue_document(ctx, CODE, "final_acceptance")
        assert sorted(p.name for p in folder.iterdir()) == [Path(kept.path).name]
        assert verify_document(ctx, kept.path).verdict == "authentic"
    finally:
        ctx.close()


@pytest.mark.postgres
def test_a_second_workspace_on_the_same_database_verifies_and_sends(
    make_workspace, inbox, pg_url, tmp_path, monkeypatch
):
    today_env(monkeypatch)
    one = _pg_workspace(make_workspace, tmp_path, pg_url, "machine-one")
    two = _pg_workspace(make_workspace, tmp_path, pg_url, "machine-two", smtp=inbox.settings())
    ctx = open_ctx(one)
    try:
        doc = issue_document(ctx, CODE, "acceptance", milestone="M1")
    finally:
        ctx.close()
    data = Path(doc.path).read_bytes()
    Path(doc.path).unlink()  # the issuing machine's disk is not the second machine's
    res = _pmo(two, "docs", "verify", doc.number)
    assert res.returncode == 0 and res.stdout.startswith("AUTHENTIC"), res
    got = tmp_path / "copy.pdf"
    res = _pmo(two, "docs", "get", doc.number, "--out", str(got))
    assert res.returncode == 0 and got.read_bytes() == data, res
    assert _pmo(two, "docs", "get", doc.number, "--out", str(got)).returncode == 2  # never overwrites
    assert _pmo(two, "docs", "verify", str(got)).stdout.startswith("AUTHENTIC")
    ctx = open_ctx(two)
    try:
        assert verify_registered(ctx, doc.number).verdict == "authentic"
        assert document_content(ctx, doc.id)[1] == data
        sent = delivery.deliver_document(ctx, CODE, doc.id)
        assert sent["status"] == "sent", sent
    finally:
        ctx.close()
    attached = [p.get_payload(decode=True) for p in inbox.messages[0].message.walk() if p.get_filename()]
    assert [hashlib.sha256(a).hexdigest() for a in attached] == [doc.sha256]

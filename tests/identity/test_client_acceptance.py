"""The client's answer through the e-mailed link: real SMTP on loopback, real PDFs, SQLite and PostgreSQL."""

from __future__ import annotations

import re
import subprocess
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from lifecycle.domain.model import replace
from lifecycle.errors import InvalidInput, LinkExpired, LinkInvalid, LinkUsed
from lifecycle.services import client_acceptance as ca
from lifecycle.services.context import open_context, open_workspace
from lifecycle.services.delivery import send_document
from lifecycle.services.documents import issue_document
from tests.flows.conftest import Inbox, free_port, sample_project

CODE = "DEMO-1"
REP = "rob@northwind.example"
NOW = "2026-03-30T10:00:00+00:00"


@pytest.fixture
def inbox() -> Any:
    from aiosmtpd.controller import Controller

    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


def make_workspace(root: Path, url: str, smtp: dict[str, Any] | None, monkeypatch: pytest.MonkeyPatch) -> Path:
    from lifecycle.storage.sql import SqlStore

    ws = root / ".pmo"
    ws.mkdir(parents=True)
    settings: dict[str, Any] = {"supplier": {"name": "Acme Delivery"}, "base_url": "https://pmo.example.test"}
    if smtp:
        settings["smtp"] = smtp
    (ws / "settings.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    monkeypatch.setenv("PMO_DATABASE_URL", url)
    monkeypatch.setenv("PMO_NOW", NOW)
    monkeypatch.setenv("PMO_TODAY", NOW[:10])
    monkeypatch.delenv("PMO_USER", raising=False)
    monkeypatch.delenv("PMO_SECRET_KEY", raising=False)
    monkeypatch.delenv("PMO_BASE_URL", raising=False)
    p = sample_project(root / "files")
    ms = replace(p.milestones[0], date=date(2026, 3, 27), status="done", payment_amount=Decimal("25000"))
    store = SqlStore.open(url, create=True)
    try:
        store.save(replace(p, milestones=(ms,)), expected_version=None)
    finally:
        store.close()
    return ws


def ctx_of(ws: Path) -> Any:
    return open_context(open_workspace(str(ws)))


def certificate(ws: Path) -> Any:
    c = ctx_of(ws)
    try:
        return issue_document(c, CODE, "acceptance", milestone="M1")
    finally:
        c.close()


def link_from(inbox: Inbox) -> str:
    body = inbox.messages[-1].message.get_body(("plain",)).get_content()
    m = re.search(r"https://pmo\.example\.test/accept/(\S+)", body)
    assert m, body
    return m.group(1)


ANSWERS = [
    ca.DeliverableAnswer("D1", "accept"),
    ca.DeliverableAnswer("D2", "reject", "Scanning a pallet takes 4 s, <b>not</b> 2 s"),
]


def test_the_emailed_link_takes_one_answer_recorded_signed_off_countersigned_and_sent_back(
    tmp_path, inbox, monkeypatch
):
    ws = make_workspace(tmp_path, f"sqlite:///{tmp_path / 'pmo.db'}", inbox.settings(), monkeypatch)
    doc = certificate(ws)
    c = ctx_of(ws)
    try:
        send_document(c, doc)
    finally:
        c.close()
    assert inbox.messages[0].rcpt_tos == [REP]
    token = link_from(inbox)
    assert (ws / "secret.key").stat().st_mode & 0o777 == 0o600

    c = ctx_of(ws)
    try:
        view = ca.open_link(c, token)
        assert (view.number, view.sha256, view.recipient, view.recipient_name) == (
            doc.number,
            doc.sha256,
            REP,
            "Rob Rep",
        )
        # each criterion as the certificate states it; none has a result yet: not yet verified
        assert [(d.id, tuple((c.text, c.result) for c in d.criteria)) for d in view.deliverables] == [
            ("D1", (("Reviewed by the client", ""),)),
            ("D2", (("UAT passed", ""),)),
        ]
        assert ca.link_pdf(c, token)[:5] == b"%PDF-"
        version = c.store.get(CODE).version
        out = ca.submit_answer(c, token, ANSWERS, " rob  REP ", "192.0.2.7", "Mozilla/5.0 test")
    finally:
        c.close()
    assert out.verdicts == {"D1": "accepted", "D2": "rejected"} and not out.accepted
    assert out.next_event == "acceptance.rejected" and out.problems == ()
    assert sorted(out.emailed) == ["pat@supplier.example", REP]

    c = ctx_of(ws)
    try:
        p = c.store.get(CODE)
        assert p.version == version + 1
        recs = {a.deliverable: a for a in p.acceptance_records}
        assert recs["D1"].verdict == "accepted" and recs["D2"].verdict == "rejected"
        assert recs["D2"].accepted_by == "c-rep" and doc.sha256 in recs["D2"].evidence
        assert [d.status for d in p.deliverables] == ["accepted", "rejected"]
        ia = [a for a in p.improvement_actions if a.id.startswith("IA-D2-CLIENT-")]
        assert len(ia) == 1 and ia[0].owner == "p-dev" and "4 s" in ia[0].description
        assert p.signoffs[-1].contact == "c-rep" and p.signoffs[-1].milestone == "M1"
        signoff = ca.answered(c, CODE)[0]
        assert (signoff["ip"], signoff["user_agent"], signoff["number"], signoff["sha256"]) == (
            "192.0.2.7",
            "Mozilla/5.0 test",
            doc.number,
            doc.sha256,
        )
        trail = c.store.audit(CODE)
        answer = next(e for e in trail if e.action == "client.acceptance")
        assert answer.actor == REP and answer.data["auth_method"] == "client_link"
        assert answer.data["user_id"].startswith("link:")
        counter = next(d for d in c.store.documents(CODE) if d.number == out.countersigned)
        assert counter.record["countersign"]["jti"] == signoff["jti"] and counter.number != doc.number
        assert c.store.verify_audit(CODE) == []
        notes = [r.data for r in c.store.records(CODE, "notification")]
        assert [n["event"] for n in notes] == ["acceptance.rejected"] and notes[0]["payload"]["rejected"] == ["D2"]
    finally:
        c.close()
    text = subprocess.run(["pdftotext", out.countersigned_path, "-"], capture_output=True, text=True, check=True)
    flat = " ".join(text.stdout.split())
    assert "Client's answer (countersigned online)" in flat and "<b>not</b> 2 s" in flat and "192.0.2.7" in flat
    back = inbox.messages[1:]
    assert sorted(m.rcpt_tos[0] for m in back) == ["pat@supplier.example", REP]
    for m in back:
        names = [part.get_filename() for part in m.message.iter_attachments()]
        assert names == [Path(out.countersigned_path).name]
        assert "/accept/" not in m.message.get_body(("plain",)).get_content()  # the copy asks nothing

    c = ctx_of(ws)
    try:
        before = (c.store.get(CODE).version, len(c.store.audit(CODE)))
        with pytest.raises(LinkUsed):
            ca.open_link(c, token)
        with pytest.raises(LinkUsed):
            ca.submit_answer(c, token, ANSWERS, "Rob Rep", "192.0.2.8", "again")
        assert (c.store.get(CODE).version, len(c.store.audit(CODE))) == before
    finally:
        c.close()


def test_bad_tampered_foreign_and_expired_links_record_nothing(tmp_path, monkeypatch):
    ws = make_workspace(tmp_path, f"sqlite:///{tmp_path / 'pmo.db'}", None, monkeypatch)
    doc = certificate(ws)
    c = ctx_of(ws)
    try:
        token = ca.issue_link(c, doc.id, "ROB@northwind.example")
        with pytest.raises(InvalidInput, match="not the client representative"):
            ca.issue_link(c, doc.id, "dana@northwind.example")
        before = (c.store.get(CODE).version, len(c.store.audit(CODE)))
        body, mac = token.split(".")
        flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
        for bad in (f"{flipped}.{mac}", f"{body}.{mac[:-1]}", "garbage", f"{body}.", token + "x"):
            with pytest.raises(LinkInvalid):
                ca.submit_answer(c, bad, ANSWERS, "Rob Rep", "", "")
        foreign = ca.sign_token(b"another workspace's secret", ca.verify_token(ca.workspace_secret(c.workspace), token))
        with pytest.raises(LinkInvalid):
            ca.open_link(c, foreign)
        with pytest.raises(InvalidInput, match="answer each deliverable once"):
            ca.submit_answer(c, token, ANSWERS[:1], "Rob Rep", "", "")
        with pytest.raises(InvalidInput, match="say what is wrong"):
            ca.submit_answer(c, token, [ANSWERS[0], ca.DeliverableAnswer("D2", "reject")], "Rob Rep", "", "")
        with pytest.raises(InvalidInput, match="Rob Rep"):
            ca.submit_answer(c, token, ANSWERS, "Someone Else", "", "")
        assert (c.store.get(CODE).version, len(c.store.audit(CODE))) == before
    finally:
        c.close()
    monkeypatch.setenv("PMO_NOW", "2026-04-13T10:00:00+00:00")  # 14 days later
    c = ctx_of(ws)
    try:
        with pytest.raises(LinkExpired):
            ca.submit_answer(c, token, ANSWERS, "Rob Rep", "", "")
        assert c.store.get(CODE).version == before[0]
    finally:
        c.close()


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_concurrent_answers_exactly_one_wins(tmp_path, monkeypatch, db, request):
    url = f"sqlite:///{tmp_path / 'pmo.db'}" if db == "sqlite" else request.getfixturevalue("pg_url")
    ws = make_workspace(tmp_path, url, None, monkeypatch)
    doc = certificate(ws)
    c = ctx_of(ws)
    try:
        token = ca.issue_link(c, doc.id, REP)
        version = c.store.get(CODE).version
    finally:
        c.close()
    results: list[str] = []
    barrier = threading.Barrier(2)
    contexts = [ctx_of(ws), ctx_of(ws)]

    def answer(n: int) -> None:
        barrier.wait()
        try:
            out = ca.submit_answer(contexts[n], token, ANSWERS, "Rob Rep", f"198.51.100.{n}", f"agent {n}")
            results.append("won" if out.verdicts else "?")
        except LinkUsed:
            results.append("used")

    threads = [threading.Thread(target=answer, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for x in contexts:
        x.close()
    assert sorted(results) == ["used", "won"]
    c = ctx_of(ws)
    try:
        assert c.store.get(CODE).version == version + 1
        assert len(ca.answered(c, CODE)) == 1 and len(c.store.get(CODE).acceptance_records) == 2
        assert [e.action for e in c.store.audit(CODE)].count("client.acceptance") == 1
    finally:
        c.close()

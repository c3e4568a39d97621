"""Delivery services without Prefect: e-mail to a real SMTP server on loopback, webhooks to a local
HTTP server; idempotency keys, refusals and retries, bilingual texts, checks before sending."""

from __future__ import annotations

import hashlib
import io
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter

from lifecycle.domain.model import DocumentRecord, replace
from lifecycle.errors import ConfigError, DeliveryError, InvalidInput, NotFound
from lifecycle.notify.email import message_id_for
from lifecycle.services import delivery, documents
from tests.flows.conftest import free_port, open_ctx, sample_project, today_env


def _pdf(text: str = "acceptance") -> bytes:
    w = PdfWriter()
    w.add_blank_page(width=595, height=842)
    w.add_metadata({"/Title": text})
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def _register(
    ctx: Any, folder: Path, number: str = "DEMO-1-ACC-M1-1", kind: str = "acceptance", lang: str = "en"
) -> DocumentRecord:
    data = _pdf(number)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{number}.pdf"
    path.write_bytes(data)
    doc = DocumentRecord(
        id=number,
        project="DEMO-1",
        kind=kind,
        number=number,
        path=str(path),
        sha256=hashlib.sha256(data).hexdigest(),
        created_at=datetime(2026, 3, 30, tzinfo=timezone.utc),
        lang=lang,
        subject="M1",
        record={"milestone": {"id": "M1", "name": "Go-live"}, "project": {"version": 1}},
    )
    ctx.store.add_document(doc)
    return doc


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    today_env(monkeypatch)


def test_document_is_sent_with_its_pdf_and_read_back(make_workspace, inbox, tmp_path, env):
    ctx = open_ctx(make_workspace(smtp=inbox.settings()))
    try:
        doc = _register(ctx, tmp_path / "docs")
        result = delivery.send_document(ctx, doc)
        assert result["sent_now"] and result["status"] == "sent"
        assert len(inbox.messages) == 1
        got = inbox.messages[0]
        assert got.rcpt_tos == ["rob@northwind.example"]
        assert got.mail_from == "pmo@supplier.example"
        msg = got.message
        assert msg["Message-ID"] == result["message_id"] == message_id_for(result["key"], "supplier.example")
        assert "Rob Rep" in msg["To"] and doc.number in msg["Subject"]
        assert msg["X-PMO-SHA256"] == doc.sha256
        attachments = [part for part in msg.walk() if part.get_filename()]
        assert [a.get_filename() for a in attachments] == [f"{doc.number}.pdf"]
        pdf = attachments[0].get_payload(decode=True)
        assert hashlib.sha256(pdf).hexdigest() == doc.sha256
        assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
        body = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_content()
        # English project: English first, then the Chinese text
        assert body.index("Dear Rob Rep") < body.index("您好")
        assert "Go-live" in body and doc.sha256 in body
        record = ctx.store.get_record("DEMO-1", "delivery", result["key"])
        assert (
            record is not None
            and record.data["status"] == "sent"
            and record.data["to"] == ["Rob Rep <rob@northwind.example>"]
        )
        assert record.data["sha256"] == doc.sha256 and record.data["sent_at"].startswith("2026-03-30T09:00")
        assert [e.action for e in ctx.store.audit("DEMO-1")][-1] == "document.sent"
    finally:
        ctx.close()


def test_sending_twice_sends_once(make_workspace, inbox, tmp_path, env):
    ctx = open_ctx(make_workspace(smtp=inbox.settings()))
    try:
        doc = _register(ctx, tmp_path / "docs")
        first = delivery.send_document(ctx, doc, ["c-rep"])
        again = delivery.send_document(ctx, doc, ["Rob <ROB@northwind.example>"])  # same address, other spelling
        assert first["sent_now"] and not again["sent_now"]
        assert again["message_id"] == first["message_id"]
        assert len(inbox.messages) == 1
        # another recipient is another delivery
        other = delivery.send_document(ctx, doc, ["c-spon"])
        assert other["sent_now"] and len(inbox.messages) == 2
        assert len(delivery.deliveries(ctx, "DEMO-1")) == 2
    finally:
        ctx.close()


def test_refused_then_retried_completes_without_duplicate(make_workspace, inbox, tmp_path, env):
    ctx = open_ctx(make_workspace(smtp=inbox.settings()))
    try:
        doc = _register(ctx, tmp_path / "docs")
        inbox.refuse = 1
        with pytest.raises(DeliveryError, match="451"):
            delivery.send_document(ctx, doc)
        assert inbox.messages == [] and inbox.refused == 1
        failed = delivery.deliveries(ctx, "DEMO-1")
        assert [d["status"] for d in failed] == ["failed"] and failed[0]["attempts"] == 1
        retry = delivery.send_document(ctx, doc)
        assert retry["sent_now"] and retry["attempts"] == 2
        assert delivery.send_document(ctx, doc)["sent_now"] is False
        assert len(inbox.messages) == 1
        assert [d["status"] for d in delivery.deliveries(ctx, "DEMO-1")] == ["sent"]
        actions = [e.action for e in ctx.store.audit("DEMO-1")]
        assert actions.count("document.delivery_failed") == 1 and actions.count("document.sent") == 1
    finally:
        ctx.close()


def test_chinese_project_gets_chinese_subject_and_body_first(make_workspace, inbox, tmp_path, env):
    project = sample_project(tmp_path / "files", locale="zh-CN")
    ctx = open_ctx(make_workspace(smtp=inbox.settings(), project=project))
    try:
        doc = _register(ctx, tmp_path / "docs", lang="zh-CN")
        delivery.send_document(ctx, doc)
        msg = inbox.messages[0].message
        assert str(msg["Subject"]) == "[DEMO-1] 验收单 DEMO-1-ACC-M1-1 — Warehouse scanning rollout"
        body = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_content()
        assert body.index("Rob Rep：您好") < body.index("Dear Rob Rep")
        assert "里程碑：Go-live" in body
        # an English copy of the same project's document goes out in English first
        english = _register(ctx, tmp_path / "docs-en", number="DEMO-1-ACC-M1-2", lang="en")
        delivery.send_document(ctx, english)
        assert str(inbox.messages[1].message["Subject"]).startswith("[DEMO-1] Acceptance certificate DEMO-1-ACC-M1-2")
    finally:
        ctx.close()


def test_a_changed_file_is_never_sent(make_workspace, inbox, tmp_path, env):
    ctx = open_ctx(make_workspace(smtp=inbox.settings()))
    try:
        doc = _register(ctx, tmp_path / "docs")
        Path(doc.path).write_bytes(_pdf("tampered"))
        with pytest.raises(DeliveryError, match="no longer matches its registered checksum"):
            delivery.send_document(ctx, doc)
        Path(doc.path).unlink()
        with pytest.raises(DeliveryError, match="cannot read document"):
            delivery.send_document(ctx, doc)
        os.mkfifo(doc.path)  # a named pipe in the file's place is refused at once, never opened to block
        with pytest.raises(DeliveryError, match="is a named pipe, not a regular file"):
            delivery.send_document(ctx, doc)
        with pytest.raises(NotFound, match="no intact copy"):  # nor does reading or verifying it block
            documents.document_content(ctx, doc.id)
        with pytest.raises(NotFound, match="no copy in the database"):
            documents.verify_registered(ctx, doc.id)
        assert inbox.messages == []
    finally:
        ctx.close()


def test_unreachable_server_is_a_delivery_error(make_workspace, tmp_path, env):
    settings = {"host": "127.0.0.1", "port": free_port(), "from": "pmo@supplier.example", "timeout": 3}
    ctx = open_ctx(make_workspace(smtp=settings))
    try:
        doc = _register(ctx, tmp_path / "docs")
        with pytest.raises(DeliveryError, match=r"cannot send e-mail through 127\.0\.0\.1"):
            delivery.send_document(ctx, doc)
        assert delivery.deliveries(ctx, "DEMO-1")[0]["status"] == "failed"
    finally:
        ctx.close()


def test_recipients_and_settings_are_checked(make_workspace, inbox, tmp_path, env, monkeypatch):
    project = sample_project(tmp_path / "files")
    project = replace(project, contacts=(*project.contacts[:1], replace(project.contacts[1], email="")))
    ctx = open_ctx(make_workspace(smtp=inbox.settings(), project=project))
    try:
        doc = _register(ctx, tmp_path / "docs")
        with pytest.raises(InvalidInput, match=r"c-rep \(Rob Rep\) has no e-mail address"):
            delivery.send_document(ctx, doc)
        with pytest.raises(InvalidInput, match="neither an e-mail address nor a contact"):
            delivery.send_document(ctx, doc, ["nobody"])
        with pytest.raises(InvalidInput, match="not an e-mail address"):
            delivery.send_document(ctx, doc, ["rob@"])
        pairs = delivery.resolve_recipients(ctx.store.get("DEMO-1"), ["p-pm", "x@y.example", "pat@supplier.example"])
        assert pairs == [("Pat Manager", "pat@supplier.example"), ("", "x@y.example")]
        from lifecycle.notify.email import SmtpConfig

        with pytest.raises(ConfigError, match="no SMTP server configured"):
            SmtpConfig.from_settings({})
        with pytest.raises(ConfigError, match=r"unknown smtp setting\(s\): hots"):
            SmtpConfig.from_settings({"hots": "x", "host": "y"})
        with pytest.raises(ConfigError, match="starttls or ssl"):
            SmtpConfig.from_settings({"host": "x", "starttls": True, "ssl": True})
        monkeypatch.delenv("PMO_TEST_SMTP_PW", raising=False)
        with pytest.raises(ConfigError, match="PMO_TEST_SMTP_PW"):
            SmtpConfig.from_settings({"host": "x", "password_env": "PMO_TEST_SMTP_PW"})
        monkeypatch.setenv("PMO_TEST_SMTP_PW", "s3cret")
        cfg = SmtpConfig.from_settings({"host": "x", "password_env": "PMO_TEST_SMTP_PW", "ssl": True})
        assert cfg.password == "s3cret" and cfg.port == 465
    finally:
        ctx.close()


def test_webhook_is_posted_once_and_retried_after_a_failure(make_workspace, hooks, env):
    ctx = open_ctx(make_workspace(webhook={"url": hooks.url, "timeout": 5}))
    try:
        payload = {
            "from_phase": "execution",
            "to_phase": "control",
            "decision": "go",
            "advanced": True,
            "to": ["Pat Manager", "Dana Sponsor"],
        }
        hooks.fail = 1
        with pytest.raises(DeliveryError, match="answered 503"):
            delivery.notify(ctx, "DEMO-1", "gate.reviewed", payload)
        sent = delivery.notify(ctx, "DEMO-1", "gate.reviewed", payload)
        again = delivery.notify(ctx, "DEMO-1", "gate.reviewed", payload)
        assert sent["sent_now"] and sent["attempts"] == 2 and not again["sent_now"]
        assert len(hooks.bodies) == 1
        body = hooks.bodies[0]
        assert body["event"] == "gate.reviewed" and body["project"] == "DEMO-1"
        assert body["payload"]["decision"] == "go"
        assert body["text"].splitlines() == [
            "[DEMO-1] gate execution → control: go, advanced",
            "[DEMO-1] 阶段评审 execution → control：通过，已进入下一阶段",
        ]
        assert hooks.headers[0]["Idempotency-Key"] == sent["key"]
        records = ctx.store.records("DEMO-1", "notification")
        assert [r.data["status"] for r in records] == ["sent"]
        assert "hooks" not in str(records[0].data)  # the URL (it may hold a token) is not stored
    finally:
        ctx.close()


def test_without_webhook_notifications_are_recorded_as_skipped(make_workspace, env):
    ctx = open_ctx(make_workspace())
    try:
        out = delivery.notify(ctx, "DEMO-1", "project.closed", {"review": "DEMO-1-GR-004"})
        assert out["status"] == "skipped" and out["reason"] == "no webhook configured"
        assert delivery.notify(ctx, "DEMO-1", "project.closed", {"review": "DEMO-1-GR-004"})["sent_now"] is False
        assert len(ctx.store.records("DEMO-1", "notification")) == 1
    finally:
        ctx.close()


def test_webhook_settings_are_checked():
    from lifecycle.notify.webhook import WebhookConfig

    assert WebhookConfig.from_settings({}) is None
    with pytest.raises(ConfigError, match="http or https"):
        WebhookConfig.from_settings({"url": "file:///etc/passwd"})
    with pytest.raises(ConfigError, match="unknown webhook setting"):
        WebhookConfig.from_settings({"url": "http://x", "retries": 3})
    cfg = WebhookConfig.from_settings({"url": "https://chat.example/hook", "events": ["gate.reviewed"]})
    assert cfg is not None and cfg.wants("gate.reviewed") and not cfg.wants("portfolio.alert")


def test_unreachable_webhook_is_a_delivery_error(make_workspace, env):
    ctx = open_ctx(make_workspace(webhook={"url": f"http://127.0.0.1:{free_port()}/x", "timeout": 3}))
    try:
        with pytest.raises(DeliveryError, match="could not be reached"):
            delivery.notify(ctx, "DEMO-1", "project.closed", {})
        assert ctx.store.records("DEMO-1", "notification")[0].data["status"] == "failed"
    finally:
        ctx.close()

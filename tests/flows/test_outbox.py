"""The e-mail outbox against a real SMTP server on loopback, on SQLite and on PostgreSQL.

* A sender killed (SIGKILL) after the server received the whole message and before it could record
  the send: the retry sends nothing and reports the row ``uncertain``; ``pmo outbox`` shows it; only
  ``pmo outbox resend ID --reason ...`` by the project's PM sends it again, and the audit trail says who
  and why.
* A refusal for good (5xx) is ``failed`` and never retried; a transient one (4xx) is retried and the
  message arrives exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli
from lifecycle.domain.model import replace
from lifecycle.errors import DeliveryError, DeliveryRefused, DeliveryUncertain
from lifecycle.services import delivery, identity, outbox
from tests.flows.conftest import Inbox, Received, free_port, open_ctx, sample_project, smtp_server, today_env
from tests.flows.test_delivery import _register

ROOT = Path(__file__).resolve().parents[2]
NUMBER = "DEMO-1-ACC-M1-1"

SENDER = """
import sys
from lifecycle.services import delivery
from lifecycle.services.context import open_context, open_workspace

with open_context(open_workspace(sys.argv[1])) as ctx:
    delivery.send_document(ctx, delivery.find_document(ctx, "DEMO-1", sys.argv[2]))
print("recorded")
"""


@dataclass
class ScriptedInbox(Inbox):
    """The test inbox, plus: ``replies`` answer the next messages (e.g. a 550) instead of 250; with
    ``hold`` set, the server signals ``received`` once it has the whole message and keeps its final
    reply until ``release`` is set."""

    replies: list[str] = field(default_factory=list)
    hold: bool = False
    received: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    attempts: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        if self.replies:
            return self.replies.pop(0)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        if self.hold:
            self.received.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[ScriptedInbox]:
    box = ScriptedInbox()
    try:
        with smtp_server(box):
            yield box
    finally:
        box.release.set()  # a held reply never keeps the server from stopping


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ws(request: pytest.FixtureRequest, make_workspace: Any, smtp: ScriptedInbox, tmp_path: Path, monkeypatch) -> Path:
    """A workspace e-mailing through ``smtp``, its database SQLite or (PMO_DATABASE_URL) PostgreSQL."""
    today_env(monkeypatch)
    monkeypatch.delenv("PMO_USER", raising=False)
    monkeypatch.delenv("PMO_DATABASE_URL", raising=False)
    folder = make_workspace(smtp={**smtp.settings(), "timeout": 5})
    if request.param == "postgres":
        from lifecycle.storage.sql import SqlStore

        url = request.getfixturevalue("pg_url")
        store = SqlStore.open(url, create=True)
        try:
            store.save(sample_project(tmp_path / "files"), expected_version=None)
        finally:
            store.close()
        monkeypatch.setenv("PMO_DATABASE_URL", url)
    monkeypatch.setenv("PMO_WORKSPACE", str(folder))
    return folder


def _pmo(*args: str, user: str = "") -> Any:
    env = {"PMO_USER": user} if user else {}
    return CliRunner().invoke(cli, list(args), env=env)


def _rows(ctx: Any) -> list[Any]:
    return ctx.store.outbox_rows("DEMO-1")


def test_a_send_killed_after_the_server_got_it_is_never_resent_blindly(ws, smtp, tmp_path):
    ctx = open_ctx(ws)
    try:
        doc = _register(ctx, tmp_path / "docs", number=NUMBER)
        identity.create_user(ctx, email="pat@supplier.example", name="Pat Manager")  # the PM (p-pm)
        identity.create_user(ctx, email="dev@supplier.example", name="Dev One")  # team: may not resend
    finally:
        ctx.close()
    smtp.hold = True
    proc = subprocess.Popen(
        [sys.executable, "-c", SENDER, str(ws), NUMBER],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert smtp.received.wait(60), proc.communicate(timeout=5)
        os.kill(proc.pid, signal.SIGKILL)  # the server has the message; the sender has not recorded it
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    out = proc.stdout.read() if proc.stdout else b""
    assert proc.returncode == -signal.SIGKILL and b"recorded" not in out
    smtp.hold = False
    smtp.release.set()
    assert len(smtp.messages) == 1
    message_id = smtp.messages[0].message["Message-ID"]

    ctx = open_ctx(ws)
    try:
        [row] = _rows(ctx)
        assert row.state == "sending" and row.attempts == 1 and row.message_id == message_id
        # the flow's retry: nothing is sent, the row is reported as possibly delivered
        result = delivery.deliver_document(ctx, "DEMO-1", NUMBER)
        assert result["status"] == "uncertain" and not result["sent_now"]
        assert "may have been delivered" in result["reason"]
        assert f"pmo outbox resend {row.id}" in result["reason"]
        with pytest.raises(DeliveryUncertain, match="not sent again automatically"):
            delivery.send_document(ctx, doc)
        assert len(smtp.messages) == 1 and smtp.attempts == 1
        [row] = _rows(ctx)
        assert row.state == "uncertain" and row.attempts == 1
        assert [e.action for e in ctx.store.audit("DEMO-1")].count("document.delivery_uncertain") == 1
    finally:
        ctx.close()

    listing = _pmo("outbox", "DEMO-1")
    assert listing.exit_code == 0, listing.output
    line = next(x for x in listing.output.splitlines() if NUMBER in x)
    assert "uncertain" in line and "rob@northwind.example" in line and line.split()[0] == str(row.id)
    assert f"e-mail {row.id} may have been delivered" in listing.output
    assert "pmo outbox resend" in listing.output
    js = _pmo("outbox", "--state", "uncertain", "--json")
    assert js.exit_code == 0 and f'"id": {row.id}' in js.output and '"state": "uncertain"' in js.output

    # a resend is a decision: a reason is required, and a team member may not take it
    assert _pmo("outbox", "resend", str(row.id), user="pat@supplier.example").exit_code == 2
    refused = _pmo("outbox", "resend", str(row.id), "--reason", "client asked", user="dev@supplier.example")
    assert refused.exit_code == 1 and "may not generate documents on DEMO-1" in refused.output
    nobody = _pmo("outbox", "resend", str(row.id), "--reason", "client asked")
    assert nobody.exit_code == 1 and "nobody is signed in" in nobody.output
    assert len(smtp.messages) == 1

    done = _pmo("outbox", "resend", str(row.id), "--reason", "client has not received it", user="pat@supplier.example")
    assert done.exit_code == 0, done.output
    assert f"sent {NUMBER} again to Rob Rep <rob@northwind.example>" in done.output
    assert len(smtp.messages) == 2 and smtp.messages[1].message["Message-ID"] == message_id
    again = _pmo("outbox", "resend", str(row.id), "--reason", "twice", user="pat@supplier.example")
    assert again.exit_code == 2 and "is sent: only a failed or uncertain" in again.output

    ctx = open_ctx(ws)
    try:
        [row] = _rows(ctx)
        assert row.state == "sent" and row.attempts == 2
        events = ctx.store.audit("DEMO-1")
        resend = next(e for e in events if e.action == "document.resend")
        assert resend.actor == "pat@supplier.example"
        assert resend.data["reason"] == "client has not received it" and resend.data["previous_state"] == "uncertain"
        assert resend.data["auth_method"] == "env" and resend.data["outbox"] == row.id
        actions = [e.action for e in events]
        assert actions.index("document.resend") < actions.index("document.sent")
        assert ctx.store.verify_audit("DEMO-1") == []
        # and now it is done: a further send returns the record and sends nothing
        assert delivery.send_document(ctx, doc)["sent_now"] is False
        assert len(smtp.messages) == 2
    finally:
        ctx.close()


def test_a_refusal_for_good_is_failed_and_never_retried(ws, smtp, tmp_path):
    ctx = open_ctx(ws)
    try:
        doc = _register(ctx, tmp_path / "docs", number=NUMBER)
        smtp.replies = ["550 5.1.1 mailbox unavailable"]
        with pytest.raises(DeliveryRefused, match="550"):
            delivery.send_document(ctx, doc)
        [row] = _rows(ctx)
        assert row.state == "failed" and row.attempts == 1 and "550" in row.last_error
        # the flow's retry does not reach the server again
        result = delivery.deliver_document(ctx, "DEMO-1", NUMBER)
        assert result["status"] == "failed" and "refused for good" in result["reason"]
        assert f"pmo outbox resend {row.id}" in result["reason"]
        with pytest.raises(DeliveryRefused):
            delivery.send_document(ctx, doc)
        assert smtp.attempts == 1 and smtp.messages == []
        [row] = _rows(ctx)
        assert row.state == "failed" and row.attempts == 1
        failed = [e for e in ctx.store.audit("DEMO-1") if e.action == "document.delivery_failed"]
        assert len(failed) == 1 and failed[0].data["permanent"] is True
    finally:
        ctx.close()
    listing = _pmo("outbox", "--state", "failed")
    assert listing.exit_code == 0 and "failed" in listing.output and "550" in listing.output
    js = _pmo("outbox", "DEMO-1", "--json")
    assert js.exit_code == 0 and "550 5.1.1 mailbox unavailable" in js.output
    none = _pmo("outbox", "DEMO-1", "--state", "sent")
    assert none.output.strip() == "no e-mails in the outbox of DEMO-1 in state sent"
    # in a workspace without accounts its owner decides; the mailbox works again
    done = _pmo("outbox", "resend", str(row.id), "--reason", "the client fixed the mailbox")
    assert done.exit_code == 0, done.output
    assert smtp.attempts == 2 and len(smtp.messages) == 1


def test_a_transient_refusal_is_retried_and_sent_exactly_once(ws, smtp, tmp_path):
    ctx = open_ctx(ws)
    try:
        doc = _register(ctx, tmp_path / "docs", number=NUMBER)
        smtp.replies = ["451 4.3.0 Mailbox busy, try again later"]
        with pytest.raises(DeliveryError, match="451") as err:
            delivery.send_document(ctx, doc)
        assert not isinstance(err.value, (DeliveryRefused, DeliveryUncertain))
        [row] = _rows(ctx)
        assert row.state == "pending" and row.attempts == 1 and "451" in row.last_error
        retry = delivery.send_document(ctx, doc)
        assert retry["sent_now"] and retry["attempts"] == 2 and retry["outbox"] == row.id
        assert delivery.send_document(ctx, doc)["sent_now"] is False
        assert delivery.deliver_document(ctx, "DEMO-1", NUMBER)["sent_now"] is False
        assert smtp.attempts == 2 and len(smtp.messages) == 1
        [row] = _rows(ctx)
        assert row.state == "sent" and row.attempts == 2 and row.last_error == ""
        # an attempt that read the row while it was sending, and finds it sent when it marks it: no alarm
        stale = replace(row, state="sending")
        assert outbox.check_earlier(ctx, stale) == row
        assert not any(e.action == "document.delivery_uncertain" for e in ctx.store.audit("DEMO-1"))
    finally:
        ctx.close()


def test_an_unreachable_server_leaves_the_row_pending(ws, smtp, tmp_path, monkeypatch):
    ctx = open_ctx(ws)
    try:
        doc = _register(ctx, tmp_path / "docs", number=NUMBER)
        ctx.workspace.settings.smtp = {**smtp.settings(), "port": free_port(), "timeout": 3}
        with pytest.raises(DeliveryError, match="cannot send e-mail") as err:
            delivery.send_document(ctx, doc)
        assert not isinstance(err.value, DeliveryRefused)
        [row] = _rows(ctx)
        assert row.state == "pending" and row.message_id.startswith("<pmo.")
        # the row was written, with its Message-ID, before the connection was tried
        assert _pmo("outbox", "resend", str(row.id), "--reason", "x").exit_code == 2
    finally:
        ctx.close()


def test_a_connection_lost_after_the_message_went_out_is_uncertain(ws, smtp, tmp_path):
    """The server has the whole message but its answer never comes (the client times out): it may have
    been delivered, so the row is uncertain and the retry sends nothing."""
    ctx = open_ctx(ws)
    try:
        doc = _register(ctx, tmp_path / "docs", number=NUMBER)
        ctx.workspace.settings.smtp = {**smtp.settings(), "timeout": 1}
        smtp.hold = True
        with pytest.raises(DeliveryUncertain, match="may have been delivered") as err:
            delivery.send_document(ctx, doc)
        assert "pmo outbox resend" in str(err.value)
        smtp.release.set()
        [row] = _rows(ctx)
        assert row.state == "uncertain" and row.attempts == 1
        assert delivery.deliver_document(ctx, "DEMO-1", NUMBER)["status"] == "uncertain"
        assert smtp.attempts == 1 and len(smtp.messages) == 1
        record = ctx.store.get_record("DEMO-1", "delivery", row.key)
        assert record is not None and record.data["status"] == "uncertain"
    finally:
        ctx.close()


def test_a_failure_after_the_server_accepted_the_message_is_no_failure(make_workspace, tmp_path, monkeypatch):
    """The server answers 250 to the message, then something odd to QUIT: the message is delivered."""
    today_env(monkeypatch)

    class RudeQuit(ScriptedInbox):
        async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
            return "421 closing down"

    box = RudeQuit()
    with smtp_server(box):
        ctx = open_ctx(make_workspace(smtp=box.settings()))
        try:
            doc = _register(ctx, tmp_path / "docs", number=NUMBER)
            assert delivery.send_document(ctx, doc)["sent_now"] is True
            assert [r.state for r in _rows(ctx)] == ["sent"] and len(box.messages) == 1
        finally:
            ctx.close()

"""E-mail with hostile project data and refusing servers: header values come only from checked addresses
and encoded, one-line names (a CR/LF in a contact's or project's name adds no header); an address is
exactly one ``name@domain`` with no control characters; a delivery error says whether it is permanent
(5xx SMTP refusals, 4xx webhook answers, redirects) or transient (4xx SMTP, 5xx HTTP, no connection),
is recorded so, and permanent ones are not retried (see also the flow test in test_flows_embedded)."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from lifecycle.domain.model import replace
from lifecycle.errors import DeliveryError, DeliveryRefused, InvalidInput
from lifecycle.notify.email import check_addresses
from lifecycle.notify.webhook import WebhookConfig, post_json
from lifecycle.services import delivery
from tests.flows.conftest import free_port, http_server, open_ctx, sample_project, today_env
from tests.flows.test_delivery import _register


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    today_env(monkeypatch)


def test_cr_lf_in_names_adds_no_header(make_workspace, inbox, tmp_path, env):
    project = sample_project(tmp_path / "files")
    rep = replace(project.contacts[1], name="Rob\r\nBcc: spy@evil.example\r\nX-Injected: 1")
    project = replace(
        project,
        charter=replace(project.charter, name="Portal\r\nBcc: spy@evil.example"),
        contacts=(project.contacts[0], rep),
    )
    ctx = open_ctx(make_workspace(smtp=inbox.settings(), project=project))
    try:
        doc = _register(ctx, tmp_path / "docs")
        assert delivery.send_document(ctx, doc)["sent_now"]
    finally:
        ctx.close()
    [got] = inbox.messages
    assert got.rcpt_tos == ["rob@northwind.example"]
    msg = got.message
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    assert "\n" not in str(msg["To"]) and "\n" not in str(msg["Subject"])
    assert msg["To"].addresses[0].addr_spec == "rob@northwind.example"
    head = got.raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    assert b"spy@evil.example" not in head.replace(b"\r\n ", b" ").split(b"To:")[0]
    assert not any(line.lower().startswith((b"bcc:", b"x-injected:")) for line in head.splitlines())


@pytest.mark.parametrize(
    "raw",
    [
        "rob@northwind.example\r\nBcc: spy@evil.example",
        "rob@northwind.example\nX-Injected: 1",
        "rob@north wind.example",
        "rob@northwind.example, spy@evil.example",
        "Rob <rob@northwind.example>\x00",
        "@northwind.example",
    ],
)
def test_an_address_is_exactly_one_address(raw):
    with pytest.raises(InvalidInput, match="is not an e-mail address"):
        check_addresses([raw])


def test_a_5xx_refusal_is_permanent_and_recorded_so(make_workspace, inbox, tmp_path, env):
    ctx = open_ctx(make_workspace(smtp=inbox.settings()))
    try:
        doc = _register(ctx, tmp_path / "docs")
        inbox.reject = 1
        with pytest.raises(DeliveryError, match="550") as exc:
            delivery.send_document(ctx, doc)
        assert exc.value.permanent
        [record] = delivery.deliveries(ctx, "DEMO-1")
        assert record["status"] == "failed" and record["permanent"] is True
        assert ctx.store.audit("DEMO-1")[-1].data["permanent"] is True
        # refused for good: a later attempt does not contact the server again (the outbox says why)
        inbox.refuse = 1
        with pytest.raises(DeliveryError, match="not sent again automatically") as exc:
            delivery.send_document(ctx, doc)
        assert exc.value.permanent and inbox.refuse == 1 and not inbox.messages  # the 451 was never asked for
    finally:
        ctx.close()


def test_a_4xx_refusal_is_transient(make_workspace, inbox, tmp_path, env):
    ctx = open_ctx(make_workspace(smtp=inbox.settings()))
    try:
        doc = _register(ctx, tmp_path / "docs")
        inbox.refuse = 1
        with pytest.raises(DeliveryError, match="451") as exc:
            delivery.send_document(ctx, doc)
        assert not exc.value.permanent
        assert delivery.send_document(ctx, doc)["sent_now"] and len(inbox.messages) == 1
    finally:
        ctx.close()


def test_the_flag_survives_pickling():
    again = pickle.loads(pickle.dumps(DeliveryError("550 no", permanent=True)))
    assert isinstance(again, DeliveryError) and again.permanent and str(again) == "550 no"
    assert pickle.loads(pickle.dumps(DeliveryError("timeout"))).permanent is False
    refused = pickle.loads(pickle.dumps(DeliveryRefused("550 no")))
    assert type(refused) is DeliveryRefused and refused.permanent


@pytest.fixture
def answering() -> Iterator[tuple[str, list[int]]]:
    """A webhook receiver answering each post with the next status of the list."""
    statuses: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(statuses.pop(0))
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    with http_server(Handler) as base:
        yield f"{base}/hook", statuses


@pytest.mark.parametrize(
    ("status", "permanent"), [(400, True), (401, True), (404, True), (302, True), (429, False), (503, False)]
)
def test_webhook_answers_are_permanent_or_transient(answering, status, permanent):
    url, statuses = answering
    statuses.append(status)
    cfg = WebhookConfig.from_settings({"url": url, "allow_local": True, "timeout": 5})
    assert cfg is not None
    with pytest.raises(DeliveryError, match=f"answered {status}") as exc:
        post_json(cfg, {"event": "x"})
    assert exc.value.permanent is permanent


def test_no_connection_is_transient(env):
    cfg = WebhookConfig.from_settings({"url": f"http://127.0.0.1:{free_port()}/x", "allow_local": True})
    assert cfg is not None
    with pytest.raises(DeliveryError, match="could not be reached") as exc:
        post_json(cfg, {"event": "x"})
    assert exc.value.permanent is False

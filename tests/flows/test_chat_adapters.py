"""Chat adapters end to end: each format posted by the delivery service to a receiver on loopback that
checks the body the way the chat tool does (required fields, types) and verifies DingTalk's and
Feishu's signed-request secrets; a wrong secret is refused like the tool refuses it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from lifecycle.errors import ConfigError, DeliveryError
from lifecycle.notify.chat import escape_markdown, escape_slack, render
from lifecycle.notify.webhook import WebhookConfig
from lifecycle.services import delivery
from tests.flows.conftest import open_ctx, today_env

SECRET = "SEC-test-secret-0123456789"


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise ValueError(what)


def _check_wecom(query: dict[str, list[str]], body: dict[str, Any]) -> None:
    _need(body.get("msgtype") == "markdown", "msgtype must be markdown")
    content = body.get("markdown", {}).get("content")
    _need(isinstance(content, str) and 0 < len(content.encode()) <= 4096, "markdown.content: 1..4096 bytes")


def _check_dingtalk(query: dict[str, list[str]], body: dict[str, Any]) -> None:
    ts, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
    _need(abs(int(ts) - time.time() * 1000) < 3_600_000, "timestamp is more than an hour off")
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest())
    _need(hmac.compare_digest(sign.encode(), expected), "sign does not match")
    _need(body.get("msgtype") == "markdown", "msgtype must be markdown")
    md = body.get("markdown", {})
    _need(isinstance(md.get("title"), str) and isinstance(md.get("text"), str), "markdown.title and .text")


def _check_feishu(query: dict[str, list[str]], body: dict[str, Any]) -> None:
    ts, sign = str(body.get("timestamp", "")), str(body.get("sign", ""))
    _need(abs(int(ts) - time.time()) < 3600, "timestamp is more than an hour off")
    expected = base64.b64encode(hmac.new(f"{ts}\n{SECRET}".encode(), b"", hashlib.sha256).digest())
    _need(hmac.compare_digest(sign.encode(), expected), "sign does not match")
    _need(body.get("msg_type") == "interactive", "msg_type must be interactive")
    card = body.get("card", {})
    _need(card.get("header", {}).get("title", {}).get("tag") == "plain_text", "card.header.title")
    _need(all("tag" in e for e in card.get("elements", [])) and card.get("elements"), "card.elements with tags")


def _check_slack(query: dict[str, list[str]], body: dict[str, Any]) -> None:
    _need(isinstance(body.get("text"), str) and body["text"], "text is the notification fallback")
    blocks = body.get("blocks", [])
    _need(blocks and blocks[0].get("type") == "section", "first block is a section")
    _need(blocks[0]["text"].get("type") == "mrkdwn", "section text is mrkdwn")


def _check_teams(query: dict[str, list[str]], body: dict[str, Any]) -> None:
    _need(body.get("type") == "message", "type must be message")
    att = body.get("attachments", [])
    _need(len(att) == 1 and att[0].get("contentType") == "application/vnd.microsoft.card.adaptive", "one card")
    card = att[0]["content"]
    _need(card.get("type") == "AdaptiveCard" and card.get("version"), "an AdaptiveCard with a version")
    _need(any(b.get("type") == "FactSet" for b in card.get("body", [])), "a FactSet")


CHECKS: dict[str, Callable[[dict[str, list[str]], dict[str, Any]], None]] = {
    "wecom": _check_wecom,
    "dingtalk": _check_dingtalk,
    "feishu": _check_feishu,
    "slack": _check_slack,
    "teams": _check_teams,
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    today_env(monkeypatch)


@dataclass
class Receiver:
    base: str = ""
    accepted: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            fmt = parts.path.strip("/")
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode("utf-8"))
            try:
                CHECKS[fmt](parse_qs(parts.query), body)
            except (ValueError, KeyError, TypeError) as exc:
                box.refused.append(f"{fmt}: {exc}")
                self.send_response(400)
                self.end_headers()
                self.wfile.write(json.dumps({"errcode": 310000, "errmsg": str(exc)}).encode())
                return
            box.accepted.setdefault(fmt, []).append(body)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"errcode": 0}')

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    box.base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


PAYLOAD = {"from_phase": "planning", "to_phase": "execution", "decision": "no_go", "advanced": False, "to": []}


@pytest.mark.parametrize("fmt", sorted(CHECKS))
def test_each_format_is_accepted_by_its_receiver(fmt, make_workspace, receiver, env, monkeypatch):
    monkeypatch.setenv("PMO_TEST_CHAT_SECRET", SECRET)
    hook: dict[str, Any] = {"url": f"{receiver.base}/{fmt}?access_token=abc", "format": fmt, "timeout": 5}
    if fmt in ("dingtalk", "feishu"):
        hook["secret_env"] = "PMO_TEST_CHAT_SECRET"
    ctx = open_ctx(make_workspace(webhook=hook))
    try:
        out = delivery.notify(ctx, "DEMO-1", "gate.reviewed", PAYLOAD)
    finally:
        ctx.close()
    assert out["status"] == "sent" and receiver.refused == []
    body = receiver.accepted[fmt][0]
    plain = json.dumps(body, ensure_ascii=False).replace("\\\\", "").replace("\u200b", "")
    assert "DEMO-1" in plain and "no_go" in plain and "gate.reviewed" in plain


@pytest.mark.parametrize("fmt", ["dingtalk", "feishu"])
def test_a_wrong_secret_is_refused_and_recorded_as_failed(fmt, make_workspace, receiver, env, monkeypatch):
    monkeypatch.setenv("PMO_TEST_CHAT_SECRET", "not-the-secret")
    hook = {"url": f"{receiver.base}/{fmt}", "format": fmt, "timeout": 5, "secret_env": "PMO_TEST_CHAT_SECRET"}
    ctx = open_ctx(make_workspace(webhook=hook))
    try:
        with pytest.raises(DeliveryError, match="answered 400"):
            delivery.notify(ctx, "DEMO-1", "gate.reviewed", PAYLOAD)
        records = ctx.store.records("DEMO-1", "notification")
        assert [r.data["status"] for r in records] == ["failed"]
    finally:
        ctx.close()
    assert receiver.refused == [f"{fmt}: sign does not match"]


def test_hostile_names_stay_text_in_every_format():
    hostile = {
        "event": "gate.reviewed",
        "project": "X-1",
        "project_name": "[click](http://evil.example) <!channel> *bold* <b>",
        "text": "see ![img](http://evil.example/i.png)",
        "payload": {},
        "link": "http://127.0.0.1:8700/projects/X-1",
    }
    for fmt in sorted(CHECKS):
        body = render(fmt, "http://127.0.0.1/x", hostile, now_s=0).body
        # titles shown as plain text by the tool itself (never parsed as markup) are left as they are
        body.get("markdown", {}).pop("title", None)
        body.get("card", {}).pop("header", None)
        dumped = json.dumps(body, ensure_ascii=False)
        if fmt == "slack":  # mrkdwn links are <url|text>; [text](url) is plain text there
            assert "<http://evil" not in dumped
        else:
            assert "[click](http" not in dumped and "![img](" not in dumped, fmt
        assert "<!channel>" not in dumped, fmt
        assert "http://127.0.0.1:8700/projects/X-1" in dumped, fmt  # our own link stays a link
    assert escape_markdown("a_b [c](d)") == "a\\_b \\[c\\]\\(d\\)"
    assert escape_slack("<!here> & *x*") == "&lt;!here&gt; &amp; \u200b*\u200bx\u200b*\u200b"


def test_format_settings_are_checked(monkeypatch):
    with pytest.raises(ConfigError, match=r"webhook\.format 'telegram' is not one of"):
        WebhookConfig.from_settings({"url": "http://127.0.0.1/x", "format": "telegram"})
    with pytest.raises(ConfigError, match="only used with format dingtalk or feishu"):
        WebhookConfig.from_settings({"url": "http://127.0.0.1/x", "format": "slack", "secret_env": "X"})
    monkeypatch.delenv("PMO_TEST_CHAT_SECRET", raising=False)
    with pytest.raises(ConfigError, match="PMO_TEST_CHAT_SECRET, which is not set"):
        WebhookConfig.from_settings(
            {"url": "http://127.0.0.1/x", "format": "feishu", "secret_env": "PMO_TEST_CHAT_SECRET"}
        )
    monkeypatch.setenv("PMO_TEST_CHAT_SECRET", SECRET)
    cfg = WebhookConfig.from_settings(
        {"url": "http://127.0.0.1/x", "format": "feishu", "secret_env": "PMO_TEST_CHAT_SECRET"}
    )
    assert cfg is not None and cfg.secret == SECRET and SECRET not in repr(cfg)

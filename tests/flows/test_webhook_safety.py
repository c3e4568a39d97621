"""Webhook safety: redirects are not followed (the bearer token never reaches another host), loopback
and link-local receivers need an explicit setting, and cloud metadata addresses are always refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from lifecycle.errors import ConfigError, DeliveryError
from lifecycle.notify.webhook import WebhookConfig, check_destination, post_json
from lifecycle.services import delivery
from tests.flows.conftest import open_ctx, today_env


def _server(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, threading.Thread]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def two_hosts() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A receiver that redirects every post to a second receiver, which records what reaches it."""
    seen: list[dict[str, str]] = []

    class Second(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(dict(self.headers))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    second, t2 = _server(Second)
    target = f"http://127.0.0.1:{second.server_address[1]}/steal"

    class First(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(307)  # 307 keeps the method and body: the worst case
            self.send_header("Location", target)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    first, t1 = _server(First)
    try:
        yield f"http://127.0.0.1:{first.server_address[1]}/hook", seen
    finally:
        for s, t in ((first, t1), (second, t2)):
            s.shutdown()
            s.server_close()
            t.join(5)


def test_a_redirect_is_a_failure_and_the_token_stays_home(two_hosts, monkeypatch):
    url, seen = two_hosts
    monkeypatch.setenv("PMO_TEST_HOOK_TOKEN", "t0ken")
    cfg = WebhookConfig.from_settings({"url": url, "token_env": "PMO_TEST_HOOK_TOKEN", "allow_local": True})
    assert cfg is not None
    with pytest.raises(DeliveryError, match=r"answered 307, a redirect to 127\.0\.0\.1:[0-9]+: not followed"):
        post_json(cfg, {"event": "x"})
    assert seen == []


def test_a_redirected_notification_is_recorded_as_failed_not_sent(two_hosts, make_workspace, monkeypatch):
    today_env(monkeypatch)
    url, seen = two_hosts
    ctx = open_ctx(make_workspace(webhook={"url": url, "timeout": 5}))
    try:
        with pytest.raises(DeliveryError, match="not followed"):
            delivery.notify(ctx, "DEMO-1", "project.closed", {"review": "R-1"})
        assert [r.data["status"] for r in ctx.store.records("DEMO-1", "notification")] == ["failed"]
    finally:
        ctx.close()
    assert seen == []


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("http://127.0.0.1:9/x", "a loopback address"),
        ("http://localhost:9/x", "a loopback address"),
        ("http://[::1]:9/x", "a loopback address"),
        ("http://169.254.10.1/x", "a link-local address"),
        ("http://0.0.0.0:9/x", "an unspecified address"),
    ],
)
def test_local_receivers_need_the_setting(url, what):
    with pytest.raises(ConfigError, match=f"{what}: not posted; set webhook.allow_local: true"):
        check_destination(url, allow_local=False)
    check_destination(url, allow_local=True)  # allowed when the workspace says so


def test_the_metadata_address_is_always_refused():
    for url in ("http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/"):
        with pytest.raises(ConfigError, match="a cloud metadata address: not posted"):
            check_destination(url, allow_local=True)


def test_allow_local_must_be_a_flag():
    with pytest.raises(ConfigError, match="allow_local must be true or false"):
        WebhookConfig.from_settings({"url": "http://127.0.0.1/x", "allow_local": "yes"})

"""Webhook pinning: the host is resolved once, every address is checked, and the post goes to a checked
address with the URL's host in the Host header and in TLS SNI — a DNS answer that changes between the
check and the connection cannot send the post (or its token) elsewhere. Private and shared addresses
need the same setting as loopback; only http(s) URLs are accepted."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from lifecycle.errors import ConfigError, DeliveryError
from lifecycle.notify.webhook import WebhookConfig, check_destination, post_json
from tests.flows.conftest import http_server

_REAL_GETADDRINFO = socket.getaddrinfo


class Resolver:
    """Answers for ``hooks.example``: the first answer, then (a rebinding) the later one."""

    def __init__(self, first: str, later: str) -> None:
        self.first, self.later, self.calls = first, later, 0

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "hooks.example":
            return _REAL_GETADDRINFO(host, port, *args, **kwargs)
        self.calls += 1
        address = self.first if self.calls == 1 else self.later
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))]


@pytest.fixture
def receiver() -> Iterator[tuple[int, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen.append(dict(self.headers))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    with http_server(Handler) as base:
        yield int(base.rpartition(":")[2]), seen


def test_the_post_goes_to_the_address_that_was_checked(receiver, monkeypatch):
    port, seen = receiver
    resolver = Resolver("127.0.0.1", "169.254.169.254")  # a second lookup would reach the metadata service
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    monkeypatch.setenv("PMO_TEST_HOOK_TOKEN", "t0ken")
    cfg = WebhookConfig.from_settings(
        {
            "url": f"http://hooks.example:{port}/in",
            "allow_local": True,
            "timeout": 2,
            "token_env": "PMO_TEST_HOOK_TOKEN",
        }
    )
    assert cfg is not None
    assert post_json(cfg, {"event": "x"}) == 200
    assert resolver.calls == 1
    assert len(seen) == 1
    assert seen[0]["Host"] == f"hooks.example:{port}"
    assert seen[0]["Authorization"] == "Bearer t0ken"


def test_every_address_of_the_host_is_checked(monkeypatch):
    def both(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", int(port))),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", int(port))),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", both)
    with pytest.raises(ConfigError, match=r"resolves to 10\.0\.0\.7, a private address: not posted"):
        check_destination("https://hooks.example/x", allow_local=False)


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("http://10.1.2.3/x", "a private address"),
        ("http://172.16.0.1/x", "a private address"),
        ("http://192.168.1.10:8080/x", "a private address"),
        ("http://100.64.0.1/x", "a private address"),
        ("http://[fd12:3456::1]/x", "a private address"),
        ("http://[::ffff:127.0.0.1]/x", "a loopback address"),
        ("http://[::ffff:169.254.169.254]/x", "a cloud metadata address"),
        ("http://240.0.0.1/x", "a reserved address"),
    ],
)
def test_private_and_mapped_addresses_are_refused(url, what):
    with pytest.raises(ConfigError, match=f"{what}: not posted"):
        check_destination(url, allow_local=False)


def test_a_public_address_passes_the_check():
    assert check_destination("http://93.184.216.34:8080/x", allow_local=False) == ["93.184.216.34"]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://hooks.example/x", "gopher://hooks.example/", "//x/y"])
def test_only_http_and_https_urls(url):
    with pytest.raises(ConfigError, match="must be an http or https URL"):
        WebhookConfig.from_settings({"url": url})


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "receiver.test")])
    now = dt.datetime.now(dt.timezone.utc)
    builder = x509.CertificateBuilder(name, name, key.public_key(), x509.random_serial_number())
    cert = builder.not_valid_before(now).not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256())
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def test_https_sends_the_url_host_in_sni_and_checks_its_certificate(tmp_path, monkeypatch):
    cert_file, key_file = _self_signed(tmp_path)
    names: list[str | None] = []
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_file, key_file)
    tls.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment,misc]
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with tls.wrap_socket(conn, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass  # the client refuses our self-signed certificate

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    resolver = Resolver("127.0.0.1", "169.254.169.254")
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    cfg = WebhookConfig.from_settings({"url": f"https://hooks.example:{port}/in", "allow_local": True, "timeout": 3})
    assert cfg is not None
    try:
        with pytest.raises(DeliveryError, match=r"could not be reached: .*CERTIFICATE_VERIFY_FAILED"):
            post_json(cfg, {"event": "x"})
    finally:
        thread.join(5)
        listener.close()
    assert names == ["hooks.example"]
    assert resolver.calls == 1

"""Webhook notifications: one JSON POST to a configured URL, such as a chat tool's incoming webhook.

Settings come from the workspace's ``webhook`` mapping::

    webhook:
      url: https://chat.example.com/hooks/abc      # required to send anything
      timeout: 10
      headers: {X-Token: ...}                      # optional extra headers
      token_env: PMO_WEBHOOK_TOKEN                 # optional: sent as "Authorization: Bearer <value>"
      events: [gate.reviewed, portfolio.alert]     # optional: only these events are sent
      format: dingtalk                             # optional: generic (default), wecom, dingtalk,
                                                   #   feishu, slack or teams (see lifecycle.notify.chat)
      secret_env: PMO_WEBHOOK_SECRET               # optional: the signing secret of DingTalk or Feishu
      allow_local: false                           # optional: allow loopback and link-local receivers

Only ``http`` and ``https`` URLs are accepted. Redirects are never followed: a 3xx answer is a failed
delivery, so a receiver cannot bounce the message, and the ``Authorization`` header with it, to another
host. The receiver's host is resolved once per post and every address it resolves to is checked:
loopback, link-local (which includes the cloud metadata address 169.254.169.254), private (10/8,
172.16/12, 192.168/16, fc00::/7, 100.64/10), unspecified, multicast and reserved addresses are refused
with a :class:`~lifecycle.errors.ConfigError` unless ``allow_local: true`` (a receiver on the same
machine or network, as in the tests); metadata addresses are refused always. The connection then goes
to a checked address, never to a second resolution of the name (a DNS answer that changes between
check and connect cannot redirect the post), with the URL's host in the ``Host`` header and, for
https, in SNI and the certificate check. No proxy is used. Any non-2xx answer, timeout or connection
failure raises :class:`~lifecycle.errors.DeliveryError`, so a Prefect task around it retries and the
failure is visible in the flow run; the error is ``permanent`` (not retried) for a redirect, a 4xx
answer other than 408, 425 and 429, and a certificate that does not verify. A refused address is a
:class:`~lifecycle.errors.ConfigError`, not retried either.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import socket
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from lifecycle.errors import ConfigError, DeliveryError
from lifecycle.notify.chat import FORMATS, SIGNED_FORMATS, render

_KNOWN = {"url", "timeout", "headers", "token_env", "events", "format", "secret_env", "allow_local"}
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
# 4xx answers mean "this request will never succeed", but for these (timeout, too early, too many)
_RETRYABLE_4XX = frozenset({408, 425, 429})
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not private, not public either


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    timeout: float = 10.0
    headers: dict[str, str] = field(default_factory=dict)
    events: tuple[str, ...] = ()
    format: str = "generic"
    secret: str = field(default="", repr=False)
    allow_local: bool = False

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> WebhookConfig | None:
        """The webhook configuration, or None when no URL is set (notifications are then skipped)."""
        if not settings or not settings.get("url"):
            return None
        unknown = sorted(set(settings) - _KNOWN)
        if unknown:
            raise ConfigError(f"unknown webhook setting(s): {', '.join(unknown)} (known: {', '.join(sorted(_KNOWN))})")
        url = str(settings["url"])
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"webhook.url '{url}' must be an http or https URL")
        try:
            timeout = float(settings.get("timeout", 10))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"webhook.timeout must be a number ({exc})") from exc
        headers = {str(k): str(v) for k, v in (settings.get("headers") or {}).items()}
        token_env = settings.get("token_env")
        if token_env:
            if str(token_env) not in os.environ:
                raise ConfigError(f"webhook.token_env names {token_env}, which is not set in the environment")
            headers["Authorization"] = f"Bearer {os.environ[str(token_env)]}"
        events = settings.get("events") or ()
        if isinstance(events, str):
            events = (events,)
        fmt, secret = _format_and_secret(settings)
        allow_local = settings.get("allow_local", False)
        if not isinstance(allow_local, bool):
            raise ConfigError("webhook.allow_local must be true or false")
        return cls(
            url=url,
            timeout=timeout,
            headers=headers,
            events=tuple(str(e) for e in events),
            format=fmt,
            secret=secret,
            allow_local=allow_local,
        )

    def wants(self, event: str) -> bool:
        return not self.events or event in self.events


def _format_and_secret(settings: Mapping[str, Any]) -> tuple[str, str]:
    fmt = str(settings.get("format") or "generic")
    if fmt not in FORMATS:
        raise ConfigError(f"webhook.format '{fmt}' is not one of: {', '.join(FORMATS)}")
    secret_env = settings.get("secret_env")
    if not secret_env:
        return fmt, ""
    if fmt not in SIGNED_FORMATS:
        raise ConfigError(f"webhook.secret_env is only used with format {' or '.join(SIGNED_FORMATS)}, not '{fmt}'")
    if str(secret_env) not in os.environ:
        raise ConfigError(f"webhook.secret_env names {secret_env}, which is not set in the environment")
    return fmt, os.environ[str(secret_env)]


def _refused(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if addr in _METADATA:
        return "a cloud metadata address"
    for test, what in (
        (addr.is_loopback, "a loopback address"),
        (addr.is_link_local, "a link-local address"),
        (addr.is_unspecified, "an unspecified address"),
        (addr.is_multicast, "a multicast address"),
        (addr.is_reserved, "a reserved address"),
        (addr.is_private or addr in _SHARED, "a private address"),
    ):
        if test:
            return what
    return ""


def check_destination(url: str, allow_local: bool) -> list[str]:
    """The addresses to connect to for ``url``, each checked: resolved here, once.

    Refuses (:class:`~lifecycle.errors.ConfigError`) a host with any address that is loopback,
    link-local, private, unspecified, multicast or reserved (unless ``allow_local``) or a cloud
    metadata address (always). The caller connects to these addresses only, never resolving the
    name again, so the answer checked is the answer used (no rebinding between check and connect).
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise DeliveryError(f"webhook host {host} could not be resolved: {exc}") from exc
    addresses: list[str] = []
    for info in infos:
        text = str(info[4][0])
        addr = ipaddress.ip_address(text.split("%")[0])
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        what = _refused(addr)
        if what and (not allow_local or addr in _METADATA):
            hint = "" if addr in _METADATA else "; set webhook.allow_local: true for a receiver on this machine"
            raise ConfigError(f"webhook host {host} resolves to {addr}, {what}: not posted{hint}")
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise DeliveryError(f"webhook host {host} has no address")
    return addresses


def _connect(addresses: Sequence[str], port: int, timeout: float) -> socket.socket:
    """A TCP connection to the first of ``addresses`` (already checked) that answers."""
    last: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            last = exc
    raise last if last is not None else OSError("no address to connect to")


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP to checked addresses: the Host header still names the URL's host."""

    def __init__(self, host: str, port: int | None, *, addresses: Sequence[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._addresses = tuple(addresses)

    def connect(self) -> None:
        self.sock = _connect(self._addresses, self.port, self.timeout)  # type: ignore[arg-type]


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to checked addresses: the certificate and SNI are those of the URL's host."""

    def __init__(
        self, host: str, port: int | None, *, addresses: Sequence[str], timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._addresses = tuple(addresses)
        self._tls = context

    def connect(self) -> None:
        raw = _connect(self._addresses, self.port, self.timeout)  # type: ignore[arg-type]
        try:
            self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


def _connection(url: str, addresses: Sequence[str], timeout: float) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https":
        return _PinnedHTTPS(
            host, parts.port, addresses=addresses, timeout=timeout, context=ssl.create_default_context()
        )
    return _PinnedHTTP(host, parts.port, addresses=addresses, timeout=timeout)


def _send(url: str, addresses: Sequence[str], body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """One POST; a 3xx answer is a failure (the redirect is not followed), as is any non-2xx."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.netloc
    conn = _connection(url, addresses, timeout)
    try:
        conn.request("POST", target, body=body, headers=dict(headers))
        response = conn.getresponse()
        status = int(response.status)
        detail = response.read(300).decode("utf-8", "replace").strip()
        location = response.getheader("Location", "") or ""
    except (OSError, http.client.HTTPException) as exc:
        permanent = isinstance(exc, ssl.SSLCertVerificationError)  # a wrong certificate stays wrong
        raise DeliveryError(f"webhook {host} could not be reached: {exc}", permanent=permanent) from exc
    finally:
        conn.close()
    if 300 <= status < 400:
        where = urlsplit(location).netloc or "elsewhere"
        raise DeliveryError(f"webhook {host} answered {status}, a redirect to {where}: not followed", permanent=True)
    if not 200 <= status < 300:
        reason = http.client.responses.get(status, "")
        text = f"webhook {host} answered {status}" + (f" {reason}" if reason else "")
        raise DeliveryError(
            text + (f": {detail}" if detail else ""),
            permanent=400 <= status < 500 and status not in _RETRYABLE_4XX,
        )
    return status


def post_json(
    cfg: WebhookConfig, payload: Mapping[str, Any], *, idempotency_key: str = "", now_s: float | None = None
) -> int:
    """POST ``payload`` (in ``cfg.format``) as JSON; returns the HTTP status (2xx) or raises DeliveryError.

    The host is resolved and checked once; the connection goes to a checked address.
    """
    stamp = time.time() if now_s is None else now_s
    req = render(cfg.format, cfg.url, payload, secret=cfg.secret, now_s=stamp)
    body = json.dumps(req.body, ensure_ascii=False, default=str).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "pmo-lifecycle", **cfg.headers}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    addresses = check_destination(req.url, cfg.allow_local)
    return _send(req.url, addresses, body, headers, cfg.timeout)

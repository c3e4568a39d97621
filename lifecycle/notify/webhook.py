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

Only ``http`` and ``https`` URLs are accepted (``urllib`` would also open ``file:`` URLs). Redirects are
never followed: a 3xx answer is a failed delivery, so a receiver cannot bounce the message, and the
``Authorization`` header with it, to another host. The receiver's address is checked before each post:
loopback, link-local (which includes the cloud metadata address 169.254.169.254), unspecified and
multicast addresses are refused with a :class:`~lifecycle.errors.ConfigError` unless
``allow_local: true`` (a receiver on the same machine, as in the tests). Any non-2xx answer, timeout or
connection failure raises :class:`~lifecycle.errors.DeliveryError`, so a Prefect task around it
retries and the failure is visible in the flow run; a refused address is not retried.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from lifecycle.errors import ConfigError, DeliveryError
from lifecycle.notify.chat import FORMATS, SIGNED_FORMATS, render

_KNOWN = {"url", "timeout", "headers", "token_env", "events", "format", "secret_env", "allow_local"}
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse every redirect: urllib would resend our headers (the bearer token too) to the new host."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _refused(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if addr in _METADATA:
        return "a cloud metadata address"
    for test, what in (
        (addr.is_loopback, "a loopback address"),
        (addr.is_link_local, "a link-local address"),
        (addr.is_unspecified, "an unspecified address"),
        (addr.is_multicast, "a multicast address"),
    ):
        if test:
            return what
    return ""


def check_destination(url: str, allow_local: bool) -> None:
    """Refuse a URL whose host resolves to loopback, link-local, metadata, unspecified or multicast."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise DeliveryError(f"webhook host {host} could not be resolved: {exc}") from exc
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        what = _refused(addr)
        if what and (not allow_local or addr in _METADATA):
            hint = "" if addr in _METADATA else "; set webhook.allow_local: true for a receiver on this machine"
            raise ConfigError(f"webhook host {host} resolves to {addr}, {what}: not posted{hint}")


def post_json(
    cfg: WebhookConfig, payload: Mapping[str, Any], *, idempotency_key: str = "", now_s: float | None = None
) -> int:
    """POST ``payload`` (in ``cfg.format``) as JSON; returns the HTTP status (2xx) or raises DeliveryError."""
    stamp = time.time() if now_s is None else now_s
    req = render(cfg.format, cfg.url, payload, secret=cfg.secret, now_s=stamp)
    body = json.dumps(req.body, ensure_ascii=False, default=str).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "pmo-lifecycle", **cfg.headers}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    request = urllib.request.Request(req.url, data=body, headers=headers, method="POST")
    host = urlsplit(cfg.url).netloc
    check_destination(req.url, cfg.allow_local)
    try:
        with _OPENER.open(request, timeout=cfg.timeout) as response:
            status = int(response.status)
            response.read(65536)
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            where = urlsplit(exc.headers.get("Location", "")).netloc or "elsewhere"
            raise DeliveryError(f"webhook {host} answered {exc.code}, a redirect to {where}: not followed") from exc
        detail = exc.read(300).decode("utf-8", "replace").strip() if exc.fp else ""
        raise DeliveryError(
            f"webhook {host} answered {exc.code} {exc.reason}" + (f": {detail}" if detail else "")
        ) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"webhook {host} could not be reached: {reason}") from exc
    if not 200 <= status < 300:
        raise DeliveryError(f"webhook {host} answered {status}")
    return status

"""Webhook notifications: one JSON POST to a configured URL, such as a chat tool's incoming webhook.

Settings come from the workspace's ``webhook`` mapping::

    webhook:
      url: https://chat.example.com/hooks/abc      # required to send anything
      timeout: 10
      headers: {X-Token: ...}                      # optional extra headers
      token_env: PMO_WEBHOOK_TOKEN                 # optional: sent as "Authorization: Bearer <value>"
      events: [gate.reviewed, portfolio.alert]     # optional: only these events are sent

Only ``http`` and ``https`` URLs are accepted (``urllib`` would also open ``file:`` URLs). Any non-2xx
answer, timeout or connection failure raises :class:`~lifecycle.errors.DeliveryError`, so a Prefect
task around it retries and the failure is visible in the flow run.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from lifecycle.errors import ConfigError, DeliveryError

_KNOWN = {"url", "timeout", "headers", "token_env", "events"}


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    timeout: float = 10.0
    headers: dict[str, str] = field(default_factory=dict)
    events: tuple[str, ...] = ()

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
        return cls(url=url, timeout=timeout, headers=headers, events=tuple(str(e) for e in events))

    def wants(self, event: str) -> bool:
        return not self.events or event in self.events


def post_json(cfg: WebhookConfig, payload: Mapping[str, Any], *, idempotency_key: str = "") -> int:
    """POST ``payload`` as JSON; returns the HTTP status (2xx) or raises DeliveryError."""
    body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "pmo-lifecycle", **cfg.headers}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    request = urllib.request.Request(cfg.url, data=body, headers=headers, method="POST")
    host = urlsplit(cfg.url).netloc
    try:
        with urllib.request.urlopen(request, timeout=cfg.timeout) as response:
            status = int(response.status)
            response.read(65536)
    except urllib.error.HTTPError as exc:
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

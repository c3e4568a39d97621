"""Chat adapters: one notification rendered in the message format of the chat tool a team uses.

The webhook sends one JSON document per notification (see :mod:`lifecycle.notify.webhook`). With
``webhook.format`` set, that document is written in the receiving tool's own incoming-webhook format,
so no adapter has to be written by the user:

==========  ==========================================================================================
format      body
==========  ==========================================================================================
generic     our own JSON (event, project, project_name, text, payload, at): the default
wecom       ``{"msgtype": "markdown", "markdown": {"content": …}}``
dingtalk    ``{"msgtype": "markdown", "markdown": {"title": …, "text": …}}``; with a secret, the URL
            gets ``timestamp`` (ms) and ``sign`` = base64(HMAC-SHA256(secret, "<ts>\\n<secret>"))
feishu      ``{"msg_type": "interactive", "card": …}``; with a secret, the body gets ``timestamp``
            (s) and ``sign`` = base64(HMAC-SHA256(key="<ts>\\n<secret>", message=""))
slack       ``{"text": …, "blocks": [section (mrkdwn), context]}``
teams       a message with one Adaptive Card attachment (TextBlocks, a FactSet, an OpenUrl action)
==========  ==========================================================================================

Every card shows the project (name and code), the event's localised sentence, the decision when the
payload has one, and a button or link to the project's web page when a link is known. Text that comes
from project data (names, reasons) is escaped for each format's markup, so a project called
``[x](http://evil)`` or ``<!channel>`` shows as those characters and never becomes a link or a mention.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lifecycle.errors import ConfigError

FORMATS = ("generic", "wecom", "dingtalk", "feishu", "slack", "teams")
SIGNED_FORMATS = ("dingtalk", "feishu")

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<])")


@dataclass(frozen=True)
class ChatRequest:
    """What to POST: the URL (a signed one for DingTalk) and the JSON body."""

    url: str
    body: dict[str, Any]


def escape_markdown(text: str) -> str:
    """Markdown-escape ``text`` (backslash before every markup character; newlines become spaces)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def escape_slack(text: str) -> str:
    """Slack's mrkdwn escapes only ``&``, ``<`` and ``>``; formatting characters are neutralised too."""
    flat = " ".join(str(text).split())
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([*_~`])", "\u200b\\1\u200b", flat)  # a zero-width space stops the emphasis


def _facts(message: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The labelled facts every card shows: project, event and, when present, the decision."""
    payload = message.get("payload") or {}
    facts = [
        ("project", f"{message.get('project_name', '')} ({message.get('project', '')})"),
        ("event", str(message.get("event", ""))),
    ]
    for key in ("decision", "transition", "milestone", "document"):
        value = payload.get(key) if isinstance(payload, Mapping) else None
        if value not in (None, ""):
            facts.append((key, str(value)))
    return facts


def _title(message: Mapping[str, Any]) -> str:
    return f"{message.get('project_name') or message.get('project', '')}: {message.get('event', '')}"


def _markdown_lines(message: Mapping[str, Any], esc: Callable[[str], str]) -> list[str]:
    lines = [f"**{esc(_title(message))}**", "", esc(str(message.get("text", "")))]
    lines += [f"> {esc(label)}: {esc(value)}" for label, value in _facts(message)]
    link = str(message.get("link") or "")
    if link:
        lines += ["", f"[{esc('Open in pmo-lifecycle')}]({link})"]
    return lines


def _wecom(message: Mapping[str, Any]) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"content": "\n".join(_markdown_lines(message, escape_markdown))}}


def _dingtalk(message: Mapping[str, Any]) -> dict[str, Any]:
    text = "\n\n".join(line for line in _markdown_lines(message, escape_markdown) if line)
    return {"msgtype": "markdown", "markdown": {"title": _title(message)[:64], "text": text}}


def _feishu(message: Mapping[str, Any]) -> dict[str, Any]:
    # Feishu's card markdown ("lark_md") takes plain text inside our escaping; fields are separate elements.
    elements: list[dict[str, Any]] = [
        {"tag": "div", "text": {"tag": "lark_md", "content": escape_markdown(str(message.get("text", "")))}},
        {
            "tag": "div",
            "fields": [
                {"is_short": True, "text": {"tag": "lark_md", "content": f"**{label}**\n{escape_markdown(value)}"}}
                for label, value in _facts(message)
            ],
        },
    ]
    link = str(message.get("link") or "")
    if link:
        button = {"tag": "button", "text": {"tag": "plain_text", "content": "Open"}, "url": link, "type": "primary"}
        elements.append({"tag": "action", "actions": [button]})
    header = {"title": {"tag": "plain_text", "content": _title(message)}, "template": "blue"}
    return {"msg_type": "interactive", "card": {"header": header, "elements": elements}}


def _slack(message: Mapping[str, Any]) -> dict[str, Any]:
    title = escape_slack(_title(message))
    body = f"*{title}*\n{escape_slack(str(message.get('text', '')))}"
    link = str(message.get("link") or "")
    if link:
        body += f"\n<{link}|Open in pmo-lifecycle>"
    facts = " · ".join(f"{label}: {escape_slack(value)}" for label, value in _facts(message))
    return {
        "text": f"{title}: {escape_slack(str(message.get('text', '')))}",  # the notification's fallback text
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": body}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": facts}]},
        ],
    }


def _teams(message: Mapping[str, Any]) -> dict[str, Any]:
    # Adaptive Card TextBlocks render a markdown subset: escape it like the others.
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": escape_markdown(_title(message)), "weight": "Bolder", "size": "Medium"},
            {"type": "TextBlock", "text": escape_markdown(str(message.get("text", ""))), "wrap": True},
            {
                "type": "FactSet",
                "facts": [{"title": label, "value": escape_markdown(value)} for label, value in _facts(message)],
            },
        ],
    }
    link = str(message.get("link") or "")
    if link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in pmo-lifecycle", "url": link}]
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
    return {"type": "message", "attachments": [attachment]}


_RENDERERS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "generic": dict,
    "wecom": _wecom,
    "dingtalk": _dingtalk,
    "feishu": _feishu,
    "slack": _slack,
    "teams": _teams,
}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64(HMAC-SHA256(key=secret, message="<timestamp_ms>\\n<secret>"))."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's signature: base64(HMAC-SHA256(key="<timestamp_s>\\n<secret>", message=""))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _with_query(url: str, extra: Mapping[str, str]) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True) + list(extra.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def render(fmt: str, url: str, message: Mapping[str, Any], *, secret: str = "", now_s: float) -> ChatRequest:
    """The request for ``message`` in format ``fmt``; ``now_s`` (Unix seconds) stamps a signature."""
    renderer = _RENDERERS.get(fmt)
    if renderer is None:
        raise ConfigError(f"webhook.format '{fmt}' is not one of: {', '.join(FORMATS)}")
    body = renderer(message)
    if secret and fmt == "dingtalk":
        ts = int(now_s * 1000)
        url = _with_query(url, {"timestamp": str(ts), "sign": dingtalk_sign(secret, ts)})
    elif secret and fmt == "feishu":
        ts = int(now_s)
        body = {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **body}
    return ChatRequest(url, body)

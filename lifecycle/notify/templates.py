"""Bilingual texts of the e-mails and webhook messages the engine sends.

Every text exists in Chinese and English. A message is written in the project's language first (the
charter's ``locale``), followed by the other language, because client and supplier teams often read
different ones; the subject is in the project's language only. Texts are plain ``str.format``
templates filled with values we control (document numbers, names); a value is never itself formatted,
so a name containing braces cannot break a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LANGS = ("zh", "en")

_SUBJECT = {
    "zh": "[{code}] {title} {number} — {project}",
    "en": "[{code}] {title} {number} — {project}",
}

_BODY = {
    "zh": (
        "{greeting}\n\n"
        "附件为项目「{project}」（{code}）的{title}，编号 {number}{milestone_zh}。\n"
        "请审阅并签字确认；如有问题，请直接回复本邮件。\n\n"
        "文件校验值（SHA-256）：{sha256}\n\n"
        "此致\n{sender_name}"
    ),
    "en": (
        "{greeting}\n\n"
        'Please find attached the {title_lower} {number} of the project "{project}" ({code}){milestone_en}.\n'
        "Please review and sign it; if anything needs to change, reply to this e-mail.\n\n"
        "File checksum (SHA-256): {sha256}\n\n"
        "Kind regards,\n{sender_name}"
    ),
}

_GREETING = {"zh": "{names}：您好！", "en": "Dear {names},"}

_SEPARATOR = "\n\n----------------------------------------\n\n"


def lang_of(locale: str) -> str:
    """``zh`` for any Chinese locale, otherwise ``en``."""
    return "zh" if locale.lower().startswith("zh") else "en"


def _order(lang: str) -> tuple[str, str]:
    return ("zh", "en") if lang == "zh" else ("en", "zh")


def document_email(titles: Mapping[str, str], locale: str, values: Mapping[str, Any]) -> tuple[str, str]:
    """Subject and body of the e-mail carrying a document.

    ``titles`` is the document kind's title in ``zh`` and ``en`` (from the registry of document
    kinds, the only copy of the titles; the caller looks it up, so this module needs no documents).
    ``values`` holds ``code``, ``project``, ``number``, ``sha256``, ``recipients`` (names),
    ``sender_name`` and optionally ``milestone`` (the milestone's name).
    """
    first, second = _order(lang_of(locale))
    names_zh = "、".join(values.get("recipients") or ()) or "您好"
    names_en = ", ".join(values.get("recipients") or ()) or "Sir or Madam"
    milestone = str(values.get("milestone") or "")
    common = {
        "code": values.get("code", ""),
        "project": values.get("project", ""),
        "number": values.get("number", ""),
        "sha256": values.get("sha256", ""),
        "sender_name": values.get("sender_name", ""),
        "milestone_zh": f"（里程碑：{milestone}）" if milestone else "",
        "milestone_en": f' for the milestone "{milestone}"' if milestone else "",
    }

    def body(lang: str) -> str:
        title = titles[lang]
        greeting = _GREETING[lang].format(names=names_zh if lang == "zh" else names_en)
        if lang == "zh" and not values.get("recipients"):
            greeting = "您好！"
        return _BODY[lang].format(greeting=greeting, title=title, title_lower=title[:1].lower() + title[1:], **common)

    subject = _SUBJECT[first].format(title=titles[first], **common)
    return subject, body(first) + _SEPARATOR + body(second)


# ------------------------------------------------------------------ webhook texts
_EVENT_TEXT: dict[str, dict[str, str]] = {
    "gate.reviewed": {
        "zh": "[{project}] 阶段评审 {from_phase} → {to_phase}：{decision_zh}{advanced_zh}",
        "en": "[{project}] gate {from_phase} → {to_phase}: {decision}{advanced_en}",
    },
    "document.sent": {
        "zh": "[{project}] 已发送 {number} 给 {to}",
        "en": "[{project}] sent {number} to {to}",
    },
    "milestone.reached": {
        "zh": "[{project}] 里程碑 {milestone} 已达成：质量检查 {passed}/{total} 通过",
        "en": "[{project}] milestone {milestone} reached: {passed}/{total} quality checks passed",
    },
    "project.closed": {
        "zh": "[{project}] 项目已关闭",
        "en": "[{project}] project closed",
    },
    "closeout.blocked": {
        "zh": "[{project}] 项目收尾受阻：{reason}",
        "en": "[{project}] close-out blocked: {reason}",
    },
    "portfolio.alert": {
        "zh": "[{project}] 预警（{severity}）：{message}",
        "en": "[{project}] alert ({severity}): {message}",
    },
}

_DECISION_ZH = {"go": "通过", "conditional_go": "有条件通过", "no_go": "不通过"}


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def event_text(event: str, locale: str, payload: Mapping[str, Any]) -> str:
    """A one- or two-line human text for a webhook message (project language first)."""
    texts = _EVENT_TEXT.get(event)
    if texts is None:
        return f"[{payload.get('project', '')}] {event}"
    values = _Lenient({str(k): v for k, v in payload.items()})
    values["decision_zh"] = _DECISION_ZH.get(str(payload.get("decision", "")), payload.get("decision", ""))
    advanced = bool(payload.get("advanced"))
    values["advanced_zh"] = "，已进入下一阶段" if advanced else ""
    values["advanced_en"] = ", advanced" if advanced else ""
    if isinstance(payload.get("to"), (list, tuple)):
        values["to"] = ", ".join(str(x) for x in payload["to"])
    first, second = _order(lang_of(locale))
    return texts[first].format_map(values) + "\n" + texts[second].format_map(values)

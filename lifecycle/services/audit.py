"""Verifying and anchoring the audit trail: ``pmo audit verify``, ``pmo audit anchor`` and document anchors.

:func:`verify` reports every problem the store finds (the hash chain, each event's MAC with the
audit key, the current state of each project against the state its last event recorded, and edits
found before a write) and, for each registered document, whether the audit head printed on it (its
*anchor*: sequence and hash at issue time) is still in the trail and followed by the document's own
issue event, so cutting the trail back past a document is detected. A workspace without an audit
key is reported as not anchored, with the command that anchors it.

:func:`anchor` makes the audit key when there is none (``<workspace>/audit.key``, unless
``PMO_AUDIT_KEY`` or ``PMO_AUDIT_KEY_FILE`` is set) and seals the current head of every project with
one ``audit.anchored`` event by the acting admin. It refuses when the trail already has problems
(anchoring would vouch for them).

:func:`anchor_problems` checks one anchor (as printed on, or embedded in, a client's copy) against
the trail; ``pmo docs verify FILE`` uses it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifecycle.domain import policy
from lifecycle.domain.model import AuditEvent, DocumentRecord
from lifecycle.errors import AuditTampered, NotFound
from lifecycle.services.audit_key import audit_key_path, create_audit_key, read_audit_key
from lifecycle.services.context import Context
from lifecycle.storage.anchor import UNANCHORED

ANCHOR = "audit_anchor"
"""The key of a document's record holding its anchor: ``{"seq": N, "hash": "<sha256>"}``."""

SHORT = 12  # hex digits of the hash printed on documents


@dataclass
class AuditReport:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    anchored: bool = False


@dataclass
class AnchorResult:
    key_path: str  # "" when the key comes from PMO_AUDIT_KEY
    key_created: bool
    sealed: list[str] = field(default_factory=list)  # project codes given an audit.anchored event


def document_anchor(ctx: Context, code: str) -> dict[str, Any]:
    """The project's audit head now, as a document records it: ``{"seq": N, "hash": ...}``."""
    seq, head = ctx.store.audit_head(code)
    return {"seq": seq, "hash": head}


def short_anchor(anchor: Mapping[str, Any]) -> str:
    """``#42 3f9a1c2b7d0e``: the anchor as printed."""
    return f"#{anchor.get('seq', 0)} {str(anchor.get('hash', ''))[:SHORT]}"


def anchor_problems(events: Sequence[AuditEvent], anchor: Mapping[str, Any], number: str) -> list[str]:
    """What the trail ``events`` (one project's) says against a document's ``anchor``.

    The event at the anchor's sequence must carry its hash, and a later event must register the
    document ``number``; otherwise history before it was rewritten, or the trail was cut back.
    """
    try:
        seq, digest = int(anchor["seq"]), str(anchor["hash"])
    except (KeyError, TypeError, ValueError):
        return [f"document {number}: its audit anchor is unreadable"]
    code = events[0].project if events else "?"
    printed = short_anchor(anchor)
    at = next((e for e in events if e.seq == seq), None)
    if seq > 0 and at is None:
        return [
            f"{code}: document {number} was issued at audit event {printed}, but the trail has no event {seq}: "
            "the trail was cut back"
        ]
    if seq > 0 and at is not None and at.hash != digest:
        return [
            f"{code}: document {number} was issued at audit event {printed}, but event {seq} now has hash "
            f"{at.hash[:SHORT]}: the history before the document was rewritten"
        ]
    if not any(e.seq > seq and number in (e.entity_id, e.data.get("number")) for e in events):
        return [
            f"{code}: document {number} was issued after audit event {printed}, but the trail has no later event "
            "registering it: the events after it were deleted"
        ]
    return []


def _documents_problems(ctx: Context, code: str | None) -> list[str]:
    docs: list[DocumentRecord] = ctx.store.documents(code)
    problems: list[str] = []
    trails: dict[str, list[AuditEvent]] = {}
    for doc in docs:
        anchor = doc.record.get(ANCHOR) if isinstance(doc.record, dict) else None
        if not isinstance(anchor, dict):
            continue  # issued before documents carried anchors
        if doc.project not in trails:
            trails[doc.project] = ctx.store.audit(doc.project)
        problems += anchor_problems(trails[doc.project], anchor, doc.number)
    return problems


def verify(ctx: Context, code: str | None = None) -> AuditReport:
    """Every problem with the audit trail of ``code`` (or of every project), and notes on anchoring."""
    if code is not None and not ctx.store.exists(code):
        raise NotFound(f"no project '{code}' (see `pmo list`)")
    report = AuditReport(problems=ctx.store.verify_audit(code) + _documents_problems(ctx, code))
    report.anchored = read_audit_key(ctx.workspace) is not None
    if not report.anchored:
        report.notes.append(
            "the audit trail is not anchored: there is no audit key, so anyone who can write to the database "
            f"could rewrite it unseen. Run `pmo audit anchor` to make the key ({audit_key_path(ctx.workspace)}, "
            "or set PMO_AUDIT_KEY) and seal every project's trail; keep the key away from the database"
        )
    return report


def anchor(ctx: Context) -> AnchorResult:
    """Make the audit key if needed and seal each project's current head with an ``audit.anchored`` event."""
    policy.require(ctx.principal, policy.CHANGE_SETTINGS)
    problems = [p for p in ctx.store.verify_audit(None) if UNANCHORED not in p]
    if problems:
        raise AuditTampered(
            "the audit trail has problems, anchoring it would vouch for them; nothing was written:\n  "
            + "\n  ".join(problems)
        )
    made = create_audit_key(ctx.workspace)
    key = read_audit_key(ctx.workspace)
    if key is None:  # a configured key file that vanished in between: read_audit_key raised already
        raise NotFound(f"no audit key at {audit_key_path(ctx.workspace)}")
    ctx.store.set_audit_key(key)
    result = AnchorResult(
        key_path="" if ctx.workspace.runtime.audit_key else str(audit_key_path(ctx.workspace)),
        key_created=made is not None,
    )
    for summary in ctx.store.list_projects():
        event = AuditEvent(
            summary.code,
            "audit.anchored",
            ctx.actor,
            ctx.now(),
            "audit",
            summary.code,
            {"key": Path(result.key_path).name if result.key_path else "PMO_AUDIT_KEY", **ctx.acting()},
        )
        ctx.store.add_records(summary.code, [], events=[event])
        result.sealed.append(summary.code)
    return result

"""Delivery use cases: e-mailing a registered document to people, and webhook notifications.

Both are **idempotent** so that a retried flow never sends twice:

* ``send_document`` derives a key from the document's sha256 and the sorted recipient addresses. A
  ``delivery`` system record under that key with status ``sent`` means the job is done: the call returns
  the record and sends nothing. Otherwise the e-mail goes through the outbox
  (:mod:`lifecycle.services.outbox`): a row with its ``Message-ID`` (derived from the key) is committed
  before the SMTP transaction, set ``sending`` just before it and ``sent`` after, so a sender killed in
  between leaves a ``sending`` row that the next attempt reports as ``uncertain`` instead of sending
  again. A failed attempt is recorded too (status ``failed``, the error, the attempt count); a
  transient :class:`~lifecycle.errors.DeliveryError` is raised again for the caller (a Prefect task)
  to retry, a refusal for good is not retried.
* ``notify`` posts a JSON message to the workspace's webhook, keyed by (event, project, payload), and
  records it as a ``notification`` record (``sent``, ``failed`` or ``skipped`` when no webhook is set).

Before sending, the PDF is read back and checked against its registered sha256: a file changed after
it was issued is never sent. The PMO's internal version of a document (every cost figure) is sent to
the PMO and the project manager only (:func:`check_internal_recipients`): never to a client contact.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lifecycle.documents.registry import titles_of
from lifecycle.domain import policy
from lifecycle.domain.limits import MAX_PDF_BYTES
from lifecycle.domain.model import AuditEvent, DocumentRecord, Project
from lifecycle.errors import ConfigError, DeliveryError, DeliveryRefused, DeliveryUncertain, InvalidInput, SpecError
from lifecycle.load.files import read_regular
from lifecycle.notify.email import (
    Attachment,
    SmtpConfig,
    build_message,
    check_addresses,
    message_id_for,
)
from lifecycle.notify.templates import document_email, event_text
from lifecycle.notify.webhook import WebhookConfig, post_json
from lifecycle.services import outbox
from lifecycle.services.context import Context
from lifecycle.services.documents import document_path, find_registered, issue
from lifecycle.storage.protocol import RECORD_SCHEMA_VERSION, OutboxRow, Record, canonical_json, jsonable

DELIVERY = "delivery"
NOTIFICATION = "notification"


# ------------------------------------------------------------------ recipients
def resolve_recipients(project: Project, to: Sequence[str] | None, *, internal: bool = False) -> list[tuple[str, str]]:
    """``(name, address)`` pairs for ``to``: e-mail addresses, or contact / person ids of the project.

    ``None`` means the client representative named in the charter, or for an ``internal`` document
    (the PMO's version) the project manager.
    """
    wanted = list(to) if to else []
    if not wanted and internal:
        wanted = sorted(policy.internal_readers(project) & {project.charter.project_manager}) or sorted(
            policy.internal_readers(project)
        )
        if not wanted:
            raise InvalidInput(f"project {project.code} names no project manager to send internal documents to")
    if not wanted:
        if not project.charter.client_representative:
            raise InvalidInput(f"project {project.code} names no client representative to send documents to")
        wanted = [project.charter.client_representative]
    contacts = project.index("contacts")
    people = project.index("people")
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for entry in wanted:
        entry = entry.strip()
        if "@" in entry:
            check_addresses([entry])
            name, addr = parseaddr(entry)
        else:
            who = contacts.get(entry) or people.get(entry)
            if who is None:
                raise InvalidInput(f"'{entry}' is neither an e-mail address nor a contact or person of {project.code}")
            if not who.email:
                raise InvalidInput(f"{entry} ({who.name}) has no e-mail address in project {project.code}")
            check_addresses([who.email])
            name, addr = who.name, parseaddr(who.email)[1]
        if addr.lower() not in seen:
            seen.add(addr.lower())
            # a name is shown, never parsed: line breaks and control characters become spaces, so the
            # name cannot start a header or change the address when the outbox reads its row back
            out.append((" ".join("".join(c if c.isprintable() else " " for c in name).split()), addr))
    return out


def check_internal_recipients(
    ctx: Context, project: Project, doc: DocumentRecord, recipients: Sequence[tuple[str, str]]
) -> None:
    """An internal document (the PMO's version, every cost figure) goes to the PMO and the project
    manager only: InvalidInput naming the first other recipient; a client contact is never one."""
    if doc.audience != "internal":
        return
    allowed = policy.internal_readers(project)
    contacts = {policy.normalise_email(c.email) for c in project.contacts if c.email}
    readers = {policy.normalise_email(p.email) for p in project.people if p.id in allowed and p.email}
    for name, addr in recipients:
        email = policy.normalise_email(addr)
        user = None if email in contacts or email in readers else ctx.store.find_user(email)
        pmo_roles = set(user.global_roles) & {policy.PMO_ADMIN, policy.PMO_VIEWER} if user is not None else set()
        pmo_user = user is not None and not user.disabled and bool(pmo_roles)
        if email in contacts or not (email in readers or pmo_user):
            raise InvalidInput(
                f"{doc.number} is the PMO's internal version: it goes to the PMO and the project manager only, "
                f"not to {name or addr} <{addr}>; nothing was sent"
            )


def idempotency_key(doc_sha256: str, addresses: Sequence[str]) -> str:
    """sha256 of the document checksum and the sorted, lower-cased recipient addresses."""
    norm = sorted({parseaddr(a)[1].lower() or a.lower() for a in addresses})
    return hashlib.sha256((doc_sha256 + "\n" + "\n".join(norm)).encode("utf-8")).hexdigest()


def document_file(ctx: Context, doc: DocumentRecord) -> Path:
    return document_path(ctx, doc)


def _read_checked(ctx: Context, doc: DocumentRecord) -> bytes:
    """The document's bytes, checked against its registered sha256: its file on this machine, or the copy
    stored in the database when there is no file here (a worker on another machine)."""
    path = document_file(ctx, doc)
    where = str(path)
    try:  # a regular file of at most MAX_PDF_BYTES: a pipe put in its place cannot hang the send
        content = read_regular(path, MAX_PDF_BYTES)
    except SpecError as exc:
        stored = ctx.store.document_content(doc.id)
        if stored is None:
            raise DeliveryError(f"cannot read document {doc.number} at {path}: {exc.problems[0].message}") from exc
        content, where = stored, "the database"
    actual = hashlib.sha256(content).hexdigest()
    if actual != doc.sha256:
        raise DeliveryError(
            f"document {doc.number} at {where} no longer matches its registered checksum "
            f"({actual[:12]}… instead of {doc.sha256[:12]}…): it is not sent"
        )
    return content


# ------------------------------------------------------------------ documents
def ensure_document(
    ctx: Context, code: str, kind: str, *, milestone: str | None = None, review_id: str | None = None
) -> tuple[DocumentRecord, bool]:
    """The document to send: the one registered for (project, kind, milestone or review), else a new one.

    Returns ``(document, issued_now)``. Issuing is locked and idempotent (see
    :func:`~lifecycle.services.documents.issue`), so a retried, repeated or concurrent flow sends the
    same file (and ``send_document`` sends it once), whatever changed in the project since; a new
    revision is only made by an explicit re-issue.
    """
    issued = issue(ctx, code, kind, milestone=milestone, review_id=review_id)
    return issued.document, issued.issued_now


def find_document(ctx: Context, code: str, doc_id: str) -> DocumentRecord:
    """A registered document of the project by id (revision 1's id is its number)."""
    return find_registered(ctx, doc_id, code)


def compose_email(
    ctx: Context,
    doc: DocumentRecord,
    project: Project,
    recipients: Sequence[tuple[str, str]],
    cfg: SmtpConfig,
    message_id: str,
) -> tuple[str, EmailMessage]:
    """The subject and the message e-mailing ``doc`` (its PDF read back and checked) to ``recipients``."""
    code = doc.project
    content = _read_checked(ctx, doc)
    milestone = ""
    ms = doc.record.get("milestone") if isinstance(doc.record, Mapping) else None
    if isinstance(ms, Mapping):
        milestone = str(ms.get("name") or ms.get("id") or "")
    subject, body = document_email(
        titles_of(doc.kind),
        doc.lang or project.charter.locale,
        {
            "code": code,
            "project": project.charter.name,
            "number": doc.number,
            "sha256": doc.sha256,
            "recipients": [name for name, _ in recipients],
            "sender_name": cfg.sender_name or "PMO",
            "milestone": milestone,
        },
    )
    # an acceptance certificate sent to its client representative carries the answer link; imported here
    # because client_acceptance uses this module to send the countersigned copy back
    from lifecycle.services.client_acceptance import acceptance_link_text

    body += acceptance_link_text(ctx, doc, [addr for _, addr in recipients])
    msg = build_message(
        sender=cfg.sender,
        to=[formataddr((name, addr)) for name, addr in recipients],
        subject=subject,
        body=body,
        attachments=[Attachment(Path(doc.path).name or f"{doc.number}.pdf", content)],
        message_id=message_id,
        date=ctx.now(),
        reply_to=cfg.reply_to,
        headers={"X-PMO-Project": code, "X-PMO-Document": doc.number, "X-PMO-SHA256": doc.sha256},
    )
    return subject, msg


def send_document(ctx: Context, doc: DocumentRecord, to: list[str] | None = None) -> dict[str, Any]:
    """E-mail ``doc`` (PDF attached) to ``to`` (default: the client representative), at most once.

    The send goes through the outbox (:mod:`lifecycle.services.outbox`): written with its Message-ID
    before the SMTP transaction, marked sent after. Returns the ``delivery`` record's data plus
    ``sent_now`` (False when it had been sent before). Raises DeliveryError for a transient failure
    (retry), DeliveryRefused when refused for good and DeliveryUncertain when an earlier attempt
    stopped mid-send (neither is retried automatically: ``pmo outbox resend`` decides).
    """
    code = doc.project
    project = ctx.store.get(code)
    recipients = resolve_recipients(project, to, internal=doc.audience == "internal")
    check_internal_recipients(ctx, project, doc, recipients)
    key = idempotency_key(doc.sha256, [addr for _, addr in recipients])
    existing = ctx.store.get_record(code, DELIVERY, key)
    if existing is not None and existing.data.get("status") == "sent":
        return {**existing.data, "sent_now": False}
    if _sent_row(outbox.check_earlier(ctx, ctx.store.outbox_find(key))):
        return _already_sent(ctx, code, key)
    cfg = SmtpConfig.from_settings(ctx.workspace.settings.smtp)
    message_id = message_id_for(key, cfg.sender_domain)
    subject, msg = compose_email(ctx, doc, project, recipients, cfg, message_id)
    now = ctx.now()
    row = outbox.enqueue(
        ctx,
        OutboxRow(
            key=key,
            project=code,
            document_id=doc.id,
            number=doc.number,
            recipients=tuple(formataddr(r) for r in recipients),
            subject=subject,
            message_id=message_id,
            requested_by=ctx.actor,
            created_at=now,
            updated_at=now,
        ),
    )
    if _sent_row(row):  # a concurrent twin sent it meanwhile
        return _already_sent(ctx, code, key)
    return outbox.send(ctx, row, doc, cfg, msg)


def _sent_row(row: OutboxRow | None) -> bool:
    return row is not None and row.state == outbox.SENT


def _already_sent(ctx: Context, code: str, key: str) -> dict[str, Any]:
    """The delivery record of a send another run finished (written with its outbox row's ``sent``)."""
    done = ctx.store.get_record(code, DELIVERY, key)
    return {**(done.data if done is not None else {"key": key, "status": "sent"}), "sent_now": False}


def deliveries(ctx: Context, code: str) -> list[dict[str, Any]]:
    """Every delivery record of a project (sent and failed), oldest first."""
    return [r.data for r in ctx.store.records(code, DELIVERY)]


def smtp_configured(ctx: Context) -> bool:
    return bool((ctx.workspace.settings.smtp or {}).get("host"))


# ------------------------------------------------------------------ webhooks
def notification_key(code: str, event: str, payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(
        canonical_json({"project": code, "event": event, "payload": jsonable(payload)}).encode("utf-8")
    ).hexdigest()


def notify(ctx: Context, code: str, event: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Post ``event`` for project ``code`` to the webhook, once per (event, project, payload).

    Without a webhook URL (or when ``webhook.events`` excludes the event) nothing is sent and the
    notification is recorded as ``skipped``. Returns the record's data plus ``sent_now``.
    """
    key = notification_key(code, event, payload)
    existing = ctx.store.get_record(code, NOTIFICATION, key)
    if existing is not None and existing.data.get("status") in ("sent", "skipped"):
        return {**existing.data, "sent_now": False}
    project = ctx.store.get(code)
    cfg = WebhookConfig.from_settings(ctx.workspace.settings.webhook)
    now = ctx.now()
    text = event_text(event, project.charter.locale, {**payload, "project": code})
    message = {
        "event": event,
        "project": code,
        "project_name": project.charter.name,
        "text": text,
        "payload": jsonable(dict(payload)),
        "at": now.isoformat(),
    }
    attempts = int(existing.data.get("attempts", 0)) + 1 if existing is not None else 1
    base = {
        "schema_version": RECORD_SCHEMA_VERSION,
        "key": key,
        "project": code,
        "event": event,
        "text": text,
        "payload": jsonable(dict(payload)),
        "attempts": attempts,
    }
    if cfg is None or not cfg.wants(event):
        reason = "no webhook configured" if cfg is None else f"webhook.events does not include {event}"
        data = {**base, "status": "skipped", "reason": reason, "at": now.isoformat()}
        ctx.store.add_records(code, [Record(code, NOTIFICATION, key, data)])
        return {**data, "sent_now": False}
    host = urlsplit(cfg.url).netloc  # not the URL: it may carry a token
    try:
        status = post_json(cfg, message, idempotency_key=key)
    except DeliveryError as exc:
        data = {
            **base,
            "status": "failed",
            "error": str(exc),
            "permanent": exc.permanent,
            "host": host,
            "failed_at": now.isoformat(),
        }
        ctx.store.add_records(
            code,
            [Record(code, NOTIFICATION, key, data)],
            events=[
                AuditEvent(
                    code,
                    "notification.failed",
                    ctx.actor,
                    now,
                    "notification",
                    key[:16],
                    {"event": event, "error": str(exc), "attempt": attempts, "permanent": exc.permanent},
                )
            ],
        )
        raise
    data = {**base, "status": "sent", "http_status": status, "host": host, "sent_at": now.isoformat()}
    ctx.store.add_records(
        code,
        [Record(code, NOTIFICATION, key, data)],
        events=[
            AuditEvent(
                code,
                "notification.sent",
                ctx.actor,
                now,
                "notification",
                key[:16],
                {"event": event, "attempt": attempts},
            )
        ],
    )
    return {**data, "sent_now": True}


# ------------------------------------------------------------------ steps of the flows
def document_summary(doc: DocumentRecord, issued_now: bool) -> dict[str, Any]:
    """A document as the flows pass it on: ids, path and checksum (plain data)."""
    return {
        "id": doc.id,
        "number": doc.number,
        "kind": doc.kind,
        "path": doc.path,
        "sha256": doc.sha256,
        "issued_now": issued_now,
    }


def ensure_document_summary(
    ctx: Context, code: str, kind: str, *, milestone: str | None = None, review_id: str | None = None
) -> dict[str, Any]:
    """:func:`ensure_document` as plain data."""
    doc, issued = ensure_document(ctx, code, kind, milestone=milestone, review_id=review_id)
    return document_summary(doc, issued)


def _not_sent(document: str, reason: str) -> dict[str, Any]:
    return {"document": document, "status": "not_sent", "reason": reason, "sent_now": False}


def deliver_document(ctx: Context, code: str, document: str, to: Sequence[str] | None = None) -> dict[str, Any]:
    """Send a registered document once; a missing setting or a bad address is a result, not an error.

    Only a transient :class:`~lifecycle.errors.DeliveryError` (the server could not be reached or
    answered 4xx) is raised, because only that is worth retrying; without an SMTP server, or with a
    setting or an address that is wrong, retrying changes nothing, so the result says ``not_sent`` and
    why; a refusal for good says ``failed`` and an interrupted earlier send ``uncertain`` (see
    :mod:`lifecycle.services.outbox`: neither is resent without a decision).
    """
    if not smtp_configured(ctx):
        return _not_sent(document, "no SMTP server configured")
    doc = find_document(ctx, code, document)
    try:
        return send_document(ctx, doc, list(to) if to else None)
    except (ConfigError, InvalidInput) as exc:
        return _not_sent(document, str(exc))
    except (DeliveryRefused, DeliveryUncertain) as exc:
        status = "uncertain" if isinstance(exc, DeliveryUncertain) else "failed"
        return {"document": document, "status": status, "reason": str(exc), "sent_now": False}


def deliver_notification(ctx: Context, code: str, event: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`notify`, with a wrong webhook setting reported in the result (retrying cannot help)."""
    try:
        return notify(ctx, code, event, payload)
    except ConfigError as exc:
        return {"event": event, "status": "not_sent", "reason": str(exc), "sent_now": False}

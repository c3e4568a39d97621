"""The e-mail outbox: every document e-mail is written down before it is sent, so none goes out twice.

A send of a document to a set of recipients is one :class:`~lifecycle.storage.protocol.OutboxRow`,
keyed by the delivery's idempotency key and holding the Message-ID. Its life:

* ``pending``: written (committed) with its Message-ID before any SMTP traffic; also the state after
  a transient failure (connection refused, a 4xx reply), which the caller retries as before;
* ``sending``: set (committed) immediately before the SMTP transaction;
* ``sent``: set after the server accepted the message, in one transaction with the ``delivery``
  record and the ``document.sent`` audit event;
* ``failed``: the server refused for good (a 5xx reply, refused recipients); never retried by itself;
* ``uncertain``: a later attempt found the row still ``sending``: the sender died (kill -9, a lost
  machine) between handing the message over and recording it; or the connection broke after the
  message went out and before the server's answer. The message may have been delivered: it is
  reported, never resent blindly.

Only a decision resends a ``failed`` or ``uncertain`` row: :func:`resend` (``pmo outbox resend ID
--reason ...``), allowed to the project's PM and to ``pmo_admin``, recorded in the audit trail (who,
why, the state it replaced) before the message is handed to the server again. Every state change is
a compare-and-set in the store, so two runs never both send from the same state.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

from lifecycle.domain import policy
from lifecycle.domain.model import AuditEvent, DocumentRecord, Project, replace
from lifecycle.errors import (
    ConcurrentUpdate,
    DeliveryError,
    DeliveryRefused,
    DeliveryUncertain,
    Forbidden,
    InvalidInput,
    NotFound,
)
from lifecycle.notify.email import SmtpConfig, send_message
from lifecycle.services.context import Context
from lifecycle.storage.protocol import OUTBOX_STATES as OUTBOX_STATES  # faces read the states here
from lifecycle.storage.protocol import RECORD_SCHEMA_VERSION, Record
from lifecycle.storage.protocol import OutboxRow as OutboxRow

PENDING, SENDING, SENT, FAILED, UNCERTAIN = OUTBOX_STATES
DELIVERY = "delivery"  # the record kind of delivery.py: a sent row's record
RESENDABLE = (FAILED, UNCERTAIN)


def resend_hint(row: OutboxRow) -> str:
    return f'check with the recipient and resend only if needed: `pmo outbox resend {row.id} --reason "..."`'


def _uncertain_error(row: OutboxRow) -> DeliveryUncertain:
    return DeliveryUncertain(
        f"e-mail {row.id} of {row.number} to {', '.join(row.recipients)} may have been delivered: an earlier "
        f"attempt stopped while the SMTP server had it (at {row.updated_at:%Y-%m-%d %H:%M} UTC); it is not "
        f"sent again automatically; {resend_hint(row)}"
    )


def _refused_error(row: OutboxRow) -> DeliveryRefused:
    return DeliveryRefused(
        f"e-mail {row.id} of {row.number} to {', '.join(row.recipients)} was refused for good "
        f"({row.last_error}); it is not sent again automatically; fix the cause, then "
        f'`pmo outbox resend {row.id} --reason "..."`'
    )


# ------------------------------------------------------------------ before a send
def check_earlier(ctx: Context, row: OutboxRow | None) -> OutboxRow | None:
    """What an earlier attempt left: None (never tried) or a row to send; raises for the rest.

    A ``sent`` row is returned as it is (the caller answers with its record). A row still
    ``sending`` belongs to an attempt that died mid-transaction: it becomes ``uncertain`` (with an
    audit event) and :class:`DeliveryUncertain` is raised, as for a row already ``uncertain``. A
    ``failed`` row raises :class:`DeliveryRefused`. No SMTP traffic in any of these cases.
    """
    if row is not None and row.state == SENDING:
        row = _mark_uncertain(ctx, row)  # or what the sending run left, if it finished meanwhile
    if row is None or row.state in (PENDING, SENT):
        return row
    if row.state == UNCERTAIN:
        raise _uncertain_error(row)
    raise _refused_error(row)


def _mark_uncertain(ctx: Context, row: OutboxRow) -> OutboxRow:
    now = ctx.now()
    new = replace(row, state=UNCERTAIN, last_error="interrupted while sending: may have been delivered", updated_at=now)
    event = AuditEvent(
        row.project,
        "document.delivery_uncertain",
        ctx.actor,
        now,
        "document",
        row.document_id,
        {"outbox": row.id, "number": row.number, "to": list(row.recipients), "message_id": row.message_id},
    )
    try:
        return ctx.store.outbox_update(new, expect=(SENDING,), events=[event])
    except ConcurrentUpdate:  # the sending run finished meanwhile: report what it left
        latest = ctx.store.outbox_get(row.id)
        return latest if latest is not None else new


def enqueue(ctx: Context, row: OutboxRow) -> OutboxRow:
    """Write ``row`` (pending, with its Message-ID) before anything is sent; an existing row with its
    key wins and is checked as :func:`check_earlier` does. Returns the row to send (or a sent one)."""
    stored = ctx.store.outbox_add(row)
    if stored.state == PENDING:
        return replace(stored, subject=row.subject)
    found = check_earlier(ctx, stored)
    assert found is not None
    return found


# ------------------------------------------------------------------ sending
def _claim(ctx: Context, row: OutboxRow, expect: Sequence[str], events: Sequence[AuditEvent] = ()) -> OutboxRow:
    """The row set ``sending`` (committed) with one more attempt, only from the ``expect`` states."""
    new = replace(row, state=SENDING, attempts=row.attempts + 1, updated_at=ctx.now())
    try:
        return ctx.store.outbox_update(new, expect=expect, events=events)
    except ConcurrentUpdate as exc:
        raise DeliveryError(f"e-mail {row.id} of {row.number} is being handled by another run ({exc})") from exc


def record_data(row: OutboxRow, doc: DocumentRecord, cfg: SmtpConfig) -> dict[str, Any]:
    """The ``delivery`` record of a send (without its outcome)."""
    return {
        "schema_version": RECORD_SCHEMA_VERSION,
        "key": row.key,
        "project": row.project,
        "document": doc.id,
        "number": doc.number,
        "kind": doc.kind,
        "sha256": doc.sha256,
        "to": list(row.recipients),
        "addresses": [parseaddr(r)[1] for r in row.recipients],
        "subject": row.subject,
        "message_id": row.message_id,
        "attempts": row.attempts,
        "smtp": f"{cfg.host}:{cfg.port}",
        "outbox": row.id,
    }


def send(ctx: Context, row: OutboxRow, doc: DocumentRecord, cfg: SmtpConfig, msg: EmailMessage) -> dict[str, Any]:
    """Send a ``pending`` row's message once: ``sending`` before SMTP, ``sent`` (with the delivery record
    and the audit event) after. Returns the delivery record's data plus ``sent_now``."""
    return _transmit(ctx, _claim(ctx, row, (PENDING,)), doc, cfg, msg)


def _transmit(ctx: Context, row: OutboxRow, doc: DocumentRecord, cfg: SmtpConfig, msg: EmailMessage) -> dict[str, Any]:
    base = record_data(row, doc, cfg)
    try:
        send_message(cfg, msg, base["addresses"])
    except DeliveryError as exc:
        _record_failure(ctx, row, base, exc)
        if isinstance(exc, (DeliveryRefused, DeliveryUncertain)):  # never retried: say what to do
            raise type(exc)(f"{exc}; it is not sent again automatically; {resend_hint(row)}") from exc
        raise
    now = ctx.now()
    data = {**base, "status": "sent", "sent_at": now.isoformat(), "error": ""}
    event = AuditEvent(
        row.project,
        "document.sent",
        ctx.actor,
        now,
        "document",
        doc.id,
        {
            "number": doc.number,
            "sha256": doc.sha256,
            "to": base["addresses"],
            "message_id": row.message_id,
            "attempt": row.attempts,
            "outbox": row.id,
        },
    )
    # also from uncertain: a run that another attempt gave up on may still finish, and then it was sent
    ctx.store.outbox_update(
        replace(row, state=SENT, last_error="", updated_at=now),
        expect=(SENDING, UNCERTAIN),
        records=[Record(row.project, DELIVERY, row.key, data)],
        events=[event],
    )
    return {**data, "sent_now": True}


def _record_failure(ctx: Context, row: OutboxRow, base: dict[str, Any], exc: DeliveryError) -> None:
    """A refusal for good makes the row ``failed``, a connection lost after the message went out
    ``uncertain``; anything else puts it back to ``pending`` for the caller's retry."""
    now = ctx.now()
    uncertain = isinstance(exc, DeliveryUncertain)
    permanent = isinstance(exc, DeliveryRefused)
    state = UNCERTAIN if uncertain else FAILED if permanent else PENDING
    data = {
        **base,
        "status": "uncertain" if uncertain else "failed",
        "error": str(exc),
        "permanent": permanent,
        "failed_at": now.isoformat(),
    }
    event = AuditEvent(
        row.project,
        "document.delivery_uncertain" if uncertain else "document.delivery_failed",
        ctx.actor,
        now,
        "document",
        row.document_id,
        {
            "number": row.number,
            "to": base["addresses"],
            "attempt": row.attempts,
            "error": str(exc),
            "permanent": permanent,
            "outbox": row.id,
        },
    )
    ctx.store.outbox_update(
        replace(row, state=state, last_error=str(exc), updated_at=now),
        expect=(SENDING, UNCERTAIN),
        records=[Record(row.project, DELIVERY, row.key, data)],
        events=[event],
    )


# ------------------------------------------------------------------ reading and deciding
def list_outbox(ctx: Context, code: str | None = None, state: str | None = None) -> list[OutboxRow]:
    """The outbox rows of a project (every project without ``code``), in one ``state`` if given."""
    if state is not None and state not in OUTBOX_STATES:
        raise InvalidInput(f"unknown outbox state '{state}' (one of: {', '.join(OUTBOX_STATES)})")
    if code is not None:
        project = ctx.store.get(code)
        if ctx.principal is not None:
            policy.require(ctx.principal, policy.VIEW_PROJECT, project)
    elif ctx.principal is not None:
        policy.require(ctx.principal, policy.VIEW_PORTFOLIO)
    return ctx.store.outbox_rows(code, state)


def _may_resend(ctx: Context, project: Project) -> None:
    """The project's PM or a pmo_admin (GENERATE_DOCUMENTS); without accounts, the workspace owner."""
    if ctx.principal is None and not ctx.store.list_users():
        return
    try:
        policy.require(ctx.principal, policy.GENERATE_DOCUMENTS, project)
    except Forbidden as exc:
        if ctx.principal is None and ctx.principal_problem:
            raise Forbidden(f"{exc} ({ctx.principal_problem})") from None
        raise


def resend(ctx: Context, row_id: int, reason: str) -> dict[str, Any]:
    """Resend a ``failed`` or ``uncertain`` e-mail, by decision: the audit trail records who and why
    (``document.resend``) in the same transaction that sets the row ``sending``, before SMTP.

    Returns the delivery record's data plus ``sent_now``; a new failure is recorded and raised.
    """
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput("--reason is required: say why this e-mail is sent again")
    row = ctx.store.outbox_get(row_id)
    if row is None:
        raise NotFound(f"no outbox row {row_id} (see `pmo outbox`)")
    project = ctx.store.get(row.project)
    _may_resend(ctx, project)
    if row.state not in RESENDABLE:
        raise InvalidInput(
            f"outbox row {row.id} is {row.state}: only a failed or uncertain e-mail is resent by decision"
            + (" (a pending one is retried by its flow)" if row.state == PENDING else "")
        )
    # lazy: delivery uses this module to send, and composing a document's message is its job
    from lifecycle.services.delivery import compose_email, find_document

    doc = find_document(ctx, row.project, row.document_id)
    cfg = SmtpConfig.from_settings(ctx.workspace.settings.smtp)
    recipients = [parseaddr(r) for r in row.recipients]
    subject, msg = compose_email(ctx, doc, project, recipients, cfg, row.message_id)
    event = AuditEvent(
        row.project,
        "document.resend",
        ctx.actor,
        ctx.now(),
        "document",
        doc.id,
        {
            "outbox": row.id,
            "number": row.number,
            "to": list(row.recipients),
            "message_id": row.message_id,
            "previous_state": row.state,
            "last_error": row.last_error,
            "reason": reason,
            **ctx.acting(),
        },
    )
    claimed = _claim(ctx, replace(row, subject=subject), (row.state,), [event])
    return _transmit(ctx, claimed, doc, cfg, msg)

"""The client's acceptance through a signed link: issue it, open it, record the answer once.

A link is ``<base_url>/accept/<token>``. The token is ``<payload>.<mac>``: the payload (base64url
JSON) names the link id (``jti``), the acceptance certificate (id, number, sha256), the recipient's
e-mail, the purpose ``accept`` and the expiry; the MAC is HMAC-SHA256 over it with the workspace
secret (``PMO_SECRET_KEY``, else the file ``secret.key`` in the workspace, mode 0600, made on first
use). Verification compares MACs with :func:`hmac.compare_digest`, then checks the stored link row
(same document, hash and recipient), the expiry and single use, and that the registered document
still has the hash the link was issued for. A bad token is :class:`LinkInvalid`, an old one
:class:`LinkExpired`, a second answer :class:`LinkUsed`; none of them writes anything.

:func:`submit_answer` records, in ONE transaction that also marks the link used (so of two
concurrent answers exactly one wins): an acceptance record per deliverable, the deliverables' new
status, an improvement action per rejected deliverable, a sign-off of the milestone by the client
representative, a ``client_signoff`` system record (time, IP, user agent, document number and
sha256, every answer) and an audit event by the client-link principal. After the commit it issues
the countersigned certificate (the same template with the client's answer printed on it), e-mails it
back to the client and to the project manager, and announces the next step: ``payment.due`` when
everything was accepted, ``acceptance.rejected`` otherwise (webhook notification, and the Prefect
event of that name in server mode). Those follow-ups are idempotent; a failure among them is
reported in the outcome and does not undo the recorded answer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lifecycle.domain import policy
from lifecycle.domain.limits import MAX_SMALL_FILE_BYTES
from lifecycle.domain.model import (
    AcceptanceRecord,
    AuditEvent,
    Contact,
    Deliverable,
    DocumentRecord,
    ImprovementAction,
    Project,
    Signoff,
    replace,
)
from lifecycle.errors import (
    ConcurrentUpdate,
    DeliveryError,
    Forbidden,
    InvalidInput,
    LifecycleError,
    LinkExpired,
    LinkInvalid,
    LinkUsed,
    NotFound,
)
from lifecycle.load.files import read_regular_text
from lifecycle.services.context import Context
from lifecycle.storage.protocol import ClientLink, Record
from lifecycle.workspace import Workspace

PURPOSE = "accept"
SECRET_FILE = "secret.key"
DEFAULT_BASE_URL = "http://127.0.0.1:8700"
VERDICTS = {"accept": "accepted", "accept_with_conditions": "accepted_with_conditions", "reject": "rejected"}
IMPROVEMENT_DAYS = 14
SIGNOFF = "client_signoff"
_MAC_CONTEXT = b"pmo-client-link-v1."


@dataclass(frozen=True, slots=True)
class DeliverableAnswer:
    deliverable_id: str
    verdict: str  # accept | accept_with_conditions | reject
    comment: str = ""


@dataclass(frozen=True, slots=True)
class CriterionView:
    """One acceptance criterion with the result that counts, as the certificate states it ('' result:
    not yet verified)."""

    id: str
    text: str
    target: str = ""
    measured: str = ""
    method: str = ""
    evidence: str = ""
    verifier: str = ""
    date: str = ""
    result: str = ""
    conditions: str = ""
    automated: bool = False


@dataclass(frozen=True, slots=True)
class DeliverableView:
    id: str
    name: str
    description: str
    status: str
    criteria: tuple[CriterionView, ...]


@dataclass(frozen=True, slots=True)
class AcceptanceView:
    """What the client sees before answering: the certificate's key facts and its deliverables."""

    project: str
    project_name: str
    client: str
    supplier: str
    lang: str
    document_id: str
    number: str
    sha256: str
    milestone: str
    milestone_name: str
    milestone_date: str
    recipient: str
    recipient_name: str
    expires: datetime
    deliverables: tuple[DeliverableView, ...]
    pdf_path: str


@dataclass(frozen=True, slots=True)
class AcceptanceOutcome:
    project: str
    number: str
    verdicts: dict[str, str]
    accepted: bool
    signoff: str
    countersigned: str = ""
    countersigned_path: str = ""
    emailed: tuple[str, ...] = ()
    next_event: str = ""
    problems: tuple[str, ...] = field(default=())


# ------------------------------------------------------------------ the secret and the token
def workspace_secret(ws: Workspace) -> bytes:
    """``PMO_SECRET_KEY``, else the workspace's ``secret.key`` (32 random bytes, made once, mode 0600)."""
    env = ws.runtime.secret_key
    if env:
        return env.encode("utf-8")
    path = ws.root / SECRET_FILE
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # made by a concurrent process a moment ago
        else:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(secrets.token_hex(32) + "\n")
    return read_regular_text(path, MAX_SMALL_FILE_BYTES).strip().encode("ascii")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, _MAC_CONTEXT + body.encode("ascii"), hashlib.sha256).digest())


def sign_token(secret: bytes, payload: Mapping[str, Any]) -> str:
    body = _b64(json.dumps(dict(payload), sort_keys=True, separators=(",", ":")).encode("utf-8"))
    return f"{body}.{_mac(secret, body)}"


def verify_token(secret: bytes, token: str) -> dict[str, Any]:
    """The payload of a token this workspace signed; LinkInvalid otherwise (MACs compared in constant time)."""
    body, dot, mac = token.strip().partition(".")
    if not dot or not body or not mac or not body.isascii() or not mac.isascii():
        raise LinkInvalid("this link is not valid: it was not issued by us or was altered")
    if not hmac.compare_digest(_mac(secret, body), mac):
        raise LinkInvalid("this link is not valid: it was not issued by us or was altered")
    try:
        payload = json.loads(_unb64(body))
    except (binascii.Error, ValueError) as exc:
        raise LinkInvalid("this link is not valid: its content cannot be read") from exc
    if not isinstance(payload, dict):
        raise LinkInvalid("this link is not valid: its content cannot be read")
    return payload


# ------------------------------------------------------------------ issuing a link
def base_url(ws: Workspace) -> str:
    return (ws.runtime.base_url or ws.settings.base_url or DEFAULT_BASE_URL).rstrip("/")


def link_url(ws: Workspace, token: str) -> str:
    return f"{base_url(ws)}/accept/{token}"


def _document(ctx: Context, document_id: str) -> DocumentRecord:
    for d in ctx.store.documents():
        if document_id in (d.id, d.number):
            return d
    raise NotFound(f"no document '{document_id}'")


def _client_rep_contact(project: Project, email: str) -> Contact:
    """The contact of ``project`` with this e-mail who holds the client representative role."""
    probe = policy.Principal("", email, "", "", frozenset(), "client_link")
    if policy.CLIENT_REP in policy.project_roles(project, probe):
        ids = policy.linked_ids(project, probe)
        for c in project.contacts:
            if c.id in ids:
                return c
    raise InvalidInput(f"{email} is not the client representative of {project.code}: no acceptance link for them")


def issue_link(ctx: Context, document_id: str, recipient_email: str, *, ttl_days: int = 14) -> str:
    """A signed, single-use acceptance link token for the client representative ``recipient_email``.

    Issued by the system (flows sending the certificate) or by a user allowed to generate documents.
    """
    doc = _document(ctx, document_id)
    if doc.audience == "internal":  # the PMO's version is never put before the client
        raise InvalidInput(f"{doc.number} is the PMO's internal version: it is not offered to the client")
    if doc.kind != "acceptance" or doc.record.get("countersign"):
        raise InvalidInput(f"{doc.number} is not an acceptance certificate awaiting the client's answer")
    project = ctx.store.get(doc.project)
    if ctx.principal is not None:
        policy.require(ctx.principal, policy.GENERATE_DOCUMENTS, project)
    if not 1 <= ttl_days <= 90:
        raise InvalidInput("an acceptance link lasts between 1 and 90 days")
    contact = _client_rep_contact(project, recipient_email)
    now = ctx.now()
    link = ClientLink(
        jti=secrets.token_hex(16),
        document_id=doc.id,
        sha256=doc.sha256,
        recipient=policy.normalise_email(contact.email),
        purpose=PURPOSE,
        expires_at=now + timedelta(days=ttl_days),
        created_at=now,
    )
    ctx.store.add_client_link(link)
    event = AuditEvent(
        doc.project,
        "client_link.issued",
        ctx.actor,
        now,
        "document",
        doc.number,
        {"jti": link.jti, "recipient": link.recipient, "expires": link.expires_at.isoformat(), **ctx.acting()},
    )
    ctx.store.add_records(doc.project, [], events=[event])
    return sign_token(workspace_secret(ctx.workspace), _payload(link, doc.number))


def _payload(link: ClientLink, number: str) -> dict[str, Any]:
    return {
        "jti": link.jti,
        "doc": link.document_id,
        "num": number,
        "sha": link.sha256,
        "to": link.recipient,
        "p": link.purpose,
        "exp": int(link.expires_at.timestamp()),
    }


def acceptance_link_text(ctx: Context, doc: DocumentRecord, addresses: Sequence[str]) -> str:
    """The paragraph with the answer link for an acceptance certificate e-mailed to its client
    representative alone ("" for other documents, several recipients, or no such contact)."""
    if doc.kind != "acceptance" or doc.record.get("countersign") or len(addresses) != 1:
        return ""
    try:
        token = issue_link(ctx, doc.id, addresses[0])
    except (InvalidInput, Forbidden):  # not the client representative, or a sender who may not issue links
        return ""
    url = link_url(ctx.workspace, token)
    return (
        "\n\n请在线确认验收结论（逐项通过、有条件通过或不通过）/ Please give your answer for each deliverable "
        f"(accept, accept with conditions, or reject) here:\n{url}\n"
        "此链接仅限本人使用一次，14 天内有效。/ This link is for you alone, works once and expires in 14 days.\n"
    )


# ------------------------------------------------------------------ opening a link
@dataclass(frozen=True, slots=True)
class _Opened:
    payload: dict[str, Any]
    link: ClientLink
    doc: DocumentRecord
    project: Project


def _open(ctx: Context, token: str) -> _Opened:
    payload = verify_token(workspace_secret(ctx.workspace), token)
    link = ctx.store.get_client_link(str(payload.get("jti", "")))
    if (
        link is None
        or payload.get("p") != PURPOSE
        or link.purpose != PURPOSE
        or (payload.get("doc"), payload.get("sha"), payload.get("to"))
        != (link.document_id, link.sha256, link.recipient)
    ):
        raise LinkInvalid("this link is not valid: it was not issued by us or was altered")
    now = ctx.now()
    if now >= link.expires_at or now.timestamp() >= float(payload.get("exp", 0)):
        raise LinkExpired(f"this link expired on {link.expires_at:%Y-%m-%d %H:%M} UTC; ask the project for a new one")
    if link.used_at is not None:
        raise LinkUsed(f"this link was already used on {link.used_at:%Y-%m-%d %H:%M} UTC; the answer was recorded")
    doc = _document(ctx, link.document_id)
    if not hmac.compare_digest(doc.sha256, link.sha256):
        raise LinkInvalid("the certificate changed since this link was issued")
    return _Opened(payload, link, doc, ctx.store.get(doc.project))


def _milestone_of(doc: DocumentRecord) -> dict[str, Any]:
    ms = doc.record.get("milestone")
    return dict(ms) if isinstance(ms, Mapping) else {}


def _deliverable_ids(doc: DocumentRecord) -> list[str]:
    return [str(d.get("id")) for d in doc.record.get("deliverables") or () if isinstance(d, Mapping)]


def _criterion_view(c: Mapping[str, Any]) -> CriterionView:
    """A criterion row of the certificate's record (what the client is accepting, bound to its hash)."""
    given = c.get("result")
    r: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    measured = " ".join(x for x in (str(r.get("measured") or ""), str(r.get("unit") or "")) if x)
    return CriterionView(
        id=str(c.get("id", "")),
        text=str(c.get("text", "")),
        target=str(r.get("target") or c.get("target") or ""),
        measured=measured,
        method=str(r.get("method") or c.get("method") or ""),
        evidence=str(r.get("evidence") or ""),
        verifier=str(r.get("verifier") or ""),
        date=str(r.get("date") or ""),
        result=str(r.get("result") or ""),
        conditions=str(r.get("conditions") or ""),
        automated=bool(r.get("automated")),
    )


def open_link(ctx: Context, token: str) -> AcceptanceView:
    """The certificate behind a link: key facts and deliverables with their criteria."""
    o = _open(ctx, token)
    p, doc = o.project, o.doc
    ms = _milestone_of(doc)
    contact = _client_rep_contact(p, o.link.recipient)
    index = p.index("deliverables")
    printed = {str(d.get("id")): d for d in doc.record.get("deliverables") or () if isinstance(d, Mapping)}
    views = []
    for did in _deliverable_ids(doc):
        d: Deliverable | None = index.get(did)
        if d is not None:
            criteria = tuple(_criterion_view(c) for c in printed[did].get("criteria") or () if isinstance(c, Mapping))
            views.append(DeliverableView(d.id, d.name, d.description, d.status, criteria))
    return AcceptanceView(
        project=p.code,
        project_name=p.charter.name,
        client=p.charter.client.name,
        supplier=p.charter.supplier.name or str((ctx.workspace.settings.supplier or {}).get("name", "")),
        lang=doc.lang or p.charter.locale,
        document_id=doc.id,
        number=doc.number,
        sha256=doc.sha256,
        milestone=str(ms.get("id", "")),
        milestone_name=str(ms.get("name", "")),
        milestone_date=str(ms.get("date", "")),
        recipient=o.link.recipient,
        recipient_name=contact.name,
        expires=o.link.expires_at,
        deliverables=tuple(views),
        pdf_path=doc.path,
    )


def link_pdf(ctx: Context, token: str) -> bytes:
    """The certificate's PDF bytes for a valid link (checked against the registered sha256)."""
    o = _open(ctx, token)
    from lifecycle.services.delivery import _read_checked  # the one place that checks a file's hash

    return _read_checked(ctx, o.doc)


# ------------------------------------------------------------------ answering
def _check_answers(doc: DocumentRecord, answers: Sequence[DeliverableAnswer]) -> dict[str, DeliverableAnswer]:
    wanted = _deliverable_ids(doc)
    given = {a.deliverable_id: a for a in answers}
    if len(given) != len(answers) or set(given) != set(wanted):
        missing = ", ".join(sorted(set(wanted) - set(given))) or "none"
        extra = ", ".join(sorted(set(given) - set(wanted))) or "none"
        raise InvalidInput(f"answer each deliverable once (missing: {missing}; not on the certificate: {extra})")
    for a in answers:
        if a.verdict not in VERDICTS:
            raise InvalidInput(f"{a.deliverable_id}: the answer must be one of {', '.join(VERDICTS)}")
        if a.verdict != "accept" and not a.comment.strip():
            raise InvalidInput(f"{a.deliverable_id}: say what is wrong or which conditions apply")
        if len(a.comment) > 4000:
            raise InvalidInput(f"{a.deliverable_id}: the comment is longer than 4,000 characters")
    return given


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _answered_project(
    ctx: Context, o: _Opened, given: Mapping[str, DeliverableAnswer], contact: Contact
) -> tuple[Project, str]:
    """The project with the acceptance records, statuses, improvement actions and sign-off added."""
    p, jti, today = o.project, o.link.jti, ctx.today()
    ms = str(_milestone_of(o.doc).get("id", ""))
    records = list(p.acceptance_records)
    actions = list(p.improvement_actions)
    deliverables = []
    for d in p.deliverables:
        a = given.get(d.id)
        if a is None:
            deliverables.append(d)
            continue
        verdict = VERDICTS[a.verdict]
        records.append(
            AcceptanceRecord(
                id=f"AR-{d.id}-{jti[:8]}",
                deliverable=d.id,
                date=today,
                milestone=ms,
                accepted_by=contact.id,
                verdict=verdict,  # type: ignore[arg-type]
                conditions=a.comment.strip() if a.verdict == "accept_with_conditions" else "",
                evidence=f"{o.doc.number} sha256 {o.doc.sha256} answered through a client link",
            )
        )
        deliverables.append(replace(d, status="rejected" if verdict == "rejected" else "accepted"))
        if verdict == "rejected":
            actions.append(
                ImprovementAction(
                    id=f"IA-{d.id}-CLIENT-{jti[:6]}",
                    description=f"{contact.name} did not accept {d.name}: {a.comment.strip()}",
                    owner=d.owner,
                    due=today + timedelta(days=IMPROVEMENT_DAYS),
                )
            )
    signoff = Signoff(
        id=f"SO-{ms or 'M'}-{jti[:8]}",
        date=today,
        contact=contact.id,
        scope="milestone",
        milestone=ms,
        comment=f"Answer to {o.doc.number} given through a client link",
    )
    new = replace(
        p,
        acceptance_records=tuple(records),
        deliverables=tuple(deliverables),
        improvement_actions=tuple(actions),
        signoffs=(*p.signoffs, signoff),
    )
    return new, signoff.id


def submit_answer(
    ctx: Context,
    token: str,
    answers: Sequence[DeliverableAnswer],
    confirm_name: str,
    client_ip: str,
    user_agent: str,
) -> AcceptanceOutcome:
    """Record the client's answer once (atomic with using the link), then countersign, e-mail and announce."""
    o = _open(ctx, token)
    contact = _client_rep_contact(o.project, o.link.recipient)
    principal = policy.Principal(
        f"link:{o.link.jti}", o.link.recipient, contact.name, o.doc.lang or o.project.charter.locale,
        frozenset(), "client_link",
    )  # fmt: skip
    policy.require(principal, policy.ACCEPT_FOR_CLIENT, o.project)
    given = _check_answers(o.doc, answers)
    if not _same_name(confirm_name, contact.name):
        raise InvalidInput(f"confirm with your name as the project knows it: {contact.name}")
    now = ctx.now()
    new, signoff_id = _answered_project(ctx, o, given, contact)
    verdicts = {did: VERDICTS[a.verdict] for did, a in given.items()}
    data = {
        "jti": o.link.jti,
        "document": o.doc.id,
        "number": o.doc.number,
        "sha256": o.doc.sha256,
        "recipient": o.link.recipient,
        "contact": contact.id,
        "confirm_name": confirm_name.strip(),
        "at": now.isoformat(),
        "ip": client_ip,
        "user_agent": user_agent[:400],
        "signoff": signoff_id,
        "answers": [
            {"deliverable": a.deliverable_id, "verdict": VERDICTS[a.verdict], "comment": a.comment} for a in answers
        ],
    }
    event = AuditEvent(
        o.project.code,
        "client.acceptance",
        principal.email,
        now,
        "document",
        o.doc.number,
        {**data, "user_id": principal.user_id, "auth_method": principal.auth_method},
    )
    record = Record(o.project.code, SIGNOFF, o.link.jti, data, now)
    try:
        ctx.store.save_with_link(
            o.link.jti, now, new, expected_version=o.project.version, events=[event], records=[record]
        )
    except ConcurrentUpdate:
        # the project changed between reading and writing (not the link: that is LinkUsed); answer again on
        # the fresh project once, so a busy project does not make the client retry by hand
        o = _open(ctx, token)
        new, signoff_id = _answered_project(ctx, o, given, contact)
        ctx.store.save_with_link(
            o.link.jti, now, new, expected_version=o.project.version, events=[event], records=[record]
        )
    accepted = all(v != "rejected" for v in verdicts.values())
    outcome = AcceptanceOutcome(o.project.code, o.doc.number, verdicts, accepted, signoff_id)
    return _follow_up(ctx, principal, o, outcome, data)


# ------------------------------------------------------------------ after the answer
def _follow_up(
    ctx: Context, principal: policy.Principal, o: _Opened, outcome: AcceptanceOutcome, data: Mapping[str, Any]
) -> AcceptanceOutcome:
    """Countersigned copy, e-mails to the client and the PM, the next step's event (each idempotent)."""
    from lifecycle.services.delivery import notify, send_document, smtp_configured

    acting = Context(ctx.workspace, ctx.store, ctx.clock, cache=ctx.cache, principal=principal)
    problems: list[str] = []
    countersigned: DocumentRecord | None = None
    emailed: list[str] = []
    try:
        countersigned = countersign(acting, o.project.code, str(data["jti"]))
    except LifecycleError as exc:
        problems.append(f"countersigned certificate not issued: {exc}")
    if countersigned is not None and smtp_configured(ctx):
        pm = acting.store.get(o.project.code).charter.project_manager
        client = _client_rep_contact(o.project, o.link.recipient).id  # by id: the e-mail shows their name
        for to in ([client], [pm] if pm else []):
            try:
                emailed += send_document(acting, countersigned, to=to)["addresses"]
            except LifecycleError as exc:
                problems.append(f"e-mail to {', '.join(to)} not sent: {exc}")
    next_event = "payment.due" if outcome.accepted else "acceptance.rejected"
    payload = _next_payload(o, outcome)
    try:
        notify(acting, o.project.code, next_event, payload)
        emit_event(f"pmo.{next_event}", o.project.code, payload, workspace=ctx.workspace)
    except LifecycleError as exc:
        problems.append(f"{next_event} not announced: {exc}")
    return replace(
        outcome,
        countersigned=countersigned.number if countersigned else "",
        countersigned_path=countersigned.path if countersigned else "",
        emailed=tuple(emailed),
        next_event=next_event,
        problems=tuple(problems),
    )


def _next_payload(o: _Opened, outcome: AcceptanceOutcome) -> dict[str, Any]:
    ms = _milestone_of(o.doc)
    amount = "0"
    for m in o.project.milestones:
        if m.id == ms.get("id"):
            amount = str(m.payment_amount)
    return {
        "milestone": str(ms.get("id", "")),
        "document": o.doc.number,
        "verdicts": dict(outcome.verdicts),
        "payment_amount": amount,
        "currency": o.project.charter.currency,
        "rejected": sorted(d for d, v in outcome.verdicts.items() if v == "rejected"),
    }


def countersign(ctx: Context, code: str, jti: str) -> DocumentRecord:
    """The countersigned certificate for the answer recorded under link ``jti`` (issued once)."""
    from lifecycle.services.documents import issue_document

    rec = ctx.store.get_record(code, SIGNOFF, jti)
    if rec is None:
        raise NotFound(f"no client answer recorded for link {jti}")
    for d in ctx.store.documents(code):
        cs = d.record.get("countersign") if isinstance(d.record, Mapping) else None
        if isinstance(cs, Mapping) and cs.get("jti") == jti:
            return d
    answer = dict(rec.data)
    original = _document(ctx, str(answer["document"]))
    ms = str(_milestone_of(original).get("id", "")) or None
    return issue_document(ctx, code, "acceptance", milestone=ms, extra={"countersign": answer})


def emit_event(name: str, code: str, payload: Mapping[str, Any], *, workspace: Workspace) -> str | None:
    """Emit ``name`` for project ``code`` to the Prefect server in server mode; None in embedded mode."""
    from lifecycle.services import events

    if not events.server_mode(workspace):
        return None
    events.prefect_environment(workspace)
    import asyncio

    from prefect.events import Event
    from prefect.events.clients import get_events_client

    spec: dict[str, Any] = {
        "resource": {"prefect.resource.id": f"{events.RESOURCE_PREFIX}{code}", "prefect.resource.name": code},
        "payload": {"project": code, **dict(payload)},
    }
    event = Event(event=name, resource=spec["resource"], payload=spec["payload"])

    async def send() -> None:
        async with get_events_client(reconnection_attempts=2) as client:
            await client.emit(event)

    try:
        asyncio.run(send())
    except Exception as exc:  # the events client raises many kinds; the caller needs one
        raise DeliveryError(f"could not emit {name} to the Prefect server: {exc}") from exc
    return str(event.id)


def answered(ctx: Context, code: str) -> list[dict[str, Any]]:
    """Every client answer recorded for the project (the ``client_signoff`` records), oldest first."""
    return [r.data for r in ctx.store.records(code, SIGNOFF)]

"""Document use cases: issue a client document, verify a file, list what was issued.

``issue_document`` builds the document's record (the view model) from the project and its gate
reviews and waivers, renders it to PDF/A-3b with the record attached, signs it when the workspace
configures a key, writes it atomically (temporary file in the target folder, fsync, ``os.replace``)
and only then registers it with an audit event, so the registry never names a missing or half-written
file; if registering fails the new file is removed again. Times come from the context clock, never
the wall clock, so a fixed ``PMO_NOW`` gives the same record and the same unsigned bytes.

``verify_document`` answers "is this the file we issued?": the registry checksum, the embedded JSON
against the registered record, and every signature (intact, covering the whole file, trusted), with
one verdict: ``authentic``, ``altered`` or ``unknown`` (not a document of this registry). It also
checks the audit head the document carries (its anchor, see :mod:`lifecycle.services.audit`)
against the trail: a client's copy shows whether the history was cut back since it was issued.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lifecycle.documents.locale import check_lang
from lifecycle.documents.registry import KINDS, DocumentKind, build_view, document_kind, next_number
from lifecycle.documents.sign import SigningConfig, sign_pdf, trust_roots_for, verify_pdf
from lifecycle.documents.views import PackTitles, Stamp, choose_milestone, collect_waivers, plain
from lifecycle.domain.model import AuditEvent, DocumentRecord
from lifecycle.errors import InvalidInput, LifecycleError, NotFound, RenderError
from lifecycle.services.audit import ANCHOR, anchor_problems, document_anchor, short_anchor
from lifecycle.services.context import Context
from lifecycle.services.projects import load_rules
from lifecycle.services.scheduling import status_report_risk

__all__ = [
    "DocumentKind",
    "VerifyResult",
    "document_kinds",
    "issue_document",
    "list_documents",
    "signing_config",
    "verify_document",
]

_LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}


# --------------------------------------------------------------------------- helpers


def pack_titles(pack: Any) -> PackTitles:
    """The rule pack's printed names (phases, rules, quality standards and their references) for documents."""
    lc = pack.lifecycle
    return PackTitles(
        phases={ph.id: dict(ph.title) for ph in lc.phases} if lc else {},
        rules={r.id: dict(r.title) for r in pack.all_rules()},
        standards={q.id: dict(q.title) for q in pack.quality},
        references={q.id: q.reference for q in pack.quality},
    )


def _latest_review(reviews: list[dict[str, Any]], keys: list[str], review_id: str | None) -> dict[str, Any]:
    if review_id:
        for key, data in zip(keys, reviews, strict=True):
            if review_id in (key, str(data.get("id", ""))):
                return data
        known = ", ".join(str(r.get("id", k)) for k, r in zip(keys, reviews, strict=True)) or "none"
        raise NotFound(f"no gate review '{review_id}' (reviews: {known})")
    if not reviews:
        raise NotFound("no gate review is recorded for this project yet; run `pmo gate check` first")
    return max(reviews, key=lambda r: (str(r.get("evaluated_at", "")), str(r.get("id", ""))))


def _logo(ctx: Context) -> str:
    """The supplier logo from settings as a ``data:`` URI (the renderer fetches nothing else)."""
    logo = (ctx.workspace.settings.supplier or {}).get("logo")
    if not logo:
        return ""
    path = Path(str(logo)).expanduser()
    if not path.is_absolute():
        path = ctx.workspace.root / path
    media = _LOGO_TYPES.get(path.suffix.lower())
    if media is None or not path.is_file():
        raise InvalidInput(f"supplier.logo {path} must be an existing .png, .jpg or .svg file")
    return f"data:{media};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either nothing or the whole file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename durable where the platform allows it
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def signing_config(ctx: Context) -> Any:
    """The workspace's :class:`~lifecycle.documents.sign.SigningConfig`, or None."""
    return SigningConfig.from_settings(ctx.workspace.settings.signing, ctx.workspace.root)


def document_kinds() -> list[DocumentKind]:
    """Every registered kind of document (what `pmo docs` offers), in the registry's order."""
    return list(KINDS.values())


# --------------------------------------------------------------------------- issue
@dataclass(frozen=True)
class _Inputs:
    """Everything a document's record is built from, gathered once from the store."""

    entry: DocumentKind
    project: Any
    lang: str
    reviews: list[dict[str, Any]]
    waivers: list[Any]
    milestone: Any
    review: dict[str, Any] | None
    titles: PackTitles


def _inputs(
    ctx: Context, code: str, kind: str, milestone: str | None, review_id: str | None, lang: str | None
) -> _Inputs:
    entry = document_kind(kind)
    project = ctx.store.get(code)
    review_records = ctx.store.records(code, "gate_review")
    reviews = [dict(r.data) for r in review_records]
    waivers = collect_waivers(reviews, [dict(r.data) for r in ctx.store.records(code, "waiver")], ctx.today())
    ms = choose_milestone(project, ctx.today(), milestone) if entry.subject == "milestone" else None
    keys = [r.key for r in review_records]
    review = _latest_review(reviews, keys, review_id) if entry.subject == "review" else None
    return _Inputs(
        entry,
        project,
        check_lang(lang or project.charter.locale),
        reviews,
        waivers,
        ms,
        review,
        pack_titles(load_rules(ctx)),
    )


def _record(
    ctx: Context, inp: _Inputs, number: str, seq: int, issued_at: Any, extra: dict[str, Any] | None
) -> dict[str, Any]:
    stamp = Stamp(
        number=number,
        sequence=seq,
        lang=inp.lang,
        issued_at=issued_at,
        today=ctx.today(),
        actor=ctx.actor,
        supplier=dict(ctx.workspace.settings.supplier or {}),
        titles=inp.titles,
    )
    record = build_view(
        inp.entry.kind, inp.project, stamp, milestone=inp.milestone, review=inp.review, waivers=inp.waivers
    )
    return {**record, **extra} if extra else record


def _with_forecast(kind: str, project: Any, today: Any, extra: dict[str, Any] | None) -> dict[str, Any] | None:
    """A status report of a plan with three-point estimates carries its schedule risk (seeded, so the same
    project and day give the same figures); other documents carry only what the caller adds."""
    if kind != "status" or not any(
        t.optimistic_days is not None or t.pessimistic_days is not None for t in project.tasks
    ):
        return extra
    risk = status_report_risk(project, today)
    if not risk.get("estimated_tasks"):  # every estimated task is done or started: nothing varies
        return extra
    return {**(extra or {}), "schedule_risk": risk}


def same_content(ctx: Context, doc: DocumentRecord) -> bool:
    """Would issuing ``doc`` again now print what it printed? The record is built afresh from the
    project as it is, with the document's own number, date and language, and compared with the
    registered one: a document's identity is its project, kind, subject and content."""
    entry = document_kind(doc.kind)
    milestone = doc.subject if entry.subject == "milestone" else None
    review_id = doc.subject if entry.subject == "review" else None
    try:
        inp = _inputs(ctx, doc.project, doc.kind, milestone, review_id, doc.lang)
    except LifecycleError:
        return False  # the milestone or review it was about is gone: not the same document
    tail = doc.number.rsplit("-", 1)[-1]
    seq = int(tail) if tail.isdigit() else 1
    kept = ("countersign", ANCHOR)  # the client's answer; the audit head at issue (not content)
    extra = {k: doc.record[k] for k in kept if isinstance(doc.record, dict) and k in doc.record} or None
    extra = _with_forecast(doc.kind, inp.project, ctx.today(), extra)
    record = _record(ctx, inp, doc.number, seq, doc.created_at, extra)
    return bool(plain(record) == doc.record)


def issue_document(
    ctx: Context,
    code: str,
    kind: str,
    *,
    milestone: str | None = None,
    review_id: str | None = None,
    lang: str | None = None,
    out_dir: str | Path | None = None,
    extra: dict[str, Any] | None = None,
) -> DocumentRecord:
    """Render, sign (if configured), write and register one document; returns its registry entry.

    ``kind`` is one of ``acceptance`` (of ``milestone``, default: the latest acceptance milestone
    reached), ``final_acceptance``, ``handover``, ``gate_review`` (of ``review_id``, default: the
    latest review) or ``status``. ``lang`` overrides the project's locale; ``out_dir`` the folder
    (default ``<workspace>/documents/<CODE>``). ``extra`` adds sections to the record, e.g. the
    client's ``countersign`` answer printed on a countersigned acceptance certificate.
    """
    # the renderer imports WeasyPrint (~1.6 s): only commands that render or read a PDF pay for it
    from lifecycle.documents.render import render_pdf

    inp = _inputs(ctx, code, kind, milestone, review_id, lang)
    ms, review, reviews, lang = inp.milestone, inp.review, inp.reviews, inp.lang
    now = ctx.now()
    number, seq = next_number(code, kind, ctx.store.documents(code), ms.id if ms else None)
    record = _record(ctx, inp, number, seq, now, _with_forecast(kind, inp.project, ctx.today(), extra))
    record[ANCHOR] = document_anchor(ctx, code)  # the audit head at issue time, printed in the footer

    rendered = render_pdf(record, logo=_logo(ctx))
    if rendered.refused:
        raise RenderError(
            f"{number}: the document tried to load {', '.join(u[:80] for u in rendered.refused)}; "
            "only template assets and data: URIs are allowed, nothing was written"
        )
    pdf = rendered.pdf
    cfg = signing_config(ctx)
    if cfg is not None:
        pdf = sign_pdf(pdf, cfg)

    folder = Path(out_dir) if out_dir else ctx.workspace.documents_dir / code
    path = (folder / f"{number}.pdf").resolve()
    try:
        _write_atomic(path, pdf)
    except OSError as exc:
        raise RenderError(f"could not write {path}: {exc}") from exc

    pack = (review or (max(reviews, key=lambda r: str(r.get("evaluated_at", ""))) if reviews else {})).get("pack")
    subject = (
        ms.id
        if ms
        else str(review.get("id", ""))
        if review
        else str(record.get("report", {}).get("id", ""))
        if kind == "status"
        else ""
    )
    doc = DocumentRecord(
        id=number,
        project=code,
        kind=kind,
        number=number,
        path=str(path),
        sha256=hashlib.sha256(pdf).hexdigest(),
        created_at=now,
        lang=lang,
        pack_hash=str((pack or {}).get("hash", "")),
        signed=cfg is not None,
        subject=subject,
        record=record,
    )
    event = AuditEvent(
        code,
        "document.issued",
        ctx.actor,
        now,
        "document",
        number,
        {
            "kind": kind,
            "number": number,
            "sha256": doc.sha256,
            "path": doc.path,
            "lang": lang,
            "signed": doc.signed,
            "subject": subject,
        },
    )
    try:
        ctx.store.add_document(doc, events=[event])
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise
    return doc


def list_documents(ctx: Context, code: str) -> list[DocumentRecord]:
    """Every document registered for the project, oldest first."""
    ctx.store.get(code)
    return sorted(ctx.store.documents(code), key=lambda d: (d.created_at, d.number))


# --------------------------------------------------------------------------- verify
Verdict = Literal["authentic", "altered", "unknown"]
Signature = Literal["valid", "invalid", "absent"]


@dataclass
class VerifyResult:
    path: str
    sha256: str
    verdict: Verdict
    registered: bool  # the file's checksum is in the registry
    document: DocumentRecord | None  # the registered document the file is (or claims to be)
    record_matches: bool | None  # embedded JSON == registered record (None: nothing to compare)
    signature: Signature
    signatures: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # the audit head printed on the file is still in the trail, followed by its issue (None: no anchor)
    history_intact: bool | None = None
    anchor: str = ""  # the anchor as printed ("#42 3f9a1c2b7d0e"), if the file carries one

    @property
    def ok(self) -> bool:
        return self.verdict == "authentic" and self.history_intact is not False

    def to_dict(self) -> dict[str, Any]:
        d = self.document
        return {
            "path": self.path,
            "sha256": self.sha256,
            "verdict": self.verdict,
            "registered": self.registered,
            "document": None
            if d is None
            else {
                "number": d.number,
                "project": d.project,
                "kind": d.kind,
                "sha256": d.sha256,
                "path": d.path,
                "created_at": d.created_at.isoformat(),
                "signed": d.signed,
            },
            "record_matches": self.record_matches,
            "signature": self.signature,
            "signatures": self.signatures,
            "problems": self.problems,
            "anchor": self.anchor,
            "history_intact": self.history_intact,
        }


def _claimed_document(ctx: Context, embedded: dict[str, Any] | None, path: Path) -> DocumentRecord | None:
    """The registered document this file says it is (by embedded number, else by file path)."""
    if embedded:
        code = str((embedded.get("project") or {}).get("code", ""))
        number = str(embedded.get("number", ""))
        with contextlib.suppress(Exception):
            for d in ctx.store.documents(code or None):
                if d.number == number:
                    return d
    resolved = str(path.resolve())
    docs = ctx.store.documents(None)
    return next((d for d in reversed(docs) if d.path == resolved), None) or next(
        (d for d in reversed(docs) if Path(d.path).name == path.name), None
    )


def _read_file(p: Path) -> bytes:
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"no such file: {p}") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {p}: {exc}") from exc


def _record_problems(
    registered: DocumentRecord | None, doc: DocumentRecord | None, embedded: dict[str, Any] | None
) -> tuple[bool | None, list[str]]:
    """Does the embedded record equal the registered one, and what is wrong with checksum and record."""
    problems: list[str] = []
    if registered is None and doc is not None:
        problems.append(f"the checksum differs from the registered {doc.number} (sha256 {doc.sha256[:16]}…)")
    if doc is None:
        return None, problems
    if embedded is None:
        problems.append("the embedded JSON record is missing or unreadable")
    elif embedded != doc.record:
        problems.append("the embedded JSON record differs from the registered record")
    return embedded == doc.record, problems


def _signature_problems(checks: list[Any], doc: DocumentRecord | None) -> tuple[Signature, list[str]]:
    """The signature verdict of the file's signatures and what is wrong with them."""
    if not checks:
        missing = doc is not None and doc.signed
        return "absent", ["the registered document was signed but this file carries no signature"] if missing else []
    if all(c.ok for c in checks):
        untrusted = [c for c in checks if not c.trusted]
        return "valid", [
            f"signature by {c.signer} is intact but its certificate is not trusted here" for c in untrusted
        ]
    problems = []
    for c in checks:
        if c.problem:
            problems.append(f"signature {c.field}: {c.problem}")
        elif not (c.intact and c.valid):
            problems.append(f"signature {c.field} by {c.signer} does not match the signed bytes")
        elif not c.covers_whole_file:
            problems.append(f"signature {c.field}: content was added after signing")
    return "invalid", problems


def _verdict(
    registered: DocumentRecord | None, doc: DocumentRecord | None, record_matches: bool | None, signature: Signature
) -> Verdict:
    unsigned_copy = registered is not None and registered.signed and signature == "absent"
    if registered is not None and record_matches is not False and signature != "invalid" and not unsigned_copy:
        return "authentic"
    if doc is not None or signature == "invalid":
        return "altered"
    return "unknown"


def _history_problems(ctx: Context, embedded: dict[str, Any] | None) -> tuple[str, list[str]] | None:
    """The anchor a file carries and what the audit trail says against it (None: no anchor)."""
    anchor = embedded.get(ANCHOR) if isinstance(embedded, dict) else None
    if not isinstance(anchor, dict):
        return None
    code = str((embedded or {}).get("project", {}).get("code", ""))
    number = str((embedded or {}).get("number", ""))
    try:
        events = ctx.store.audit(code)
    except NotFound:
        return short_anchor(anchor), [f"the project {code or '?'} this document anchors is not in this workspace"]
    return short_anchor(anchor), anchor_problems(events, anchor, number)


def verify_document(ctx: Context, path: str | Path) -> VerifyResult:
    """Check a PDF against the registry, its embedded record and its signatures."""
    # lazy for the same reason as in issue_document (WeasyPrint behind the renderer module)
    from lifecycle.documents.render import extract_record

    p = Path(path)
    data = _read_file(p)
    sha = hashlib.sha256(data).hexdigest()
    registered_doc = ctx.store.find_document(sha)
    embedded = extract_record(data)
    doc = registered_doc or _claimed_document(ctx, embedded, p)
    record_matches, problems = _record_problems(registered_doc, doc, embedded)

    trust: list[Any] = []
    if b"/ByteRange" in data:
        with contextlib.suppress(Exception):  # a broken signing setup must not stop a verification
            trust = trust_roots_for(signing_config(ctx))
    checks = verify_pdf(data, trust) if b"/ByteRange" in data else []
    signature, signature_problems = _signature_problems(checks, doc)
    problems += signature_problems

    verdict = _verdict(registered_doc, doc, record_matches, signature)
    if verdict == "unknown":
        problems.append("this file is not a document registered in this workspace")
    history = _history_problems(ctx, embedded)
    if history is not None:
        problems += history[1]
    return VerifyResult(
        path=str(p),
        sha256=sha,
        verdict=verdict,
        registered=registered_doc is not None,
        document=doc,
        record_matches=record_matches,
        signature=signature,
        signatures=[c.to_dict() for c in checks],
        problems=problems,
        history_intact=None if history is None else not history[1],
        anchor="" if history is None else history[0],
    )

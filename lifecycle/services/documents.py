"""Document use cases: issue a client document (once), verify a file, list what was issued.

``issue`` (and ``issue_document``) builds the document's record (the view model) from the project and
its gate reviews and waivers, renders it to PDF/A-3b with the record attached, signs it when the
workspace configures a key, and registers it with its bytes and an audit event. A document is
identified by its project, kind, subject (milestone or review; a status report by its day) and
audience (the client's version, or the PMO's internal one where the kind has it); the
whole step runs under the store's issuing lock for (project, kind, subject) (:meth:`Store.issuing`), which looks
in the registry again first, so concurrent or repeated calls return the one registered document. A
changed document is only made by an explicit re-issue: a new *revision* under the same number.

The file is written under a unique temporary name, fsynced, then hard-linked to ``<id>.pdf`` (or, if
some other file has that name, ``<id>-<sha256 prefix>.pdf``): an existing file is never replaced, a
stale ``.part`` file of a killed run is never read, and numbers come from the registry only. If
registering fails, only the file this call created is removed, and only when the registry does not
name it. The bytes are also stored in the database, so any machine on the same database can serve
and verify the document. Times come from the context clock, never the wall clock, so a fixed
``PMO_NOW`` gives the same record and the same unsigned bytes.

``verify_document`` answers "is this the file we issued?": the registry checksum, the embedded JSON
against the registered record, and every signature (intact, covering the whole file, trusted), with
one verdict: ``authentic``, ``altered`` or ``unknown`` (not a document of this registry). It also
checks the audit head the document carries (its anchor, see :mod:`lifecycle.services.audit`)
against the trail: a client's copy shows whether the history was cut back since it was issued.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lifecycle.documents.locale import check_lang
from lifecycle.documents.registry import (
    KINDS,
    DocumentKind,
    build_view,
    check_audience,
    document_kind,
    next_number,
    number_sequence,
)
from lifecycle.documents.sign import SigningConfig, sign_pdf, trust_roots_for, verify_pdf
from lifecycle.documents.views import PackTitles, Stamp, choose_milestone, collect_waivers
from lifecycle.domain import policy
from lifecycle.domain.limits import MAX_PDF_BYTES
from lifecycle.domain.model import AuditEvent, DocumentRecord
from lifecycle.errors import Forbidden, InvalidInput, NotFound, RenderError, SpecError
from lifecycle.load.files import read_regular
from lifecycle.services.audit import ANCHOR, anchor_problems, document_anchor, short_anchor
from lifecycle.services.context import Context
from lifecycle.services.projects import load_rules
from lifecycle.services.scheduling import status_report_risk

__all__ = [
    "DocumentKind",
    "Issued",
    "VerifyResult",
    "document_content",
    "document_kinds",
    "document_path",
    "find_registered",
    "issue",
    "issue_document",
    "list_documents",
    "signing_config",
    "stored_content",
    "verify_document",
    "verify_registered",
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
        project_fields={name: dict(spec.label) for name, spec in (pack.fields.get("project") or {}).items()},
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
    return f"data:{media};base64," + base64.b64encode(read_regular(path)).decode("ascii")  # size-limited


_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}


def _new_name(tmp: str, target: Path, data: bytes) -> None:
    """``target`` as a new name of the written temporary file; FileExistsError if the name is taken.
    Where the file system has no hard links, ``target`` is created exclusively and written (and removed
    again if writing fails): still never replacing a file."""
    try:
        os.link(tmp, target)
        return
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        target.unlink()
        raise


def _link_new(tmp: str, folder: Path, names: Sequence[str], data: bytes) -> tuple[Path, bool]:
    """Give the written temporary file the first of ``names`` that is free (a hard link never replaces a
    file), or the one already holding exactly ``data``; ``(path, created)``."""
    for name in names:
        target = folder / name
        try:
            _new_name(tmp, target, data)
            return target, True
        except FileExistsError:
            with contextlib.suppress(OSError):
                if target.is_file() and not target.is_symlink() and target.read_bytes() == data:
                    return target, False
    raise RenderError(f"every file name for {names[0]} in {folder} is taken by another file; nothing was written")


def _place_file(folder: Path, stem: str, data: bytes) -> tuple[Path, bool]:
    """Write ``data`` under a unique temporary name in ``folder``, fsync it, then link it to ``<stem>.pdf``
    (or, if another file has that name, ``<stem>-<sha256 prefix>.pdf``): an existing file is never
    replaced. The temporary name is removed in every case; returns ``(path, created)``."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        names = [f"{stem}.pdf", f"{stem}-{hashlib.sha256(data).hexdigest()[:12]}.pdf"]
        path, created = _link_new(tmp, folder, names, data)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    with contextlib.suppress(OSError):  # make the new name durable where the platform allows it
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    return path, created


def _remove_unregistered(ctx: Context, code: str, path: Path) -> None:
    """Remove a file this call created, unless the registry names it (a commit may have succeeded
    before the failure); when the registry cannot be read the file is kept: never risk a registered one."""
    try:
        registered = any(d.path == str(path) for d in ctx.store.documents(code))
    except Exception:  # any failure to read means "cannot tell": keep the file
        return
    if not registered:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


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
    audience: str = "client"


def _inputs(
    ctx: Context,
    code: str,
    kind: str,
    milestone: str | None,
    review_id: str | None,
    lang: str | None,
    audience: str = "client",
) -> _Inputs:
    entry = document_kind(kind)
    check_audience(kind, audience)
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
        audience,
    )


def _record(
    ctx: Context, inp: _Inputs, number: str, seq: int, revision: int, issued_at: Any, extra: dict[str, Any] | None
) -> dict[str, Any]:
    stamp = Stamp(
        number=number,
        sequence=seq,
        revision=revision,
        lang=inp.lang,
        issued_at=issued_at,
        today=ctx.today(),
        actor=ctx.actor,
        supplier=dict(ctx.workspace.settings.supplier or {}),
        titles=inp.titles,
    )
    record = build_view(
        inp.entry.kind,
        inp.project,
        stamp,
        milestone=inp.milestone,
        review=inp.review,
        waivers=inp.waivers,
        audience=inp.audience,
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


@dataclass(frozen=True)
class Issued:
    """The document asked for, and whether this call issued it (False: it was registered before)."""

    document: DocumentRecord
    issued_now: bool


def _countersign_jti(values: Any) -> str:
    """The client answer a countersigned certificate prints (its link id), '' for any other document."""
    cs = values.get("countersign") if isinstance(values, dict) else None
    return str(cs.get("jti", "")) if isinstance(cs, dict) else ""


@dataclass(frozen=True)
class _Identity:
    """What makes two issues the same document: project, kind, subject (milestone or review), audience
    (the client's version or the PMO's internal one), the countersigned answer if any, for a status
    report the day, and the language when one was asked for."""

    kind: str
    subject: str
    variant: str
    lang: str | None
    day: str
    audience: str = "client"

    def matches(self, d: DocumentRecord) -> bool:
        if d.kind != self.kind or _countersign_jti(d.record) != self.variant or d.audience != self.audience:
            return False
        if self.lang is not None and d.lang != self.lang:
            return False
        if self.kind == "status":  # a periodic report: one per day
            return str(d.record.get("issued_on", "")) == self.day
        return d.subject == self.subject

    def latest(self, docs: Sequence[DocumentRecord]) -> DocumentRecord | None:
        mine = [d for d in docs if self.matches(d)]
        return max(mine, key=lambda d: (d.revision, d.created_at, d.id)) if mine else None


def _identity(ctx: Context, inp: _Inputs, lang: str | None, extra: dict[str, Any] | None) -> _Identity:
    subject = inp.milestone.id if inp.milestone else str(inp.review.get("id", "")) if inp.review else ""
    day = ctx.today().isoformat()
    return _Identity(inp.entry.kind, subject, _countersign_jti(extra), inp.lang if lang else None, day, inp.audience)


def _number_of(
    code: str, inp: _Inputs, docs: Sequence[DocumentRecord], base: DocumentRecord | None
) -> tuple[str, int, int]:
    """``(number, sequence, revision)``: the next free number (revision 1), or for a re-issue of ``base``
    its number and the next revision of it."""
    if base is None:
        milestone = inp.milestone.id if inp.milestone else None
        number, seq = next_number(code, inp.entry.kind, docs, milestone, inp.audience)
        return number, seq, 1
    revision = max(d.revision for d in docs if d.number == base.number) + 1
    return base.number, number_sequence(base.number), revision


def _render(ctx: Context, record: dict[str, Any], number: str) -> tuple[bytes, bool]:
    """The PDF of ``record``, signed when the workspace configures a key; ``(bytes, signed)``."""
    # the renderer imports WeasyPrint (~1.6 s): only commands that render or read a PDF pay for it
    from lifecycle.documents.render import render_pdf

    rendered = render_pdf(record, logo=_logo(ctx))
    if rendered.refused:
        raise RenderError(
            f"{number}: the document tried to load {', '.join(u[:80] for u in rendered.refused)}; "
            "only template assets and data: URIs are allowed, nothing was written"
        )
    cfg = signing_config(ctx)
    return (rendered.pdf if cfg is None else sign_pdf(rendered.pdf, cfg)), cfg is not None


def _subject_of(inp: _Inputs, record: dict[str, Any]) -> str:
    if inp.milestone:
        return str(inp.milestone.id)
    if inp.review:
        return str(inp.review.get("id", ""))
    return str(record.get("report", {}).get("id", "")) if inp.entry.kind == "status" else ""


def _issued_event(ctx: Context, doc: DocumentRecord, base: DocumentRecord | None) -> AuditEvent:
    data: dict[str, Any] = {
        "kind": doc.kind,
        "number": doc.number,
        "sha256": doc.sha256,
        "path": doc.path,
        "lang": doc.lang,
        "signed": doc.signed,
        "subject": doc.subject,
        "revision": doc.revision,
        "audience": doc.audience,
    }
    if base is not None:
        data |= {"replaces": base.id, "replaces_sha256": base.sha256, **ctx.acting()}
    action = "document.reissued" if base is not None else "document.issued"
    return AuditEvent(doc.project, action, ctx.actor, doc.created_at, "document", doc.id, data)


def _new_document(
    ctx: Context,
    inp: _Inputs,
    docs: Sequence[DocumentRecord],
    base: DocumentRecord | None,
    extra: dict[str, Any] | None,
    folder: Path,
    placed: list[Path],
) -> tuple[DocumentRecord, bytes]:
    """Number, render, sign and write a new document (or revision of ``base``); not yet registered.
    A file this creates is added to ``placed``."""
    code, kind = inp.project.code, inp.entry.kind
    now = ctx.now()
    number, seq, revision = _number_of(code, inp, docs, base)
    doc_id = number if revision == 1 else f"{number}-R{revision}"
    record = _record(ctx, inp, number, seq, revision, now, _with_forecast(kind, inp.project, ctx.today(), extra))
    record[ANCHOR] = document_anchor(ctx, code)  # the audit head at issue time, printed in the footer
    pdf, signed = _render(ctx, record, number)
    try:
        path, created = _place_file(folder, doc_id, pdf)
    except OSError as exc:
        raise RenderError(f"could not write {folder / (doc_id + '.pdf')}: {exc}") from exc
    if created:
        placed.append(path)
    reviews = inp.reviews
    pack = (inp.review or (max(reviews, key=lambda r: str(r.get("evaluated_at", ""))) if reviews else {})).get("pack")
    doc = DocumentRecord(
        id=doc_id,
        project=code,
        kind=kind,
        number=number,
        path=str(path.resolve()),
        sha256=hashlib.sha256(pdf).hexdigest(),
        created_at=now,
        lang=inp.lang,
        pack_hash=str((pack or {}).get("hash", "")),
        signed=signed,
        subject=_subject_of(inp, record),
        record=record,
        revision=revision,
    )
    return doc, pdf


@contextlib.contextmanager
def _files_kept_only_if_registered(ctx: Context, code: str) -> Iterator[list[Path]]:
    """Collects the files an issue creates; if the issue fails, removes those the registry does not name."""
    placed: list[Path] = []
    try:
        yield placed
    except BaseException:
        for path in placed:
            _remove_unregistered(ctx, code, path)
        raise


def issue(
    ctx: Context,
    code: str,
    kind: str,
    *,
    milestone: str | None = None,
    review_id: str | None = None,
    lang: str | None = None,
    out_dir: str | Path | None = None,
    extra: dict[str, Any] | None = None,
    reissue: bool = False,
    audience: str = "client",
) -> Issued:
    """The document of ``kind`` about ``milestone`` / ``review_id`` of project ``code``, issued at most once.

    ``kind`` is one of ``acceptance`` (of ``milestone``, default: the latest acceptance milestone
    reached), ``final_acceptance``, ``handover``, ``gate_review`` (of ``review_id``, default: the
    latest review) or ``status``. ``lang`` overrides the project's locale; ``out_dir`` the folder
    (default ``<workspace>/documents/<CODE>``). ``extra`` adds sections to the record, e.g. the
    client's ``countersign`` answer printed on a countersigned acceptance certificate. ``audience``
    ``internal`` issues the PMO's version of a kind that has one (the final acceptance report with every
    budget line): a document of its own, numbered ``...-<N>-INT``, marked internal on every page, never
    e-mailed to a client contact (:mod:`lifecycle.services.delivery`); a signed-in user must be of the PMO
    or manage the project to issue or get it.

    Under the store's issuing lock for (project, kind, subject), shared by both audiences, the registry
    is read again: a document of
    the same identity (see :class:`_Identity`; a language only when ``lang`` is given) is returned as it
    is, whatever changed in the project since. Otherwise the document is numbered, rendered, signed
    when configured, written under a new name and registered with its bytes and an audit event, all
    before the lock is released. ``reissue`` makes a new *revision* of the existing document (same
    number, revision 2, 3 …, audited as ``document.reissued``); a signed-in user needs the right to
    generate documents for it.
    """
    inp = _inputs(ctx, code, kind, milestone, review_id, lang, audience)
    if audience == "internal" and ctx.principal is not None and not policy.reads_internal(inp.project, ctx.principal):
        raise Forbidden(f"{ctx.principal.label()} may not see the PMO's internal documents of {code}")
    identity = _identity(ctx, inp, lang, extra)
    folder = Path(out_dir) if out_dir else ctx.workspace.documents_dir / code
    with (
        _files_kept_only_if_registered(ctx, code) as placed,
        ctx.store.issuing(code, kind, identity.subject) as session,
    ):
        docs = session.documents()
        existing = identity.latest(docs)
        if existing is not None and not reissue:
            return Issued(existing, False)
        if existing is not None and ctx.principal is not None:
            policy.require(ctx.principal, policy.GENERATE_DOCUMENTS, inp.project)
        doc, pdf = _new_document(ctx, inp, docs, existing, extra, folder, placed)
        session.register(doc, pdf, [_issued_event(ctx, doc, existing)])
    return Issued(doc, True)


def issue_document(ctx: Context, code: str, kind: str, **options: Any) -> DocumentRecord:
    """The registry entry of :func:`issue` (with the same options): the document issued now, or the one
    of the same identity registered before."""
    return issue(ctx, code, kind, **options).document


def find_registered(ctx: Context, ref: str, code: str | None = None) -> DocumentRecord:
    """A registered document by id, of project ``code`` or of any project: revision 1's id is its number,
    a later revision's ``<number>-R<revision>``."""
    found = [d for d in ctx.store.documents(code) if d.id == ref]
    if not found:
        where = f"project {code}" if code else "the registry"
        raise NotFound(f"{where} has no document '{ref}' (see `pmo docs list`)")
    return found[0]


def document_path(ctx: Context, doc: DocumentRecord) -> Path:
    """Where the document's file is (or would be) on this machine."""
    path = Path(doc.path)
    if not path.is_absolute():
        for base in (ctx.workspace.root, ctx.workspace.documents_dir):
            if (base / path).is_file():
                return base / path
        path = ctx.workspace.root / path
    return path


def stored_content(ctx: Context, doc: DocumentRecord) -> bytes | None:
    """The document's bytes as stored in the database, if they are there and match the registered sha256."""
    data = ctx.store.document_content(doc.id)
    return data if data is not None and hashlib.sha256(data).hexdigest() == doc.sha256 else None


def document_content(ctx: Context, ref: str, code: str | None = None) -> tuple[DocumentRecord, bytes]:
    """A registered document and its bytes, checked against the registered sha256: the file on this
    machine when it is there and intact, else the copy in the database."""
    doc = find_registered(ctx, ref, code)
    path = document_path(ctx, doc)
    with contextlib.suppress(SpecError):  # no regular file here (missing, a pipe, too large): the database's copy
        data = read_regular(path, MAX_PDF_BYTES)
        if hashlib.sha256(data).hexdigest() == doc.sha256:
            return doc, data
    stored = stored_content(ctx, doc)
    if stored is None:
        raise NotFound(f"document {doc.id}: no intact copy (file {path} missing or changed, none in the database)")
    return doc, stored


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
                "audience": d.audience,
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
        revision = embedded.get("revision", 1)
        with contextlib.suppress(Exception):
            for d in ctx.store.documents(code or None):
                if d.number == number and d.revision == revision:
                    return d
    resolved = str(path.resolve())
    docs = ctx.store.documents(None)
    return next((d for d in reversed(docs) if d.path == resolved), None) or next(
        (d for d in reversed(docs) if Path(d.path).name == path.name), None
    )


def _read_file(p: Path) -> bytes:
    """A document to verify: a regular file of at most MAX_PDF_BYTES (a pipe or a device is refused)."""
    if not os.path.lexists(p):
        raise NotFound(f"no such file: {p}")
    return read_regular(p, MAX_PDF_BYTES)


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
    """Check a PDF file against the registry, its embedded record and its signatures."""
    p = Path(path)
    return _verify_bytes(ctx, _read_file(p), p)


def verify_registered(ctx: Context, ref: str) -> VerifyResult:
    """Check a registered document (by id or number) as this machine can get it: its file when there is
    one here, else the copy stored in the database."""
    doc = find_registered(ctx, ref)
    path = document_path(ctx, doc)
    try:
        data = read_regular(path, MAX_PDF_BYTES)
    except SpecError:  # no regular file here: the copy stored in the database
        stored = ctx.store.document_content(doc.id)
        if stored is None:
            raise NotFound(f"document {doc.id}: no file at {path} and no copy in the database") from None
        data = stored
    return _verify_bytes(ctx, data, path)


def _verify_bytes(ctx: Context, data: bytes, p: Path) -> VerifyResult:
    # lazy for the same reason as in issue_document (WeasyPrint behind the renderer module)
    from lifecycle.documents.render import extract_record

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

"""Document use cases: issue a client document, verify a file, list what was issued.

``issue_document`` builds the document's record (the view model) from the project and its gate
reviews and waivers, renders it to PDF/A-3b with the record attached, signs it when the workspace
configures a key, writes it atomically (temporary file in the target folder, fsync, ``os.replace``)
and only then registers it with an audit event, so the registry never names a missing or half-written
file; if registering fails the new file is removed again. Times come from the context clock, never
the wall clock, so a fixed ``PMO_NOW`` gives the same record and the same unsigned bytes.

``verify_document`` answers "is this the file we issued?": the registry checksum, the embedded JSON
against the registered record, and every signature (intact, covering the whole file, trusted), with
one verdict: ``authentic``, ``altered`` or ``unknown`` (not a document of this registry).
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
from lifecycle.documents.views import KINDS, Stamp, build_view, choose_milestone, collect_waivers, next_number
from lifecycle.domain.model import AuditEvent, DocumentRecord
from lifecycle.errors import InvalidInput, NotFound, RenderError
from lifecycle.services.context import Context

_LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}


# --------------------------------------------------------------------------- helpers
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
    from lifecycle.documents.sign import SigningConfig

    return SigningConfig.from_settings(ctx.workspace.settings.signing, ctx.workspace.root)


# --------------------------------------------------------------------------- issue
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
    from lifecycle.documents.render import render_pdf

    if kind not in KINDS:
        raise InvalidInput(f"unknown document kind '{kind}' (known: {', '.join(KINDS)})")
    project = ctx.store.get(code)
    lang = check_lang(lang or project.charter.locale)
    today, now = ctx.today(), ctx.now()

    review_records = ctx.store.records(code, "gate_review")
    reviews = [dict(r.data) for r in review_records]
    waivers = collect_waivers(reviews, [dict(r.data) for r in ctx.store.records(code, "waiver")], today)
    ms = choose_milestone(project, today, milestone) if kind == "acceptance" else None
    review = _latest_review(reviews, [r.key for r in review_records], review_id) if kind == "gate_review" else None

    number, seq = next_number(code, kind, ctx.store.documents(code), ms.id if ms else None)
    stamp = Stamp(
        number=number,
        sequence=seq,
        lang=lang,
        issued_at=now,
        today=today,
        actor=ctx.actor,
        supplier=dict(ctx.workspace.settings.supplier or {}),
    )
    record = build_view(kind, project, stamp, milestone=ms, review=review, waivers=waivers)
    if extra:
        record = {**record, **extra}

    rendered = render_pdf(record, logo=_logo(ctx))
    if rendered.refused:
        raise RenderError(
            f"{number}: the document tried to load {', '.join(u[:80] for u in rendered.refused)}; "
            "only template assets and data: URIs are allowed, nothing was written"
        )
    pdf = rendered.pdf
    cfg = signing_config(ctx)
    if cfg is not None:
        from lifecycle.documents.sign import sign_pdf

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
@dataclass
class VerifyResult:
    path: str
    sha256: str
    verdict: Literal["authentic", "altered", "unknown"]
    registered: bool  # the file's checksum is in the registry
    document: DocumentRecord | None  # the registered document the file is (or claims to be)
    record_matches: bool | None  # embedded JSON == registered record (None: nothing to compare)
    signature: Literal["valid", "invalid", "absent"]
    signatures: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verdict == "authentic"

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


def verify_document(ctx: Context, path: str | Path) -> VerifyResult:
    """Check a PDF against the registry, its embedded record and its signatures."""
    from lifecycle.documents.render import extract_record
    from lifecycle.documents.sign import trust_roots_for, verify_pdf

    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"no such file: {p}") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {p}: {exc}") from exc
    sha = hashlib.sha256(data).hexdigest()
    problems: list[str] = []
    registered_doc = ctx.store.find_document(sha)
    embedded = extract_record(data)
    doc = registered_doc or _claimed_document(ctx, embedded, p)

    if registered_doc is None and doc is not None:
        problems.append(f"the checksum differs from the registered {doc.number} (sha256 {doc.sha256[:16]}…)")
    record_matches: bool | None = None
    if doc is not None:
        record_matches = embedded == doc.record
        if embedded is None:
            problems.append("the embedded JSON record is missing or unreadable")
        elif not record_matches:
            problems.append("the embedded JSON record differs from the registered record")

    trust: list[Any] = []
    if b"/ByteRange" in data:
        with contextlib.suppress(Exception):  # a broken signing setup must not stop a verification
            trust = trust_roots_for(signing_config(ctx))
    checks = verify_pdf(data, trust) if b"/ByteRange" in data else []
    if not checks:
        signature: Literal["valid", "invalid", "absent"] = "absent"
        if doc is not None and doc.signed:
            problems.append("the registered document was signed but this file carries no signature")
    elif all(c.ok for c in checks):
        signature = "valid"
        for c in checks:
            if not c.trusted:
                problems.append(f"signature by {c.signer} is intact but its certificate is not trusted here")
    else:
        signature = "invalid"
        for c in checks:
            if c.problem:
                problems.append(f"signature {c.field}: {c.problem}")
            elif not (c.intact and c.valid):
                problems.append(f"signature {c.field} by {c.signer} does not match the signed bytes")
            elif not c.covers_whole_file:
                problems.append(f"signature {c.field}: content was added after signing")

    if (
        registered_doc is not None
        and record_matches is not False
        and signature != "invalid"
        and not (registered_doc.signed and signature == "absent")
    ):
        verdict: Literal["authentic", "altered", "unknown"] = "authentic"
    elif doc is not None or signature == "invalid":
        verdict = "altered"
    else:
        verdict = "unknown"
        problems.append("this file is not a document registered in this workspace")
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
    )

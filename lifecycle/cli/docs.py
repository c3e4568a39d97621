"""``pmo docs``: issue, list, verify and fetch client documents (signed PDF/A, Chinese or English).

Each issuing command prints the path of the PDF (or, with ``--json``, the registry entry). A document
is issued once per project, kind and milestone or review: asked again, the command prints the
registered one and says so on stderr; ``--reissue`` makes a new revision of it. ``--internal`` (on a
kind that has the PMO's version, e.g. the final acceptance report) issues that version: a document of
its own with its own number. ``verify`` takes a
file or a registered document's number (then the copy stored in the database is checked when the
file is not on this machine) and exits 1 when it was altered or is not one of this workspace's
documents, or when the audit trail no longer holds the audit head printed on it (the history was cut
back). ``get`` writes a registered document's stored bytes to a file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from lifecycle.cli.output import console, emit_json, handle_errors, run_in_context
from lifecycle.services.documents import (
    DocumentKind,
    document_content,
    document_kinds,
    list_documents,
    verify_document,
    verify_registered,
)
from lifecycle.services.documents import (
    issue as issue_once,
)
from lifecycle.services.languages import languages

LANG = click.Choice(list(languages()))


def _doc_dict(doc: Any) -> dict[str, Any]:
    return {
        "number": doc.number,
        "kind": doc.kind,
        "project": doc.project,
        "path": doc.path,
        "sha256": doc.sha256,
        "created_at": doc.created_at,
        "lang": doc.lang,
        "signed": doc.signed,
        "subject": doc.subject,
        "pack_hash": doc.pack_hash,
        "id": doc.id,
        "revision": doc.revision,
        "audience": doc.audience,
    }


def _common(fn: Any) -> Any:
    fn = click.option("--json", "as_json", is_flag=True, help="Print the registry entry as JSON.")(fn)
    fn = click.option(
        "--out",
        metavar="DIR",
        type=click.Path(file_okay=False),
        help="Output folder (default: <workspace>/documents/<CODE>).",
    )(fn)
    fn = click.option("--lang", type=LANG, help="Document language (default: the project's locale).")(fn)
    return fn


@click.group("docs")
def docs_grp() -> None:
    """Generate, list and verify client documents (PDF/A-3b with the record attached).

    Documents are signed (PAdES) when `signing:` is configured in the workspace settings.
    """


def _issue_command(entry: DocumentKind) -> click.Command:
    """The `pmo docs <command>` issuing one kind, from its registry entry (milestone or review option)."""

    @click.pass_context
    @handle_errors
    def issue(
        ctx: click.Context,
        code: str,
        lang: str | None,
        out: str | None,
        as_json: bool,
        reissue: bool,
        milestone: str | None = None,
        review_id: str | None = None,
        internal: bool = False,
    ) -> None:
        done = run_in_context(
            ctx,
            lambda c: issue_once(
                c,
                code,
                entry.kind,
                milestone=milestone,
                review_id=review_id,
                lang=lang,
                out_dir=out,
                reissue=reissue,
                audience="internal" if internal else "client",
            ),
        )
        doc = done.document
        if not done.issued_now:
            click.echo(
                f"{doc.id} was already issued on {doc.created_at:%Y-%m-%d %H:%M} (revision {doc.revision}); "
                "nothing new was issued (--reissue makes a new revision)",
                err=True,
            )
        if as_json:
            emit_json({**_doc_dict(doc), "issued_now": done.issued_now})
        else:
            click.echo(doc.path)

    cmd = click.option(
        "--reissue",
        is_flag=True,
        help="Issue a new revision of the registered document from the project as it is now (audited).",
    )(issue)
    cmd = _common(cmd)
    if "internal" in entry.audiences:
        cmd = click.option(
            "--internal",
            is_flag=True,
            help="Issue the PMO's internal version (every cost figure; numbered ...-INT, marked internal on "
            "every page, never e-mailed to a client contact).",
        )(cmd)
    if entry.subject == "milestone":
        cmd = click.option(
            "--milestone", metavar="ID", help="Milestone (default: the latest acceptance milestone reached)."
        )(cmd)
    elif entry.subject == "review":
        cmd = click.option("--review", "review_id", metavar="ID", help="Gate review id (default: the latest).")(cmd)
    cmd = click.argument("code")(cmd)
    return click.command(entry.command, help=entry.help)(cmd)


for _entry in document_kinds():
    docs_grp.add_command(_issue_command(_entry))


@docs_grp.command("list")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def list_cmd(ctx: click.Context, code: str, as_json: bool) -> None:
    """Documents issued for a project."""
    docs = run_in_context(ctx, lambda c: list_documents(c, code))
    if as_json:
        emit_json([_doc_dict(d) for d in docs])
        return
    if not docs:
        click.echo(f"no documents issued for {code}")
        return
    table = Table(box=None, pad_edge=False)
    widest = max(len(d.id) for d in docs)
    table.add_column("document", no_wrap=True, min_width=widest)
    for col in ("kind", "lang", "signed", "issued", "sha256"):
        table.add_column(col, no_wrap=True)
    table.add_column("path", overflow="fold")
    for d in docs:
        table.add_row(
            d.id,
            d.kind,
            d.lang,
            "yes" if d.signed else "no",
            d.created_at.strftime("%Y-%m-%d %H:%M"),
            d.sha256[:12],
            d.path,
        )
    console().print(table)


def _is_file_argument(text: str) -> bool:
    """A path (an existing file, or something written like a path) rather than a document number."""
    return Path(text).exists() or "/" in text or text.lower().endswith(".pdf")


@docs_grp.command("get")
@click.argument("document")
@click.option(
    "--out", "out", metavar="FILE", type=click.Path(dir_okay=False), help="File to write (default: <id>.pdf)."
)
@click.pass_context
@handle_errors
def get_cmd(ctx: click.Context, document: str, out: str | None) -> None:
    """Write a registered document (by number or id) to a file: its file here, else the database copy,
    checked against the registered sha256. An existing file is not overwritten."""
    doc, data = run_in_context(ctx, lambda c: document_content(c, document))
    target = Path(out) if out else Path(f"{doc.id}.pdf")
    try:
        with target.open("xb") as fh:
            fh.write(data)
    except FileExistsError:
        click.echo(f"error: {target} exists; choose another --out", err=True)
        ctx.exit(2)
    except OSError as exc:
        click.echo(f"error: cannot write {target}: {exc.strerror}", err=True)
        ctx.exit(2)
    click.echo(str(target))


@docs_grp.command("verify")
@click.argument("file")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def verify_cmd(ctx: click.Context, file: str, as_json: bool) -> None:
    """Check a PDF (a file, or a registered document's number) against the registry, its attached record
    and its signature; exit 1 if altered."""
    if _is_file_argument(file):
        result = run_in_context(ctx, lambda c: verify_document(c, file))
    else:
        result = run_in_context(ctx, lambda c: verify_registered(c, file))
    if as_json:
        emit_json(result.to_dict())
    else:
        d = result.document
        words = {
            "authentic": "AUTHENTIC: this is the registered document, unchanged",
            "altered": "ALTERED: this file differs from the document that was issued",
            "unknown": "UNKNOWN: not a document issued from this workspace",
        }
        click.echo(words[result.verdict])
        if d is not None:
            click.echo(f"  document   {d.number} ({d.kind}, {d.project}), issued {d.created_at.isoformat()}")
        click.echo(f"  registry   {'sha256 matches' if result.registered else 'sha256 not registered'}")
        if result.record_matches is not None:
            same = "attached JSON equals the registered record" if result.record_matches else "attached JSON differs"
            click.echo(f"  record     {same}")
        sig = {"valid": "valid", "invalid": "INVALID", "absent": "none"}[result.signature]
        click.echo(
            f"  signature  {sig}"
            + "".join(
                f"; {s['signer']}{' (trusted)' if s['trusted'] else ''}" for s in result.signatures if s.get("signer")
            )
        )
        if result.history_intact is not None:
            held = "still in the audit trail, with its issue" if result.history_intact else "HISTORY CUT"
            click.echo(f"  anchor     audit event {result.anchor}: {held}")
        for p in result.problems:
            click.echo(f"  - {p}")
    if not result.ok:
        ctx.exit(1)

"""Handing in deliverables and recording acceptance-criterion results from the command line.

``pmo deliverable submit CODE D1 [--file F] [--note TEXT]`` and ``pmo criterion record CODE D1 C1
--result pass|fail|conditional ...``. Each parses its options into the typed input of one
:mod:`lifecycle.services.criteria` use case and prints what it returns; the service checks the acting
user may record on the project, and makes one audited, version-checked update.
"""

from __future__ import annotations

from datetime import date

import click

from lifecycle.cli.output import emit_json, handle_errors, run_in_context
from lifecycle.cli.record import DATE
from lifecycle.services import criteria


@click.group("deliverable")
def deliverable_grp() -> None:
    """Hand in deliverables."""


@deliverable_grp.command("submit")
@click.argument("code")
@click.argument("deliverable")
@click.option("--file", "file_name", default="", help="The delivered file, relative to the project file's folder.")
@click.option("--note", default="", help="A note for the audit trail.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def deliverable_submit(
    ctx: click.Context, code: str, deliverable: str, file_name: str, note: str, as_json: bool
) -> None:
    """Hand a deliverable in for acceptance (status submitted; with --file, the file and its SHA-256)."""
    sub = criteria.Submission(file_name, note)
    d = run_in_context(ctx, lambda c: criteria.submit_deliverable(c, code, deliverable, sub))
    if as_json:
        emit_json(d)
        return
    click.echo(f"{code} {d.id} {d.name}: {d.status}" + (f" ({d.file}, sha256 {d.sha256[:12]}…)" if d.file else ""))


@click.group("criterion")
def criterion_grp() -> None:
    """Record the results of deliverables' acceptance criteria."""


@criterion_grp.command("record")
@click.argument("code")
@click.argument("deliverable")
@click.argument("criterion")
@click.option("--result", type=click.Choice(["pass", "fail", "conditional"]), required=True)
@click.option("--measured", default="", help="The measured value, e.g. 1.8.")
@click.option("--unit", default="", help="Its unit, e.g. s or %.")
@click.option("--target", default="", help="The target (default: the criterion's), e.g. '≤ 2 s'.")
@click.option(
    "--method", default="", help="test, inspection, demonstration, review or analysis (default: the criterion's)."
)
@click.option("--evidence", default="", help="A file relative to the documents folder, or a reference.")
@click.option("--verifier", default="", help="Person or contact id of who verified it (default: you).")
@click.option("--on", type=DATE, help="Date of the verification (default today).")
@click.option("--conditions", default="", help="The conditions of a conditional result.")
@click.option("--note", "notes", default="")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def criterion_record(
    ctx: click.Context,
    code: str,
    deliverable: str,
    criterion: str,
    result: str,
    measured: str,
    unit: str,
    target: str,
    method: str,
    evidence: str,
    verifier: str,
    on: date | None,
    conditions: str,
    notes: str,
    as_json: bool,
) -> None:
    """Record one verification of an acceptance criterion; the latest result of a criterion counts."""
    new = criteria.NewResult(result, measured, unit, target, method, evidence, verifier, on, conditions, notes)
    r = run_in_context(ctx, lambda c: criteria.record_criterion_result(c, code, deliverable, criterion, new))
    if as_json:
        emit_json(r)
        return
    value = f" {r.measured}{(' ' + r.unit) if r.unit else ''}" if r.measured else ""
    click.echo(f"{code} {r.id} {deliverable}/{criterion}: {r.result}{value} (target {r.target or '—'}) on {r.date}")

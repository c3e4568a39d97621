"""``pmo facts CODE [--as-of DATE]``: the facts document a gate decision sees, as JSON."""

from __future__ import annotations

from datetime import date

import click

from lifecycle.cli.output import emit_json, handle_errors, run_in_context
from lifecycle.cli.record import DATE
from lifecycle.services import explain


@click.command("facts")
@click.argument("code")
@click.option("--as-of", "as_of", type=DATE, help="The facts as on this date (the project as stored now).")
@click.pass_context
@handle_errors
def facts_cmd(ctx: click.Context, code: str, as_of: date | None) -> None:
    """Print the facts document gate rules see for a project (JSON; `pmo schema facts` names every field)."""
    emit_json(run_in_context(ctx, lambda c: explain.facts_document(explain.dated(c, as_of), code)))

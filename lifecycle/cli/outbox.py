"""``pmo outbox``: the document e-mails written down before sending, and resending one by decision.

``pmo outbox [CODE] [--state S] [--json]`` lists the rows (when, project, document, recipients,
state, attempts, last error); an ``uncertain`` row (a send interrupted after the server may have
accepted it) is never resent by a flow: ``pmo outbox resend ID --reason TEXT`` does it, as the
signed-in PM of the project or a pmo_admin, and the audit trail records who and why.
"""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table
from rich.text import Text

from lifecycle.cli.output import console, emit_json, handle_errors, run_in_context
from lifecycle.services.outbox import OUTBOX_STATES, UNCERTAIN, OutboxRow, list_outbox, resend, resend_hint


class _OutboxGroup(click.Group):
    """``pmo outbox [CODE] [options]`` lists; ``pmo outbox resend ID`` resends (a known sub-command wins)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = args[0] if args else ""
        if first not in self.commands and first not in ("-h", "--help"):
            args = ["list", *args]
        return super().parse_args(ctx, args)


@click.group("outbox", cls=_OutboxGroup)
def outbox_grp() -> None:
    """Document e-mails and their state: pending, sending, sent, failed, uncertain.

    `pmo outbox [CODE] [--state S] [--json]` lists them; `pmo outbox resend ID --reason TEXT` sends a
    failed or uncertain one again (PM of the project or pmo_admin; recorded in the audit trail).
    """


def _row_dict(row: OutboxRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "project": row.project,
        "document": row.number,
        "to": list(row.recipients),
        "subject": row.subject,
        "message_id": row.message_id,
        "state": row.state,
        "attempts": row.attempts,
        "error": row.last_error,
        "requested_by": row.requested_by,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


@outbox_grp.command("list")
@click.argument("code", required=False)
@click.option("--state", type=click.Choice(OUTBOX_STATES), help="Only rows in this state.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def list_cmd(ctx: click.Context, code: str | None, state: str | None, as_json: bool) -> None:
    """E-mails of a project (every project without CODE), oldest first."""
    rows = run_in_context(ctx, lambda c: list_outbox(c, code, state))
    if as_json:
        emit_json([_row_dict(r) for r in rows])
        return
    if not rows:
        where = (f" of {code}" if code else "") + (f" in state {state}" if state else "")
        click.echo(f"no e-mails in the outbox{where}")
        return
    table = Table(box=None, pad_edge=False)
    for col in ("id", "when", "project", "document", "to", "state", "attempts"):
        table.add_column(col, no_wrap=True)
    table.add_column("error", overflow="fold")
    for r in rows:
        cells = (str(r.id), f"{r.updated_at:%Y-%m-%d %H:%M}", r.project, r.number, ", ".join(r.recipients), r.state)
        table.add_row(*(Text(c) for c in cells), Text(str(r.attempts)), Text(r.last_error))
    console().print(table)
    for r in rows:
        if r.state == UNCERTAIN:
            click.echo(f"e-mail {r.id} may have been delivered: {resend_hint(r)}")


@outbox_grp.command("resend")
@click.argument("row_id", metavar="ID", type=int)
@click.option("--reason", required=True, help="Why it is sent again (recorded in the audit trail).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def resend_cmd(ctx: click.Context, row_id: int, reason: str, as_json: bool) -> None:
    """Send a failed or uncertain e-mail again, by decision (PM of the project or pmo_admin)."""
    result = run_in_context(ctx, lambda c: resend(c, row_id, reason))
    if as_json:
        emit_json(result)
        return
    click.echo(f"sent {result['number']} again to {', '.join(result['to'])} ({result['message_id']})")

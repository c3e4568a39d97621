"""``pmo settings push|show``: the settings every Prefect worker reads, kept in the database.

``push`` stores this workspace's shared settings (SMTP, webhook, signing references, base URL,
documents store, supplier) so a worker on another machine, whose workspace has no settings file,
sends and signs the same way; secrets stay in environment variables each worker sets (the push
refuses them in clear). ``show`` prints the push in force and the pushes before it, and whether
their hash chain is intact. The work is :mod:`lifecycle.services.shared_settings`'s.
"""

from __future__ import annotations

import click

from lifecycle.cli.output import emit_json, handle_errors, run_in_context
from lifecycle.errors import AuditTampered
from lifecycle.services import shared_settings


@click.group("settings")
def settings_grp() -> None:
    """Share this workspace's flow settings with every worker (through the database)."""


@settings_grp.command("push")
@click.option(
    "--only",
    "names",
    multiple=True,
    type=click.Choice(shared_settings.SHARED),
    help="Push only this setting (repeat); default: every shared setting that is set.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def settings_push(ctx: click.Context, names: tuple[str, ...], as_json: bool) -> None:
    """Store SMTP, webhook, signing, base URL, documents store and supplier for every worker."""
    pushed = run_in_context(ctx, lambda c: shared_settings.push(c, names or None))
    if as_json:
        emit_json({"seq": pushed.seq, "actor": pushed.actor, "at": pushed.at, "settings": pushed.values})
        return
    click.echo(f"settings push {pushed.seq} by {pushed.actor}: {', '.join(pushed.values)}")
    click.echo("  workers whose workspace does not set these now read them from the database")


@settings_grp.command("show")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def settings_show(ctx: click.Context, as_json: bool) -> None:
    """The settings workers read from the database, and who pushed them when."""
    items, problems = run_in_context(ctx, shared_settings.history)
    if as_json:
        emit_json(
            {
                "settings": items[-1].values if items else {},
                "pushes": [{"seq": i.seq, "actor": i.actor, "at": i.at, "names": list(i.values)} for i in items],
                "problems": problems,
            }
        )
    else:
        if not items:
            click.echo("no settings pushed: workers read their own settings.yaml only")
        for i in items:
            click.echo(f"  push {i.seq} {i.at.isoformat(timespec='seconds')} {i.actor}: {', '.join(i.values)}")
        for name, value in (items[-1].values if items else {}).items():
            click.echo(f"{name}: {value}")
    if problems:
        raise AuditTampered("the settings history does not verify: " + "; ".join(problems))

"""``pmo user add|list|disable|enable|passwd|roles|permissions``, ``pmo login``, ``pmo logout``, ``pmo whoami``.

The CLI acts as a user: ``pmo login`` stores an API token in the workspace (mode 0600), or the
workspace owner sets ``PMO_USER=<email>`` in embedded mode. Passwords are read from a hidden prompt
or, for scripts, one line on standard input (``--password-stdin``); never from an argument, which
would land in the shell history and the process list.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from lifecycle.cli.output import emit_json, handle_errors, run_in_context
from lifecycle.services import identity


def _password(from_stdin: bool, *, confirm: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    return value


def _row(u: Any) -> str:
    roles = ",".join(u.global_roles) or "-"
    state = "disabled" if u.disabled else ("password" if u.has_password else "no password")
    return f"{u.email:<40} {u.name:<28} {u.locale:<6} {roles:<20} {state}"


@click.group("user")
def user_grp() -> None:
    """Manage the users of this workspace (pmo_admin once one exists)."""


@user_grp.command("add")
@click.argument("email")
@click.option("--name", required=True, help="Full name, as shown in the audit trail.")
@click.option("--locale", default="en", type=click.Choice(list(identity.LOCALES)), show_default=True)
@click.option("--role", "roles", multiple=True, type=click.Choice(["pmo_admin", "pmo_viewer"]), help="Global role.")
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of standard input.")
@click.option("--no-password", is_flag=True, help="No password: the user signs in by PMO_USER, token or OIDC.")
@click.pass_context
@handle_errors
def user_add(
    ctx: click.Context,
    email: str,
    name: str,
    locale: str,
    roles: tuple[str, ...],
    password_stdin: bool,
    no_password: bool,
) -> None:
    """Add a user. Project roles come from the project files (people and contacts by e-mail)."""
    password = None if no_password else _password(password_stdin, confirm=True)
    u = run_in_context(
        ctx,
        lambda c: identity.create_user(c, email=email, name=name, password=password, locale=locale, global_roles=roles),
    )
    click.echo(f"user {u.email} added ({u.id})" + (f", roles {', '.join(u.global_roles)}" if u.global_roles else ""))


@user_grp.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def user_list(ctx: click.Context, as_json: bool) -> None:
    """Every user with roles and state."""
    users = run_in_context(ctx, identity.list_users)
    if as_json:
        emit_json([{k: getattr(u, k) for k in u.__slots__} for u in users])
        return
    for u in users:
        click.echo(_row(u))


@user_grp.command("disable")
@click.argument("email")
@click.pass_context
@handle_errors
def user_disable(ctx: click.Context, email: str) -> None:
    """Disable a user: their sessions and tokens stop working at once."""
    u = run_in_context(ctx, lambda c: identity.disable_user(c, email))
    click.echo(f"user {u.email} disabled")


@user_grp.command("enable")
@click.argument("email")
@click.pass_context
@handle_errors
def user_enable(ctx: click.Context, email: str) -> None:
    """Enable a disabled user again."""
    u = run_in_context(ctx, lambda c: identity.disable_user(c, email, disabled=False))
    click.echo(f"user {u.email} enabled")


@user_grp.command("roles")
@click.argument("email")
@click.option("--role", "roles", multiple=True, type=click.Choice(["pmo_admin", "pmo_viewer"]))
@click.pass_context
@handle_errors
def user_roles(ctx: click.Context, email: str, roles: tuple[str, ...]) -> None:
    """Set a user's global roles (none given: remove them all)."""
    u = run_in_context(ctx, lambda c: identity.set_global_roles(c, email, roles))
    click.echo(f"user {u.email}: roles {', '.join(u.global_roles) or 'none'}")


@user_grp.command("passwd")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of standard input.")
@click.pass_context
@handle_errors
def user_passwd(ctx: click.Context, email: str, password_stdin: bool) -> None:
    """Set a password (your own, or anyone's as pmo_admin)."""
    password = _password(password_stdin, confirm=True)
    u = run_in_context(ctx, lambda c: identity.set_password(c, email, password))
    click.echo(f"password of {u.email} set")


@user_grp.command("permissions")
@click.option("--json", "as_json", is_flag=True)
def user_permissions(as_json: bool) -> None:
    """The permission table: which roles may perform each action."""
    rows = identity.permission_rows()
    if as_json:
        emit_json(dict(rows))
        return
    click.echo(f"{'action':<20} roles")
    for action, roles in rows:
        click.echo(f"{action:<20} {', '.join(roles)}")


@click.command("login")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of standard input.")
@click.pass_context
@handle_errors
def login_cmd(ctx: click.Context, email: str, password_stdin: bool) -> None:
    """Sign in: later commands act as you (a token kept in the workspace, readable only by you)."""
    password = _password(password_stdin, confirm=False)
    principal, path = run_in_context(ctx, lambda c: identity.login_cli(c, email, password))
    click.echo(f"signed in as {principal.label()} (token in {path})")


@click.command("logout")
@click.pass_context
@handle_errors
def logout_cmd(ctx: click.Context) -> None:
    """Sign out: revoke and delete the stored token."""
    done = run_in_context(ctx, identity.logout_cli)
    click.echo("signed out" if done else "nobody was signed in")


@click.command("whoami")
@click.pass_context
@handle_errors
def whoami_cmd(ctx: click.Context) -> None:
    """Who the CLI acts as now, and how they signed in."""

    def who(c: Any) -> str:
        p = c.principal
        if p is None:
            return "nobody is signed in" + (f": {c.principal_problem}" if c.principal_problem else "")
        roles = ", ".join(sorted(p.global_roles)) or "no global role"
        return f"{p.label()} ({p.user_id}) via {p.auth_method}; {roles}"

    click.echo(run_in_context(ctx, who))

"""Shared CLI plumbing: the console, JSON output, and turning LifecycleErrors into exit codes.

Colours are on only when standard output is a terminal (rich decides; ``NO_COLOR`` is honoured).
``handle_errors`` wraps every command: a :class:`~lifecycle.errors.LifecycleError` prints one
readable message on stderr and exits with its ``exit_code`` (1 refused by the engine, 2 user error).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from lifecycle.errors import LifecycleError
from lifecycle.services.context import Workspace, open_context, open_workspace
from lifecycle.services.results import plain

F = TypeVar("F", bound=Callable[..., Any])


def console(stderr: bool = False) -> Any:
    stream = sys.stderr if stderr else sys.stdout
    # Off a terminal (pipes, CI logs) do not wrap at 80 columns: long evidence lines stay whole.
    width = None if stream.isatty() else 160
    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=width)


def _default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "__dataclass_fields__"):
        return plain(value)
    return str(value)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_default) + "\n")


def warn(lines: list[str]) -> None:
    """Warnings on stderr (so ``--json`` output stays one document), one line each."""
    for line in lines:
        click.echo(f"warning: {line}", err=True)


def handle_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LifecycleError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


def run_in_context(ctx: click.Context, fn: Callable[[Any], Any]) -> Any:
    """Open a service context on the command's workspace, call ``fn`` with it, always close it."""
    with open_context(ws_from(ctx)) as c:
        return fn(c)


def money(value: Any, currency: str, decimals: int = 2) -> str:
    """An amount with its currency symbol for terminal output (documents format per locale)."""
    symbol = {"CNY": "¥", "USD": "$", "GBP": "£", "EUR": "€"}.get(currency, currency + " " if currency else "")
    v = float(value)
    return f"{'-' if v < 0 else ''}{symbol}{abs(v):,.{decimals}f}"


def ws_from(ctx: click.Context) -> Workspace:
    """The workspace named on the command line (or found), with --rules applied."""
    root = ctx.find_root()
    obj = root.obj or {}
    ws = open_workspace(obj.get("workspace"))
    if obj.get("rules"):
        ws.settings.rules = str(Path(obj["rules"]).resolve())
    return ws

"""Shared CLI plumbing: the console, JSON output, and turning LifecycleErrors into exit codes.

Colours are on only when standard output is a terminal (rich decides; ``NO_COLOR`` is honoured).
``handle_errors`` wraps every command: a :class:`~lifecycle.errors.LifecycleError` prints one
readable message on stderr and exits with its ``exit_code`` (1 refused by the engine, 2 user error).

Names, titles, comments and reasons come from project data and are printed as text, never as
instructions to the terminal: :func:`esc` is applied to every value a command interpolates into
console markup (so ``[/x]`` or ``[bold]`` in a project name prints as typed), and the console itself
(:class:`TextConsole`) shows control characters (ANSI escape sequences, bidi overrides) as visible
``\\x1b``-style escapes in everything it prints and prints a line literally should a value ever reach
it unescaped and not parse as markup. :func:`echo` does the same for plain lines.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.errors import MarkupError
from rich.markup import escape as _markup_escape
from rich.text import Text

from lifecycle.errors import LifecycleError
from lifecycle.services.context import Workspace, open_context, open_workspace
from lifecycle.services.results import plain

F = TypeVar("F", bound=Callable[..., Any])


# C0 and C1 control characters but newline and tab, DEL, and the bidirectional overrides and isolates
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def plain_text(value: Any) -> str:
    """``value`` as text whose control characters are shown as escapes (``\\x1b``), not obeyed."""
    return _CONTROL.sub(_visible, str(value))


def esc(value: Any) -> str:
    """A data value for console markup: printed as typed (brackets escaped, control characters shown)."""
    return _markup_escape(plain_text(value))


class TextConsole(Console):
    """A console that never lets printed text drive the terminal (see the module docstring)."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        text = plain_text(text)
        try:
            return super().render_str(text, **kwargs)
        except MarkupError:
            return super().render_str(text, **{**kwargs, "markup": False})


def console(stderr: bool = False) -> Any:
    stream = sys.stderr if stderr else sys.stdout
    # Off a terminal (pipes, CI logs) do not wrap at 80 columns: long evidence lines stay whole.
    width = None if stream.isatty() else 160
    return TextConsole(stderr=stderr, highlight=False, soft_wrap=False, width=width)


def echo(message: Any = "", err: bool = False) -> None:
    """``click.echo`` of a line with its control characters shown, not obeyed."""
    click.echo(plain_text(message), err=err)


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
            echo(f"error: {exc}", err=True)
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

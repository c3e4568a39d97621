"""Reading the CEL library's message texts: the one place that knows their wording.

The library reports a syntax error as a ``ValueError`` whose text holds ``<input>:LINE:COLUMN:`` and
the reason, and an evaluation error as text naming the failed function or the undefined name. These
texts are not an API: they belong to the pinned library version, and a test pins them
(``tests/rules/test_expr_package.py``), so an upgrade that rewords them fails there first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SYNTAX_RE = re.compile(r"<input>:(\d+):(\d+):\s*(.*)")
_FUNC_ERR_RE = re.compile(
    r"Function '([^']+)' error: Python function call failed: (\w+): (.*?)"
    r"(?:\. Check function arguments and their types\.)?$",
    re.S,
)
_UNDEF_RE = re.compile(r"Undefined variable or function: '([^']+)'")


@dataclass(frozen=True)
class SyntaxPosition:
    """Where the library puts a syntax error: 1-based line and column inside the expression, and why."""

    line: int
    column: int
    reason: str


def read_syntax_error(message: str) -> SyntaxPosition | None:
    """The position and reason in the library's syntax-error text, or None if it has none.

    ``Failed to parse expression '...': ERROR: <input>:1:27: Syntax error: missing ')' at '<EOF>'``
    followed by the library's own caret lines gives line 1, column 27, ``missing ')' at '<EOF>'``; the
    library's list of expected tokens becomes "expecting an expression".
    """
    m = _SYNTAX_RE.search(message)
    if m is None:
        return None
    reason = m.group(3).split("\n")[0].strip()
    reason = re.sub(r"^Syntax error:\s*", "", reason)
    reason = re.sub(r"expecting \{[^}]*\}", "expecting an expression", reason)
    return SyntaxPosition(int(m.group(1)), int(m.group(2)), reason)


def read_function_error(message: str) -> tuple[str, str, str] | None:
    """(function, exception type, detail) from the library's text for a failed registered function."""
    m = _FUNC_ERR_RE.search(message)
    return (m.group(1), m.group(2), m.group(3).strip()) if m else None


def read_undefined_name(message: str) -> str | None:
    """The name in the library's text for an undefined variable or function."""
    m = _UNDEF_RE.search(message)
    return m.group(1) if m else None


_TYPE_MESSAGE = (
    "no matching operator or function for these value types (CEL does not mix int and double, "
    "and null does not compare with text: guard optional dates with != null)"
)


def translate(exc: BaseException) -> tuple[str, str]:
    """(readable message, kind) for an exception the library raised while evaluating.

    Kinds: ``field`` (no such field), ``name`` (unknown name), ``function`` (a registered function
    refused its arguments), ``type`` (no operator for these types), ``data`` (anything else).
    """
    msg = str(exc)
    if isinstance(exc, KeyError):
        name = exc.args[0] if exc.args else msg
        return f"no field '{name}'", "field"
    failed = read_function_error(msg)
    if failed:
        fname, etype, detail = failed
        detail = detail.strip("'\"") if etype == "KeyError" else detail
        kind = "function" if etype in ("LookupError", "KeyError", "TypeError") else "data"
        return f"{fname}: {detail}", kind
    undefined = read_undefined_name(msg)
    if undefined:
        return f"unknown name '{undefined}'", "name"
    if isinstance(exc, TypeError):
        return _TYPE_MESSAGE, "type"
    if isinstance(exc, ZeroDivisionError):
        return "division by zero", "data"
    if isinstance(exc, IndexError):
        return f"index out of range: {msg}", "data"
    return f"{msg.splitlines()[0] if msg else type(exc).__name__}", "data"


__all__ = ["SyntaxPosition", "read_function_error", "read_syntax_error", "read_undefined_name", "translate"]

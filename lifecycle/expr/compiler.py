"""Compiling an expression once: the library's program, our syntax tree and the native function.

:func:`compile_expr` gives a :class:`CompiledExpr` (or a :class:`CelSyntax` for a syntax error, with
the line and column inside the expression and the caret picture, which the rule-pack loader maps to
the YAML line). An expression that cannot run natively says why in ``library_only`` (our parser cannot
read it, or it uses something outside the native subset): ``pmo rules lint`` lists those. Each
compiled expression counts how it ran (:class:`NativeStats`), so a native path that keeps falling back
to the library is visible rather than a silent slowdown.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lifecycle.expr.errors_text import read_syntax_error
from lifecycle.expr.library import cel_module
from lifecycle.expr.native import NativeFn, compile_native_or_reason
from lifecycle.expr.syntax import Node, leading_dot, library_text, read


@dataclass(frozen=True)
class CelSyntax:
    """A syntax error: where in the expression (1-based line and column) and what."""

    line: int
    column: int
    message: str
    picture: str  # the offending line and a caret under the column

    def describe(self) -> str:
        return f"CEL syntax error at column {self.column}: {self.message}\n{self.picture}"


@dataclass(eq=False)
class NativeStats:
    """How one compiled expression ran: natively, after a fallback to the library, or library only.

    Every evaluation counts, the load-time exemplar runs included. A pack's expressions may be shared
    by threads; the counts are diagnostics, so an increment lost to a race is acceptable.
    """

    native: int = 0
    fallbacks: int = 0
    library: int = 0  # runs of an expression that has no native function
    reasons: Counter[str] = field(default_factory=Counter)  # fallback reason -> times

    def fell_back(self, reason: str) -> None:
        self.fallbacks += 1
        self.reasons[reason] += 1


@dataclass(frozen=True)
class CompiledExpr:
    """A compiled expression, ready to evaluate many times; ``tree`` is None if we could not parse it."""

    text: str
    program: Any = field(repr=False, compare=False)
    tree: Node | None = field(default=None, repr=False, compare=False)
    native: NativeFn | None = field(default=None, repr=False, compare=False)  # see lifecycle.expr.native
    library_only: str = field(default="", compare=False)  # why there is no native function ("" if there is)
    stats: NativeStats = field(default_factory=NativeStats, repr=False, compare=False)


def _caret(text: str, line: int, column: int) -> str:
    lines = text.split("\n")
    src = lines[line - 1] if 0 < line <= len(lines) else text
    return f"    {src}\n    {' ' * max(column - 1, 0)}^"


def _syntax(text: str, exc: ValueError) -> CelSyntax:
    msg = str(exc)
    where = read_syntax_error(msg)
    if where is None:
        return CelSyntax(1, 1, msg.split("\n")[0], "")
    return CelSyntax(where.line, where.column, where.reason, _caret(text, where.line, where.column))


def _leading_dot(text: str, offset: int, name: str) -> CelSyntax:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    message = (
        f"a leading dot ('.{name}') is not supported: CEL reads it as the top-level name past any macro "
        f"variable, which the evaluator cannot do; write '{name}' (and rename a macro variable that hides it)"
    )
    return CelSyntax(line, column, message, _caret(text, line, column))


def compile_expr(text: str) -> CompiledExpr | CelSyntax:
    """Compile ``text``; a :class:`CelSyntax` describes a syntax error instead."""
    if not text.strip():
        return CelSyntax(1, 1, "the expression is empty", "")
    try:
        program = cel_module().compile(text)
    except ValueError as exc:
        return _syntax(text, exc)
    except Exception as exc:  # the library may raise other types for odd input
        return CelSyntax(1, 1, f"{type(exc).__name__}: {exc}", "")
    dot = leading_dot(text)
    if dot is not None:
        return _leading_dot(text, *dot)
    renamed = library_text(text)
    if renamed != text:  # size() in code points: see lifecycle.expr.syntax.SIZE_FUNCTION
        program = cel_module().compile(renamed)
    tree, unread = read(text)
    native, reason = compile_native_or_reason(tree, text)
    if tree is None:
        reason = f"our parser cannot read it ({unread}); its fields are checked by the exemplar run only"
    return CompiledExpr(text, program, tree, native, reason)


__all__ = ["CelSyntax", "CompiledExpr", "NativeStats", "compile_expr"]

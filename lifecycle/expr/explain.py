"""Explaining an outcome: which sub-conditions of a rule held, which failed, and the values they saw.

A failing rule of many conditions says only "fail"; :func:`explain` takes the expression apart along
its ``&&``, ``||``, ``!`` and ``?:`` (outside macros, where every part is an expression of the facts
alone) and evaluates each part in the same context, down to comparisons, whose two sides are shown
with their values; a failing ``all`` names the items it fails for. :func:`explain_lines` renders the
tree as indented text lines (``✓`` held, ``✗`` failed, ``!`` error) for the terminal, rule-test
failures and documents.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lifecycle.expr.compiler import CompiledExpr
from lifecycle.expr.env import CelEnv, Evaluated
from lifecycle.expr.syntax import RELOPS, Binary, Call, Cond, Lit, Node, Unary, macro_var

_SHOWN = 80  # characters of a value shown; longer ones are cut


@dataclass(frozen=True)
class Part:
    """One part of an expression, its value (or error), and its own parts."""

    text: str
    value: Any = None
    error: str = ""
    op: str = ""  # &&, ||, !, ?:, a comparison operator, "literal", or "" for another leaf
    parts: tuple[Part, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"expr": self.text}
        if self.error:
            out["error"] = self.error
        else:
            out["value"] = self.value
        if self.op and self.op not in ("literal", "items"):
            out["op"] = self.op
        if self.parts:
            out["parts"] = [p.to_dict() for p in self.parts]
        return out


def _operands(node: Binary) -> list[Node]:
    """The operands of a run of one ``&&`` or ``||`` operator, in source order."""
    out: list[Node] = []
    stack: list[Node] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Binary) and n.op == node.op:
            stack.extend((n.right, n.left))
        else:
            out.append(n)
    return out


class _Explainer:
    def __init__(self, text: str, env: CelEnv, depth: int) -> None:
        self.text = text
        self.env = env
        self.depth = depth

    def value(self, node: Node) -> Evaluated:
        return self.env.evaluate_text(self.text[node.start : node.end])

    def part(self, node: Node, level: int) -> Part:
        text = self.text[node.start : node.end]
        if isinstance(node, Lit):
            return Part(text, node.value, "", "literal")
        got = self.value(node)
        children: list[Node] = []
        op = ""
        if isinstance(node, Binary) and node.op in ("&&", "||"):
            op, children = node.op, _operands(node)
        elif isinstance(node, Unary) and node.op == "!":
            op, children = "!", [node.operand]
        elif isinstance(node, Cond):
            op, children = "?:", [node.cond, node.then, node.other]
        elif isinstance(node, Binary) and (node.op in RELOPS or node.op == "in"):
            op, children = node.op, [node.left, node.right]
        if level >= self.depth:
            children = []
        parts = tuple(self.part(c, level + 1) for c in children)
        if isinstance(node, Call) and node.name == "all" and got.value is False:
            parts += self.counterexamples(node)
        return Part(text, got.value, got.error, op, parts)

    def counterexamples(self, node: Call) -> tuple[Part, ...]:
        """For a failing ``all``: the items (their ids when they have one) for which it does not hold."""
        var = macro_var(node)
        if var is None or node.target is None or len(node.args) != 2:
            return ()
        target = self.text[node.target.start : node.target.end]
        body = self.text[node.args[1].start : node.args[1].end]
        found = self.env.evaluate_text(f"({target}).filter({var}, !({body}))")
        if not found.ok or not isinstance(found.value, list):
            return ()
        shown = [i.get("id", i) if isinstance(i, dict) else i for i in found.value]
        return (Part("fails for", shown[:10], "", "items"),)


def explain(expr: CompiledExpr, env: CelEnv, depth: int = 6) -> Part:
    """The tree of ``expr``'s parts with the values they have in ``env`` (``depth`` levels at most).

    An expression our parser cannot read is one part: its value only.
    """
    if expr.tree is None:
        got = env.evaluate(expr)
        return Part(expr.text, got.value, got.error)
    return _Explainer(expr.text, env, depth).part(expr.tree, 0)


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _mark(part: Part) -> str:
    if part.error:
        return "!"
    if part.value is True:
        return "✓"
    if part.value is False:
        return "✗"
    return "="


def explain_lines(part: Part, indent: str = "") -> list[str]:
    """The tree as text lines: a mark (✓ true, ✗ false, ! error, = a value), the part, its value."""
    if part.op == "items":
        return [f"{indent}✗ fails for: {', '.join(_shown(v).strip(chr(34)) for v in part.value)}"]
    if part.error:
        tail = f"  (error: {part.error})"
    elif isinstance(part.value, bool):
        tail = ""
    else:
        tail = f"  = {_shown(part.value)}"
    lines = [f"{indent}{_mark(part)} {part.text}{tail}"]
    if part.op in RELOPS or part.op == "in":
        # a comparison: its two sides' values on one line each, unless they are plain literals
        for side in part.parts:
            if side.op != "literal":
                lines.append(f"{indent}    {side.text} = {_shown(side.value) if not side.error else side.error}")
        return lines
    for p in part.parts:
        lines.extend(explain_lines(p, indent + "    "))
    return lines


__all__ = ["Part", "explain", "explain_lines"]

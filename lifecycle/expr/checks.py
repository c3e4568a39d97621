"""Load-time checks of expressions: a misspelled field is found before any project is evaluated.

Two ways. The static walk (:mod:`lifecycle.expr.static_check`) infers the type of every member access
from the facts JSON Schema. Then the expression, and each operand of ``&&``, ``||`` and ``?:`` (wrapped
in the ``map`` of its enclosing macros, so ``x.ownr != '' || true`` cannot hide the error), is
evaluated against an exemplar facts document made from the schema (every field present, every list
holding one element). An expression our parser cannot read gets the exemplar run of the whole
expression only; its ``library_only`` reason says so and ``pmo rules lint`` lists it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lifecycle.domain.facts import facts_schema
from lifecycle.expr.compiler import CelSyntax, CompiledExpr, compile_expr
from lifecycle.expr.env import CelEnv, Evaluated
from lifecycle.expr.functions import FUNCTION_DOCS
from lifecycle.expr.schema_types import SchemaTypes
from lifecycle.expr.static_check import ExprIssue, StaticCheck
from lifecycle.expr.syntax import Binary, Call, Cond, Node, children, macro_var
from lifecycle.expr.words import hint, kind_of, short

_UNKNOWN_FIELD_RE = re.compile(r"unknown field '([^']+)'")
_NO_FIELD_RE = re.compile(r"no field '([^']+)'")
_UNKNOWN_NAME_RE = re.compile(r"unknown name '([^']+)'")


class _Probes:
    """Sub-expressions to evaluate on their own: operands of &&, || and ?:, and has() arguments.

    Each is wrapped in the ``map`` of every macro it sits inside, so its variables are bound:
    in ``tasks.all(t, t.done || t.ownr != '')`` the probe for the right operand is
    ``(tasks).map(t, t.ownr != '')``. Exemplar lists hold one element, so ``map`` costs nothing here.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.out: list[str] = []

    def src(self, node: Node) -> str:
        return self.text[node.start : node.end]

    def add(self, scopes: list[tuple[str, str]], node: Node) -> None:
        inner = self.src(node)
        for rng, var in reversed(scopes):
            inner = f"({rng}).map({var}, {inner})"
        self.out.append(inner)

    def walk(self, node: Node, scopes: list[tuple[str, str]]) -> None:
        if isinstance(node, Binary) and node.op in ("&&", "||"):
            self.add(scopes, node.left)
            self.add(scopes, node.right)
        elif isinstance(node, Cond):
            for part in (node.cond, node.then, node.other):
                self.add(scopes, part)
                self.walk(part, scopes)
            return
        elif isinstance(node, Call):
            self.call(node, scopes)
            return
        for child in children(node):
            self.walk(child, scopes)

    def call(self, node: Call, scopes: list[tuple[str, str]]) -> None:
        var = macro_var(node)
        if var is not None and node.target is not None:
            self.walk(node.target, scopes)
            inner = [*scopes, (self.src(node.target), var)]
            for a in node.args[1:]:
                self.walk(a, inner)
            return
        if node.target is None and node.name == "has" and len(node.args) == 1:
            self.add(scopes, node.args[0])
        for child in children(node):
            self.walk(child, scopes)


def _probes(tree: Node, text: str) -> list[str]:
    """The probes of an expression (see :class:`_Probes`), each once, in order of discovery."""
    probes = _Probes(text)
    probes.walk(tree, [])
    return list(dict.fromkeys(probes.out))


class ExprChecker:
    """Load-time checks of expressions against the facts schema (build once per pack load)."""

    LOAD_ERROR_KINDS = ("field", "name", "function", "type")

    def __init__(self, schema: Mapping[str, Any] | None = None) -> None:
        self.schema = schema if schema is not None else facts_schema()
        self.types = SchemaTypes(self.schema)
        self.exemplar = self.types.exemplar_facts()
        self._envs: dict[tuple[str, ...], CelEnv] = {}
        defs = self.schema.get("$defs", {})
        self.binding_types: dict[str, Any] = {"d": defs.get("Deliverable", {})}

    def env(self, bindings: tuple[str, ...] = ()) -> CelEnv:
        if bindings not in self._envs:
            extra = {name: self.types.exemplar(self.binding_types[name]) for name in bindings}
            self._envs[bindings] = CelEnv(self.exemplar, extra)
        return self._envs[bindings]

    def check(self, expr: CompiledExpr, expect: str = "any", bindings: tuple[str, ...] = ()) -> list[ExprIssue]:
        """Problems of ``expr``; ``expect`` is ``bool``, ``list`` or ``any`` (the type of its result)."""
        issues = self.static_issues(expr, bindings)
        whole = self.exemplar_run(expr, bindings, issues)
        if whole is not None and whole.ok and not issues:
            issues.extend(_result_issues(whole.value, expect))
        return issues

    def static_issues(self, expr: CompiledExpr, bindings: tuple[str, ...]) -> list[ExprIssue]:
        if expr.tree is None:
            return []
        extra = {name: self.types.ctype(self.binding_types[name], name) for name in bindings}
        static = StaticCheck(self.types, expr.text, extra)
        static.infer(expr.tree, {})
        return list(static.issues)

    def exemplar_run(self, expr: CompiledExpr, bindings: tuple[str, ...], issues: list[ExprIssue]) -> Evaluated | None:
        """Evaluate ``expr`` and its probes on the exemplar; add what they find to ``issues``.

        Returns the outcome of the whole expression (None if it could not be evaluated).
        """
        env = self.env(bindings)
        reported = {i.message for i in issues}
        static_found = bool(issues)
        static_fields = {m.group(1) for i in issues for m in [_UNKNOWN_FIELD_RE.search(i.message)] if m}
        texts = [expr.text] + (_probes(expr.tree, expr.text) if expr.tree is not None else [])
        whole: Evaluated | None = None
        for text in texts:
            compiled = compile_expr(text) if text != expr.text else expr
            if isinstance(compiled, CelSyntax):
                continue
            result = env.evaluate(compiled)
            if text == expr.text:
                whole = result
            if result.ok or result.kind not in self.LOAD_ERROR_KINDS:
                continue
            if static_found and result.kind in ("field", "function"):
                continue  # the same mistake, already reported with a better message
            message = self.reworded(result, text, bindings, static_fields)
            if message and message not in reported:
                reported.add(message)
                issues.append(ExprIssue(message, 1))
        return whole

    def reworded(self, result: Evaluated, text: str, bindings: tuple[str, ...], static_fields: set[str]) -> str:
        """The exemplar run's error as a load-time message ("" if the static walk already said it)."""
        message = result.error
        fm = _NO_FIELD_RE.match(message)
        if fm:
            if fm.group(1) in static_fields:
                return ""
            message = f"unknown field '{fm.group(1)}'{hint(fm.group(1), self._all_fields())}"
        nm = _UNKNOWN_NAME_RE.match(message)
        if nm:
            names = list(self.exemplar) + list(FUNCTION_DOCS) + list(bindings)
            message = f"unknown name '{nm.group(1)}'{hint(nm.group(1), names)}"
        if result.kind == "type":
            message = f"{message} in `{short(text)}`"
        return message

    def _all_fields(self) -> list[str]:
        names: set[str] = set()
        for d in self.schema.get("$defs", {}).values():
            names.update((d.get("properties") or {}).keys())
        names.update((self.schema.get("properties", {}).get("metrics", {}).get("properties") or {}).keys())
        return sorted(names)


def _result_issues(value: Any, expect: str) -> list[ExprIssue]:
    """What is wrong with the type of an expression's exemplar value, given what it must give."""
    if expect == "bool" and not isinstance(value, bool):
        return [ExprIssue(f"must give true or false, but gives {kind_of(value)}")]
    if expect == "list" and not isinstance(value, list):
        return [ExprIssue(f"must give a list of ids (or of {{'id', 'label'}} maps), but gives {kind_of(value)}")]
    return []


__all__ = ["ExprChecker", "ExprIssue"]

"""The static walk of an expression at load time: types inferred from the facts schema.

Every member access gets the type the facts JSON Schema gives it (macro variables take the element
type of their list), so an unknown field (``t.ownr``), an enum value that cannot occur
(``t.status == 'finished'``) and a bad literal argument of a registered function (an unknown
collection, field or operator in a ``where`` map, a wrong number of arguments) are reported before
any project is evaluated, with the line inside the expression.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lifecycle.expr.functions import ARITY
from lifecycle.expr.schema_types import CType, SchemaTypes
from lifecycle.expr.syntax import (
    RELOPS,
    Binary,
    Call,
    Cond,
    Ident,
    Index,
    ListLit,
    Lit,
    MapLit,
    Node,
    Select,
    Unary,
    macro_var,
)
from lifecycle.expr.where import split_key
from lifecycle.expr.words import hint


@dataclass(frozen=True)
class ExprIssue:
    """A load-time problem in an expression: the message and the 1-based line inside the expression."""

    message: str
    line: int = 1


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, max(offset, 0)) + 1


_NUMBER_KINDS = ("integer", "number")
_BUILTIN_RESULTS = {
    "size": "integer",
    "int": "integer",
    "uint": "integer",
    "double": "number",
    "string": "string",
    "contains": "boolean",
    "startsWith": "boolean",
    "endsWith": "boolean",
    "matches": "boolean",
    "bool": "boolean",
}
_LITERAL_KINDS = {
    "string": "string",
    "int": "integer",
    "uint": "integer",
    "double": "number",
    "bool": "boolean",
    "null": "null",
}
# Kinds whose values CEL never finds equal to each other's, nor orders against each other.
_FAMILY = {"string": "text", "enum": "text", "integer": "number", "number": "number", "boolean": "bool"}
_AGGREGATES = ("count", "ids", "sum_of", "max_of", "min_of")
_INTEGER_RESULTS = ("days_between", "days_since", "days_until", "working_days")


def _string_literals(node: Node) -> list[Lit]:
    """``node`` if it is a text literal, the text literals of a list literal, else none."""
    if isinstance(node, Lit) and node.kind == "string":
        return [node]
    if isinstance(node, ListLit):
        return [x for x in node.items if isinstance(x, Lit) and x.kind == "string"]
    return []


def _arity_words(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo} or {hi}" if hi == lo + 1 else f"{lo} to {hi}"


class StaticCheck:
    """Infers types over our syntax tree and reports what cannot be right (see the module docstring)."""

    def __init__(self, types: SchemaTypes, text: str, extra_vars: Mapping[str, CType]) -> None:
        self.types = types
        self.text = text
        self.top = types.top()
        self.extra = dict(extra_vars)
        self.issues: list[ExprIssue] = []

    def report(self, node: Node, message: str) -> None:
        self.issues.append(ExprIssue(message, _line_of(self.text, node.start)))

    def src(self, node: Node) -> str:
        return self.text[node.start : node.end]

    # ------------------------------------------------------------------ types
    def field_of(self, ct: CType | None, name: str, node: Node) -> CType | None:
        if ct is None or ct.kind != "object" or ct.props is None:
            return None
        if name not in ct.props:
            self.report(node, f"unknown field '{name}' in {ct.label}{hint(name, ct.props)}")
            return None
        return self.types.ctype(ct.props[name], f"{ct.label}.{name}" if ct.label not in ("facts", "") else name)

    def path_of(self, ct: CType | None, path: str, node: Node) -> CType | None:
        """The type of a dotted field path (``'owner'``, ``'baseline.finish'``) in ``ct``."""
        for part in path.split("."):
            ct = self.field_of(ct, part, node)
        return ct

    def element(self, ct: CType | None) -> CType | None:
        if ct is None:
            return None
        if ct.kind == "array":
            return self.types.ctype(ct.items, f"{ct.label}[]")
        if ct.kind == "object":
            return CType("string", f"{ct.label} key")
        return None

    def collection(self, node: Node) -> CType | None:
        """The element type of a registered function's collection argument."""
        if not (isinstance(node, Lit) and node.kind == "string"):
            return self.element(self.infer(node, {}))
        name = str(node.value)
        ct: CType | None = self.top
        for part in name.split("."):
            if ct is None or ct.kind != "object" or ct.props is None:
                return None
            if part not in ct.props:
                self.report(node, f"unknown collection '{name}'{hint(name, self.top_lists())}")
                return None
            ct = self.types.ctype(ct.props[part], part if ct is self.top else f"{ct.label}.{part}")
        if ct is not None and ct.kind != "array":
            self.report(node, f"'{name}' is not a list")
            return None
        return self.element(ct)

    def top_lists(self) -> list[str]:
        props = self.top.props or {}
        return [k for k, v in props.items() if self.types.resolve(v).get("type") == "array"]

    # ------------------------------------------------------------------ literal arguments
    def enum_values(self, ft: CType, lits: list[Lit]) -> None:
        for lit in lits:
            if lit.value not in ft.choices:
                self.report(lit, f"'{lit.value}' is not a value of {ft.label} (one of: {', '.join(ft.choices)})")

    def check_where(self, node: Node, elem: CType | None) -> None:
        if not isinstance(node, MapLit):
            self.infer(node, {})
            return
        for k, v in node.entries:
            self.infer(v, {})
            if isinstance(k, Lit) and k.kind == "string":
                self.where_entry(k, v, elem)

    def where_entry(self, k: Lit, v: Node, elem: CType | None) -> None:
        try:
            fname, op = split_key(str(k.value))
        except LookupError as exc:
            self.report(k, str(exc))
            return
        ft = self.path_of(elem, fname, k)
        if ft is None:
            return
        self.where_types(k, op, ft, v)
        if ft.kind != "enum":
            return
        if (op in ("==", "!=") and isinstance(v, Lit)) or (op in ("in", "not in") and isinstance(v, ListLit)):
            self.enum_values(ft, _string_literals(v))

    def where_types(self, k: Lit, op: str, ft: CType, v: Node) -> None:
        """A where condition whose value can never match its field's type (``{'percent_complete <': '50'}``)."""
        if op == "empty":
            vt = self.infer(v, {})
            if vt is not None and vt.kind not in ("boolean", "any"):
                self.report(k, f"condition '{k.value}' needs true or false, not {self.src(v)}")
            return
        family = _FAMILY.get(ft.kind)
        if family is None or op == "contains":
            return
        values = v.items if op in ("in", "not in") and isinstance(v, ListLit) else [v]
        for value in values:
            other = _FAMILY.get(getattr(self.infer(value, {}), "kind", ""))
            if other is not None and other != family:
                self.report(
                    k,
                    f"condition '{k.value}' compares {ft.label} (a {family}) with {self.src(value)} (a {other}): "
                    f"{'it can never match' if op != '!=' else 'it always matches'}; write the value as a {family}",
                )

    def compared(self, node: Node, op: str, left: CType | None, right: CType | None) -> None:
        """A comparison of two values of kinds CEL never finds equal or cannot order (int vs text)."""
        fl, fr = _FAMILY.get(left.kind if left else ""), _FAMILY.get(right.kind if right else "")
        if fl is None or fr is None or fl == fr:
            return
        outcome = {"==": "always false", "!=": "always true", "in": "never in the list"}.get(op, "always an error")
        self.report(
            node,
            f"the comparison {self.src(node)} sets a {fl} against a {fr} ({outcome}); "
            "write both sides as the same kind",
        )

    def enum_literal(self, a: CType | None, other: Node) -> None:
        if a is not None and a.kind == "enum":
            self.enum_values(a, _string_literals(other))

    # ------------------------------------------------------------------ calls
    def call(self, node: Call, scope: Mapping[str, CType]) -> CType | None:
        name = node.name
        if node.target is None and name == "has" and len(node.args) == 1:
            self.infer(node.args[0], scope)
            return CType("boolean")
        if macro_var(node) is not None:
            return self.macro(node, scope)
        if node.target is None and name in ARITY:
            lo, hi = ARITY[name]
            if not lo <= len(node.args) <= hi:
                self.report(node, f"{name} takes {_arity_words(lo, hi)} argument(s), got {len(node.args)}")
                return None
            return self.registered(node, scope)
        if node.target is not None:
            self.infer(node.target, scope)
        for a in node.args:
            self.infer(a, scope)
        result = _BUILTIN_RESULTS.get(name)
        return CType(result) if result else None

    def macro(self, node: Call, scope: Mapping[str, CType]) -> CType | None:
        assert node.target is not None  # macro_var() said so
        target = self.infer(node.target, scope)
        elem = self.element(target)
        inner = {**scope, str(macro_var(node)): elem if elem is not None else CType("any")}
        for arg in node.args[1:]:
            self.infer(arg, inner)
        if node.name == "map":
            return CType("array", "list", items={})
        if node.name == "filter":
            return target
        return CType("boolean")

    def registered(self, node: Call, scope: Mapping[str, CType]) -> CType | None:
        name, args = node.name, node.args
        if name in _AGGREGATES:
            return self.aggregate(node, scope)
        if name == "unreferenced":
            self.collection(args[0])
            src = self.collection(args[1])
            self.field_argument(args[2], src, scope)
            if len(args) > 3:
                self.check_where(args[3], src)
            return CType("array", "ids", items={"type": "string"})
        for a in args:
            self.infer(a, scope)
        if name in _INTEGER_RESULTS:
            return CType("integer")
        if name == "is_working_day":
            return CType("boolean")
        if name == "weighted_score":
            return CType("number")
        return CType("string", is_date=True)

    def field_argument(self, f: Node, elem: CType | None, scope: Mapping[str, CType]) -> CType | None:
        """The type of a field-name argument (a text literal naming a field of ``elem``)."""
        if isinstance(f, Lit) and f.kind == "string":
            return self.path_of(elem, str(f.value), f)
        self.infer(f, scope)
        return None

    def aggregate(self, node: Call, scope: Mapping[str, CType]) -> CType | None:
        """count, ids, sum_of, max_of, min_of: a collection, maybe a field, maybe a where-map."""
        name, args = node.name, node.args
        named = isinstance(args[0], Lit) and args[0].kind == "string"
        elem = self.collection(args[0]) if named else self.element(self.infer(args[0], scope))
        where_at = 1 if name in ("count", "ids") else 2
        ftype: CType | None = None
        if name not in ("count", "ids"):
            f = args[1]
            ftype = self.field_argument(f, elem, scope)
            if name == "sum_of" and ftype is not None and ftype.kind not in (*_NUMBER_KINDS, "any"):
                self.report(f, f"sum_of needs a number field; '{getattr(f, 'value', '')}' is {ftype.kind}")
        if len(args) > where_at:
            self.check_where(args[where_at], elem)
        if name == "count":
            return CType("integer")
        if name == "ids":
            return CType("array", "ids", items={"type": "string"})
        if name == "sum_of":
            return CType("number")
        return ftype

    # ------------------------------------------------------------------ inference
    def infer(self, node: Node, scope: Mapping[str, CType]) -> CType | None:
        step = _INFER.get(type(node))
        return step(self, node, scope) if step is not None else None

    def lit(self, node: Lit, scope: Mapping[str, CType]) -> CType | None:
        return CType(_LITERAL_KINDS.get(node.kind, "any"))

    def ident(self, node: Ident, scope: Mapping[str, CType]) -> CType | None:
        if node.name in scope:
            return scope[node.name]
        if node.name in self.extra:
            return self.extra[node.name]
        props = self.top.props or {}
        if node.name in props:
            return self.types.ctype(props[node.name], node.name)
        return None  # unknown names are reported by the exemplar run, which knows the functions too

    def select(self, node: Select, scope: Mapping[str, CType]) -> CType | None:
        return self.field_of(self.infer(node.operand, scope), node.field, node)

    def index(self, node: Index, scope: Mapping[str, CType]) -> CType | None:
        base = self.infer(node.operand, scope)
        self.infer(node.index, scope)
        if base is None:
            return None
        if base.kind == "object" and isinstance(node.index, Lit) and node.index.kind == "string":
            return self.field_of(base, str(node.index.value), node.index)
        return self.element(base) if base.kind == "array" else None

    def list_lit(self, node: ListLit, scope: Mapping[str, CType]) -> CType | None:
        for x in node.items:
            self.infer(x, scope)
        return CType("array", "list", items={})

    def map_lit(self, node: MapLit, scope: Mapping[str, CType]) -> CType | None:
        for k, v in node.entries:
            self.infer(k, scope)
            self.infer(v, scope)
        return CType("object", "map")

    def unary(self, node: Unary, scope: Mapping[str, CType]) -> CType | None:
        t = self.infer(node.operand, scope)
        return CType("boolean") if node.op == "!" else t

    def binary(self, node: Binary, scope: Mapping[str, CType]) -> CType | None:
        left = self.infer(node.left, scope)
        right = self.infer(node.right, scope)
        if node.op in ("==", "!="):
            self.enum_literal(left, node.right)
            self.enum_literal(right, node.left)
            self.compared(node, node.op, left, right)
            return CType("boolean")
        if node.op == "in":
            self.enum_literal(left, node.right)
            if isinstance(node.right, ListLit):
                for item in node.right.items:
                    self.compared(node, "in", left, self.infer(item, scope))
            return CType("boolean")
        if node.op in RELOPS:
            self.compared(node, node.op, left, right)
            return CType("boolean")
        if node.op in ("&&", "||"):
            return CType("boolean")
        return left if left is not None and left.kind in _NUMBER_KINDS else None

    def cond(self, node: Cond, scope: Mapping[str, CType]) -> CType | None:
        self.infer(node.cond, scope)
        then = self.infer(node.then, scope)
        self.infer(node.other, scope)
        return then


_INFER: dict[type, Callable[[StaticCheck, Any, Mapping[str, CType]], CType | None]] = {
    Lit: StaticCheck.lit,
    Ident: StaticCheck.ident,
    Select: StaticCheck.select,
    Index: StaticCheck.index,
    Call: StaticCheck.call,
    ListLit: StaticCheck.list_lit,
    MapLit: StaticCheck.map_lit,
    Unary: StaticCheck.unary,
    Binary: StaticCheck.binary,
    Cond: StaticCheck.cond,
}

__all__ = ["ExprIssue", "StaticCheck"]

"""The CEL boundary: the only module that imports the CEL library.

Rule packs express gate criteria in CEL (safe by construction: no I/O, no code, only the functions
registered here). This module does four things:

1. **Compile** an expression (:func:`compile_expr`). A syntax error becomes a :class:`CelSyntax` with
   the line and column inside the expression and the caret picture, which the rule-pack loader maps to
   the YAML line.
2. **Evaluate** against one project (:class:`CelEnv`). Expressions in the common, well-typed subset
   run natively over the Python facts (:mod:`lifecycle.load.celnative`, generated once per
   expression); anything else, and any value the native code cannot decide, runs in the library,
   whose context (the facts converted, ~6 ms per 1,000 tasks) is built on first need. Errors come
   back as text (:class:`Evaluated`), never as a pass.
3. **Registered functions** (:data:`FUNCTION_DOCS`) for what CEL's ``map``/``filter`` would do
   quadratically in this library version: counts, sums, selections of ids, and date arithmetic
   including working days on the project calendar. A collection argument is either the *name* of a
   facts collection (``'tasks'``: read from the Python-side facts, no conversion, fast) or a CEL list
   (``d.acceptance_criteria``: converted per call, fine for short lists). A ``where`` argument is a CEL
   map of conditions that must all hold: ``{'status': 'done'}`` (equals), or a key with an operator
   after the field name: ``'finish <'``, ``'<='``, ``'>'``, ``'>='``, ``'!='``, ``'in'``, ``'not in'``,
   ``'contains'``, ``'empty'`` (value true/false), e.g. ``{'is_leaf': true, 'owner empty': true}``.
   Union several selections with ``+`` (evidence lists are de-duplicated).
4. **Check fields at load time** (:class:`ExprChecker`): a misspelled field (``t.ownr``) is found
   before any project is evaluated, two ways. A static walk infers the type of every member access
   from the facts JSON Schema (macro variables take the element type of their list) and reports
   unknown fields, enum values that cannot occur (``t.status == 'finished'``) and bad literal
   arguments of registered functions (an unknown collection, field or operator in a ``where`` map).
   Then the expression, and each operand of ``&&``, ``||`` and ``?:`` (wrapped in the ``map`` of its
   enclosing macros, so ``x.ownr != '' || true`` cannot hide the error), is evaluated against an
   exemplar facts document made from the schema (every field present, every list holding one element).

The CEL library's package ``__init__`` imports its command-line tool (~0.18 s); we load only its
compiled core when we can (~0.015 s) and register it under its usual module name, so a later plain
``import cel`` elsewhere still works.
"""

from __future__ import annotations

import difflib
import importlib.machinery
import importlib.util
import logging
import math
import re
import sys
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from lifecycle.domain.facts import add_working_days, facts_schema, is_working_day, working_days
from lifecycle.domain.model import Calendar

_T = TypeVar("_T")

# --------------------------------------------------------------------------- loading the library
_CEL: Any = None


def _cel() -> Any:
    """The CEL extension module (``compile``, ``Context``), loaded once."""
    global _CEL
    if _CEL is not None:
        return _CEL
    module = sys.modules.get("cel.cel")
    if module is None and "cel" not in sys.modules:
        try:
            spec = importlib.util.find_spec("cel")
            locations = list(spec.submodule_search_locations or []) if spec else []
            for loc in locations:
                for suffix in importlib.machinery.EXTENSION_SUFFIXES:
                    path = Path(loc) / f"cel{suffix}"
                    if path.is_file():
                        loader = importlib.machinery.ExtensionFileLoader("cel.cel", str(path))
                        ext_spec = importlib.util.spec_from_file_location("cel.cel", str(path), loader=loader)
                        if ext_spec is None:
                            continue
                        candidate = importlib.util.module_from_spec(ext_spec)
                        sys.modules["cel.cel"] = candidate
                        try:
                            loader.exec_module(candidate)
                        except BaseException:
                            sys.modules.pop("cel.cel", None)
                            raise
                        module = candidate
                        break
                if module is not None:
                    break
        except Exception:  # any surprise: fall back to the package's own import
            module = sys.modules.get("cel.cel")
    if module is None:
        import cel as package

        module = package
    # Failures of registered functions are logged by the library at WARNING; they are reported in the
    # gate decision instead, so keep them off the user's terminal.
    log = logging.getLogger("cel")
    if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
        log.addHandler(logging.NullHandler())
    log.propagate = False
    _CEL = module
    return module


# --------------------------------------------------------------------------- a small CEL parser
# The CEL library gives no syntax tree, and its ``references()`` names only top-level variables. We
# parse CEL ourselves (the subset a rule pack uses: everything but message construction and optional
# syntax) to check field names and to split ``&&`` / ``||`` / ``?:``. If our parser cannot read an
# expression the library accepts, the static checks are skipped for it and only the exemplar run
# applies: the library stays the judge of what CEL is.


@dataclass(eq=False)
class Node:
    start: int
    end: int


@dataclass(eq=False)
class Lit(Node):
    value: Any
    kind: str  # string int uint double bool null bytes


@dataclass(eq=False)
class Ident(Node):
    name: str


@dataclass(eq=False)
class Select(Node):
    operand: Node
    field: str


@dataclass(eq=False)
class Index(Node):
    operand: Node
    index: Node


@dataclass(eq=False)
class Call(Node):
    target: Node | None
    name: str
    args: list[Node]


@dataclass(eq=False)
class ListLit(Node):
    items: list[Node]


@dataclass(eq=False)
class MapLit(Node):
    entries: list[tuple[Node, Node]]


@dataclass(eq=False)
class Unary(Node):
    op: str
    operand: Node


@dataclass(eq=False)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(eq=False)
class Cond(Node):
    cond: Node
    then: Node
    other: Node


class _ParseFailure(Exception):
    """Our parser could not read the expression (internal; never leaves this module)."""


_TOKEN_RE = re.compile(
    r"""
  (?P<ws>\s+|//[^\n]*)
| (?P<double>\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\.\d+(?:[eE][+-]?\d+)?)
| (?P<hex>0[xX][0-9a-fA-F]+[uU]?)
| (?P<int>\d+[uU]?)
| (?P<string>(?:[rR][bB]?|[bB][rR]?)?(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"))
| (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
| (?P<op>\|\||&&|==|!=|<=|>=|[<>+\-*/%!?:.,()\[\]{}])
""",
    re.X,
)

_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
    "`": "`",
}


def _decode_string(token: str) -> tuple[Any, str]:
    i = 0
    raw = is_bytes = False
    while token[i] in "rRbB":
        raw = raw or token[i] in "rR"
        is_bytes = is_bytes or token[i] in "bB"
        i += 1
    body = token[i:]
    q = 3 if body[:3] in ("'''", '"""') else 1
    body = body[q:-q]
    if not raw:
        out: list[str] = []
        j = 0
        while j < len(body):
            c = body[j]
            if c != "\\" or j + 1 >= len(body):
                out.append(c)
                j += 1
                continue
            e = body[j + 1]
            if e in _ESCAPES:
                out.append(_ESCAPES[e])
                j += 2
            elif e in "xX" and j + 3 < len(body) + 1:
                out.append(chr(int(body[j + 2 : j + 4], 16)))
                j += 4
            elif e == "u":
                out.append(chr(int(body[j + 2 : j + 6], 16)))
                j += 6
            elif e == "U":
                out.append(chr(int(body[j + 2 : j + 10], 16)))
                j += 10
            elif e in "01234567":
                out.append(chr(int(body[j + 1 : j + 4], 8)))
                j += 4
            else:
                raise _ParseFailure(f"unknown escape \\{e}")
        body = "".join(out)
    return (body.encode() if is_bytes else body), ("bytes" if is_bytes else "string")


def _tokenize(text: str) -> list[tuple[str, str, int, int]]:
    tokens: list[tuple[str, str, int, int]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise _ParseFailure(f"unexpected character {text[pos]!r}")
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append((kind, m.group(), m.start(), m.end()))
        pos = m.end()
    tokens.append(("eof", "", len(text), len(text)))
    return tokens


_RELOPS = ("<", "<=", ">", ">=", "==", "!=")
MACROS = ("all", "exists", "exists_one", "map", "filter")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    def peek(self, value: str | None = None) -> bool:
        kind, val, _, _ = self.toks[self.i]
        if value is None:
            return False
        return val == value and kind in ("op", "ident")

    def take(self) -> tuple[str, str, int, int]:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, value: str) -> tuple[str, str, int, int]:
        if not self.peek(value):
            raise _ParseFailure(f"expected {value!r} at {self.toks[self.i][2]}")
        return self.take()

    def parse(self) -> Node:
        node = self.expr()
        if self.toks[self.i][0] != "eof":
            raise _ParseFailure("trailing input")
        return node

    def expr(self) -> Node:
        cond = self.or_()
        if self.peek("?"):
            self.take()
            then = self.or_()
            self.expect(":")
            other = self.expr()
            return Cond(cond.start, other.end, cond, then, other)
        return cond

    def or_(self) -> Node:
        left = self.and_()
        while self.peek("||"):
            self.take()
            right = self.and_()
            left = Binary(left.start, right.end, "||", left, right)
        return left

    def and_(self) -> Node:
        left = self.rel()
        while self.peek("&&"):
            self.take()
            right = self.rel()
            left = Binary(left.start, right.end, "&&", left, right)
        return left

    def rel(self) -> Node:
        left = self.add()
        while True:
            kind, val, _, _ = self.toks[self.i]
            if (kind == "op" and val in _RELOPS) or (kind == "ident" and val == "in"):
                self.take()
                right = self.add()
                left = Binary(left.start, right.end, val, left, right)
            else:
                return left

    def add(self) -> Node:
        left = self.mul()
        while self.peek("+") or self.peek("-"):
            op = self.take()[1]
            right = self.mul()
            left = Binary(left.start, right.end, op, left, right)
        return left

    def mul(self) -> Node:
        left = self.unary()
        while self.peek("*") or self.peek("/") or self.peek("%"):
            op = self.take()[1]
            right = self.unary()
            left = Binary(left.start, right.end, op, left, right)
        return left

    def unary(self) -> Node:
        if self.peek("!") or self.peek("-"):
            _, op, start, _ = self.take()
            operand = self.unary()
            return Unary(start, operand.end, op, operand)
        return self.member()

    def args(self, close: str) -> tuple[list[Node], int]:
        items: list[Node] = []
        while not self.peek(close):
            items.append(self.expr())
            if self.peek(","):
                self.take()
            elif not self.peek(close):
                raise _ParseFailure("expected , or " + close)
        end = self.take()[3]
        return items, end

    def member(self) -> Node:
        node = self.primary()
        while True:
            if self.peek("."):
                self.take()
                kind, name, _, end = self.take()
                if kind != "ident":
                    raise _ParseFailure("expected a field name after '.'")
                if self.peek("("):
                    self.take()
                    args, end = self.args(")")
                    node = Call(node.start, end, node, name, args)
                else:
                    node = Select(node.start, end, node, name)
            elif self.peek("["):
                self.take()
                idx = self.expr()
                end = self.expect("]")[3]
                node = Index(node.start, end, node, idx)
            elif self.peek("{"):
                raise _ParseFailure("message construction is not supported")
            else:
                return node

    def primary(self) -> Node:
        kind, val, start, end = self.take()
        if kind == "op" and val == ".":
            kind, val, _, end = self.take()
            if kind != "ident":
                raise _ParseFailure("expected a name after a leading '.'")
        if kind == "ident":
            if val in ("true", "false"):
                return Lit(start, end, val == "true", "bool")
            if val == "null":
                return Lit(start, end, None, "null")
            if self.peek("("):
                self.take()
                args, end = self.args(")")
                return Call(start, end, None, val, args)
            return Ident(start, end, val)
        if kind == "double":
            return Lit(start, end, float(val), "double")
        if kind in ("int", "hex"):
            unsigned = val[-1] in "uU"
            digits = val.rstrip("uU")
            return Lit(start, end, int(digits, 16 if kind == "hex" else 10), "uint" if unsigned else "int")
        if kind == "string":
            value, skind = _decode_string(val)
            return Lit(start, end, value, skind)
        if kind == "op" and val == "(":
            inner = self.expr()
            self.expect(")")
            return inner
        if kind == "op" and val == "[":
            items, end = self.args("]")
            return ListLit(start, end, items)
        if kind == "op" and val == "{":
            entries: list[tuple[Node, Node]] = []
            while not self.peek("}"):
                k = self.expr()
                self.expect(":")
                v = self.expr()
                entries.append((k, v))
                if self.peek(","):
                    self.take()
                elif not self.peek("}"):
                    raise _ParseFailure("expected , or }")
            end = self.take()[3]
            return MapLit(start, end, entries)
        raise _ParseFailure(f"unexpected {val!r}")


def parse(text: str) -> Node | None:
    """Our syntax tree of a CEL expression, or None if this parser cannot read it."""
    try:
        return _Parser(text).parse()
    except (_ParseFailure, ValueError, IndexError):
        return None


# --------------------------------------------------------------------------- compiling
@dataclass(frozen=True)
class CelSyntax:
    """A syntax error: where in the expression (1-based line and column) and what."""

    line: int
    column: int
    message: str
    picture: str  # the offending line and a caret under the column

    def describe(self) -> str:
        return f"CEL syntax error at column {self.column}: {self.message}\n{self.picture}"


@dataclass(frozen=True)
class CompiledExpr:
    """A compiled expression, ready to evaluate many times; ``tree`` is None if we could not parse it."""

    text: str
    program: Any = field(repr=False, compare=False)
    tree: Node | None = field(default=None, repr=False, compare=False)
    native: Any = field(default=None, repr=False, compare=False)  # see lifecycle.load.celnative


_SYNTAX_RE = re.compile(r"<input>:(\d+):(\d+):\s*(.*)")


def _caret(text: str, line: int, column: int) -> str:
    lines = text.split("\n")
    src = lines[line - 1] if 0 < line <= len(lines) else text
    return f"    {src}\n    {' ' * max(column - 1, 0)}^"


def compile_expr(text: str) -> CompiledExpr | CelSyntax:
    """Compile ``text``; a :class:`CelSyntax` describes a syntax error instead."""
    if not text.strip():
        return CelSyntax(1, 1, "the expression is empty", "")
    try:
        program = _cel().compile(text)
    except ValueError as exc:
        msg = str(exc)
        m = _SYNTAX_RE.search(msg)
        if m:
            line, column = int(m.group(1)), int(m.group(2))  # both 1-based, like the caret picture
            reason = m.group(3).split("\n")[0].strip()
            reason = re.sub(r"^Syntax error:\s*", "", reason)
            reason = re.sub(r"expecting \{[^}]*\}", "expecting an expression", reason)
            return CelSyntax(line, column, reason, _caret(text, line, column))
        return CelSyntax(1, 1, msg.split("\n")[0], "")
    except Exception as exc:  # the library may raise other types for odd input
        return CelSyntax(1, 1, f"{type(exc).__name__}: {exc}", "")
    from lifecycle.load.celnative import compile_native  # it builds on this module's syntax tree

    tree = parse(text)
    return CompiledExpr(text, program, tree, compile_native(tree, text))


# --------------------------------------------------------------------------- registered functions
FUNCTION_DOCS: dict[str, str] = {
    "count": "count(coll) / count(coll, where) -> int: number of items (matching where)",
    "ids": "ids(coll) / ids(coll, where) -> list of ids of the items (matching where); use as evidence",
    "sum_of": "sum_of(coll, field) / sum_of(coll, field, where) -> double: sum of a number field (nulls skipped)",
    "max_of": "max_of(coll, field[, where]) -> the largest value of a field (dates compare as text), null if none",
    "min_of": "min_of(coll, field[, where]) -> the smallest value of a field, null if none",
    "unreferenced": "unreferenced(target, source, field[, where]) -> ids of target items that no (matching) "
    "source item names in its field (a text or list field); e.g. deliverables no task produces: "
    "unreferenced('deliverables', 'tasks', 'deliverables')",
    "days_between": "days_between(from, to) -> int: calendar days from one date to another (negative if earlier)",
    "days_since": "days_since(date) -> int: calendar days from date to today",
    "days_until": "days_until(date) -> int: calendar days from today to date",
    "add_days": "add_days(date, n) -> date text n calendar days later",
    "working_days": "working_days(from, to) -> int: working days from..to inclusive on the project calendar "
    "(weekdays, holidays, extra workdays); 0 if to is before from",
    "add_working_days": "add_working_days(date, n) -> date text n working days later (earlier if n < 0)",
    "is_working_day": "is_working_day(date) -> bool on the project calendar",
}
# name -> (min args, max args)
_ARITY: dict[str, tuple[int, int]] = {
    "count": (1, 2),
    "ids": (1, 2),
    "sum_of": (2, 3),
    "max_of": (2, 3),
    "min_of": (2, 3),
    "unreferenced": (3, 4),
    "days_between": (2, 2),
    "days_since": (1, 1),
    "days_until": (1, 1),
    "add_days": (2, 2),
    "working_days": (2, 2),
    "add_working_days": (2, 2),
    "is_working_day": (1, 1),
}
WHERE_OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains", "empty")


def _split_key(key: str) -> tuple[str, str]:
    """``'finish <'`` -> (``finish``, ``<``); ``'status'`` -> (``status``, ``==``)."""
    parts = str(key).strip().split(None, 1)
    if not parts:
        raise LookupError("an empty condition key")
    fieldname = parts[0]
    op = parts[1].strip() if len(parts) > 1 else "=="
    op = " ".join(op.split())
    if op not in WHERE_OPS:
        raise LookupError(f"unknown operator '{op}' in condition '{key}' (operators: {', '.join(WHERE_OPS)})")
    return fieldname, op


def _get(item: Any, path: str) -> Any:
    value = item
    for part in path.split("."):
        value = value[part]
    return value


def _has(item: Any, path: str) -> bool:
    value = item
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False
        value = value[part]
    return True


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, (list, tuple, dict)) and not value)


def _test(op: str, actual: Any, expected: Any) -> bool:
    if op == "==":
        return bool(actual == expected)
    if op == "!=":
        return bool(actual != expected)
    if op == "empty":
        return _is_empty(actual) == bool(expected)
    if op in ("in", "not in"):
        if not isinstance(expected, (list, tuple)):
            raise LookupError(f"'{op}' needs a list of values")
        return (actual in expected) == (op == "in")
    if op == "contains":
        return actual is not None and expected in actual
    if actual is None or expected is None:
        return False
    try:
        if op == "<":
            return bool(actual < expected)
        if op == "<=":
            return bool(actual <= expected)
        if op == ">":
            return bool(actual > expected)
        return bool(actual >= expected)
    except TypeError:
        return False


Selector = Callable[[Sequence[Any]], list[Any]]


def _selector(where: Any, items: Sequence[Any], coll: str) -> Selector:
    """The function that selects the items matching ``where`` (None: all of them)."""
    if where is None:
        return list
    if not isinstance(where, Mapping):
        raise LookupError("a where condition is a map such as {'status': 'done', 'finish <': today}")
    conds = [(*_split_key(k), v) for k, v in where.items()]
    if items:
        first = items[0]
        if not isinstance(first, Mapping):
            raise LookupError(f"the items of {coll} are not records; a where condition needs records")
        for fname, _, _ in conds:
            if not _has(first, fname):
                names = sorted(first)
                raise LookupError(f"unknown field '{fname}' in {coll}{_hint(fname, names)}")

    return _predicate(conds)


_PREDICATES: dict[tuple[tuple[str, str, str | None], ...], Callable[[tuple[Any, ...]], Selector]] = {}
_ORDER_OPS = {"<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge"}


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def test(actual: Any, expected: Any) -> bool:
        if actual is None or expected is None:
            return False
        try:
            return bool(op(actual, expected))
        except TypeError:
            return False

    return test


_PREDICATE_GLOBALS: dict[str, Any] = {
    "_test": _test,
    "_lt": _ordered(lambda a, b: a < b),
    "_le": _ordered(lambda a, b: a <= b),
    "_gt": _ordered(lambda a, b: a > b),
    "_ge": _ordered(lambda a, b: a >= b),
    "_COLLECTIONS": (list, tuple, dict),
    "__builtins__": {"type": type},
}


def _literal(value: Any, op: str) -> str | None:
    """Python source for a plain value of a where-map: text, number, bool or null, and for ``in`` and
    ``not in`` a list of them (written as a tuple: membership is the same; equality would not be)."""
    t = type(value)
    if value is None or t in (str, int, bool) or (t is float and math.isfinite(value)):
        return repr(value)
    if t in (list, tuple) and op in ("in", "not in"):
        items = [_literal(v, "==") for v in value]
        if all(i is not None for i in items):
            return "(" + "".join(f"{i}, " for i in items) + ")"
    return None


def _predicate(conds: Sequence[tuple[str, str, Any]]) -> Selector:
    """A where-map as one generated selection function, made once per shape of the conditions.

    Selections over thousands of items are most of a gate's work, so ``{'status': 'open', 'owner
    empty': true}`` becomes ``lambda items: [item for item in items if item['status'] == 'open' and
    (...item['owner'] is empty...) is True]``: paths split, operators chosen and plain values
    written into the code (others bound as ``E[i]``), and no function call per item. The shape
    (fields, operators, plain values, and for ``in`` whether the value is a list) keys the generated
    code. Semantics are :func:`_test`'s.
    """
    values = tuple(bool(v) if op == "empty" else v for (_, op, v) in conds)
    shape = tuple(
        (f, op if op not in ("in", "not in") or isinstance(v, (list, tuple)) else op + "?", _literal(v, op))
        for (f, op, _), v in zip(conds, values, strict=True)
    )
    make = _PREDICATES.get(shape)
    if make is None:
        make = _PREDICATES[shape] = _generate(shape)
    return make(values)


def _generate(shape: tuple[tuple[str, str, str | None], ...]) -> Callable[[tuple[Any, ...]], Selector]:
    """The selection code of a shape. An ordering (``'finish <'``) runs inline first; if one item's
    value does not compare with the given one (a ``TypeError``), the selection runs again with
    :func:`_test`'s rule for it: such an item does not match."""

    def code(inline_order: bool) -> str:
        parts = []
        for i, (fname, op, lit) in enumerate(shape):
            get = "item" + "".join(f"[{part!r}]" for part in fname.split("."))
            val = lit if lit is not None else f"E[{i}]"
            if op in ("==", "!=") or op in ("in", "not in"):
                parts.append(f"{get} {op} {val}")
            elif op in _ORDER_OPS and inline_order:
                if lit == "None":
                    parts.append("False")  # nothing orders against null
                else:
                    known = "" if lit is not None else f" and {val} is not None"
                    parts.append(f"(v{i} := {get}) is not None{known} and v{i} {op} {val}")
            elif op in _ORDER_OPS:
                parts.append(f"{_ORDER_OPS[op]}({get}, {val})")
            elif op == "empty":  # as _is_empty: None, '' and empty lists/maps
                parts.append(
                    f"((v{i} := {get}) is None or v{i} == '' or (type(v{i}) in _COLLECTIONS and not v{i})) is {val}"
                )
            else:
                parts.append(f"_test({op.rstrip('?')!r}, {get}, {val})")
        body = " and ".join(f"({p})" for p in parts) or "True"
        return f"lambda items: [item for item in items if {body}]"

    fast_src, safe_src = code(True), code(False)
    source = (
        f"lambda E: (lambda fast, safe: (lambda items: _first(fast, safe, items)))({fast_src}, {safe_src})"
        if fast_src != safe_src
        else f"lambda E: {safe_src}"
    )
    make: Callable[[tuple[Any, ...]], Selector] = eval(  # field names and values are repr()ed: no user text runs
        compile(source, "<where>", "eval"), dict(_PREDICATE_GLOBALS, _first=_first)
    )
    return make


def _first(fast: Selector, safe: Selector, items: Sequence[Any]) -> list[Any]:
    try:
        return fast(items)
    except TypeError:
        return safe(items)


def _hint(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _label(item: Any) -> str:
    if not isinstance(item, Mapping):
        return str(item)
    for key in ("name", "title", "text", "topic", "description"):
        v = item.get(key)
        if isinstance(v, str) and v.strip():
            return v.strip()[:120]
    return str(item.get("id", ""))


class _Functions:
    """The registered functions, bound to one facts document (and so to one project and today)."""

    def __init__(self, facts: Mapping[str, Any]) -> None:
        self.facts = facts
        cal = facts.get("calendar") or {}
        try:
            self.calendar = Calendar(
                working_weekdays=tuple(int(d) for d in cal.get("working_weekdays", (1, 2, 3, 4, 5))),
                hours_per_day=float(cal.get("hours_per_day", 8.0)),
                holidays=tuple(self._date(d, "calendar") for d in cal.get("holidays", ())),
                extra_workdays=tuple(self._date(d, "calendar") for d in cal.get("extra_workdays", ())),
            )
        except (ValueError, TypeError):
            self.calendar = Calendar()
        today = facts.get("today")
        self.today = self._date(today, "today") if today else date.today()
        self.seen: dict[str, Any] = {}  # id -> item named by ids()/unreferenced() (labelled on demand)
        self._memo: dict[tuple[Any, ...], Any] = {}  # see _remembered

    def table(self) -> dict[str, Callable[..., Any]]:
        return {name: getattr(self, "f_" + name) for name in FUNCTION_DOCS}

    # helpers ----------------------------------------------------------------
    def _items(self, coll: Any, fname: str) -> tuple[list[Any], str]:
        if isinstance(coll, str):
            value: Any = self.facts
            try:
                for part in coll.split("."):
                    value = value[part]
            except (KeyError, TypeError):
                names = [k for k, v in self.facts.items() if isinstance(v, list)]
                raise LookupError(f"unknown collection '{coll}'{_hint(coll, names)}") from None
            if not isinstance(value, list):
                raise LookupError(f"'{coll}' is not a list")
            return value, coll
        if isinstance(coll, (list, tuple)):
            return list(coll), "the list"
        raise LookupError(f"{fname} needs a collection name such as 'tasks' or a list")

    @staticmethod
    def _date(value: Any, fname: str) -> date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if value is None:
            raise ValueError("the date is null (guard optional dates with != null)")
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"'{value}' is not a date like 2026-03-31") from None

    def _remembered(self, names: tuple[str, ...], where: Any, compute: Callable[[], _T]) -> _T:
        """``compute()`` once per context for the same names and where-map: the facts do not change
        while a context lives, and a rule's evidence usually repeats its check's selection."""
        try:
            key = (*names, repr(sorted(where.items())) if isinstance(where, Mapping) else repr(where))
        except TypeError:  # a where-map that cannot be ordered: not remembered
            return compute()
        if key not in self._memo:
            self._memo[key] = compute()
        value: _T = self._memo[key]
        return value

    def _select(self, coll: Any, where: Any, fname: str) -> tuple[list[Any], str]:
        def select() -> tuple[list[Any], str]:
            items, name = self._items(coll, fname)
            return _selector(where, items, name)(items), name

        return self._remembered(("select", coll), where, select) if isinstance(coll, str) else select()

    def _field_values(self, coll: Any, fieldname: Any, where: Any, fname: str) -> list[Any]:
        items, name = self._select(coll, where, fname)
        if items and isinstance(items[0], Mapping) and not _has(items[0], str(fieldname)):
            raise LookupError(f"unknown field '{fieldname}' in {name}{_hint(str(fieldname), items[0])}")
        return [v for v in (_get(i, str(fieldname)) for i in items) if v is not None]

    def _ids(self, items: list[Any]) -> list[str]:
        if items and type(items[0]) is dict:
            try:
                keys = [item["id"] for item in items]
            except (KeyError, TypeError):  # records without ids, or a mixed list: item by item below
                keys = None
            if keys is not None:
                if set(map(type, keys)) != {str}:
                    keys = [str(k) for k in keys]
                self.seen.update(zip(keys, items, strict=True))
                return keys
        out = []
        for item in items:
            if isinstance(item, Mapping):
                key = str(item.get("id", ""))
                self.seen[key] = item
            else:
                key = str(item)
            out.append(key)
        return out

    # functions --------------------------------------------------------------
    def f_count(self, coll: Any, where: Any = None) -> int:
        if where is None:
            return len(self._items(coll, "count")[0])
        return len(self._select(coll, where, "count")[0])

    def f_ids(self, coll: Any, where: Any = None) -> list[str]:
        return self._ids(self._select(coll, where, "ids")[0])

    def f_sum_of(self, coll: Any, fieldname: Any, where: Any = None) -> float:
        values = self._field_values(coll, fieldname, where, "sum_of")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise LookupError(f"field '{fieldname}' is not a number")
        return float(sum(values))

    def f_max_of(self, coll: Any, fieldname: Any, where: Any = None) -> Any:
        values = self._field_values(coll, fieldname, where, "max_of")
        return max(values) if values else None

    def f_min_of(self, coll: Any, fieldname: Any, where: Any = None) -> Any:
        values = self._field_values(coll, fieldname, where, "min_of")
        return min(values) if values else None

    def f_unreferenced(self, target: Any, source: Any, fieldname: Any, where: Any = None) -> list[str]:
        if not (isinstance(target, str) and isinstance(source, str) and isinstance(fieldname, str)):
            return self._unreferenced_ids(target, source, fieldname, where)
        return list(
            self._remembered(
                ("unreferenced", target, source, fieldname),
                where,
                lambda: self._unreferenced_ids(target, source, fieldname, where),
            )
        )

    def _unreferenced_ids(self, target: Any, source: Any, fieldname: Any, where: Any) -> list[str]:
        targets, _ = self._items(target, "unreferenced")
        sources, sname = self._select(source, where, "unreferenced")
        if sources and isinstance(sources[0], Mapping) and not _has(sources[0], str(fieldname)):
            raise LookupError(f"unknown field '{fieldname}' in {sname}{_hint(str(fieldname), sources[0])}")
        named: set[Any] = set()
        parts = str(fieldname).split(".")
        values = [s[parts[0]] for s in sources] if len(parts) == 1 else [_get(s, str(fieldname)) for s in sources]
        for v in values:
            if isinstance(v, (list, tuple)):
                named.update(v)
            elif v is not None:
                named.add(v)
        if not all(type(x) is str for x in named):
            named = {str(x) for x in named}
        return self._ids(
            [t for t in targets if str(t.get("id") if type(t) is dict or isinstance(t, Mapping) else t) not in named]
        )

    def f_days_between(self, start: Any, finish: Any) -> int:
        return (self._date(finish, "days_between") - self._date(start, "days_between")).days

    def f_days_since(self, day: Any) -> int:
        return (self.today - self._date(day, "days_since")).days

    def f_days_until(self, day: Any) -> int:
        return (self._date(day, "days_until") - self.today).days

    def f_add_days(self, day: Any, n: Any) -> str:
        return (self._date(day, "add_days") + timedelta(days=int(n))).isoformat()

    def f_working_days(self, start: Any, finish: Any) -> int:
        return working_days(self.calendar, self._date(start, "working_days"), self._date(finish, "working_days"))

    def f_add_working_days(self, day: Any, n: Any) -> str:
        return add_working_days(self.calendar, self._date(day, "add_working_days"), int(n)).isoformat()

    def f_is_working_day(self, day: Any) -> bool:
        return is_working_day(self.calendar, self._date(day, "is_working_day"))


# --------------------------------------------------------------------------- evaluating
@dataclass(frozen=True)
class Evaluated:
    value: Any = None
    error: str = ""
    kind: str = ""  # for errors: field, name, function, type, data

    @property
    def ok(self) -> bool:
        return not self.error


_FUNC_ERR_RE = re.compile(
    r"Function '([^']+)' error: Python function call failed: (\w+): (.*?)"
    r"(?:\. Check function arguments and their types\.)?$",
    re.S,
)
_UNDEF_RE = re.compile(r"Undefined variable or function: '([^']+)'")


def _translate(exc: BaseException) -> tuple[str, str]:
    """(readable message, kind) for an exception raised while evaluating."""
    msg = str(exc)
    if isinstance(exc, KeyError):
        name = exc.args[0] if exc.args else msg
        return f"no field '{name}'", "field"
    m = _FUNC_ERR_RE.search(msg)
    if m:
        fname, etype, detail = m.group(1), m.group(2), m.group(3).strip()
        detail = detail.strip("'\"") if etype == "KeyError" else detail
        kind = "function" if etype in ("LookupError", "KeyError", "TypeError") else "data"
        return f"{fname}: {detail}", kind
    m = _UNDEF_RE.search(msg)
    if m:
        return f"unknown name '{m.group(1)}'", "name"
    if isinstance(exc, TypeError):
        return (
            "no matching operator or function for these value types (CEL does not mix int and double, "
            "and null does not compare with text: guard optional dates with != null)"
        ), "type"
    if isinstance(exc, ZeroDivisionError):
        return "division by zero", "data"
    if isinstance(exc, IndexError):
        return f"index out of range: {msg}", "data"
    return f"{msg.splitlines()[0] if msg else type(exc).__name__}", "data"


def referenced_names(exprs: Iterable[CompiledExpr | None]) -> frozenset[str]:
    """Top-level variable names the expressions read (comprehension variables included, harmless)."""
    out: set[str] = set()
    for e in exprs:
        if e is not None:
            out.update(e.program.variables())
    return frozenset(out)


class CelEnv:
    """One project's CEL context: its facts as variables and the registered functions bound to them.

    Build it once per project and evaluate every rule with :meth:`evaluate`: natively over the Python
    facts when the expression allows (:mod:`lifecycle.load.celnative`), else in the library, whose
    context (and conversion of the facts) is made on the first such evaluation. ``bindings`` adds
    variables (e.g. ``d``, the deliverable a quality standard is checking). Not thread-safe, like the library's Context.
    """

    def __init__(
        self, facts: Mapping[str, Any], bindings: Mapping[str, Any] | None = None, names: Iterable[str] | None = None
    ) -> None:
        self.facts = facts
        self.functions = _Functions(facts)
        # Converting facts into the library's values is most of the cost of a context (seconds for a
        # 5,000-task project), so with ``names`` only the variables the expressions use are converted;
        # registered functions read the Python facts directly and need no conversion.
        variables = dict(facts) if names is None else {k: facts[k] for k in set(names) if k in facts}
        if bindings:
            variables.update(bindings)
        self.variables = variables
        self._context: Any = None
        self._labels: dict[str, Any] | None = None  # id -> item, over every collection

    @property
    def context(self) -> Any:
        """The library's context, made on first use (natively evaluated rules never need it)."""
        if self._context is None:
            self._context = _cel().Context(variables=self.variables, functions=self.functions.table())
        return self._context

    def evaluate(self, expr: CompiledExpr) -> Evaluated:
        if expr.native is not None:
            try:
                return Evaluated(expr.native(self.variables, self.functions))
            except Exception:
                pass
        try:
            return Evaluated(expr.program.execute(self.context))
        except Exception as exc:  # every library error becomes a readable outcome, never a pass
            message, kind = _translate(exc)
            return Evaluated(None, message, kind)

    def evaluate_text(self, text: str) -> Evaluated:
        compiled = compile_expr(text)
        if isinstance(compiled, CelSyntax):
            return Evaluated(None, compiled.describe(), "syntax")
        return self.evaluate(compiled)

    def label(self, item_id: str) -> str:
        """A human label for an id: from the last selection that returned it, else any collection."""
        item = self.functions.seen.get(item_id)
        if item is None:
            if self._labels is None:
                self._labels = _id_index(self.facts)
            item = self._labels.get(item_id)
        return item_id if item is None else _label(item)  # ids in facts are text; see facts_schema()


_ID_INDEXES: dict[int, tuple[Any, tuple[int, ...], dict[str, Any]]] = {}


def _id_index(facts: Mapping[str, Any]) -> dict[str, Any]:
    """id -> item over every collection of a facts document (the first collection holding an id wins).

    Remembered per facts document while it lives and its collections are the same objects (facts are
    not edited in place; see ``FactsDoc``), so the gates evaluated on one project share it.
    """
    shape = tuple(id(v) for v in facts.values())
    held = _ID_INDEXES.get(id(facts))
    if held is not None and held[0]() is facts and held[1] == shape:
        return held[2]
    index: dict[str, Any] = {}
    for value in reversed(list(facts.values())):
        if type(value) is list and value and type(value[0]) is dict and "id" in value[0]:
            try:
                index.update({i["id"]: i for i in value})
            except (KeyError, TypeError):  # a mixed list: take the records that have an id
                index.update((i["id"], i) for i in value if isinstance(i, Mapping) and "id" in i)
    key = id(facts)

    def forget(_ref: Any) -> None:
        _ID_INDEXES.pop(key, None)

    try:
        ref = weakref.ref(facts, forget)
    except TypeError:  # a plain dict cannot be referenced weakly: nothing to share it with
        return index
    _ID_INDEXES[key] = (ref, shape, index)
    return index


# --------------------------------------------------------------------------- exemplar and types
_EXEMPLAR_DATE = "2026-01-15"


@dataclass
class CType:
    """A type inferred from the facts schema, for the static checks."""

    kind: str  # object array string integer number boolean enum null any
    label: str = ""
    props: dict[str, Any] | None = None  # name -> JSON schema (resolved lazily)
    items: Any = None  # JSON schema of the elements
    choices: tuple[str, ...] = ()
    is_date: bool = False


class SchemaTypes:
    """Turns facts JSON Schema nodes into :class:`CType` and exemplar values."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self.defs: Mapping[str, Any] = schema.get("$defs", {})

    def resolve(self, s: Any) -> Mapping[str, Any]:
        seen = 0
        while isinstance(s, Mapping) and "$ref" in s and seen < 20:
            s = self.defs[str(s["$ref"]).rsplit("/", 1)[-1]]
            seen += 1
        if isinstance(s, Mapping) and "anyOf" in s:
            options = [o for o in s["anyOf"] if not (isinstance(o, Mapping) and o.get("type") == "null")]
            if len(options) == 1:
                return self.resolve(options[0])
        return s if isinstance(s, Mapping) else {}

    def ctype(self, s: Any, label: str) -> CType:
        r = self.resolve(s)
        if "enum" in r:
            return CType("enum", label, choices=tuple(str(c) for c in r["enum"]))
        t = r.get("type")
        if t == "object":
            props = r.get("properties")
            closed = r.get("additionalProperties") is False
            return CType("object", label, props=dict(props) if (props is not None and closed) else None)
        if t == "array":
            return CType("array", label, items=r.get("items", {}))
        if t in ("string", "integer", "number", "boolean"):
            return CType(t, label, is_date=r.get("format") == "date")
        return CType("any", label)

    def top(self) -> CType:
        return CType("object", "facts", props=dict(self.schema.get("properties", {})))

    def exemplar(self, s: Any, depth: int = 0) -> Any:
        r = self.resolve(s)
        if depth > 12:
            return None
        if "enum" in r:
            return r["enum"][0]
        if "const" in r:
            return r["const"]
        t = r.get("type")
        if t == "object":
            return {k: self.exemplar(v, depth + 1) for k, v in (r.get("properties") or {}).items()}
        if t == "array":
            return [self.exemplar(r.get("items", {}), depth + 1)]
        if t == "string":
            if r.get("format") == "date":
                return _EXEMPLAR_DATE
            if r.get("format") == "date-time":
                return _EXEMPLAR_DATE + "T09:00:00+00:00"
            return "x"
        if t == "integer":
            return max(1, int(r.get("minimum", 1) or 1))
        if t == "number":
            return max(1.0, float(r.get("minimum", 1.0) or 1.0))
        if t == "boolean":
            return True
        return None

    def exemplar_facts(self) -> dict[str, Any]:
        facts = self.exemplar(self.schema)
        assert isinstance(facts, dict)
        return facts


# --------------------------------------------------------------------------- load-time checks
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


class _StaticCheck:
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

    def field_of(self, ct: CType | None, name: str, node: Node) -> CType | None:
        if ct is None or ct.kind != "object" or ct.props is None:
            return None
        if name not in ct.props:
            self.report(node, f"unknown field '{name}' in {ct.label}{_hint(name, ct.props)}")
            return None
        return self.types.ctype(ct.props[name], f"{ct.label}.{name}" if ct.label not in ("facts", "") else name)

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
        if isinstance(node, Lit) and node.kind == "string":
            name = str(node.value)
            ct: CType | None = self.top
            for part in name.split("."):
                if ct is None or ct.kind != "object" or ct.props is None:
                    return None
                if part not in ct.props:
                    lists = (
                        [k for k, v in self.top.props.items() if self.types.resolve(v).get("type") == "array"]
                        if self.top.props
                        else []
                    )
                    self.report(node, f"unknown collection '{name}'{_hint(name, lists)}")
                    return None
                ct = self.types.ctype(ct.props[part], part if ct is self.top else f"{ct.label}.{part}")
            if ct is not None and ct.kind != "array":
                self.report(node, f"'{name}' is not a list")
                return None
            return self.element(ct)
        return self.element(self.infer(node, {}))

    def check_where(self, node: Node, elem: CType | None) -> None:
        if not isinstance(node, MapLit):
            self.infer(node, {})
            return
        for k, v in node.entries:
            self.infer(v, {})
            if not (isinstance(k, Lit) and k.kind == "string"):
                continue
            try:
                fname, op = _split_key(str(k.value))
            except LookupError as exc:
                self.report(k, str(exc))
                continue
            ft: CType | None = elem
            for part in fname.split("."):
                ft = self.field_of(ft, part, k)
            if ft is not None and ft.kind == "enum":
                values = []
                if op in ("==", "!=") and isinstance(v, Lit) and v.kind == "string":
                    values = [v]
                elif op in ("in", "not in") and isinstance(v, ListLit):
                    values = [x for x in v.items if isinstance(x, Lit) and x.kind == "string"]
                for lit in values:
                    if lit.value not in ft.choices:
                        self.report(
                            lit, f"'{lit.value}' is not a value of {ft.label} (one of: {', '.join(ft.choices)})"
                        )

    def call(self, node: Call, scope: Mapping[str, CType]) -> CType | None:
        name = node.name
        if node.target is None and name == "has" and len(node.args) == 1:
            self.infer(node.args[0], scope)
            return CType("boolean")
        if (
            node.target is not None
            and name in MACROS
            and node.args
            and isinstance(node.args[0], Ident)
            and len(node.args) in (2, 3)
        ):
            target = self.infer(node.target, scope)
            var = node.args[0].name
            inner = dict(scope)
            elem = self.element(target)
            inner[var] = elem if elem is not None else CType("any")
            for arg in node.args[1:]:
                self.infer(arg, inner)
            if name == "map":
                return CType("array", "list", items={})
            if name == "filter":
                return target
            return CType("boolean")
        if node.target is None and name in _ARITY:
            lo, hi = _ARITY[name]
            if not lo <= len(node.args) <= hi:
                want = str(lo) if lo == hi else f"{lo} or {hi}" if hi == lo + 1 else f"{lo} to {hi}"
                self.report(node, f"{name} takes {want} argument(s), got {len(node.args)}")
                return None
            return self.registered(node, scope)
        if node.target is not None:
            self.infer(node.target, scope)
        for a in node.args:
            self.infer(a, scope)
        result = _BUILTIN_RESULTS.get(name)
        return CType(result) if result else None

    def registered(self, node: Call, scope: Mapping[str, CType]) -> CType | None:
        name, args = node.name, node.args
        if name in ("count", "ids", "sum_of", "max_of", "min_of"):
            named = isinstance(args[0], Lit) and args[0].kind == "string"
            elem = self.collection(args[0]) if named else self.element(self.infer(args[0], scope))
            where_at = 1 if name in ("count", "ids") else 2
            ftype: CType | None = None
            if name not in ("count", "ids"):
                f = args[1]
                if isinstance(f, Lit) and f.kind == "string":
                    ftype = elem
                    for part in str(f.value).split("."):
                        ftype = self.field_of(ftype, part, f)
                    if name == "sum_of" and ftype is not None and ftype.kind not in _NUMBER_KINDS + ("any",):
                        self.report(f, f"sum_of needs a number field; '{f.value}' is {ftype.kind}")
                else:
                    self.infer(f, scope)
            if len(args) > where_at:
                self.check_where(args[where_at], elem)
            if name == "count":
                return CType("integer")
            if name == "ids":
                return CType("array", "ids", items={"type": "string"})
            if name == "sum_of":
                return CType("number")
            return ftype
        if name == "unreferenced":
            self.collection(args[0])
            src = self.collection(args[1])
            f = args[2]
            if isinstance(f, Lit) and f.kind == "string":
                ft: CType | None = src
                for part in str(f.value).split("."):
                    ft = self.field_of(ft, part, f)
            else:
                self.infer(f, scope)
            if len(args) > 3:
                self.check_where(args[3], src)
            return CType("array", "ids", items={"type": "string"})
        for a in args:
            self.infer(a, scope)
        if name in ("days_between", "days_since", "days_until", "working_days"):
            return CType("integer")
        if name == "is_working_day":
            return CType("boolean")
        return CType("string", is_date=True)

    def enum_literal(self, a: CType | None, other: Node) -> None:
        if a is None or a.kind != "enum":
            return
        lits: list[Lit] = []
        if isinstance(other, Lit) and other.kind == "string":
            lits = [other]
        elif isinstance(other, ListLit):
            lits = [x for x in other.items if isinstance(x, Lit) and x.kind == "string"]
        for lit in lits:
            if lit.value not in a.choices:
                self.report(lit, f"'{lit.value}' is not a value of {a.label} (one of: {', '.join(a.choices)})")

    def infer(self, node: Node, scope: Mapping[str, CType]) -> CType | None:
        if isinstance(node, Lit):
            return CType(
                {
                    "string": "string",
                    "int": "integer",
                    "uint": "integer",
                    "double": "number",
                    "bool": "boolean",
                    "null": "null",
                }.get(node.kind, "any")
            )
        if isinstance(node, Ident):
            if node.name in scope:
                return scope[node.name]
            if node.name in self.extra:
                return self.extra[node.name]
            props = self.top.props or {}
            if node.name in props:
                return self.types.ctype(props[node.name], node.name)
            return None  # unknown names are reported by the exemplar run, which knows the functions too
        if isinstance(node, Select):
            return self.field_of(self.infer(node.operand, scope), node.field, node)
        if isinstance(node, Index):
            base = self.infer(node.operand, scope)
            self.infer(node.index, scope)
            if (
                base is not None
                and base.kind == "object"
                and isinstance(node.index, Lit)
                and node.index.kind == "string"
            ):
                return self.field_of(base, str(node.index.value), node.index)
            if base is not None and base.kind == "array":
                return self.element(base)
            return None
        if isinstance(node, Call):
            return self.call(node, scope)
        if isinstance(node, ListLit):
            for x in node.items:
                self.infer(x, scope)
            return CType("array", "list", items={})
        if isinstance(node, MapLit):
            for k, v in node.entries:
                self.infer(k, scope)
                self.infer(v, scope)
            return CType("object", "map")
        if isinstance(node, Unary):
            t = self.infer(node.operand, scope)
            return CType("boolean") if node.op == "!" else t
        if isinstance(node, Binary):
            left = self.infer(node.left, scope)
            right = self.infer(node.right, scope)
            if node.op in ("==", "!="):
                self.enum_literal(left, node.right)
                self.enum_literal(right, node.left)
                return CType("boolean")
            if node.op == "in":
                self.enum_literal(left, node.right)
                return CType("boolean")
            if node.op in ("&&", "||") or node.op in _RELOPS:
                return CType("boolean")
            return left if left is not None and left.kind in _NUMBER_KINDS else None
        if isinstance(node, Cond):
            self.infer(node.cond, scope)
            then = self.infer(node.then, scope)
            self.infer(node.other, scope)
            return then
        return None


def _probes(tree: Node, text: str) -> list[str]:
    """Sub-expressions to evaluate on their own: operands of &&, || and ?:, and has() arguments.

    Each is wrapped in the ``map`` of every macro it sits inside, so its variables are bound:
    in ``tasks.all(t, t.done || t.ownr != '')`` the probe for the right operand is
    ``(tasks).map(t, t.ownr != '')``. Exemplar lists hold one element, so ``map`` costs nothing here.
    """
    out: list[str] = []

    def wrap(scopes: list[tuple[str, str]], inner: str) -> str:
        for rng, var in reversed(scopes):
            inner = f"({rng}).map({var}, {inner})"
        return inner

    def walk(node: Node, scopes: list[tuple[str, str]]) -> None:
        def src(n: Node) -> str:
            return text[n.start : n.end]

        if isinstance(node, Binary):
            if node.op in ("&&", "||"):
                out.append(wrap(scopes, src(node.left)))
                out.append(wrap(scopes, src(node.right)))
            walk(node.left, scopes)
            walk(node.right, scopes)
        elif isinstance(node, Cond):
            for part in (node.cond, node.then, node.other):
                out.append(wrap(scopes, src(part)))
                walk(part, scopes)
        elif isinstance(node, Call):
            if (
                node.target is not None
                and node.name in MACROS
                and node.args
                and isinstance(node.args[0], Ident)
                and len(node.args) in (2, 3)
            ):
                walk(node.target, scopes)
                inner = [*scopes, (src(node.target), node.args[0].name)]
                for a in node.args[1:]:
                    walk(a, inner)
                return
            if node.target is None and node.name == "has" and len(node.args) == 1:
                out.append(wrap(scopes, src(node.args[0])))
            if node.target is not None:
                walk(node.target, scopes)
            for a in node.args:
                walk(a, scopes)
        elif isinstance(node, Select):
            walk(node.operand, scopes)
        elif isinstance(node, Index):
            walk(node.operand, scopes)
            walk(node.index, scopes)
        elif isinstance(node, ListLit):
            for x in node.items:
                walk(x, scopes)
        elif isinstance(node, MapLit):
            for k, v in node.entries:
                walk(k, scopes)
                walk(v, scopes)
        elif isinstance(node, Unary):
            walk(node.operand, scopes)

    walk(tree, [])
    return list(dict.fromkeys(out))


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
        issues: list[ExprIssue] = []
        if expr.tree is not None:
            extra = {name: self.types.ctype(self.binding_types[name], name) for name in bindings}
            static = _StaticCheck(self.types, expr.text, extra)
            static.infer(expr.tree, {})
            issues.extend(static.issues)
        env = self.env(bindings)
        reported = {i.message for i in issues}
        static_found = bool(issues)
        static_fields = {m.group(1) for i in issues for m in [re.search(r"unknown field '([^']+)'", i.message)] if m}
        texts = [expr.text]
        if expr.tree is not None:
            texts += _probes(expr.tree, expr.text)
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
            message = result.error
            fm = re.match(r"no field '([^']+)'", message)
            if fm:
                if fm.group(1) in static_fields:
                    continue
                message = f"unknown field '{fm.group(1)}'{_hint(fm.group(1), self._all_fields())}"
            nm = re.match(r"unknown name '([^']+)'", message)
            if nm:
                names = list(self.exemplar) + list(FUNCTION_DOCS) + list(bindings)
                message = f"unknown name '{nm.group(1)}'{_hint(nm.group(1), names)}"
            if result.kind == "type":
                message = f"{message} in `{_short(text)}`"
            if message not in reported:
                reported.add(message)
                issues.append(ExprIssue(message, 1))
        if whole is not None and whole.ok and not issues:
            value = whole.value
            if expect == "bool" and not isinstance(value, bool):
                issues.append(ExprIssue(f"must give true or false, but gives {_kind_of(value)}"))
            elif expect == "list" and not isinstance(value, list):
                issues.append(
                    ExprIssue(f"must give a list of ids (or of {{'id', 'label'}} maps), but gives {_kind_of(value)}")
                )
        return issues

    def _all_fields(self) -> list[str]:
        names: set[str] = set()
        for d in self.schema.get("$defs", {}).values():
            names.update((d.get("properties") or {}).keys())
        names.update((self.schema.get("properties", {}).get("metrics", {}).get("properties") or {}).keys())
        return sorted(names)


def _short(text: str, limit: int = 80) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a map"
    if value is None:
        return "null"
    return type(value).__name__


__all__ = [
    "FUNCTION_DOCS",
    "WHERE_OPS",
    "CelEnv",
    "CelSyntax",
    "CompiledExpr",
    "Evaluated",
    "ExprChecker",
    "ExprIssue",
    "compile_expr",
    "parse",
]

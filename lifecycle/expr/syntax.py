"""Our CEL parser: the syntax tree of an expression, for checks, probes and native compilation.

The CEL library gives no syntax tree, and its ``references()`` names only top-level variables. We
parse CEL ourselves (the subset a rule pack uses: everything but message construction and optional
syntax) to check field names, to split ``&&`` / ``||`` / ``?:`` into probes and to compile natively.
The library stays the judge of what CEL is: if this parser cannot read an expression the library
accepts, :func:`read` says why, and the expression runs in the library only (``pmo rules lint``
lists it) with its fields checked by the exemplar run alone.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

MACROS = ("all", "exists", "exists_one", "map", "filter")
RELOPS = ("<", "<=", ">", ">=", "==", "!=")
# Deeper trees than this are left to the library: the load-time checks walk trees recursively (a few
# Python frames per level, against a recursion limit of 1,000). Real rules are a few dozen deep.
MAX_DEPTH = 150


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
    # Non-zero for the nodes of one balanced run of ``+`` (the run's number, see _balanced): native
    # code adds the run's operands left to right, as written, so balancing changes only the depth.
    chain: int = 0


@dataclass(eq=False)
class Cond(Node):
    cond: Node
    then: Node
    other: Node


class ParseFailure(Exception):
    """Our parser could not read the expression (the message says why)."""


def macro_var(node: Call) -> str | None:
    """The variable of a macro call (``tasks.all(t, ...)`` -> ``t``), or None if ``node`` is none."""
    args = node.args
    if node.target is not None and node.name in MACROS and args and isinstance(args[0], Ident) and len(args) in (2, 3):
        return args[0].name
    return None


def children(node: Node) -> list[Node]:
    """The direct sub-expressions of ``node``, in source order."""
    if isinstance(node, (Select, Unary)):
        return [node.operand]
    if isinstance(node, Index):
        return [node.operand, node.index]
    if isinstance(node, Call):
        return ([node.target] if node.target is not None else []) + list(node.args)
    if isinstance(node, ListLit):
        return list(node.items)
    if isinstance(node, MapLit):
        return [part for entry in node.entries for part in entry]
    if isinstance(node, Binary):
        return [node.left, node.right]
    if isinstance(node, Cond):
        return [node.cond, node.then, node.other]
    return []


def depth(tree: Node) -> int:
    """The nesting depth of a tree (walked without recursion)."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children(node))
    return deepest


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
# escape letter -> (digits after it, base); octal escapes start with their first digit
_NUMERIC_ESCAPES = {"x": (2, 16), "X": (2, 16), "u": (4, 16), "U": (8, 16)}


def _escape(body: str, j: int) -> tuple[str, int]:
    """The character of the escape at ``body[j]`` (a backslash) and the index after it."""
    e = body[j + 1]
    if e in _ESCAPES:
        return _ESCAPES[e], j + 2
    if e in _NUMERIC_ESCAPES:
        width, base = _NUMERIC_ESCAPES[e]
        return chr(int(body[j + 2 : j + 2 + width], base)), j + 2 + width
    if e in "01234567":
        return chr(int(body[j + 1 : j + 4], 8)), j + 4
    raise ParseFailure(f"unknown escape \\{e}")


def _unescape(body: str) -> str:
    out: list[str] = []
    j = 0
    while j < len(body):
        c = body[j]
        if c != "\\" or j + 1 >= len(body):
            out.append(c)
            j += 1
            continue
        char, j = _escape(body, j)
        out.append(char)
    return "".join(out)


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
        body = _unescape(body)
    return (body.encode() if is_bytes else body), ("bytes" if is_bytes else "string")


def _tokenize(text: str) -> list[tuple[str, str, int, int]]:
    tokens: list[tuple[str, str, int, int]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise ParseFailure(f"unexpected character {text[pos]!r}")
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append((kind, m.group(), m.start(), m.end()))
        pos = m.end()
    tokens.append(("eof", "", len(text), len(text)))
    return tokens


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
            raise ParseFailure(f"expected {value!r} at {self.toks[self.i][2]}")
        return self.take()

    def parse(self) -> Node:
        node = self.expr()
        if self.toks[self.i][0] != "eof":
            raise ParseFailure("trailing input")
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
        operands = [self.and_()]
        while self.peek("||"):
            self.take()
            operands.append(self.and_())
        return _balanced("||", operands, 0)

    def and_(self) -> Node:
        operands = [self.rel()]
        while self.peek("&&"):
            self.take()
            operands.append(self.rel())
        return _balanced("&&", operands, 0)

    def rel(self) -> Node:
        left = self.add()
        while True:
            kind, val, _, _ = self.toks[self.i]
            if (kind == "op" and val in RELOPS) or (kind == "ident" and val == "in"):
                self.take()
                right = self.add()
                left = Binary(left.start, right.end, val, left, right)
            else:
                return left

    def add(self) -> Node:
        left = self.mul()
        run = [left]  # operands of a run of '+' only (no '-'): balanced when longer than two
        while self.peek("+") or self.peek("-"):
            op = self.take()[1]
            right = self.mul()
            if run and op == "+":
                run.append(right)
            else:
                run = []
            left = Binary(left.start, right.end, op, left, right)
        return _balanced("+", run, next(_RUNS)) if len(run) > 2 else left

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
                raise ParseFailure("expected , or " + close)
        end = self.take()[3]
        return items, end

    def member(self) -> Node:
        node = self.primary()
        while True:
            if self.peek("."):
                node = self.dotted(node)
            elif self.peek("["):
                self.take()
                idx = self.expr()
                end = self.expect("]")[3]
                node = Index(node.start, end, node, idx)
            elif self.peek("{"):
                raise ParseFailure("message construction is not supported")
            else:
                return node

    def dotted(self, node: Node) -> Node:
        """``node.name`` or ``node.name(args)``, the dot being next."""
        self.take()
        kind, name, _, end = self.take()
        if kind != "ident":
            raise ParseFailure("expected a field name after '.'")
        if self.peek("("):
            self.take()
            args, end = self.args(")")
            return Call(node.start, end, node, name, args)
        return Select(node.start, end, node, name)

    def primary(self) -> Node:
        kind, val, start, end = self.take()
        if kind == "op" and val == ".":
            kind, val, _, end = self.take()
            if kind != "ident":
                raise ParseFailure("expected a name after a leading '.'")
        if kind == "ident":
            return self.name(val, start, end)
        if kind in ("double", "int", "hex", "string"):
            return _literal(kind, val, start, end)
        if kind == "op" and val == "(":
            inner = self.expr()
            # the span takes in the parentheses, so a node's source text is valid CEL on its own
            inner.start, inner.end = start, self.expect(")")[3]
            return inner
        if kind == "op" and val == "[":
            items, end = self.args("]")
            return ListLit(start, end, items)
        if kind == "op" and val == "{":
            return self.map_literal(start)
        raise ParseFailure(f"unexpected {val!r}")

    def name(self, val: str, start: int, end: int) -> Node:
        """An identifier: a bool or null literal, a global function call, or a variable."""
        if val in ("true", "false"):
            return Lit(start, end, val == "true", "bool")
        if val == "null":
            return Lit(start, end, None, "null")
        if self.peek("("):
            self.take()
            args, end = self.args(")")
            return Call(start, end, None, val, args)
        return Ident(start, end, val)

    def map_literal(self, start: int) -> MapLit:
        entries: list[tuple[Node, Node]] = []
        while not self.peek("}"):
            k = self.expr()
            self.expect(":")
            v = self.expr()
            entries.append((k, v))
            if self.peek(","):
                self.take()
            elif not self.peek("}"):
                raise ParseFailure("expected , or }")
        end = self.take()[3]
        return MapLit(start, end, entries)


_RUNS = itertools.count(1)


def _balanced(op: str, operands: list[Node], chain: int) -> Node:
    """Operands joined by ``op`` as a balanced tree, so a rule with hundreds of ``&&`` or ``+`` stays
    a few levels deep (load-time checks walk trees recursively; see MAX_DEPTH).

    Only for operators where grouping cannot change a value: ``&&`` and ``||`` (CEL's are commutative,
    errors included), and runs of ``+`` numbered ``chain`` (native code adds their operands left to
    right as written, the library evaluates the text itself).
    """
    if len(operands) == 1:
        return operands[0]
    mid = len(operands) // 2
    left, right = _balanced(op, operands[:mid], chain), _balanced(op, operands[mid:], chain)
    return Binary(left.start, right.end, op, left, right, chain)


def _literal(kind: str, val: str, start: int, end: int) -> Lit:
    """A number or string literal token as a node."""
    if kind == "double":
        return Lit(start, end, float(val), "double")
    if kind == "string":
        value, skind = _decode_string(val)
        return Lit(start, end, value, skind)
    unsigned = val[-1] in "uU"
    digits = val.rstrip("uU")
    return Lit(start, end, int(digits, 16 if kind == "hex" else 10), "uint" if unsigned else "int")


# The library counts a string's size in UTF-8 bytes; CEL counts code points. The text handed to the
# library calls this registered function instead (lifecycle.expr.functions registers it).
SIZE_FUNCTION = "_size_cp"
_OPERAND_END = ("ident", "double", "hex", "int", "string")


def library_text(text: str) -> str:
    """``text`` with every ``size(...)`` / ``x.size()`` call renamed to :data:`SIZE_FUNCTION`.

    Token-level, so text inside string literals is untouched; positions after a rename shift, so
    syntax errors are read from the original text first (see :func:`lifecycle.expr.compiler.compile_expr`).
    """
    try:
        tokens = _tokenize(text)
    except ParseFailure:
        return text
    out, pos = [], 0
    for tok, nxt in itertools.pairwise(tokens):
        if tok[0] == "ident" and tok[1] == "size" and nxt[1] == "(" and nxt[0] == "op":
            out.append(text[pos : tok[2]] + SIZE_FUNCTION)
            pos = tok[3]
    return "".join(out) + text[pos:]


def leading_dot(text: str) -> tuple[int, str] | None:
    """The offset and name of the first leading-dot name (``.phase``), or None.

    CEL resolves ``.name`` in the root scope, past any macro variable of that name; the library does
    not support it, so rule packs may not use it (the loader reports it as a syntax error).
    """
    try:
        tokens = _tokenize(text)
    except ParseFailure:
        return None
    prev: tuple[str, str, int, int] | None = None
    for tok, nxt in itertools.pairwise(tokens):
        if tok[0] == "op" and tok[1] == "." and nxt[0] == "ident":
            after_operand = prev is not None and (
                (prev[0] in _OPERAND_END and prev[1] != "in") or prev[1] in (")", "]", "}")
            )
            if not after_operand:
                return tok[2], nxt[1]
        prev = tok
    return None


def read(text: str) -> tuple[Node | None, str]:
    """Our syntax tree of a CEL expression, or None and the reason this parser cannot read it."""
    try:
        tree = _Parser(text).parse()
    except ParseFailure as exc:
        return None, str(exc)
    except (ValueError, IndexError) as exc:  # a malformed literal the tokenizer let through
        return None, f"{type(exc).__name__}: {exc}"
    except RecursionError:
        return None, "it is nested too deeply"
    if depth(tree) > MAX_DEPTH:
        return None, f"it is nested more than {MAX_DEPTH} levels deep"
    return tree, ""


def parse(text: str) -> Node | None:
    """Our syntax tree of a CEL expression, or None if this parser cannot read it."""
    return read(text)[0]


__all__ = [
    "MACROS",
    "RELOPS",
    "Binary",
    "Call",
    "Cond",
    "Ident",
    "Index",
    "ListLit",
    "Lit",
    "MapLit",
    "Node",
    "ParseFailure",
    "Select",
    "Unary",
    "children",
    "SIZE_FUNCTION",
    "depth",
    "leading_dot",
    "library_text",
    "macro_var",
    "parse",
    "read",
]

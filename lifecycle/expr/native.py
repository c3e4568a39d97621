"""Native evaluation of CEL: our syntax tree of an expression turned into one Python function.

The CEL library evaluates over its own values, so a project's facts must be converted into them
first: for a 5,000-task project that conversion costs more than all the rules of a gate together.
This module compiles the common, well-typed subset of CEL that rule packs use into Python source
(one ``lambda V, F: ...`` per expression, ``V`` the variables and ``F`` the registered functions),
which reads the facts as they are.

**The library stays the judge.** The native function either returns the value CEL gives or raises
:class:`Fallback`; it never guesses. Whenever anything is not plainly well typed (an ``int`` added
to a ``double``, a missing field or variable, a non-bool operand of ``&&``, a null in a comparison,
an integer overflow, a registered function refusing its arguments...), the native function raises
:class:`Fallback` and the caller evaluates the same expression with the library, which produces the
value or the exact error CEL defines (including CEL's error absorption in ``&&``, ``||`` and the
macros). :class:`Fallback` is the only exception native code raises by design, and the only one the
caller catches: anything else is a bug and propagates. Expressions using anything outside the subset
(``matches``, conversions, timestamps, ``uint``, bytes, message construction) are not compiled at all
and always run in the library; :func:`compile_native_or_reason` says which part kept them out. A
differential test runs every rule of the default pack both ways on sample and generated projects and
compares the outcomes.

The subset, and how each piece keeps CEL's semantics:

- literals: int (64-bit range), double, string, bool, null; list and map literals (map keys must be
  distinct literal strings or ints);
- variables; field selection on maps (``x.f``; a missing key falls back), indexing lists and maps;
- ``==`` / ``!=`` with CEL's heterogeneous equality (``1 == 1.0`` is true, ``true == 1`` false);
  ``<``, ``<=``, ``>``, ``>=`` on two numbers, two strings or two bools; ``in`` on lists and maps;
- ``&&``, ``||``, ``!`` and ``?:`` on bools only; ``+ - * / %`` on two ints (checked for overflow,
  truncating division), two doubles, strings and lists (``+``); unary ``-``;
- the macros ``all``, ``exists``, ``exists_one``, ``map`` (2 and 3 arguments), ``filter`` over lists,
  each charging the length of its list to the evaluation's budget (:mod:`lifecycle.expr.budget`:
  :class:`~lifecycle.expr.budget.BudgetExceeded` is the one other exception native code raises);
- ``size()`` (in code points for strings, as CEL says; the library's text calls a registered
  function that agrees, see :data:`lifecycle.expr.syntax.SIZE_FUNCTION`), ``has(x.f)``, ``contains``,
  ``startsWith``, ``endsWith`` on strings, and every registered function (called directly).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lifecycle.expr.functions import ARITY
from lifecycle.expr.syntax import (
    MACROS,
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

INT_MIN, INT_MAX = -(2**63), 2**63 - 1

NativeFn = Callable[[Mapping[str, Any], Any], Any]


class Fallback(Exception):
    """The native function cannot decide this value; evaluate the expression with the library.

    The only exception native code raises by design: :meth:`lifecycle.expr.env.CelEnv.evaluate`
    catches it (and counts it); any other exception from native code is a bug and propagates.
    """


class _Unsupported(Exception):
    """The expression uses something outside the native subset (compile time only; says what)."""


# What a registered function raises for a user's mistake or odd data (an unknown field, a null
# date, a text where a number belongs): the library then reports it in CEL's words.
_FUNCTION_ERRORS = (LookupError, ValueError, TypeError, ArithmeticError)


# --------------------------------------------------------------------------- runtime helpers
def _b(x: Any) -> bool:
    if x is True or x is False:
        return x
    raise Fallback


def _eq(a: Any, b: Any) -> bool:
    ta, tb = type(a), type(b)
    if ta is tb:
        if ta is list:
            return len(a) == len(b) and all(_eq(x, y) for x, y in zip(a, b, strict=True))
        if ta is dict:
            return a.keys() == b.keys() and all(_eq(v, b[k]) for k, v in a.items())
        if ta in (str, int, float, bool, type(None)):
            return bool(a == b)
        raise Fallback
    if (ta is int or ta is float) and (tb is int or tb is float):
        return bool(a == b)
    if {ta, tb} <= {str, int, float, bool, type(None), list, dict}:
        return False  # values of different kinds are never equal
    raise Fallback


def _ne(a: Any, b: Any) -> bool:
    return not _eq(a, b)


def _order(a: Any, b: Any) -> None:
    ta, tb = type(a), type(b)
    if ta is tb and ta in (str, int, float, bool):
        return
    if (ta is int or ta is float) and (tb is int or tb is float):
        return
    raise Fallback


def _lt(a: Any, b: Any) -> bool:
    _order(a, b)
    return bool(a < b)


def _le(a: Any, b: Any) -> bool:
    _order(a, b)
    return bool(a <= b)


def _gt(a: Any, b: Any) -> bool:
    _order(a, b)
    return bool(a > b)


def _ge(a: Any, b: Any) -> bool:
    _order(a, b)
    return bool(a >= b)


def _int(x: int) -> int:
    if INT_MIN <= x <= INT_MAX:
        return x
    raise Fallback


def _arithmetic(op: Callable[[Any, Any], Any], *other_types: type) -> Callable[[Any, Any], Any]:
    """CEL's ``+``, ``-`` or ``*``: both operands of one type; ints checked for 64-bit overflow."""
    allowed = (float, *other_types)

    def apply(a: Any, b: Any) -> Any:
        ta = type(a)
        if ta is not type(b):
            raise Fallback
        if ta is int:
            return _int(op(a, b))
        if ta in allowed:
            return op(a, b)
        raise Fallback

    return apply


_add = _arithmetic(lambda a, b: a + b, str, list)
_sub = _arithmetic(lambda a, b: a - b)
_mul = _arithmetic(lambda a, b: a * b)


def _div(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is not tb or not b:
        raise Fallback  # also division by zero: the library says what CEL does
    if ta is int:
        q = abs(a) // abs(b)
        return _int(q if (a < 0) == (b < 0) else -q)
    if ta is float:
        return a / b
    raise Fallback


def _mod(a: Any, b: Any) -> Any:
    if type(a) is not int or type(b) is not int or not b:
        raise Fallback
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def _neg(a: Any) -> Any:
    t = type(a)
    if t is int:
        return _int(-a)
    if t is float:
        return -a
    raise Fallback


def _in(a: Any, b: Any) -> bool:
    if type(b) is list:
        return any(_eq(a, x) for x in b)
    if type(b) is dict and type(a) is str:
        return a in b
    raise Fallback


def _each(functions: Any, x: Any) -> list[Any]:
    """The list a macro walks, its length charged to the evaluation's budget first (see expr.budget)."""
    if type(x) is not list:
        raise Fallback
    meter = getattr(functions, "meter", None)
    if meter is not None:
        meter.charge(len(x))
    return x


def _sel(x: Any, name: str) -> Any:
    if type(x) is dict and name in x:
        return x[name]
    raise Fallback


def _index(x: Any, i: Any) -> Any:
    if type(x) is list and type(i) is int and 0 <= i < len(x):
        return x[i]
    if type(x) is dict and type(i) in (str, int) and i in x:
        return x[i]
    raise Fallback


def _has(x: Any, name: str) -> bool:
    if type(x) is dict:
        return name in x
    raise Fallback


def _size(x: Any) -> int:
    t = type(x)
    if t is str:
        return len(x)  # code points, as CEL says (the library is given a function that agrees)
    if t is list or t is dict:
        return len(x)
    raise Fallback


def _str2(a: Any, b: Any) -> None:
    if type(a) is not str or type(b) is not str:
        raise Fallback


def _contains(a: Any, b: Any) -> bool:
    _str2(a, b)
    return b in a


def _starts(a: Any, b: Any) -> bool:
    _str2(a, b)
    return bool(a.startswith(b))


def _ends(a: Any, b: Any) -> bool:
    _str2(a, b)
    return bool(a.endswith(b))


def _fold_add(*operands: Any) -> Any:
    """A run of ``+`` added left to right, as written (the tree holds it balanced; see syntax._balanced)."""
    total = operands[0]
    for x in operands[1:]:
        total = _add(total, x)
    return total


def _exists_one(values: Any) -> bool:
    return sum(1 for v in values if _b(v)) == 1


def _var(variables: Mapping[str, Any], name: str) -> Any:
    if name in variables:
        return variables[name]
    raise Fallback(f"no variable '{name}'")


def _call(function: Callable[..., Any], *args: Any) -> Any:
    """A registered function called natively; its failure is the library's to report."""
    try:
        return function(*args)
    except _FUNCTION_ERRORS as exc:
        raise Fallback(f"{function.__name__[2:]} raised {type(exc).__name__}") from exc


_HELPERS: dict[str, Any] = {
    name: value
    for name, value in globals().items()
    if name.startswith("_") and callable(value) and not isinstance(value, type)
}
_HELPERS["__builtins__"] = {"all": all, "any": any, "len": len, "sum": sum}

_BINARY = {
    "==": "_eq",
    "!=": "_ne",
    "<": "_lt",
    "<=": "_le",
    ">": "_gt",
    ">=": "_ge",
    "+": "_add",
    "-": "_sub",
    "*": "_mul",
    "/": "_div",
    "%": "_mod",
    "in": "_in",
}
_STRING_METHODS = {"contains": "_contains", "startsWith": "_starts", "endsWith": "_ends"}


# --------------------------------------------------------------------------- code generation
_LITERALS = {"double": lambda v: repr(float(v)), "string": lambda v: repr(str(v))}
_CONSTANTS = {("bool", True): "True", ("bool", False): "False", ("null", None): "None"}
_MACRO_CODE = {
    "all": "all(_b({0}) {loop})",
    "exists": "any(_b({0}) {loop})",
    "exists_one": "_exists_one({0} {loop})",
    "filter": "[{var} {loop} if _b({0})]",
}


class _Gen:
    """Python source for a syntax tree; raises :class:`_Unsupported` (saying what) outside the subset."""

    def __init__(self) -> None:
        self.counter = 0

    def local(self) -> str:
        self.counter += 1
        return f"v{self.counter}"

    def gen(self, node: Node, scope: Mapping[str, str]) -> str:
        step = _STEPS.get(type(node))
        if step is None:
            raise _Unsupported(f"a {type(node).__name__} node")
        return step(self, node, scope)

    def lit(self, node: Lit, scope: Mapping[str, str]) -> str:
        return self.literal(node)

    def ident(self, node: Ident, scope: Mapping[str, str]) -> str:
        return scope.get(node.name, f"_var(V, {node.name!r})")

    def select(self, node: Select, scope: Mapping[str, str]) -> str:
        return f"_sel({self.gen(node.operand, scope)}, {node.field!r})"

    def index(self, node: Index, scope: Mapping[str, str]) -> str:
        return f"_index({self.gen(node.operand, scope)}, {self.gen(node.index, scope)})"

    def list_lit(self, node: ListLit, scope: Mapping[str, str]) -> str:
        return "[" + "".join(self.gen(x, scope) + ", " for x in node.items) + "]"

    def map_lit(self, node: MapLit, scope: Mapping[str, str]) -> str:
        keys: set[Any] = set()
        parts = []
        for k, v in node.entries:
            if not (isinstance(k, Lit) and k.kind in ("string", "int")) or k.value in keys:
                raise _Unsupported("a map literal whose keys are not distinct text or integer literals")
            keys.add(k.value)
            parts.append(f"{self.literal(k)}: {self.gen(v, scope)}")
        return "{" + ", ".join(parts) + "}"

    def unary(self, node: Unary, scope: Mapping[str, str]) -> str:
        inner = self.gen(node.operand, scope)
        return f"(not _b({inner}))" if node.op == "!" else f"_neg({inner})"

    def binary(self, node: Binary, scope: Mapping[str, str]) -> str:
        if node.op in ("&&", "||"):  # one flat Python expression, however long the run
            joined = " and " if node.op == "&&" else " or "
            return "(" + joined.join(f"_b({self.gen(x, scope)})" for x in _run(node, node.op, 0)) + ")"
        if node.op == "+" and node.chain:
            return "_fold_add(" + ", ".join(self.gen(x, scope) for x in _run(node, "+", node.chain)) + ")"
        left, right = self.gen(node.left, scope), self.gen(node.right, scope)
        if node.op in ("==", "!=") and self.is_plain_literal(node.right):
            return f"({left} {node.op} {right})"
        if node.op not in _BINARY:
            raise _Unsupported(f"the operator '{node.op}'")
        return f"{_BINARY[node.op]}({left}, {right})"

    def cond(self, node: Cond, scope: Mapping[str, str]) -> str:
        then, test, other = (self.gen(n, scope) for n in (node.then, node.cond, node.other))
        return f"({then} if _b({test}) else {other})"

    @staticmethod
    def is_plain_literal(node: Node) -> bool:
        """A string or null literal: Python's ``==`` against it is CEL's (never equal across kinds)."""
        return isinstance(node, Lit) and node.kind in ("string", "null")

    @staticmethod
    def literal(node: Lit) -> str:
        if node.kind == "int":
            if not INT_MIN <= int(node.value) <= INT_MAX:
                raise _Unsupported("an integer literal beyond 64 bits")
            return repr(int(node.value))
        if node.kind in _LITERALS:
            return _LITERALS[node.kind](node.value)
        constant = _CONSTANTS.get((node.kind, node.value))
        if constant is None:
            raise _Unsupported(f"a {node.kind} literal")  # uint, bytes
        return constant

    def call(self, node: Call, scope: Mapping[str, str]) -> str:
        name, args = node.name, node.args
        if node.target is not None and name in MACROS:
            return self.macro(node, scope)
        if name == "size" and len(args) + (node.target is not None) == 1:
            target = node.target if node.target is not None else args[0]
            return f"_size({self.gen(target, scope)})"
        if node.target is not None and name in _STRING_METHODS and len(args) == 1:
            return f"{_STRING_METHODS[name]}({self.gen(node.target, scope)}, {self.gen(args[0], scope)})"
        if node.target is None and name == "has" and len(args) == 1 and isinstance(args[0], Select):
            return f"_has({self.gen(args[0].operand, scope)}, {args[0].field!r})"
        if node.target is None and name in ARITY and name not in scope:
            return self.registered(node, scope)
        raise _Unsupported(f"{'the method' if node.target is not None else 'the function'} '{name}'")

    def registered(self, node: Call, scope: Mapping[str, str]) -> str:
        lo, hi = ARITY[node.name]
        if not lo <= len(node.args) <= hi:
            raise _Unsupported(f"{node.name} with {len(node.args)} argument(s)")  # the library says what is wrong
        return f"_call(F.f_{node.name}, " + "".join(self.gen(a, scope) + ", " for a in node.args) + ")"

    def macro(self, node: Call, scope: Mapping[str, str]) -> str:
        name, args = node.name, node.args
        var_name = macro_var(node)
        if var_name is None or (len(args) == 3 and name != "map"):
            raise _Unsupported(f"the macro '{name}' with these arguments")
        coll = self.gen(node.target, scope) if node.target is not None else ""
        var = self.local()
        inner = {**scope, var_name: var}
        body = [self.gen(a, inner) for a in args[1:]]
        loop = f"for {var} in _each(F, {coll})"
        if name in _MACRO_CODE:
            return _MACRO_CODE[name].format(body[0], loop=loop, var=var)
        if len(body) == 2:
            return f"[{body[1]} {loop} if _b({body[0]})]"
        return f"[{body[0]} {loop}]"


def _run(node: Binary, op: str, chain: int) -> list[Node]:
    """The operands of a run of ``op`` in source order (walked without recursion): for ``&&`` and
    ``||`` (``chain`` 0) through every node of that operator, for ``+`` through the nodes of one run."""
    out: list[Node] = []
    stack: list[Node] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Binary) and n.op == op and n.chain == chain:
            stack.extend((n.right, n.left))
        else:
            out.append(n)
    return out


_STEPS: dict[type, Callable[[_Gen, Any, Mapping[str, str]], str]] = {
    Lit: _Gen.lit,
    Ident: _Gen.ident,
    Select: _Gen.select,
    Index: _Gen.index,
    ListLit: _Gen.list_lit,
    MapLit: _Gen.map_lit,
    Unary: _Gen.unary,
    Binary: _Gen.binary,
    Cond: _Gen.cond,
    Call: _Gen.call,
}


def compile_native_or_reason(tree: Node | None, text: str = "") -> tuple[NativeFn | None, str]:
    """The native function of an expression's syntax tree, or None and why it runs in the library."""
    if tree is None:
        return None, "our parser cannot read it"
    try:
        source = _Gen().gen(tree, {})
        code = compile(f"lambda V, F: {source}", f"<cel: {text[:60]}>", "eval")
    except _Unsupported as exc:
        return None, f"outside the native subset: {exc}"
    except (RecursionError, SyntaxError, MemoryError):  # Python's own limits on nesting
        return None, "nested too deeply for native code"
    fn: NativeFn = eval(code, dict(_HELPERS))  # the source holds only our helpers and repr()ed literals
    return fn, ""


def compile_native(tree: Node | None, text: str = "") -> NativeFn | None:
    """The native function of an expression's syntax tree, or None if it is outside the subset."""
    return compile_native_or_reason(tree, text)[0]


__all__ = ["Fallback", "NativeFn", "compile_native", "compile_native_or_reason"]

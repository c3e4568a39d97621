"""Where-maps: the conditions a registered function's selection must meet, as generated code.

A ``where`` argument is a CEL map of conditions that must all hold: ``{'status': 'done'}`` (equals),
or a key with an operator after the field name: ``'finish <'``, ``'<='``, ``'>'``, ``'>='``, ``'!='``,
``'in'``, ``'not in'``, ``'contains'``, ``'empty'`` (value true/false), e.g. ``{'is_leaf': true,
'owner empty': true}``. A CEL map has no order, so the conditions always run in one fixed order:
sorted by key text (field name, then operator), each item's conditions in that order stopping at the
first that fails. An item whose value does not suit an operator (``contains`` on a number) makes the
selection an error, whatever order the map was written or handed over in, so the native path and the
library see the same outcome. :func:`split_key` reads a key, :func:`condition_holds` is the reference meaning of one
condition, and :func:`selector` gives the generated selection function for a map (made once per shape
of the conditions: selections over thousands of items are most of a gate's work).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lifecycle.expr.words import hint

WHERE_OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains", "empty")


def split_key(key: str) -> tuple[str, str]:
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


def ordered_conditions(where: Mapping[Any, Any]) -> list[tuple[str, str, Any]]:
    """The conditions of a where-map in their fixed order of evaluation: by field name, then operator.

    CEL maps are unordered (the library hands a map to a registered function in a different key order
    on each call), so the written order cannot be the order of evaluation.
    """
    conds = [(*split_key(k), v) for k, v in where.items()]
    conds.sort(key=lambda c: (c[0], c[1]))
    return conds


def get_path(item: Any, path: str) -> Any:
    value = item
    for part in path.split("."):
        value = value[part]
    return value


def has_path(item: Any, path: str) -> bool:
    value = item
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False
        value = value[part]
    return True


def is_empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, (list, tuple, dict)) and not value)


def condition_holds(op: str, actual: Any, expected: Any) -> bool:
    if op == "==":
        return bool(actual == expected)
    if op == "!=":
        return bool(actual != expected)
    if op == "empty":
        return is_empty(actual) == bool(expected)
    if op in ("in", "not in"):
        if not isinstance(expected, (list, tuple)):
            raise LookupError(f"'{op}' needs a list of values")
        return (actual in expected) == (op == "in")
    if op == "contains":
        if actual is None:
            return False
        if isinstance(actual, str) and not isinstance(expected, str):
            raise LookupError("'contains' on a text field needs a text value")
        if not isinstance(actual, (str, list, tuple, dict)):
            raise LookupError(f"'contains' needs a text or list field, not {type(actual).__name__}")
        return expected in actual
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


def selector(where: Any, items: Sequence[Any], coll: str) -> Selector:
    """The function that selects the items matching ``where`` (None: all of them)."""
    if where is None:
        return list
    if not isinstance(where, Mapping):
        raise LookupError("a where condition is a map such as {'status': 'done', 'finish <': today}")
    conds = ordered_conditions(where)
    if items:
        first = items[0]
        if not isinstance(first, Mapping):
            raise LookupError(f"the items of {coll} are not records; a where condition needs records")
        for fname, _, _ in conds:
            if not has_path(first, fname):
                names = sorted(first)
                raise LookupError(f"unknown field '{fname}' in {coll}{hint(fname, names)}")

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
    "_test": condition_holds,
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
    code. Semantics are :func:`condition_holds`'s.
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
    :func:`condition_holds`'s rule for it: such an item does not match."""

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
            elif op == "empty":  # as is_empty: None, '' and empty lists/maps
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


__all__ = [
    "WHERE_OPS",
    "Selector",
    "condition_holds",
    "get_path",
    "has_path",
    "is_empty",
    "ordered_conditions",
    "selector",
    "split_key",
]

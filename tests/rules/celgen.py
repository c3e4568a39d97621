"""A seeded generator of CEL expressions over a facts document, for differential testing.

:func:`expressions` yields random, mostly well-typed rule-like expressions (comparisons, ``&&`` /
``||`` / ``!`` / ``?:``, macros over collections, registered functions with where-maps, arithmetic,
``size``, ``in``, ``has``) built from the names and values a facts document really holds, plus some
deliberately ill-typed ones (a text against a number, a quoted number in a where-map) so the
native path's fallbacks are exercised too. :func:`mutated` makes a copy of a facts document with
values replaced by nulls, other types, non-ASCII text and empty lists. Same seed, same expressions.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator, Mapping
from typing import Any

ODD_VALUES: list[Any] = [None, "", "0", "πέντε", "日本語", 0, 1, -3, 2.5, 0.0, True, False, [], ["x"], {"k": 1}]


def _lit(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return repr(value) if "." in repr(value) or "e" in repr(value) else repr(value) + ".0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_lit(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_lit(str(k))}: {_lit(v)}" for k, v in value.items()) + "}"
    return "null"


class Generator:
    """Expressions over one facts document's names and values."""

    def __init__(self, facts: Mapping[str, Any], seed: int) -> None:
        self.rng = random.Random(seed)
        self.facts = facts
        self.collections = sorted(
            k for k, v in facts.items() if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)
        )
        self.scalars: list[tuple[str, Any]] = []
        for top in ("project", "metrics", "calendar"):
            value = facts.get(top)
            if isinstance(value, dict):
                for k, v in value.items():
                    if not isinstance(v, dict):
                        self.scalars.append((f"{top}.{k}", v))
        for top in ("phase", "today"):
            if top in facts:
                self.scalars.append((top, facts[top]))

    # pieces ----------------------------------------------------------------
    def pick(self, seq: list[Any]) -> Any:
        return seq[self.rng.randrange(len(seq))]

    def literal_like(self, value: Any) -> str:
        """A literal of the same kind as ``value`` most of the time, sometimes an odd one."""
        r = self.rng.random()
        if r < 0.15:
            return _lit(self.pick(ODD_VALUES))
        if isinstance(value, bool):
            return self.pick(["true", "false"])
        if isinstance(value, int):
            return str(value + self.rng.randint(-2, 2))
        if isinstance(value, float):
            return _lit(round(value * self.rng.choice([0.5, 1.0, 1.5]), 2))
        if isinstance(value, str):
            return _lit(value if r < 0.6 else value[: self.rng.randint(0, max(len(value), 1))])
        if isinstance(value, list):
            return _lit(value[:2]) if all(not isinstance(v, (list, dict)) for v in value[:2]) else "[]"
        return _lit(value)

    def item_field(self, coll: str) -> tuple[str, Any]:
        items = self.facts[coll]
        item = self.pick(items)
        name = self.pick(sorted(item))
        return name, item[name]

    def where(self, coll: str) -> str:
        parts = []
        for _ in range(self.rng.choice([1, 1, 2, 3])):
            name, value = self.item_field(coll)
            op = self.pick(["", "", " !=", " <", " >=", " in", " not in", " contains", " empty"])
            if op == " empty":
                val = self.pick(["true", "false"])
            elif op in (" in", " not in"):
                val = "[" + ", ".join(self.literal_like(value) for _ in range(2)) + "]"
            else:
                val = self.literal_like(value)
            parts.append(f"{_lit(name + op)}: {val}")
        return "{" + ", ".join(parts) + "}"

    # expressions -----------------------------------------------------------
    def value(self, depth: int) -> tuple[str, Any]:
        """An expression and a sample value of its kind (for choosing a comparable literal)."""
        r = self.rng.random()
        if r < 0.35 and self.scalars:
            return self.pick(self.scalars)
        coll = self.pick(self.collections)
        if r < 0.55:
            return f"count('{coll}', {self.where(coll)})", 1
        if r < 0.65:
            name, value = self.item_field(coll)
            fn = self.pick(["max_of", "min_of", "sum_of"])
            return f"{fn}('{coll}', '{name}')", (1.0 if fn == "sum_of" else value)
        if r < 0.75:
            return f"size({coll})", 1
        if r < 0.85:
            i = self.rng.randrange(len(self.facts[coll]))
            name, value = self.item_field(coll)
            return f"{coll}[{i}].{name}", value
        if r < 0.92 and depth > 0:
            (a, va), (b, _vb) = self.value(depth - 1), self.value(depth - 1)
            op = self.pick(["+", "-", "*", "/", "%"])
            return f"({a} {op} {b})", va
        text, value = self.pick(self.scalars) if self.scalars else ("1", 1)
        return f"size({text})" if isinstance(value, (str, list)) else text, 1

    def comparison(self, depth: int) -> str:
        text, sample = self.value(depth)
        op = self.pick(["==", "!=", "<", "<=", ">", ">="])
        if self.rng.random() < 0.2:
            other = self.value(depth)[0]
        else:
            other = self.literal_like(sample)
        return f"{text} {op} {other}"

    def macro(self, depth: int) -> str:
        coll = self.pick(self.collections)
        name, value = self.item_field(coll)
        var = self.pick(["x", "t", "it"])
        body = f"{var}.{name} {self.pick(['==', '!=', '<', '>='])} {self.literal_like(value)}"
        if depth > 0 and self.rng.random() < 0.3:
            body = f"({body}) {self.pick(['&&', '||'])} {self.boolean(depth - 1)}"
        kind = self.pick(["all", "exists", "exists_one", "filter", "map"])
        if kind == "filter":
            return f"size({coll}.filter({var}, {body})) {self.pick(['>', '==', '<='])} {self.rng.randint(0, 3)}"
        if kind == "map":
            return f"{_lit(value) if not isinstance(value, (dict,)) else 'null'} in {coll}.map({var}, {var}.{name})"
        return f"{coll}.{kind}({var}, {body})"

    def boolean(self, depth: int) -> str:
        r = self.rng.random()
        if depth <= 0 or r < 0.35:
            return self.comparison(depth)
        if r < 0.55:
            n = self.rng.choice([2, 2, 3, 5])
            op = self.pick([" && ", " || "])
            return "(" + op.join(self.boolean(depth - 1) for _ in range(n)) + ")"
        if r < 0.62:
            return f"!({self.boolean(depth - 1)})"
        if r < 0.70:
            return f"({self.boolean(depth - 1)} ? {self.boolean(depth - 1)} : {self.boolean(depth - 1)})"
        if r < 0.85:
            return self.macro(depth - 1)
        if r < 0.92:
            _text, sample = self.pick(self.scalars) if self.scalars else ("phase", "")
            return f"{self.literal_like(sample)} in [{self.literal_like(sample)}, {_lit(sample)}]"
        coll = self.pick(self.collections)
        return f"size(ids('{coll}', {self.where(coll)})) >= 0 && has({coll}[0].{self.item_field(coll)[0]})"


def expressions(facts: Mapping[str, Any], seed: int, n: int) -> Iterator[str]:
    """``n`` seeded expressions over ``facts`` (booleans mostly, some bare values)."""
    gen = Generator(facts, seed)
    for _ in range(n):
        yield gen.boolean(3) if gen.rng.random() < 0.85 else gen.value(2)[0]


def mutated(facts: Mapping[str, Any], seed: int, share: float = 0.08) -> dict[str, Any]:
    """A deep copy of ``facts`` with about ``share`` of the values in records replaced by odd ones."""
    rng = random.Random(seed)
    out: dict[str, Any] = copy.deepcopy(dict(facts))

    def visit(record: dict[str, Any]) -> None:
        for k in list(record):
            if k == "id":
                continue
            if rng.random() < share:
                record[k] = rng.choice(ODD_VALUES)
            elif isinstance(record[k], dict):
                visit(record[k])

    for key, value in out.items():
        if isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    visit(item)
        elif isinstance(value, dict) and key in ("project", "metrics"):
            visit(value)
    return out


__all__ = ["ODD_VALUES", "Generator", "expressions", "mutated"]

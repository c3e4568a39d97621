"""The facts JSON Schema as types and exemplar values, for the load-time checks of expressions.

:class:`SchemaTypes` turns schema nodes into :class:`CType` (what the static walk infers for a member
access) and into exemplar values: a facts document with every field present and every list holding
one element, against which every expression is evaluated at load time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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


__all__ = ["CType", "SchemaTypes"]

"""Introspection of the model's dataclasses, shared by the loader, storage, facts and schemas.

One place turns a dataclass field's type hint into a small description (:class:`FieldInfo`): its kind
(``str``, ``int``, ``float``, ``bool``, ``date``, ``money``, ``enum``, ``object``, ``list``), whether
it may be null, its choices, bounds and references. Everything generic (project-file validation,
table mapping, JSON Schema, gate facts) reads this instead of re-parsing type hints.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class FieldInfo:
    name: str
    kind: str  # str int float bool date datetime money enum object list dict
    optional: bool
    required: bool
    default: Any = field(hash=False)  # a map field's default ({}) cannot be hashed; the name and kind tell fields apart
    choices: tuple[str, ...] = ()
    item: FieldInfo | None = None  # for lists
    cls: type | None = None  # for objects
    minimum: float | None = None
    maximum: float | None = None
    ref: tuple[str, ...] = ()
    doc: str = ""
    filled: bool = False  # filled by the loader (stored, in the facts), never written in a project file


def _describe(name: str, hint: Any, meta: Any, default: Any, required: bool) -> FieldInfo:
    optional = False
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) != len(typing.get_args(hint))
        hint = args[0]
        origin = typing.get_origin(hint)
    ref = meta.get("ref") if meta else None
    refs: tuple[str, ...] = (ref,) if isinstance(ref, str) else tuple(ref or ())
    common: dict[str, Any] = {
        "name": name,
        "optional": optional,
        "required": required,
        "default": default,
        "minimum": meta.get("min") if meta else None,
        "maximum": meta.get("max") if meta else None,
        "ref": refs,
        "doc": (meta.get("doc") or "") if meta else "",
        "filled": bool(meta.get("filled")) if meta else False,
    }
    if origin is Literal:
        return FieldInfo(kind="enum", choices=tuple(typing.get_args(hint)), **common)
    if origin is tuple:
        item_hint = typing.get_args(hint)[0]
        item = _describe(name, item_hint, {}, dataclasses.MISSING, True)
        return FieldInfo(kind="list", item=item, **common)
    if origin is dict or hint is dict:
        return FieldInfo(kind="dict", **common)
    if dataclasses.is_dataclass(hint):
        return FieldInfo(kind="object", cls=hint, **common)  # type: ignore[arg-type]
    kinds = {str: "str", int: "int", float: "float", bool: "bool", date: "date", datetime: "datetime", Decimal: "money"}
    if hint in kinds:
        return FieldInfo(kind=kinds[hint], **common)
    raise TypeError(f"unsupported field type {hint!r} for {name}")


_CACHE: dict[type, tuple[FieldInfo, ...]] = {}


def fields_of(cls: type) -> tuple[FieldInfo, ...]:
    """Describe every field of a model dataclass, in declaration order (cached per class)."""
    cached = _CACHE.get(cls)
    if cached is not None:
        return cached
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        default = f.default if f.default is not dataclasses.MISSING else dataclasses.MISSING
        if f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        out.append(_describe(f.name, hints[f.name], f.metadata, default, not has_default))
    _CACHE[cls] = tuple(out)
    return _CACHE[cls]


def to_plain(value: Any, *, money: Any = Decimal, drop_defaults: bool = False) -> Any:
    """A dataclass tree as plain dicts/lists; dates stay dates, money becomes ``money(value)``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for info in fields_of(type(value)):
            v = getattr(value, info.name)
            if drop_defaults and not info.required and info.default is not dataclasses.MISSING and v == info.default:
                continue
            out[info.name] = to_plain(v, money=money, drop_defaults=drop_defaults)
        return out
    if isinstance(value, tuple | list):
        return [to_plain(v, money=money, drop_defaults=drop_defaults) for v in value]
    if isinstance(value, dict):  # e.g. the changed fields of an audit event, which may hold dataclasses
        return {k: to_plain(v, money=money, drop_defaults=drop_defaults) for k, v in value.items()}
    if isinstance(value, Decimal):
        if money is Decimal:
            return value
        return money(value)
    return value


class SchemaWriter:
    """JSON Schema of model classes (``$defs``) and their fields, for the two published schemas.

    Project files and facts documents describe the same model and differ in three ways, chosen by
    ``facts``: facts mark money fields (``x-money``), repeat an optional field's description on its
    null-able wrapper, and list every field as required (a facts document always has them all); a
    project file requires only the fields the model requires. ``extra`` adds properties to one
    class's schema (the computed fields of a facts section).
    """

    def __init__(self, *, facts: bool) -> None:
        self.facts = facts
        self.defs: dict[str, Any] = {}

    def field(self, info: FieldInfo) -> dict[str, Any]:
        kind = info.kind
        s: dict[str, Any]
        if kind in _PLAIN_SCHEMAS:
            s = dict(_PLAIN_SCHEMAS[kind])
            if kind == "money" and self.facts:
                s["x-money"] = True
        elif kind == "enum":
            s = {"enum": list(info.choices)}
        elif kind == "object":
            assert info.cls is not None
            s = {"$ref": f"#/$defs/{self.object(info.cls)}"}
        elif kind == "list":
            assert info.item is not None
            s = {"type": "array", "items": self.field(info.item)}
        else:
            s = {"type": "object"}
        if info.minimum is not None and kind in ("int", "float", "money"):
            s["minimum"] = info.minimum
        if info.maximum is not None and kind in ("int", "float", "money"):
            s["maximum"] = info.maximum
        if info.doc:
            s["description"] = info.doc
        if info.ref:
            s["x-references"] = list(info.ref)
        if info.optional:
            s = {"anyOf": [s, {"type": "null"}]}
            if info.doc and self.facts:
                s["description"] = info.doc
        return s

    def object(self, cls: type, extra: dict[str, Any] | None = None) -> str:
        """The name of ``cls``'s schema in :attr:`defs` (written on first use)."""
        name = cls.__name__
        if name in self.defs:
            return name
        self.defs[name] = {}  # a placeholder: a class may refer to itself
        infos = tuple(i for i in fields_of(cls) if self.facts or not i.filled)
        props = {info.name: self.field(info) for info in infos}
        props.update(extra or {})
        schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": props}
        required = list(props) if self.facts else [i.name for i in infos if i.required]
        if self.facts:
            schema["required"] = required
        doc = cls.__doc__ or ""
        if doc and not doc.startswith(name + "("):
            schema["description"] = " ".join(doc.split())
        if required and not self.facts:
            schema["required"] = required
        self.defs[name] = schema
        return name


_PLAIN_SCHEMAS: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "bool": {"type": "boolean"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "money": {"type": "number"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
}

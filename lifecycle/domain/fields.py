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
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class FieldInfo:
    name: str
    kind: str  # str int float bool date datetime money enum object list dict
    optional: bool
    required: bool
    default: Any
    choices: tuple[str, ...] = ()
    item: FieldInfo | None = None  # for lists
    cls: type | None = None  # for objects
    minimum: float | None = None
    maximum: float | None = None
    ref: tuple[str, ...] = ()
    doc: str = ""


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
    kinds = {str: "str", int: "int", float: "float", bool: "bool", date: "date", datetime: "datetime",
             Decimal: "money"}
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


def key_of(item: Any) -> str:
    """The id of an entity (links and assignments compute theirs)."""
    return str(item.id)


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
    if isinstance(value, Decimal):
        if money is Decimal:
            return value
        return money(value)
    return value

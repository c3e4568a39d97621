"""Build frozen model objects from plain file data, collecting every problem instead of stopping.

:func:`build` walks a dataclass's field descriptions (:mod:`lifecycle.domain.fields`) and the data
side by side: unknown keys (with a "did you mean"), missing required fields, wrong types, values
outside their bounds or choices. Each problem carries the file, line and YAML path; nothing raises
until the caller has gathered them all.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from lifecycle.domain.fields import FieldInfo, fields_of
from lifecycle.domain.limits import date_problem, number_problem, text_problem
from lifecycle.errors import Problem
from lifecycle.load.source import Source, YPath

_INVALID = object()
_WRITABLE: dict[type, tuple[tuple[FieldInfo, ...], frozenset[str]]] = {}


def _writable(cls: type) -> tuple[tuple[FieldInfo, ...], frozenset[str]]:
    """The fields a file may write, and the names of those the engine fills (cached per class)."""
    got = _WRITABLE.get(cls)
    if got is None:
        infos = fields_of(cls)
        got = _WRITABLE[cls] = (tuple(i for i in infos if not i.filled), frozenset(i.name for i in infos if i.filled))
    return got


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text '{value[:40]}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, date):
        return f"the date {value}"
    return type(value).__name__


class Builder:
    def __init__(self, source: Source):
        self.source = source
        self.problems: list[Problem] = []

    def error(self, path: YPath, message: str) -> None:
        self.problems.append(self.source.problem(path, message))

    def build(self, cls: type, data: Any, path: YPath) -> Any:
        """An instance of ``cls`` or ``_INVALID`` (problems recorded)."""
        if not isinstance(data, dict):
            self.error(path, f"expected a mapping, got {_type_name(data)}")
            return _INVALID
        infos, filled = _writable(cls)
        names = {i.name for i in infos}
        ok = True
        for key in data:
            if key in filled:
                self.error(path + (key,), f"'{key}' is filled by the engine (from the calendar's country), not written")
                ok = False
            elif key not in names:
                close = difflib.get_close_matches(str(key), sorted(names), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.error(path + (key,), f"unknown field '{key}'{hint}")
                ok = False
        kwargs: dict[str, Any] = {}
        for info in infos:
            if info.name not in data:
                if info.required:
                    self.error(path, f"missing required field '{info.name}'")
                    ok = False
                continue
            value = self.value(info, data[info.name], path + (info.name,))
            if value is _INVALID:
                ok = False
            else:
                kwargs[info.name] = value
        if not ok:
            return _INVALID
        return cls(**kwargs)

    def value(self, info: FieldInfo, raw: Any, path: YPath) -> Any:
        """``raw`` read as the field's kind, or ``_INVALID`` (the problem recorded)."""
        if raw is None:
            return self._none(info, path)
        kind = info.kind
        if kind == "str":  # the commonest kinds are read inline: this runs for every field of every item
            if isinstance(raw, bool) or not isinstance(raw, (str, int)):
                hint = " (put it in quotes, e.g. '1.10')" if isinstance(raw, float) else ""
                self.error(path, f"expected text, got {_type_name(raw)}{hint}")
                return _INVALID
            text = str(raw)
            return self._checked(path, text, text_problem(info, text))
        if kind == "enum":
            if raw not in info.choices:
                return self._bad_choice(info, raw, path)
            return raw
        return _READERS[kind](self, info, raw, path)

    def _checked(self, path: YPath, value: Any, problem: str | None) -> Any:
        """``value``, or ``_INVALID`` when a limit (lifecycle.domain.limits) refused it."""
        if problem is None:
            return value
        self.error(path, problem)
        return _INVALID

    def _none(self, info: FieldInfo, path: YPath) -> Any:
        if info.optional:
            return None
        if info.kind == "list":
            return ()
        if info.kind == "str":
            return ""
        self.error(path, "a value is required here")
        return _INVALID

    def _bad_choice(self, info: FieldInfo, raw: Any, path: YPath) -> Any:
        close = difflib.get_close_matches(str(raw), [str(c) for c in info.choices], n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        choices = ", ".join(str(c) if c != "" else "'' (none)" for c in info.choices)
        self.error(path, f"'{raw}' is not one of: {choices}{hint}")
        return _INVALID

    def _bool(self, info: FieldInfo, raw: Any, path: YPath) -> Any:
        if not isinstance(raw, bool):
            self.error(path, f"expected true or false, got {_type_name(raw)}")
            return _INVALID
        return raw

    def _number(self, info: FieldInfo, raw: Any, path: YPath) -> Any:
        kind = info.kind
        value: Any
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            self.error(path, f"expected a number, got {_type_name(raw)}")
            return _INVALID
        try:
            if kind == "int":
                if isinstance(raw, float) and not raw.is_integer():
                    raise ValueError
                value = int(raw)
            elif kind == "float":
                value = float(raw)
            else:
                value = Decimal(str(raw).replace(",", "").strip())
                if not value.is_finite():
                    raise ValueError
        except (ValueError, InvalidOperation):
            what = "a whole number" if kind == "int" else "a number"
            self.error(path, f"expected {what}, got {_type_name(raw)}")
            return _INVALID
        return self._checked(path, value, number_problem(info, value))

    def _date(self, info: FieldInfo, raw: Any, path: YPath) -> Any:
        if isinstance(raw, datetime):
            return self._checked(path, raw.date(), date_problem(raw))
        if isinstance(raw, date):
            return self._checked(path, raw, date_problem(raw))
        if isinstance(raw, str):
            try:
                day = date.fromisoformat(raw.strip())
            except ValueError:
                pass
            else:
                return self._checked(path, day, date_problem(day))
        self.error(path, f"expected a date like 2026-03-31, got {_type_name(raw)}")
        return _INVALID

    def _datetime(self, info: FieldInfo, raw: Any, path: YPath) -> Any:
        if isinstance(raw, datetime):
            return self._checked(path, raw, date_problem(raw))
        try:
            moment = datetime.fromisoformat(str(raw))
        except ValueError:
            self.error(path, f"expected a date and time, got {_type_name(raw)}")
            return _INVALID
        return self._checked(path, moment, date_problem(moment))

    def _object(self, info: FieldInfo, raw: Any, path: YPath) -> Any:
        assert info.cls is not None
        return self.build(info.cls, raw, path)

    def _list(self, info: FieldInfo, raw: Any, path: YPath) -> Any:
        if not isinstance(raw, list):
            self.error(path, f"expected a list, got {_type_name(raw)}")
            return _INVALID
        assert info.item is not None
        items = [self.value(info.item, v, path + (i,)) for i, v in enumerate(raw)]
        if any(v is _INVALID for v in items):
            return _INVALID
        return tuple(items)

    def _dict(self, info: FieldInfo, raw: Any, path: YPath) -> Any:
        if not isinstance(raw, dict):
            self.error(path, f"expected a mapping, got {_type_name(raw)}")
            return _INVALID
        return _json_ready(raw)


def _json_ready(value: Any) -> Any:
    """A free-form map's values as JSON holds them (dates as ISO text), for storage and the facts."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


# how each kind of field other than text and choices is read (Builder.value dispatches on FieldInfo.kind)
_READERS: dict[str, Callable[[Builder, FieldInfo, Any, YPath], Any]] = {
    "bool": Builder._bool,
    "int": Builder._number,
    "float": Builder._number,
    "money": Builder._number,
    "date": Builder._date,
    "datetime": Builder._datetime,
    "object": Builder._object,
    "list": Builder._list,
    "dict": Builder._dict,
}


def is_invalid(value: Any) -> bool:
    return value is _INVALID

"""The registered functions rules may call, bound to one facts document.

They do what CEL's ``map``/``filter`` would do quadratically in this library version: counts, sums,
selections of ids, and date arithmetic including working days on the project calendar. A collection
argument is either the *name* of a facts collection (``'tasks'``: read from the Python-side facts, no
conversion, fast) or a CEL list (``d.acceptance_criteria``: converted per call, fine for short lists).
A ``where`` argument is a map of conditions (:mod:`lifecycle.expr.where`). Union several selections
with ``+`` (evidence lists are de-duplicated). The library calls them through its context; native
code (:mod:`lifecycle.expr.native`) calls the same methods directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from lifecycle.domain.facts import add_working_days, is_working_day, working_days
from lifecycle.domain.model import Calendar
from lifecycle.expr.budget import Meter
from lifecycle.expr.syntax import SIZE_FUNCTION
from lifecycle.expr.where import get_path, has_path, selector
from lifecycle.expr.words import hint

_T = TypeVar("_T")

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
    "(weekdays, the country's statutory days, holidays, extra workdays); 0 if to is before from",
    "add_working_days": "add_working_days(date, n) -> date text n working days later (earlier if n < 0)",
    "is_working_day": "is_working_day(date) -> bool on the project calendar",
    "weighted_score": "weighted_score(card) -> double: the weight-averaged score of a scorecard custom field "
    "(a list of {criterion, weight, score}); 0.0 if it is empty",
}
# name -> (min args, max args)
ARITY: dict[str, tuple[int, int]] = {
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
    "weighted_score": (1, 1),
}


def size_in_code_points(value: Any) -> int:
    """CEL's ``size()``: code points of a string, bytes of bytes, entries of a list or map."""
    if isinstance(value, (str, bytes, bytearray, list, tuple, dict)):
        return len(value)
    raise TypeError(f"size() needs a text, bytes, list or map, not {type(value).__name__}")


class Functions:
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
                statutory_holidays=tuple(self._date(d, "calendar") for d in cal.get("statutory_holidays", ())),
                statutory_workdays=tuple(self._date(d, "calendar") for d in cal.get("statutory_workdays", ())),
            )
        except (ValueError, TypeError):
            self.calendar = Calendar()
        today = facts.get("today")
        self.today = self._date(today, "today") if today else date.today()
        self.seen: dict[str, Any] = {}  # id -> item named by ids()/unreferenced() (labelled on demand)
        self._memo: dict[tuple[Any, ...], Any] = {}  # see _remembered
        self.meter = Meter()  # the budget of the evaluation under way (native macros charge it)

    def table(self) -> dict[str, Callable[..., Any]]:
        table = {name: getattr(self, "f_" + name) for name in FUNCTION_DOCS}
        table[SIZE_FUNCTION] = size_in_code_points
        return table

    # helpers ----------------------------------------------------------------
    def _items(self, coll: Any, fname: str) -> tuple[list[Any], str]:
        if isinstance(coll, str):
            value: Any = self.facts
            try:
                for part in coll.split("."):
                    value = value[part]
            except (KeyError, TypeError):
                names = [k for k, v in self.facts.items() if isinstance(v, list)]
                raise LookupError(f"unknown collection '{coll}'{hint(coll, names)}") from None
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
            return selector(where, items, name)(items), name

        return self._remembered(("select", coll), where, select) if isinstance(coll, str) else select()

    def _field_values(self, coll: Any, fieldname: Any, where: Any, fname: str) -> list[Any]:
        items, name = self._select(coll, where, fname)
        if items and isinstance(items[0], Mapping) and not has_path(items[0], str(fieldname)):
            raise LookupError(f"unknown field '{fieldname}' in {name}{hint(str(fieldname), items[0])}")
        return [v for v in (get_path(i, str(fieldname)) for i in items) if v is not None]

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
        if sources and isinstance(sources[0], Mapping) and not has_path(sources[0], str(fieldname)):
            raise LookupError(f"unknown field '{fieldname}' in {sname}{hint(str(fieldname), sources[0])}")
        named: set[Any] = set()
        parts = str(fieldname).split(".")
        values = [s[parts[0]] for s in sources] if len(parts) == 1 else [get_path(s, str(fieldname)) for s in sources]
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

    def f_weighted_score(self, card: Any) -> float:
        if not isinstance(card, (list, tuple)):
            raise TypeError("weighted_score needs a scorecard: a list of {criterion, weight, score}")
        total = weight = 0.0
        for row in card:
            if not isinstance(row, Mapping):
                raise TypeError("a scorecard row is a map {criterion, weight, score}")
            w, s = float(row.get("weight") or 0.0), float(row.get("score") or 0.0)
            total += w * s
            weight += w
        return total / weight if weight else 0.0


_Functions = Functions  # the name the native tests know

__all__ = ["ARITY", "FUNCTION_DOCS", "Functions"]

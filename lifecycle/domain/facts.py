"""The gate facts document: the one JSON-shaped view of a project that gate rules see.

``build_facts(project, today)`` turns the frozen model into plain data that CEL can read fast and
that hashes stably:

* ``project``: the charter's fields; ``phase`` and ``phase_before_hold``; ``today``; ``calendar``;
  every collection of :data:`~lifecycle.domain.model.SECTIONS` as a list of plain mappings; and
  ``metrics`` from :func:`~lifecycle.domain.metrics.project_metrics`.
* **Dates are ISO text** (``'2026-03-31'``) or ``null``. ISO dates order the same as text, so a rule
  writes ``t.finish < today``; the date functions registered for CEL (``days_since``,
  ``working_days`` …) take the same text. Text keeps the facts JSON-native (the facts hash is over
  exactly what rules saw) and avoids CEL timestamp/duration arithmetic in rules.
* **Every number that is a float or money in the model is a double** (CEL does not mix int and
  double in arithmetic); whole-number fields (``probability``, ``defects_open`` …) stay ints.
* **Computed convenience fields** (:data:`COMPUTED`) are added per item where rules need a
  cross-collection fact: a task's ``is_leaf`` and ``children``, a risk's ``score``, a deliverable's
  producing tasks and acceptance, a person's peak allocation. They are documented in the schema.
* ``extra`` is merged on top; :data:`EXTRA_FACTS` declares the extras the services pass (the gate's
  approval votes) so rules can use them and the schema lists them.

``facts_schema()`` is the published JSON Schema of this document, generated from the model's field
descriptions, :data:`COMPUTED`, :data:`~lifecycle.domain.metrics.METRICS` and :data:`EXTRA_FACTS`.
The rule-pack loader also builds its exemplar document from it, so the schema and the checks that
reject a misspelled field cannot drift apart. ``facts_hash()`` is the sha256 of the canonical JSON
(``json.dumps`` with sorted keys; written by orjson when a caller enabled it with ``use_orjson()`` and
it gives the same bytes).

Entities are converted by a function generated once per model class (the conversions of ``_plain``),
and working days are counted on day ordinals per calendar: facts are built for every gate check and
every project of a portfolio sweep.

Pure: standard library and the model only.
"""

from __future__ import annotations

import bisect
import copy
import functools
import hashlib
import json
import math
import operator
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from lifecycle.domain.acceptance import latest_results, tally
from lifecycle.domain.bulk import gc_paused
from lifecycle.domain.fields import FieldInfo, SchemaWriter, fields_of
from lifecycle.domain.metrics import METRICS, ScheduleOf, project_metrics
from lifecycle.domain.model import SECTIONS, Calendar, Charter, Organisation, Project

FACTS_SCHEMA_VERSION = 1

# section -> {field: (JSON type, description)}; JSON types: integer, number, boolean, string, date,
# string_list. These are added to every item of the section.
COMPUTED: dict[str, dict[str, tuple[str, str]]] = {
    "tasks": {
        "is_leaf": ("boolean", "True when no other task has this one as parent (a work task, not a summary)"),
        "children": ("string_list", "Ids of the direct sub-tasks"),
        "assignees": ("string_list", "Ids of the people assigned to this task"),
        "has_dates": ("boolean", "Both start and finish are set"),
        "is_overdue": ("boolean", "Finish date before today and status neither done nor cancelled"),
    },
    "risks": {
        "score": ("integer", "probability x impact (1-25)"),
    },
    "deliverables": {
        "task_ids": ("string_list", "Ids of the tasks that produce this deliverable"),
        "accepted": ("boolean", "An acceptance record with verdict accepted or accepted_with_conditions exists"),
        "accepted_with_evidence": ("boolean", "Such an acceptance record exists and names its evidence"),
        "quality_checks": ("integer", "Number of quality checks recorded for this deliverable"),
        "quality_checks_failed": (
            "integer",
            "Standards whose latest check of this deliverable failed (latest by date)",
        ),
        "criteria_total": ("integer", "Number of acceptance criteria of this deliverable"),
        "criteria_passed": ("integer", "Criteria whose latest result is pass"),
        "criteria_failed": ("integer", "Criteria whose latest result is fail"),
        "criteria_conditional": ("integer", "Criteria whose latest result is conditional (accepted with conditions)"),
        "criteria_open": ("integer", "Criteria without any result yet (not yet verified)"),
        "criteria_failed_ids": ("string_list", "Ids of the criteria whose latest result is fail"),
        "criteria_open_ids": ("string_list", "Ids of the criteria not yet verified"),
    },
    "criterion_results": {
        "latest": (
            "boolean",
            "This is the result that counts for its criterion (latest date, then latest recorded); "
            "the others are its history",
        ),
    },
    "people": {
        "assigned_tasks": ("string_list", "Ids of the tasks this person is assigned to"),
        "assigned_hours": ("number", "Planned hours over all assignments"),
        "peak_units": (
            "number",
            "Highest sum of assignment units on any one day (1.0 = full time; tasks without dates are not counted)",
        ),
    },
    "milestones": {
        "is_overdue": ("boolean", "Planned, and its date is before today"),
    },
    "issues": {
        "is_open": ("boolean", "Status open or in_progress"),
    },
}

# Extra facts the services merge in: name -> (JSON Schema, default value).
EXTRA_FACTS: dict[str, tuple[dict[str, Any], Any]] = {
    "approvals": (
        {
            "type": "array",
            "description": "Approval votes recorded for the gate being evaluated",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "role": {"type": "string", "description": "Role the vote was given as"},
                    "by": {"type": "string", "description": "Who voted"},
                    "decision": {"enum": ["approve", "reject"]},
                    "comment": {"type": "string"},
                    "at": {"type": "string", "format": "date-time"},
                    "project_version": {"type": "integer", "description": "Project version the vote saw"},
                },
            },
        },
        [],
    ),
    "phase_history": (
        {
            "type": "array",
            "description": "The phases the project has been in, oldest first (lifecycle.domain.history)",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "phase": {"type": "string", "description": "Phase id"},
                    "entered": {
                        "anyOf": [{"type": "string", "format": "date"}, {"type": "null"}],
                        "description": "Day the phase was entered (null for the first phase)",
                    },
                    "left": {
                        "anyOf": [{"type": "string", "format": "date"}, {"type": "null"}],
                        "description": "Day the phase was left (null: the current phase)",
                    },
                    "transition": {"type": "string", "description": "The move that entered it"},
                    "decision": {"type": "string", "description": "That gate's decision (go, conditional_go)"},
                    "review": {"type": "string", "description": "That gate review's id"},
                },
            },
        },
        [],
    ),
    "phase_entered": (
        {
            "anyOf": [{"type": "string", "format": "date"}, {"type": "null"}],
            "description": "Day the current phase was entered (null if it is the first phase)",
        },
        None,
    ),
}

_METRIC_TYPES: dict[str, dict[str, Any]] = {
    "int": {"type": "integer"},
    "double": {"type": "number"},
    "string": {"type": "string"},
    "bool": {"type": "boolean"},
    "date": {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]},
    "list": {"type": "array"},  # items from a sample (see _metric_samples)
}


# --------------------------------------------------------------------------- working days
@functools.lru_cache(maxsize=128)
def _exceptions(calendar: Calendar) -> tuple[frozenset[date], frozenset[date]]:
    """The calendar's effective holidays and extra workdays (statutory days with explicit overrides)."""
    return frozenset(calendar.effective_holidays()), frozenset(calendar.effective_workdays())


def is_working_day(calendar: Calendar, day: date) -> bool:
    """A day is worked if it is an extra workday, or a working weekday that is not a holiday."""
    holidays, extra = _exceptions(calendar)
    if day in extra:
        return True
    return day.isoweekday() in calendar.working_weekdays and day not in holidays


def working_days(calendar: Calendar, start: date, finish: date) -> int:
    """Working days from ``start`` to ``finish``, both included; 0 when ``finish`` is before ``start``.

    Whole weeks are counted arithmetically, then holidays and extra workdays inside the range are
    corrected, so a span of years costs the same as a span of days.
    """
    if type(start) is date and type(finish) is date:
        count = _working_days_counter(calendar)
        if count is not None:
            return count(start, finish)
    return _working_days_by_dates(calendar, start, finish)


def _working_days_by_dates(calendar: Calendar, start: date, finish: date) -> int:
    """:func:`working_days` on date objects: the reference the ordinal counter must agree with."""
    if finish < start:
        return 0
    total_days = (finish - start).days + 1
    weekdays = set(calendar.working_weekdays)
    weeks, rest = divmod(total_days, 7)
    count = weeks * len(weekdays)
    for i in range(rest):
        if (start + timedelta(days=weeks * 7 + i)).isoweekday() in weekdays:
            count += 1
    holidays, extra = _exceptions(calendar)
    for h in holidays - extra:
        if start <= h <= finish and h.isoweekday() in weekdays:
            count -= 1
    for e in extra:
        if start <= e <= finish and e.isoweekday() not in weekdays:
            count += 1
    return count


@functools.lru_cache(maxsize=128)
def _working_days_counter(calendar: Calendar) -> Callable[[date, date], int] | None:
    """:func:`working_days` for one calendar on day ordinals: a table for the days after the whole
    weeks and two binary searches for the exceptions. None when the calendar holds other than plain
    dates (the date-based count then applies unchanged)."""
    holidays, extra_days = _exceptions(calendar)
    if any(type(d) is not date for d in (*holidays, *extra_days)):
        return None
    weekdays = set(calendar.working_weekdays)
    per_week = len(weekdays)
    hol = sorted(h.toordinal() for h in holidays - extra_days if h.isoweekday() in weekdays)
    ext = sorted(e.toordinal() for e in extra_days if e.isoweekday() not in weekdays)
    # partial[iso][r]: working weekdays among the r days from a day of ISO weekday iso
    partial = [[0] * 7 for _ in range(8)]
    for iso in range(1, 8):
        for r in range(1, 7):
            partial[iso][r] = partial[iso][r - 1] + (1 if ((iso - 1 + r - 1) % 7) + 1 in weekdays else 0)
    left, right = bisect.bisect_left, bisect.bisect_right

    def count(start: date, finish: date) -> int:
        s, f = start.toordinal(), finish.toordinal()
        if f < s:
            return 0
        weeks, rest = divmod(f - s + 1, 7)
        n = weeks * per_week + partial[start.isoweekday()][rest]
        if hol:
            n -= right(hol, f) - left(hol, s)
        if ext:
            n += right(ext, f) - left(ext, s)
        return n

    return count


def add_working_days(calendar: Calendar, start: date, n: int) -> date:
    """The date ``n`` working days after ``start`` (before it when ``n`` is negative; 0 gives ``start``)."""
    if not calendar.working_weekdays and not _exceptions(calendar)[1]:
        raise ValueError("the calendar has no working days")
    step = 1 if n >= 0 else -1
    day, left = start, abs(n)
    guard = 0
    while left:
        day += timedelta(days=step)
        guard += 1
        if guard > 366 * 50:
            raise ValueError("no working day found within 50 years")
        if is_working_day(calendar, day):
            left -= 1
    return day


# --------------------------------------------------------------------------- plain values
def _plain(info: FieldInfo, value: Any) -> Any:
    """One field value as facts data: the reference rules that the generated converters follow."""
    if value is None:
        return None
    kind = info.kind
    if kind in ("float", "money"):
        return float(value)
    if kind == "int":
        return int(value)
    if kind in ("date", "datetime"):
        return value.isoformat()
    if kind == "object":
        return _plain_obj(value)
    if kind == "list":
        assert info.item is not None
        return [_plain(info.item, v) for v in value]
    if kind == "dict":
        return dict(value)
    return value


# ISO text of the dates met so far. ``date.isoformat`` costs more than a dict lookup, and a project's
# dates repeat (tasks share starts, finishes and the status dates), as do the dates of a portfolio.
_ISO: dict[date, str] = {}
_ISO_MAX = 1 << 16
_iso_get = _ISO.get


def _iso(value: Any) -> str:
    """``value.isoformat()``, remembered for plain dates (a datetime is never equal to a date)."""
    text: str = value.isoformat()
    if type(value) is date:
        if len(_ISO) >= _ISO_MAX:
            _ISO.clear()
        _ISO[value] = text
    return text


def _convert_expr(info: FieldInfo, var: str, depth: int = 0) -> str:
    """Python source converting ``var`` (known not to be None) exactly as :func:`_plain` does."""
    kind = info.kind
    if kind in ("float", "money"):
        return f"_float({var})"
    if kind == "int":
        return f"_int({var})"
    if kind in ("date", "datetime"):
        return f"(_iso_get({var}) or _iso({var}))"
    if kind == "object":
        return f"_plain_obj({var})"
    if kind == "dict":
        return f"_dict({var})"
    if kind == "list":
        assert info.item is not None
        if info.item.kind in ("float", "money", "int", "date", "datetime", "object", "list", "dict"):
            x = f"_x{depth}"
            return f"[None if {x} is None else {_convert_expr(info.item, x, depth + 1)} for {x} in {var}]"
        return f"_list({var})"  # items kept as they are
    return var


_CONVERTERS: dict[type, Callable[[Any], dict[str, Any]]] = {}


def _make_converter(cls: type) -> Callable[[Any], dict[str, Any]]:
    """Compile a function turning an instance of ``cls`` into its plain mapping, in field order.

    Building facts converts every entity of a project; a function generated per class reads all
    fields with one ``attrgetter`` call and converts each inline, which is several times faster than
    a generic per-field dispatch. The conversions are those of :func:`_plain` (a test compares them).
    """
    infos = fields_of(cls)
    if not infos:
        return lambda obj: {}
    names = [i.name for i in infos]
    items = []
    for k, info in enumerate(infos):
        v = f"v{k}"
        expr = _convert_expr(info, v)
        items.append(f"{info.name!r}: {v}" if expr == v else f"{info.name!r}: None if {v} is None else {expr}")
    unpack = ", ".join(f"v{k}" for k in range(len(infos))) + ","
    src = (
        f"def convert(obj):\n    {unpack} = _get(obj){',' if len(infos) == 1 else ''}\n"
        f"    return {{{', '.join(items)}}}\n"
    )
    namespace: dict[str, Any] = {
        "_get": operator.attrgetter(*names),
        "_float": float,
        "_int": int,
        "_dict": dict,
        "_list": list,
        "_iso_get": _iso_get,
        "_iso": _iso,
        "_plain_obj": _plain_obj,
    }
    exec(compile(src, f"<facts converter for {cls.__qualname__}>", "exec"), namespace)
    convert: Callable[[Any], dict[str, Any]] = namespace["convert"]
    return convert


def _converter(cls: type) -> Callable[[Any], dict[str, Any]]:
    conv = _CONVERTERS.get(cls)
    if conv is None:
        conv = _CONVERTERS[cls] = _make_converter(cls)
    return conv


def _plain_obj(obj: Any) -> dict[str, Any]:
    """A model object as a plain mapping of its fields (dates as text, money and floats as doubles)."""
    conv = _CONVERTERS.get(type(obj))
    if conv is None:
        conv = _converter(type(obj))
    return conv(obj)


def _plain_items(items: tuple[Any, ...], cls: type) -> tuple[list[dict[str, Any]], bool]:
    """The plain mappings of a collection, and whether every item was exactly of class ``cls``."""
    if not items:
        return [], True
    if set(map(type, items)) == {cls}:
        return list(map(_converter(cls), items)), True
    return [_plain_obj(x) for x in items], False


_ONE_DAY = timedelta(days=1)


def _peak_units(spans: list[tuple[date, date, float]]) -> float:
    """The highest sum of units over any day, by a sweep over start/end events."""
    events: list[tuple[date, float]] = []
    for start, finish, units in spans:
        events.append((start, units))
        events.append((finish + _ONE_DAY, -units))
    events.sort()  # by day, then ends (negative) before starts on the same day
    peak = current = 0.0
    for _, delta in events:
        current += delta
        if current > peak:
            peak = current
    return round(peak, 4)


def build_facts(
    project: Project,
    today: date,
    extra: Mapping[str, Any] | None = None,
    *,
    wanted: Iterable[str] = (),
    schedule_of: ScheduleOf | None = None,
) -> dict[str, Any]:
    """The facts document of ``project`` as of ``today`` (see the module docstring); ``wanted`` names the
    on-demand metrics to add (:data:`~lifecycle.domain.metrics.ON_DEMAND`, those the rules use);
    ``schedule_of`` gives the project's schedule when the caller keeps schedules (see
    :func:`~lifecycle.domain.metrics.project_metrics`)."""
    with gc_paused():  # a dict per entity, none in a cycle
        return _build_facts(project, today, extra, wanted, schedule_of)


def _build_facts(
    project: Project,
    today: date,
    extra: Mapping[str, Any] | None,
    wanted: Iterable[str] = (),
    schedule_of: ScheduleOf | None = None,
) -> dict[str, Any]:
    iso_today = today.isoformat()
    facts: dict[str, Any] = {
        "project": _plain_obj(project.charter),
        "phase": project.phase,
        "phase_before_hold": project.phase_before_hold,
        "today": iso_today,
        "calendar": _plain_obj(project.calendar),
    }
    uniform = True  # every item of its section's class: the facts have the layout _finite_layout knows
    for name, cls in SECTIONS.items():
        facts[name], same = _plain_items(project.section(name), cls)
        uniform = uniform and same

    producing = _add_task_facts(project, facts["tasks"], today)
    for r, plain in zip(project.risks, facts["risks"], strict=True):
        plain["score"] = r.probability * r.impact
    _add_deliverable_facts(project, facts["deliverables"], producing)
    _add_criteria_facts(project, facts["deliverables"], facts["criterion_results"])
    _add_people_facts(project, facts["people"])
    for m, plain in zip(project.milestones, facts["milestones"], strict=True):
        plain["is_overdue"] = m.status == "planned" and m.date < today
    for issue, plain in zip(project.issues, facts["issues"], strict=True):
        plain["is_open"] = issue.status in ("open", "in_progress")

    facts["metrics"] = _plain_metrics(project_metrics(project, today, wanted, schedule_of=schedule_of))
    for name, (_, default) in EXTRA_FACTS.items():
        facts[name] = json.loads(json.dumps(default))
    if extra:
        for key, value in extra.items():
            facts[key] = _plain_value(value)
    doc = FactsDoc(facts)
    doc._built = uniform
    return doc


def _add_task_facts(project: Project, tasks: list[dict[str, Any]], today: date) -> dict[str, list[str]]:
    """Each task's children, assignees and derived flags; returns the producing task ids per deliverable."""
    children: dict[str, list[str]] = {}
    for t in project.tasks:
        if t.parent:
            children.setdefault(t.parent, []).append(t.id)
    assignees: dict[str, list[str]] = {}
    for a in project.assignments:
        assignees.setdefault(a.task, []).append(a.person)
    producing: dict[str, list[str]] = {}
    for t, plain in zip(project.tasks, tasks, strict=True):
        kids = children.get(t.id, [])
        plain["is_leaf"] = not kids
        plain["children"] = list(kids)
        plain["assignees"] = list(assignees.get(t.id, []))
        plain["has_dates"] = t.start is not None and t.finish is not None
        plain["is_overdue"] = t.finish is not None and t.finish < today and t.status not in ("done", "cancelled")
        for d in t.deliverables:
            producing.setdefault(d, []).append(t.id)
    return producing


def _add_deliverable_facts(
    project: Project, deliverables: list[dict[str, Any]], producing: dict[str, list[str]]
) -> None:
    """Each deliverable's producing tasks, acceptance and quality-check counts."""
    accepted: dict[str, tuple[bool, bool]] = {}
    for rec in project.acceptance_records:
        if rec.verdict in ("accepted", "accepted_with_conditions"):
            was = accepted.get(rec.deliverable, (False, False))
            accepted[rec.deliverable] = (True, was[1] or bool(rec.evidence.strip()))
    checks: dict[str, list[Any]] = {}
    for qc in project.quality_checks:
        checks.setdefault(qc.deliverable, []).append(qc)
    for deliverable, plain in zip(project.deliverables, deliverables, strict=True):
        plain["task_ids"] = list(producing.get(deliverable.id, []))
        acc = accepted.get(deliverable.id, (False, False))
        plain["accepted"] = acc[0]
        plain["accepted_with_evidence"] = acc[1]
        mine = checks.get(deliverable.id, [])
        plain["quality_checks"] = len(mine)
        latest: dict[str, Any] = {}
        for i, qc in enumerate(mine):  # later entries win on equal dates: file order is record order
            key = qc.standard or f"#{i}"
            prev = latest.get(key)
            if prev is None or (qc.date or date.min) >= (prev.date or date.min):
                latest[key] = qc
        plain["quality_checks_failed"] = sum(1 for qc in latest.values() if qc.result == "fail")


def _add_criteria_facts(project: Project, deliverables: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
    """Each deliverable's criteria by their latest results; each result says whether it is the latest."""
    latest = latest_results(project.criterion_results)
    counting = {id(r) for r in latest.values()}
    for r, plain in zip(project.criterion_results, results, strict=True):
        plain["latest"] = id(r) in counting
    for deliverable, plain in zip(project.deliverables, deliverables, strict=True):
        t = tally(deliverable, latest)
        plain["criteria_total"] = t.total
        plain["criteria_passed"] = t.passed
        plain["criteria_failed"] = t.failed
        plain["criteria_conditional"] = t.conditional
        plain["criteria_open"] = t.open
        plain["criteria_failed_ids"] = list(t.failed_ids)
        plain["criteria_open_ids"] = list(t.open_ids)


def _add_people_facts(project: Project, people: list[dict[str, Any]]) -> None:
    """Each person's assigned tasks, hours (derived from units when an assignment gives none) and peak units."""
    by_person: dict[str, list[Any]] = {}
    for a in project.assignments:
        by_person.setdefault(a.person, []).append(a)
    task_index = {t.id: t for t in project.tasks}
    calendar = project.calendar
    count_days = _working_days_counter(calendar)
    for p, plain in zip(project.people, people, strict=True):
        mine = by_person.get(p.id, [])
        plain["assigned_tasks"] = [a.task for a in mine]
        hours = 0.0
        spans = []
        for a in mine:
            work = task_index.get(a.task)
            if a.hours or work is None:
                hours += float(a.hours)
            elif work.start and work.finish:  # 0 hours: derived from units, working days and hours per day
                ws, wf = work.start, work.finish
                if count_days is not None and type(ws) is date and type(wf) is date:
                    days = count_days(ws, wf)
                else:
                    days = _working_days_by_dates(calendar, ws, wf)
                hours += a.units * calendar.hours_per_day * days
            if work is not None and work.start and work.finish and work.status != "cancelled":
                spans.append((work.start, work.finish, float(a.units)))
        plain["assigned_hours"] = round(hours, 2)
        plain["peak_units"] = _peak_units(spans)


class FactsDoc(dict[str, Any]):
    """A facts document: a plain dict that remembers its hash once computed.

    Evaluating several gates on one project hashes the same facts each time; the hash is kept until
    the document is changed through the dict's own methods. Facts are treated as immutable once built
    (``patch_facts`` works on a deep copy, which starts without a hash); nested values are not
    watched, so code must not edit them in place.
    """

    _hash: str | None = None
    _built = False  # made by build_facts and not changed since: its layout is known (see _finite_facts)

    def _changed(self) -> None:
        self._hash = None
        self._built = False

    def __setitem__(self, key: str, value: Any) -> None:
        self._changed()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._changed()
        super().__delitem__(key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._changed()
        super().update(*args, **kwargs)

    def pop(self, *args: Any) -> Any:
        self._changed()
        return super().pop(*args)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self._changed()
        return super().setdefault(key, default)

    def clear(self) -> None:
        self._changed()
        super().clear()

    def __deepcopy__(self, memo: dict[int, Any]) -> FactsDoc:
        return FactsDoc({k: copy.deepcopy(v, memo) for k, v in self.items()})


def _plain_value(value: Any) -> Any:
    """A loosely typed value (metrics, extras) as facts data: dates as text, Decimals as doubles."""
    if isinstance(value, Mapping):
        return {str(k): _plain_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_value(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "__dataclass_fields__"):
        return _plain_obj(value)
    return value


def _plain_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in metrics.items():
        kind = METRICS.get(name, ("", ""))[0]
        if kind == "double" and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            out[name] = float(value)
        else:
            out[name] = _plain_value(value)
    return out


# --------------------------------------------------------------------------- canonical JSON and hash
def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not part of a facts document")


def canonical_facts_json(facts: Mapping[str, Any]) -> str:
    """Sorted keys, no whitespace, UTF-8 text: the same facts always give the same text."""
    return _canonical_bytes(facts).decode("utf-8")


def _canonical_json_text(facts: Mapping[str, Any]) -> str:
    """The canonical form, as :func:`json.dumps` writes it: the definition of the facts hash."""
    # NaN / Infinity (a ratio over nothing) are written as such: still deterministic, never an error.
    # The C encoder walks the plain dicts and lists directly (the facts are JSON-shaped already); only
    # stray dates and Decimals go through the default hook.
    return json.dumps(facts, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=_json_default)


def _canonical_bytes(facts: Mapping[str, Any]) -> bytes:
    """The UTF-8 bytes of the canonical JSON, by orjson when it is enabled and provably writes them.

    orjson is several times faster than :func:`json.dumps`. The domain imports no third-party code,
    so a caller outside it enables orjson with :func:`use_orjson`. orjson writes the same text for
    every value of a facts document except two kinds of double: NaN and the infinities (orjson writes
    ``null``, json ``NaN``/``Infinity``) and non-zero magnitudes below 1e-4 (orjson ``0.00001`` and
    ``1e-9``, json ``1e-05`` and ``1e-09``). So it is used only for a document :func:`build_facts` made
    and nobody changed (its layout is known, so :func:`_finite_facts` finds every double cheaply) with
    no such double, and its output is checked for the small-number patterns; anything else, and any
    orjson error, goes to :func:`json.dumps`. The hash never depends on whether orjson is enabled.
    """
    dumps = _FAST_DUMPS[0]
    if dumps is not None and isinstance(facts, FactsDoc) and facts._built:
        try:
            if _finite_facts(facts):
                out = dumps(facts)
                if b"0.0000" not in out and not _has_negative_exponent(out):
                    return out
        except (TypeError, ValueError, OverflowError, RecursionError):
            pass
    return _canonical_json_text(facts).encode("utf-8")


# orjson's dumps with the canonical options, once use_orjson() has been given the module
_FAST_DUMPS: list[Callable[[Any], bytes] | None] = [None]


def use_orjson(orjson: Any) -> None:
    """Serialise facts for :func:`facts_hash` with the given ``orjson`` module (None: json only).

    The bytes, and so the hash, stay exactly those of :func:`json.dumps` (see :func:`_canonical_bytes`);
    only the time changes. Called by the layers that may import third-party code.
    """
    if orjson is None:
        _FAST_DUMPS[0] = None
        return
    # dataclasses and dates go to the default hook, as in json.dumps (a facts document has neither)
    option = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
    orjson_dumps = orjson.dumps

    def dumps(value: Any) -> bytes:
        out: bytes = orjson_dumps(value, default=_json_default, option=option)
        return out

    _FAST_DUMPS[0] = dumps


_DIGITS = frozenset(b"0123456789")


def _has_negative_exponent(out: bytes) -> bool:
    """A number written with a negative exponent (``1e-9``) somewhere in ``out``; text may match too."""
    i = out.find(b"e-")
    while i >= 0:
        if i and out[i - 1] in _DIGITS:
            return True
        i = out.find(b"e-", i + 2)
    return False


_KIND_SAFE = frozenset({"str", "enum", "bool", "int", "date", "datetime"})


@functools.cache
def _finite_layout(
    cls: type, section: str = ""
) -> tuple[tuple[str, ...], tuple[tuple[str, type], ...], tuple[str, ...]]:
    """Where the plain mapping of ``cls`` can hold a double: (number keys, lists of objects, other keys).

    Number keys are the float and money fields (and the section's computed numbers); lists of objects
    are checked with their class's layout; any other field that could hold a double is walked.
    """
    numbers: list[str] = []
    nested: list[tuple[str, type]] = []
    other: list[str] = []
    for info in fields_of(cls):
        if info.kind in ("float", "money"):
            numbers.append(info.name)
        elif info.kind in _KIND_SAFE or (
            info.kind == "list" and info.item is not None and info.item.kind in _KIND_SAFE
        ):
            continue
        elif info.kind == "list" and info.item is not None and info.item.kind == "object" and info.item.cls:
            nested.append((info.name, info.item.cls))
        else:
            other.append(info.name)
    numbers += [name for name, (kind, _) in COMPUTED.get(section, {}).items() if kind == "number"]
    return tuple(numbers), tuple(nested), tuple(other)


def _finite_items(items: list[dict[str, Any]], cls: type, section: str = "") -> bool:
    """No NaN or infinity in the plain mappings of a collection of ``cls`` (made by its converter)."""
    if not items:
        return True
    numbers, nested, other = _finite_layout(cls, section)
    for key in numbers:
        # None and 0.0 dropped; a NaN or an infinity makes the sum non-finite (so may an overflow,
        # which only costs the slower path)
        if not math.isfinite(sum(filter(None, map(operator.itemgetter(key), items)), 0.0)):
            return False
    for key, sub in nested:
        for item in items:
            if item[key] is not None and not _finite_items(item[key], sub):
                return False
    return all(_finite_value(item[key]) for key in other for item in items)


def _finite_value(value: Any) -> bool:
    """No NaN or infinity anywhere in ``value`` (a double, a Decimal, or containers of them)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (str, int)) or value is None:
        return True
    if isinstance(value, Mapping):
        return all(_finite_value(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(_finite_value(v) for v in value)
    if isinstance(value, Decimal):
        return value.is_finite()
    return True  # other objects: the default hook decides (a date, or an error on both paths)


def _finite_facts(facts: FactsDoc) -> bool:
    """No NaN or infinity in a facts document made by :func:`build_facts` (sections by their layout)."""
    for key, value in facts.items():
        cls = SECTIONS.get(key)
        if cls is not None:
            if not _finite_items(value, cls, key):
                return False
        elif not _finite_value(value):
            return False
    return True


def facts_hash(facts: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of a facts document (remembered by a FactsDoc)."""
    if isinstance(facts, FactsDoc) and facts._hash is not None:
        return facts._hash
    digest = hashlib.sha256(_canonical_bytes(facts)).hexdigest()
    if isinstance(facts, FactsDoc):
        facts._hash = digest
    return digest


# --------------------------------------------------------------------------- JSON Schema
def _computed_schema(kind: str, doc: str) -> dict[str, Any]:
    if kind == "string_list":
        return {"type": "array", "items": {"type": "string"}, "description": doc, "x-computed": True}
    if kind == "date":
        return {
            "anyOf": [{"type": "string", "format": "date"}, {"type": "null"}],
            "description": doc,
            "x-computed": True,
        }
    return {"type": kind, "description": doc, "x-computed": True}


@functools.cache
def _metric_samples() -> dict[str, Any]:
    """Metrics of an empty project: METRICS says "list" but not of what, and a sample shows it."""
    empty = Project(charter=Charter(code="SCHEMA", name="schema", client=Organisation(name="schema")))
    try:
        return dict(project_metrics(empty, date(2026, 1, 5)))
    except Exception:  # a metric that cannot cope with an empty project must not break the schema
        return {}


def _sample_schema(value: Any) -> dict[str, Any]:
    """The schema of a list's elements, from a sample list (text when it is empty: lists of ids)."""
    if not isinstance(value, list) or not value:
        return {"type": "string"}
    first = value[0]
    if isinstance(first, bool):
        return {"type": "boolean"}
    if isinstance(first, int):
        return {"type": "integer"}
    if isinstance(first, float):
        return {"type": "number"}
    if isinstance(first, list):
        return {"type": "array", "items": _sample_schema(first)}
    if isinstance(first, Mapping):
        return {"type": "object"}
    return {"type": "string"}


def facts_schema() -> dict[str, Any]:
    """The JSON Schema of the facts document (every name a rule can use, with its meaning)."""
    writer = SchemaWriter(facts=True)
    defs = writer.defs
    props: dict[str, Any] = {
        "project": {"$ref": f"#/$defs/{writer.object(Charter)}"},
        "phase": {"type": "string", "description": "Current phase id"},
        "phase_before_hold": {"type": "string", "description": "Phase to resume to while on hold ('' otherwise)"},
        "today": {"type": "string", "format": "date", "description": "The evaluation date (ISO text)"},
        "calendar": {"$ref": f"#/$defs/{writer.object(Calendar)}"},
    }
    for name, cls in SECTIONS.items():
        computed = {f: _computed_schema(kind, doc) for f, (kind, doc) in COMPUTED.get(name, {}).items()}
        props[name] = {
            "type": "array",
            "items": {"$ref": f"#/$defs/{writer.object(cls, computed)}"},
            "description": f"The project's {name.replace('_', ' ')}",
        }
    metric_props: dict[str, Any] = {}
    samples = _metric_samples()
    for mname, (mtype, mdoc) in METRICS.items():
        ms = dict(_METRIC_TYPES.get(mtype, {}))
        if mtype == "list":
            ms["items"] = _sample_schema(samples.get(mname))
        ms["description"] = mdoc
        metric_props[mname] = ms
    props["metrics"] = {
        "type": "object",
        "additionalProperties": False,
        "properties": metric_props,
        "required": list(metric_props),
        "description": "Computed project figures",
    }
    for name, (schema, _) in EXTRA_FACTS.items():
        props[name] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "pmo-lifecycle/facts.schema.json",
        "title": "pmo-lifecycle gate facts",
        "description": "What gate rules (CEL) see. Dates are ISO text 'YYYY-MM-DD' or null; money and "
        "other non-integer numbers are doubles.",
        "x-facts-version": FACTS_SCHEMA_VERSION,
        "type": "object",
        "additionalProperties": True,
        "required": list(props),
        "properties": props,
        "$defs": defs,
    }


__all__ = [
    "COMPUTED",
    "EXTRA_FACTS",
    "FACTS_SCHEMA_VERSION",
    "add_working_days",
    "build_facts",
    "canonical_facts_json",
    "facts_hash",
    "facts_schema",
    "is_working_day",
    "use_orjson",
    "working_days",
]

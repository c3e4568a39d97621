"""The fast paths of building and hashing facts give exactly what the plain definitions give.

Building facts converts every entity through a converter generated per class, counts working days on
day ordinals, hashes through orjson when that provably writes the same bytes as ``json.dumps``, and
computes resource loading on day ordinals. Each test here compares one of those with a simple
reference written out in the test (the definition the fast code must keep), over the sample projects,
generated ones and edge values (NaN, tiny and huge doubles, calendars with odd weekdays).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bench.generate import generate_project
from lifecycle.domain import facts as facts_module
from lifecycle.domain.facts import build_facts, canonical_facts_json, facts_hash, working_days
from lifecycle.domain.fields import FieldInfo, fields_of
from lifecycle.domain.model import (
    SECTIONS,
    Assignment,
    Baseline,
    BaselineTask,
    Calendar,
    Person,
    Project,
    Task,
)
from lifecycle.domain.resources import over_allocations, resource_loading
from lifecycle.domain.schedule import compute_schedule
from lifecycle.load.projectfile import load_project_file
from tests.factory import small_project

ROOT = Path(__file__).resolve().parents[1]
TODAYS = (date(2026, 1, 5), date(2026, 3, 31), date(2026, 9, 15))


def _samples() -> list[Project]:
    files = sorted((ROOT / "examples").glob("*.yaml")) + sorted(
        (ROOT / "rules" / "default" / "tests" / "fixtures").glob("*.yaml")
    )
    out = []
    for f in files:
        pf = load_project_file(f)
        out.append(dataclasses.replace(pf.project, phase=pf.phase or ""))
    out.append(small_project())
    out.append(generate_project("EQ-GEN", seed=3, tasks=120, phase="execution"))
    out.append(generate_project("EQ-CLOSE", seed=4, tasks=80, phase="closure"))
    return out


@pytest.fixture(scope="module")
def samples() -> list[Project]:
    return _samples()


@pytest.fixture(params=["orjson", "json"])
def encoder(request: pytest.FixtureRequest) -> Iterator[str]:
    """Hash with orjson enabled (when installed) and with json alone: the bytes must not differ."""
    if request.param == "orjson":
        facts_module.use_orjson(pytest.importorskip("orjson"))
    try:
        yield request.param
    finally:
        facts_module.use_orjson(None)


def _same(a: Any, b: Any, path: str = "$") -> None:
    """Equal values of the very same types (1 and 1.0 differ; NaN equals NaN)."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), f"{path}: lengths"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert repr(a) == repr(b), f"{path}: {a!r} != {b!r}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


# --------------------------------------------------------------------------- entity conversion
def _reference_value(info: FieldInfo, value: Any) -> Any:
    if value is None:
        return None
    if info.kind in ("float", "money"):
        return float(value)
    if info.kind == "int":
        return int(value)
    if info.kind in ("date", "datetime"):
        return value.isoformat()
    if info.kind == "object":
        return _reference_obj(value)
    if info.kind == "list":
        assert info.item is not None
        return [_reference_value(info.item, v) for v in value]
    if info.kind == "dict":
        return dict(value)
    return value


def _reference_obj(obj: Any) -> dict[str, Any]:
    return {info.name: _reference_value(info, getattr(obj, info.name)) for info in fields_of(type(obj))}


def test_generated_converters_match_the_reference_conversion(samples: list[Project]) -> None:
    for project in samples:
        _same(facts_module._plain_obj(project.charter), _reference_obj(project.charter))
        _same(facts_module._plain_obj(project.calendar), _reference_obj(project.calendar))
        for name in SECTIONS:
            for item in project.section(name):
                _same(facts_module._plain_obj(item), _reference_obj(item), f"{project.code}.{name}")


def test_facts_sections_are_the_reference_conversion_plus_computed_fields(samples: list[Project]) -> None:
    for project in samples:
        facts = build_facts(project, TODAYS[1])
        for name in SECTIONS:
            computed = list(facts_module.COMPUTED.get(name, {}))
            for item, plain in zip(project.section(name), facts[name], strict=True):
                ref = _reference_obj(item)
                assert list(plain) == list(ref) + computed
                _same({k: plain[k] for k in ref}, ref, f"{project.code}.{name}")


def test_converters_keep_odd_values_as_the_reference_does() -> None:
    # ints in float fields become doubles, a datetime-free model keeps None, nested objects convert
    task = Task(
        id="t",
        name="T",
        duration_days=3,
        effort_hours=2,
        percent_complete=50,  # type: ignore[arg-type]
        start=date(2026, 1, 5),
        deliverables=("d1", "d2"),
    )
    base = Baseline(
        id="b",
        name="B",
        saved_on=date(2026, 1, 1),
        budget=Decimal("12.50"),
        tasks=(BaselineTask(task="t", start=None, finish=date(2026, 2, 1), cost=Decimal("1.25")),),
    )
    cal = Calendar(working_weekdays=(1, 2, 3), holidays=(date(2026, 1, 1),))
    for obj in (task, base, cal):
        _same(facts_module._plain_obj(obj), _reference_obj(obj))


# --------------------------------------------------------------------------- working days
def _reference_working_days(calendar: Calendar, start: date, finish: date) -> int:
    """Day by day: the definition the arithmetic count must agree with."""
    n = 0
    day = start
    while day <= finish:
        if day in calendar.extra_workdays or (
            day.isoweekday() in calendar.working_weekdays and day not in calendar.holidays
        ):
            n += 1
        day += timedelta(days=1)
    return n


def test_working_days_agree_with_a_day_by_day_count() -> None:
    rng = random.Random(7)
    base = date(2026, 1, 1)
    calendars = [
        Calendar(),
        Calendar(working_weekdays=()),
        Calendar(working_weekdays=(1, 1, 3, 7)),
        Calendar(working_weekdays=(6, 7, 9)),
    ]
    for _ in range(20):
        weekdays = tuple(sorted(rng.sample(range(1, 8), rng.randint(1, 7))))
        days = [base + timedelta(days=rng.randint(0, 400)) for _ in range(rng.randint(0, 25))]
        split = rng.randint(0, len(days))
        calendars.append(
            Calendar(
                working_weekdays=weekdays, holidays=tuple(days[:split]), extra_workdays=tuple(days[split:] + days[:2])
            )
        )
    for cal in calendars:
        for _ in range(60):
            start = base + timedelta(days=rng.randint(-20, 420))
            finish = start + timedelta(days=rng.randint(-10, 120))
            got = working_days(cal, start, finish)
            assert got == facts_module._working_days_by_dates(cal, start, finish)
            if set(cal.working_weekdays) <= set(range(1, 8)):  # (a weekday 9 counts in whole weeks, as it did)
                assert got == _reference_working_days(cal, start, finish)


# --------------------------------------------------------------------------- canonical JSON and hash
def _reference_hash(facts: Any) -> str:
    text = json.dumps(
        facts, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=facts_module._json_default
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_facts_hash_is_the_sha256_of_json_dumps(samples: list[Project], encoder: str) -> None:
    for project in samples:
        for today in TODAYS:
            facts = build_facts(project, today, {"approvals": [{"role": "sponsor", "by": "x", "decision": "approve"}]})
            assert facts._built  # type: ignore[attr-defined]  # the document the orjson path is for
            assert facts_hash(facts) == _reference_hash(facts) == facts_hash(dict(facts))
            assert canonical_facts_json(facts).encode("utf-8") == canonical_facts_json(dict(facts)).encode("utf-8")


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), -float("inf"), 1e-5, -2.5e-7, 1e-9, 3e-300, 1e16, 1.5e300, 0.0001, -0.0, 123456.789],
)
def test_doubles_orjson_writes_differently_keep_the_json_dumps_bytes(value: float, encoder: str) -> None:
    project = small_project()
    people = (*project.people, Person(id="odd", name="Odd", role="x", capacity_hours_per_week=value))
    tasks = (
        *project.tasks,
        Task(
            id="odd-task",
            name="Odd",
            effort_hours=value,
            percent_complete=value,
            start=date(2026, 1, 5),
            finish=date(2026, 1, 9),
        ),
    )
    baselines = (
        Baseline(
            id="b1", name="B", saved_on=date(2026, 1, 2), tasks=(BaselineTask(task="odd-task", effort_hours=value),)
        ),
    )
    assignments = (*project.assignments, Assignment(person="odd", task="odd-task", units=1.0, hours=value))
    odd = dataclasses.replace(project, people=people, tasks=tasks, baselines=baselines, assignments=assignments)
    facts = build_facts(odd, date(2026, 2, 2), {"extra": {"ratio": value}})
    assert facts_hash(facts) == _reference_hash(facts)
    plain_facts = build_facts(odd, date(2026, 2, 2))
    assert facts_hash(plain_facts) == _reference_hash(plain_facts)


def test_random_doubles_hash_as_json_dumps_writes_them(encoder: str) -> None:
    rng = random.Random(11)
    project = small_project()
    values = [rng.uniform(-1, 1) * 10 ** rng.uniform(-12, 20) for _ in range(300)]
    tasks = tuple(
        Task(id=f"r{i}", name="R", effort_hours=v, percent_complete=abs(v) % 100, duration_days=1.0)
        for i, v in enumerate(values)
    )
    facts = build_facts(dataclasses.replace(project, tasks=project.tasks + tasks), date(2026, 2, 2))
    assert facts_hash(facts) == _reference_hash(facts)


def test_a_changed_document_is_hashed_by_its_new_content(samples: list[Project], encoder: str) -> None:
    facts = build_facts(samples[0], TODAYS[0])
    first = facts_hash(facts)
    facts["metrics"] = dict(facts["metrics"], spi=float("nan"))
    assert facts_hash(facts) == _reference_hash(facts) != first


# --------------------------------------------------------------------------- resource loading
def _reference_loading(
    project: Project, schedule: Any, from_date: date | None, include_done: bool
) -> dict[str, list[tuple[date, float, float, tuple[tuple[str, float], ...]]]]:
    """Resource loading on dates, one week at a time (what resources.resource_loading computes)."""
    from lifecycle.domain.calendar import monday_of, work_calendar
    from lifecycle.domain.resources import _span_index

    cal = work_calendar(project.calendar)
    tasks = {t.id: t for t in project.tasks}
    people = {p.id: p for p in project.people}
    first_week = monday_of(from_date) if from_date else None
    load: dict[str, dict[date, dict[str, float]]] = {}
    for a in project.assignments:
        t = tasks.get(a.task)
        if t is None or a.person not in people or t.status == "cancelled":
            continue
        if not include_done and (t.status == "done" or t.actual_finish is not None):
            continue
        span = _span_index(t, schedule, cal)
        if span is None:
            continue
        i0, n = span
        hours = float(a.hours) if a.hours else float(a.units) * cal.hours_per_day * n
        if hours <= 0:
            continue
        weeks = load.setdefault(a.person, {})
        m = monday_of(cal.date_at(i0))
        if n <= 0:
            if first_week is None or m >= first_week:
                wk = weeks.setdefault(m, {})
                wk[t.id] = wk.get(t.id, 0.0) + hours
            continue
        while cal.index(m) < i0 + n:
            w0, w1 = cal.index(m), cal.index(m + timedelta(days=7))
            if first_week is None or m >= first_week:
                days = min(i0 + n, w1) - max(i0, w0)
                if days > 0:
                    wk = weeks.setdefault(m, {})
                    wk[t.id] = wk.get(t.id, 0.0) + hours * days / n
            m += timedelta(days=7)
    out = {}
    for pid in sorted(load):
        rows = []
        for m in sorted(load[pid]):
            per_task = load[pid][m]
            cap = float(people[pid].capacity_hours_per_week) * cal.working_days_in_week(m) / cal.weekly_days
            rows.append(
                (m, sum(per_task.values()), cap, tuple(sorted(per_task.items(), key=lambda kv: (-kv[1], kv[0]))))
            )
        out[pid] = rows
    return out


def test_resource_loading_and_over_allocations_match_the_week_by_week_reference(samples: list[Project]) -> None:
    for project in samples:
        for today in TODAYS:
            schedule = compute_schedule(project, today=today) if project.tasks else None
            for sched in (schedule, None):
                for from_date, include_done in ((None, True), (today, False), (today, True)):
                    ref = _reference_loading(project, sched, from_date, include_done)
                    got = resource_loading(project, sched, from_date=from_date, include_done=include_done)
                    _same(
                        {
                            pid: [[w.week.isoformat(), w.hours, w.capacity, [list(x) for x in w.tasks]] for w in rows]
                            for pid, rows in got.items()
                        },
                        {
                            pid: [[m.isoformat(), h, c, [list(x) for x in ts]] for m, h, c, ts in rows]
                            for pid, rows in ref.items()
                        },
                    )
                over = over_allocations(project, sched, from_date=today)
                ref_over = sorted(
                    (
                        (m, pid, h, c, tuple(t for t, _ in ts))
                        for pid, rows in _reference_loading(project, sched, today, False).items()
                        for m, h, c, ts in rows
                        if h > c + 0.01
                    ),
                    key=lambda o: (o[0], o[1]),
                )
                assert [(o.week, o.person, o.hours, o.capacity, o.tasks) for o in over] == ref_over


def test_peak_units_match_a_day_by_day_sum() -> None:
    rng = random.Random(5)
    for _ in range(50):
        spans = []
        for _ in range(rng.randint(0, 8)):
            start = date(2026, 1, 1) + timedelta(days=rng.randint(0, 40))
            spans.append((start, start + timedelta(days=rng.randint(0, 20)), rng.choice([0.25, 0.5, 1.0, 1.5])))
        by_day: dict[date, float] = {}
        for start, finish, units in spans:
            day = start
            while day <= finish:
                by_day[day] = by_day.get(day, 0.0) + units
                day += timedelta(days=1)
        expected = round(max(by_day.values(), default=0.0), 4)
        assert math.isclose(facts_module._peak_units(spans), expected, abs_tol=1e-9)


@pytest.mark.parametrize("enabled", [True, False])
def test_bulk_steps_pause_the_collector_and_restore_its_state(enabled: bool) -> None:
    """build_facts and compute_schedule pause cyclic GC while they run, and leave it as they found it,
    also when the step raises."""
    import gc

    from lifecycle.domain.bulk import gc_paused

    project = generate_project("GC-1", seed=2, tasks=60, risks=5, deliverables=4, phase="execution")
    seen: list[bool] = []
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        build_facts(project, date(2026, 9, 15))
        compute_schedule(project)
        assert gc.isenabled() is enabled
        with pytest.raises(ZeroDivisionError), gc_paused():
            seen.append(gc.isenabled())
            _ = 1 / 0
        assert seen == [False] and gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()

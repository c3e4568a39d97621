"""Kept schedules: a schedule rebuilt from its kept state is the computed one, and a sweep that reuses
kept schedules decides exactly as one that computes every schedule from the rows.

The cache is keyed by :func:`~lifecycle.domain.schedule.schedule_inputs`; a test changes every task,
link and project field outside those inputs and checks the schedule does not move, so a field the
critical-path pass starts reading cannot be left out of the key unnoticed.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bench.generate import generate_project
from lifecycle.domain.facts import build_facts, facts_hash
from lifecycle.domain.fields import fields_of
from lifecycle.domain.model import SECTIONS, AuditEvent, Project, Task, TaskLink
from lifecycle.domain.schedule import (
    SCHEDULE_LINK_FIELDS,
    SCHEDULE_TASK_FIELDS,
    Schedule,
    compute_schedule,
    schedule_inputs,
)
from tests.test_facts_speed_equivalence import TODAYS, _samples

TODAY = date(2026, 9, 15)
ROOT = Path(__file__).resolve().parents[1]


def _rebuilt(project: Project, today: date) -> Schedule:
    state = json.loads(json.dumps(compute_schedule(project, today=today).state()))
    return Schedule.from_state(project, state)


def test_a_kept_schedule_gives_the_same_facts_and_rows() -> None:
    """Every sample and generated project, on three days: the facts (so every metric and the facts
    hash) and every row of a schedule rebuilt from its JSON state equal the computed ones."""
    for project in _samples():
        if not project.tasks:
            continue
        for today in TODAYS:
            computed = compute_schedule(project, today=today)
            rebuilt = _rebuilt(project, today)
            assert rebuilt.rows() == computed.rows(), project.code
            assert rebuilt.project_finish == computed.project_finish
            plain = build_facts(project, today)
            kept = build_facts(project, today, schedule_of=_rebuilt)
            assert kept == plain, project.code
            assert facts_hash(kept) == facts_hash(plain)


class _Marker:
    """A value no field normally holds: reading it in the pass changes its output or fails."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<changed {self.name}>"


def _changed(obj: Any, keep: tuple[str, ...]) -> Any:
    return dataclasses.replace(obj, **{f.name: _Marker(f.name) for f in fields_of(type(obj)) if f.name not in keep})


def test_the_schedule_reads_nothing_outside_its_inputs() -> None:
    """Every task and link field outside the key's inputs, every other section and the charter's other
    fields changed: the same schedule (so a key over the inputs never serves a wrong one)."""
    project = generate_project("SC-IN", seed=5, tasks=150, phase="execution")
    before = compute_schedule(project, today=TODAY).state()
    charter = _changed(project.charter, ("code", "start"))
    changed = dataclasses.replace(
        project,
        charter=charter,
        tasks=tuple(_changed(t, SCHEDULE_TASK_FIELDS) for t in project.tasks),
        links=tuple(_changed(lk, SCHEDULE_LINK_FIELDS) for lk in project.links),
        **{name: () for name in SECTIONS if name not in ("tasks", "links")},
    )
    assert compute_schedule(changed, today=TODAY).state() == before
    assert schedule_inputs(changed, TODAY) == schedule_inputs(project, TODAY)
    assert {f.name for f in fields_of(Task)} > set(SCHEDULE_TASK_FIELDS)
    assert {f.name for f in fields_of(TaskLink)} >= set(SCHEDULE_LINK_FIELDS)


def test_the_key_follows_every_input() -> None:
    """A change to a scheduling field of one task, to the calendar or to the start gives a new key."""
    from lifecycle.services.schedule_cache import schedule_key

    project = generate_project("SC-KEY", seed=6, tasks=60, phase="execution")
    key = schedule_key("engine", project, TODAY)
    assert schedule_key("engine", project, TODAY) == key
    assert schedule_key("other-engine", project, TODAY) != key
    leaf = next(t for t in project.tasks if t.duration_days)
    tasks = tuple(dataclasses.replace(t, duration_days=t.duration_days + 1) if t is leaf else t for t in project.tasks)
    assert schedule_key("engine", dataclasses.replace(project, tasks=tasks), TODAY) != key
    cal = dataclasses.replace(project.calendar, hours_per_day=project.calendar.hours_per_day + 1)
    assert schedule_key("engine", dataclasses.replace(project, calendar=cal), TODAY) != key
    start = dataclasses.replace(project.charter, start=date(2025, 1, 6))
    assert schedule_key("engine", dataclasses.replace(project, charter=start), TODAY) != key


def test_the_key_follows_people_calendars_and_assignments() -> None:
    """With resource calendars, a person's calendar, who works on a task and a task's own calendar
    flags move the schedule, so each gives a new key; everything else of people and assignments does not."""
    from lifecycle.domain.model import Assignment, Person, ResourceCalendar
    from lifecycle.services.schedule_cache import schedule_key
    from tests.analytics.test_task_calendars import plan

    four = ResourceCalendar(id="four", name="Mon-Thu", working_weekdays=(1, 2, 3, 4))
    tasks = [Task(id="A", name="a", duration_days=5, effort_driven=True), Task(id="B", name="b", duration_days=1)]
    people = (Person(id="R1", name="a", role="dev"), Person(id="R2", name="b", role="dev", calendar="four"))
    base = plan(tasks, people=people, assign=(Assignment(person="R2", task="A"),), resource_calendars=(four,))
    key = schedule_key("engine", base, TODAY)
    variants = {
        "person's calendar": dataclasses.replace(base, people=(people[0], dataclasses.replace(people[1], calendar=""))),
        "assignment": dataclasses.replace(base, assignments=(Assignment(person="R1", task="A"),)),
        "effort-driven flag": dataclasses.replace(
            base, tasks=(dataclasses.replace(base.tasks[0], effort_driven=False), base.tasks[1])
        ),
        "task calendar": dataclasses.replace(
            base, tasks=(dataclasses.replace(base.tasks[0], calendar="four"), base.tasks[1])
        ),
    }
    for what, changed in variants.items():
        assert schedule_key("engine", changed, TODAY) != key, what
    renamed = dataclasses.replace(base, people=tuple(dataclasses.replace(p, name=p.name + "!") for p in people))
    assert schedule_key("engine", renamed, TODAY) == key
    moved = compute_schedule(variants["person's calendar"], today=TODAY).state()
    assert moved != compute_schedule(base, today=TODAY).state()


def _sweep(ctx: Any, **kw: Any) -> tuple[dict[str, Any], Any]:
    from lifecycle.services.portfolio import SweepStats, sweep

    stats = SweepStats()
    decisions = {d.project: d.to_dict() for d in sweep(ctx, stats=stats, **kw)}
    for d in decisions.values():
        d.pop("evaluated_at")
    return decisions, stats


def _forget_decisions(ctx: Any, codes: list[str]) -> None:
    from lifecycle.services.portfolio import NEXT_GATE

    ctx.store.put_derived(NEXT_GATE, {c: ("forgotten", {}) for c in codes})


def test_a_cold_sweep_reuses_kept_schedules_with_the_same_decisions(store: Any, tmp_path: Path) -> None:
    """First sweep: every schedule computed and kept. A cold sweep after it reuses them all and decides
    as the sweep from the rows alone; a project whose plan changed (by a save, or directly in the
    database without a new version) gets its schedule computed again."""
    from lifecycle.services.context import Context
    from lifecycle.services.portfolio import diff_packs
    from lifecycle.services.schedule_cache import SCHEDULE
    from lifecycle.workspace import Settings, Workspace

    projects = [
        generate_project(f"SC-{i}", seed=10 + i, tasks=40, phase=ph)
        for i, ph in enumerate(("initiation", "planning", "execution", "control", "execution"))
    ]
    for p in projects:
        store.save(p, expected_version=None)
    codes = [p.code for p in projects]
    ctx = Context(Workspace(tmp_path, Settings()), store)
    ctx.clock = lambda: __import__("datetime").datetime(2026, 9, 15, 9, 0)

    reference, _ = _sweep(ctx, use_cache=False)
    assert store.derived(SCHEDULE) == {}  # the reference path leaves the caches alone
    first, s1 = _sweep(ctx)
    assert (s1.schedules_computed, s1.schedules_reused) == (5, 0) and first == reference
    assert set(store.derived(SCHEDULE)) == set(codes)

    _forget_decisions(ctx, codes)
    cold, s2 = _sweep(ctx)
    assert (s2.evaluated, s2.schedules_computed, s2.schedules_reused) == (5, 0, 5) and cold == reference

    pack = tmp_path / "stricter"  # a rules diff reuses the kept schedules: the same changes as without
    shutil.copytree(ROOT / "rules" / "default", pack)
    gate = pack / "gates" / "execution.yaml"
    gate.write_text(gate.read_text(encoding="utf-8").replace('check: "', 'check: "false && ', 1), encoding="utf-8")
    kept = diff_packs(ctx, pack)
    store.put_derived(SCHEDULE, {c: ("gone", {}) for c in codes})
    assert store.derived(SCHEDULE, {c: "gone" for c in codes}) and kept[1] == 5 and kept[0]
    assert [c.to_dict() for c in kept[0]] == [c.to_dict() for c in diff_packs(ctx, pack)[0]]

    p = store.get("SC-2")  # a saved change to the plan
    leaf = next(t for t in p.tasks if t.duration_days and t.status != "done")
    tasks = tuple(dataclasses.replace(t, duration_days=t.duration_days + 20) if t is leaf else t for t in p.tasks)
    store.save(
        dataclasses.replace(p, tasks=tasks),
        expected_version=p.version,
        events=[AuditEvent("SC-2", "task.updated", "tester", ctx.clock(), "task", leaf.id)],
    )
    changed, s3 = _sweep(ctx)
    assert (s3.evaluated, s3.schedules_computed) == (1, 1)
    _forget_decisions(ctx, codes)
    changed, s3 = _sweep(ctx)
    assert changed == _sweep(ctx, use_cache=False)[0]

    damaged = {c: (k, {"state": '{"base": 0}'}) for c, (k, _) in store.derived(SCHEDULE).items() if c == "SC-0"}
    store.put_derived(SCHEDULE, damaged)  # a kept state damaged outside pmo is computed again
    _forget_decisions(ctx, codes)
    again, s5 = _sweep(ctx)
    assert (s5.schedules_computed, s5.schedules_reused) == (1, 4) and again == _sweep(ctx, use_cache=False)[0]

    if not hasattr(store, "engine"):
        return
    from sqlalchemy import text

    with store.engine.begin() as conn:  # an edit outside pmo: no new version, no event
        conn.execute(
            text(
                'UPDATE "tasks" SET "duration_days" = "duration_days" + 15 WHERE "key" = :key AND '
                '"project_id" = (SELECT "pk" FROM "projects" WHERE "code" = \'SC-4\')'
            ),
            {"key": next(t.id for t in store.get("SC-4").tasks if t.duration_days and t.status != "done")},
        )
    _forget_decisions(ctx, codes)
    edited, s4 = _sweep(ctx)
    assert (s4.schedules_computed, s4.schedules_reused) == (1, 4)
    assert edited == _sweep(ctx, use_cache=False)[0]


@pytest.mark.parametrize("today", TODAYS)
def test_a_project_without_dates_keys_its_start_on_the_day(today: date) -> None:
    """With no start anywhere the pass starts today: the key changes with the day."""
    from lifecycle.services.schedule_cache import schedule_key

    project = generate_project("SC-NODATE", seed=7, tasks=20, phase="planning")
    bare = dataclasses.replace(
        project,
        charter=dataclasses.replace(project.charter, start=None),
        tasks=tuple(dataclasses.replace(t, start=None, finish=None, actual_start=None) for t in project.tasks),
    )
    assert schedule_inputs(bare, today)[0] == today
    assert schedule_key("e", bare, today) != schedule_key("e", bare, date(2020, 1, 1))

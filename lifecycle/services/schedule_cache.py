"""Schedules kept beside the projects: the critical-path pass computed once per change of its inputs.

A portfolio sweep builds every project's facts, and the critical-path pass is a large part of that.
Its result depends only on :func:`~lifecycle.domain.schedule.schedule_inputs` (the tasks' and links'
scheduling fields, the calendar and the start date) and on the engine's code, so
:class:`ScheduleCache` keeps each project's pass results in the store's derived-data cache (kind
``schedule``) under a hash of exactly those: the first sweep of a day, or the sweep after a rule-pack
change, reuses the schedules of every project whose plan did not change. A project edited in any way
(through pmo or directly in the database) gets a new key from its own rows, so a stale schedule is
never served; the cache is safe to lose.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from lifecycle.domain.model import Project
from lifecycle.domain.schedule import Schedule, compute_schedule, schedule_inputs
from lifecycle.services.context import Context

try:  # optional: faster, and the key only has to be stable within one install
    import orjson
except ImportError:  # pragma: no cover - orjson is a declared dependency
    orjson = None  # type: ignore[assignment]

SCHEDULE = "schedule"  # the kind of derived data


def _dumps(value: Any) -> bytes:
    if orjson is not None:
        out: bytes = orjson.dumps(value, default=str)
        return out
    return json.dumps(value, default=repr, separators=(",", ":")).encode()


def _loads(text: str) -> Any:
    return orjson.loads(text) if orjson is not None else json.loads(text)


def schedule_key(engine: str, project: Project, today: date) -> str:
    """The cache key of ``project``'s schedule: the engine's fingerprint and a hash of the pass's inputs."""
    return hashlib.sha256(engine.encode() + b"|" + _dumps(schedule_inputs(project, today))).hexdigest()


class ScheduleCache:
    """The schedules of a batch of projects: kept ones where their key matches, computed otherwise.

    ``load(projects, today)`` reads the kept schedules of a batch (one query); the instance is then the
    ``schedule_of`` callable of :func:`~lifecycle.domain.facts.build_facts`; ``save()`` writes the
    schedules computed since (one transaction; nothing with ``keep=False``). A pass that fails (a link
    cycle) is not kept: it raises again next time.
    """

    def __init__(self, ctx: Context, engine: str, *, keep: bool = True) -> None:
        self._ctx = ctx
        self._engine = engine
        self._keep = keep  # False: only read kept schedules (a read-only use such as a rules diff)
        self._keys: dict[str, str] = {}
        self._kept: dict[str, str] = {}  # code -> the state's JSON text
        self._fresh: dict[str, tuple[str, dict[str, Any]]] = {}
        self.reused = 0
        self.computed = 0

    def load(self, projects: Sequence[Project], today: date) -> None:
        self._keys = {p.code: schedule_key(self._engine, p, today) for p in projects if p.tasks}
        found = self._ctx.store.derived(SCHEDULE, self._keys) if self._keys else {}
        self._kept = {code: str(entry["state"]) for code, (_, entry) in found.items()}

    def __call__(self, project: Project, today: date) -> Schedule:
        text = self._kept.pop(project.code, None)
        if text is not None:
            try:
                kept = Schedule.from_state(project, _loads(text))
            except (KeyError, TypeError, ValueError):  # an entry damaged outside pmo: computed again
                pass
            else:
                self.reused += 1
                return kept
        schedule = compute_schedule(project, today=today)
        self.computed += 1
        key = self._keys.get(project.code)
        if key is not None and self._keep:
            self._fresh[project.code] = (key, {"state": _dumps(schedule.state()).decode()})
        return schedule

    def save(self) -> None:
        if self._fresh:
            self._ctx.store.put_derived(SCHEDULE, self._fresh)
            self._fresh = {}

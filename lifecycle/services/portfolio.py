"""Portfolio use cases: the next-gate decision of every project, and what a new rule pack would change.

``sweep`` gives the next-gate decision of every project. A decision is a pure function of the
project as stored (its version and audit-chain head), the rule pack, the date, the project's waivers
and approval votes, and the engine's code; the sweep keeps each decision in the store's derived-data
cache under a hash of exactly those inputs. A sweep therefore reads the project list, the cached
decisions, the waivers and the votes, and loads and evaluates only the projects whose inputs changed
(with one query per table, in batches of 500, not one per project); the first sweep of a day, or
after a rule-pack change, evaluates every project, but reuses each project's critical-path schedule
kept under a hash of its inputs (:mod:`lifecycle.services.schedule_cache`) when its plan did not
change. ``use_cache=False`` evaluates everything from the rows alone and leaves the caches alone.
``diff_packs`` evaluates two rule packs over the same facts (reusing kept schedules, keeping none)
and lists the projects whose decision would change, with the rules that cause it — what a PMO looks
at before publishing a rule change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import lifecycle
from lifecycle.domain.bulk import gc_paused
from lifecycle.domain.facts import build_facts
from lifecycle.domain.gates import Decision, Vote, Waiver
from lifecycle.domain.history import phase_history
from lifecycle.domain.model import Project
from lifecycle.expr import decide
from lifecycle.load.rulepack import load_pack
from lifecycle.services.context import Context
from lifecycle.services.projects import load_rules
from lifecycle.services.schedule_cache import ScheduleCache
from lifecycle.storage.protocol import Record

NEXT_GATE = "next_gate"  # the kind of derived data a sweep keeps
BATCH = 500


@dataclass
class PackChange:
    code: str
    phase: str
    old_transition: str
    new_transition: str
    old_decision: str
    new_decision: str
    rules: list[dict[str, str]] = field(default_factory=list)  # {"id", "old", "new", "title"}
    stranded: str = ""  # why the project would be stranded under the new pack ("" if it would not)

    @property
    def decision_changed(self) -> bool:
        return self.old_decision != self.new_decision or self.old_transition != self.new_transition

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "phase": self.phase,
            "old": {"transition": self.old_transition, "decision": self.old_decision},
            "new": {"transition": self.new_transition, "decision": self.new_decision},
            "decision_changed": self.decision_changed,
            "stranded": self.stranded,
            "rules": self.rules,
        }


Votes = list[tuple[str, Vote]]  # (transition, vote)
Item = tuple[Project, list[Waiver], Votes]


def _portfolio(
    ctx: Context,
    batch: int = BATCH,
    codes: Sequence[str] | None = None,
    waivers: Mapping[str, list[Record]] | None = None,
    votes: Mapping[str, list[Record]] | None = None,
) -> Iterator[Item]:
    """Every project (or those of ``codes``) with its waivers and votes, loaded ``batch`` at a time."""
    waivers = ctx.store.all_records("waiver") if waivers is None else waivers
    votes = ctx.store.all_records("approval") if votes is None else votes
    codes = [s.code for s in ctx.store.list_projects()] if codes is None else list(codes)
    for i in range(0, len(codes), batch):
        for p in ctx.store.get_many(codes[i : i + batch]):
            yield (
                p,
                [Waiver.from_dict(r.data) for r in waivers.get(p.code, [])],
                [(str(r.data.get("transition", "")), Vote.from_dict(r.data)) for r in votes.get(p.code, [])],
            )


def _decide(
    pack: Any, project: Project, facts: dict[str, Any], today: Any, waivers: list[Waiver], votes: Votes
) -> Decision | None:
    move = pack.machine.next_move(project.phase, project.phase_before_hold)
    if move is None:
        return None
    mine = [v for t, v in votes if t == move.name]
    d: Decision = decide(pack, move, project, facts, today, waivers, mine)
    return d


@lru_cache(maxsize=1)
def engine_fingerprint() -> str:
    """Identifies the code that computes decisions (facts, metrics, rule evaluation) in this install.

    Part of every cached decision's key, so upgrading or editing the engine never serves a decision
    the new code would not make. Made from the version and the size and modification time of the
    modules of ``lifecycle.domain``, ``lifecycle.load`` and ``lifecycle.expr``.
    """
    root = Path(lifecycle.__file__).resolve().parent
    h = hashlib.sha256(lifecycle.__version__.encode())
    for sub in ("domain", "load", "expr"):
        for path in sorted((root / sub).rglob("*.py")):
            st = path.stat()
            h.update(f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:16]


def _records_digest(records: Sequence[Record]) -> str:
    if not records:
        return ""
    text = json.dumps([[r.key, r.data] for r in records], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def decision_key(
    base: str, code: str, version: int, audit_head: str, waivers: Sequence[Record], votes: Sequence[Record]
) -> str:
    """The cache key of a project's next-gate decision (``base``: engine, pack hash and date)."""
    text = f"{base}|{code}|{version}|{audit_head}|{_records_digest(waivers)}|{_records_digest(votes)}"
    return hashlib.sha256(text.encode()).hexdigest()


def _cached(entry: Mapping[str, Any]) -> Decision | None:
    if entry.get("decision") is None:
        return None  # no next gate (closed, cancelled)
    d = Decision.from_dict(entry["decision"])
    return replace(d, notes=tuple(entry.get("notes") or ()))


@dataclass
class SweepStats:
    """What a sweep did: how many projects, how many decisions came from the cache."""

    projects: int = 0
    cached: int = 0
    evaluated: int = 0
    schedules_reused: int = 0  # schedules of evaluated projects read from the schedule cache
    schedules_computed: int = 0


def sweep(
    ctx: Context,
    pack: Any = None,
    *,
    use_cache: bool = True,
    stats: SweepStats | None = None,
) -> list[Decision]:
    """The next-gate decision of every project that has a next gate, in project-code order."""
    pack = pack or load_rules(ctx)
    today = ctx.today()
    stats = stats if stats is not None else SweepStats()
    summaries = ctx.store.list_projects()
    waivers = ctx.store.all_records("waiver")
    votes = ctx.store.all_records("approval")
    base = f"{engine_fingerprint()}|{pack.hash}|{today.isoformat()}"
    keys = {
        s.code: decision_key(base, s.code, s.version, s.audit_head, waivers.get(s.code, []), votes.get(s.code, []))
        for s in summaries
    }
    cache = ctx.store.derived(NEXT_GATE, keys) if use_cache else {}
    decisions: dict[str, Decision | None] = {code: _cached(entry) for code, (_, entry) in cache.items()}
    keys = {code: key for code, key in keys.items() if code not in decisions}  # to evaluate
    stats.projects, stats.cached = len(summaries), len(decisions)
    with gc_paused():  # loading, facts and decisions allocate millions of objects, none in a cycle
        _evaluate(ctx, pack, today, keys, waivers, votes, decisions, stats, use_cache)
    return [d for s in summaries if (d := decisions.get(s.code)) is not None]


def _evaluate(
    ctx: Context,
    pack: Any,
    today: Any,
    keys: Mapping[str, str],
    waivers: Mapping[str, list[Record]],
    votes: Mapping[str, list[Record]],
    decisions: dict[str, Decision | None],
    stats: SweepStats,
    use_cache: bool,
) -> None:
    """Evaluate the projects of ``keys`` into ``decisions``; keep them in the cache every BATCH projects."""
    changes = ctx.store.all_records("phase_change") if keys else {}
    schedules = ScheduleCache(ctx, engine_fingerprint())
    for batch in _batches(_portfolio(ctx, codes=list(keys), waivers=waivers, votes=votes)):
        if use_cache:
            schedules.load([project for project, _, _ in batch], today)
        fresh: dict[str, tuple[str, dict[str, Any]]] = {}
        for project, ws, vs in batch:
            history = phase_history((r.data for r in changes.get(project.code, [])), project.phase)
            facts = build_facts(project, today, history, schedule_of=schedules if use_cache else None)
            d = _decide(pack, project, facts, today, ws, vs)
            decisions[project.code] = d
            stats.evaluated += 1
            if use_cache:
                fresh[project.code] = (
                    keys[project.code],
                    {"decision": d.to_dict() if d else None, "notes": list(d.notes) if d else []},
                )
        if use_cache:  # written as the sweep goes: bounded memory, progress kept
            ctx.store.put_derived(NEXT_GATE, fresh)
            schedules.save()
        batch.clear()  # let this batch go before the next one is read
    stats.schedules_reused, stats.schedules_computed = schedules.reused, schedules.computed


def _batches(items: Iterator[Item]) -> Iterator[list[Item]]:
    """``items`` in lists of BATCH (the projects of one batch are in memory together anyway)."""
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _portfolio_with_schedules(ctx: Context, schedules: ScheduleCache, today: Any) -> Iterator[Item]:
    """Every project as :func:`_portfolio` gives them, with the kept schedules of each batch loaded."""
    for batch in _batches(_portfolio(ctx)):
        schedules.load([project for project, _, _ in batch], today)
        yield from batch
        batch.clear()


def _stranded(pack: Any, project: Project) -> str:
    """Why ``project`` would be stranded under ``pack``: a phase it is in (or resumes to) that the
    pack lacks, so no transition could ever move it ("" if none)."""
    ids = pack.lifecycle.phase_ids
    if project.phase not in ids:
        return f"the new pack has no phase '{project.phase}': the project could not move or be checked"
    if project.phase_before_hold and project.phase_before_hold not in ids:
        return f"the new pack has no phase '{project.phase_before_hold}' to resume to from '{project.phase}'"
    return ""


def diff_packs(ctx: Context, new_dir: str | Path, against: str | Path | None = None) -> tuple[list[PackChange], int]:
    """Projects whose next-gate decision (or rule outcomes) differ between two packs; and how many
    projects were compared."""
    old = load_pack(against) if against else load_rules(ctx)
    new = load_pack(new_dir)
    today = ctx.today()
    changes = []
    n = 0
    schedules = ScheduleCache(ctx, engine_fingerprint(), keep=False)  # reuses what sweeps kept
    for project, waivers, votes in _portfolio_with_schedules(ctx, schedules, today):
        n += 1
        facts = build_facts(project, today, schedule_of=schedules)
        a = _decide(old, project, facts, today, waivers, votes) if project.phase in old.lifecycle.phase_ids else None
        b = _decide(new, project, facts, today, waivers, votes) if project.phase in new.lifecycle.phase_ids else None
        stranded = _stranded(new, project)
        old_out = {r.id: r for r in a.results} if a else {}
        new_out = {r.id: r for r in b.results} if b else {}
        rules = []
        for rid in sorted(set(old_out) | set(new_out)) if not stranded else ():
            o = old_out[rid].outcome if rid in old_out else "absent"
            nn = new_out[rid].outcome if rid in new_out else "absent"
            if o != nn:
                src = new_out.get(rid) or old_out[rid]
                rules.append({"id": rid, "old": o, "new": nn, "title": src.title.get("en", "")})
        change = PackChange(
            project.code,
            project.phase,
            a.transition if a else "-",
            b.transition if b else "-",
            a.decision if a else "-",
            b.decision if b else "-",
            rules,
            stranded,
        )
        if change.decision_changed or rules or stranded:
            changes.append(change)
    return changes, n

"""Portfolio use cases: the next-gate decision of every project, and what a new rule pack would change.

``sweep`` reads the whole portfolio with one query per table (not one per project), builds each
project's facts once and evaluates its next gate. ``diff_packs`` evaluates two rule packs over the
same facts and lists the projects whose decision would change, with the rules that cause it — what a
PMO looks at before publishing a rule change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifecycle.domain.facts import build_facts
from lifecycle.domain.gates import Decision, Vote, Waiver
from lifecycle.domain.model import Project
from lifecycle.services.context import Context
from lifecycle.services.projects import load_rules


@dataclass
class PackChange:
    code: str
    phase: str
    old_transition: str
    new_transition: str
    old_decision: str
    new_decision: str
    rules: list[dict[str, str]] = field(default_factory=list)  # {"id", "old", "new", "title"}

    @property
    def decision_changed(self) -> bool:
        return self.old_decision != self.new_decision or self.old_transition != self.new_transition

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "phase": self.phase, "old": {"transition": self.old_transition,
                                                              "decision": self.old_decision},
                "new": {"transition": self.new_transition, "decision": self.new_decision},
                "decision_changed": self.decision_changed, "rules": self.rules}


Votes = list[tuple[str, Vote]]  # (transition, vote)


def _portfolio(ctx: Context, batch: int = 500) -> Iterator[tuple[Project, list[Waiver], Votes]]:
    waivers = ctx.store.all_records("waiver")
    votes = ctx.store.all_records("approval")
    codes = [s.code for s in ctx.store.list_projects()]
    for i in range(0, len(codes), batch):
        for p in ctx.store.get_many(codes[i:i + batch]):
            yield (p, [Waiver.from_dict(r.data) for r in waivers.get(p.code, [])],
                   [(str(r.data.get("transition", "")), Vote.from_dict(r.data)) for r in votes.get(p.code, [])])


def _decide(pack: Any, project: Project, facts: dict[str, Any], today: Any, waivers: list[Waiver],
            votes: Votes) -> Decision | None:
    from lifecycle.spec.evaluate import decide

    move = pack.machine.next_move(project.phase, project.phase_before_hold)
    if move is None:
        return None
    mine = [v for t, v in votes if t == move.name]
    d: Decision = decide(pack, move, project, facts, today, waivers, mine)
    return d


def sweep(ctx: Context, pack: Any = None) -> list[Decision]:
    """The next-gate decision of every project that has a next gate."""
    pack = pack or load_rules(ctx)
    today = ctx.today()
    out = []
    for project, waivers, votes in _portfolio(ctx):
        d = _decide(pack, project, build_facts(project, today), today, waivers, votes)
        if d is not None:
            out.append(d)
    return out


def diff_packs(ctx: Context, new_dir: str | Path, against: str | Path | None = None) -> tuple[list[PackChange], int]:
    """Projects whose next-gate decision (or rule outcomes) differ between two packs; and how many
    projects were compared."""
    from lifecycle.spec.rulepack import load_pack

    old = load_pack(against) if against else load_rules(ctx)
    new = load_pack(new_dir)
    today = ctx.today()
    changes = []
    n = 0
    for project, waivers, votes in _portfolio(ctx):
        n += 1
        facts = build_facts(project, today)
        a = _decide(old, project, facts, today, waivers, votes) if project.phase in old.lifecycle.phase_ids else None
        b = _decide(new, project, facts, today, waivers, votes) if project.phase in new.lifecycle.phase_ids else None
        old_out = {r.id: r for r in a.results} if a else {}
        new_out = {r.id: r for r in b.results} if b else {}
        rules = []
        for rid in sorted(set(old_out) | set(new_out)):
            o = old_out[rid].outcome if rid in old_out else "absent"
            nn = new_out[rid].outcome if rid in new_out else "absent"
            if o != nn:
                src = new_out.get(rid) or old_out[rid]
                rules.append({"id": rid, "old": o, "new": nn, "title": src.title.get("en", "")})
        change = PackChange(project.code, project.phase, a.transition if a else "-", b.transition if b else "-",
                            a.decision if a else "-", b.decision if b else "-", rules)
        if change.decision_changed or rules:
            changes.append(change)
    return changes, n

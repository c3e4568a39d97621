"""The project lifecycle: phases, transitions between them, and the state machine that moves a project.

Everything here comes from a rule pack's ``lifecycle.yaml``; no phase name is written in code. A PMO
can add a phase (say ``design`` between planning and execution) and the engine, gates and documents
follow.

* :class:`Phase`: an id, bilingual title, order, and kind: ``active`` (work happens), ``hold``
  (parked; ``resume`` returns to the phase it left) or ``final`` (nothing leaves it).
* :class:`TransitionDef`: a trigger name, its source phase(s) (``*`` = every active phase), its
  destination (none for ``resume``), its kind (``forward``, ``loop``, ``hold``, ``resume``,
  ``cancel``), the gate whose rules guard it and the approvals it needs.
* ``baseline_on_entry`` names the phases whose entry by a forward move saves a baseline (the
  moment a project commits to its plan).
* :func:`validate_lifecycle` returns every structural problem with its path in ``lifecycle.yaml``.
* :class:`PhaseMachine` answers which moves are allowed from a phase, which move reaches a target
  phase (``--to PHASE``) and performs a move with a ``transitions.Machine`` (auto transitions off,
  invalid triggers raise) bound to a small plain holder object, never to an ORM class. Gates are
  evaluated outside the machine (a failing condition in ``transitions`` just returns False): the
  service decides, then calls :meth:`PhaseMachine.perform`.

Depends on the standard library and ``transitions`` only.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lifecycle.domain.gates import ApprovalRequirement
from lifecycle.errors import IllegalTransition, InvalidInput

PHASE_KINDS = ("active", "hold", "final")
TRANSITION_KINDS = ("forward", "loop", "hold", "resume", "cancel")
ANY_ACTIVE = "*"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Names the state machine binds on the holder object, which a trigger name must not shadow.
RESERVED_TRIGGERS = frozenset({"state", "trigger", "phase_before_hold", "remember", "forget"})
RESERVED_PREFIXES = ("is_", "may_", "to_")

Finding = tuple[tuple[Any, ...], str]


@dataclass(frozen=True, slots=True)
class Phase:
    id: str
    title: Mapping[str, str]
    order: int
    kind: str = "active"
    description: str = ""

    def label(self, lang: str = "en") -> str:
        key = "zh" if lang.lower().startswith("zh") else "en"
        return self.title.get(key) or self.title.get("en") or self.title.get("zh") or self.id


@dataclass(frozen=True, slots=True)
class TransitionDef:
    name: str
    sources: tuple[str, ...]  # as written; may contain "*"
    dest: str  # "" for resume
    kind: str = "forward"
    gate: str = ""  # defaults to the name
    title: Mapping[str, str] = field(default_factory=dict)
    approvals: ApprovalRequirement | None = None
    description: str = ""
    sources_listed: bool = False  # ``from`` was written as a list (for error paths)

    @property
    def gate_id(self) -> str:
        return self.gate or self.name

    def label(self, lang: str = "en") -> str:
        key = "zh" if lang.lower().startswith("zh") else "en"
        return self.title.get(key) or self.title.get("en") or self.title.get("zh") or self.name


@dataclass(frozen=True, slots=True)
class Move:
    """One concrete move: a transition taken from ``source`` to ``dest``."""

    transition: TransitionDef
    source: str
    dest: str

    @property
    def name(self) -> str:
        return self.transition.name

    @property
    def gate(self) -> str:
        return self.transition.gate_id

    @property
    def kind(self) -> str:
        return self.transition.kind


@dataclass(frozen=True, slots=True)
class PhaseState:
    """Where a project is: its phase and, while on hold, the phase to resume to."""

    phase: str
    phase_before_hold: str = ""


@dataclass(frozen=True)
class LifecycleDef:
    phases: tuple[Phase, ...]
    transitions: tuple[TransitionDef, ...]
    initial: str
    # phases whose entry by a forward move saves a schedule/cost baseline (None: the pack says nothing)
    baseline_phases: tuple[str, ...] | None = None

    def phase(self, phase_id: str) -> Phase:
        for p in self.phases:
            if p.id == phase_id:
                return p
        raise IllegalTransition(
            f"unknown phase '{phase_id}'{_hint(phase_id, self.phase_ids)} (phases: {', '.join(self.phase_ids)})"
        )

    @property
    def phase_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.phases)

    def ids_of_kind(self, kind: str) -> tuple[str, ...]:
        return tuple(p.id for p in self.phases if p.kind == kind)

    def expanded_sources(self, t: TransitionDef) -> tuple[str, ...]:
        out: list[str] = []
        for s in t.sources:
            for pid in self.ids_of_kind("active") if s == ANY_ACTIVE else (s,):
                if pid not in out:
                    out.append(pid)
        return tuple(out)

    def transition(self, name: str) -> TransitionDef:
        for t in self.transitions:
            if t.name == name:
                return t
        names = [t.name for t in self.transitions]
        raise IllegalTransition(f"unknown transition '{name}'{_hint(name, names)} (transitions: {', '.join(names)})")

    def gate_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.gate_id for t in self.transitions))


def _hint(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --------------------------------------------------------------------------- validation
def validate_lifecycle(lc: LifecycleDef, *, check_reachability: bool = True) -> list[Finding]:
    """Every structural problem of a lifecycle, as (path in lifecycle.yaml, message).

    ``check_reachability`` is turned off by the loader when some phases or transitions could not be
    read at all, so a dropped transition does not also make its phase look unreachable.
    """
    out: list[Finding] = []
    ids = _check_phases(lc, out)
    kinds = {p.id: p.kind for p in lc.phases}
    _check_initial(lc, kinds, out)
    names: dict[str, int] = {}
    pairs: dict[tuple[str, str], str] = {}
    for j, t in enumerate(lc.transitions):
        base: tuple[Any, ...] = ("transitions", j)
        _check_transition_name(t, base, names, j, out)
        if t.kind not in TRANSITION_KINDS:
            out.append((base + ("kind",), f"'{t.kind}' is not one of: {', '.join(TRANSITION_KINDS)}"))
        _check_sources(t, base, kinds, out)
        _check_dest(lc, t, base, kinds, pairs, out)
        _check_approvals(t, base, out)
    _check_resumable(lc, kinds, ids, out)
    for k, pid in enumerate(lc.baseline_phases or ()):
        if pid not in kinds:
            out.append((("baseline_on_entry", k), f"unknown phase '{pid}'{_hint(pid, kinds)}"))
    # every phase can be reached from the initial phase (a phase added without transitions is a mistake)
    if check_reachability and lc.initial in kinds and not out:
        _check_reachable(lc, ids, out)
    return out


def _check_phases(lc: LifecycleDef, out: list[Finding]) -> dict[str, int]:
    """Phase ids well formed and unique, kinds known; returns each phase id's first index."""
    ids: dict[str, int] = {}
    for i, p in enumerate(lc.phases):
        if not NAME_RE.match(p.id):
            out.append((("phases", i, "id"), f"'{p.id}' is not a valid phase id (lower-case letters, digits and _)"))
        if p.id in ids:
            out.append((("phases", i, "id"), f"duplicate phase '{p.id}' (first at phases[{ids[p.id]}])"))
        else:
            ids[p.id] = i
        if p.kind not in PHASE_KINDS:
            out.append((("phases", i, "kind"), f"'{p.kind}' is not one of: {', '.join(PHASE_KINDS)}"))
    if not lc.phases:
        out.append((("phases",), "a lifecycle needs at least one phase"))
    return ids


def _check_initial(lc: LifecycleDef, kinds: dict[str, str], out: list[Finding]) -> None:
    if not lc.initial:
        out.append(((), "no initial phase: set 'initial' to the phase new projects start in"))
    elif lc.initial not in kinds:
        out.append((("initial",), f"initial phase '{lc.initial}' is not defined{_hint(lc.initial, kinds)}"))
    elif kinds[lc.initial] != "active":
        out.append((("initial",), f"initial phase '{lc.initial}' must be an active phase, not {kinds[lc.initial]}"))


def _check_transition_name(
    t: TransitionDef, base: tuple[Any, ...], names: dict[str, int], j: int, out: list[Finding]
) -> None:
    if not NAME_RE.match(t.name):
        out.append((base + ("name",), f"'{t.name}' is not a valid transition name (lower-case letters, digits, _)"))
    elif t.name in RESERVED_TRIGGERS or t.name.startswith(RESERVED_PREFIXES):
        out.append((base + ("name",), f"'{t.name}' is reserved by the state machine; choose another name"))
    if t.name in names:
        out.append((base + ("name",), f"duplicate transition '{t.name}' (first at transitions[{names[t.name]}])"))
    else:
        names[t.name] = j


def _check_sources(t: TransitionDef, base: tuple[Any, ...], kinds: dict[str, str], out: list[Finding]) -> None:
    """Each source phase exists and may be left by a transition of this kind."""
    if not t.sources:
        out.append((base + ("from",), "a transition needs at least one source phase ('from')"))
    for k, s in enumerate(t.sources):
        spath = base + (("from", k) if t.sources_listed else ("from",))
        if s == ANY_ACTIVE:
            continue
        if s not in kinds:
            out.append((spath, f"unknown phase '{s}'{_hint(s, kinds)}"))
        elif kinds[s] == "final":
            out.append((spath, f"'{s}' is a final phase: no transition may leave it"))
        elif t.kind == "resume" and kinds[s] != "hold":
            out.append((spath, f"a resume transition leaves a hold phase; '{s}' is {kinds[s]}"))
        elif t.kind != "resume" and t.kind != "cancel" and kinds[s] == "hold":
            out.append((spath, f"only resume and cancel transitions may leave the hold phase '{s}'"))


def _check_dest(
    lc: LifecycleDef,
    t: TransitionDef,
    base: tuple[Any, ...],
    kinds: dict[str, str],
    pairs: dict[tuple[str, str], str],
    out: list[Finding],
) -> None:
    """The destination exists and fits the transition's kind (a resume has none)."""
    if t.kind == "resume":
        if t.dest:
            out.append((base + ("to",), "a resume transition has no 'to': it returns to the phase before the hold"))
        if ANY_ACTIVE in t.sources:
            out.append((base + ("from",), "a resume transition leaves a hold phase, not '*'"))
        return
    if not t.dest:
        out.append((base, f"missing 'to' (the phase this {t.kind} transition leads to)"))
        return
    if t.dest not in kinds:
        out.append((base + ("to",), f"unknown phase '{t.dest}'{_hint(t.dest, kinds)}"))
        return
    dk = kinds[t.dest]
    if t.kind == "hold" and dk != "hold":
        out.append((base + ("to",), f"a hold transition leads to a hold phase; '{t.dest}' is {dk}"))
    if t.kind != "hold" and dk == "hold":
        out.append((base + ("to",), f"only a hold transition may lead to the hold phase '{t.dest}'"))
    if t.kind == "cancel" and dk != "final":
        out.append((base + ("to",), f"a cancel transition leads to a final phase; '{t.dest}' is {dk}"))
    if all(s in kinds or s == ANY_ACTIVE for s in t.sources):
        _check_ambiguous(lc, t, base, pairs, out)


def _check_ambiguous(
    lc: LifecycleDef, t: TransitionDef, base: tuple[Any, ...], pairs: dict[tuple[str, str], str], out: list[Finding]
) -> None:
    """No two transitions lead from the same phase to the same phase."""
    for s in lc.expanded_sources(t):
        if s == t.dest:
            continue
        key = (s, t.dest)
        if key in pairs and pairs[key] != t.name:
            out.append(
                (
                    base + ("to",),
                    f"'{pairs[key]}' already leads from '{s}' to '{t.dest}'; "
                    "two transitions between the same phases are ambiguous",
                )
            )
        pairs.setdefault(key, t.name)


def _check_approvals(t: TransitionDef, base: tuple[Any, ...], out: list[Finding]) -> None:
    if t.approvals is None:
        return
    a = t.approvals
    if a.n and not a.n_of_roles:
        out.append((base + ("approvals", "n_of", "roles"), "n_of needs the roles that may approve"))
    if a.n < 0 or (a.n_of_roles and a.n < 1):
        out.append((base + ("approvals", "n_of", "n"), "n must be at least 1"))


def _check_resumable(lc: LifecycleDef, kinds: dict[str, str], ids: dict[str, int], out: list[Finding]) -> None:
    """Every hold phase has a resume transition."""
    hold_ids = [p for p, k in kinds.items() if k == "hold"]
    if not hold_ids:
        return
    resumable = {s for t in lc.transitions if t.kind == "resume" for s in t.sources}
    for h in hold_ids:
        if h not in resumable:
            out.append((("phases", ids[h]), f"hold phase '{h}' has no resume transition"))


def _check_reachable(lc: LifecycleDef, ids: dict[str, int], out: list[Finding]) -> None:
    """Every phase can be reached from the initial phase."""
    reach = {lc.initial}
    changed = True
    while changed:
        changed = False
        for t in lc.transitions:
            srcs = lc.expanded_sources(t)
            # a resume only returns to a phase the project was already in: it reaches nothing new
            if t.kind == "resume" or not t.dest or not any(s in reach for s in srcs):
                continue
            if t.dest not in reach:
                reach.add(t.dest)
                changed = True
    for p in lc.phases:
        if p.id not in reach:
            out.append(
                (
                    ("phases", ids[p.id], "id"),
                    f"phase '{p.id}' cannot be reached from '{lc.initial}': no transition leads to it",
                )
            )


# --------------------------------------------------------------------------- the machine
class _Holder:
    """The plain object the state machine moves (``state`` is set by ``transitions``)."""

    state: str

    def __init__(self, phase_before_hold: str) -> None:
        self.phase_before_hold = phase_before_hold

    def remember(self) -> None:
        self.phase_before_hold = self.state

    def forget(self) -> None:
        self.phase_before_hold = ""


class PhaseMachine:
    """Allowed moves and their execution for one lifecycle definition (cheap to keep, thread-safe)."""

    def __init__(self, definition: LifecycleDef) -> None:
        self.definition = definition
        self._kinds = {p.id: p.kind for p in definition.phases}

    # ------------------------------------------------------------------ questions
    def _check_phase(self, phase: str) -> None:
        if phase not in self._kinds:
            self.definition.phase(phase)  # raises IllegalTransition with the list of phases

    def moves(self, phase: str, phase_before_hold: str = "") -> list[Move]:
        """Every move allowed from ``phase``, in lifecycle order."""
        self._check_phase(phase)
        out: list[Move] = []
        for t in self.definition.transitions:
            if phase not in self.definition.expanded_sources(t):
                continue
            if t.kind == "resume":
                if phase_before_hold and self._kinds.get(phase_before_hold) == "active":
                    out.append(Move(t, phase, phase_before_hold))
            else:
                out.append(Move(t, phase, t.dest))
        return out

    def _describe_allowed(self, phase: str, phase_before_hold: str) -> str:
        moves = self.moves(phase, phase_before_hold)
        if not moves:
            return (
                f"'{phase}' is a final phase: no transition leaves it"
                if self._kinds.get(phase) == "final"
                else f"no transition leaves '{phase}'"
            )
        return "allowed: " + ", ".join(f"{m.dest} ({m.name})" for m in moves)

    def move(self, phase: str, name: str, phase_before_hold: str = "") -> Move:
        """The move made by trigger ``name`` from ``phase``; IllegalTransition if it is not allowed."""
        self._check_phase(phase)
        t = self.definition.transition(name)
        if phase not in self.definition.expanded_sources(t):
            raise IllegalTransition(
                f"'{name}' cannot be taken from '{phase}'; {self._describe_allowed(phase, phase_before_hold)}"
            )
        if t.kind == "resume":
            if not phase_before_hold or self._kinds.get(phase_before_hold) != "active":
                raise IllegalTransition(f"cannot resume: the phase before the hold is unknown ('{phase_before_hold}')")
            return Move(t, phase, phase_before_hold)
        return Move(t, phase, t.dest)

    def move_to(self, phase: str, target: str, phase_before_hold: str = "") -> Move:
        """The move from ``phase`` to ``target`` (``--to PHASE``); IllegalTransition if there is none."""
        self._check_phase(phase)
        if target not in self._kinds:  # a mistyped --to is the user's mistake (exit 2), not a refusal
            ids = self.definition.phase_ids
            raise InvalidInput(f"unknown phase '{target}'{_hint(target, ids)} (phases: {', '.join(ids)})")
        for m in self.moves(phase, phase_before_hold):
            if m.dest == target:
                return m
        if self._kinds[phase] == "hold" and phase_before_hold and target != phase_before_hold:
            raise IllegalTransition(
                f"the project is on hold in '{phase}' and resumes to '{phase_before_hold}', "
                f"not '{target}'; {self._describe_allowed(phase, phase_before_hold)}"
            )
        if target == phase:
            raise IllegalTransition(
                f"the project is already in '{phase}'; {self._describe_allowed(phase, phase_before_hold)}"
            )
        raise IllegalTransition(
            f"no transition from '{phase}' to '{target}'; {self._describe_allowed(phase, phase_before_hold)}"
        )

    def next_move(self, phase: str, phase_before_hold: str = "") -> Move | None:
        """The default move for ``gate check`` without ``--to``: a forward move, else a resume."""
        moves = self.moves(phase, phase_before_hold)
        order = {p.id: p.order for p in self.definition.phases}
        for kind in ("forward", "resume", "loop"):
            candidates = [m for m in moves if m.kind == kind]
            if candidates:
                return min(candidates, key=lambda m: order.get(m.dest, 0))
        return None

    def resolve(
        self, phase: str, phase_before_hold: str = "", *, to: str | None = None, transition: str | None = None
    ) -> Move:
        """The move named by a transition, or reaching ``to``, or the next forward one."""
        if transition:
            m = self.move(phase, transition, phase_before_hold)
            if to and m.dest != to:
                raise IllegalTransition(f"'{transition}' leads to '{m.dest}', not '{to}'")
            return m
        if to:
            return self.move_to(phase, to, phase_before_hold)
        m2 = self.next_move(phase, phase_before_hold)
        if m2 is None:
            raise IllegalTransition(
                f"there is no next phase after '{phase}'; {self._describe_allowed(phase, phase_before_hold)}"
            )
        return m2

    # ------------------------------------------------------------------ doing
    def _machine(self, holder: _Holder, phase: str) -> Any:
        from transitions import Machine  # lazy: ~25 ms to import; `pmo --help` loads this module, moves nothing

        kinds = self._kinds
        specs: list[dict[str, Any]] = []
        for t in self.definition.transitions:
            sources = list(self.definition.expanded_sources(t))
            if t.kind == "resume":
                for dest in (p for p, k in kinds.items() if k == "active"):
                    specs.append(
                        {
                            "trigger": t.name,
                            "source": sources,
                            "dest": dest,
                            "after": "forget",
                            "conditions": [lambda d=dest: holder.phase_before_hold == d],
                        }
                    )
                continue
            spec: dict[str, Any] = {"trigger": t.name, "source": sources, "dest": t.dest}
            if t.kind == "hold":
                spec["before"] = "remember"
            elif any(kinds.get(s) == "hold" for s in sources):
                spec["after"] = "forget"
            specs.append(spec)
        return Machine(
            model=holder,
            states=list(kinds),
            transitions=specs,
            initial=phase,
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )

    def perform(self, phase: str, name: str, phase_before_hold: str = "") -> PhaseState:
        """Move from ``phase`` by trigger ``name``; the new phase and phase-before-hold.

        Raises IllegalTransition (with the allowed moves) if the move is not allowed. Evaluating the
        gate is the caller's job, before calling this.
        """
        from transitions.core import MachineError  # lazy: see _machine

        expected = self.move(phase, name, phase_before_hold)
        holder = _Holder(phase_before_hold if self._kinds.get(phase) == "hold" else "")
        machine = self._machine(holder, phase)
        try:
            moved = holder.trigger(name)  # type: ignore[attr-defined]
        except MachineError as exc:
            raise IllegalTransition(
                f"'{name}' cannot be taken from '{phase}'; {self._describe_allowed(phase, phase_before_hold)}"
            ) from exc
        del machine
        if not moved or holder.state != expected.dest:
            raise IllegalTransition(f"'{name}' from '{phase}' did not reach '{expected.dest}'")
        return PhaseState(holder.state, holder.phase_before_hold)


__all__ = [
    "ANY_ACTIVE",
    "PHASE_KINDS",
    "TRANSITION_KINDS",
    "LifecycleDef",
    "Move",
    "Phase",
    "PhaseMachine",
    "PhaseState",
    "TransitionDef",
    "validate_lifecycle",
]

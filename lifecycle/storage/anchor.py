"""Anchoring the audit trail outside the database: state hashes and keyed MACs on events.

The hash chain (:func:`~lifecycle.storage.protocol.chain_hash`) shows that rows were edited or
deleted only to someone who cannot recompute it; anyone with write access to the database can. Two
things anchor it:

* **The state an event produced.** Every event written carries ``state``: a hash per collection of
  the project's audited state after the write (``project``: charter, phase and calendar; one per
  section such as ``tasks`` or ``milestones``; ``records.<kind>`` for the system records that decide
  gates: approvals, waivers, gate reviews, phase changes, client sign-offs), and ``state_hash`` over
  them. Recomputing the current state and comparing it with the last event's shows a direct edit of
  a row, naming the collection. Delivery logs, notifications and alerts are operational logs, not
  decision inputs, and are left out (a skipped notification is logged without an event).
  A write that finds the stored rows already differing from the last event's state (an edit made
  outside pmo before a normal change) lists those collections in ``state["drift"]``, so the next
  write cannot launder the edit.
* **A key the database does not hold.** With the workspace's audit key every event carries ``mac``,
  HMAC-SHA256 over its chain hash and its state hash. A forged chain or a forged state cannot carry
  a valid MAC without the key.

Everything here is pure: the stores call it inside their write transaction, the services call it
when verifying.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import is_dataclass
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from operator import attrgetter
from typing import Any

from lifecycle.domain.fields import FieldInfo, fields_of
from lifecycle.domain.model import SECTIONS, AuditEvent, Project
from lifecycle.storage.protocol import verify_chain

STATE_RECORD_KINDS = ("approval", "waiver", "gate_review", "phase_change", "client_signoff")
"""The system record kinds that are part of a project's audited state (they decide gates)."""

PROJECT_PART = "project"
RECORD_PREFIX = "records."
PROJECT_PARTS = (PROJECT_PART, *SECTIONS)
RECORD_PARTS = tuple(RECORD_PREFIX + k for k in STATE_RECORD_KINDS)
ALL_PARTS = (*PROJECT_PARTS, *RECORD_PARTS)

_MAC_CONTEXT = b"pmo-audit-event-v1\n"
UNANCHORED = "the trail is not anchored"
"""Words of the one problem ``pmo audit anchor`` resolves (a project with no sealed event)."""
_CENT = Decimal("0.01")


# ------------------------------------------------------------------ canonical values
# Each model class gets a plan once: the getter of all its fields and, per field, the conversion its
# value needs so that it hashes the same whichever store it was read from (floats as floats, money to
# the cent, times in UTC); plain text, integers, flags and lists of them pass unchanged. A 5,000-task
# project is hashed in a few hundred milliseconds this way.
_Convert = Callable[[Any], Any]
_PLANS: dict[type, tuple[Callable[[Any], Any], tuple[tuple[int, _Convert], ...]]] = {}
_PASS = ("str", "int", "bool", "enum")


def _money(v: Any) -> Any:
    return None if v is None else format(Decimal(v).quantize(_CENT, rounding=ROUND_HALF_UP), "f")


def _float(v: Any) -> Any:
    return None if v is None or isinstance(v, bool) else float(v)


def _when(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, datetime):
        at = v.replace(tzinfo=timezone.utc) if v.tzinfo is None else v.astimezone(timezone.utc)
        return at.isoformat(timespec="microseconds")
    return v.isoformat() if isinstance(v, date) else v


def _converter(info: FieldInfo) -> _Convert | None:
    """The conversion a field's value needs (None: it hashes as it is)."""
    kind = info.kind
    if kind in _PASS:
        return None
    if kind == "list":
        assert info.item is not None
        item = _converter(info.item)
        if item is None:
            return None  # a tuple of plain values dumps as a JSON list
        return lambda v: None if v is None else [item(x) for x in v]
    simple: dict[str, _Convert] = {"float": _float, "money": _money, "date": _when, "datetime": _when}
    convert: _Convert = simple.get(kind, _value)
    return convert


def _plan(cls: type) -> tuple[Callable[[Any], Any], tuple[tuple[int, _Convert], ...]]:
    plan = _PLANS.get(cls)
    if plan is None:
        infos = fields_of(cls)
        names = [i.name for i in infos]
        getter = attrgetter(*names) if len(names) > 1 else (lambda o: (getattr(o, names[0]),))
        steps = tuple((n, c) for n, c in ((n, _converter(i)) for n, i in enumerate(infos)) if c is not None)
        plan = _PLANS[cls] = (getter, steps)
    return plan


def _value(value: Any) -> Any:
    """Any model value as plain JSON values, the same for what was written and what is read back."""
    if is_dataclass(value) and not isinstance(value, type):
        getter, steps = _plan(type(value))
        row = list(getter(value))
        for n, convert in steps:
            row[n] = convert(row[n])
        return row
    if isinstance(value, (datetime, date)):
        return _when(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, (list, tuple)):
        return [_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, float) and value.is_integer():
        return int(value)  # a JSON cell may hand back 2.0 for 2
    return value


def _digest(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------ state
def project_parts(project: Project) -> dict[str, str]:
    """The hash of each part of a project's stored rows (its head and every section)."""
    head = {
        "charter": _value(project.charter),
        "phase": project.phase,
        "phase_before_hold": project.phase_before_hold,
        "calendar": _value(project.calendar),
    }
    parts = {PROJECT_PART: _digest(head)}
    for name in SECTIONS:
        parts[name] = _digest([_value(item) for item in project.section(name)])
    return parts


def record_parts(records: Iterable[Any], kinds: Iterable[str] = STATE_RECORD_KINDS) -> dict[str, str]:
    """The hash of each audited record kind in ``kinds`` (records of other kinds are ignored).

    ``records`` are :class:`~lifecycle.storage.protocol.Record` objects; their order does not matter.
    """
    wanted = set(kinds) & set(STATE_RECORD_KINDS)
    by_kind: dict[str, list[Any]] = {k: [] for k in wanted}
    for r in records:
        if r.kind in by_kind:
            by_kind[r.kind].append([r.key, _value(r.data), _value(r.created_at)])
    return {RECORD_PREFIX + k: _digest(sorted(rows, key=lambda x: str(x[0]))) for k, rows in by_kind.items()}


def make_state(parts: Mapping[str, str], drift: Sequence[str] = ()) -> dict[str, Any]:
    """The ``state`` an event stores: the part hashes and, if any, the parts found edited before the write."""
    state: dict[str, Any] = {"parts": dict(sorted(parts.items()))}
    if drift:
        state["drift"] = sorted(set(drift))
    return state


def state_hash(state: Mapping[str, Any]) -> str:
    return _digest(state)


def drift_of(before: Mapping[str, str], previous: Mapping[str, str]) -> list[str]:
    """Parts whose stored rows (``before`` the write) differ from what the last event recorded."""
    return [k for k, v in before.items() if k in previous and previous[k] != v]


def stored_before(
    previous: Mapping[str, str],
    kinds: Iterable[str],
    current: Project | None,
    stored_records: Callable[[Iterable[str]], dict[str, str]],
) -> list[str]:
    """The parts a write touches that were found edited outside pmo before it (see ``drift`` above)."""
    if not previous:
        return []
    before = stored_records(kinds)
    if current is not None:
        before.update(project_parts(current))
    return drift_of(before, previous)


def state_after_write(
    previous: Mapping[str, str],
    kinds: Iterable[str],
    *,
    project: Project | None,
    current: Project | None,
    load_project: Callable[[], Project],
    stored_records: Callable[[Iterable[str]], dict[str, str]],
    write: Callable[[], None],
) -> dict[str, Any]:
    """Run ``write`` (the records of the write) and return the ``state`` its events record: drift found
    before it, then the part hashes after it (both stores call this inside their transaction)."""
    kinds = set(kinds)
    drift = stored_before(previous, kinds, current, stored_records)
    write()
    return make_state(written_state(previous, kinds, project, load_project, stored_records), drift)


def written_state(
    previous: Mapping[str, str],
    kinds: Iterable[str],
    project: Project | None,
    load_project: Callable[[], Project],
    stored_records: Callable[[Iterable[str]], dict[str, str]],
) -> dict[str, str]:
    """The part hashes after a write: ``project`` (when the write saved it) and the record ``kinds`` it
    wrote are hashed afresh, other parts keep what the last event recorded (``previous``), and parts it
    lacks (the first sealed event of an older trail) are hashed from the stored rows."""
    parts = dict(previous)
    if project is not None:
        parts.update(project_parts(project))
    elif any(k not in parts for k in PROJECT_PARTS):
        parts.update(project_parts(load_project()))
    stale = set(kinds) | {k for k in STATE_RECORD_KINDS if RECORD_PREFIX + k not in parts}
    parts.update(stored_records(stale))
    return parts


def event_mac(key: bytes, chain: str, state_digest: str) -> str:
    """HMAC-SHA256 of an event's chain hash and state hash with the workspace's audit key."""
    return hmac.new(key, _MAC_CONTEXT + f"{chain}\n{state_digest}".encode("ascii"), hashlib.sha256).hexdigest()


def seal(event: AuditEvent, state: Mapping[str, Any], key: bytes | None) -> tuple[dict[str, Any], str, str]:
    """``state``, ``state_hash`` and ``mac`` for an event whose chain hash is set ("" without a key)."""
    digest = state_hash(state)
    return dict(state), digest, event_mac(key, event.hash, digest) if key else ""


def parts_of(event: AuditEvent | None) -> dict[str, str]:
    """The part hashes an event recorded (empty for events written before state hashes)."""
    if event is None or not isinstance(event.state, dict):
        return {}
    parts = event.state.get("parts")
    return dict(parts) if isinstance(parts, dict) else {}


# ------------------------------------------------------------------ verification
def mac_problems(events: Sequence[AuditEvent], key: bytes | None) -> list[str]:
    """What is wrong with the MACs of one project's events, given the audit key (None: not available)."""
    if not events:
        return []
    code = events[0].project
    keyed = [e for e in events if e.mac]
    if key is None:
        if keyed:
            return [
                f"{code}: its events carry MACs but no audit key is available here, so the trail cannot be "
                "checked against forgery: set PMO_AUDIT_KEY or PMO_AUDIT_KEY_FILE, or restore the "
                "workspace's audit.key"
            ]
        return []
    problems = []
    bad = [e for e in keyed if not hmac.compare_digest(e.mac, event_mac(key, e.hash, e.state_hash))]
    if bad and len(bad) == len(keyed):
        problems.append(
            f"{code}: no event's MAC matches the audit key: the trail was rewritten without the key, "
            "or this is not the key it was written with (check PMO_AUDIT_KEY / audit.key)"
        )
    else:
        problems += [f"{code}: event {e.seq} ({e.action}) has a MAC that does not match: it was forged" for e in bad]
    first = next((i for i, e in enumerate(events) if e.mac), None)
    if first is None:
        problems.append(f"{code}: no event carries a MAC: {UNANCHORED} (run `pmo audit anchor`)")
        return problems
    unsealed = [e for e in events[first:] if not e.mac]
    problems += [f"{code}: event {e.seq} ({e.action}) carries no MAC after the trail was anchored" for e in unsealed]
    if not events[-1].mac and first < len(events) - 1:
        problems.append(f"{code}: the last event carries no MAC: events after the anchor were forged")
    return problems


def state_problems(events: Sequence[AuditEvent], current: Mapping[str, str]) -> list[str]:
    """Differences between the current state and the one the last event recorded, and recorded drift."""
    if not events:
        return []
    code = events[0].project
    problems = []
    for e in events:
        drift = e.state.get("drift") if isinstance(e.state, dict) else None
        if drift:
            problems.append(
                f"{code}: before event {e.seq} ({e.action}) the stored {', '.join(map(str, drift))} "
                "had been changed outside pmo"
            )
    last = events[-1]
    recorded = parts_of(last)
    if not recorded:
        return problems
    changed = [k for k in ALL_PARTS if k in recorded and k in current and recorded[k] != current[k]]
    if changed:
        problems.append(
            f"{code}: the stored {', '.join(changed)} differ from the state recorded by the last event "
            f"({last.seq}, {last.action}): rows were edited outside pmo"
        )
    return problems


def verify_trail(
    events: Sequence[AuditEvent], head_seq: int, head_hash: str, key: bytes | None, current: Mapping[str, str]
) -> list[str]:
    """Every problem with one project's trail: the chain, the MACs, and the current state against the last event."""
    return verify_chain(events, head_seq, head_hash) + mac_problems(events, key) + state_problems(events, current)

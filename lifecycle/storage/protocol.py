"""The storage seam: what services need from a database, as a Protocol, plus the shared helpers.

Two implementations satisfy it and one contract test suite runs against both: the in-memory
:class:`~lifecycle.storage.memory.MemoryStore` (tests, rule dry-runs) and the SQLAlchemy
:class:`~lifecycle.storage.sql.SqlStore` (SQLite embedded, PostgreSQL for teams).

Design decisions the contract pins down:

* **Whole-aggregate writes with optimistic concurrency.** ``save`` takes the new project and the
  version it was derived from; it writes only the rows that differ, bumps the version, and appends the
  audit events and system records given with it, all in one transaction. A stale version raises
  :class:`~lifecycle.errors.ConcurrentUpdate` and writes nothing.
* **Hash-chained audit trail per project.** Each event's hash covers the previous hash and the event;
  the project row keeps the head (sequence and hash) so deleting the newest rows is detected too.
* **System records** (gate reviews, approvals, waivers, phase changes, alerts, deliveries) are JSON
  documents with a ``schema_version``, keyed by (project, kind, key).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Protocol

from lifecycle.domain.model import AuditEvent, DocumentRecord, Project

RECORD_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Record:
    """A system record: ``kind`` such as ``gate_review``, ``approval``, ``waiver``, ``phase_change``."""

    project: str
    kind: str
    key: str
    data: dict[str, Any]
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


@dataclass(frozen=True, slots=True)
class ProjectSummary:
    code: str
    name: str
    phase: str
    locale: str
    client: str
    version: int
    updated_at: datetime | None = None
    audit_head: str = ""  # the hash at the head of the project's audit chain: changes with every event


def _canon(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _canon(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canon(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral_value() else str(value)
    return value


def canonical_json(value: Any) -> str:
    """Stable JSON for hashing: sorted keys, ISO dates, Decimal as text, no whitespace."""
    return json.dumps(_canon(value), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def chain_hash(prev_hash: str, event: AuditEvent, seq: int) -> str:
    body = canonical_json(
        {
            "seq": seq,
            "project": event.project,
            "action": event.action,
            "actor": event.actor,
            "at": event.at.astimezone(timezone.utc).isoformat(timespec="microseconds"),
            "entity": event.entity,
            "entity_id": event.entity_id,
            "data": event.data,
        }
    )
    return hashlib.sha256((prev_hash + "\n" + body).encode()).hexdigest()


def verify_chain(events: Sequence[AuditEvent], head_seq: int, head_hash: str) -> list[str]:
    """Problems with one project's chain (empty list: intact)."""
    problems = []
    prev = ""
    expected_seq = 1
    for ev in events:
        if ev.seq != expected_seq:
            problems.append(f"{ev.project}: event {expected_seq} is missing (found {ev.seq})")
            expected_seq = ev.seq
        if ev.prev_hash != prev:
            problems.append(f"{ev.project}: event {ev.seq} does not follow the previous event")
        if chain_hash(ev.prev_hash, ev, ev.seq) != ev.hash:
            problems.append(f"{ev.project}: event {ev.seq} ({ev.action}) was altered")
        prev = ev.hash
        expected_seq += 1
    last_seq = events[-1].seq if events else 0
    if last_seq != head_seq or (events and prev != head_hash):
        problems.append(
            f"{events[0].project if events else '?'}: the trail ends at event {last_seq} "
            f"but the project records {head_seq} events: events were deleted"
        )
    return problems


class Store(Protocol):
    """What services need from storage. Every method is one transaction."""

    def list_projects(self) -> list[ProjectSummary]: ...

    def exists(self, code: str) -> bool: ...

    def get(self, code: str) -> Project:
        """The whole project; NotFound if there is none."""
        ...

    def save(
        self,
        project: Project,
        *,
        expected_version: int | None,
        events: Iterable[AuditEvent] = (),
        records: Iterable[Record] = (),
    ) -> Project:
        """Create (expected_version None) or update a project; returns it with its new version."""
        ...

    def add_records(self, code: str, records: Iterable[Record], events: Iterable[AuditEvent] = ()) -> None:
        """Add or replace system records without changing the project's version."""
        ...

    def records(self, code: str, kind: str) -> list[Record]: ...

    def get_record(self, code: str, kind: str, key: str) -> Record | None: ...

    def all_records(self, kind: str) -> dict[str, list[Record]]:
        """Every record of ``kind``, by project code (one read, for portfolio sweeps)."""
        ...

    def get_many(self, codes: Sequence[str] | None = None) -> list[Project]:
        """Many projects at once (all when ``codes`` is None), ordered by code."""
        ...

    def derived(self, kind: str, valid: Mapping[str, str] | None = None) -> dict[str, tuple[str, dict[str, Any]]]:
        """Derived data of ``kind`` (e.g. ``next_gate``) by project code: (key of its inputs, data).

        With ``valid`` (code -> the key its inputs have now), only the entries stored under that key.
        A cache, never history: not audited, dropped with its project, safe to lose.
        """
        ...

    def put_derived(self, kind: str, entries: Mapping[str, tuple[str, Mapping[str, Any]]]) -> None:
        """Store or replace derived data by project code; codes of projects that are gone are ignored."""
        ...

    def add_document(self, doc: DocumentRecord, events: Iterable[AuditEvent] = ()) -> None: ...

    def documents(self, code: str | None = None) -> list[DocumentRecord]: ...

    def find_document(self, sha256: str) -> DocumentRecord | None: ...

    def audit(self, code: str) -> list[AuditEvent]: ...

    def verify_audit(self, code: str | None = None) -> list[str]: ...

    def close(self) -> None: ...


def jsonable(value: Any) -> Any:
    """Plain JSON types only: dates as ISO text, Decimal as text, tuples as lists (for JSON columns)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value

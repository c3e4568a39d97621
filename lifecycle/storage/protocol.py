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
  Each event also records the state it produced and, with the workspace's audit key, a MAC
  (:mod:`lifecycle.storage.anchor`), so a forged chain or a direct edit of the rows is detected.
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


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user account as stored: ``email`` lower-case and unique, ``password_hash`` argon2 or empty."""

    id: str
    email: str
    name: str
    locale: str = "en"
    password_hash: str = ""
    disabled: bool = False
    global_roles: tuple[str, ...] = ()
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


@dataclass(frozen=True, slots=True)
class Credential:
    """A session or an API token: only the sha256 of the secret is stored, never the secret."""

    token_hash: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    last_seen: datetime
    auth_method: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class ClientLink:
    """A signed link issued to a client for one document and one purpose; ``used_at`` once answered."""

    jti: str
    document_id: str
    sha256: str
    recipient: str
    purpose: str
    expires_at: datetime
    created_at: datetime
    used_at: datetime | None = None


CREDENTIAL_KINDS = ("session", "api_token")


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

    def audit_head(self, code: str) -> tuple[int, str]:
        """The sequence and hash of the project's newest audit event ((0, "") before any)."""
        ...

    def set_audit_key(self, key: bytes | None) -> None:
        """The workspace's audit key: events written are sealed with it, ``verify_audit`` checks with it."""
        ...

    def verify_audit(self, code: str | None = None) -> list[str]:
        """Problems with the trails (chain, MACs, current state against the last event); empty: intact."""
        ...

    # ------------------------------------------------------------ identity
    def add_user(self, user: UserRecord) -> None:
        """Create a user; ConcurrentUpdate if the e-mail (lower-case) is taken."""
        ...

    def update_user(self, user: UserRecord) -> None:
        """Replace a user's name, locale, password hash, disabled flag and global roles (NotFound if none)."""
        ...

    def get_user(self, user_id: str) -> UserRecord | None: ...

    def find_user(self, email: str) -> UserRecord | None:
        """The user with this e-mail (compared lower-case), if any."""
        ...

    def list_users(self) -> list[UserRecord]: ...

    def add_credential(self, kind: str, cred: Credential) -> None:
        """Store a session (``kind`` ``session``) or an API token (``api_token``)."""
        ...

    def get_credential(self, kind: str, token_hash: str) -> Credential | None: ...

    def touch_credential(self, kind: str, token_hash: str, at: datetime) -> None: ...

    def delete_credential(self, kind: str, token_hash: str) -> None: ...

    def add_login_failure(self, keys: Sequence[str], at: datetime) -> None:
        """Note one failed sign-in under each key (``email:...``, ``ip:...``)."""
        ...

    def login_failures(self, key: str, since: datetime) -> list[datetime]:
        """Times of the failures noted under ``key`` at or after ``since``, oldest first."""
        ...

    def clear_login_failures(self, key: str) -> None: ...

    def add_client_link(self, link: ClientLink) -> None: ...

    def get_client_link(self, jti: str) -> ClientLink | None: ...

    def save_with_link(
        self,
        jti: str,
        used_at: datetime,
        project: Project,
        *,
        expected_version: int,
        events: Iterable[AuditEvent] = (),
        records: Iterable[Record] = (),
    ) -> Project:
        """Mark the client link used and save the project in ONE transaction.

        LinkUsed (and nothing written) if the link was used already, also by a concurrent caller;
        ConcurrentUpdate (and the link left unused) if the project changed.
        """
        ...

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

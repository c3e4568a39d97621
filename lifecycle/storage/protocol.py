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
* **Issuing a document is serialised per (project, kind, subject)** across threads, processes and
  machines: :meth:`Store.issuing` holds a lock (PostgreSQL advisory transaction lock, on a SQLite
  file a lock file per key beside the database, a lock per key in memory) during which the issuer
  looks for the document again and registers a new one with its bytes, in one transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Protocol

from lifecycle.domain.limits import path_text, project_problems, stored_problems
from lifecycle.domain.model import AuditEvent, DocumentRecord, Project
from lifecycle.errors import Problem, SpecError

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

OUTBOX_STATES = ("pending", "sending", "sent", "failed", "uncertain")
"""States of an outbox row: ``pending`` (written, or a transient failure to retry), ``sending`` (the
SMTP transaction may be under way), ``sent``, ``failed`` (refused for good) and ``uncertain`` (found
``sending`` by a later attempt: the sender died mid-transaction, the message may have gone out)."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One e-mail of a document to a set of recipients, written with its Message-ID before it is sent.

    ``key`` is the delivery's idempotency key (unique); ``recipients`` the ``To`` mailboxes as sent;
    ``id`` is given by the store. ``requested_by`` names who asked for the e-mail (a user or a flow).
    """

    key: str
    project: str
    document_id: str
    number: str
    recipients: tuple[str, ...]
    subject: str
    message_id: str
    requested_by: str
    state: str = "pending"
    attempts: int = 0
    last_error: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    updated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    id: int = 0


@dataclass(frozen=True, slots=True)
class SharedSettings:
    """One push of the workspace settings every worker reads (``pmo settings push``), chained by hash.

    ``values`` maps a setting's name (``smtp``, ``webhook``, ``signing``, ``base_url``, ``documents_dir``,
    ``supplier``) to its value; secrets are named as environment variables (``password_env`` ...), never
    stored. Pushes are append-only: the newest is in force, the others are its history.
    """

    seq: int
    values: dict[str, Any]
    actor: str
    at: datetime
    prev_hash: str = ""
    hash: str = ""


def settings_hash(prev_hash: str, seq: int, values: Mapping[str, Any], actor: str, at: datetime) -> str:
    """The chain hash of a settings push (what :func:`verify_settings` recomputes)."""
    when = at.astimezone(timezone.utc).isoformat(timespec="microseconds")
    body = canonical_json({"seq": seq, "values": values, "actor": actor, "at": when})
    return hashlib.sha256((prev_hash + "\n" + body).encode()).hexdigest()


def verify_settings(history: Sequence[SharedSettings]) -> list[str]:
    """Problems with the chain of settings pushes (empty list: intact)."""
    problems: list[str] = []
    prev = ""
    for i, item in enumerate(history, start=1):
        if item.seq != i:
            problems.append(f"settings push {i} is missing (found {item.seq})")
        elif item.prev_hash != prev or settings_hash(prev, item.seq, item.values, item.actor, item.at) != item.hash:
            problems.append(f"settings push {item.seq} was changed after it was recorded")
        prev = item.hash
    return problems


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


def issue_lock_key(code: str, kind: str, subject: str) -> int:
    """The 64-bit signed key of the issuing lock of (project, kind, subject) (PostgreSQL advisory locks)."""
    digest = hashlib.sha256(f"pmo-issue\0{code}\0{kind}\0{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class IssueSession(Protocol):
    """What an issuer may do while it holds the issuing lock of one (project, kind, subject)."""

    def documents(self) -> list[DocumentRecord]:
        """The project's registered documents, read under the lock: a concurrent issuer's are included."""
        ...

    def register(self, doc: DocumentRecord, content: bytes, events: Iterable[AuditEvent] = ()) -> None:
        """Register ``doc``, its bytes and audit events; committed when the lock is released, not before."""
        ...


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

    def add_document(
        self, doc: DocumentRecord, events: Iterable[AuditEvent] = (), content: bytes | None = None
    ) -> None:
        """Register a document (and its bytes when given); StorageError/ConcurrentUpdate if its id is taken."""
        ...

    def issuing(self, code: str, kind: str, subject: str) -> AbstractContextManager[IssueSession]:
        """Hold the issuing lock of (project, kind, subject) for one transaction (see the module doc)."""
        ...

    def document_content(self, doc_id: str) -> bytes | None:
        """The stored bytes of a registered document (None when the document was registered without them)."""
        ...

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

    # ------------------------------------------------------------ e-mail outbox
    def outbox_add(self, row: OutboxRow) -> OutboxRow:
        """Store a new row (the store gives its id) unless a row with its key exists; returns the
        stored row, which is the existing one in that case. NotFound if the project does not exist."""
        ...

    def outbox_get(self, row_id: int) -> OutboxRow | None: ...

    def outbox_find(self, key: str) -> OutboxRow | None: ...

    def outbox_rows(self, code: str | None = None, state: str | None = None) -> list[OutboxRow]:
        """Rows of a project (every project when None), in one state when given, oldest first."""
        ...

    def outbox_update(
        self,
        row: OutboxRow,
        *,
        expect: Sequence[str],
        records: Iterable[Record] = (),
        events: Iterable[AuditEvent] = (),
    ) -> OutboxRow:
        """Write ``row``'s state, attempts, last error, subject and updated time, with the records and
        audit events, in ONE transaction, only if the stored row is still in one of the ``expect``
        states (a compare-and-set); ConcurrentUpdate and nothing written otherwise."""
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

    def shared_settings(self) -> SharedSettings | None:
        """The settings push in force (the newest), None if nothing was ever pushed."""
        ...

    def settings_history(self) -> list[SharedSettings]:
        """Every settings push, oldest first."""
        ...

    def push_settings(self, values: Mapping[str, Any], *, actor: str, at: datetime) -> SharedSettings:
        """Record a new settings push (chained to the previous one); a concurrent push raises ConcurrentUpdate."""
        ...

    def close(self) -> None: ...


def refuse_beyond_limits(what: str, problems: list[tuple[tuple[Any, ...], str]]) -> None:
    """Values out of their limits (:mod:`lifecycle.domain.limits`) never reach a store: one SpecError
    naming each field, raised before anything is written."""
    if problems:
        raise SpecError(
            [Problem(what, None, path_text(path), message) for path, message in problems],
            "refused before writing to the database, nothing was written",
        )


def writable(
    project: Project | None, events: Iterable[AuditEvent], records: Iterable[Record]
) -> tuple[list[AuditEvent], list[Record]]:
    """The events and records of one write, checked with the project against the limits (a store
    calls it before it changes anything)."""
    events, records = list(events), list(records)
    if project is not None:
        refuse_beyond_limits(f"project {project.code}", project_problems(project))
    for ev in events:
        refuse_beyond_limits(f"audit event {ev.action}", stored_problems(jsonable(ev.data), ("data",)))
    for rec in records:
        refuse_beyond_limits(f"{rec.kind} record {rec.key}", stored_problems(jsonable(rec.data), ("data",)))
    return events, records


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

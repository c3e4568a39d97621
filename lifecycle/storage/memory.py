"""In-memory implementation of the Store protocol: for tests and for dry runs over copies.

It behaves like the SQL store in everything the contract suite checks (versions, conflicts, audit
chain, records, documents); it keeps frozen objects, so nothing a caller holds can change it.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from lifecycle.domain.limits import stored_problems
from lifecycle.domain.model import AuditEvent, DocumentRecord, Project, replace
from lifecycle.errors import ConcurrentUpdate, InvalidInput, LinkUsed, NotFound, StorageError
from lifecycle.storage import anchor
from lifecycle.storage.protocol import (
    CREDENTIAL_KINDS,
    ClientLink,
    Credential,
    IssueSession,
    OutboxRow,
    ProjectSummary,
    Record,
    SharedSettings,
    UserRecord,
    chain_hash,
    jsonable,
    refuse_beyond_limits,
    settings_hash,
    writable,
)


class _MemoryIssue:
    """An issuing session on the memory store: registering takes effect at once (nothing to roll back)."""

    def __init__(self, store: MemoryStore, code: str) -> None:
        self._store = store
        self._code = code

    def documents(self) -> list[DocumentRecord]:
        return self._store.documents(self._code)

    def register(self, doc: DocumentRecord, content: bytes, events: Iterable[AuditEvent] = ()) -> None:
        self._store.add_document(doc, events, content)


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._projects: dict[str, Project] = {}
        self._updated: dict[str, datetime] = {}
        self._audit: dict[str, list[AuditEvent]] = {}
        self._head: dict[str, tuple[int, str]] = {}
        self._records: dict[tuple[str, str, str], Record] = {}
        self._docs: list[DocumentRecord] = []
        self._contents: dict[str, bytes] = {}  # document id -> its bytes
        self._issue_locks: dict[tuple[str, str, str], threading.Lock] = {}
        self._derived: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}  # (kind, code) -> (key, data)
        self._users: dict[str, UserRecord] = {}
        self._creds: dict[tuple[str, str], Credential] = {}
        self._failures: list[tuple[str, datetime]] = []
        self._links: dict[str, ClientLink] = {}
        self._outbox: dict[int, OutboxRow] = {}
        self._settings: list[SharedSettings] = []
        self._audit_key: bytes | None = None

    def set_audit_key(self, key: bytes | None) -> None:
        self._audit_key = key

    # ---------------------------------------------------------------- projects
    def list_projects(self) -> list[ProjectSummary]:
        with self._lock:
            return [
                ProjectSummary(
                    p.code,
                    p.charter.name,
                    p.phase,
                    p.charter.locale,
                    p.charter.client.name,
                    p.version,
                    self._updated.get(p.code),
                    self._head.get(p.code, (0, ""))[1],
                )
                for p in sorted(self._projects.values(), key=lambda p: p.code)
            ]

    def exists(self, code: str) -> bool:
        return code in self._projects

    def get(self, code: str) -> Project:
        with self._lock:
            try:
                return self._projects[code]
            except KeyError:
                raise NotFound(f"no project '{code}'") from None

    def save(
        self,
        project: Project,
        *,
        expected_version: int | None,
        events: Iterable[AuditEvent] = (),
        records: Iterable[Record] = (),
    ) -> Project:
        events, records = writable(project, events, records)
        with self._lock:
            current = self._projects.get(project.code)
            if expected_version is None:
                if current is not None:
                    raise ConcurrentUpdate(f"project '{project.code}' already exists")
                new_version = 1
            else:
                if current is None:
                    raise NotFound(f"no project '{project.code}'")
                if current.version != expected_version:
                    raise ConcurrentUpdate(
                        f"project '{project.code}' was changed by someone else (version {current.version}, "
                        f"expected {expected_version}); reload and try again"
                    )
                new_version = expected_version + 1
            saved: Project = replace(project, version=new_version)
            self._projects[project.code] = saved
            self._updated[project.code] = datetime.now(timezone.utc)
            self._write_audited(project.code, events, records, project=saved, current=current)
            return saved

    def add_records(self, code: str, records: Iterable[Record], events: Iterable[AuditEvent] = ()) -> None:
        events, records = writable(None, events, records)
        with self._lock:
            self.get(code)
            self._write_audited(code, events, records)

    def records(self, code: str, kind: str) -> list[Record]:
        with self._lock:
            out = [r for (p, k, _), r in self._records.items() if p == code and k == kind]
            return sorted(out, key=lambda r: (r.created_at, r.key))

    def get_record(self, code: str, kind: str, key: str) -> Record | None:
        return self._records.get((code, kind, key))

    def all_records(self, kind: str) -> dict[str, list[Record]]:
        out: dict[str, list[Record]] = {}
        for (p, k, _), r in sorted(self._records.items(), key=lambda kv: (kv[1].created_at, kv[1].key)):
            if k == kind:
                out.setdefault(p, []).append(r)
        return out

    def get_many(self, codes: Sequence[str] | None = None) -> list[Project]:
        with self._lock:
            wanted = sorted(self._projects) if codes is None else sorted(c for c in codes if c in self._projects)
            return [self._projects[c] for c in wanted]

    # ---------------------------------------------------------------- derived data (a cache)
    def derived(self, kind: str, valid: Mapping[str, str] | None = None) -> dict[str, tuple[str, dict[str, Any]]]:
        with self._lock:
            return {
                code: (key, copy.deepcopy(data))
                for (k, code), (key, data) in self._derived.items()
                if k == kind and code in self._projects and (valid is None or valid.get(code) == key)
            }

    def put_derived(self, kind: str, entries: Mapping[str, tuple[str, Mapping[str, Any]]]) -> None:
        with self._lock:
            for code, (key, data) in entries.items():
                if code in self._projects:
                    self._derived[(kind, code)] = (key, jsonable(dict(data)))

    # ---------------------------------------------------------------- documents
    def add_document(
        self, doc: DocumentRecord, events: Iterable[AuditEvent] = (), content: bytes | None = None
    ) -> None:
        events, _ = writable(None, events, ())
        refuse_beyond_limits(f"document {doc.number}", stored_problems(jsonable(doc.record), ("record",)))
        with self._lock:
            self.get(doc.project)
            if any(d.id == doc.id for d in self._docs):
                raise StorageError(f"document {doc.id} is already registered")
            if any((d.project, d.number, d.revision) == (doc.project, doc.number, doc.revision) for d in self._docs):
                raise ConcurrentUpdate(f"revision {doc.revision} of document {doc.number} is already registered")
            self._docs.append(doc)
            if content is not None:
                self._contents[doc.id] = bytes(content)
            self._write_audited(doc.project, events, ())

    @contextmanager
    def issuing(self, code: str, kind: str, subject: str) -> Iterator[IssueSession]:
        with self._lock:
            self.get(code)
            key_lock = self._issue_locks.setdefault((code, kind, subject), threading.Lock())
        with key_lock:
            yield _MemoryIssue(self, code)

    def document_content(self, doc_id: str) -> bytes | None:
        return self._contents.get(doc_id)

    def documents(self, code: str | None = None) -> list[DocumentRecord]:
        return [d for d in self._docs if code is None or d.project == code]

    def find_document(self, sha256: str) -> DocumentRecord | None:
        return next((d for d in reversed(self._docs) if d.sha256 == sha256), None)

    # ---------------------------------------------------------------- audit
    def _stored_record_parts(self, code: str, kinds: Iterable[str]) -> dict[str, str]:
        wanted = {k for k in kinds if k in anchor.STATE_RECORD_KINDS}
        return anchor.record_parts((r for (p, k, _), r in self._records.items() if p == code and k in wanted), wanted)

    def _write_audited(
        self,
        code: str,
        events: Iterable[AuditEvent],
        records: Iterable[Record],
        *,
        project: Project | None = None,
        current: Project | None = None,
    ) -> None:
        """Like the SQL store's: records written, events sealed with the state the write produced."""
        events, records = list(events), list(records)
        trail = self._audit.get(code)
        previous = anchor.parts_of(trail[-1]) if trail else {}

        def write() -> None:
            for r in records:
                self._records[(r.project, r.kind, r.key)] = replace(r, data=jsonable(r.data))

        if not events:
            write()
            return
        state = anchor.state_after_write(
            previous,
            {r.kind for r in records},
            project=project,
            current=current,
            load_project=lambda: self._projects[code],
            stored_records=lambda wanted: self._stored_record_parts(code, wanted),
            write=write,
        )
        self._append(code, events, state)

    def _append(self, code: str, events: Iterable[AuditEvent], state: dict[str, Any]) -> None:
        seq, head = self._head.get(code, (0, ""))
        trail = self._audit.setdefault(code, [])
        for ev in events:
            seq += 1
            ev = replace(ev, project=code, data=jsonable(ev.data))
            h = chain_hash(head, ev, seq)
            ev = replace(ev, seq=seq, prev_hash=head, hash=h)
            ev_state, digest, mac = anchor.seal(ev, state, self._audit_key)
            trail.append(replace(ev, state=ev_state, state_hash=digest, mac=mac))
            head = h
        self._head[code] = (seq, head)

    def audit_head(self, code: str) -> tuple[int, str]:
        self.get(code)
        return self._head.get(code, (0, ""))

    def audit(self, code: str) -> list[AuditEvent]:
        self.get(code)
        return list(self._audit.get(code, []))

    def verify_audit(self, code: str | None = None) -> list[str]:
        codes = [code] if code else sorted(self._projects)
        problems: list[str] = []
        for c in codes:
            seq, head = self._head.get(c, (0, ""))
            current = anchor.project_parts(self._projects[c]) if c in self._projects else {}
            current.update(self._stored_record_parts(c, anchor.STATE_RECORD_KINDS))
            problems += anchor.verify_trail(self._audit.get(c, []), seq, head, self._audit_key, current)
        return problems

    # ---------------------------------------------------------------- e-mail outbox
    def outbox_add(self, row: OutboxRow) -> OutboxRow:
        with self._lock:
            self.get(row.project)
            found = self.outbox_find(row.key)
            if found is not None:
                return found
            stored = replace(row, id=len(self._outbox) + 1, recipients=tuple(row.recipients))
            self._outbox[stored.id] = stored
            return stored

    def outbox_get(self, row_id: int) -> OutboxRow | None:
        return self._outbox.get(int(row_id))

    def outbox_find(self, key: str) -> OutboxRow | None:
        with self._lock:
            return next((r for r in self._outbox.values() if r.key == key), None)

    def outbox_rows(self, code: str | None = None, state: str | None = None) -> list[OutboxRow]:
        with self._lock:
            rows = [
                r
                for r in self._outbox.values()
                if (code is None or r.project == code) and (state is None or r.state == state)
            ]
            return sorted(rows, key=lambda r: (r.created_at, r.id))

    def outbox_update(
        self,
        row: OutboxRow,
        *,
        expect: Sequence[str],
        records: Iterable[Record] = (),
        events: Iterable[AuditEvent] = (),
    ) -> OutboxRow:
        with self._lock:
            current = self._outbox.get(row.id)
            if current is None or current.project != row.project:
                raise NotFound(f"no outbox row {row.id} (see `pmo outbox`)")
            if current.state not in expect:
                raise ConcurrentUpdate(
                    f"outbox row {row.id} is {current.state} now, not {' or '.join(expect)}: another run changed it"
                )
            self._outbox[row.id] = replace(
                current,
                state=row.state,
                attempts=row.attempts,
                last_error=row.last_error,
                subject=row.subject,
                updated_at=row.updated_at,
            )
            self.add_records(row.project, records, events)
            return self._outbox[row.id]

    # ---------------------------------------------------------------- identity
    def add_user(self, user: UserRecord) -> None:
        with self._lock:
            email = user.email.lower()
            if user.id in self._users or any(u.email == email for u in self._users.values()):
                raise ConcurrentUpdate(f"a user with the e-mail {email} already exists")
            self._users[user.id] = replace(user, email=email, global_roles=tuple(user.global_roles))

    def update_user(self, user: UserRecord) -> None:
        with self._lock:
            old = self._users.get(user.id)
            if old is None:
                raise NotFound(f"no user '{user.id}'")
            self._users[user.id] = replace(user, email=old.email, created_at=old.created_at)

    def get_user(self, user_id: str) -> UserRecord | None:
        return self._users.get(user_id)

    def find_user(self, email: str) -> UserRecord | None:
        want = email.strip().lower()
        return next((u for u in self._users.values() if u.email == want), None)

    def list_users(self) -> list[UserRecord]:
        return sorted(self._users.values(), key=lambda u: u.email)

    @staticmethod
    def _kind(kind: str) -> str:
        if kind not in CREDENTIAL_KINDS:
            raise InvalidInput(f"unknown credential kind '{kind}'")
        return kind

    def add_credential(self, kind: str, cred: Credential) -> None:
        with self._lock:
            if cred.user_id not in self._users:
                raise NotFound(f"no user '{cred.user_id}'")
            self._creds[(self._kind(kind), cred.token_hash)] = cred

    def get_credential(self, kind: str, token_hash: str) -> Credential | None:
        return self._creds.get((self._kind(kind), token_hash))

    def touch_credential(self, kind: str, token_hash: str, at: datetime) -> None:
        with self._lock:
            cred = self._creds.get((self._kind(kind), token_hash))
            if cred is not None:
                self._creds[(kind, token_hash)] = replace(cred, last_seen=at)

    def delete_credential(self, kind: str, token_hash: str) -> None:
        with self._lock:
            self._creds.pop((self._kind(kind), token_hash), None)

    def add_login_failure(self, keys: Sequence[str], at: datetime) -> None:
        with self._lock:
            self._failures += [(k, at) for k in keys]

    def login_failures(self, key: str, since: datetime) -> list[datetime]:
        with self._lock:
            return sorted(at for k, at in self._failures if k == key and at >= since)

    def clear_login_failures(self, key: str) -> None:
        with self._lock:
            self._failures = [(k, at) for k, at in self._failures if k != key]

    def add_client_link(self, link: ClientLink) -> None:
        with self._lock:
            if link.jti in self._links:
                raise ConcurrentUpdate(f"client link {link.jti} already exists")
            self._links[link.jti] = link

    def get_client_link(self, jti: str) -> ClientLink | None:
        return self._links.get(jti)

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
        events, records = writable(project, events, records)
        with self._lock:
            link = self._links.get(jti)
            if link is None:
                raise NotFound(f"no client link '{jti}'")
            if link.used_at is not None:
                raise LinkUsed("this link was already used; the answer was recorded then")
            saved = self.save(project, expected_version=expected_version, events=events, records=records)
            self._links[jti] = replace(link, used_at=used_at)
            return saved

    def close(self) -> None:
        pass

    # ---------------------------------------------------------------- shared settings
    def shared_settings(self) -> SharedSettings | None:
        with self._lock:
            return copy.deepcopy(self._settings[-1]) if self._settings else None

    def settings_history(self) -> list[SharedSettings]:
        with self._lock:
            return copy.deepcopy(self._settings)

    def push_settings(self, values: Mapping[str, Any], *, actor: str, at: datetime) -> SharedSettings:
        plain = dict(jsonable(dict(values)))
        when = at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)
        with self._lock:
            prev = self._settings[-1].hash if self._settings else ""
            seq = len(self._settings) + 1
            item = SharedSettings(seq, plain, actor, when, prev, settings_hash(prev, seq, plain, actor, when))
            self._settings.append(item)
            return copy.deepcopy(item)

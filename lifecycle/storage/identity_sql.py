"""The identity part of the SQL store: users, sessions and API tokens, login failures, client links.

A mixin of :class:`~lifecycle.storage.sql.SqlStore`, kept apart so the project store stays readable.
Lookups that run on every request (a session by its token hash, a user by id or e-mail) read with
plain SQL through the store's reader (on SQLite without SQLAlchemy); writes go through SQLAlchemy
Core in one transaction each. Using a client link is an ``UPDATE ... WHERE used_at IS NULL`` in the
same transaction as the project's save: on PostgreSQL the row lock makes a concurrent second
submit wait and then find the link used; on SQLite ``BEGIN IMMEDIATE`` serialises the two.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from lifecycle.domain.model import AuditEvent, Project
from lifecycle.errors import ConcurrentUpdate, InvalidInput, LinkUsed, NotFound
from lifecycle.storage.protocol import CREDENTIAL_KINDS, ClientLink, Credential, Record, UserRecord, writable

if TYPE_CHECKING:
    from sqlalchemy import Connection, Table

    from lifecycle.storage.sql import _Reader

_USER_COLUMNS = '"id", "email", "name", "locale", "password_hash", "disabled", "global_roles", "created_at"'
_CRED_COLUMNS = '"token_hash", "user_id", "created_at", "expires_at", "last_seen", "auth_method", "name"'
_LINK_COLUMNS = '"jti", "document_id", "sha256", "recipient", "purpose", "expires_at", "created_at", "used_at"'


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt


def _cred_table(kind: str) -> Table:
    from lifecycle.storage import tables as T

    if kind not in CREDENTIAL_KINDS:
        raise InvalidInput(f"unknown credential kind '{kind}'")
    return T.sessions if kind == "session" else T.api_tokens


class IdentityStoreMixin:
    """Identity methods of the Store protocol on the SQL store's transactions and reader."""

    if TYPE_CHECKING:

        def _tx(self) -> AbstractContextManager[Connection]: ...

        def _read(self, failure: str = ...) -> AbstractContextManager[_Reader]: ...

        def _save_in(
            self,
            conn: Connection,
            project: Project,
            expected_version: int | None,
            events: Iterable[AuditEvent],
            records: Iterable[Record],
        ) -> Project: ...

    # ------------------------------------------------------------ users
    @staticmethod
    def _user(r: _Reader, x: Sequence[Any]) -> UserRecord:
        return UserRecord(
            id=x[0],
            email=x[1],
            name=x[2],
            locale=x[3],
            password_hash=x[4],
            disabled=bool(x[5]),
            global_roles=tuple(r.json(x[6]) or ()),
            created_at=r.datetime(x[7]),
        )

    def _users_where(self, where: str, params: tuple[Any, ...]) -> list[UserRecord]:
        with self._read() as r:
            rows = r.rows(f'SELECT {_USER_COLUMNS} FROM "users" {where}', params)
            return [self._user(r, x) for x in rows]

    def add_user(self, user: UserRecord) -> None:
        from sqlalchemy import insert, select

        from lifecycle.storage import tables as T

        email = user.email.strip().lower()
        with self._tx() as conn:
            if conn.execute(select(T.users.c.id).where(T.users.c.email == email)).first() is not None:
                raise ConcurrentUpdate(f"a user with the e-mail {email} already exists")
            conn.execute(
                insert(T.users).values(
                    id=user.id,
                    email=email,
                    name=user.name,
                    locale=user.locale,
                    password_hash=user.password_hash,
                    disabled=user.disabled,
                    global_roles=list(user.global_roles),
                    created_at=_utc(user.created_at),
                )
            )

    def update_user(self, user: UserRecord) -> None:
        from sqlalchemy import update

        from lifecycle.storage import tables as T

        with self._tx() as conn:
            res = conn.execute(
                update(T.users)
                .where(T.users.c.id == user.id)
                .values(
                    name=user.name,
                    locale=user.locale,
                    password_hash=user.password_hash,
                    disabled=user.disabled,
                    global_roles=list(user.global_roles),
                )
            )
            if res.rowcount != 1:
                raise NotFound(f"no user '{user.id}'")

    def get_user(self, user_id: str) -> UserRecord | None:
        found = self._users_where('WHERE "id" = ?', (user_id,))
        return found[0] if found else None

    def find_user(self, email: str) -> UserRecord | None:
        found = self._users_where('WHERE "email" = ?', (email.strip().lower(),))
        return found[0] if found else None

    def list_users(self) -> list[UserRecord]:
        return self._users_where('ORDER BY "email"', ())

    # ------------------------------------------------------------ sessions and API tokens
    def add_credential(self, kind: str, cred: Credential) -> None:
        from sqlalchemy import insert

        table = _cred_table(kind)
        with self._tx() as conn:
            conn.execute(
                insert(table).values(
                    token_hash=cred.token_hash,
                    user_id=cred.user_id,
                    name=cred.name,
                    auth_method=cred.auth_method,
                    created_at=_utc(cred.created_at),
                    expires_at=_utc(cred.expires_at),
                    last_seen=_utc(cred.last_seen),
                )
            )

    def get_credential(self, kind: str, token_hash: str) -> Credential | None:
        table = _cred_table(kind)
        with self._read() as r:
            rows = r.rows(f'SELECT {_CRED_COLUMNS} FROM "{table.name}" WHERE "token_hash" = ?', (token_hash,))
            if not rows:
                return None
            x = rows[0]
            return Credential(x[0], x[1], r.datetime(x[2]), r.datetime(x[3]), r.datetime(x[4]), x[5], x[6])

    def touch_credential(self, kind: str, token_hash: str, at: datetime) -> None:
        from sqlalchemy import update

        table = _cred_table(kind)
        with self._tx() as conn:
            conn.execute(update(table).where(table.c.token_hash == token_hash).values(last_seen=_utc(at)))

    def delete_credential(self, kind: str, token_hash: str) -> None:
        from sqlalchemy import delete

        table = _cred_table(kind)
        with self._tx() as conn:
            conn.execute(delete(table).where(table.c.token_hash == token_hash))

    # ------------------------------------------------------------ login failures (rate limiting)
    def add_login_failure(self, keys: Sequence[str], at: datetime) -> None:
        from sqlalchemy import insert

        from lifecycle.storage import tables as T

        if not keys:
            return
        with self._tx() as conn:
            conn.execute(insert(T.login_attempts), [{"key": k, "at": _utc(at)} for k in keys])

    def login_failures(self, key: str, since: datetime) -> list[datetime]:
        from sqlalchemy import select

        from lifecycle.storage import tables as T

        a = T.login_attempts
        with self._tx() as conn:
            rows = conn.execute(select(a.c.at).where(a.c.key == key, a.c.at >= _utc(since)).order_by(a.c.at)).all()
        return [_utc(row.at) for row in rows]

    def clear_login_failures(self, key: str) -> None:
        from sqlalchemy import delete

        from lifecycle.storage import tables as T

        with self._tx() as conn:
            conn.execute(delete(T.login_attempts).where(T.login_attempts.c.key == key))

    # ------------------------------------------------------------ client links
    def add_client_link(self, link: ClientLink) -> None:
        from sqlalchemy import insert

        from lifecycle.storage import tables as T

        with self._tx() as conn:
            conn.execute(
                insert(T.client_links).values(
                    jti=link.jti,
                    document_id=link.document_id,
                    sha256=link.sha256,
                    recipient=link.recipient,
                    purpose=link.purpose,
                    created_at=_utc(link.created_at),
                    expires_at=_utc(link.expires_at),
                    used_at=None if link.used_at is None else _utc(link.used_at),
                )
            )

    def get_client_link(self, jti: str) -> ClientLink | None:
        with self._read() as r:
            rows = r.rows(f'SELECT {_LINK_COLUMNS} FROM "client_links" WHERE "jti" = ?', (jti,))
            if not rows:
                return None
            x = rows[0]
            used = None if x[7] is None else r.datetime(x[7])
            return ClientLink(x[0], x[1], x[2], x[3], x[4], r.datetime(x[5]), r.datetime(x[6]), used)

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
        from sqlalchemy import select, update

        from lifecycle.storage import tables as T

        links = T.client_links
        events, records = writable(project, events, records)
        with self._tx() as conn:
            res = conn.execute(
                update(links).where(links.c.jti == jti, links.c.used_at.is_(None)).values(used_at=_utc(used_at))
            )
            if res.rowcount != 1:
                if conn.execute(select(links.c.jti).where(links.c.jti == jti)).first() is None:
                    raise NotFound(f"no client link '{jti}'")
                raise LinkUsed("this link was already used; the answer was recorded then")
            return self._save_in(conn, project, expected_version, events, records)

"""The e-mail outbox part of the SQL store: rows written before a message is sent, and their states.

A mixin of :class:`~lifecycle.storage.sql.SqlStore`. Adding a row is insert-unless-the-key-exists in
one transaction (a concurrent twin loses on the unique key and reads the winner's row). Every change
of state is a compare-and-set, ``UPDATE ... WHERE id = ? AND state IN (...)``, in the same transaction
as the delivery record and the audit events that go with it, so a row is never ``sent`` without its
record, and two runs never both move a row out of the same state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from lifecycle.domain.model import AuditEvent
from lifecycle.errors import ConcurrentUpdate, NotFound
from lifecycle.storage.protocol import OutboxRow, Record

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from lifecycle.storage.sql import _Reader

_COLUMNS = (
    'o."id", o."key", p."code", o."document_id", o."number", o."recipients", o."subject", o."message_id", '
    'o."requested_by", o."state", o."attempts", o."last_error", o."created_at", o."updated_at"'
)
_FROM = ' FROM "outbox" o JOIN "projects" p ON p."pk" = o."project_id"'


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt


class OutboxStoreMixin:
    """Outbox methods of the Store protocol on the SQL store's transactions and reader."""

    if TYPE_CHECKING:

        def _tx(self) -> AbstractContextManager[Connection]: ...

        def _read(self, failure: str = ...) -> AbstractContextManager[_Reader]: ...

        def _lock(self, conn: Connection, code: str) -> int: ...

        def _put_records(self, conn: Connection, pk: int, records: Iterable[Record]) -> None: ...

        def _write_audited(
            self, conn: Connection, pk: int, code: str, events: Iterable[AuditEvent], records: Iterable[Record]
        ) -> None: ...

    @staticmethod
    def _outbox_row(r: _Reader, x: Sequence[Any]) -> OutboxRow:
        return OutboxRow(
            id=int(x[0]),
            key=x[1],
            project=x[2],
            document_id=x[3],
            number=x[4],
            recipients=tuple(r.json(x[5]) or ()),
            subject=x[6],
            message_id=x[7],
            requested_by=x[8],
            state=x[9],
            attempts=int(x[10]),
            last_error=x[11],
            created_at=r.datetime(x[12]),
            updated_at=r.datetime(x[13]),
        )

    def _outbox_where(self, where: str, params: tuple[Any, ...]) -> list[OutboxRow]:
        with self._read() as r:
            rows = r.rows(f"SELECT {_COLUMNS}{_FROM} {where}", params)
            return [self._outbox_row(r, x) for x in rows]

    def outbox_get(self, row_id: int) -> OutboxRow | None:
        found = self._outbox_where('WHERE o."id" = ?', (int(row_id),))
        return found[0] if found else None

    def outbox_find(self, key: str) -> OutboxRow | None:
        found = self._outbox_where('WHERE o."key" = ?', (key,))
        return found[0] if found else None

    def outbox_rows(self, code: str | None = None, state: str | None = None) -> list[OutboxRow]:
        conditions = [c for c, v in (('p."code" = ?', code), ('o."state" = ?', state)) if v is not None]
        params = tuple(v for v in (code, state) if v is not None)
        where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
        return self._outbox_where(where + 'ORDER BY o."created_at", o."id"', params)

    def outbox_add(self, row: OutboxRow) -> OutboxRow:
        # lazy: imported only when used, so SQLite project reads never import SQLAlchemy
        from sqlalchemy import insert, select

        from lifecycle.storage import tables as T

        o = T.outbox
        try:
            with self._tx() as conn:
                pk = self._lock(conn, row.project)
                if conn.execute(select(o.c.id).where(o.c.key == row.key)).first() is None:
                    conn.execute(
                        insert(o).values(
                            key=row.key,
                            project_id=pk,
                            document_id=row.document_id,
                            number=row.number,
                            recipients=list(row.recipients),
                            subject=row.subject,
                            message_id=row.message_id,
                            state=row.state,
                            attempts=row.attempts,
                            last_error=row.last_error,
                            requested_by=row.requested_by,
                            created_at=_utc(row.created_at),
                            updated_at=_utc(row.updated_at),
                        )
                    )
        except ConcurrentUpdate:  # a concurrent twin inserted the same key first: its row is the row
            pass
        stored = self.outbox_find(row.key)
        if stored is None:
            raise ConcurrentUpdate(f"the outbox row for {row.number} could not be written; try again")
        return stored

    def outbox_update(
        self,
        row: OutboxRow,
        *,
        expect: Sequence[str],
        records: Iterable[Record] = (),
        events: Iterable[AuditEvent] = (),
    ) -> OutboxRow:
        # lazy: imported only when used, so SQLite project reads never import SQLAlchemy
        from sqlalchemy import select, update

        from lifecycle.storage import tables as T

        o = T.outbox
        with self._tx() as conn:
            pk = self._lock(conn, row.project)
            res = conn.execute(
                update(o)
                .where(o.c.id == row.id, o.c.project_id == pk, o.c.state.in_(list(expect)))
                .values(
                    state=row.state,
                    attempts=row.attempts,
                    last_error=row.last_error,
                    subject=row.subject,
                    updated_at=_utc(row.updated_at),
                )
            )
            if res.rowcount != 1:
                found = conn.execute(select(o.c.state).where(o.c.id == row.id)).first()
                if found is None:
                    raise NotFound(f"no outbox row {row.id} (see `pmo outbox`)")
                raise ConcurrentUpdate(
                    f"outbox row {row.id} is {found.state} now, not {' or '.join(expect)}: another run changed it"
                )
            self._write_audited(conn, pk, row.project, events, records)
        return row

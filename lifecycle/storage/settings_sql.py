"""The shared-settings part of the SQL store: the append-only, hash-chained settings pushes.

A mixin of :class:`~lifecycle.storage.sql.SqlStore`. Reads go through the store's reader (plain SQL,
on SQLite without SQLAlchemy); a push is one transaction that reads the newest push and inserts the
next sequence number, so two concurrent pushes cannot both win (the second hits the primary key and
is reported as :class:`~lifecycle.errors.ConcurrentUpdate`).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from lifecycle.storage.protocol import SharedSettings, jsonable, settings_hash

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from lifecycle.storage.sql import _Reader

_COLUMNS = '"seq", "data", "actor", "at", "prev_hash", "hash"'


class SettingsStoreMixin:
    """Shared-settings methods of the Store protocol on the SQL store's transactions and reader."""

    if TYPE_CHECKING:

        def _tx(self) -> AbstractContextManager[Connection]: ...

        def _read(self, failure: str = ...) -> AbstractContextManager[_Reader]: ...

    def _settings_where(self, tail: str) -> list[SharedSettings]:
        with self._read() as r:
            rows = r.rows(f'SELECT {_COLUMNS} FROM "shared_settings" {tail}', ())
            return [
                SharedSettings(
                    seq=int(x[0]),
                    values=dict(r.json(x[1]) or {}),
                    actor=x[2],
                    at=r.datetime(x[3]),
                    prev_hash=x[4],
                    hash=x[5],
                )
                for x in rows
            ]

    def shared_settings(self) -> SharedSettings | None:
        found = self._settings_where('ORDER BY "seq" DESC LIMIT 1')
        return found[0] if found else None

    def settings_history(self) -> list[SharedSettings]:
        return self._settings_where('ORDER BY "seq"')

    def push_settings(self, values: Mapping[str, Any], *, actor: str, at: datetime) -> SharedSettings:
        # lazy: imported only when used, so SQLite reads never import SQLAlchemy
        from sqlalchemy import insert, select

        from lifecycle.storage import tables as T

        t = T.shared_settings
        plain = dict(jsonable(dict(values)))
        when = at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)
        with self._tx() as conn:
            last = conn.execute(select(t.c.seq, t.c.hash).order_by(t.c.seq.desc()).limit(1)).first()
            seq, prev = (int(last.seq) + 1, str(last.hash)) if last else (1, "")
            item = SharedSettings(seq, plain, actor, when, prev, settings_hash(prev, seq, plain, actor, when))
            conn.execute(insert(t).values(seq=seq, data=plain, actor=actor, at=when, prev_hash=prev, hash=item.hash))
        return item

"""SQLAlchemy implementation of the Store protocol (SQLite embedded, PostgreSQL for teams).

Every public method is one transaction. Writes to a project first bump its version with
``UPDATE projects SET version = version + 1 WHERE code = :code AND version = :expected``: on
PostgreSQL the row lock serialises concurrent writers and the loser sees zero rows; on SQLite every
write transaction starts with ``BEGIN IMMEDIATE`` so writers queue on the database lock instead of
failing half-way. Either way the loser gets :class:`ConcurrentUpdate` and nothing of its work is
kept. Only rows that differ are written, so an idempotent apply touches nothing but the version
check. Database errors are translated to :class:`StorageError` at this boundary.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, insert, select, update
from sqlalchemy import delete as sa_delete
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from lifecycle.domain.fields import FieldInfo, fields_of
from lifecycle.domain.model import SECTIONS, AuditEvent, Calendar, Charter, DocumentRecord, Project, replace
from lifecycle.errors import ConcurrentUpdate, NotFound, StorageError
from lifecycle.storage import tables as T
from lifecycle.storage.protocol import (
    RECORD_SCHEMA_VERSION,
    ProjectSummary,
    Record,
    chain_hash,
    jsonable,
    verify_chain,
)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


# ------------------------------------------------------------------ value codecs
def _encode_json(info: FieldInfo, value: Any) -> Any:
    if value is None:
        return None
    if info.kind == "list":
        assert info.item is not None
        return [_encode_json(info.item, v) for v in value]
    if info.kind == "object":
        return {i.name: _encode_json(i, getattr(value, i.name)) for i in fields_of(type(value))}
    if info.kind in ("date", "datetime"):
        return value.isoformat()
    if info.kind == "money":
        return str(value)
    return value


def _decode_json(info: FieldInfo, value: Any) -> Any:
    if value is None:
        return None if info.optional else info.default
    if info.kind == "list":
        assert info.item is not None
        return tuple(_decode_json(info.item, v) for v in value)
    if info.kind == "object":
        assert info.cls is not None
        return info.cls(**{i.name: _decode_json(i, value[i.name]) for i in fields_of(info.cls) if i.name in value})
    if info.kind == "date":
        return date.fromisoformat(value)
    if info.kind == "datetime":
        return datetime.fromisoformat(value)
    if info.kind == "money":
        return Decimal(value)
    return value


def _is_json(info: FieldInfo) -> bool:
    return info.kind in ("list", "object", "dict")


def _row_values(obj: Any, skip: tuple[str, ...] = ("id",)) -> dict[str, Any]:
    out = {}
    for info in fields_of(type(obj)):
        if info.name in skip:
            continue
        v = getattr(obj, info.name)
        out[info.name] = _encode_json(info, v) if _is_json(info) else v
    return out


_Plan = tuple[type, tuple[tuple[str, int, Any], ...], int | None]
_PLANS: dict[tuple[type, tuple[str, ...]], _Plan] = {}


def _plan(cls: type, columns: tuple[str, ...]) -> _Plan:
    """How to turn a row of ``columns`` into ``cls``: per field its column index and converter.

    Worked out once per class and column list, so loading a portfolio does no per-field type dispatch
    (reading rows was most of a sweep's time before).
    """
    key = (cls, columns)
    plan = _PLANS.get(key)
    if plan is not None:
        return plan
    fields: list[tuple[str, int, Any]] = []
    key_index = columns.index("key") if "key" in columns else None
    for info in fields_of(cls):
        if info.name == "id" and key_index is not None:
            continue
        idx = columns.index(info.name)
        conv: Any = None
        if _is_json(info):
            conv = (lambda i: lambda v: _decode_json(i, v))(info)
        elif info.kind == "money":
            conv = (lambda i: lambda v: (i.default if not i.optional else None) if v is None
                    else (v if isinstance(v, Decimal) else Decimal(str(v))))(info)
        elif info.kind == "datetime":
            conv = lambda v: v.replace(tzinfo=timezone.utc) if isinstance(v, datetime) and v.tzinfo is None else v  # noqa: E731
        elif not info.optional:
            conv = (lambda d: lambda v: d if v is None else v)(info.default)
        fields.append((info.name, idx, conv))
    plan = (cls, tuple(fields), key_index if any(i.name == "id" for i in fields_of(cls)) else None)
    _PLANS[key] = plan
    return plan


def _decode_rows(cls: type, rows: Any) -> list[Any]:
    """Model objects from result rows (all of one table), using the precomputed plan."""
    if not rows:
        return []
    cls_, fields, key_index = _plan(cls, tuple(rows[0]._fields))
    out = []
    for row in rows:
        kwargs = {name: (row[idx] if conv is None else conv(row[idx])) for name, idx, conv in fields}
        if key_index is not None:
            kwargs["id"] = row[key_index]
        out.append(cls_(**kwargs))
    return out


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt


def normalise_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _json_loads(text: str) -> Any:
    # Most JSON cells are empty lists (no skills, no deliverables ...): skip the decoder for those.
    if text == "[]":
        return []
    return json.loads(text)


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60}, json_deserializer=_json_loads)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, json_deserializer=_json_loads)


def alembic_config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


class SqlStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    # ------------------------------------------------------------ opening
    @classmethod
    def open(cls, url: str, *, create: bool = False) -> SqlStore:
        """Open the database at ``url``; with ``create`` make it (and migrate it to the newest schema)."""
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            path = Path(url[len("sqlite:///"):])
            if not path.exists() and not create:
                raise NotFound(f"no database at {path}: run `pmo init` first (or set PMO_DATABASE_URL)")
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
        try:
            engine = make_engine(url)
            store = cls(engine)
            if create:
                store.migrate()
            else:
                store.check_schema()
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot open the database {_safe_url(url)}: {_first_line(exc)}") from exc
        return store

    def migrate(self) -> None:
        from alembic import command

        with self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                conn.exec_driver_sql("COMMIT") if conn.in_transaction() else None
            command.upgrade(alembic_config(conn), "head")
            if conn.in_transaction():
                conn.commit()

    def check_schema(self) -> None:
        """Refuse a database that is not at this code's schema revision (read without importing Alembic,
        which would cost every command a noticeable start-up)."""
        from sqlalchemy import inspect, text

        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                raise NotFound("the database has no pmo tables: run `pmo init` first")
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            conn.rollback()
        if current != T.SCHEMA_REVISION:
            raise StorageError(f"the database schema is at revision {current}, this version needs "
                               f"{T.SCHEMA_REVISION}: run `pmo init` to upgrade it")

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except IntegrityError as exc:
            raise ConcurrentUpdate(f"another change to the same records won: {_first_line(exc)}") from exc
        except OperationalError as exc:
            raise StorageError(f"database error: {_first_line(exc)}") from exc
        except SQLAlchemyError as exc:
            raise StorageError(f"database error: {_first_line(exc)}") from exc

    # ------------------------------------------------------------ reading
    def list_projects(self) -> list[ProjectSummary]:
        p = T.projects
        with self._tx() as conn:
            rows = conn.execute(select(p.c.code, p.c.name, p.c.phase, p.c.locale, p.c.client, p.c.version,
                                       p.c.updated_at).order_by(p.c.code)).all()
        return [ProjectSummary(r.code, r.name or "", r.phase, r.locale or "", (r.client or {}).get("name", ""),
                               r.version, _utc(r.updated_at)) for r in rows]

    def exists(self, code: str) -> bool:
        with self._tx() as conn:
            return conn.execute(select(T.projects.c.pk).where(T.projects.c.code == code)).first() is not None

    def get(self, code: str) -> Project:
        with self._tx() as conn:
            return self._load(conn, code)

    def get_many(self, codes: Sequence[str] | None = None) -> list[Project]:
        """Load many projects with one query per table (portfolio sweeps)."""
        with self._tx() as conn:
            q = select(T.projects)
            if codes is not None:
                q = q.where(T.projects.c.code.in_(list(codes)))
            heads = conn.execute(q.order_by(T.projects.c.code)).all()
            pks = [h.pk for h in heads]
            per: dict[int, dict[str, list[Any]]] = {pk: {} for pk in pks}
            for name, table in T.section_tables.items():
                cls = SECTIONS[name]
                rows = conn.execute(select(table).where(table.c.project_id.in_(pks))
                                    .order_by(table.c.project_id, table.c.position)).all()
                for r, obj in zip(rows, _decode_rows(cls, rows), strict=True):
                    per[r.project_id].setdefault(name, []).append(obj)
            return [self._assemble(h, {k: tuple(v) for k, v in per[h.pk].items()}) for h in heads]

    def _head_row(self, conn: Connection, code: str) -> Any:
        row = conn.execute(select(T.projects).where(T.projects.c.code == code)).first()
        if row is None:
            raise NotFound(f"no project '{code}' (see `pmo list`)")
        return row

    def _assemble(self, head: Any, sections: dict[str, tuple[Any, ...]]) -> Project:
        charter = self._charter(head)
        calendar = _decode_json(fields_of(_CalendarHolder)[0], head.calendar)
        return Project(charter=charter, phase=head.phase, phase_before_hold=head.phase_before_hold,
                       version=head.version, calendar=calendar, **sections)

    def _charter(self, head: Any) -> Charter:
        kwargs: dict[str, Any] = {}
        m = head._mapping
        for info in fields_of(Charter):
            v = m[info.name]
            if _is_json(info):
                v = _decode_json(info, v)
            elif v is None and not info.optional:
                v = info.default
            kwargs[info.name] = v
        return Charter(**kwargs)

    def _load(self, conn: Connection, code: str) -> Project:
        head = self._head_row(conn, code)
        sections: dict[str, tuple[Any, ...]] = {}
        for name, table in T.section_tables.items():
            cls = SECTIONS[name]
            rows = conn.execute(select(table).where(table.c.project_id == head.pk).order_by(table.c.position)).all()
            sections[name] = tuple(_decode_rows(cls, rows))
        return self._assemble(head, sections)

    # ------------------------------------------------------------ writing
    def save(self, project: Project, *, expected_version: int | None, events: Iterable[AuditEvent] = (),
             records: Iterable[Record] = ()) -> Project:
        now = datetime.now(timezone.utc)
        p = T.projects
        head_values = {
            "phase": project.phase,
            "phase_before_hold": project.phase_before_hold,
            "calendar": _encode_json(fields_of(_CalendarHolder)[0], project.calendar),
            "updated_at": now,
            **_row_values(project.charter, skip=("code",)),
        }
        with self._tx() as conn:
            if expected_version is None:
                if conn.execute(select(p.c.pk).where(p.c.code == project.code)).first() is not None:
                    raise ConcurrentUpdate(f"project '{project.code}' already exists")
                inserted = conn.execute(insert(p).values(code=project.code, version=1, created_at=now, audit_seq=0,
                                                         audit_head="", **head_values)).inserted_primary_key
                assert inserted is not None
                pk = inserted[0]
                current: Project | None = None
                new_version = 1
            else:
                res = conn.execute(update(p).where(p.c.code == project.code, p.c.version == expected_version)
                                   .values(version=p.c.version + 1, **head_values))
                if res.rowcount != 1:
                    row = conn.execute(select(p.c.version).where(p.c.code == project.code)).first()
                    if row is None:
                        raise NotFound(f"no project '{project.code}'")
                    raise ConcurrentUpdate(
                        f"project '{project.code}' was changed by someone else (now version {row.version}, "
                        f"this change was based on version {expected_version}); nothing was written, "
                        "reload and try again")
                current = self._load(conn, project.code)
                pk = conn.execute(select(p.c.pk).where(p.c.code == project.code)).scalar_one()
                new_version = expected_version + 1
            self._write_sections(conn, pk, current, project)
            self._append(conn, pk, project.code, events)
            self._put_records(conn, pk, records)
        saved: Project = replace(project, version=new_version)
        return saved

    def _write_sections(self, conn: Connection, pk: int, current: Project | None, project: Project) -> None:
        for name, table in T.section_tables.items():
            new_items = project.section(name)
            old = {item.id: (i, item) for i, item in enumerate(current.section(name))} if current else {}
            to_insert = []
            seen = set()
            for pos, item in enumerate(new_items):
                key = item.id
                seen.add(key)
                if key not in old:
                    to_insert.append({"project_id": pk, "key": key, "position": pos, **_row_values(item)})
                else:
                    old_pos, old_item = old[key]
                    if old_item != item or old_pos != pos:
                        values = _row_values(item) if old_item != item else {}
                        conn.execute(update(table).where(table.c.project_id == pk, table.c.key == key)
                                     .values(position=pos, **values))
            gone = [k for k in old if k not in seen]
            if gone:
                conn.execute(sa_delete(table).where(table.c.project_id == pk, table.c.key.in_(gone)))
            if to_insert:
                conn.execute(insert(table), to_insert)

    def _append(self, conn: Connection, pk: int, code: str, events: Iterable[AuditEvent]) -> None:
        events = list(events)
        if not events:
            return
        p = T.projects
        row = conn.execute(select(p.c.audit_seq, p.c.audit_head).where(p.c.pk == pk)).one()
        seq, head = row.audit_seq, row.audit_head
        rows = []
        for ev in events:
            seq += 1
            ev = replace(ev, project=code, at=_utc(ev.at), data=jsonable(ev.data))
            h = chain_hash(head, ev, seq)
            rows.append({"project_id": pk, "seq": seq, "at": ev.at, "actor": ev.actor, "action": ev.action,
                         "entity": ev.entity, "entity_id": ev.entity_id, "data": ev.data, "prev_hash": head,
                         "hash": h})
            head = h
        conn.execute(insert(T.audit_events), rows)
        res = conn.execute(update(p).where(p.c.pk == pk, p.c.audit_seq == row.audit_seq)
                           .values(audit_seq=seq, audit_head=head))
        if res.rowcount != 1:
            raise ConcurrentUpdate(f"the audit trail of '{code}' was extended concurrently; try again")

    def _put_records(self, conn: Connection, pk: int, records: Iterable[Record]) -> None:
        r = T.records
        for rec in records:
            conn.execute(sa_delete(r).where(r.c.project_id == pk, r.c.kind == rec.kind, r.c.key == rec.key))
            conn.execute(insert(r).values(project_id=pk, kind=rec.kind, key=rec.key,
                                          schema_version=RECORD_SCHEMA_VERSION, data=jsonable(rec.data),
                                          created_at=_utc(rec.created_at)))

    def _lock(self, conn: Connection, code: str) -> int:
        p = T.projects
        q = select(p.c.pk).where(p.c.code == code)
        if self.engine.dialect.name == "postgresql":
            q = q.with_for_update()
        row = conn.execute(q).first()
        if row is None:
            raise NotFound(f"no project '{code}' (see `pmo list`)")
        return int(row.pk)

    def add_records(self, code: str, records: Iterable[Record], events: Iterable[AuditEvent] = ()) -> None:
        with self._tx() as conn:
            pk = self._lock(conn, code)
            self._put_records(conn, pk, records)
            self._append(conn, pk, code, events)

    def records(self, code: str, kind: str) -> list[Record]:
        r = T.records
        with self._tx() as conn:
            pk = self._head_row(conn, code).pk
            rows = conn.execute(select(r).where(r.c.project_id == pk, r.c.kind == kind)
                                .order_by(r.c.created_at, r.c.key)).all()
        return [Record(code, x.kind, x.key, x.data, _utc(x.created_at)) for x in rows]

    def all_records(self, kind: str) -> dict[str, list[Record]]:
        r, p = T.records, T.projects
        with self._tx() as conn:
            rows = conn.execute(select(r, p.c.code).join(p, p.c.pk == r.c.project_id).where(r.c.kind == kind)
                                .order_by(r.c.created_at, r.c.key)).all()
        out: dict[str, list[Record]] = {}
        for x in rows:
            out.setdefault(x.code, []).append(Record(x.code, x.kind, x.key, x.data, _utc(x.created_at)))
        return out

    def get_record(self, code: str, kind: str, key: str) -> Record | None:
        r = T.records
        with self._tx() as conn:
            pk = self._head_row(conn, code).pk
            x = conn.execute(select(r).where(r.c.project_id == pk, r.c.kind == kind, r.c.key == key)).first()
        return Record(code, x.kind, x.key, x.data, _utc(x.created_at)) if x else None

    # ------------------------------------------------------------ documents
    def add_document(self, doc: DocumentRecord, events: Iterable[AuditEvent] = ()) -> None:
        with self._tx() as conn:
            pk = self._lock(conn, doc.project)
            values = {f.name: getattr(doc, f.name) for f in dataclasses.fields(doc) if f.name != "project"}
            values["created_at"] = _utc(doc.created_at)
            values["record"] = jsonable(doc.record)
            conn.execute(insert(T.documents).values(project_id=pk, **values))
            self._append(conn, pk, doc.project, events)

    def _doc(self, row: Any) -> DocumentRecord:
        m = dict(row._mapping)
        m.pop("pk")
        m.pop("project_id")
        m["created_at"] = _utc(m["created_at"])
        return DocumentRecord(project=m.pop("code"), **m)

    def documents(self, code: str | None = None) -> list[DocumentRecord]:
        d, p = T.documents, T.projects
        q = select(d, p.c.code).join(p, p.c.pk == d.c.project_id)
        if code is not None:
            q = q.where(p.c.code == code)
        with self._tx() as conn:
            rows = conn.execute(q.order_by(d.c.created_at, d.c.pk)).all()
        return [self._doc(r) for r in rows]

    def find_document(self, sha256: str) -> DocumentRecord | None:
        d, p = T.documents, T.projects
        with self._tx() as conn:
            row = conn.execute(select(d, p.c.code).join(p, p.c.pk == d.c.project_id).where(d.c.sha256 == sha256)
                               .order_by(d.c.pk.desc())).first()
        return self._doc(row) if row else None

    # ------------------------------------------------------------ audit
    def audit(self, code: str) -> list[AuditEvent]:
        a = T.audit_events
        with self._tx() as conn:
            pk = self._head_row(conn, code).pk
            rows = conn.execute(select(a).where(a.c.project_id == pk).order_by(a.c.seq)).all()
        return [AuditEvent(project=code, action=r.action, actor=r.actor, at=_utc(r.at), entity=r.entity,
                           entity_id=r.entity_id, data=r.data, seq=r.seq, prev_hash=r.prev_hash, hash=r.hash)
                for r in rows]

    def verify_audit(self, code: str | None = None) -> list[str]:
        p = T.projects
        with self._tx() as conn:
            q = select(p.c.code, p.c.audit_seq, p.c.audit_head).order_by(p.c.code)
            if code is not None:
                q = q.where(p.c.code == code)
            heads = conn.execute(q).all()
        if code is not None and not heads:
            raise NotFound(f"no project '{code}'")
        problems: list[str] = []
        for h in heads:
            problems += verify_chain(self.audit(h.code), h.audit_seq, h.audit_head)
        return problems


@dataclasses.dataclass(frozen=True)
class _CalendarHolder:
    calendar: Calendar


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url

"""SQLAlchemy implementation of the Store protocol (SQLite embedded, PostgreSQL for teams).

Every public method is one transaction. Writes to a project first bump its version with
``UPDATE projects SET version = version + 1 WHERE code = :code AND version = :expected``: on
PostgreSQL the row lock serialises concurrent writers and the loser sees zero rows; on SQLite every
write transaction starts with ``BEGIN IMMEDIATE`` so writers queue on the database lock instead of
failing half-way. Either way the loser gets :class:`ConcurrentUpdate` and nothing of its work is
kept. Only rows that differ are written, so an idempotent apply touches nothing but the version
check. Database errors are translated to :class:`StorageError` at this boundary.

Reading is the hot path (every command loads a project, a portfolio sweep loads thousands), so it
bypasses SQLAlchemy's result processing: plain SQL on the driver's cursor, and each model class gets
a row builder generated once (:func:`_builder`) that converts the cells and calls the class, without
per-row type dispatch. What a cell looks like depends on the driver: SQLite hands back dates, times
and JSON as text, money as a number and booleans as 0/1 (``text_types``); psycopg returns native
``date``, ``datetime``, ``Decimal``, ``bool`` and decoded JSON. A store opened on a SQLite file reads
through its own small pool of ``sqlite3`` connections (deferred ``BEGIN``: a consistent snapshot that
does not wait for writers), so a read-only command never imports SQLAlchemy; the engine is made on
first write. The column lists mirror :mod:`lifecycle.storage.tables` (a test compares them).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifecycle.domain.bulk import gc_paused
from lifecycle.domain.fields import FieldInfo, fields_of
from lifecycle.domain.limits import MAX_MONEY, stored_problems
from lifecycle.domain.model import SECTIONS, AuditEvent, Calendar, Charter, DocumentRecord, Project, replace
from lifecycle.errors import ConcurrentUpdate, NotFound, StorageError
from lifecycle.storage import anchor
from lifecycle.storage.identity_sql import IdentityStoreMixin
from lifecycle.storage.outbox_sql import OutboxStoreMixin
from lifecycle.storage.protocol import (
    RECORD_SCHEMA_VERSION,
    IssueSession,
    ProjectSummary,
    Record,
    chain_hash,
    issue_lock_key,
    jsonable,
    refuse_beyond_limits,
    writable,
)
from lifecycle.storage.settings_sql import SettingsStoreMixin

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

SCHEMA_REVISION = "0012"
"""The Alembic revision the tables correspond to (a test checks it is the migrations' head)."""

MONEY_SCALE = 2
"""Decimal places of money columns (``Numeric(18, 2)``); SQLite returns them as numbers."""

_SQLITE_PRAGMAS = ("PRAGMA foreign_keys=ON", "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")


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


def _json_loads(text: str | bytes) -> Any:
    """A JSON column's text as Python values (also the engine's ``json_deserializer``).

    The standard library's decoder: orjson would save about 3 % of a sweep's read but reads integers
    beyond 64 bits as floats, so a stored value would not always read back the same. psycopg hands
    the UTF-8 bytes of every JSON cell: they are decoded here, as :func:`json.loads` would after
    guessing the encoding of each cell (the guess costs more than the decoding on a portfolio sweep;
    only a leading byte-order mark is left to it).
    """
    if text == "[]" or text == b"[]":  # most JSON cells are empty lists (no skills, no deliverables ...)
        return []
    if text == "{}" or text == b"{}":  # or empty maps (no custom fields)
        return {}
    if type(text) is bytes and not text.startswith(_UTF8_BOM):
        text = text.decode("utf-8", "surrogatepass")
    return json.loads(text)


_UTF8_BOM = b"\xef\xbb\xbf"


_Decoder = Callable[[Any], Any]
_DECODERS: dict[FieldInfo, _Decoder] = {}


def _json_decoder(info: FieldInfo) -> _Decoder:
    """A function from a decoded JSON value to the field's value (``None``: null or the field's default).

    Lists become tuples, objects their dataclass (missing keys take the class defaults), dates, times
    and money are parsed from text. Made once per field.
    """
    dec = _DECODERS.get(info)
    if dec is None:
        dec = _DECODERS[info] = _make_json_decoder(info)
    return dec


def _make_json_decoder(info: FieldInfo) -> _Decoder:
    none = None if info.optional else info.default
    kind = info.kind
    if kind == "list":
        assert info.item is not None
        item = _json_decoder(info.item)
        if _is_json(info.item) or info.item.kind in ("date", "datetime", "money"):
            return lambda v: none if v is None else tuple(map(item, v))
        # scalar items need no conversion; only a null item takes the item's default
        return lambda v: none if v is None else (tuple(v) if None not in v else tuple(map(item, v)))
    if kind == "object":
        assert info.cls is not None
        cls = info.cls
        parts = tuple((i.name, _json_decoder(i)) for i in fields_of(cls))
        return lambda v: none if v is None else cls(**{n: d(v[n]) for n, d in parts if n in v})
    if kind == "date":
        return lambda v: none if v is None else date.fromisoformat(v)
    if kind == "datetime":
        return lambda v: none if v is None else datetime.fromisoformat(v)
    if kind == "money":
        return lambda v: none if v is None else Decimal(v)
    if kind == "dict":  # a fresh map per object: the default is not shared
        return lambda v: {} if v is None else v
    return lambda v: none if v is None else v


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt


def _cell(info: FieldInfo, text_types: bool) -> tuple[str, tuple[Any, ...]]:
    """How to turn a column cell into the field's value: a Python expression and the constants it uses.

    In the expression ``{c}`` stands for the cell and ``{0}``, ``{1}`` ... for the constants, so the
    common conversions run inline (C functions, no Python-level call per cell). NULL in a non-optional
    column means the field's default.
    """
    none = None if info.optional else info.default
    kind = info.kind
    if _is_json(info):
        dec = _json_decoder(info)
        if not text_types:
            return "{0}({c})", (dec,)
        text_dec: _Decoder = lambda v: dec(None if v is None else _json_loads(v))  # noqa: E731
        if kind == "list":  # most list cells are empty
            return '({0} if {c} == "[]" else {1}({c}))', ((), text_dec)
        if kind == "dict":  # so are most maps (custom fields); a fresh one per object
            return '({0}() if {c} == "{{}}" else {1}({c}))', (dict, text_dec)
        return "{0}({c})", (text_dec,)
    if kind == "money":
        if text_types:
            return "({0} if {c} is None else {1}({2} % {c}))", (none, Decimal, f"%.{MONEY_SCALE}f")
        return "({0} if {c} is None else {1}({c}))", (none, lambda v: v if isinstance(v, Decimal) else Decimal(str(v)))
    if kind == "datetime":
        if text_types:
            return "(None if {c} is None else {0}({1}({c})))", (_utc, datetime.fromisoformat)
        return "({0}({c}) if isinstance({c}, {1}) else {c})", (_utc, datetime)
    if text_types and kind == "date":
        return "({0} if {c} is None else {1}({c}))", (none, date.fromisoformat)
    if text_types and kind == "bool":
        return "({0} if {c} is None else {1}({c}))", (none, bool)
    if info.optional:
        return "{c}", ()
    return "({0} if {c} is None else {c})", (none,)


_Builder = Callable[[Sequence[Sequence[Any]]], list[Any]]
_BUILDERS: dict[tuple[type, tuple[str, ...], bool], _Builder] = {}


def _builder(cls: type, columns: tuple[str, ...], text_types: bool) -> _Builder:
    """A function turning rows of ``columns`` into ``cls`` objects (the ``id`` field reads column ``key``).

    The function is generated once per class and column list, like dataclasses generates ``__init__``:
    one list comprehension calling ``cls`` with each field's cell, converted only where the driver's
    value differs from the model's. Reading a portfolio spends its time here, so there is no per-row
    dispatch on field kinds.
    """
    cache_key = (cls, columns, text_types)
    cached = _BUILDERS.get(cache_key)
    if cached is not None:
        return cached
    positional = all(f.init and not f.kw_only for f in dataclasses.fields(cls))
    namespace: dict[str, Any] = {"_cls": cls}
    args = []
    for n, info in enumerate(fields_of(cls)):
        column = "key" if info.name == "id" and "key" in columns else info.name
        template, constants = _cell(info, text_types)
        names = []
        for j, value in enumerate(constants):
            namespace[f"_k{n}_{j}"] = value
            names.append(f"_k{n}_{j}")
        expr = template.format(*names, c=f"r[{columns.index(column)}]")
        args.append(expr if positional else f"{info.name}={expr}")
    source = f"def build(rows):\n    return [_cls({', '.join(args)}) for r in rows]\n"
    exec(source, namespace)  # the source is made above from column indexes only, no outside text
    build: _Builder = namespace["build"]
    _BUILDERS[cache_key] = build
    return build


# ------------------------------------------------------------------ reading with plain SQL
def _q(name: str) -> str:
    return f'"{name}"'


def _select(table: str, columns: Sequence[str]) -> str:
    return f"SELECT {', '.join(map(_q, columns))} FROM {_q(table)}"


def _marks(n: int) -> str:
    return "(" + ", ".join("?" * n) + ")"


HEAD_COLUMNS: tuple[str, ...] = (
    "pk",
    "phase",
    "phase_before_hold",
    "version",
    "calendar",
    *(i.name for i in fields_of(Charter)),
)
"""The columns of ``projects`` a project is read from: its head, then the charter's fields."""

SECTION_COLUMNS: dict[str, tuple[str, ...]] = {
    name: ("project_id", "key", *(i.name for i in fields_of(cls) if i.name != "id")) for name, cls in SECTIONS.items()
}
"""Per section table, the columns an entity is read from (``key`` holds its id)."""

_HEAD_SQL = _select("projects", HEAD_COLUMNS)
_SECTION_SQL = {name: _select(name, cols) for name, cols in SECTION_COLUMNS.items()}


@dataclasses.dataclass(frozen=True, slots=True)
class _CalendarHolder:
    calendar: Calendar


_CALENDAR = fields_of(_CalendarHolder)[0]


class _Reader:
    """One read transaction on a DBAPI connection: SQL with ``?`` placeholders in, plain rows out."""

    __slots__ = ("_qmark", "_run", "text_types")

    def __init__(
        self, run: Callable[[str, tuple[Any, ...]], Sequence[Sequence[Any]]], *, qmark: bool, text_types: bool
    ):
        self._run = run
        self._qmark = qmark
        self.text_types = text_types

    def rows(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Sequence[Any]]:
        return self._run(sql if self._qmark else sql.replace("?", "%s"), tuple(params))

    def json(self, value: Any) -> Any:
        return _json_loads(value) if self.text_types and value is not None else value

    def datetime(self, value: Any) -> datetime:
        return _utc(datetime.fromisoformat(value) if self.text_types else value)

    def pk(self, code: str) -> int:
        rows = self.rows('SELECT "pk" FROM "projects" WHERE "code" = ?', (code,))
        if not rows:
            raise NotFound(f"no project '{code}' (see `pmo list`)")
        return int(rows[0][0])

    def project(self, code: str) -> tuple[int, Project]:
        """The project ``code`` and its primary key (NotFound if there is none)."""
        heads = self.rows(_HEAD_SQL + ' WHERE "code" = ?', (code,))
        if not heads:
            raise NotFound(f"no project '{code}' (see `pmo list`)")
        head = heads[0]
        sections = {}
        for name, cls in SECTIONS.items():
            rows = self.rows(_SECTION_SQL[name] + ' WHERE "project_id" = ? ORDER BY "position"', (head[0],))
            sections[name] = tuple(_builder(cls, SECTION_COLUMNS[name], self.text_types)(rows)) if rows else ()
        return int(head[0]), self._assemble(head, sections)

    def projects(self, codes: Sequence[str] | None) -> list[Project]:
        """Many projects (all when ``codes`` is None) with one query per table, ordered by code."""
        params: tuple[Any, ...] = ()
        where = ""
        if codes is not None:
            params = tuple(codes)
            if not params:
                return []
            where = f' WHERE "code" IN {_marks(len(params))}'
        heads = self.rows(_HEAD_SQL + where + ' ORDER BY "code"', params)
        if not heads:
            return []
        per: dict[Any, dict[str, tuple[Any, ...]]] = {h[0]: {} for h in heads}
        if codes is not None:
            params = tuple(per)
            where = f' WHERE "project_id" IN {_marks(len(params))}'
        for name, cls in SECTIONS.items():
            rows = self.rows(_SECTION_SQL[name] + where + ' ORDER BY "project_id", "position"', params)
            if not rows:
                continue
            objs = _builder(cls, SECTION_COLUMNS[name], self.text_types)(rows)
            start, current = 0, rows[0][0]
            for i, row in enumerate(rows):
                if row[0] != current:
                    if current in per:
                        per[current][name] = tuple(objs[start:i])
                    start, current = i, row[0]
            if current in per:
                per[current][name] = tuple(objs[start:])
        return [self._assemble(h, per[h[0]]) for h in heads]

    def _assemble(self, head: Sequence[Any], sections: dict[str, tuple[Any, ...]]) -> Project:
        charter = _builder(Charter, HEAD_COLUMNS, self.text_types)([head])[0]
        calendar = _json_decoder(_CALENDAR)(self.json(head[4]))
        return Project(
            charter=charter, phase=head[1], phase_before_hold=head[2], version=head[3], calendar=calendar, **sections
        )

    def record(self, code: str, row: Sequence[Any]) -> Record:
        """A Record from ``kind, key, data, created_at``."""
        return Record(code, row[0], row[1], self.json(row[2]), self.datetime(row[3]))


_RECORD_COLUMNS = 'r."kind", r."key", r."data", r."created_at"'


def _connection_reader(conn: Connection) -> _Reader:
    """A reader on the DBAPI cursor of an open SQLAlchemy connection (its transaction, no result processing)."""
    dialect = conn.dialect
    if dialect.paramstyle not in ("qmark", "format", "pyformat"):
        raise StorageError(f"unsupported database driver {dialect.driver} (paramstyle {dialect.paramstyle})")

    def run(sql: str, params: tuple[Any, ...]) -> Sequence[Sequence[Any]]:
        return conn.exec_driver_sql(sql, params).all()

    return _Reader(run, qmark=dialect.paramstyle == "qmark", text_types=dialect.name == "sqlite")


def _sqlite_file(url: str) -> Path | None:
    """The database file of a plain ``sqlite:///path`` URL (not in memory, no options), else None."""
    if not url.startswith("sqlite:///") or "?" in url:
        return None
    path = url[len("sqlite:///") :]
    return Path(path) if path and path != ":memory:" else None


def _prepare_sqlite(dbapi_conn: Any) -> None:
    """The same settings on every SQLite connection, the engine's and the read pool's."""
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
    cur = dbapi_conn.cursor()
    for pragma in _SQLITE_PRAGMAS:
        cur.execute(pragma)
    cur.close()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _bad_param(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, float):
        return not math.isfinite(value) or abs(value) > MAX_MONEY
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        number = Decimal(value)
        return not number.is_finite() or abs(number) > MAX_MONEY
    return False


def _refused_field(statement: str | None, params: Any) -> str:
    """``table.column`` of the value a database refused, from the failed statement and its parameters."""
    found = re.match(r"\s*(?:INSERT\s+INTO|UPDATE)\s+\"?(\w+)", statement or "", re.IGNORECASE)
    table = found.group(1) if found else ""
    rows = params if isinstance(params, (list, tuple)) and params and isinstance(params[0], Mapping) else [params]
    for row in rows:
        if isinstance(row, Mapping):
            column = next((str(k) for k, v in row.items() if _bad_param(v)), "")
            if column:
                return f"{table}.{column}" if table else column
    return table


def _data_error(exc: Any) -> StorageError:
    """A value the database refused (DataError), named by the table and column it was meant for."""
    where = _refused_field(getattr(exc, "statement", None), getattr(exc, "params", None))
    field = f" for {where}" if where else ""
    return StorageError(f"the database refused a value{field}: {_first_line(exc)}; nothing was written")


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


safe_url = _safe_url  # public: the database URL as it may be shown (no password)


# ------------------------------------------------------------------ engine
def normalise_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    # lazy: imported only when used, so SQLite project reads never import SQLAlchemy
    from sqlalchemy import create_engine, event

    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60}, json_deserializer=_json_loads)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
            _prepare_sqlite(dbapi_conn)

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, json_deserializer=_json_loads)


def alembic_config(connection: Connection | None = None) -> Any:
    # lazy: Alembic costs about half a second to import and only init/upgrade need it
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    # lazy: Alembic costs about half a second to import and only init/upgrade need it
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


class _SqlIssue:
    """An issuing session: reads and the registration run on the transaction that holds the lock."""

    def __init__(self, store: SqlStore, conn: Connection, code: str) -> None:
        self._store = store
        self._conn = conn
        self._code = code

    def documents(self) -> list[DocumentRecord]:
        return self._store._documents_on(self._conn, self._code)

    def register(self, doc: DocumentRecord, content: bytes, events: Iterable[AuditEvent] = ()) -> None:
        self._store._insert_document(self._conn, doc, events, content)


class _SqlFileIssue:
    """An issuing session on a SQLite file whose lock is a lock file: reads are short transactions of
    their own, and what is registered is written in one when the block ends without an error (every
    issuer of this document holds the same lock file meanwhile)."""

    def __init__(self, store: SqlStore, code: str) -> None:
        self._store = store
        self._code = code
        self._pending: list[tuple[DocumentRecord, bytes, list[AuditEvent]]] = []

    def documents(self) -> list[DocumentRecord]:
        with self._store._tx() as conn:  # read again here, whatever view the caller had
            return self._store._documents_on(conn, self._code)

    def register(self, doc: DocumentRecord, content: bytes, events: Iterable[AuditEvent] = ()) -> None:
        self._pending.append((doc, content, list(events)))

    def commit(self) -> None:
        if self._pending:
            with self._store._tx() as conn:
                for doc, content, events in self._pending:
                    self._store._insert_document(conn, doc, events, content)


@contextmanager
def issue_file_lock(database: Path, key: int) -> Iterator[None]:
    """An exclusive lock on ``<database>.locks/<key>.lock``, held until the block ends (or the process
    dies: the kernel drops it). Lock files are never removed, so two issuers always lock the same file."""
    import fcntl
    import os

    folder = database.resolve().parent / (database.name + ".locks")
    folder.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(folder / f"{key & 0xFFFFFFFFFFFFFFFF:016x}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


class SqlStore(IdentityStoreMixin, OutboxStoreMixin, SettingsStoreMixin):
    """The store on a SQLAlchemy engine; ``open`` one by URL (the engine is then made on first need)."""

    def __init__(self, engine: Engine | None = None, *, url: str = ""):
        if engine is None and not url:
            raise ValueError("SqlStore needs an engine or a URL")
        self._engine = engine
        self._url = url
        # Reads of a store opened on a SQLite file go through plain sqlite3 connections (see the module doc).
        self._sqlite_path = _sqlite_file(url) if engine is None else None
        self._idle: list[sqlite3.Connection] = []
        self._audit_key: bytes | None = None

    def set_audit_key(self, key: bytes | None) -> None:
        """The key audit events are sealed and checked with (None: write without MACs)."""
        self._audit_key = key

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, made on first use (a read-only command on SQLite never needs it)."""
        if self._engine is None:
            self._engine = make_engine(self._url)
        return self._engine

    # ------------------------------------------------------------ opening
    @classmethod
    def open(cls, url: str, *, create: bool = False) -> SqlStore:
        """Open the database at ``url``; with ``create`` make it (and migrate it to the newest schema)."""
        path = _sqlite_file(url)
        if path is not None:
            if not path.exists() and not create:
                raise NotFound(f"no database at {path}: run `pmo init` first (or set PMO_DATABASE_URL)")
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
        store = cls(url=url)
        failure = f"cannot open the database {_safe_url(url)}"
        if path is not None and not create:
            store._check_schema(failure)  # plain sqlite3: no engine, no SQLAlchemy import
            return store
        # lazy: imported only when used, so SQLite project reads never import SQLAlchemy
        from sqlalchemy.exc import SQLAlchemyError

        try:
            if create:
                store.migrate()
            else:
                store._check_schema(failure)
        except SQLAlchemyError as exc:
            raise StorageError(f"{failure}: {_first_line(exc)}") from exc
        return store

    def migrate(self) -> None:
        # lazy: Alembic costs about half a second to import and only init/upgrade need it
        from alembic import command

        with self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                conn.exec_driver_sql("COMMIT") if conn.in_transaction() else None
            command.upgrade(alembic_config(conn), "head")
            if conn.in_transaction():
                conn.commit()

    def _check_schema(self, failure: str) -> None:
        """Refuse a database that is not at this code's schema revision (read without importing Alembic,
        which would cost every command a noticeable start-up)."""
        if self._sqlite_path is not None:
            with self._read(failure) as r:
                if not r.rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"):
                    raise NotFound("the database has no pmo tables: run `pmo init` first")
                rows = r.rows("SELECT version_num FROM alembic_version")
            current = rows[0][0] if rows else None
        else:
            # lazy: imported only when used, so SQLite project reads never import SQLAlchemy
            from sqlalchemy import inspect, text

            with self.engine.connect() as conn:
                if not inspect(conn).has_table("alembic_version"):
                    raise NotFound("the database has no pmo tables: run `pmo init` first")
                current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                conn.rollback()
        if current != SCHEMA_REVISION:
            raise StorageError(
                f"the database schema is at revision {current}, this version needs "
                f"{SCHEMA_REVISION}: run `pmo init` to upgrade it"
            )

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
        if self._engine is not None:
            self._engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        # lazy: imported only when used, so SQLite project reads never import SQLAlchemy
        from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

        try:
            with self.engine.begin() as conn:
                yield conn
        except IntegrityError as exc:
            raise ConcurrentUpdate(f"another change to the same records won: {_first_line(exc)}") from exc
        except DataError as exc:
            raise _data_error(exc) from exc
        except SQLAlchemyError as exc:
            raise StorageError(f"database error: {_first_line(exc)}") from exc

    @contextmanager
    def _read(self, failure: str = "database error") -> Iterator[_Reader]:
        """A read transaction: on the SQLite read pool, else on an engine connection."""
        if self._sqlite_path is None:
            with self._tx() as conn:
                yield _connection_reader(conn)
            return
        try:
            con = self._idle.pop() if self._idle else self._connect_sqlite(self._sqlite_path)
        except sqlite3.Error as exc:
            raise StorageError(f"{failure}: {_first_line(exc)}") from exc
        healthy = True
        try:
            con.execute("BEGIN")
            try:
                yield _Reader(lambda sql, params: con.execute(sql, params).fetchall(), qmark=True, text_types=True)
            finally:
                con.execute("ROLLBACK")
        except sqlite3.Error as exc:
            healthy = False
            con.close()
            raise StorageError(f"{failure}: {_first_line(exc)}") from exc
        finally:
            if healthy:
                self._idle.append(con)

    @staticmethod
    def _connect_sqlite(path: Path) -> sqlite3.Connection:
        # check_same_thread off: a pooled connection is used by one caller at a time, from any thread
        con = sqlite3.connect(str(path), timeout=60, isolation_level=None, check_same_thread=False)
        _prepare_sqlite(con)
        return con

    # ------------------------------------------------------------ reading
    def list_projects(self) -> list[ProjectSummary]:
        with self._read() as r:
            rows = r.rows(
                'SELECT "code", "name", "phase", "locale", "client", "version", "updated_at", '
                '"audit_head" FROM "projects" ORDER BY "code"'
            )
            return [
                ProjectSummary(
                    x[0],
                    x[1] or "",
                    x[2],
                    x[3] or "",
                    (r.json(x[4]) or {}).get("name", ""),
                    x[5],
                    r.datetime(x[6]),
                    x[7] or "",
                )
                for x in rows
            ]

    def exists(self, code: str) -> bool:
        with self._read() as r:
            return bool(r.rows('SELECT "pk" FROM "projects" WHERE "code" = ?', (code,)))

    def get(self, code: str) -> Project:
        with self._read() as r, gc_paused():
            return r.project(code)[1]

    def get_many(self, codes: Sequence[str] | None = None) -> list[Project]:
        """Load many projects with one query per table (portfolio sweeps)."""
        with self._read() as r, gc_paused():
            return r.projects(None if codes is None else list(codes))

    def records(self, code: str, kind: str) -> list[Record]:
        with self._read() as r:
            rows = r.rows(
                f'SELECT {_RECORD_COLUMNS} FROM "records" r WHERE r."project_id" = ? AND r."kind" = ? '
                'ORDER BY r."created_at", r."key"',
                (r.pk(code), kind),
            )
            return [r.record(code, x) for x in rows]

    def all_records(self, kind: str) -> dict[str, list[Record]]:
        with self._read() as r:
            rows = r.rows(
                f'SELECT {_RECORD_COLUMNS}, p."code" FROM "records" r JOIN "projects" p '
                'ON p."pk" = r."project_id" WHERE r."kind" = ? ORDER BY r."created_at", r."key"',
                (kind,),
            )
            out: dict[str, list[Record]] = {}
            for x in rows:
                out.setdefault(x[4], []).append(r.record(x[4], x))
            return out

    def get_record(self, code: str, kind: str, key: str) -> Record | None:
        with self._read() as r:
            rows = r.rows(
                f'SELECT {_RECORD_COLUMNS} FROM "records" r WHERE r."project_id" = ? AND r."kind" = ? AND r."key" = ?',
                (r.pk(code), kind, key),
            )
            return r.record(code, rows[0]) if rows else None

    # ------------------------------------------------------------ derived data (a cache)
    def derived(self, kind: str, valid: Mapping[str, str] | None = None) -> dict[str, tuple[str, dict[str, Any]]]:
        sql = (
            'SELECT p."code", d."key", d."data" FROM "derived" d JOIN "projects" p '
            'ON p."pk" = d."project_id" WHERE d."kind" = ?'
        )
        with self._read() as r:
            if valid is None:
                return {x[0]: (x[1], r.json(x[2])) for x in r.rows(sql, (kind,))}
            out: dict[str, tuple[str, dict[str, Any]]] = {}
            codes = list(valid)
            for i in range(0, len(codes), 500):  # only the entries asked for are read (and decoded)
                chunk = codes[i : i + 500]
                rows = r.rows(sql + f' AND p."code" IN {_marks(len(chunk))}', (kind, *chunk))
                out.update((x[0], (x[1], r.json(x[2]))) for x in rows if valid.get(x[0]) == x[1])
            return out

    def put_derived(self, kind: str, entries: Mapping[str, tuple[str, Mapping[str, Any]]]) -> None:
        """Replace derived data in one transaction (not audited: it is a cache of what can be recomputed)."""
        # lazy: imported only when used, so SQLite project reads never import SQLAlchemy
        from sqlalchemy import delete, insert, select

        from lifecycle.storage import tables as T

        if not entries:
            return
        now = datetime.now(timezone.utc)
        codes = list(entries)
        with self._tx() as conn:
            pks: dict[str, int] = {}
            for i in range(0, len(codes), 500):
                chunk = codes[i : i + 500]
                pks.update(
                    (row.code, int(row.pk))
                    for row in conn.execute(
                        select(T.projects.c.code, T.projects.c.pk).where(T.projects.c.code.in_(chunk))
                    )
                )
            d = T.derived
            ids = list(pks.values())
            for i in range(0, len(ids), 500):
                conn.execute(delete(d).where(d.c.kind == kind, d.c.project_id.in_(ids[i : i + 500])))
            rows = [
                {"project_id": pks[code], "kind": kind, "key": key, "data": jsonable(dict(data)), "stored_at": now}
                for code, (key, data) in entries.items()
                if code in pks
            ]
            if rows:
                conn.execute(insert(d), rows)

    # ------------------------------------------------------------ writing
    def save(
        self,
        project: Project,
        *,
        expected_version: int | None,
        events: Iterable[AuditEvent] = (),
        records: Iterable[Record] = (),
    ) -> Project:
        events, records = writable(project, events, records)
        with self._tx() as conn:
            return self._save_in(conn, project, expected_version, events, records)

    def _save_in(
        self,
        conn: Connection,
        project: Project,
        expected_version: int | None,
        events: Iterable[AuditEvent],
        records: Iterable[Record],
    ) -> Project:
        # lazy: imported only when used, so SQLite project reads never import SQLAlchemy
        from sqlalchemy import insert, select, update

        from lifecycle.storage import tables as T

        now = datetime.now(timezone.utc)
        p = T.projects
        head_values = {
            "phase": project.phase,
            "phase_before_hold": project.phase_before_hold,
            "calendar": _encode_json(_CALENDAR, project.calendar),
            "updated_at": now,
            **_row_values(project.charter, skip=("code",)),
        }
        if expected_version is None:
            if conn.execute(select(p.c.pk).where(p.c.code == project.code)).first() is not None:
                raise ConcurrentUpdate(f"project '{project.code}' already exists")
            inserted = conn.execute(
                insert(p).values(
                    code=project.code, version=1, created_at=now, audit_seq=0, audit_head="", **head_values
                )
            ).inserted_primary_key
            assert inserted is not None
            pk = inserted[0]
            current: Project | None = None
            new_version = 1
        else:
            # read before the version check's UPDATE rewrites the head: ``current`` is the project as it
            # was (a concurrent writer in between makes the UPDATE below match no row)
            found = _project_or_none(conn, project.code)
            res = conn.execute(
                update(p)
                .where(p.c.code == project.code, p.c.version == expected_version)
                .values(version=p.c.version + 1, **head_values)
            )
            if res.rowcount != 1:
                row = conn.execute(select(p.c.version).where(p.c.code == project.code)).first()
                if row is None:
                    raise NotFound(f"no project '{project.code}'")
                raise ConcurrentUpdate(
                    f"project '{project.code}' was changed by someone else (now version {row.version}, "
                    f"this change was based on version {expected_version}); nothing was written, "
                    "reload and try again"
                )
            assert found is not None
            pk, current = found
            new_version = expected_version + 1
        self._write_sections(conn, pk, current, project)
        self._write_audited(conn, pk, project.code, events, records, project=project, current=current)
        saved: Project = replace(project, version=new_version)
        return saved

    def _write_sections(self, conn: Connection, pk: int, current: Project | None, project: Project) -> None:
        # lazy: imported only when used, so SQLite project reads never import SQLAlchemy
        from sqlalchemy import delete, insert, update

        from lifecycle.storage import tables as T

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
                        conn.execute(
                            update(table)
                            .where(table.c.project_id == pk, table.c.key == key)
                            .values(position=pos, **values)
                        )
            gone = [k for k in old if k not in seen]
            if gone:
                conn.execute(delete(table).where(table.c.project_id == pk, table.c.key.in_(gone)))
            if to_insert:
                conn.execute(insert(table), to_insert)

    def _write_audited(
        self,
        conn: Connection,
        pk: int,
        code: str,
        events: Iterable[AuditEvent],
        records: Iterable[Record],
        *,
        project: Project | None = None,
        current: Project | None = None,
    ) -> None:
        """Write ``records`` and append ``events`` sealed with the state the write produced.

        Parts the write did not touch keep the hashes the last event recorded (so an edit made outside
        pmo stays visible); parts it touches are hashed afresh, and found edited before (``drift``) when
        their stored rows no longer match the last event.
        """
        events, records = list(events), list(records)
        if not events:
            self._put_records(conn, pk, records)
            return
        r = _connection_reader(conn)
        state = anchor.state_after_write(
            _last_parts(r, pk),
            {rec.kind for rec in records},
            project=project,
            current=current,
            load_project=lambda: r.project(code)[1],
            stored_records=lambda wanted: _stored_record_parts(r, pk, wanted),
            write=lambda: self._put_records(conn, pk, records),
        )
        self._append(conn, pk, code, events, state)

    def _append(
        self, conn: Connection, pk: int, code: str, events: Iterable[AuditEvent], state: dict[str, Any]
    ) -> None:
        events = list(events)
        if not events:
            return
        # lazy: imported only when used, so SQLite project reads never import SQLAlchemy
        from sqlalchemy import insert, select, update

        from lifecycle.storage import tables as T

        p = T.projects
        row = conn.execute(select(p.c.audit_seq, p.c.audit_head).where(p.c.pk == pk)).one()
        seq, head = row.audit_seq, row.audit_head
        rows = []
        for ev in events:
            seq += 1
            ev = replace(ev, project=code, at=_utc(ev.at), data=jsonable(ev.data))
            h = chain_hash(head, ev, seq)
            ev_state, ev_state_hash, mac = anchor.seal(replace(ev, hash=h), state, self._audit_key)
            rows.append(
                {
                    "project_id": pk,
                    "seq": seq,
                    "at": ev.at,
                    "actor": ev.actor,
                    "action": ev.action,
                    "entity": ev.entity,
                    "entity_id": ev.entity_id,
                    "data": ev.data,
                    "prev_hash": head,
                    "hash": h,
                    "state": ev_state,
                    "state_hash": ev_state_hash,
                    "mac": mac,
                }
            )
            head = h
        conn.execute(insert(T.audit_events), rows)
        res = conn.execute(
            update(p).where(p.c.pk == pk, p.c.audit_seq == row.audit_seq).values(audit_seq=seq, audit_head=head)
        )
        if res.rowcount != 1:
            raise ConcurrentUpdate(f"the audit trail of '{code}' was extended concurrently; try again")

    def _put_records(self, conn: Connection, pk: int, records: Iterable[Record]) -> None:
        # lazy: imported only when used, so SQLite project reads never import SQLAlchemy
        from sqlalchemy import delete, insert

        from lifecycle.storage import tables as T

        r = T.records
        for rec in records:
            conn.execute(delete(r).where(r.c.project_id == pk, r.c.kind == rec.kind, r.c.key == rec.key))
            conn.execute(
                insert(r).values(
                    project_id=pk,
                    kind=rec.kind,
                    key=rec.key,
                    schema_version=RECORD_SCHEMA_VERSION,
                    data=jsonable(rec.data),
                    created_at=_utc(rec.created_at),
                )
            )

    def _lock(self, conn: Connection, code: str) -> int:
        # lazy: imported only when used, so SQLite project reads never import SQLAlchemy
        from sqlalchemy import select

        from lifecycle.storage import tables as T

        p = T.projects
        q = select(p.c.pk).where(p.c.code == code)
        if self.engine.dialect.name == "postgresql":
            q = q.with_for_update()
        row = conn.execute(q).first()
        if row is None:
            raise NotFound(f"no project '{code}' (see `pmo list`)")
        return int(row.pk)

    def add_records(self, code: str, records: Iterable[Record], events: Iterable[AuditEvent] = ()) -> None:
        events, records = writable(None, events, records)
        with self._tx() as conn:
            pk = self._lock(conn, code)
            self._write_audited(conn, pk, code, events, records)

    # ------------------------------------------------------------ documents
    def add_document(
        self, doc: DocumentRecord, events: Iterable[AuditEvent] = (), content: bytes | None = None
    ) -> None:
        with self._tx() as conn:
            self._insert_document(conn, doc, events, content)

    def _insert_document(
        self, conn: Connection, doc: DocumentRecord, events: Iterable[AuditEvent], content: bytes | None
    ) -> None:
        """The registry row, the bytes (when given) and the audit events, on ``conn``'s transaction."""
        # lazy: imported only when used, so SQLite project reads never import SQLAlchemy
        from sqlalchemy import insert

        from lifecycle.storage import tables as T

        events, _ = writable(None, events, ())
        refuse_beyond_limits(f"document {doc.number}", stored_problems(jsonable(doc.record), ("record",)))
        pk = self._lock(conn, doc.project)
        values = {f.name: getattr(doc, f.name) for f in dataclasses.fields(doc) if f.name != "project"}
        values["created_at"] = _utc(doc.created_at)
        values["record"] = jsonable(doc.record)
        inserted = conn.execute(insert(T.documents).values(project_id=pk, **values)).inserted_primary_key
        assert inserted is not None
        doc_pk = inserted[0]
        if content is not None:
            conn.execute(
                insert(T.document_files).values(
                    document_pk=doc_pk, sha256=hashlib.sha256(content).hexdigest(), size=len(content), content=content
                )
            )
        self._write_audited(conn, pk, doc.project, events, ())

    @contextmanager
    def issuing(self, code: str, kind: str, subject: str) -> Iterator[IssueSession]:
        # lazy: imported only when used, so SQLite project reads never import SQLAlchemy
        from sqlalchemy import text

        if self._sqlite_path is not None:
            # A SQLite file: a lock file per (project, kind, subject) beside the database, so issuers of
            # other documents are not held behind a render; each read and the registration are short
            # write transactions of their own.
            with issue_file_lock(self._sqlite_path, issue_lock_key(code, kind, subject)):
                with self._tx() as conn:
                    if conn.execute(text("SELECT 1 FROM projects WHERE code = :code"), {"code": code}).first() is None:
                        raise NotFound(f"no project '{code}' (see `pmo list`)")
                session = _SqlFileIssue(self, code)
                yield session
                session.commit()  # not reached when the block fails: nothing is registered
            return
        with self._tx() as conn:
            if conn.execute(text("SELECT 1 FROM projects WHERE code = :code"), {"code": code}).first() is None:
                raise NotFound(f"no project '{code}' (see `pmo list`)")
            if self.engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": issue_lock_key(code, kind, subject)})
            # on SQLite the engine began this transaction with BEGIN IMMEDIATE: it holds the write lock
            yield _SqlIssue(self, conn, code)

    def _doc(self, row: Any) -> DocumentRecord:
        m = dict(row._mapping)
        m.pop("pk")
        m.pop("project_id")
        m["created_at"] = _utc(m["created_at"])
        return DocumentRecord(project=m.pop("code"), **m)

    def _documents_on(self, conn: Connection, code: str | None) -> list[DocumentRecord]:
        # lazy: imported only when used, so SQLite project reads never import SQLAlchemy
        from sqlalchemy import select

        from lifecycle.storage import tables as T

        d, p = T.documents, T.projects
        q = select(d, p.c.code).join(p, p.c.pk == d.c.project_id)
        if code is not None:
            q = q.where(p.c.code == code)
        rows = conn.execute(q.order_by(d.c.created_at, d.c.pk)).all()
        return [self._doc(r) for r in rows]

    def documents(self, code: str | None = None) -> list[DocumentRecord]:
        with self._tx() as conn:
            return self._documents_on(conn, code)

    def document_content(self, doc_id: str) -> bytes | None:
        # lazy: imported only when used, so SQLite project reads never import SQLAlchemy
        from sqlalchemy import select

        from lifecycle.storage import tables as T

        f, d = T.document_files, T.documents
        with self._tx() as conn:
            value = conn.execute(
                select(f.c.content).join(d, d.c.pk == f.c.document_pk).where(d.c.id == doc_id)
            ).scalar()
        return None if value is None else bytes(value)

    def find_document(self, sha256: str) -> DocumentRecord | None:
        # lazy: imported only when used, so SQLite project reads never import SQLAlchemy
        from sqlalchemy import select

        from lifecycle.storage import tables as T

        d, p = T.documents, T.projects
        with self._tx() as conn:
            row = conn.execute(
                select(d, p.c.code)
                .join(p, p.c.pk == d.c.project_id)
                .where(d.c.sha256 == sha256)
                .order_by(d.c.pk.desc())
            ).first()
        return self._doc(row) if row else None

    # ------------------------------------------------------------ audit
    def audit(self, code: str) -> list[AuditEvent]:
        with self._read() as r:
            rows = r.rows(
                'SELECT "action", "actor", "at", "entity", "entity_id", "data", "seq", "prev_hash", "hash", '
                '"state", "state_hash", "mac" '
                'FROM "audit_events" WHERE "project_id" = ? ORDER BY "seq"',
                (r.pk(code),),
            )
            return [
                AuditEvent(
                    project=code,
                    action=x[0],
                    actor=x[1],
                    at=r.datetime(x[2]),
                    entity=x[3],
                    entity_id=x[4],
                    data=r.json(x[5]),
                    seq=x[6],
                    prev_hash=x[7],
                    hash=x[8],
                    state=r.json(x[9]) or {},
                    state_hash=x[10] or "",
                    mac=x[11] or "",
                )
                for x in rows
            ]

    def verify_audit(self, code: str | None = None) -> list[str]:
        sql = 'SELECT "code", "audit_seq", "audit_head" FROM "projects"'
        with self._read() as r:
            heads = r.rows(
                sql + ' WHERE "code" = ?' if code is not None else sql + ' ORDER BY "code"',
                (code,) if code is not None else (),
            )
        if code is not None and not heads:
            raise NotFound(f"no project '{code}'")
        codes = [h[0] for h in heads]
        current = self._current_parts(codes)
        problems: list[str] = []
        for h in heads:
            problems += anchor.verify_trail(self.audit(h[0]), h[1], h[2], self._audit_key, current.get(h[0], {}))
        return problems

    def _current_parts(self, codes: Sequence[str]) -> dict[str, dict[str, str]]:
        """The audited state of each project as stored now (see :mod:`lifecycle.storage.anchor`)."""
        out = {p.code: anchor.project_parts(p) for p in self.get_many(codes)}
        for kind in anchor.STATE_RECORD_KINDS:
            found = self.all_records(kind)
            for code, parts in out.items():
                parts.update(anchor.record_parts(found.get(code, []), (kind,)))
        return out

    def audit_head(self, code: str) -> tuple[int, str]:
        with self._read() as r:
            rows = r.rows('SELECT "audit_seq", "audit_head" FROM "projects" WHERE "code" = ?', (code,))
        if not rows:
            raise NotFound(f"no project '{code}' (see `pmo list`)")
        return int(rows[0][0]), str(rows[0][1] or "")


def _project_or_none(conn: Connection, code: str) -> tuple[int, Project] | None:
    try:
        return _connection_reader(conn).project(code)
    except NotFound:
        return None


def _last_parts(r: _Reader, pk: int) -> dict[str, str]:
    """The part hashes the project's last event recorded (empty before state hashes were kept)."""
    rows = r.rows('SELECT "state" FROM "audit_events" WHERE "project_id" = ? ORDER BY "seq" DESC LIMIT 1', (pk,))
    if not rows:
        return {}
    return anchor.parts_of(AuditEvent("", "", "", datetime.min, state=r.json(rows[0][0]) or {}))


def _stored_record_parts(r: _Reader, pk: int, kinds: Iterable[str]) -> dict[str, str]:
    """The hashes of the audited record kinds among ``kinds`` as stored now (in this transaction)."""
    wanted = sorted(k for k in set(kinds) if k in anchor.STATE_RECORD_KINDS)
    if not wanted:
        return {}
    rows = r.rows(
        f'SELECT {_RECORD_COLUMNS} FROM "records" r WHERE r."project_id" = ? AND r."kind" IN {_marks(len(wanted))}',
        (pk, *wanted),
    )
    return anchor.record_parts([r.record("", x) for x in rows], wanted)

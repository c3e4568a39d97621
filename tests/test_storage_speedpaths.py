"""The SQL store's fast read paths: plain SQL and generated row builders instead of SQLAlchemy results.

The storage contract suite checks what a store returns; these tests pin what is particular to the
fast paths: the column lists they read match the tables, the SQLite read pool and an engine
connection decode alike (and like SQLAlchemy's own types), NULL cells become the model's defaults,
and a read-only command on SQLite never imports SQLAlchemy.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from lifecycle.domain.model import SECTIONS, AuditEvent, Baseline, BaselineTask, Project, replace
from lifecycle.errors import NotFound
from lifecycle.storage.protocol import Record
from lifecycle.storage.sql import HEAD_COLUMNS, SECTION_COLUMNS, SqlStore, _json_loads, make_engine
from tests.factory import small_project

NOW = datetime(2026, 2, 1, 9, 30, 15, 123456, tzinfo=timezone.utc)


def _rich_project() -> Project:
    """The small project plus nested JSON objects holding dates and money (baselines)."""
    p = small_project()
    bl = Baseline(
        id="BL1",
        name="Approved plan",
        saved_on=p.charter.start,
        budget=Decimal("110000.25"),
        finish=p.charter.finish,
        tasks=(BaselineTask(task="T1", start=p.charter.start, finish=None, cost=Decimal("12.5"), effort_hours=8.0),),
    )
    return replace(p, baselines=(bl,))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pmo.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_read_columns_mirror_the_tables():
    from lifecycle.storage import tables as T

    for name, table in T.section_tables.items():
        assert set(SECTION_COLUMNS[name]) == set(table.c.keys()) - {"pk", "position"}, name
    assert set(SECTIONS) == set(SECTION_COLUMNS)
    bookkeeping = {"code", "audit_seq", "audit_head", "created_at", "updated_at"}
    assert set(HEAD_COLUMNS) - {"code"} == set(T.projects.c.keys()) - bookkeeping


def test_sqlite_read_pool_and_engine_connection_decode_alike(tmp_path):
    url = f"sqlite:///{tmp_path / 'pmo.db'}"
    saved = SqlStore.open(url, create=True).save(
        _rich_project(),
        expected_version=None,
        events=[AuditEvent("DEMO-1", "x", "t", NOW, data={"n": 1})],
        records=[Record("DEMO-1", "waiver", "W1", {"a": [1]}, NOW)],
    )
    pooled = SqlStore.open(url)  # reads through plain sqlite3 connections
    engine = SqlStore(make_engine(url))  # reads through the DBAPI cursor of SQLAlchemy connections
    expected = repr(pooled.get("DEMO-1"))  # money reads back with its two decimals: Decimal('95.00')
    for store in (pooled, engine):
        got = store.get("DEMO-1")
        assert got == saved and repr(got) == expected
        assert repr(store.get_many()) == repr(store.get_many(["DEMO-1", "NOPE"])) == f"[{expected}]"
        assert store.records("DEMO-1", "waiver") == [Record("DEMO-1", "waiver", "W1", {"a": [1]}, NOW)]
        assert store.audit("DEMO-1")[0].at == NOW and store.verify_audit() == []
    assert repr(pooled.list_projects()) == repr(engine.list_projects())
    assert repr(pooled.all_records("waiver")) == repr(engine.all_records("waiver"))


def test_values_come_back_with_the_model_types(db_url):
    store = SqlStore.open(db_url, create=True)
    store.save(_rich_project(), expected_version=None)
    got = store.get("DEMO-1")
    assert str(got.people[0].rate) == "95.00" and str(got.budget[0].amount) == "100000.50"  # Numeric(18, 2)
    assert got.tasks[2].milestone is True and got.tasks[0].milestone is False
    assert got.baselines[0].tasks[0].cost == Decimal("12.5") and got.baselines[0].tasks[0].finish is None
    assert got.tasks[0].deliverables == ("D1",) and got.tasks[2].deliverables == ()
    assert isinstance(got.tasks[0].effort_hours, float)
    updated = store.list_projects()[0].updated_at
    assert updated is not None and updated.tzinfo is not None


def test_null_cells_read_as_the_model_defaults(db_url):
    from sqlalchemy import text

    store = SqlStore.open(db_url, create=True)
    store.save(small_project(), expected_version=None)
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE tasks SET notes = NULL, effort_hours = NULL, deliverables = NULL, "
                "milestone = NULL, start = NULL"
            )
        )
        conn.execute(text("UPDATE people SET rate = NULL, skills = NULL"))
        conn.execute(text("UPDATE projects SET approved_budget = NULL, objectives = NULL"))
    for reader in (store, SqlStore.open(db_url)):
        got = reader.get("DEMO-1")
        t = got.tasks[0]
        assert (t.notes, t.effort_hours, t.deliverables, t.milestone, t.start) == ("", 0.0, (), False, None)
        assert got.people[0].rate == Decimal("0") and got.people[0].skills == ()
        assert got.charter.approved_budget == Decimal("0") and got.charter.objectives == ()


def test_a_failed_read_leaves_the_store_usable(tmp_path):
    url = f"sqlite:///{tmp_path / 'pmo.db'}"
    SqlStore.open(url, create=True).save(small_project(), expected_version=None)
    store = SqlStore.open(url)
    for _ in range(3):
        with pytest.raises(NotFound):
            store.get("NOPE")
        with pytest.raises(NotFound):
            store.records("NOPE", "waiver")
    p = store.get("DEMO-1")
    assert store.save(replace(p, phase="planning"), expected_version=p.version).version == 2  # no lock left behind
    assert store.get("DEMO-1").phase == "planning"
    store.close()
    assert store.get("DEMO-1").version == 2  # a closed store reconnects, like an engine after dispose()


def test_loading_pauses_garbage_collection_only_while_it_runs(tmp_path):
    url = f"sqlite:///{tmp_path / 'pmo.db'}"
    store = SqlStore.open(url, create=True)
    store.save(small_project(), expected_version=None)
    assert gc.isenabled()
    store.get_many()
    assert gc.isenabled()
    gc.disable()
    try:
        store.get("DEMO-1")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_json_cells_read_back_exactly():
    assert _json_loads("[]") == [] and _json_loads('{"a": [1, "x"]}') == {"a": [1, "x"]}
    assert str(_json_loads("[NaN]")[0]) == "nan"
    assert _json_loads("[123456789012345678901234567890]") == [123456789012345678901234567890]


def test_json_cells_as_bytes_read_as_json_reads_them():
    """PostgreSQL hands JSON cells as UTF-8 bytes: the decoder gives what json.loads gives for them."""
    texts = [
        "[]",
        " [] ",
        "{}",
        "{ }",
        "5",
        '"x"',
        '["Zürich", "北京", "\\ud800", "\\u00e9"]',
        '{"a": [1, 2.5, -0.0, 1e-9, 123456789012345678901234567890, null, true], "a": "last"}',
        "[NaN, Infinity]",
    ]
    for text in texts:
        for data in (text.encode("utf-8"), b"\xef\xbb\xbf" + text.encode("utf-8")):
            want = json.loads(data)
            got = _json_loads(data)
            assert json.dumps(got) == json.dumps(want) and type(got) is type(want), data
    with pytest.raises(ValueError):
        _json_loads(b"[1,")


def test_a_read_only_command_on_sqlite_does_not_import_sqlalchemy(tmp_path):
    url = f"sqlite:///{tmp_path / 'pmo.db'}"
    SqlStore.open(url, create=True).save(small_project(), expected_version=None)
    code = textwrap.dedent(f"""
        import sys
        from lifecycle.storage.sql import SqlStore
        s = SqlStore.open({url!r})
        s.get("DEMO-1"); s.get_many(); s.records("DEMO-1", "waiver"); s.list_projects(); s.verify_audit()
        s.close()
        assert not [m for m in sys.modules if m.startswith("sqlalchemy")], "sqlalchemy was imported"
    """)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parent.parent
    )
    assert proc.returncode == 0, proc.stderr


def test_custom_field_maps_read_back_fresh_and_exact(store):
    """Empty maps (most custom-field cells) read back as a new empty map per entity; others as stored."""
    p = small_project()
    tasks = tuple(
        replace(t, custom={"ref": f"R-{i}", "n": i, "nested": {"a": [1, 2]}} if i == 0 else {})
        for i, t in enumerate(p.tasks)
    )
    store.save(replace(p, tasks=tasks), expected_version=None)
    back = store.get_many([p.charter.code])[0]
    assert [t.custom for t in back.tasks] == [t.custom for t in tasks]
    empty = [t.custom for t in back.tasks if not t.custom]
    assert len(empty) >= 2 and len({id(m) for m in empty}) == len(empty)

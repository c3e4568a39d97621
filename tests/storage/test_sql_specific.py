"""What only a real database shows: tampering with rows, migrations, concurrent writers."""

from __future__ import annotations

import multiprocessing as mp
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from lifecycle.domain.model import AuditEvent, replace
from lifecycle.errors import ConcurrentUpdate, NotFound, StorageError
from lifecycle.storage.sql import SqlStore
from tests.factory import small_project

NOW = datetime(2026, 2, 1, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pmo.db'}"
    return str(request.getfixturevalue("pg_url"))


def _with_trail(url: str) -> SqlStore:
    s = SqlStore.open(url, create=True)
    s.save(
        small_project(),
        expected_version=None,
        events=[AuditEvent("DEMO-1", a, "t", NOW, data={"i": i}) for i, a in enumerate(["a", "b", "c"])],
    )
    return s


def test_edited_audit_row_is_detected(db_url):
    s = _with_trail(db_url)
    with s.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2"))
    problems = s.verify_audit()
    assert any("event 2" in p and "altered" in p for p in problems), problems


def test_deleted_last_audit_row_is_detected(db_url):
    s = _with_trail(db_url)
    with s.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 3"))
    assert any("deleted" in p for p in s.verify_audit()), s.verify_audit()


def test_deleted_middle_audit_row_is_detected(db_url):
    s = _with_trail(db_url)
    with s.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    assert any("missing" in p for p in s.verify_audit())


def test_open_without_init_says_run_init(tmp_path):
    with pytest.raises(NotFound, match="pmo init"):
        SqlStore.open(f"sqlite:///{tmp_path / 'none.db'}")


def test_unreachable_postgres_is_a_storage_error():
    with pytest.raises(StorageError, match="cannot open"):
        SqlStore.open("postgresql://nobody@127.0.0.1:1/nothing")


def test_schema_revision_is_the_migrations_head():
    from lifecycle.storage.sql import head_revision
    from lifecycle.storage.tables import SCHEMA_REVISION

    assert head_revision() == SCHEMA_REVISION


def test_migrations_match_the_model(db_url):
    """The committed Alembic migrations produce exactly the tables the code declares."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from lifecycle.storage.tables import metadata

    s = SqlStore.open(db_url, create=True)
    with s.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == [], f"the model changed: write a new migration ({diff[:3]})"


def _writer(url: str, n: int, q: mp.Queue[str]) -> None:
    s = SqlStore.open(url)
    p = s.get("DEMO-1")
    q.put("ready")
    q.get  # noqa: B018 - the parent releases all writers at once through the barrier file
    barrier = Path(url.split("///")[-1]).parent / "go" if url.startswith("sqlite") else None
    import time

    deadline = time.time() + 20
    while barrier is not None and not barrier.exists() and time.time() < deadline:
        time.sleep(0.005)
    try:
        s.save(
            replace(p, phase=f"phase-{n}"),
            expected_version=p.version,
            events=[AuditEvent("DEMO-1", "phase.changed", f"w{n}", NOW)],
        )
        q.put(f"won {n}")
    except ConcurrentUpdate:
        q.put("conflict")
    finally:
        s.close()


def test_concurrent_writers_exactly_one_wins(tmp_path):
    url = f"sqlite:///{tmp_path / 'pmo.db'}"
    s = SqlStore.open(url, create=True)
    s.save(small_project(), expected_version=None)
    ctx = mp.get_context("spawn")
    q: mp.Queue[str] = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(url, n, q)) for n in range(4)]
    for p in procs:
        p.start()
    for _ in procs:
        assert q.get(timeout=60) == "ready"
    (tmp_path / "go").touch()
    results = sorted(q.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(30)
    assert sum(r.startswith("won") for r in results) == 1, results
    assert results.count("conflict") == 3
    final = s.get("DEMO-1")
    assert final.version == 2 and s.verify_audit() == [] and len(s.audit("DEMO-1")) == 1

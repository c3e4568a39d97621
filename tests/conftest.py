"""Shared fixtures: stores of every kind, workspaces, sample projects, a PostgreSQL cluster.

The PostgreSQL cluster is started once per test process (each xdist worker has its own) on a free
loopback port and each test that wants PostgreSQL gets a fresh database in it.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[object]:
    from tests.pgcluster import PgCluster

    cluster = PgCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: object) -> str:
    return pg_cluster.create_database(f"t{os.getpid()}_{next(_counter)}")  # type: ignore[attr-defined]


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """Each contract test runs against the in-memory fake, SQLite and PostgreSQL."""
    if request.param == "memory":
        from lifecycle.storage.memory import MemoryStore

        yield MemoryStore()
        return
    from lifecycle.storage.sql import SqlStore

    url = f"sqlite:///{tmp_path / 'pmo.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    s = SqlStore.open(url, create=True)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An initialised workspace folder in tmp_path, made current for the CLI."""
    ws = tmp_path / ".pmo"
    monkeypatch.setenv("PMO_WORKSPACE", str(ws))
    monkeypatch.delenv("PMO_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    from click.testing import CliRunner

    from lifecycle.cli.main import cli

    res = CliRunner().invoke(cli, ["init"])
    assert res.exit_code == 0, res.output
    return ws

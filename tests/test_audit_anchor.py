"""The audit trail anchored outside the database, end to end through the CLI (SQLite and PostgreSQL).

Someone with write access to the database, but not to the audit key, rewrites the trail: a forged
full chain, a direct edit of an approval, a waiver's expiry or a task row, a tail cut back past an
issued document with the head fixed. Each is reported by ``pmo audit verify`` (and the cut by ``pmo
docs verify`` on the client's copy); a missing or wrong key is said plainly; normal use stays clean.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli
from lifecycle.domain.model import AuditEvent
from lifecycle.storage.anchor import state_hash
from lifecycle.storage.protocol import chain_hash, verify_chain
from lifecycle.storage.sql import make_engine
from tests.test_gates import CODE, PM, SAMPLE, SPONSOR, _fix_plan, add_users

OTHER_KEY = "f" * 64


def cli_run(*args: str, code: int = 0) -> Any:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == code, res.output + (repr(res.exception) if res.exception else "")
    return res


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An initialised workspace on SQLite or PostgreSQL; yields its database URL."""
    ws = tmp_path / ".pmo"
    monkeypatch.setenv("PMO_WORKSPACE", str(ws))
    monkeypatch.chdir(tmp_path)
    for name in ("PMO_DATABASE_URL", "PMO_AUDIT_KEY", "PMO_AUDIT_KEY_FILE", "PMO_USER"):
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{ws / 'pmo.db'}"
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        monkeypatch.setenv("PMO_DATABASE_URL", url)
    cli_run("init")
    monkeypatch.setenv("PMO_TODAY", "2026-11-26")
    yield url


def _planning(monkeypatch: pytest.MonkeyPatch) -> None:
    add_users(monkeypatch)
    cli_run("apply", str(SAMPLE))
    cli_run("advance", CODE, "--to", "planning")


def _waive_and_approve(monkeypatch: pytest.MonkeyPatch) -> None:
    _fix_plan()
    d = json.loads(cli_run("gate", "check", CODE, "--json", code=1).output)
    rule = next(r["id"] for r in d["results"] if r["outcome"] == "fail" and r["severity"] == "blocking")
    monkeypatch.setenv("PMO_USER", SPONSOR)
    cli_run("gate", "waive", CODE, "--rule", rule, "--as", "sponsor", "--reason", "steering 2", "--until", "2026-12-15")
    cli_run("gate", "approve", CODE, "--as", "sponsor", "--comment", "Plan approved")
    monkeypatch.setenv("PMO_USER", PM)


def _sql(url: str, statement: str, params: dict[str, Any] | None = None) -> list[Any]:
    """Run SQL straight on the database, as someone with write access to it would."""
    from sqlalchemy import text

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            res = conn.execute(text(statement), params or {})
            return list(res) if res.returns_rows else []
    finally:
        engine.dispose()


def _events(url: str) -> list[Any]:
    return _sql(
        url,
        'SELECT e."pk", e."seq", e."action", e."actor", e."at", e."entity", e."entity_id", e."data", e."prev_hash", '
        'e."hash", e."state", e."state_hash", e."mac" FROM "audit_events" e JOIN "projects" p '
        'ON p."pk" = e."project_id" WHERE p."code" = :code ORDER BY e."seq"',
        {"code": CODE},
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _verify(code: int) -> str:
    return str(cli_run("audit", "verify", code=code).output)


# ---------------------------------------------------------------------------------------------- normal use, a cut
def test_normal_use_verifies_clean_and_a_cut_tail_is_found_by_the_document_anchor(db, tmp_path, monkeypatch):
    key = tmp_path / ".pmo" / "audit.key"
    assert key.is_file() and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(key.read_text().strip()) == 64
    _planning(monkeypatch)
    _waive_and_approve(monkeypatch)
    path = Path(cli_run("docs", "gate-review", CODE).output.strip())
    rows = _events(db)
    assert rows and all(r.mac and len(r.state_hash) == 64 for r in rows)
    assert set(_json(rows[-1].state)["parts"]) >= {"project", "tasks", "records.approval", "records.waiver"}
    out = _verify(0)
    assert "intact for every project (anchored with the audit key)" in out and "NOT ANCHORED" not in out
    res = cli_run("docs", "verify", str(path))
    assert "anchor     audit event #" in res.output and "still in the audit trail" in res.output

    client_copy = tmp_path / "client-copy.pdf"
    client_copy.write_bytes(path.read_bytes())
    issued = next(r for r in rows if r.action == "document.issued")
    anchor = issued.seq - 1
    keep = next(r for r in rows if r.seq == anchor)
    printed = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert f"Audit trail at issue: event {anchor}, {keep.hash[:12]}." in " ".join(printed.split())
    # delete the document's issue event (and everything after it), then fix the head: the chain, the MACs
    # and the state (documents are not part of it) are consistent again
    _sql(db, 'DELETE FROM "audit_events" WHERE "seq" > :s AND "project_id" = (SELECT "pk" FROM "projects" '
         'WHERE "code" = :c)', {"s": anchor, "c": CODE})  # fmt: skip
    _sql(db, 'UPDATE "projects" SET "audit_seq" = :s, "audit_head" = :h WHERE "code" = :c',
         {"s": anchor, "h": keep.hash, "c": CODE})  # fmt: skip
    out = _verify(1)
    assert f"document {CODE}-" in out and "the events after it were deleted" in out
    # the registry row goes too: only the client's copy is left to prove the history was cut
    _sql(db, 'DELETE FROM "documents"')
    assert "intact" in _verify(0)
    res = cli_run("docs", "verify", str(client_copy), code=1)
    assert f"audit event #{anchor} {keep.hash[:12]}: HISTORY CUT" in res.output
    assert "the events after it were deleted" in res.output


# ---------------------------------------------------------------------------------------------- the key, forgery
def test_a_missing_or_wrong_key_is_reported_and_a_forged_chain_is_detected(db, tmp_path, monkeypatch):
    _planning(monkeypatch)
    key = tmp_path / ".pmo" / "audit.key"
    moved = tmp_path / "kept.key"
    key.rename(moved)
    out = _verify(1)
    assert "carry MACs but no audit key is available here" in out and "PMO_AUDIT_KEY" in out
    monkeypatch.setenv("PMO_AUDIT_KEY", OTHER_KEY)
    assert "no event's MAC matches the audit key" in _verify(1)
    monkeypatch.setenv("PMO_AUDIT_KEY", "short")
    assert "at least 32 characters" in cli_run("audit", "verify", code=2).output
    monkeypatch.delenv("PMO_AUDIT_KEY")
    monkeypatch.setenv("PMO_AUDIT_KEY_FILE", str(tmp_path / "nowhere.key"))
    assert "nowhere.key, which does not exist" in cli_run("audit", "verify", code=2).output
    monkeypatch.setenv("PMO_AUDIT_KEY_FILE", str(moved))
    assert "intact" in _verify(0)
    monkeypatch.delenv("PMO_AUDIT_KEY_FILE")
    monkeypatch.setenv("PMO_AUDIT_KEY", moved.read_text().strip())  # the same key, given to a worker elsewhere
    cli_run("cost", "add", CODE, "--amount", "5", "--category", "travel")
    assert "intact" in _verify(0)

    # rewrite who created the project, then recompute every hash of the chain and the head: the chain alone
    # is consistent again (what passed before), only the MACs made with the key give it away
    prev = ""
    forged = []
    for r in _events(db):
        actor = "someone.else" if r.seq == 1 else r.actor
        ev = AuditEvent(CODE, r.action, actor, _at(r.at), r.entity, r.entity_id, _json(r.data), r.seq, prev)
        h = chain_hash(prev, ev, r.seq)
        forged.append(AuditEvent(**{**_fields(ev), "hash": h}))
        _sql(db, 'UPDATE "audit_events" SET "actor" = :a, "prev_hash" = :p, "hash" = :h WHERE "pk" = :pk',
             {"a": actor, "p": prev, "h": h, "pk": r.pk})  # fmt: skip
        prev = h
    _sql(db, 'UPDATE "projects" SET "audit_head" = :h WHERE "code" = :c', {"h": prev, "c": CODE})
    assert verify_chain(forged, len(forged), prev) == []  # a complete forgery of the chain
    out = _verify(1)
    assert f"TAMPERED {CODE}: no event's MAC matches the audit key" in out


# ---------------------------------------------------------------------------------------------- direct edits
def test_direct_edits_of_approval_waiver_and_task_are_detected(db, monkeypatch):
    _planning(monkeypatch)
    _waive_and_approve(monkeypatch)
    _verify(0)
    for part in ("tasks", "records.waiver", "records.approval"):
        if part == "tasks":
            old = _sql(db, 'SELECT "percent_complete" FROM "tasks" WHERE "key" = \'safety\'')[0][0]
            _sql(db, 'UPDATE "tasks" SET "percent_complete" = 100 WHERE "key" = \'safety\'')
            restore = ('UPDATE "tasks" SET "percent_complete" = :v WHERE "key" = \'safety\'', {"v": old})
        else:
            kind = part.removeprefix("records.")
            row = _sql(db, 'SELECT "pk", "data" FROM "records" WHERE "kind" = :k', {"k": kind})[0]
            data = _json(row.data)
            changed = {**data, "expires_on": "2099-12-31"} if kind == "waiver" else {**data, "role": "steering"}
            _sql(db, 'UPDATE "records" SET "data" = :d WHERE "pk" = :pk', {"d": json.dumps(changed), "pk": row.pk})
            restore = ('UPDATE "records" SET "data" = :d WHERE "pk" = :pk', {"d": json.dumps(data), "pk": row.pk})
        out = _verify(1)
        assert f"TAMPERED {CODE}: the stored {part} differ from the state recorded by the last event" in out, out
        _sql(db, *restore)
        _verify(0)
    # an edit followed by a normal change (which saves the whole project) is not laundered by it
    _sql(db, 'UPDATE "tasks" SET "name" = \'renamed outside\' WHERE "key" = \'safety\'')
    cli_run("cost", "add", CODE, "--amount", "100", "--category", "travel")
    assert "the stored tasks had been changed outside pmo" in _verify(1)


def test_an_unanchored_workspace_is_told_how_to_anchor(db, tmp_path, monkeypatch):
    (tmp_path / ".pmo" / "audit.key").unlink()  # as a workspace made before audit keys
    _planning(monkeypatch)
    out = _verify(0)
    assert "NOT ANCHORED: the audit trail is not anchored" in out and "pmo audit anchor" in out
    assert all(not r.mac for r in _events(db))
    out = cli_run("audit", "anchor").output
    assert "audit key created:" in out and f"sealed the trail of 1 project(s): {CODE}" in out
    assert os.stat(tmp_path / ".pmo" / "audit.key").st_mode & 0o077 == 0
    out = _verify(0)
    assert "anchored with the audit key" in out and "NOT ANCHORED" not in out
    last = _events(db)[-1]
    assert last.action == "audit.anchored" and last.mac and last.actor == "admin@pmo.example"
    assert state_hash(_json(last.state)) == last.state_hash


def _at(value: Any) -> Any:
    from datetime import datetime, timezone

    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at


def _fields(ev: AuditEvent) -> dict[str, Any]:
    return {f: getattr(ev, f) for f in AuditEvent.__dataclass_fields__}

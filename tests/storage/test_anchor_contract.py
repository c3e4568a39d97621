"""Audit events sealed with the state they produced and the audit key: the same in every store.

The state hash recomputed from a project read back must equal the one computed when it was written
(money, floats, times and JSON cells come back in each driver's own types), or every verify would
report edits that never happened; the stores seal events alike and check MACs alike.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from lifecycle.domain.model import AuditEvent, DocumentRecord
from lifecycle.load.projectfile import load_project_file
from lifecycle.storage.anchor import ALL_PARTS, STATE_RECORD_KINDS, project_parts, record_parts
from lifecycle.storage.protocol import Record

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)
KEY = b"k" * 40


def ev(action: str, **data: object) -> AuditEvent:
    return AuditEvent("", action, "tester", NOW, "project", "", dict(data))


@pytest.mark.parametrize("name", ["en-clinic-portal.yaml", "zh-smart-factory.yaml"])
def test_a_project_read_back_hashes_as_written(store, name):
    project = load_project_file(EXAMPLES / name).project
    # values a store hands back in its own types: whole floats, money without cents, a non-UTC time
    task = project.tasks[0]
    project = replace(project, tasks=(replace(task, percent_complete=50), *project.tasks[1:]))
    if project.budget:
        line = project.budget[0]
        project = replace(project, budget=(replace(line, amount=Decimal("1200")), *project.budget[1:]))
    store.save(project, expected_version=None, events=[ev("project.created")])
    assert project_parts(store.get(project.code)) == project_parts(project)
    assert store.verify_audit() == []


def test_events_are_sealed_and_checked_with_the_key(store, small):
    store.set_audit_key(KEY)
    store.save(small, expected_version=None, events=[ev("project.created")])
    waiver = {"id": "W-1", "rule": "R", "expires_on": date(2026, 12, 1).isoformat(), "amount": Decimal("1.50")}
    store.add_records(small.code, [Record(small.code, "waiver", "W-1", waiver, NOW)], events=[ev("gate.waiver")])
    doc = DocumentRecord("D-1", small.code, "status", "D-1", "/tmp/d.pdf", "ab" * 32, NOW, record={"n": 1})
    store.add_document(doc, events=[ev("document.issued", number="D-1")])
    trail = store.audit(small.code)
    assert [e.seq for e in trail] == [1, 2, 3] and all(len(e.mac) == 64 for e in trail)
    parts = trail[-1].state["parts"]
    assert set(parts) == set(ALL_PARTS)
    assert parts["records.waiver"] == record_parts(store.records(small.code, "waiver"), ("waiver",))["records.waiver"]
    assert store.audit_head(small.code) == (3, trail[-1].hash)
    assert store.verify_audit() == []
    store.set_audit_key(b"x" * 40)
    assert any("no event's MAC matches the audit key" in p for p in store.verify_audit())
    store.set_audit_key(None)
    assert any("no audit key is available" in p for p in store.verify_audit(small.code))


def test_without_a_key_events_still_record_their_state(store, small):
    store.save(small, expected_version=None, events=[ev("project.created")])
    store.add_records(small.code, [], events=[ev("note")])
    trail = store.audit(small.code)
    assert all(e.mac == "" and len(e.state_hash) == 64 for e in trail)
    assert set(trail[-1].state["parts"]) == set(ALL_PARTS) and len(STATE_RECORD_KINDS) == 5
    assert store.verify_audit() == []
    store.set_audit_key(KEY)  # a key appears later: the trail is reported as not anchored until sealed
    assert any("the trail is not anchored" in p for p in store.verify_audit())
    store.add_records(small.code, [], events=[ev("audit.anchored")])
    assert store.verify_audit() == []


@pytest.fixture
def small():
    from tests.factory import small_project

    return small_project()

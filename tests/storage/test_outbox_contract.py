"""The outbox part of the storage contract: against the in-memory fake, SQLite and PostgreSQL.

A row is added once per key (a second add returns the first row), every change of state is a
compare-and-set that writes its records and audit events in the same transaction, or nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from lifecycle.domain.model import AuditEvent, replace
from lifecycle.errors import ConcurrentUpdate, NotFound
from lifecycle.storage.protocol import OutboxRow, Record
from tests.factory import small_project

NOW = datetime(2026, 2, 1, 9, 30, tzinfo=timezone.utc)


def _row(key: str = "k" * 64, project: str = "DEMO-1", number: str = "DEMO-1-ACC-M1-1") -> OutboxRow:
    return OutboxRow(
        key=key,
        project=project,
        document_id=number,
        number=number,
        recipients=("Rob Rep <rob@northwind.example>", "x@y.example"),
        subject=f"[DEMO-1] Acceptance certificate {number}",
        message_id=f"<pmo.{key[:40]}@supplier.example>",
        requested_by="flow",
        created_at=NOW,
        updated_at=NOW,
    )


def test_outbox_row_is_added_once_per_key_and_reads_back(store):
    store.save(small_project(), expected_version=None)
    first = store.outbox_add(_row())
    assert first.id > 0 and first.state == "pending" and first.attempts == 0
    assert first == replace(_row(), id=first.id)
    again = store.outbox_add(replace(_row(), subject="other", number="OTHER"))
    assert again == first  # the key is taken: the stored row is the row
    other = store.outbox_add(_row(key="o" * 64, number="DEMO-1-ACC-M1-2"))
    assert other.id != first.id
    assert store.outbox_get(first.id) == first and store.outbox_find("k" * 64) == first
    assert store.outbox_get(999) is None and store.outbox_find("nope") is None
    assert [r.id for r in store.outbox_rows()] == [first.id, other.id]
    assert [r.id for r in store.outbox_rows("DEMO-1", "pending")] == [first.id, other.id]
    assert store.outbox_rows("DEMO-1", "sent") == [] and store.outbox_rows("NOPE") == []
    with pytest.raises(NotFound):
        store.outbox_add(_row(key="n" * 64, project="NOPE"))


def test_outbox_update_is_a_compare_and_set_with_its_records_and_events(store):
    store.save(small_project(), expected_version=None)
    row = store.outbox_add(_row())
    later = NOW + timedelta(minutes=5)
    sending = replace(row, state="sending", attempts=1, subject="new subject", updated_at=later)
    store.outbox_update(sending, expect=("pending",))
    got = store.outbox_get(row.id)
    assert got is not None and (got.state, got.attempts, got.subject, got.updated_at) == (
        "sending",
        1,
        "new subject",
        later,
    )
    assert got.created_at == NOW
    # a second run that read the row pending loses and writes nothing, not even its event
    with pytest.raises(ConcurrentUpdate, match="sending now"):
        store.outbox_update(
            replace(sending, state="sent"),
            expect=("pending",),
            records=[Record("DEMO-1", "delivery", row.key, {"status": "sent"}, NOW)],
            events=[AuditEvent("DEMO-1", "document.sent", "other", NOW)],
        )
    assert store.get_record("DEMO-1", "delivery", row.key) is None and store.audit("DEMO-1") == []
    store.outbox_update(
        replace(sending, state="sent", last_error=""),
        expect=("sending", "uncertain"),
        records=[Record("DEMO-1", "delivery", row.key, {"status": "sent"}, NOW)],
        events=[AuditEvent("DEMO-1", "document.sent", "flow", NOW)],
    )
    got = store.outbox_get(row.id)
    assert got is not None and got.state == "sent"
    record = store.get_record("DEMO-1", "delivery", row.key)
    assert record is not None and record.data == {"status": "sent"}
    assert [e.action for e in store.audit("DEMO-1")] == ["document.sent"] and store.verify_audit() == []
    with pytest.raises(NotFound, match="no outbox row 999"):
        store.outbox_update(replace(sending, id=999), expect=("pending",))

"""The storage contract: the same tests against the in-memory fake, SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from lifecycle.domain.model import AuditEvent, DocumentRecord, replace
from lifecycle.errors import ConcurrentUpdate, NotFound, StorageError
from lifecycle.storage.memory import MemoryStore
from lifecycle.storage.protocol import Record
from tests.factory import small_project

NOW = datetime(2026, 2, 1, 9, 30, tzinfo=timezone.utc)


def ev(action: str, **data: object) -> AuditEvent:
    return AuditEvent(project="DEMO-1", action=action, actor="tester", at=NOW, data=dict(data))


def test_create_and_read_back_equal(store):
    p = small_project()
    saved = store.save(p, expected_version=None, events=[ev("project.created")])
    assert saved.version == 1
    got = store.get("DEMO-1")
    assert got == saved
    assert got.budget[0].amount == Decimal("100000.50")
    assert got.calendar.holidays == p.calendar.holidays
    assert got.deliverables[0].acceptance_criteria[0].text == "Reviewed by client"
    assert [s.code for s in store.list_projects()] == ["DEMO-1"]
    assert store.exists("DEMO-1") and not store.exists("NOPE")


def test_update_bumps_version_and_keeps_order(store):
    saved = store.save(small_project(), expected_version=None)
    tasks = list(saved.tasks)
    tasks[1] = replace(tasks[1], percent_complete=40.0, status="in_progress")
    new = replace(saved, tasks=tuple(tasks), risks=())
    out = store.save(new, expected_version=1, events=[ev("tasks.updated")])
    assert out.version == 2
    got = store.get("DEMO-1")
    assert got == out
    assert [t.id for t in got.tasks] == ["T1", "T2", "T3"]
    assert got.tasks[1].percent_complete == 40.0
    assert got.risks == ()


def test_stale_version_conflicts_and_writes_nothing(store):
    saved = store.save(small_project(), expected_version=None)
    store.save(replace(saved, phase="planning"), expected_version=1)
    with pytest.raises(ConcurrentUpdate):
        store.save(replace(saved, phase="execution", risks=()), expected_version=1, events=[ev("x")])
    got = store.get("DEMO-1")
    assert got.phase == "planning" and got.version == 2 and len(got.risks) == 1
    assert store.audit("DEMO-1") == []


def test_create_twice_conflicts(store):
    store.save(small_project(), expected_version=None)
    with pytest.raises(ConcurrentUpdate):
        store.save(small_project(), expected_version=None)


def test_unknown_project(store):
    with pytest.raises(NotFound):
        store.get("NOPE")
    with pytest.raises(NotFound):
        store.save(small_project("NOPE"), expected_version=3)


def test_records_replace_by_key(store):
    store.save(small_project(), expected_version=None)
    store.add_records("DEMO-1", [Record("DEMO-1", "approval", "a1", {"role": "sponsor", "n": 1}, NOW)])
    store.add_records(
        "DEMO-1",
        [
            Record("DEMO-1", "approval", "a1", {"role": "sponsor", "n": 2}, NOW),
            Record("DEMO-1", "waiver", "w1", {"rule": "x", "until": "2026-03-01"}, NOW),
        ],
        events=[ev("approval.recorded")],
    )
    approvals = store.records("DEMO-1", "approval")
    assert [(r.key, r.data["n"]) for r in approvals] == [("a1", 2)]
    assert store.get_record("DEMO-1", "waiver", "w1").data["until"] == "2026-03-01"
    assert store.get_record("DEMO-1", "waiver", "nope") is None
    assert store.get("DEMO-1").version == 1  # records do not change the project version


def test_documents_registry(store):
    store.save(small_project(), expected_version=None)
    doc = DocumentRecord(
        id="DEMO-1-ACC-M1-1",
        project="DEMO-1",
        kind="acceptance",
        number="DEMO-1-ACC-M1-1",
        path="/tmp/x.pdf",
        sha256="ab" * 32,
        created_at=NOW,
        lang="en",
        record={"a": [1, 2]},
    )
    store.add_document(doc, events=[ev("document.issued")])
    assert store.documents("DEMO-1") == [doc]
    assert store.find_document("ab" * 32) == doc
    assert store.find_document("cd" * 32) is None


def _doc(number: str, revision: int = 1, sha: str = "ab") -> DocumentRecord:
    doc_id = number if revision == 1 else f"{number}-R{revision}"
    return DocumentRecord(
        id=doc_id,
        project="DEMO-1",
        kind="acceptance",
        number=number,
        path=f"/tmp/{doc_id}.pdf",
        sha256=sha * 32,
        created_at=NOW,
        subject="M1",
        revision=revision,
    )


def test_document_bytes_are_stored_with_the_registry_row(store):
    store.save(small_project(), expected_version=None)
    store.add_document(_doc("DEMO-1-ACC-M1-1"), content=b"%PDF-1.7 one")
    store.add_document(_doc("DEMO-1-ACC-M1-1", 2, "cd"), content=b"%PDF-1.7 two")
    store.add_document(_doc("DEMO-1-STR-1", sha="ef"))  # registered before documents carried bytes
    assert store.document_content("DEMO-1-ACC-M1-1") == b"%PDF-1.7 one"
    assert store.document_content("DEMO-1-ACC-M1-1-R2") == b"%PDF-1.7 two"
    assert store.document_content("DEMO-1-STR-1") is None and store.document_content("NOPE") is None
    assert [d.revision for d in store.documents("DEMO-1")] == [1, 2, 1]
    with pytest.raises((ConcurrentUpdate, StorageError)):  # a number's revision is registered once
        store.add_document(replace(_doc("DEMO-1-ACC-M1-1", 2), id="other-id"), content=b"x")
    assert len(store.documents("DEMO-1")) == 3


def test_issuing_is_serialised_and_sees_the_previous_issuer(store):
    """The second issuer of the same (project, kind, subject) waits for the first and finds its document."""
    store.save(small_project(), expected_version=None)
    inside = threading.Event()
    seen: list[list[str]] = []

    def first() -> None:
        with store.issuing("DEMO-1", "acceptance", "M1") as session:
            inside.set()
            time.sleep(0.4)  # rendering
            session.register(_doc("DEMO-1-ACC-M1-1"), b"%PDF-1.7 first", [ev("document.issued")])

    def second() -> None:
        inside.wait(30)
        with store.issuing("DEMO-1", "acceptance", "M1") as session:
            seen.append([d.id for d in session.documents()])

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert seen == [["DEMO-1-ACC-M1-1"]]
    assert store.document_content("DEMO-1-ACC-M1-1") == b"%PDF-1.7 first"
    assert [e.action for e in store.audit("DEMO-1")] == ["document.issued"] and store.verify_audit("DEMO-1") == []


def test_issuing_another_document_does_not_wait_for_a_render(store):
    """An issuer of another milestone's certificate is not held behind one that is rendering: the
    lock is per (project, kind, subject), on SQLite as on PostgreSQL (a batch of documents issued by
    several processes on one SQLite file used to time out on the database lock)."""
    store.save(small_project(), expected_version=None)
    inside, other_done = threading.Event(), threading.Event()
    waited: list[bool] = []

    def slow() -> None:
        with store.issuing("DEMO-1", "acceptance", "M1") as session:
            inside.set()
            waited.append(other_done.wait(20))  # still rendering while the other issues
            session.register(_doc("DEMO-1-ACC-M1-1"), b"%PDF-1.7 one", [ev("document.issued")])

    def other() -> None:
        inside.wait(20)
        with store.issuing("DEMO-1", "acceptance", "M2") as session:
            session.register(_doc("DEMO-1-ACC-M2-1"), b"%PDF-1.7 two", [ev("document.issued")])
        other_done.set()

    threads = [threading.Thread(target=slow), threading.Thread(target=other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert waited == [True]
    assert sorted(d.id for d in store.documents("DEMO-1")) == ["DEMO-1-ACC-M1-1", "DEMO-1-ACC-M2-1"]
    assert store.verify_audit("DEMO-1") == []


def test_an_issue_that_fails_registers_nothing(store):
    store.save(small_project(), expected_version=None)
    with pytest.raises(NotFound), store.issuing("NOPE", "acceptance", "M1"):
        pass
    if isinstance(store, MemoryStore):
        return  # the memory store registers at once (the service registers as its last step)
    with pytest.raises(RuntimeError), store.issuing("DEMO-1", "acceptance", "M1") as session:
        session.register(_doc("DEMO-1-ACC-M1-1"), b"%PDF", [ev("document.issued")])
        raise RuntimeError("failed before the commit")
    assert store.documents("DEMO-1") == [] and store.audit("DEMO-1") == []
    assert store.document_content("DEMO-1-ACC-M1-1") is None


def test_audit_chain_appends_and_verifies(store):
    store.save(small_project(), expected_version=None, events=[ev("project.created")])
    saved = store.get("DEMO-1")
    store.save(replace(saved, phase="planning"), expected_version=1, events=[ev("phase.changed", to="planning")])
    store.add_records("DEMO-1", [], events=[ev("approval.recorded", by="Dana")])
    trail = store.audit("DEMO-1")
    assert [e.seq for e in trail] == [1, 2, 3]
    assert [e.action for e in trail] == ["project.created", "phase.changed", "approval.recorded"]
    assert trail[1].prev_hash == trail[0].hash and trail[0].prev_hash == ""
    assert trail[1].data == {"to": "planning"}
    assert store.verify_audit() == []
    assert store.verify_audit("DEMO-1") == []


def test_bulk_reads_for_sweeps(store):
    store.save(small_project("B-2"), expected_version=None)
    store.save(small_project("A-1"), expected_version=None)
    store.add_records("B-2", [Record("B-2", "waiver", "w", {"rule": "x"}, NOW)])
    assert [p.code for p in store.get_many()] == ["A-1", "B-2"]
    assert store.get_many(["B-2"]) == [store.get("B-2")]
    assert list(store.all_records("waiver")) == ["B-2"]
    assert store.all_records("approval") == {}


def test_summaries_carry_the_audit_head(store):
    store.save(small_project("DEMO-1"), expected_version=None, events=[ev("project.created")])
    head = store.list_projects()[0].audit_head
    assert len(head) == 64
    p = store.get("DEMO-1")
    store.save(replace(p, phase="planning"), expected_version=p.version, events=[ev("phase.changed")])
    assert store.list_projects()[0].audit_head not in ("", head)


def test_derived_data_is_a_replaceable_cache_per_kind(store):
    store.save(small_project("A-1"), expected_version=None)
    store.save(small_project("B-2"), expected_version=None)
    assert store.derived("next_gate") == {}
    store.put_derived(
        "next_gate", {"A-1": ("k1", {"decision": None, "n": [1, 2]}), "B-2": ("k2", {"decision": {"x": "名"}})}
    )
    store.put_derived("other", {"A-1": ("k9", {"v": 1})})
    assert store.derived("next_gate") == {
        "A-1": ("k1", {"decision": None, "n": [1, 2]}),
        "B-2": ("k2", {"decision": {"x": "名"}}),
    }
    store.put_derived("next_gate", {"A-1": ("k3", {"decision": "new"}), "GONE-9": ("k", {})})  # unknown: ignored
    got = store.derived("next_gate")
    assert got["A-1"] == ("k3", {"decision": "new"}) and got["B-2"][0] == "k2" and "GONE-9" not in got
    assert store.derived("other") == {"A-1": ("k9", {"v": 1})}
    assert store.derived("next_gate", {"A-1": "k3", "B-2": "stale"}) == {"A-1": ("k3", {"decision": "new"})}
    # derived data is not history: no audit events, no version change
    assert store.get("A-1").version == 1 and store.audit("A-1") == []


def test_resource_and_task_calendars_are_stored(store):
    from datetime import date

    from lifecycle.domain.model import ResourceCalendar

    p = small_project()
    four = ResourceCalendar(id="four", name="Mon-Thu", working_weekdays=(1, 2, 3, 4), holidays=(date(2026, 3, 5),))
    site = ResourceCalendar(id="site", base="four", extra_workdays=(date(2026, 3, 7),))
    p = replace(
        p,
        calendar=replace(p.calendar, resource_calendars=(four, site)),
        people=(replace(p.people[0], calendar="four"), *p.people[1:]),
        tasks=(
            replace(
                p.tasks[0],
                calendar="site",
                ignore_resource_calendars=True,
                task_type="fixed_work",
                effort_driven=True,
            ),
            *p.tasks[1:],
        ),
    )
    saved = store.save(p, expected_version=None, events=[ev("project.created")])
    got = store.get("DEMO-1")
    assert got == saved
    assert got.calendar.resource_calendars == (four, site)
    assert got.people[0].calendar == "four"
    t = got.tasks[0]
    assert (t.calendar, t.ignore_resource_calendars, t.task_type, t.effort_driven) == ("site", True, "fixed_work", True)

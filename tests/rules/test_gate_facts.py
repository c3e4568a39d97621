"""The facts document: shape, types CEL needs, computed fields, schema agreement, hashing, purity."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal

from lifecycle.domain.facts import (
    COMPUTED,
    add_working_days,
    build_facts,
    facts_hash,
    facts_schema,
    is_working_day,
    working_days,
)
from lifecycle.domain.metrics import METRICS, ON_DEMAND
from lifecycle.domain.model import SECTIONS, Assignment, Calendar, Person, Task

TODAY = date(2026, 2, 27)


def test_top_level_names(planned):
    facts = build_facts(planned, TODAY)
    expected = {"project", "phase", "phase_before_hold", "today", "calendar", "metrics", "approvals", *SECTIONS}
    expected |= {"phase_history", "phase_entered"}  # extras the services fill from the stored moves
    assert set(facts) == expected
    assert facts["today"] == "2026-02-27"
    assert facts["phase"] == "planning"
    assert facts["approvals"] == []


def test_dates_are_iso_text_and_money_is_double(planned):
    facts = build_facts(planned, TODAY)
    assert facts["project"]["start"] == "2026-03-02"
    assert isinstance(facts["project"]["approved_budget"], float)
    assert facts["project"]["approved_budget"] == 500000.0
    assert all(isinstance(b["amount"], float) for b in facts["budget"])
    t = next(t for t in facts["tasks"] if t["id"] == "T1")
    assert t["start"] is None and t["finish"] is None  # null, not '' (a null date never compares)
    assert isinstance(facts["risks"][0]["probability"], int)  # whole-number fields stay ints
    assert facts["calendar"]["holidays"][0] == "2026-04-06"
    for name, (kind, _) in METRICS.items():
        if kind == "double" and name not in ON_DEMAND:
            assert isinstance(facts["metrics"][name], float), name


def test_computed_fields(planned):
    facts = build_facts(planned, TODAY)
    tasks = {t["id"]: t for t in facts["tasks"]}
    assert tasks["T1"]["is_leaf"] is False and tasks["T1"]["children"] == ["T1.1", "T1.2"]
    assert tasks["T1.1"]["is_leaf"] is True and tasks["T1.1"]["assignees"] == ["p-dev"]
    assert tasks["T1.1"]["has_dates"] is True and tasks["T1"]["has_dates"] is False
    assert facts["risks"][0]["score"] == 16
    d1 = next(d for d in facts["deliverables"] if d["id"] == "D1")
    assert d1["task_ids"] == ["T1.1", "T1.2"]
    assert d1["accepted"] is False and d1["quality_checks"] == 0
    people = {p["id"]: p for p in facts["people"]}
    assert people["p-dev"]["peak_units"] == 1.0  # three tasks one after the other
    assert people["p-dev"]["assigned_tasks"] == ["T1.1", "T2.1", "T3"]
    for section, fields in COMPUTED.items():
        for item in facts[section]:
            assert set(fields) <= set(item), section


def test_latest_quality_check_wins_and_acceptance(completed):
    facts = build_facts(completed, date(2026, 7, 10))
    d = {x["id"]: x for x in facts["deliverables"]}
    assert d["D2"]["quality_checks"] == 2
    assert d["D2"]["quality_checks_failed"] == 0  # QC2 failed, QC3 (later) passed
    assert d["D3"]["accepted"] and d["D3"]["accepted_with_evidence"]


def test_peak_units_counts_overlaps():
    from lifecycle.domain.model import Charter, Organisation, Project

    p = Project(
        charter=Charter(code="P-1", name="x", client=Organisation(name="c")),
        people=(Person(id="a", name="A", role="dev"),),
        tasks=(
            Task(id="t1", name="one", start=date(2026, 1, 5), finish=date(2026, 1, 9)),
            Task(id="t2", name="two", start=date(2026, 1, 9), finish=date(2026, 1, 12)),
            Task(id="t3", name="three", start=date(2026, 1, 13), finish=date(2026, 1, 14)),
        ),
        assignments=(
            Assignment(person="a", task="t1", units=0.75),
            Assignment(person="a", task="t2", units=0.5),
            Assignment(person="a", task="t3", units=1.0),
        ),
    )
    person = build_facts(p, date(2026, 1, 1))["people"][0]
    assert person["peak_units"] == 1.25  # t1 and t2 overlap on the 9th
    assert person["assigned_hours"] == 0.75 * 8 * 5 + 0.5 * 8 * 2 + 1.0 * 8 * 2


def test_extra_is_merged(planned):
    votes = [{"role": "sponsor", "by": "Wang", "decision": "approve", "at": date(2026, 2, 1), "project_version": 3}]
    facts = build_facts(planned, TODAY, {"approvals": votes, "note": Decimal("1.5")})
    assert facts["approvals"][0]["at"] == "2026-02-01"
    assert facts["note"] == 1.5


def test_facts_hash_is_stable_and_sensitive(planned):
    a = build_facts(planned, TODAY)
    b = build_facts(planned, TODAY)
    assert facts_hash(a) == facts_hash(b)
    reordered = dict(reversed(list(a.items())))
    assert facts_hash(reordered) == facts_hash(a)
    changed = build_facts(dataclasses.replace(planned, charter=dataclasses.replace(planned.charter, sponsor="")), TODAY)
    assert facts_hash(changed) != facts_hash(a)
    assert facts_hash(build_facts(planned, date(2026, 2, 28))) != facts_hash(a)
    assert len(facts_hash(a)) == 64


def test_facts_are_json_and_schema_agrees(planned, completed):
    schema = facts_schema()
    json.dumps(schema)
    props = schema["properties"]
    defs = schema["$defs"]
    for project, today in ((planned, TODAY), (completed, date(2026, 7, 10))):
        facts = build_facts(project, today)
        json.dumps(facts)
        assert set(facts) == set(props)
        assert set(facts["metrics"]) | set(ON_DEMAND) == set(props["metrics"]["properties"])
        assert set(facts["project"]) == set(defs["Charter"]["properties"])
        for name in SECTIONS:
            ref = props[name]["items"]["$ref"].rsplit("/", 1)[-1]
            for item in facts[name]:
                assert set(item) == set(defs[ref]["properties"]), name


def test_schema_documents_fields_and_metrics():
    schema = facts_schema()
    task = schema["$defs"]["Task"]["properties"]
    assert task["owner"]["description"] == "Id of the person responsible"
    assert task["is_leaf"]["x-computed"] is True
    assert task["status"]["enum"][0] == "not_started"
    assert task["start"]["anyOf"][0]["format"] == "date"
    for name, (_, doc) in METRICS.items():
        assert schema["properties"]["metrics"]["properties"][name]["description"] == doc


def test_working_days_on_the_calendar():
    cal = Calendar(holidays=(date(2026, 5, 1), date(2026, 5, 4)), extra_workdays=(date(2026, 5, 9),))
    # Mon 2026-04-27 .. Sun 2026-05-10: 10 weekdays, minus 2 holidays, plus Saturday the 9th
    assert working_days(cal, date(2026, 4, 27), date(2026, 5, 10)) == 9
    assert working_days(cal, date(2026, 5, 1), date(2026, 5, 1)) == 0
    assert working_days(cal, date(2026, 5, 9), date(2026, 5, 9)) == 1
    assert working_days(cal, date(2026, 5, 10), date(2026, 4, 27)) == 0
    assert is_working_day(cal, date(2026, 5, 9)) and not is_working_day(cal, date(2026, 5, 4))
    assert add_working_days(cal, date(2026, 4, 30), 1) == date(2026, 5, 5)
    assert add_working_days(cal, date(2026, 5, 5), -1) == date(2026, 4, 30)
    # the arithmetic and the day-by-day definition agree over a long, irregular span
    start, end = date(2025, 12, 20), date(2027, 2, 3)
    six_day = Calendar(working_weekdays=(1, 2, 3, 4, 5, 6), holidays=cal.holidays, extra_workdays=cal.extra_workdays)
    for c in (cal, six_day):
        slow = sum(
            1 for i in range((end - start).days + 1) if is_working_day(c, date.fromordinal(start.toordinal() + i))
        )
        assert working_days(c, start, end) == slow

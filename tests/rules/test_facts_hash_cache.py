"""The facts hash is remembered per facts document and forgotten when the document changes."""

from __future__ import annotations

import copy
from datetime import date

from lifecycle.domain.facts import FactsDoc, build_facts, canonical_facts_json, facts_hash
from tests.factory import small_project


def test_hash_is_remembered_and_invalidated():
    facts = build_facts(small_project(), date(2026, 2, 1))
    assert isinstance(facts, FactsDoc)
    first = facts_hash(facts)
    assert facts_hash(facts) == first == facts_hash(dict(facts))
    facts["today"] = "2026-02-02"
    assert facts_hash(facts) != first
    assert facts_hash(facts) == facts_hash(dict(facts))
    patched = copy.deepcopy(facts)
    assert isinstance(patched, FactsDoc) and patched._hash is None
    patched["phase"] = "planning"
    assert facts_hash(patched) != facts_hash(facts)
    assert canonical_facts_json(facts) == canonical_facts_json(dict(facts))

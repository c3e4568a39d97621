"""The shipped default pack: its own tests pass, and its rules are complete and well formed."""

from __future__ import annotations

from collections import defaultdict

from lifecycle.load.ruletests import run_pack_tests


def test_the_pack_tests_pass(default_pack):
    report = run_pack_tests(default_pack)
    failures = [(r.name, r.failures) for r in report.results if not r.passed]
    assert failures == []
    assert report.passed == len(default_pack.tests) >= 30


def test_between_30_and_60_rules_with_titles_messages_and_sources(default_pack):
    rules = default_pack.all_rules()
    assert 30 <= len(rules) <= 60
    for r in rules:
        assert r.title["zh"] and r.title["en"], r.id
        assert r.message["zh"] and r.message["en"], r.id
        assert r.source, r.id
        assert r.severity in ("blocking", "warning")
    assert any(r.evidence is not None for r in rules)


def test_every_working_transition_has_a_gate(default_pack):
    lc = default_pack.lifecycle
    for t in lc.transitions:
        if t.kind in ("forward", "loop"):
            assert default_pack.rules_for(t.name), t.name
    assert default_pack.lifecycle.transition("planning_to_execution").approvals.all_of == (
        "sponsor",
        "client_representative",
    )
    closing = default_pack.lifecycle.transition("closure_to_closed").approvals
    assert (closing.n, closing.n_of_roles) == (2, ("steering",))
    assert default_pack.waiver_policy.roles == ("pmo", "sponsor") and default_pack.waiver_policy.max_days == 90


def test_tests_cover_every_verdict_of_every_main_gate(default_pack):
    seen = defaultdict(set)
    for r in run_pack_tests(default_pack).results:
        t = next(x for x in default_pack.tests if x.name == r.name)
        seen[t.transition].add(r.decision.decision)
    for gate in (
        "initiation_to_planning",
        "planning_to_execution",
        "execution_to_control",
        "corrective_action",
        "replan",
        "control_to_closure",
        "closure_to_closed",
    ):
        assert seen[gate] == {"go", "conditional_go", "no_go"}, (gate, seen[gate])


def test_quality_standards(default_pack):
    assert 4 <= len(default_pack.quality) <= 6
    kinds = {q.kind for q in default_pack.quality}
    assert kinds == {"cel", "file_sha256", "requirements_verified", "defect_threshold"}
    assert default_pack.quality_standard("QS-DEFECTS").params["max_open_defects"] == 0


def test_quality_targets(default_pack, completed, planned):
    from datetime import date

    from lifecycle.domain.facts import build_facts
    from lifecycle.expr import CelEnv, deliverable_results, quality_targets

    done = CelEnv(build_facts(completed, date(2026, 7, 10)))
    assert quality_targets(default_pack.quality_standard("QS-DEFECTS"), done) == ["D1", "D2", "D3"]
    assert quality_targets(default_pack.quality_standard("QS-CHECKSUM"), done) == []
    assert quality_targets(default_pack.quality_standard("QS-OWNED-DATED"), done) == ["D1", "D2", "D3"]
    plan = CelEnv(build_facts(planned, date(2026, 2, 27)))
    assert quality_targets(default_pack.quality_standard("QS-DEFECTS"), plan) == []
    check = default_pack.quality_standard("QS-CRITERIA-METHOD").check
    assert [(k, r.value) for k, r in deliverable_results(plan, check)] == [("D1", True), ("D2", True), ("D3", True)]

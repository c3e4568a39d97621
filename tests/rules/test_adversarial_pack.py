"""A PMO adds a `design` phase between planning and execution, in YAML only: everything follows."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date

import pytest

from lifecycle.domain.lifecycle import PhaseState
from lifecycle.errors import IllegalTransition
from lifecycle.expr import evaluate_gate
from lifecycle.load.rulepack import load_pack
from lifecycle.load.ruletests import run_pack_tests
from tests.rules.helpers import DEFAULT_PACK

DESIGN_PHASE = """  - id: design
    title: {zh: 设计, en: Design}
    description: Solution design signed off by the client's architects.
"""
DESIGN_TRANSITIONS = """  - name: planning_to_design
    title: {zh: 进入设计, en: Start design}
    from: planning
    to: design
    approvals:
      all_of: [sponsor, client_representative]
  - name: design_to_execution
    title: {zh: 设计评审通过，开始执行, en: Authorise execution after design}
    from: design
    to: execution
    approvals:
      all_of: [sponsor, client_representative]
"""
DESIGN_GATES = """gates:
  planning_to_design:
    rules:
      - id: DSG-01
        title: {zh: 需求已确认, en: Requirements are confirmed}
        check: "size(requirements) > 0 && count('requirements', {'status': 'draft'}) == 0"
        evidence: "ids('requirements', {'status': 'draft'})"
        message: {zh: 以下需求仍是草稿。, en: These requirements are drafts.}
        source: "Stage-Gate: Gate 2 (second screen) requires validated requirements"
  design_to_execution:
    rules:
      - id: DSG-02
        title: {zh: 设计文档已交付, en: The design document is delivered}
        check: "count('deliverables', {'name': 'Solution design', 'status in': ['submitted', 'accepted']}) > 0"
        message: {zh: 设计文档尚未提交。, en: The solution design is not submitted.}
        source: "PRINCE2 Managing Product Delivery: products delivered and approved"
"""
DESIGN_TESTS = """tests:
  - name: design may start once requirements are confirmed
    fixture: tests/fixtures/planned.yaml
    transition: planning_to_design
    today: 2026-02-27
    expect: {decision: go}
  - name: execution waits for the design document
    fixture: tests/fixtures/planned.yaml
    transition: design_to_execution
    today: 2026-03-20
    expect: {decision: no_go, rules: {DSG-02: fail}}
"""


@pytest.fixture(scope="module")
def design_pack(tmp_path_factory):
    root = tmp_path_factory.mktemp("design") / "pack"
    shutil.copytree(DEFAULT_PACK, root)
    lc = (root / "lifecycle.yaml").read_text()
    lc = lc.replace("  - id: execution\n", DESIGN_PHASE + "  - id: execution\n", 1)
    # planning now leads to design; the old planning -> execution transition goes away
    start = lc.index("  - name: planning_to_execution")
    end = lc.index("  - name: execution_to_control")
    lc = lc[:start] + DESIGN_TRANSITIONS + lc[end:]
    (root / "lifecycle.yaml").write_text(lc)
    planning = (root / "gates" / "planning.yaml").read_text()
    (root / "gates" / "planning.yaml").write_text(planning.replace("  planning_to_execution:", "  planning_to_design:"))
    (root / "gates" / "design.yaml").write_text(DESIGN_GATES)
    tests = (root / "tests" / "planning.yaml").read_text()
    (root / "tests" / "planning.yaml").write_text(
        tests.replace("transition: planning_to_execution", "transition: planning_to_design")
    )
    (root / "tests" / "design.yaml").write_text(DESIGN_TESTS)
    return load_pack(root)


def test_the_new_phase_is_in_order(design_pack):
    ids = [p.id for p in design_pack.lifecycle.phases]
    assert ids[:4] == ["initiation", "planning", "design", "execution"]
    assert design_pack.lifecycle.phase("design").label("zh") == "设计"


def test_the_machine_walks_through_design(design_pack):
    m = design_pack.machine
    assert m.next_move("planning").dest == "design"
    assert m.perform("planning", "planning_to_design") == PhaseState("design")
    assert m.move_to("design", "execution").name == "design_to_execution"
    with pytest.raises(IllegalTransition, match="allowed: design"):
        m.move_to("planning", "execution")
    assert m.perform("design", "hold") == PhaseState("on_hold", "design")
    assert m.perform("on_hold", "resume", "design") == PhaseState("design")
    assert m.perform("design", "cancel") == PhaseState("cancelled")


def test_gates_and_approvals_follow(design_pack, planned):
    d = evaluate_gate(design_pack, "planning_to_design", planned, date(2026, 2, 27))
    assert d.to_phase == "design" and d.decision == "go" and d.approvals.required
    assert "PLN-04" in [r.id for r in d.results]  # the planning criteria now guard the way into design
    in_design = dataclasses.replace(planned, phase="design")
    d = evaluate_gate(design_pack, "design_to_execution", in_design, date(2026, 3, 20))
    assert d.decision == "no_go" and d.approvals.rule == "all of: sponsor, client_representative"


def test_its_tests_pass(design_pack):
    report = run_pack_tests(design_pack)
    assert report.failed == 0, [(r.name, r.failures) for r in report.results if not r.passed]
    assert any(r.name == "execution waits for the design document" for r in report.results)

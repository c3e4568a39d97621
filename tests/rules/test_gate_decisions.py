"""Decisions: aggregation, waivers and expiry, approvals (all-of, n-of-m, voiding), the record shape."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import date, datetime, timezone

import pytest

from lifecycle.domain.gates import (
    ApprovalRequirement,
    Decision,
    RuleResult,
    Vote,
    Waiver,
    WaiverPolicy,
    aggregate,
    apply_waiver,
    approval_status,
)
from lifecycle.errors import IllegalTransition
from lifecycle.expr import check_gate, evaluate_gate
from lifecycle.load.rulepack import load_pack
from tests.rules.helpers import DATA

TODAY = date(2026, 2, 27)


def result(outcome, severity="blocking", rule="R"):
    return RuleResult(id=rule, title={"zh": "", "en": rule}, severity=severity, outcome=outcome)


# --------------------------------------------------------------------------- aggregation
@pytest.mark.parametrize(
    "outcomes, verdict",
    [
        ([], "go"),
        ([("pass", "blocking"), ("not_applicable", "blocking"), ("pass", "warning")], "go"),
        ([("pass", "blocking"), ("fail", "warning")], "conditional_go"),
        ([("waived", "blocking"), ("pass", "warning")], "conditional_go"),
        ([("fail", "blocking"), ("pass", "warning")], "no_go"),
        ([("error", "blocking")], "no_go"),
        ([("error", "warning")], "no_go"),  # an error never passes, whatever the severity
        ([("waived", "blocking"), ("fail", "blocking")], "no_go"),
    ],
)
def test_aggregate(outcomes, verdict):
    assert aggregate([result(o, s) for o, s in outcomes]) == verdict


def test_waiver_applies_until_its_expiry_inclusive():
    w = Waiver(id="W1", rule="R", granted_by="Zhou", role="pmo", reason="board decision", expires_on=date(2026, 3, 6))
    failing = result("fail")
    assert apply_waiver(failing, [w], date(2026, 3, 6)).outcome == "waived"
    assert apply_waiver(failing, [w], date(2026, 3, 6)).waiver == w
    assert apply_waiver(failing, [w], date(2026, 3, 7)).outcome == "fail"
    assert apply_waiver(result("error"), [w], date(2026, 3, 1)).outcome == "waived"
    assert apply_waiver(result("pass"), [w], date(2026, 3, 1)).outcome == "pass"
    assert apply_waiver(failing, [dataclasses.replace(w, rule="OTHER")], date(2026, 3, 1)).outcome == "fail"


def test_waiver_policy():
    policy = WaiverPolicy(roles=("pmo", "sponsor"), max_days=90)
    assert policy.problems("pmo", date(2026, 1, 1), date(2026, 3, 31)) == []
    assert "may not grant waivers" in policy.problems("developer", date(2026, 1, 1), date(2026, 1, 2))[0]
    assert "at most 90 days" in policy.problems("pmo", date(2026, 1, 1), date(2026, 4, 2))[0]
    assert "before today" in policy.problems("pmo", date(2026, 1, 2), date(2026, 1, 1))[0]


# --------------------------------------------------------------------------- approvals
def vote(role, by, decision="approve", version=3):
    return Vote(role=role, by=by, decision=decision, project_version=version)


def test_all_of():
    req = ApprovalRequirement(all_of=("sponsor", "client_representative"))
    s = approval_status(req, [vote("sponsor", "Wang")], 3)
    assert not s.satisfied and s.missing == ("client_representative",)
    assert s.rule == "all of: sponsor, client_representative"
    s = approval_status(req, [vote("sponsor", "Wang"), vote("client_representative", "Li")], 3)
    assert s.satisfied and s.missing == () and len(s.votes) == 2


def test_n_of_m_counts_distinct_people():
    req = ApprovalRequirement(n=2, n_of_roles=("steering",))
    assert not approval_status(req, [vote("steering", "A"), vote("steering", "A")], 3).satisfied
    s = approval_status(req, [vote("steering", "A")], 3)
    assert s.missing == ("1 more of 2: steering",)
    assert approval_status(req, [vote("steering", "A"), vote("steering", "B")], 3).satisfied
    assert not approval_status(req, [vote("steering", "A"), vote("sponsor", "B")], 3).satisfied


def test_votes_on_an_earlier_version_are_void():
    req = ApprovalRequirement(n=2, n_of_roles=("steering",))
    s = approval_status(req, [vote("steering", "A", version=2), vote("steering", "B")], 3)
    assert not s.satisfied and len(s.voided) == 1 and [v.by for v in s.votes] == ["B"]


def test_a_reject_blocks_and_a_later_approve_replaces_it():
    req = ApprovalRequirement(all_of=("sponsor",), n=1, n_of_roles=("steering",))
    s = approval_status(req, [vote("sponsor", "W"), vote("steering", "A"), vote("steering", "B", "reject")], 3)
    assert not s.satisfied and s.rejected_by == ("B (steering)",) and s.missing == ()
    s = approval_status(req, [vote("sponsor", "W"), vote("steering", "B", "reject"), vote("steering", "B")], 3)
    assert s.satisfied
    assert approval_status(None, [], 1).satisfied and not approval_status(None, [], 1).required
    assert ApprovalRequirement.parse(req.describe()) == req


# --------------------------------------------------------------------------- evaluating a gate
def test_decision_record_has_the_contract_shape(default_pack, planned):
    project = dataclasses.replace(planned, charter=dataclasses.replace(planned.charter, sponsor=""), version=4)
    project = dataclasses.replace(project, phase="initiation")
    w = Waiver(
        id="W7",
        rule="INI-02",
        granted_by="Zhou",
        role="pmo",
        reason="named next week",
        expires_on=date(2026, 3, 6),
        granted_at="2026-02-26T08:00:00+00:00",
    )
    d = evaluate_gate(
        default_pack,
        "initiation_to_planning",
        project,
        TODAY,
        [w],
        [],
        now=datetime(2026, 2, 27, 9, 30, tzinfo=timezone.utc),
        actor="chen",
    )
    data = d.to_dict()
    assert list(data) == [
        "schema_version",
        "id",
        "project",
        "transition",
        "from",
        "to",
        "decision",
        "evaluated_at",
        "evaluated_by",
        "today",
        "pack",
        "facts_hash",
        "project_version",
        "results",
        "approvals",
        "waivers",
        "advanced",
    ]
    assert data["decision"] == "conditional_go" and data["from"] == "initiation" and data["to"] == "planning"
    assert data["evaluated_at"] == "2026-02-27T09:30:00+00:00" and data["evaluated_by"] == "chen"
    assert data["pack"] == {"name": "pmo-default", "version": "1.0.0", "hash": default_pack.hash}
    assert data["project_version"] == 4 and len(data["facts_hash"]) == 64
    assert set(data["results"][0]) == {
        "id",
        "title",
        "severity",
        "outcome",
        "message",
        "evidence",
        "source",
        "tags",
        "error",
        "waiver",
    }
    waived = next(r for r in data["results"] if r["id"] == "INI-02")
    assert waived["outcome"] == "waived" and waived["waiver"]["id"] == "W7"
    assert data["waivers"] == [w.to_dict()]
    assert set(data["waivers"][0]) == {"id", "rule", "granted_by", "role", "reason", "expires_on", "granted_at"}
    assert set(data["approvals"]) == {"required", "rule", "satisfied", "votes", "missing"}
    json.dumps(data, ensure_ascii=False)
    again = Decision.from_dict(json.loads(json.dumps(data)))
    assert again.to_dict() == data


def test_failures_carry_evidence_and_messages_in_the_project_language(default_pack, planned):
    tasks = tuple(dataclasses.replace(t, owner="") if t.id in ("T1.1", "T3") else t for t in planned.tasks)
    project = dataclasses.replace(planned, tasks=tasks)
    d = evaluate_gate(default_pack, "planning_to_execution", project, TODAY)
    r = d.result("PLN-05")
    assert r.outcome == "fail" and [e.id for e in r.evidence] == ["T1.1", "T3"]
    assert r.evidence[0].label == "Configure the general ledger"
    assert r.message == "These tasks have no owner."
    assert d.decision == "no_go" and not d.allows_advance and d.blocking == (r,)
    zh = dataclasses.replace(project, charter=dataclasses.replace(project.charter, locale="zh-CN"))
    zh_result = evaluate_gate(default_pack, "planning_to_execution", zh, TODAY).result("PLN-05")
    assert zh_result.message == "以下任务没有负责人。"


def test_approvals_and_votes_in_a_decision(default_pack, planned):
    project = dataclasses.replace(planned, version=5)
    votes = [Vote("sponsor", "Wang Wei", project_version=5), Vote("client_representative", "Li Na", project_version=4)]
    d = evaluate_gate(default_pack, "planning_to_execution", project, TODAY, votes=votes)
    assert d.decision == "go" and not d.approvals.satisfied and not d.allows_advance
    assert d.approvals.missing == ("client_representative",) and d.notes
    votes[1] = Vote("client_representative", "Li Na", project_version=5)
    d = evaluate_gate(default_pack, "planning_to_execution", project, TODAY, votes=votes)
    assert d.approvals.satisfied and d.allows_advance


def test_a_rule_that_errors_blocks_and_says_why(tmp_path, planned):
    shutil.copytree(DATA / "mini_pack", tmp_path / "p")
    (tmp_path / "p" / "gates" / "more.yaml").write_text(
        "gates:\n  finish:\n    rules:\n"
        "      - id: E-1\n        title: {en: Dates}\n        severity: warning\n"
        "        check: tasks.all(t, t.finish < project.finish)\n"
        "      - id: E-2\n        title: {en: Not for this project}\n        when: size(risks) > 99\n"
        "        check: 'false'\n"
    )
    pack = load_pack(tmp_path / "p")
    project = dataclasses.replace(planned, phase="work")  # summary tasks T1 and T2 have no finish date
    d = evaluate_gate(pack, "finish", project, TODAY)
    e1, e2 = d.result("E-1"), d.result("E-2")
    assert e1.outcome == "error" and "null does not compare" in e1.error
    assert e2.outcome == "not_applicable"
    assert d.decision == "no_go"


def test_evidence_is_capped(mini_pack):
    from lifecycle.domain.model import Charter, Organisation, Project, Task

    tasks = tuple(Task(id=f"T{i}", name=f"t{i}") for i in range(120))
    project = Project(charter=Charter(code="C", name="c", client=Organisation(name="o")), phase="start", tasks=tasks)
    d = evaluate_gate(mini_pack, "begin", project, TODAY)
    r = d.result("M-02")
    assert r.outcome == "fail" and len(r.evidence) == 51 and r.evidence[-1].label == "… and 70 more"
    assert d.decision == "conditional_go"


def test_illegal_transition_is_refused_before_evaluating(default_pack, planned):
    with pytest.raises(IllegalTransition) as exc:
        evaluate_gate(default_pack, "closure_to_closed", planned, TODAY)
    assert "cannot be taken from 'planning'" in str(exc.value)
    d = check_gate(default_pack, planned, TODAY)  # no --to: the next forward gate
    assert d.transition == "planning_to_execution"
    d = check_gate(default_pack, planned, TODAY, to="on_hold")
    assert d.transition == "hold" and d.decision == "go"

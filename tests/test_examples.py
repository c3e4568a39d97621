"""The sample projects in ``examples/`` load cleanly and look like a plan at the end of planning.

Each sample deliberately keeps two gaps a planning -> execution gate must catch (marked ``# GAP:`` in
the file): one leaf task without an owner and one high risk (4 x 4) without an owner or a response
plan. Everything else is complete, and these tests hold the samples to that.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from lifecycle.domain.model import Project
from lifecycle.load.projectfile import dump_project, load_project_file, load_project_text

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SAMPLES = ["zh-smart-factory.yaml", "en-clinic-portal.yaml"]


@pytest.fixture(scope="module", params=SAMPLES)
def sample(request: pytest.FixtureRequest) -> tuple[str, Project]:
    name: str = request.param
    return name, load_project_file(EXAMPLES / name).project


def test_sample_loads_without_problems(sample: tuple[str, Project]) -> None:
    # load_project_file raises SpecError on any problem; the fixture got this far.
    name, project = sample
    assert project.charter.code
    assert project.charter.locale == ("zh-CN" if name.startswith("zh") else "en")


def test_sample_has_a_full_wbs(sample: tuple[str, Project]) -> None:
    _, p = sample
    assert 30 <= len(p.tasks) <= 60
    assert len(p.links) >= 30
    assert any(t.parent for t in p.tasks) and any(not t.parent for t in p.tasks)
    assert all(t.wbs for t in p.tasks)
    milestones = [t for t in p.tasks if t.milestone]
    assert len(milestones) >= 2 and all(t.duration_days == 0 for t in milestones)


def test_every_leaf_task_is_planned_except_the_one_gap(sample: tuple[str, Project]) -> None:
    _, p = sample
    leaves = p.leaf_tasks()
    assert all(t.start and t.finish and t.start <= t.finish for t in leaves)
    unowned = [t.id for t in leaves if not t.owner]
    assert len(unowned) == 1, unowned  # the deliberate GAP
    assigned = {a.task for a in p.assignments}
    assert {t.id for t in leaves} <= assigned
    assert all(t.effort_hours > 0 for t in leaves if not t.milestone)


def test_links_are_respected_by_the_dates(sample: tuple[str, Project]) -> None:
    _, p = sample
    tasks = p.index("tasks")
    for link in p.links:
        a, b = tasks[link.predecessor], tasks[link.successor]
        if link.type == "FS":
            assert b.start >= a.finish, link.id
        elif link.type == "SS":
            assert b.start >= a.start, link.id
        elif link.type == "FF":
            assert b.finish >= a.finish, link.id
    assert {lk.type for lk in p.links} >= {"FS", "SS", "FF"}


def test_summary_tasks_span_their_children(sample: tuple[str, Project]) -> None:
    _, p = sample
    for parent in {t.parent for t in p.tasks if t.parent}:
        kids = [t for t in p.tasks if t.parent == parent]
        summary = p.index("tasks")[parent]
        assert summary.start == min(k.start for k in kids if k.start), parent
        assert summary.finish == max(k.finish for k in kids if k.finish), parent


def test_budget_stays_within_the_approved_budget(sample: tuple[str, Project]) -> None:
    _, p = sample
    total = sum((b.amount for b in p.budget), Decimal(0))
    assert Decimal(0) < total <= p.charter.approved_budget
    assert any(b.category == "contingency" for b in p.budget)
    assert not p.costs or sum(c.amount for c in p.costs) < total / 20


def test_milestones_and_deliverables(sample: tuple[str, Project]) -> None:
    _, p = sample
    deliverables = p.index("deliverables")
    assert 5 <= len(deliverables) <= 8
    for d in deliverables.values():
        assert 2 <= len(d.acceptance_criteria) <= 4, d.id
    assert any(c.standard for d in deliverables.values() for c in d.acceptance_criteria)
    for m in p.milestones:
        assert set(m.deliverables) <= set(deliverables), m.id
    acceptance = [m for m in p.milestones if m.kind == "acceptance"]
    assert len(acceptance) >= 2 and all(m.deliverables for m in acceptance)
    assert all(m.payment_amount > 0 for m in p.milestones if m.kind == "payment")
    last = max(p.milestones, key=lambda m: m.date)
    assert last.kind == "acceptance"


def test_plan_records_are_complete_apart_from_the_gap_risk(sample: tuple[str, Project]) -> None:
    _, p = sample
    assert all(r.status == "open" for r in p.risks)
    high = [r for r in p.risks if r.score >= 15]
    assert [(r.probability, r.impact, r.owner, r.response_plan) for r in high] == [(4, 4, "", "")]
    others = [r for r in p.risks if r not in high]
    assert all(r.owner and r.response_plan and r.strategy and r.review_date for r in others)
    assert 10 <= len(p.risks) <= 14
    assert 1 <= len(p.issues) <= 2 and not any(i.blocking for i in p.issues)
    assert all(r.status == "confirmed" and r.source and r.deliverable for r in p.requirements)
    assert 3 <= len(p.quality_standards) <= 5
    assert [m.kind for m in p.meetings] == ["kickoff"]
    assert p.meetings[0].decisions and p.meetings[0].action_items
    assert len(p.status_reports) == 1
    assert all(t.status == "not_started" and t.percent_complete == 0 for t in p.tasks)


def test_dump_and_load_round_trips(sample: tuple[str, Project]) -> None:
    name, p = sample
    again = load_project_text(dump_project(p), name).project
    assert again == p
    again_json = load_project_text(dump_project(p, fmt="json"), name).project
    assert again_json == p


def test_gaps_are_marked_in_the_files() -> None:
    for name in SAMPLES:
        text = (EXAMPLES / name).read_text(encoding="utf-8")
        assert text.count("# GAP:") == 2, name

"""Small, valid projects built in code for tests that do not need a whole sample."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lifecycle.domain.model import (
    AcceptanceCriterion,
    BudgetLine,
    Calendar,
    Charter,
    Contact,
    Deliverable,
    Milestone,
    Organisation,
    Person,
    Project,
    Risk,
    Task,
    TaskLink,
)


def small_project(code: str = "DEMO-1", phase: str = "initiation") -> Project:
    return Project(
        charter=Charter(
            code=code,
            name="Warehouse scanning rollout",
            client=Organisation(name="Northwind Ltd"),
            supplier=Organisation(name="Acme Delivery"),
            locale="en",
            currency="GBP",
            sponsor="c-spon",
            project_manager="p-pm",
            client_representative="c-rep",
            start=date(2026, 1, 5),
            finish=date(2026, 3, 27),
            approved_budget=Decimal("120000"),
        ),
        phase=phase,
        calendar=Calendar(holidays=(date(2026, 1, 1),)),
        contacts=(
            Contact(id="c-spon", name="Dana Sponsor", organisation="Northwind Ltd", role="sponsor"),
            Contact(id="c-rep", name="Rob Rep", organisation="Northwind Ltd", role="client_representative"),
        ),
        people=(
            Person(id="p-pm", name="Pat Manager", role="project manager", rate=Decimal("95")),
            Person(id="p-dev", name="Dev One", role="developer", rate=Decimal("80")),
        ),
        tasks=(
            Task(
                id="T1",
                name="Design",
                wbs="1",
                owner="p-dev",
                start=date(2026, 1, 5),
                finish=date(2026, 1, 16),
                effort_hours=80,
                deliverables=("D1",),
            ),
            Task(
                id="T2",
                name="Build",
                wbs="2",
                owner="p-dev",
                start=date(2026, 1, 19),
                finish=date(2026, 2, 27),
                effort_hours=240,
                deliverables=("D2",),
            ),
            Task(
                id="T3",
                name="Go-live",
                wbs="3",
                owner="p-pm",
                start=date(2026, 3, 27),
                finish=date(2026, 3, 27),
                milestone=True,
                duration_days=0,
            ),
        ),
        links=(TaskLink("T1", "T2"), TaskLink("T2", "T3", lag_days=5)),
        deliverables=(
            Deliverable(
                id="D1",
                name="Design document",
                owner="p-dev",
                acceptance_criteria=(AcceptanceCriterion(id="AC1", text="Reviewed by client"),),
            ),
            Deliverable(
                id="D2",
                name="Scanning app",
                owner="p-dev",
                acceptance_criteria=(AcceptanceCriterion(id="AC2", text="UAT passed"),),
            ),
        ),
        milestones=(
            Milestone(
                id="M1", name="Go-live", date=date(2026, 3, 27), kind="acceptance", deliverables=("D1", "D2"), task="T3"
            ),
        ),
        budget=(
            BudgetLine(id="B1", category="labour", amount=Decimal("100000.50")),
            BudgetLine(id="B2", category="contingency", amount=Decimal("10000")),
        ),
        risks=(
            Risk(
                id="R1",
                title="Scanner delivery late",
                category="external",
                probability=3,
                impact=4,
                strategy="mitigate",
                response_plan="Order early",
                owner="p-pm",
                review_date=date(2026, 2, 1),
            ),
        ),
    )

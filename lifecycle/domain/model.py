"""The client-project model: pure, frozen dataclasses and nothing else.

This module is the contract every other part speaks: the project-file loader builds these objects,
storage maps them to tables, the gate facts and documents are made from them. It imports only the
standard library. Each entity has a user-facing ``id`` unique within its project; cross references
are by id and are checked by :mod:`lifecycle.domain.validate`.

Field metadata (via :func:`fld`) carries what generic code needs: ``doc`` (published in the JSON
Schema), ``min``/``max`` (numeric bounds), ``ref`` (the collection an id must name), ``money`` and
``filled`` (a field the loader fills, e.g. the statutory days of a calendar's country: stored and in the
gate facts, but never written in a project file).
Money is ``Decimal`` here and in storage; it becomes a double only in the gate facts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

SCHEMA_VERSION = 1
Date = date  # fields named `date` would shadow the type inside a class body


def fld(
    default: Any = dataclasses.MISSING,
    *,
    doc: str = "",
    min: float | None = None,  # noqa: A002 - mirrors JSON Schema
    max: float | None = None,  # noqa: A002
    ref: str | tuple[str, ...] | None = None,
    money: bool = False,
    filled: bool = False,
) -> Any:
    """A dataclass field with the metadata the loader, storage and schema generator read."""
    meta = {"doc": doc, "min": min, "max": max, "ref": ref, "money": money, "filled": filled}
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple default")
    if default is dataclasses.MISSING:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


def custom_fld(doc: str) -> Any:
    """A map field of values declared elsewhere (a rule pack's fields.yaml or params); not hashed."""
    meta = {"doc": doc, "min": None, "max": None, "ref": None, "money": False}
    return field(default_factory=dict, hash=False, metadata=meta)


_CUSTOM_DOC = "Custom fields the rule pack declares in fields.yaml"
Locale = Literal["zh-CN", "zh-TW", "en"]
Rag = Literal["green", "amber", "red"]
PEOPLE = ("people", "contacts")


# --------------------------------------------------------------------------- parties
@dataclass(frozen=True, slots=True)
class Organisation:
    name: str = fld(doc="Legal name as printed on documents")
    short_name: str = fld("", doc="Short name used in headers")
    address: str = fld("", doc="Postal address")
    industry: str = fld("", doc="Industry or sector")
    crm_id: str = fld("", doc="Identifier of this organisation in the CRM")


@dataclass(frozen=True, slots=True)
class Contact:
    """A person on the client's or the supplier's side who is not a project resource."""

    id: str
    name: str
    organisation: str = fld("", doc="Organisation the contact works for")
    side: Literal["client", "supplier", "third_party"] = "client"
    title: str = fld("", doc="Job title, printed in signature blocks")
    role: str = fld("", doc="Role in the project, e.g. sponsor, client_representative, steering")
    email: str = ""
    phone: str = ""
    crm_id: str = ""


@dataclass(frozen=True, slots=True)
class Person:
    """A human resource of the supplier assigned to the project."""

    id: str
    name: str
    role: str = fld(doc="Project role, e.g. architect, developer, tester")
    skills: tuple[str, ...] = ()
    capacity_hours_per_week: float = fld(40.0, min=0, max=168, doc="Hours available per week")
    rate: Decimal = fld(Decimal("0"), min=0, money=True, doc="Cost rate per hour")
    email: str = ""
    organisation: str = ""
    calendar: str = fld(
        "", ref="resource_calendars", doc="Id of the resource calendar the person works on; empty: the project calendar"
    )


@dataclass(frozen=True, slots=True)
class Material:
    """A material or piece of equipment the project needs by a date."""

    id: str
    name: str
    kind: Literal["material", "equipment"] = "material"
    quantity: float = fld(1.0, min=0)
    unit: str = "pcs"
    unit_cost: Decimal = fld(Decimal("0"), min=0, money=True)
    needed_by: Date | None = None
    task: str = fld("", ref="tasks")
    status: Literal["planned", "ordered", "delivered", "cancelled"] = "planned"


# --------------------------------------------------------------------------- plan
@dataclass(frozen=True, slots=True)
class ProgressPoint:
    """A task's percent complete as recorded on a day (its progress history)."""

    date: Date
    percent_complete: float = fld(0.0, min=0, max=100)


@dataclass(frozen=True, slots=True)
class Task:
    """A work-breakdown-structure element; a task with children is a summary task."""

    id: str
    name: str
    wbs: str = fld("", doc="WBS code, e.g. 1.2.3")
    parent: str = fld("", ref="tasks", doc="Id of the summary task this belongs to")
    owner: str = fld("", ref="people", doc="Id of the person responsible")
    start: Date | None = None
    finish: Date | None = None
    duration_days: float | None = fld(None, min=0, doc="Working days; 0 for a milestone task")
    effort_hours: float = fld(0.0, min=0)
    percent_complete: float = fld(0.0, min=0, max=100)
    status: Literal["not_started", "in_progress", "done", "blocked", "cancelled"] = "not_started"
    actual_start: Date | None = None
    actual_finish: Date | None = None
    milestone: bool = False
    deliverables: tuple[str, ...] = fld((), ref="deliverables", doc="Deliverables this task produces")
    constraint: Literal["", "start_no_earlier_than", "finish_no_later_than"] = ""
    constraint_date: Date | None = None
    notes: str = ""
    phase: str = fld("", doc="The phase this task belongs to (a phase id of the rule pack)")
    tags: tuple[str, ...] = ()
    custom: dict[str, Any] = custom_fld(_CUSTOM_DOC)
    optimistic_days: float | None = fld(
        None, min=0, doc="Three-point estimate: shortest duration in working days (most likely = duration_days)"
    )
    pessimistic_days: float | None = fld(None, min=0, doc="Three-point estimate: longest duration in working days")
    calendar: str = fld("", ref="resource_calendars", doc="Id of the task's own calendar; empty: none")
    ignore_resource_calendars: bool = fld(False, doc="Work on the task calendar only, whatever the people's calendars")
    task_type: Literal["fixed_units", "fixed_duration", "fixed_work"] = fld(
        "fixed_units", doc="What stays fixed when work, duration or units change"
    )
    effort_driven: bool = fld(False, doc="Its work is shared by the people assigned; they work on their calendars")
    progress: tuple[ProgressPoint, ...] = fld(
        (), doc="Percent complete as recorded day by day: earned value at a past date uses what was known then"
    )


@dataclass(frozen=True, slots=True)
class TaskLink:
    """A dependency between two tasks: finish-to-start and the other three kinds, with a lag."""

    predecessor: str = fld(ref="tasks")
    successor: str = fld(ref="tasks")
    type: Literal["FS", "SS", "FF", "SF"] = "FS"
    lag_days: float = fld(0.0, doc="Working days; negative for a lead")

    @property
    def id(self) -> str:
        return f"{self.predecessor}->{self.successor}"


@dataclass(frozen=True, slots=True)
class AcceptanceCriterion:
    id: str
    text: str = fld(doc="What must be true for the deliverable to be accepted")
    standard: str = fld("", ref="quality_standards", doc="Quality standard that measures it")
    method: str = fld("", doc="How it is verified: test, inspection, demonstration, review")
    target: str = fld("", doc="The value to reach, as printed, e.g. ≤ 2 s (default: the standard's target)")


@dataclass(frozen=True, slots=True)
class Deliverable:
    id: str
    name: str
    description: str = ""
    owner: str = fld("", ref="people")
    due: Date | None = None
    status: Literal["planned", "in_progress", "submitted", "accepted", "rejected"] = "planned"
    acceptance_criteria: tuple[AcceptanceCriterion, ...] = ()
    file: str = fld("", doc="Path of the delivered file, if it is one")
    sha256: str = fld("", doc="Recorded checksum of the delivered file")
    defects_open: int = fld(0, min=0)
    tests_passed: int = fld(0, min=0)
    tests_failed: int = fld(0, min=0)
    phase: str = fld("", doc="The phase whose product this is (a phase id of the rule pack)")
    tags: tuple[str, ...] = ()
    custom: dict[str, Any] = custom_fld(_CUSTOM_DOC)


@dataclass(frozen=True, slots=True)
class Milestone:
    id: str
    name: str
    date: Date
    kind: Literal["key", "acceptance", "payment"] = "key"
    deliverables: tuple[str, ...] = fld((), ref="deliverables")
    task: str = fld("", ref="tasks")
    status: Literal["planned", "done", "missed"] = "planned"
    completed_on: Date | None = None
    payment_amount: Decimal = fld(Decimal("0"), min=0, money=True)
    custom: dict[str, Any] = custom_fld(_CUSTOM_DOC)


@dataclass(frozen=True, slots=True)
class Assignment:
    person: str = fld(ref="people")
    task: str = fld(ref="tasks")
    units: float = fld(1.0, min=0, max=10, doc="Share of the person's capacity, 1.0 = full time")
    hours: float = fld(0.0, min=0, doc="Planned work in hours (0 = derived from units and dates)")

    @property
    def id(self) -> str:
        return f"{self.person}@{self.task}"


@dataclass(frozen=True, slots=True)
class BudgetLine:
    id: str
    category: Literal["labour", "materials", "equipment", "subcontract", "travel", "licences", "contingency", "other"]
    amount: Decimal = fld(min=0, money=True)
    description: str = ""
    task: str = fld("", ref="tasks", doc="Task the money is allocated to")


@dataclass(frozen=True, slots=True)
class CostEntry:
    id: str
    date: Date
    amount: Decimal = fld(min=0, money=True)
    category: Literal[
        "labour", "materials", "equipment", "subcontract", "travel", "licences", "contingency", "other"
    ] = "labour"
    task: str = fld("", ref="tasks")
    budget_line: str = fld("", ref="budget")
    description: str = ""
    final: bool = fld(False, doc="Booked in the final cost statement")


@dataclass(frozen=True, slots=True)
class BaselineTask:
    task: str
    start: Date | None = None
    finish: Date | None = None
    cost: Decimal = fld(Decimal("0"), money=True)
    effort_hours: float = 0.0
    duration_days: float | None = None


@dataclass(frozen=True, slots=True)
class Baseline:
    id: str
    name: str
    saved_on: Date
    budget: Decimal = fld(Decimal("0"), money=True)
    finish: Date | None = None
    tasks: tuple[BaselineTask, ...] = ()


@dataclass(frozen=True, slots=True)
class ResourceCalendar:
    """A calendar people or tasks work on instead of the project calendar: the working week and the
    exceptions of the calendar it inherits from (``base``), with its own working week and days."""

    id: str
    name: str = ""
    base: str = fld(
        "project",
        ref=("resource_calendars", "project"),
        doc="What it inherits: project (the project calendar), another calendar's id, or empty for nothing",
    )
    working_weekdays: tuple[int, ...] = fld((), doc="ISO weekdays worked (1 = Monday); empty: the base's")
    holidays: tuple[Date, ...] = fld((), doc="Its own non-working days (added to the base's)")
    extra_workdays: tuple[Date, ...] = fld((), doc="Its own worked days that would otherwise be off")
    hours_per_day: float = fld(0.0, min=0, max=24, doc="Working hours of its days; 0: the base's")


@dataclass(frozen=True, slots=True)
class Calendar:
    """The project's working calendar. A country (and region) brings its statutory holidays and make-up
    working days; the explicit holidays and extra workdays override them."""

    # The loader fills the statutory_* fields and unknown_years from the country (years the holiday
    # library does not know yet count working weekdays only, and every face reports them).

    working_weekdays: tuple[int, ...] = fld((1, 2, 3, 4, 5), doc="ISO weekdays that are worked, 1 = Monday")
    hours_per_day: float = fld(8.0, min=0.5, max=24)
    holidays: tuple[Date, ...] = fld((), doc="Non-working days, e.g. public holidays")
    extra_workdays: tuple[Date, ...] = fld((), doc="Worked days that would otherwise be off (调休)")
    country: str = fld("", doc="ISO 3166 country whose statutory holidays (and make-up working days) apply, e.g. CN")
    region: str = fld("", doc="Subdivision of the country (state, province, nation), e.g. SCT for Scotland")
    statutory_holidays: tuple[Date, ...] = fld((), filled=True, doc="The country's public holidays (filled)")
    statutory_workdays: tuple[Date, ...] = fld((), filled=True, doc="The country's make-up working days (filled)")
    statutory_years: tuple[int, ...] = fld((), filled=True, doc="Years the statutory days were looked up for")
    unknown_years: tuple[int, ...] = fld(
        (), filled=True, doc="Years the holiday library does not know yet: working weekdays only, reported"
    )
    resource_calendars: tuple[ResourceCalendar, ...] = fld(
        (), doc="Other calendars, named by people's and tasks' calendar field"
    )

    def effective_holidays(self) -> tuple[Date, ...]:
        """Non-working days: the statutory holidays an explicit extra workday does not cancel, and the
        explicit holidays (an explicit date in both lists stays a working day: see the workdays)."""
        if not self.statutory_holidays:
            return self.holidays
        explicit_work = set(self.extra_workdays)
        kept = (d for d in self.statutory_holidays if d not in explicit_work)
        return tuple(sorted({*kept, *self.holidays}))

    def effective_workdays(self) -> tuple[Date, ...]:
        """Worked days that would be off: the statutory make-up days an explicit holiday does not
        cancel, and the explicit extra workdays."""
        if not self.statutory_workdays:
            return self.extra_workdays
        explicit_off = set(self.holidays) - set(self.extra_workdays)
        kept = (d for d in self.statutory_workdays if d not in explicit_off)
        return tuple(sorted({*kept, *self.extra_workdays}))


# --------------------------------------------------------------------------- monitoring
@dataclass(frozen=True, slots=True)
class StatusReport:
    id: str
    date: Date
    period_start: Date
    period_end: Date
    author: str = fld("", ref="people")
    audience: Literal["team", "client"] = "client"
    overall: Rag = "green"
    schedule: Rag = "green"
    cost: Rag = "green"
    scope: Rag = "green"
    summary: str = ""
    accomplishments: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()
    decisions_needed: tuple[str, ...] = ()
    kind: str = fld("", doc="What kind of report: e.g. highlight, checkpoint, end_stage, exception")
    phase: str = fld("", doc="The phase reported on")
    tags: tuple[str, ...] = ()
    custom: dict[str, Any] = custom_fld(_CUSTOM_DOC)


@dataclass(frozen=True, slots=True)
class ActionItem:
    id: str
    text: str
    owner: str = fld("", ref=PEOPLE)
    due: Date | None = None
    status: Literal["open", "done", "cancelled"] = "open"


@dataclass(frozen=True, slots=True)
class Meeting:
    id: str
    date: Date
    title: str
    kind: Literal["kickoff", "progress", "steering", "review", "other"] = "progress"
    attendees: tuple[str, ...] = fld((), ref=PEOPLE)
    decisions: tuple[str, ...] = ()
    action_items: tuple[ActionItem, ...] = ()
    minutes: str = ""


@dataclass(frozen=True, slots=True)
class ChangeRequest:
    id: str
    title: str
    requested_on: Date
    description: str = ""
    requested_by: str = fld("", ref=PEOPLE)
    scope_impact: str = ""
    schedule_impact_days: float = 0.0
    cost_impact: Decimal = fld(Decimal("0"), money=True)
    replan: bool = fld(False, doc="Approving it requires going back to planning")
    status: Literal["proposed", "approved", "rejected", "implemented", "withdrawn"] = "proposed"
    decided_by: str = fld("", ref=PEOPLE)
    decided_on: Date | None = None

    # --------------------------------------------------------------------------- risks and issues
    custom: dict[str, Any] = custom_fld(_CUSTOM_DOC)


@dataclass(frozen=True, slots=True)
class Risk:
    id: str
    title: str
    category: Literal[
        "technical", "resource", "schedule", "cost", "scope", "external", "client", "quality", "legal"
    ] = "technical"
    description: str = ""
    probability: int = fld(1, min=1, max=5, doc="1 = rare … 5 = almost certain")
    impact: int = fld(1, min=1, max=5, doc="1 = negligible … 5 = severe")
    strategy: Literal["", "avoid", "mitigate", "transfer", "accept"] = ""
    response_plan: str = ""
    owner: str = fld("", ref=PEOPLE)
    status: Literal["open", "closed", "occurred"] = "open"
    identified_on: Date | None = None
    review_date: Date | None = None

    @property
    def score(self) -> int:
        return self.probability * self.impact

    custom: dict[str, Any] = custom_fld(_CUSTOM_DOC)


@dataclass(frozen=True, slots=True)
class Issue:
    id: str
    title: str
    raised_on: Date
    description: str = ""
    severity: Literal["low", "medium", "high", "critical"] = "medium"
    blocking: bool = False
    owner: str = fld("", ref=PEOPLE)
    status: Literal["open", "in_progress", "resolved", "closed"] = "open"
    due: Date | None = None
    resolved_on: Date | None = None

    # --------------------------------------------------------------------------- client
    custom: dict[str, Any] = custom_fld(_CUSTOM_DOC)


@dataclass(frozen=True, slots=True)
class Requirement:
    id: str
    title: str
    description: str = ""
    priority: Literal["must", "should", "could", "wont"] = "must"
    status: Literal["draft", "confirmed", "verified", "rejected"] = "draft"
    source: str = fld("", ref="contacts", doc="Client contact who stated it")
    deliverable: str = fld("", ref="deliverables")
    expectation: str = fld("", doc="What the client expects, in their words")
    custom: dict[str, Any] = custom_fld(_CUSTOM_DOC)


@dataclass(frozen=True, slots=True)
class Feedback:
    id: str
    date: Date
    contact: str = fld(ref="contacts")
    status_report: str = fld("", ref="status_reports")
    rating: int = fld(3, min=1, max=5)
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Survey:
    id: str
    date: Date
    contact: str = fld(ref="contacts")
    csat: int | None = fld(None, min=1, max=5, doc="Customer satisfaction, 1-5")
    nps: int | None = fld(None, min=0, max=10, doc="Likelihood to recommend, 0-10")
    comment: str = ""


# --------------------------------------------------------------------------- quality
@dataclass(frozen=True, slots=True)
class QualityStandard:
    id: str
    name: str
    reference: str = fld("", doc="e.g. GB/T 25000.51-2016, ISO 9001 clause")
    description: str = ""
    metric: str = ""
    target: str = ""


@dataclass(frozen=True, slots=True)
class QualityCheck:
    id: str
    deliverable: str = fld(ref="deliverables")
    date: Date | None = None
    standard: str = fld("", ref="quality_standards")
    checker: str = fld("", ref=PEOPLE)
    result: Literal["pass", "fail", "conditional"] = "pass"
    evidence: str = fld("", doc="Reference to the evidence: report number, file, link")
    notes: str = ""
    automated: bool = fld(False, doc="Recorded by a quality-check flow")


@dataclass(frozen=True, slots=True)
class ImprovementAction:
    id: str
    description: str
    check: str = fld("", ref="quality_checks")
    owner: str = fld("", ref=PEOPLE)
    due: Date | None = None
    status: Literal["open", "done", "cancelled"] = "open"


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """One verification of a deliverable's acceptance criterion; the latest (by date, then record order)
    of a criterion is the one that counts, the earlier ones are its history."""

    id: str
    deliverable: str = fld(ref="deliverables")
    criterion: str = fld(doc="Id of the acceptance criterion of that deliverable")
    result: Literal["pass", "fail", "conditional"] = fld(
        "pass", doc="pass, fail, or conditional (accepted with conditions, stated in conditions)"
    )
    measured: str = fld("", doc="The measured value as printed, e.g. 1.8")
    unit: str = fld("", doc="Unit of the measured value, e.g. s, %")
    target: str = fld("", doc="The target it was measured against (default: the criterion's)")
    method: str = fld("", doc="How it was verified: test, inspection, demonstration, review, analysis")
    evidence: str = fld("", doc="A file name relative to the documents folder, or a reference (report number)")
    verifier: str = fld("", ref=PEOPLE, doc="Person or contact who verified it")
    date: Date | None = None
    conditions: str = fld("", doc="The conditions of a conditional result")
    notes: str = ""
    automated: bool = fld(False, doc="Recorded by a quality check that measures the criterion")
    quality_check: str = fld("", ref="quality_checks", doc="The quality check that produced it")


# --------------------------------------------------------------------------- closure
@dataclass(frozen=True, slots=True)
class AcceptanceRecord:
    id: str
    deliverable: str = fld(ref="deliverables")
    date: Date | None = None
    milestone: str = fld("", ref="milestones")
    accepted_by: str = fld("", ref="contacts")
    verdict: Literal["accepted", "accepted_with_conditions", "rejected"] = "accepted"
    conditions: str = ""
    evidence: str = ""


@dataclass(frozen=True, slots=True)
class Signoff:
    """The client's formal sign-off of the whole project (or a milestone)."""

    id: str
    date: Date
    contact: str = fld(ref="contacts")
    scope: Literal["project", "milestone"] = "project"
    milestone: str = fld("", ref="milestones")
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Lesson:
    id: str
    title: str
    category: Literal["planning", "technical", "client", "team", "process", "commercial", "quality"] = "process"
    description: str = ""
    recommendation: str = ""
    recorded_by: str = fld("", ref=PEOPLE)
    date: Date | None = None
    phase: str = fld("", doc="The phase the lesson was learned in")
    tags: tuple[str, ...] = ()
    custom: dict[str, Any] = custom_fld(_CUSTOM_DOC)


@dataclass(frozen=True, slots=True)
class HandoverItem:
    id: str
    name: str
    kind: Literal["document", "software", "source_code", "data", "hardware", "credentials", "other"] = "document"
    file: str = ""
    sha256: str = ""
    recipient: str = fld("", ref="contacts")
    handed_over_on: Date | None = None
    status: Literal["pending", "delivered", "accepted"] = "pending"
    notes: str = ""


@dataclass(frozen=True, slots=True)
class Training:
    id: str
    topic: str
    date: Date | None = None
    trainer: str = fld("", ref=PEOPLE)
    trainees: tuple[str, ...] = fld((), ref="contacts")
    hours: float = fld(0.0, min=0)
    status: Literal["planned", "done"] = "planned"


# --------------------------------------------------------------------------- the aggregate
@dataclass(frozen=True, slots=True)
class Charter:
    """What the project is: identity, parties, objectives, scope and the approved envelope."""

    code: str = fld(doc="Short unique code, letters, digits and dashes, e.g. HZ-MES-2026")
    name: str = fld(doc="Project name as printed on documents")
    client: Organisation = fld(doc="The client organisation")
    supplier: Organisation = fld(Organisation(name=""), doc="The supplier (us)")
    locale: Locale = fld("en", doc="Language of client documents")
    currency: str = fld("CNY", doc="ISO 4217 code")
    contract_number: str = ""
    description: str = ""
    objectives: tuple[str, ...] = ()
    scope_in: tuple[str, ...] = ()
    scope_out: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()
    sponsor: str = fld("", ref=PEOPLE)
    project_manager: str = fld("", ref="people")
    client_representative: str = fld("", ref="contacts")
    steering: tuple[str, ...] = fld((), ref=PEOPLE, doc="Steering committee members")
    start: Date | None = None
    finish: Date | None = None
    approved_budget: Decimal = fld(Decimal("0"), min=0, money=True)
    contract_value: Decimal = fld(
        Decimal("0"), min=0, money=True, doc="Contract value agreed with the client (0: not stated)"
    )
    acceptance_method: str = fld("", doc="How acceptance is carried out (验收方式与方法)")
    acceptance_team: tuple[str, ...] = fld((), ref=PEOPLE, doc="Members of the acceptance team")
    support_terms: str = ""
    support_contacts: tuple[str, ...] = fld((), ref=PEOPLE)
    warranty_until: Date | None = None
    schedule_tolerance_pct: float = fld(10.0, min=0, doc="Allowed schedule variance, percent")
    cost_tolerance_pct: float = fld(10.0, min=0, doc="Allowed cost variance, percent")
    params: dict[str, Any] = custom_fld("This project's values of the rule pack's params (overrides of the defaults)")
    custom: dict[str, Any] = custom_fld(_CUSTOM_DOC)


SECTIONS: dict[str, type] = {
    "contacts": Contact,
    "people": Person,
    "materials": Material,
    "tasks": Task,
    "links": TaskLink,
    "deliverables": Deliverable,
    "milestones": Milestone,
    "assignments": Assignment,
    "budget": BudgetLine,
    "costs": CostEntry,
    "baselines": Baseline,
    "status_reports": StatusReport,
    "meetings": Meeting,
    "change_requests": ChangeRequest,
    "risks": Risk,
    "issues": Issue,
    "requirements": Requirement,
    "feedback": Feedback,
    "surveys": Survey,
    "quality_standards": QualityStandard,
    "quality_checks": QualityCheck,
    "criterion_results": CriterionResult,
    "improvement_actions": ImprovementAction,
    "acceptance_records": AcceptanceRecord,
    "signoffs": Signoff,
    "lessons": Lesson,
    "handover_items": HandoverItem,
    "training": Training,
}
"""Every collection of a project, in file order; the key is also the YAML key and the facts name."""


@dataclass(frozen=True, slots=True)
class Project:
    """A whole client project: the charter, the calendar and every collection in SECTIONS."""

    charter: Charter
    phase: str = ""
    phase_before_hold: str = ""
    version: int = 0
    calendar: Calendar = Calendar()
    contacts: tuple[Contact, ...] = ()
    people: tuple[Person, ...] = ()
    materials: tuple[Material, ...] = ()
    tasks: tuple[Task, ...] = ()
    links: tuple[TaskLink, ...] = ()
    deliverables: tuple[Deliverable, ...] = ()
    milestones: tuple[Milestone, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    budget: tuple[BudgetLine, ...] = ()
    costs: tuple[CostEntry, ...] = ()
    baselines: tuple[Baseline, ...] = ()
    status_reports: tuple[StatusReport, ...] = ()
    meetings: tuple[Meeting, ...] = ()
    change_requests: tuple[ChangeRequest, ...] = ()
    risks: tuple[Risk, ...] = ()
    issues: tuple[Issue, ...] = ()
    requirements: tuple[Requirement, ...] = ()
    feedback: tuple[Feedback, ...] = ()
    surveys: tuple[Survey, ...] = ()
    quality_standards: tuple[QualityStandard, ...] = ()
    quality_checks: tuple[QualityCheck, ...] = ()
    criterion_results: tuple[CriterionResult, ...] = ()
    improvement_actions: tuple[ImprovementAction, ...] = ()
    acceptance_records: tuple[AcceptanceRecord, ...] = ()
    signoffs: tuple[Signoff, ...] = ()
    lessons: tuple[Lesson, ...] = ()
    handover_items: tuple[HandoverItem, ...] = ()
    training: tuple[Training, ...] = ()

    @property
    def code(self) -> str:
        return self.charter.code

    def section(self, name: str) -> tuple[Any, ...]:
        value: tuple[Any, ...] = getattr(self, name)
        return value

    def index(self, name: str) -> dict[str, Any]:
        """The items of a collection by id."""
        return {item.id: item for item in self.section(name)}

    def leaf_tasks(self) -> list[Task]:
        parents = {t.parent for t in self.tasks if t.parent}
        return [t for t in self.tasks if t.id not in parents]


# --------------------------------------------------------------------------- system records
@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One append-only entry of a project's audit trail (``seq`` and hashes are set by storage)."""

    project: str
    action: str
    actor: str
    at: datetime
    entity: str = ""
    entity_id: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    seq: int = 0
    prev_hash: str = ""
    hash: str = ""
    # set by storage (lifecycle.storage.anchor): the state the write produced and the keyed MAC
    state: dict[str, Any] = field(default_factory=dict)
    state_hash: str = ""
    mac: str = ""


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """A generated document as registered: what, where, its checksum and what it was made from."""

    id: str
    project: str
    kind: str
    number: str
    path: str
    sha256: str
    created_at: datetime
    lang: str = ""
    pack_hash: str = ""
    signed: bool = False
    subject: str = ""
    record: dict[str, Any] = field(default_factory=dict)
    revision: int = 1  # 1 for the document as first issued; 2, 3 … for re-issues under the same number

    @property
    def audience(self) -> str:
        """Who the document is for: ``client`` or ``internal`` (the PMO's version), as its record says."""
        return "internal" if self.record.get("audience") == "internal" else "client"


_T = TypeVar("_T")


def replace(obj: _T, **changes: Any) -> _T:
    """dataclasses.replace for the model's frozen classes, keeping the type for checkers."""
    return dataclasses.replace(obj, **changes)  # type: ignore[type-var]

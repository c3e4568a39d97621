"""The daily records of a project manager, one use case each: progress, risks, issues, costs ...

Each function takes the project code and a typed input (a frozen dataclass a face fills from its
arguments), builds the domain entity, and saves it through :func:`~lifecycle.services.projects.update_project`
(one audited, version-checked change; a value that would make the project inconsistent is refused).
Each returns the entity as stored, a frozen dataclass the face renders. The defaults a PM expects
(today's date, the next free id, the project manager as author, a finished task at 100 %) are
decided here, so every face records the same thing for the same input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from lifecycle.domain.model import (
    ChangeRequest,
    CostEntry,
    Feedback,
    Issue,
    ProgressPoint,
    Risk,
    StatusReport,
    Survey,
    Task,
)
from lifecycle.errors import InvalidInput
from lifecycle.services.context import Context
from lifecycle.services.projects import add_item, get_item, next_id, set_fields

__all__ = [
    "ChangeRequest",
    "CostEntry",
    "Feedback",
    "Issue",
    "NewChange",
    "NewCost",
    "NewFeedback",
    "NewIssue",
    "NewStatusReport",
    "NewSurvey",
    "Risk",
    "RiskFields",
    "StatusReport",
    "Survey",
    "Task",
    "TaskProgress",
    "add_risk",
    "add_status_report",
    "book_cost",
    "decide_change",
    "raise_change",
    "raise_issue",
    "record_feedback",
    "record_survey",
    "record_task_progress",
    "resolve_issue",
    "update_risk",
]


# ------------------------------------------------------------------ tasks
@dataclass(frozen=True)
class TaskProgress:
    """What changes on a task; None leaves a field as it is."""

    percent: float | None = None
    status: str | None = None
    actual_start: date | None = None
    actual_finish: date | None = None
    owner: str | None = None


def progress_values(task: Task, change: TaskProgress, today: date) -> dict[str, Any]:
    """The fields to set on ``task``: ``done`` means 100 % and a finish date; progress means a start."""
    values: dict[str, Any] = {}
    if change.percent is not None:
        values["percent_complete"] = float(change.percent)
        if change.percent > 0 and change.status is None and task.status == "not_started":
            values["status"] = "in_progress"
        if change.percent >= 100 and change.status is None:
            values["status"] = "done"
    if change.status is not None:
        values["status"] = change.status
    if values.get("status") == "done":
        values["percent_complete"] = 100.0
        if change.actual_finish is None and task.actual_finish is None:
            values["actual_finish"] = today
    started = values.get("percent_complete", 0) > 0 or values.get("status") in ("in_progress", "done")
    if started and task.actual_start is None and change.actual_start is None:
        values["actual_start"] = min(today, values.get("actual_finish", today))
    given = {"actual_start": change.actual_start, "actual_finish": change.actual_finish, "owner": change.owner}
    values.update({k: v for k, v in given.items() if v is not None})
    if "percent_complete" in values:
        # the progress history: one entry a day, the latest recording of the day wins
        kept = tuple(p for p in task.progress if p.date != today)
        values["progress"] = (*kept, ProgressPoint(today, values["percent_complete"]))
    return values


def record_task_progress(ctx: Context, code: str, task_id: str, change: TaskProgress) -> Task:
    """Set a task's percent complete, status, actual dates or owner."""
    task = get_item(ctx.store.get(code), "tasks", task_id)
    values = progress_values(task, change, ctx.today())
    if not values:
        raise InvalidInput("nothing to change: give --percent, --status, --actual-start, --actual-finish or --owner")
    result: Task = set_fields(ctx, code, "tasks", task_id, values, action="task.progress")
    return result


# ------------------------------------------------------------------ risks
@dataclass(frozen=True)
class RiskFields:
    """The fields of a risk a PM sets; None leaves a field as it is (or at its default)."""

    title: str | None = None
    category: str | None = None
    description: str | None = None
    probability: int | None = None
    impact: int | None = None
    strategy: str | None = None
    response_plan: str | None = None
    owner: str | None = None
    status: str | None = None
    review_date: date | None = None

    def given(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


def add_risk(ctx: Context, code: str, values: RiskFields, *, risk_id: str | None = None) -> Risk:
    """Add a risk to the register (default id: the next R-NNN; identified today)."""
    if not values.title:
        raise InvalidInput("a risk needs --title")
    rid = risk_id or next_id(ctx.store.get(code), "risks", "R")
    given = values.given()
    given.setdefault("identified_on", ctx.today())
    risk: Risk = add_item(ctx, code, "risks", Risk(id=rid, **given), action="risk.added")
    return risk


def update_risk(ctx: Context, code: str, risk_id: str, values: RiskFields) -> Risk:
    """Reassess a risk, set its response, owner, status or review date."""
    given = values.given()
    if not given:
        raise InvalidInput("nothing to change: give at least one option (see --help)")
    risk: Risk = set_fields(ctx, code, "risks", risk_id, given, action="risk.updated")
    return risk


# ------------------------------------------------------------------ issues
@dataclass(frozen=True)
class NewIssue:
    title: str
    severity: str = "medium"
    blocking: bool = False
    owner: str = ""
    due: date | None = None
    description: str = ""
    id: str | None = None


def raise_issue(ctx: Context, code: str, new: NewIssue) -> Issue:
    """Raise an issue (default id: the next I-NNN; raised today)."""
    data = asdict(new)
    data["id"] = new.id or next_id(ctx.store.get(code), "issues", "I")
    issue: Issue = add_item(ctx, code, "issues", Issue(raised_on=ctx.today(), **data), action="issue.raised")
    return issue


def resolve_issue(ctx: Context, code: str, issue_id: str, *, on: date | None = None) -> Issue:
    """Mark an issue resolved (default: today)."""
    values = {"status": "resolved", "resolved_on": on or ctx.today()}
    issue: Issue = set_fields(ctx, code, "issues", issue_id, values, action="issue.resolved")
    return issue


# ------------------------------------------------------------------ costs
@dataclass(frozen=True)
class NewCost:
    amount: Decimal
    category: str = "labour"
    task: str = ""
    budget_line: str = ""
    date: date | None = None
    description: str = ""
    final: bool = False
    id: str | None = None


def book_cost(ctx: Context, code: str, new: NewCost) -> CostEntry:
    """Book an actual cost (default id: the next C-NNN; dated today)."""
    data = asdict(new)
    data["id"] = new.id or next_id(ctx.store.get(code), "costs", "C")
    data["date"] = new.date or ctx.today()
    entry: CostEntry = add_item(ctx, code, "costs", CostEntry(**data), action="cost.booked")
    return entry


# ------------------------------------------------------------------ status reports
@dataclass(frozen=True)
class NewStatusReport:
    overall: str
    summary: str
    schedule: str | None = None
    cost: str | None = None
    scope: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    date: date | None = None
    audience: str = "client"
    accomplishments: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()
    decisions_needed: tuple[str, ...] = ()
    id: str | None = None


def add_status_report(ctx: Context, code: str, new: NewStatusReport) -> StatusReport:
    """Record a status report: by the project manager, for the 14 days up to its date unless given."""
    project = ctx.store.get(code)
    day = new.date or ctx.today()
    data = asdict(new)
    data.update(
        id=new.id or next_id(project, "status_reports", "SR"),
        date=day,
        period_start=new.period_start or day - timedelta(days=14),
        period_end=new.period_end or day,
        author=project.charter.project_manager,
        schedule=new.schedule or new.overall,
        cost=new.cost or new.overall,
        scope=new.scope or "green",
    )
    report: StatusReport = add_item(ctx, code, "status_reports", StatusReport(**data), action="status_report.added")
    return report


# ------------------------------------------------------------------ client feedback
@dataclass(frozen=True)
class NewFeedback:
    contact: str
    rating: int
    comment: str = ""
    status_report: str = ""
    date: date | None = None


def record_feedback(ctx: Context, code: str, new: NewFeedback) -> Feedback:
    """Record the client's feedback on a report or meeting (dated today unless given)."""
    fid = next_id(ctx.store.get(code), "feedback", "FB")
    data = {**asdict(new), "id": fid, "date": new.date or ctx.today()}
    feedback: Feedback = add_item(ctx, code, "feedback", Feedback(**data), action="feedback.recorded")
    return feedback


@dataclass(frozen=True)
class NewSurvey:
    contact: str
    csat: int | None = None
    nps: int | None = None
    comment: str = ""
    date: date | None = None


def record_survey(ctx: Context, code: str, new: NewSurvey) -> Survey:
    """Record a satisfaction survey (CSAT 1-5 and/or NPS 0-10)."""
    if new.csat is None and new.nps is None:
        raise InvalidInput("give --csat and/or --nps")
    sid = next_id(ctx.store.get(code), "surveys", "SV")
    data = {**asdict(new), "id": sid, "date": new.date or ctx.today()}
    survey: Survey = add_item(ctx, code, "surveys", Survey(**data), action="survey.recorded")
    return survey


# ------------------------------------------------------------------ change requests
@dataclass(frozen=True)
class NewChange:
    title: str
    description: str = ""
    requested_by: str = ""
    scope_impact: str = ""
    schedule_impact_days: float = 0.0
    cost_impact: float = 0.0
    replan: bool = False
    id: str | None = None


def raise_change(ctx: Context, code: str, new: NewChange) -> ChangeRequest:
    """Raise a change request (default id: the next CR-NNN; requested today)."""
    data = asdict(new)
    data.update(
        id=new.id or next_id(ctx.store.get(code), "change_requests", "CR"),
        requested_on=ctx.today(),
        cost_impact=Decimal(str(new.cost_impact)),
    )
    cr: ChangeRequest = add_item(ctx, code, "change_requests", ChangeRequest(**data), action="change_request.raised")
    return cr


def decide_change(
    ctx: Context, code: str, cr_id: str, *, approve: bool, decided_by: str, on: date | None = None
) -> ChangeRequest:
    """Approve or reject a proposed change request (a decided one cannot be decided again)."""
    cr = get_item(ctx.store.get(code), "change_requests", cr_id)
    if cr.status != "proposed":
        raise InvalidInput(f"{cr_id} is already {cr.status}")
    values = {
        "status": "approved" if approve else "rejected",
        "decided_by": decided_by,
        "decided_on": on or ctx.today(),
    }
    decided: ChangeRequest = set_fields(ctx, code, "change_requests", cr_id, values, action="change_request.decided")
    return decided

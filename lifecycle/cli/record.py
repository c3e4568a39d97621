"""Daily commands of a project manager: record progress without editing YAML.

``pmo task progress``, ``pmo risk add|update``, ``pmo issue add|resolve``, ``pmo milestone done``,
``pmo cost add``, ``pmo status-report add``, ``pmo feedback add|survey``, ``pmo change add|decide``.
Each parses its options into the typed input of one :mod:`lifecycle.services.records` use case and
prints the entity it returns; the service makes one audited, version-checked update, and a value that
would make the project inconsistent (unknown owner, finish before start) is refused with exit 2.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import click

from lifecycle.cli.flows import run_flow, summary_lines
from lifecycle.cli.output import emit_json, handle_errors, run_in_context, ws_from
from lifecycle.errors import EventNotSent
from lifecycle.services import inputs, records
from lifecycle.services.milestones import complete_milestone


class DateType(click.ParamType):
    name = "DATE"

    def convert(self, value: Any, param: Any, ctx: Any) -> date:
        if isinstance(value, date):
            return value
        try:
            day = date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"'{value}' is not a date like 2026-03-31", param, ctx)
        problem = inputs.date_option_problem(day)
        if problem:
            self.fail(problem, param, ctx)
        return day


class MoneyType(click.ParamType):
    name = "AMOUNT"

    def convert(self, value: Any, param: Any, ctx: Any) -> Decimal:
        try:
            d = Decimal(str(value).replace(",", ""))
        except InvalidOperation:
            self.fail(f"'{value}' is not an amount", param, ctx)
        if not d.is_finite() or d < 0:
            self.fail(f"'{value}' must be a positive amount", param, ctx)
        problem = inputs.amount_problem(d)
        if problem:
            self.fail(problem, param, ctx)
        return d


DATE = DateType()
MONEY = MoneyType()


def _run(ctx: click.Context, fn: Any) -> Any:
    return run_in_context(ctx, fn)


def _report(item: Any, as_json: bool, text: str) -> None:
    if as_json:
        emit_json(item)
    else:
        click.echo(text)


# ------------------------------------------------------------------ tasks
@click.group("task")
def task_grp() -> None:
    """Record task progress and actual dates."""


@task_grp.command("progress")
@click.argument("code")
@click.argument("task")
@click.option("--percent", type=click.FloatRange(0, 100), help="Percent complete.")
@click.option("--status", type=click.Choice(["not_started", "in_progress", "done", "blocked", "cancelled"]))
@click.option("--actual-start", type=DATE)
@click.option("--actual-finish", type=DATE)
@click.option("--owner", help="Reassign to this person id.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def task_progress(
    ctx: click.Context,
    code: str,
    task: str,
    percent: float | None,
    status: str | None,
    actual_start: date | None,
    actual_finish: date | None,
    owner: str | None,
    as_json: bool,
) -> None:
    """Set a task's percent complete, status, actual dates or owner.

    `--status done` sets 100% and, unless given, the actual finish to today; any progress above 0
    sets the actual start to today if it has none.
    """

    change = records.TaskProgress(percent, status, actual_start, actual_finish, owner)
    t = _run(ctx, lambda c: records.record_task_progress(c, code, task, change))
    _report(t, as_json, f"{code} {t.id} {t.name}: {t.percent_complete:.0f}% {t.status}")


# ------------------------------------------------------------------ risks
RISK_OPTS = [
    click.option("--title"),
    click.option(
        "--category",
        type=click.Choice(
            ["technical", "resource", "schedule", "cost", "scope", "external", "client", "quality", "legal"]
        ),
    ),
    click.option("--description"),
    click.option("--probability", type=click.IntRange(1, 5)),
    click.option("--impact", type=click.IntRange(1, 5)),
    click.option("--strategy", type=click.Choice(["avoid", "mitigate", "transfer", "accept"])),
    click.option("--plan", "response_plan", help="Response plan."),
    click.option("--owner", help="Person or contact id."),
    click.option("--status", type=click.Choice(["open", "closed", "occurred"])),
    click.option("--review-date", type=DATE),
]


def _with(opts: list[Any]) -> Any:
    def deco(f: Any) -> Any:
        for o in reversed(opts):
            f = o(f)
        return f

    return deco


@click.group("risk")
def risk_grp() -> None:
    """Add or update risks."""


@risk_grp.command("add")
@click.argument("code")
@click.option("--id", "risk_id", help="Risk id (default: next R-NNN).")
@_with(RISK_OPTS)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def risk_add(ctx: click.Context, code: str, risk_id: str | None, as_json: bool, **values: Any) -> None:
    """Add a risk to the register."""
    r = _run(ctx, lambda c: records.add_risk(c, code, records.RiskFields(**values), risk_id=risk_id))
    _report(r, as_json, f"{code} {r.id} added: {r.title} (score {r.score})")


@risk_grp.command("update")
@click.argument("code")
@click.argument("risk_id")
@_with(RISK_OPTS)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def risk_update(ctx: click.Context, code: str, risk_id: str, as_json: bool, **values: Any) -> None:
    """Reassess a risk, set its response, owner, status or review date."""
    r = _run(ctx, lambda c: records.update_risk(c, code, risk_id, records.RiskFields(**values)))
    _report(
        r, as_json, f"{code} {r.id}: score {r.score}, {r.strategy or 'no response'}, owner {r.owner or '-'}, {r.status}"
    )


# ------------------------------------------------------------------ issues
@click.group("issue")
def issue_grp() -> None:
    """Raise or resolve issues."""


@issue_grp.command("add")
@click.argument("code")
@click.option("--id", "issue_id")
@click.option("--title", required=True)
@click.option("--severity", type=click.Choice(["low", "medium", "high", "critical"]), default="medium")
@click.option("--blocking", is_flag=True)
@click.option("--owner", default="")
@click.option("--due", type=DATE)
@click.option("--description", default="")
@click.pass_context
@handle_errors
def issue_add(
    ctx: click.Context,
    code: str,
    issue_id: str | None,
    title: str,
    severity: str,
    blocking: bool,
    owner: str,
    due: date | None,
    description: str,
) -> None:
    """Raise an issue."""
    new = records.NewIssue(title, severity, blocking, owner, due, description, issue_id)
    i = _run(ctx, lambda c: records.raise_issue(c, code, new))
    click.echo(f"{code} {i.id} raised: {i.title}{' (blocking)' if i.blocking else ''}")


@issue_grp.command("resolve")
@click.argument("code")
@click.argument("issue_id")
@click.option("--date", "on", type=DATE)
@click.pass_context
@handle_errors
def issue_resolve(ctx: click.Context, code: str, issue_id: str, on: date | None) -> None:
    """Mark an issue resolved."""
    i = _run(ctx, lambda c: records.resolve_issue(c, code, issue_id, on=on))
    click.echo(f"{code} {i.id} resolved on {i.resolved_on}")


# ------------------------------------------------------------------ milestones
@click.group("milestone")
def milestone_grp() -> None:
    """Mark milestones done."""


@milestone_grp.command("done")
@click.argument("code")
@click.argument("milestone")
@click.option("--date", "on", type=DATE, help="Completion date (default today).")
@click.option(
    "--run-flows",
    is_flag=True,
    help="Embedded mode: run the milestone_reached flow in this process (quality checks, "
    "status report, acceptance certificate sent to the client); while the workspace's `pmo serve` runs, "
    "it runs the flow and this command waits for it.",
)
@click.option(
    "--resend-event",
    is_flag=True,
    help="Server mode: emit pmo.milestone.completed again for a milestone already done (its flow did not "
    "run, or crashed); the flow is idempotent.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def milestone_done(
    ctx: click.Context,
    code: str,
    milestone: str,
    on: date | None,
    run_flows: bool,
    resend_event: bool,
    as_json: bool,
) -> None:
    """Record that a milestone is reached.

    With a Prefect server configured (PREFECT_API_URL) this emits the event pmo.milestone.completed
    and the deployment trigger runs milestone_reached on a worker; with --run-flows and no server it
    runs the flow here, or hands it to the workspace's running `pmo serve` and waits. Plain use records
    the milestone only and never imports Prefect. When the event cannot be sent the milestone stays
    done and the command exits 3, saying how to retry.
    """
    done = _run(ctx, lambda c: complete_milestone(c, code, milestone, on=on, resend_event=resend_event))
    result = done.to_dict()
    flow_result = None
    if run_flows and done.event is None:
        flow_result = run_flow(ws_from(ctx), "milestone_reached", {"project": code, "milestone": milestone})
        result["flow"] = flow_result
    if as_json:
        emit_json(result)
    else:
        click.echo(f"{code} {milestone} done on {done.completed_on}")
        for line in done.notes:
            click.echo(f"  {line}")
        for line in summary_lines("milestone_reached", flow_result) if flow_result is not None else []:
            click.echo(f"  {line}")
    if done.event_error:
        raise EventNotSent(done.event_error)


# ------------------------------------------------------------------ costs
@click.group("cost")
def cost_grp() -> None:
    """Book actual costs."""


@cost_grp.command("add")
@click.argument("code")
@click.option("--amount", type=MONEY, required=True)
@click.option(
    "--category",
    type=click.Choice(
        ["labour", "materials", "equipment", "subcontract", "travel", "licences", "contingency", "other"]
    ),
    default="labour",
)
@click.option("--task", default="")
@click.option("--budget-line", default="")
@click.option("--date", "on", type=DATE)
@click.option("--description", default="")
@click.option("--final", is_flag=True, help="Part of the final cost statement.")
@click.option("--id", "cost_id")
@click.pass_context
@handle_errors
def cost_add(
    ctx: click.Context,
    code: str,
    amount: Decimal,
    category: str,
    task: str,
    budget_line: str,
    on: date | None,
    description: str,
    final: bool,
    cost_id: str | None,
) -> None:
    """Book an actual cost."""
    new = records.NewCost(amount, category, task, budget_line, on, description, final, cost_id)
    e = _run(ctx, lambda c: records.book_cost(c, code, new))
    click.echo(f"{code} {e.id} booked: {e.amount} {e.category} on {e.date}")


# ------------------------------------------------------------------ status reports
@click.group("status-report")
def status_grp() -> None:
    """Record a status report."""


@status_grp.command("add")
@click.argument("code")
@click.option("--overall", type=click.Choice(["green", "amber", "red"]), required=True)
@click.option("--schedule", type=click.Choice(["green", "amber", "red"]))
@click.option("--cost", type=click.Choice(["green", "amber", "red"]))
@click.option("--scope", type=click.Choice(["green", "amber", "red"]))
@click.option("--summary", required=True)
@click.option("--period-start", type=DATE, help="Default: 14 days before the report date.")
@click.option("--period-end", type=DATE, help="Default: the report date.")
@click.option("--date", "on", type=DATE)
@click.option("--audience", type=click.Choice(["team", "client"]), default="client")
@click.option("--done", "accomplishments", multiple=True, help="An accomplishment (repeat).")
@click.option("--next", "next_steps", multiple=True, help="A next step (repeat).")
@click.option("--decision", "decisions", multiple=True, help="A decision needed from the client (repeat).")
@click.option("--id", "report_id")
@click.pass_context
@handle_errors
def status_add(
    ctx: click.Context,
    code: str,
    overall: str,
    schedule: str | None,
    cost: str | None,
    scope: str | None,
    summary: str,
    period_start: date | None,
    period_end: date | None,
    on: date | None,
    audience: str,
    accomplishments: tuple[str, ...],
    next_steps: tuple[str, ...],
    decisions: tuple[str, ...],
    report_id: str | None,
) -> None:
    """Record a periodic status report for the team or the client."""
    new = records.NewStatusReport(
        overall,
        summary,
        schedule,
        cost,
        scope,
        period_start,
        period_end,
        on,
        audience,
        accomplishments,
        next_steps,
        decisions,
        report_id,
    )
    r = _run(ctx, lambda c: records.add_status_report(c, code, new))
    click.echo(f"{code} {r.id} recorded ({r.overall}) for {r.period_start} – {r.period_end}")


# ------------------------------------------------------------------ client feedback
@click.group("feedback")
def feedback_grp() -> None:
    """Record client feedback and satisfaction surveys."""


@feedback_grp.command("add")
@click.argument("code")
@click.option("--contact", required=True, help="Client contact id.")
@click.option("--rating", type=click.IntRange(1, 5), required=True)
@click.option("--comment", default="")
@click.option("--report", "status_report", default="", help="Status report the feedback is about.")
@click.option("--date", "on", type=DATE)
@click.pass_context
@handle_errors
def feedback_add(
    ctx: click.Context, code: str, contact: str, rating: int, comment: str, status_report: str, on: date | None
) -> None:
    """Record the client's feedback on a report or meeting."""
    new = records.NewFeedback(contact, rating, comment, status_report, on)
    f = _run(ctx, lambda c: records.record_feedback(c, code, new))
    click.echo(f"{code} {f.id} recorded: {f.rating}/5")


@feedback_grp.command("survey")
@click.argument("code")
@click.option("--contact", required=True)
@click.option("--csat", type=click.IntRange(1, 5))
@click.option("--nps", type=click.IntRange(0, 10))
@click.option("--comment", default="")
@click.option("--date", "on", type=DATE)
@click.pass_context
@handle_errors
def feedback_survey(
    ctx: click.Context, code: str, contact: str, csat: int | None, nps: int | None, comment: str, on: date | None
) -> None:
    """Record a satisfaction survey (CSAT 1-5 and/or NPS 0-10)."""
    new = records.NewSurvey(contact, csat, nps, comment, on)
    s = _run(ctx, lambda c: records.record_survey(c, code, new))
    click.echo(
        f"{code} {s.id} recorded: CSAT {s.csat if s.csat is not None else '-'}, "
        f"NPS {s.nps if s.nps is not None else '-'}"
    )


# ------------------------------------------------------------------ change requests
@click.group("change")
def change_grp() -> None:
    """Raise and decide change requests."""


@change_grp.command("add")
@click.argument("code")
@click.option("--title", required=True)
@click.option("--description", default="")
@click.option("--by", "requested_by", default="", help="Person or contact id who asks.")
@click.option("--scope-impact", default="")
@click.option("--schedule-days", type=float, default=0.0)
@click.option("--cost", "cost_impact", type=float, default=0.0, help="Cost impact (may be negative).")
@click.option("--replan", is_flag=True, help="Approval sends the project back to planning.")
@click.option("--id", "cr_id")
@click.pass_context
@handle_errors
def change_add(
    ctx: click.Context,
    code: str,
    title: str,
    description: str,
    requested_by: str,
    scope_impact: str,
    schedule_days: float,
    cost_impact: float,
    replan: bool,
    cr_id: str | None,
) -> None:
    """Raise a change request."""
    new = records.NewChange(title, description, requested_by, scope_impact, schedule_days, cost_impact, replan, cr_id)
    cr = _run(ctx, lambda c: records.raise_change(c, code, new))
    click.echo(f"{code} {cr.id} raised: {cr.title}")


@change_grp.command("decide")
@click.argument("code")
@click.argument("cr_id")
@click.option("--approve/--reject", "approve", required=True)
@click.option("--by", "decided_by", required=True, help="Person or contact id who decided.")
@click.option("--date", "on", type=DATE)
@click.pass_context
@handle_errors
def change_decide(ctx: click.Context, code: str, cr_id: str, approve: bool, decided_by: str, on: date | None) -> None:
    """Approve or reject a change request."""

    cr = _run(ctx, lambda c: records.decide_change(c, code, cr_id, approve=approve, decided_by=decided_by, on=on))
    click.echo(f"{code} {cr.id} {cr.status} by {cr.decided_by} on {cr.decided_on}")

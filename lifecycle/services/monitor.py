"""Portfolio monitoring: the health of every active project, alerts, and the milestone status report.

``portfolio_health`` recomputes, for each project in an *active* phase (the rule pack's phase kinds;
projects on hold, closed or cancelled are skipped): progress against plan, overdue tasks and
milestones, budget use against progress, risks past their review date and days since the last status
report. Each finding becomes an ``alert`` system record keyed ``<date>:<kind>`` so a monitor run twice
on one day records each alert once; the alert names its owners (the project manager, risk owners, task
owners) and is posted to the webhook once, when one is configured.

Thresholds come from the charter (``schedule_tolerance_pct``, ``cost_tolerance_pct``) and, for the
status-report interval, from ``PMO_STATUS_REPORT_DAYS`` (default 14).

``record_milestone_report`` writes the status report a reached milestone calls for, with an id derived
from the milestone so a second run changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from lifecycle.domain.metrics import project_metrics
from lifecycle.domain.model import AuditEvent, Project, Rag, StatusReport
from lifecycle.errors import DeliveryError
from lifecycle.services.context import Context
from lifecycle.services.delivery import notify
from lifecycle.services.projects import get_item, load_rules, update_project, upsert
from lifecycle.storage.protocol import RECORD_SCHEMA_VERSION, Record

ALERT = "alert"


def active_codes(ctx: Context) -> list[str]:
    """Codes of projects in a phase of kind ``active`` in the rule pack (no phase names in code)."""
    kinds = {p.id: p.kind for p in load_rules(ctx).lifecycle.phases}
    return [s.code for s in ctx.store.list_projects() if kinds.get(s.phase, "active") == "active"]


def _who(project: Project, pid: str) -> dict[str, str]:
    person = project.index("people").get(pid) or project.index("contacts").get(pid)
    if person is None:
        return {"id": pid, "name": pid, "email": ""}
    return {"id": pid, "name": person.name, "email": person.email}


def _owners(project: Project, ids: Iterable[str]) -> list[dict[str, str]]:
    seen: list[str] = []
    for pid in ids:
        if pid and pid not in seen:
            seen.append(pid)
    return [_who(project, pid) for pid in seen]


def compute_alerts(
    project: Project, today: date, metrics: Mapping[str, Any] | None = None, *, status_report_days: int = 14
) -> list[dict[str, Any]]:
    """The alerts for one project as of ``today`` (pure: no storage)."""
    m = dict(metrics if metrics is not None else project_metrics(project, today))
    ch = project.charter
    pm = ch.project_manager
    alerts: list[dict[str, Any]] = []

    def add(kind: str, severity: str, message: str, evidence: Sequence[str], owners: Iterable[str]) -> None:
        alerts.append(
            {
                "kind": kind,
                "severity": severity,
                "message": message,
                "evidence": list(evidence),
                "owners": _owners(project, owners),
            }
        )

    gap = float(m["planned_progress_pct"]) - float(m["progress_pct"])
    tol = float(ch.schedule_tolerance_pct)
    if gap > tol:
        add(
            "behind_schedule",
            "red" if gap > 2 * tol else "amber",
            f"progress {m['progress_pct']:.1f}% against {m['planned_progress_pct']:.1f}% planned "
            f"({gap:.1f} points behind, tolerance {tol:g})",
            [],
            [pm],
        )

    tasks = project.index("tasks")
    overdue = list(m["overdue_tasks"])
    if overdue:
        add(
            "overdue_tasks",
            "red" if len(overdue) >= 3 else "amber",
            f"{len(overdue)} task(s) past their finish date: {', '.join(overdue[:10])}",
            overdue,
            [pm, *(tasks[t].owner for t in overdue if t in tasks)],
        )

    late_ms = [ms.id for ms in project.milestones if ms.status == "planned" and ms.date < today]
    if late_ms:
        add(
            "overdue_milestones",
            "red",
            f"milestone(s) past their date and not done: {', '.join(late_ms)}",
            late_ms,
            [pm],
        )

    budget = float(m["budget_total"]) or float(m["approved_budget"])
    cost = float(m["cost_actual"])
    ctol = float(ch.cost_tolerance_pct)
    if budget > 0 and cost > budget:
        add("over_budget", "red", f"actual cost {cost:,.2f} exceeds the budget {budget:,.2f} {ch.currency}", [], [pm])
    elif budget > 0:
        spent = 100.0 * cost / budget
        if spent > float(m["progress_pct"]) + ctol:
            add(
                "budget_burn",
                "amber",
                f"{spent:.1f}% of the budget spent for {m['progress_pct']:.1f}% progress (tolerance {ctol:g} points)",
                [],
                [pm],
            )

    risks = project.index("risks")
    past = list(m["risks_past_review"])
    if past:
        add(
            "risks_past_review",
            "amber",
            f"{len(past)} open risk(s) past their review date: {', '.join(past[:10])}",
            past,
            [*(risks[r].owner for r in past if r in risks), pm],
        )

    limit = status_report_days
    days = int(m["days_since_status_report"])
    if days < 0:
        started = ch.start is not None and ch.start <= today
        if started:
            add("no_status_report", "amber", "no status report recorded since the project started", [], [pm])
    elif days > limit:
        add(
            "stale_status_report",
            "amber",
            f"last status report {days} days ago (expected every {limit} days)",
            [],
            [pm],
        )
    return alerts


def rag_of(alerts: Sequence[Mapping[str, Any]]) -> str:
    """A project's RAG status from its alerts: red if any alert is red, amber if there is any, else green."""
    return "red" if any(a["severity"] == "red" for a in alerts) else "amber" if alerts else "green"


def project_health(ctx: Context, code: str) -> dict[str, Any]:
    """Health figures and alerts of one project; new alerts are recorded (once per kind and day)."""
    project = ctx.store.get(code)
    today = ctx.today()
    m = project_metrics(project, today)
    alerts = compute_alerts(project, today, m, status_report_days=ctx.workspace.runtime.status_report_days)
    new_records = []
    for a in alerts:
        key = f"{today.isoformat()}:{a['kind']}"
        a["key"] = key
        a["project"] = code
        a["date"] = today.isoformat()
        a["new"] = ctx.store.get_record(code, ALERT, key) is None
        if a["new"]:
            new_records.append(
                Record(
                    code,
                    ALERT,
                    key,
                    {"schema_version": RECORD_SCHEMA_VERSION, **{k: v for k, v in a.items() if k != "new"}},
                )
            )
    if new_records:
        ctx.store.add_records(
            code,
            new_records,
            events=[
                AuditEvent(
                    code,
                    "alerts.raised",
                    ctx.actor,
                    ctx.now(),
                    "alert",
                    today.isoformat(),
                    {"kinds": [r.data["kind"] for r in new_records]},
                )
            ],
        )
    rag = rag_of(alerts)
    return {
        "project": code,
        "name": project.charter.name,
        "phase": project.phase,
        "date": today.isoformat(),
        "health": rag,
        "progress_pct": m["progress_pct"],
        "planned_progress_pct": m["planned_progress_pct"],
        "overdue_tasks": m["overdue_task_count"],
        "budget_total": m["budget_total"],
        "cost_actual": m["cost_actual"],
        "budget_spent_pct": m["budget_spent_pct"],
        "risks_past_review": list(m["risks_past_review"]),
        "days_since_status_report": m["days_since_status_report"],
        "alerts": alerts,
    }


HEALTH_FIELDS = (
    "project",
    "name",
    "phase",
    "health",
    "progress_pct",
    "planned_progress_pct",
    "overdue_tasks",
    "budget_spent_pct",
    "days_since_status_report",
)


def health_row(health: Mapping[str, Any]) -> dict[str, Any]:
    """One project's line of the portfolio monitor's result: its figures and its alerts in words."""
    row = {k: health[k] for k in HEALTH_FIELDS}
    row["alerts"] = [f"{a['severity']}: {a['message']}" for a in health["alerts"]]
    return row


def alert_payload(alert: Mapping[str, Any]) -> dict[str, Any]:
    """What is posted for an alert (stable, so the notification is sent once)."""
    return {
        "key": alert["key"],
        "kind": alert["kind"],
        "severity": alert["severity"],
        "message": alert["message"],
        "evidence": list(alert["evidence"]),
        "owners": list(alert["owners"]),
        "to": [o["name"] for o in alert["owners"]],
    }


def notify_alerts(ctx: Context, health: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Post each alert of ``health`` to the webhook (once per alert); raises DeliveryError on failure."""
    return [notify(ctx, str(health["project"]), "portfolio.alert", alert_payload(a)) for a in health["alerts"]]


def portfolio_health(ctx: Context, *, notify: bool = True) -> list[dict[str, Any]]:
    """Health of every active project; alerts recorded, owners notified through the webhook if set.

    A notification that fails is reported in the project's ``notify_error`` (and recorded as failed)
    without stopping the other projects; the ``portfolio_monitor`` flow retries it instead.
    """
    out = []
    for code in active_codes(ctx):
        health = project_health(ctx, code)
        if notify:
            try:
                notify_alerts(ctx, health)
            except DeliveryError as exc:
                health["notify_error"] = str(exc)
        out.append(health)
    return out


# ------------------------------------------------------------------ milestone status report
def record_milestone_report(
    ctx: Context, code: str, milestone: str, checks: Sequence[Mapping[str, Any]] = ()
) -> StatusReport:
    """The status report of a reached milestone (id ``SR-<milestone>``), written once.

    Its date is the milestone's completion date, its RAG comes from the health alerts and the quality
    results given in ``checks`` (``result`` per check), so a second run writes nothing new.
    """
    project = ctx.store.get(code)
    ms = get_item(project, "milestones", milestone)
    day = ms.completed_on or ctx.today()
    m = project_metrics(project, day)
    alerts = compute_alerts(project, day, m, status_report_days=ctx.workspace.runtime.status_report_days)
    kinds = {a["kind"]: a["severity"] for a in alerts}

    def worst(*names: str) -> Rag:
        sev = [kinds[n] for n in names if n in kinds]
        return "red" if "red" in sev else "amber" if sev else "green"

    failed = [c for c in checks if c.get("result") == "fail"]
    schedule = worst("behind_schedule", "overdue_tasks", "overdue_milestones")
    cost = worst("over_budget", "budget_burn")
    scope: Rag = "amber" if failed else "green"
    order = {"green": 0, "amber": 1, "red": 2}
    overall = max((schedule, cost, scope), key=lambda r: order[r])
    previous = [r for r in project.status_reports if r.date <= day and not r.id.startswith(f"SR-{milestone}")]
    start = max((r.period_end for r in previous), default=project.charter.start or day - timedelta(days=14))
    start = min(start, day)
    passed = sum(1 for c in checks if c.get("result") == "pass")
    summary = (
        f"Milestone {ms.id} ({ms.name}) reached on {day.isoformat()}: progress {m['progress_pct']:.1f}% "
        f"(planned {m['planned_progress_pct']:.1f}%), {passed}/{len(checks)} quality checks passed."
    )
    names = project.index("deliverables")
    accomplishments = (f"Milestone reached: {ms.name}",) + tuple(
        f"Quality checks run on {d} ({names[d].name})" for d in ms.deliverables if d in names
    )
    next_steps = tuple(
        f"Fix {c.get('deliverable')}: {c.get('standard')} ({c.get('evidence', '')})"[:300] for c in failed
    )
    if ms.kind == "acceptance" and not failed:
        next_steps += ("Client signs the acceptance certificate",)
    report = StatusReport(
        id=f"SR-{ms.id}",
        date=day,
        period_start=start,
        period_end=day,
        author=project.charter.project_manager,
        audience="client",
        overall=overall,
        schedule=schedule,
        cost=cost,
        scope=scope,
        summary=summary,
        accomplishments=accomplishments,
        next_steps=next_steps,
        decisions_needed=tuple(a["message"] for a in alerts if a["severity"] == "red")[:5],
    )
    existing = project.index("status_reports").get(report.id)
    if existing == report:
        return report
    update_project(
        ctx,
        code,
        lambda p: upsert(p, "status_reports", report),
        action="status_report.recorded",
        entity="status_reports",
        entity_id=report.id,
        data={"milestone": ms.id},
    )
    return report

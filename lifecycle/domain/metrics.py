"""Computed project figures for gate facts, ``pmo show`` and reports.

``project_metrics(project, today)`` returns a flat mapping of named figures; ``METRICS`` documents
each name's type and meaning (it is published in the facts JSON Schema). The schedule and earned
value modules add their figures here, so gate rules see one ``metrics`` object.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from lifecycle.domain.model import Project

# name -> (type, description); types: int, double, string, bool, date (ISO text), list
METRICS: dict[str, tuple[str, str]] = {
    "task_count": ("int", "Number of tasks"),
    "leaf_task_count": ("int", "Number of leaf (work) tasks"),
    "progress_pct": ("double", "Effort-weighted percent complete of leaf tasks (duration-weighted if no effort)"),
    "planned_progress_pct": ("double", "Percent of leaf-task effort planned to be complete by today"),
    "overdue_task_count": ("int", "Leaf tasks past their finish date and not done"),
    "overdue_tasks": ("list", "Ids of overdue leaf tasks"),
    "budget_total": ("double", "Sum of budget lines"),
    "approved_budget": ("double", "Approved budget from the charter"),
    "cost_actual": ("double", "Sum of booked costs"),
    "budget_spent_pct": ("double", "cost_actual / budget_total in percent (0 if no budget)"),
    "open_risk_count": ("int", "Risks with status open"),
    "high_risk_count": ("int", "Open risks with score >= 15"),
    "risk_exposure": ("double", "Sum of probability x impact over open risks"),
    "risks_past_review": ("list", "Ids of open risks whose review date has passed"),
    "open_issue_count": ("int", "Issues not resolved or closed"),
    "blocking_issue_count": ("int", "Open issues marked blocking"),
    "days_since_status_report": ("int", "Days since the latest status report (-1 if none)"),
    "pending_change_requests": ("int", "Change requests still proposed"),
}


def _money(v: Decimal) -> float:
    return float(v)


def project_metrics(project: Project, today: date) -> dict[str, Any]:
    leaves = project.leaf_tasks()

    def weight(t: Any) -> float:
        if t.effort_hours:
            return float(t.effort_hours)
        if t.duration_days:
            return float(t.duration_days)
        if t.start and t.finish:
            return float((t.finish - t.start).days + 1)
        return 1.0

    active = [t for t in leaves if t.status != "cancelled"]
    total_w = sum(weight(t) for t in active) or 1.0
    progress = sum(weight(t) * (100.0 if t.status == "done" else t.percent_complete) for t in active) / total_w
    planned = 0.0
    for t in active:
        if t.start and t.finish:
            if today >= t.finish:
                share = 1.0
            elif today < t.start:
                share = 0.0
            else:
                share = ((today - t.start).days + 1) / ((t.finish - t.start).days + 1)
            planned += weight(t) * share
    overdue = [t.id for t in active if t.finish and t.finish < today and t.status != "done"]
    budget_total = sum((b.amount for b in project.budget), Decimal(0))
    cost_actual = sum((c.amount for c in project.costs), Decimal(0))
    open_risks = [r for r in project.risks if r.status == "open"]
    reports = sorted(project.status_reports, key=lambda r: r.date)
    return {
        "task_count": len(project.tasks),
        "leaf_task_count": len(leaves),
        "progress_pct": round(progress, 2),
        "planned_progress_pct": round(100.0 * planned / total_w, 2),
        "overdue_task_count": len(overdue),
        "overdue_tasks": overdue,
        "budget_total": _money(budget_total),
        "approved_budget": _money(project.charter.approved_budget),
        "cost_actual": _money(cost_actual),
        "budget_spent_pct": round(100.0 * float(cost_actual) / float(budget_total), 2) if budget_total else 0.0,
        "open_risk_count": len(open_risks),
        "high_risk_count": sum(1 for r in open_risks if r.score >= 15),
        "risk_exposure": float(sum(r.score for r in open_risks)),
        "risks_past_review": [r.id for r in open_risks if r.review_date and r.review_date < today],
        "open_issue_count": sum(1 for i in project.issues if i.status in ("open", "in_progress")),
        "blocking_issue_count": sum(1 for i in project.issues if i.blocking and i.status in ("open", "in_progress")),
        "days_since_status_report": (today - reports[-1].date).days if reports else -1,
        "pending_change_requests": sum(1 for c in project.change_requests if c.status == "proposed"),
    }

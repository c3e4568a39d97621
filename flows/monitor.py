"""The ``portfolio_monitor`` flow: the health of every active project, on a schedule.

For each project in an active phase: recompute health (progress against plan, overdue tasks and
milestones, budget, risks past review, days since the last status report), record its alerts (once
per kind and day) and post each alert to the webhook with its owners (once per alert; retried).
``prefect.yaml`` schedules it on weekday mornings.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.common import label_run, log, notify_task, publish_table, run_name, service_context
from lifecycle.services import artifacts, monitor


@task(name="active-projects", cache_policy=NO_CACHE)
async def active_projects_task() -> list[str]:
    with service_context() as ctx:
        return monitor.active_codes(ctx)


@task(name="project-health", cache_policy=NO_CACHE)
async def health_task(project: str) -> dict[str, Any]:
    with service_context() as ctx:
        health = monitor.project_health(ctx, project)
    log().info("%s: %s, %d alert(s)", project, health["health"], len(health["alerts"]))
    return health


@flow(name="portfolio-monitor", flow_run_name=run_name("portfolio-monitor"))
async def portfolio_monitor() -> dict[str, Any]:
    """Health and alerts of every active project; owners notified through the webhook if configured."""
    await label_run("portfolio-monitor", {})
    projects = []
    for code in await active_projects_task():
        health = await health_task(code)
        for alert in health["alerts"]:
            await notify_task(code, "portfolio.alert", monitor.alert_payload(alert))
        projects.append(monitor.health_row(health))
    alerts = artifacts.alerts_table(projects)
    if alerts:
        await publish_table(
            artifacts.artifact_key("portfolio", "alerts"),
            alerts,
            f"{len(alerts)} alert(s) in {len(projects)} project(s)",
        )
    return {"projects": projects, "alerts": sum(len(p["alerts"]) for p in projects)}

"""The ``milestone_reached`` flow: what happens when a project reaches a milestone.

Steps (each a task): the quality checks of the milestone's deliverables (results and improvement
actions recorded), the milestone's status report, and for an **acceptance** milestone whose checks
have no ``fail`` (``conditional`` results appear on the certificate as open items) the acceptance
certificate, issued and e-mailed to the client representative. A webhook notification closes it.
Whether the certificate is issued is decided by :func:`lifecycle.services.milestones.acceptance_verdict`.

Run it twice and nothing is duplicated: checks and the report have stable ids, the certificate is
reused while the project data is unchanged, and the e-mail is sent once per document and recipient.
In server mode the deployment trigger on ``pmo.milestone.completed`` starts it with the event's payload.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.common import (
    delivery_settings_task,
    ensure_document_task,
    label_run,
    log,
    notify_task,
    publish_table,
    run_name,
    send_document_task,
    service_context,
)
from lifecycle.services import artifacts, milestones
from lifecycle.services.monitor import record_milestone_report
from lifecycle.services.quality import check_summary, run_quality_checks


@task(name="milestone", cache_policy=NO_CACHE)
async def milestone_task(project: str, milestone: str) -> dict[str, Any]:
    with service_context() as ctx:
        return milestones.reached_milestone(ctx, project, milestone).to_dict()


@task(name="quality-checks", cache_policy=NO_CACHE)
async def quality_task(project: str, deliverables: list[str] | None) -> list[dict[str, Any]]:
    with service_context() as ctx:
        checks = [check_summary(c) for c in run_quality_checks(ctx, project, deliverables)]
    failed = [c for c in checks if c["id"] in milestones.tally_checks(checks).failed]
    log().info(
        "%d quality check(s), %d failed%s",
        len(checks),
        len(failed),
        "".join(f"\n  ✗ {c['deliverable']} {c['standard']}: {c['evidence']}" for c in failed),
    )
    if checks:
        summary = f"{project}: {len(checks)} quality check(s), {len(failed)} failed"
        await publish_table(artifacts.artifact_key("quality", project), artifacts.quality_table(checks), summary)
    return checks


@task(name="status-report", cache_policy=NO_CACHE)
async def status_report_task(project: str, milestone: str, checks: list[dict[str, Any]]) -> dict[str, Any]:
    with service_context() as ctx:
        report = record_milestone_report(ctx, project, milestone, checks)
    log().info("status report %s: overall %s", report.id, report.overall)
    return {"id": report.id, "overall": report.overall, "summary": report.summary}


@task(name="acceptance-verdict", cache_policy=NO_CACHE)
async def acceptance_task(ms: dict[str, Any], checks: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether the acceptance certificate is issued (an acceptance milestone with no failed check)."""
    reached = milestones.ReachedMilestone(**{**ms, "deliverables": tuple(ms["deliverables"])})
    tally = milestones.tally_checks(checks)
    return {**asdict(milestones.acceptance_verdict(reached, tally)), **asdict(tally)}


@flow(name="milestone-reached", flow_run_name=run_name("milestone-reached"))
async def milestone_reached(project: str, milestone: str) -> dict[str, Any]:
    """Quality checks, status report and (acceptance milestones) the acceptance certificate, sent."""
    await label_run("milestone-reached", {"project": project, "milestone": milestone})
    ms = await milestone_task(project, milestone)
    checks = await quality_task(project, ms["deliverables"])
    report = await status_report_task(project, milestone, checks)
    verdict = await acceptance_task(ms, checks)
    result: dict[str, Any] = {
        "project": project,
        "milestone": milestone,
        "kind": ms["kind"],
        "checks": checks,
        "failed": list(verdict["failed"]),
        "status_report": report["id"],
        "document": None,
        "delivery": None,
    }
    if verdict["withheld"]:
        result["acceptance"] = verdict["withheld"]
        log().warning("acceptance certificate withheld: %s", ", ".join(result["failed"]))
    elif verdict["issue"]:
        await delivery_settings_task(project, f"acceptance certificate {milestone}")
        doc = await ensure_document_task(project, "acceptance", milestone=milestone)
        result["document"] = doc
        result["delivery"] = await send_document_task(project, doc["id"])
        result["acceptance"] = "sent" if result["delivery"].get("status") == "sent" else "issued"
    await notify_task(
        project,
        "milestone.reached",
        {
            "milestone": milestone,
            "passed": verdict["passed"],
            "total": verdict["total"],
            "failed": result["failed"],
            "document": result["document"]["number"] if result["document"] else "",
        },
    )
    return result

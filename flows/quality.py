"""The ``quality_checks`` flow: run the rule pack's quality standards on a project's deliverables.

One task around :func:`lifecycle.services.quality.run_quality_checks`; results and improvement actions
are recorded with stable ids, so a repeated run records nothing new.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import label_run, run_name
from flows.milestone import quality_task
from lifecycle.services.milestones import tally_checks


@flow(name="quality-checks", flow_run_name=run_name("quality-checks"))
async def quality_checks(project: str, deliverables: list[str] | None = None) -> dict[str, Any]:
    """Run and record the quality checks of ``deliverables`` (default: every deliverable)."""
    await label_run("quality-checks", {"project": project, "deliverables": deliverables})
    checks = await quality_task(project, deliverables)
    tally = tally_checks(checks)
    return {"project": project, "checks": checks, "failed": list(tally.failed), "conditional": list(tally.conditional)}

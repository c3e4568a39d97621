"""The status report of a plan with three-point estimates carries its Monte Carlo schedule risk (P50/P80/
P95 dates on the project calendar, the most critical tasks, the histogram); a plan without estimates
for the remaining work carries none; the figures are seeded, so a repeated report finds the same one."""

from __future__ import annotations

import subprocess
from dataclasses import replace

from lifecycle.services.delivery import ensure_document
from lifecycle.services.scheduling import status_report_risk
from tests.documents.conftest import SCENARIOS, make_ctx, needs_tools
from tests.documents.samples import in_execution, load_sample

pytestmark = needs_tools


def test_status_report_prints_the_simulated_finish(tmp_path) -> None:
    _, today = SCENARIOS["status"]
    p = in_execution(load_sample("en"), today)
    ctx = make_ctx(tmp_path / "ws", p, today=today)
    doc, issued = ensure_document(ctx, p.code, "status")
    risk = doc.record["schedule_risk"]
    assert issued and risk == status_report_risk(p, today) and risk["estimated_tasks"] == 4
    text = subprocess.run(["pdftotext", doc.path, "-"], capture_output=True, text=True, check=True).stdout
    assert "Schedule risk (Monte Carlo simulation)" in text and "Finish P80" in text
    assert "4 tasks, 5,000 runs" in " ".join(text.split())
    again, issued = ensure_document(ctx, p.code, "status")
    assert not issued and again.id == doc.id  # seeded: the same figures, the same document


def test_no_estimates_left_no_section(tmp_path) -> None:
    _, today = SCENARIOS["status"]
    p = in_execution(load_sample("en"), today)
    p = replace(p, tasks=tuple(replace(t, optimistic_days=None, pessimistic_days=None) for t in p.tasks))
    ctx = make_ctx(tmp_path / "ws", p, today=today)
    doc, _ = ensure_document(ctx, p.code, "status")
    assert "schedule_risk" not in doc.record

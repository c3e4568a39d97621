"""The portfolio's rows: one line of figures per project (phase, RAG, progress, SPI/CPI, high risks, next
milestone), kept as derived data per project version, audit head and day so a page or a roll-up of a
thousand projects computes only the projects that changed. The portfolio page and the Excel roll-up
read the same rows. Kept apart from :mod:`lifecycle.services.portfolio`, whose gate sweep runs in
``pmo gate check`` and should not import the alert and delivery modules these rows need.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from typing import Any

from lifecycle.domain.metrics import project_metrics
from lifecycle.domain.model import Project
from lifecycle.services.context import Context
from lifecycle.services.monitor import compute_alerts, rag_of
from lifecycle.services.portfolio import BATCH, engine_fingerprint
from lifecycle.storage.protocol import ProjectSummary

ROW = "portfolio_row"  # the kind of derived data holding each project's portfolio row
ROW_VERSION = 1


def _row_key(s: ProjectSummary, today: date) -> str:
    text = f"{ROW_VERSION}|{engine_fingerprint()}|{s.code}|{s.version}|{s.audit_head}|{today}"
    return hashlib.sha256(text.encode()).hexdigest()


def emails_of(project: Project) -> list[str]:
    """Lower-case e-mails of the project's people and contacts (who may hold a role in it)."""
    everyone: list[Any] = [*project.people, *project.contacts]
    return sorted({str(x.email).strip().lower() for x in everyone if x.email})


def row_data(project: Project, today: date) -> dict[str, Any]:
    m = project_metrics(project, today)
    alerts = compute_alerts(project, today, m)
    rag = rag_of(alerts)
    upcoming = sorted((ms for ms in project.milestones if ms.status != "done"), key=lambda ms: ms.date)
    return {
        "name": project.charter.name,
        "client": project.charter.client.name,
        "phase": project.phase,
        "rag": rag,
        "progress": float(m["progress_pct"]),
        "spi": float(m["spi"]),
        "cpi": float(m["cpi"]),
        "high_risks": int(m["high_risk_count"]),  # open risks scoring 15 or more
        "milestone": upcoming[0].name if upcoming else "",
        "milestone_date": upcoming[0].date.isoformat() if upcoming else "",
        "emails": emails_of(project),
    }


def project_rows(ctx: Context, summaries: Sequence[ProjectSummary]) -> dict[str, dict[str, Any]]:
    """Each project's row data, from the cache or computed (and cached) for changed projects."""
    today = ctx.today()
    keys = {s.code: _row_key(s, today) for s in summaries}
    out = {code: entry for code, (_, entry) in ctx.store.derived(ROW, keys).items()}
    missing = [c for c in keys if c not in out]
    for i in range(0, len(missing), BATCH):
        fresh = {}
        for p in ctx.store.get_many(missing[i : i + BATCH]):
            out[p.code] = row_data(p, today)
            fresh[p.code] = (keys[p.code], out[p.code])
        ctx.store.put_derived(ROW, fresh)
    return out

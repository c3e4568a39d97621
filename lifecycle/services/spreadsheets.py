"""Spreadsheet use cases: a project's plan and registers exported to Excel and imported back, and the
PMO's portfolio roll-up as a workbook (see :mod:`lifecycle.load.xlsx` for the sheets).

Importing upserts by id, as the CSV import does: a task, risk or deliverable of the workbook replaces
the stored one with that id, others are added, stored items the workbook does not list stay. With a
``Predecessors`` column, the links into the workbook's tasks are replaced by the ones it lists. The
merged project is validated as a whole (references, cycles) before anything is saved, in one
transaction with one audit event. Exporting and importing the same workbook changes nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from lifecycle.domain.metrics import project_metrics
from lifecycle.domain.model import AuditEvent, Project
from lifecycle.load.xlsx import WorkbookRows, read_project_workbook, write_portfolio_workbook, write_project_workbook
from lifecycle.services.analytics import _check
from lifecycle.services.context import Context
from lifecycle.services.monitor import compute_alerts
from lifecycle.services.portfolio import sweep


@dataclass
class WorkbookImport:
    code: str
    file: str
    added: dict[str, list[str]] = field(default_factory=dict)
    updated: dict[str, list[str]] = field(default_factory=dict)
    links: int | None = None
    version: int = 0
    changed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def export_workbook(ctx: Context, code: str, lang: str | None = None) -> bytes:
    """The project's workbook in ``lang`` (default: the project's own language)."""
    project = ctx.store.get(code)
    return write_project_workbook(project, lang or _lang(project))


def _lang(project: Project) -> str:
    return "zh" if project.charter.locale.lower().startswith("zh") else "en"


def _merge(cur: Project, kind: str, items: list[Any], res: WorkbookImport) -> Project:
    existing = {x.id for x in cur.section(kind)}
    incoming = {x.id: x for x in items}
    merged = [incoming.pop(x.id) if x.id in incoming else x for x in cur.section(kind)]
    merged += [x for x in items if x.id in incoming]
    res.added[kind] = [x.id for x in items if x.id not in existing]
    res.updated[kind] = [x.id for x in items if x.id in existing]
    changes: dict[str, Any] = {kind: tuple(merged)}
    return replace(cur, **changes)


def _merged(cur: Project, rows: WorkbookRows, res: WorkbookImport) -> Project:
    new = cur
    for kind in ("tasks", "risks", "deliverables"):
        items = getattr(rows, kind)
        if items is not None:
            new = _merge(new, kind, items, res)
    if rows.tasks is not None and rows.links is not None:
        ids = {t.id for t in rows.tasks}
        kept = tuple(lk for lk in new.links if lk.successor not in ids)
        new = replace(new, links=kept + tuple(rows.links))
        res.links = len(rows.links)
    return new


def import_workbook(ctx: Context, code: str, path: str | Path) -> WorkbookImport:
    """Upsert the workbook's tasks, risks and deliverables into ``code``; all problems or nothing."""
    rows = read_project_workbook(path)
    cur = ctx.store.get(code)
    res = WorkbookImport(code, str(path))
    new = _merged(cur, rows, res)
    lines = {rid: row for (kind, rid), row in rows.rows.items() if kind == "tasks"}
    _check(new, str(path), lines, ctx.today())
    res.changed = new != cur
    if not res.changed:
        res.version = cur.version
        return res
    data = {"source": str(path), "format": "xlsx", "added": res.added, "updated": res.updated, "links": res.links}
    ev = AuditEvent(code, "workbook.imported", ctx.actor, ctx.now(), "project", code, data)
    res.version = ctx.store.save(new, expected_version=cur.version, events=[ev]).version
    return res


def export_portfolio_workbook(ctx: Context, lang: str = "en") -> bytes:
    """Every project's roll-up row (phase, RAG, next gate and its decision, SPI/CPI, risks, milestone).

    Reads only: the next-gate decisions come from the sweep (and its cache), the rest from each
    project's metrics as of today; no alert is recorded and nothing is written.
    """
    decisions = {d.project: d for d in sweep(ctx)}
    rows = [_portfolio_row(ctx, s.code, decisions.get(s.code)) for s in ctx.store.list_projects()]
    return write_portfolio_workbook(rows, lang)


def _portfolio_row(ctx: Context, code: str, decision: Any) -> dict[str, Any]:
    project = ctx.store.get(code)
    today = ctx.today()
    m = project_metrics(project, today)
    alerts = compute_alerts(project, today, m)
    rag = "red" if any(a["severity"] == "red" for a in alerts) else "amber" if alerts else "green"
    upcoming = sorted((ms.date, ms.name) for ms in project.milestones if ms.date >= today)
    return {
        "code": code,
        "name": project.charter.name,
        "client": project.charter.client.name,
        "phase": project.phase,
        "rag": rag,
        "next_gate": f"{decision.from_phase} → {decision.to_phase}" if decision else "",
        "decision": decision.decision if decision else "",
        "spi": m.get("spi"),
        "cpi": m.get("cpi"),
        "high_risks": m.get("high_risk_count"),
        "next_milestone": upcoming[0][1] if upcoming else "",
        "next_milestone_date": upcoming[0][0] if upcoming else None,
    }

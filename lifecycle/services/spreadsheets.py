"""Spreadsheet use cases: a project's plan and registers exported to Excel and imported back, and the
PMO's portfolio roll-up as a workbook (see :mod:`lifecycle.load.xlsx` for the sheets).

Importing upserts by id, as the CSV import does: a task, risk or deliverable of the workbook replaces
the stored one with that id, others are added, stored items the workbook does not list stay. With a
``Predecessors`` column, the links into the workbook's tasks are replaced by the ones it lists. The
merged project is validated as a whole (references, cycles) before anything is saved, in one
transaction with one audit event. Exporting and importing the same workbook changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from lifecycle.domain.model import AuditEvent, Project
from lifecycle.load.xlsx import WorkbookRows, read_project_workbook, write_portfolio_workbook, write_project_workbook
from lifecycle.services.analytics import _check
from lifecycle.services.context import Context
from lifecycle.services.portfolio import sweep
from lifecycle.services.portfolio_rows import project_rows


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

    Reads only: the rows are the portfolio page's (kept per project version and day), the next-gate
    decisions come from the sweep and its cache; no alert is recorded.
    """
    summaries = ctx.store.list_projects()
    decisions = {d.project: d for d in sweep(ctx)}
    rows = project_rows(ctx, summaries)
    return write_portfolio_workbook([_roll_up(s.code, rows[s.code], decisions.get(s.code)) for s in summaries], lang)


def _roll_up(code: str, row: Mapping[str, Any], decision: Any) -> dict[str, Any]:
    return {
        **row,
        "code": code,
        "next_gate": f"{decision.from_phase} → {decision.to_phase}" if decision else "",
        "decision": decision.decision if decision else "",
        "next_milestone": row["milestone"],
        "next_milestone_date": date.fromisoformat(row["milestone_date"]) if row["milestone_date"] else None,
    }

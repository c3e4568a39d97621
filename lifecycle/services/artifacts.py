"""What a flow run shows in the Prefect UI: its name and tags, and the content of its artifacts.

The flows only publish; the names, tags, markdown and tables are built here, from the services' data:

* :func:`run_label`: ``<flow>/<project>/<milestone, gate or 'portfolio'>`` and the tags ``pmo``,
  ``project:<code>`` (and ``milestone:<id>`` or ``gate:<phase>`` where they apply), the same for a run
  started by ``pmo flow run``, by an event's deployment trigger or embedded;
* :func:`gate_review_markdown`: a stored gate review, every rule with its verdict and evidence;
* :func:`quality_table`: the quality checks of a run, one row each;
* :func:`documents_markdown`: the documents a run issued (number, kind, SHA-256, and a link to the web
  face when a base URL is set);
* :func:`alerts_table`: the portfolio monitor's alerts, one row each.

Project text (names, messages, evidence) is escaped by :func:`md_text` before it goes into markdown:
a project named ``[x](http://…)`` or ``<img …>`` is printed as those characters, never as markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from lifecycle.domain.gates import Decision
from lifecycle.errors import NotFound
from lifecycle.services.context import Context

PORTFOLIO = "portfolio"

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:])")
_LINE_BREAKS = re.compile(r"[\r\n\t\x0b\x0c\u2028\u2029]+")
_KEY_CHARS = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class RunLabel:
    """A flow run's name and tags."""

    name: str
    tags: tuple[str, ...]


def _subject(flow: str, params: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    if flow == "milestone-reached":
        milestone = str(params.get("milestone") or "")
        return milestone, (f"milestone:{milestone}",)
    if flow in ("gate-review", "closeout"):
        phase = str(params.get("to_phase") or ("final" if flow == "closeout" else "next"))
        return f"gate-{phase}", (f"gate:{phase}",)
    if flow == "quality-checks":
        chosen = params.get("deliverables") or []
        return ("+".join(str(d) for d in chosen) if chosen else "all-deliverables"), ()
    return PORTFOLIO, ()


def run_label(flow: str, params: Mapping[str, Any]) -> RunLabel:
    """Name and tags of a run of ``flow`` (its Prefect name) with ``params``."""
    project = str(params.get("project") or "")
    subject, extra = _subject(flow, params)
    tags = ("pmo", f"project:{project}", *extra) if project else ("pmo", PORTFOLIO)
    return RunLabel("/".join(p for p in (flow, project or None, subject) if p), tags)


def artifact_key(*parts: str) -> str:
    """An artifact key (lowercase letters, digits and dashes) from project codes and words."""
    return _KEY_CHARS.sub("-", "-".join(parts).lower()).strip("-")[:200] or "pmo"


def md_text(value: Any) -> str:
    """``value`` as literal markdown text: HTML and markdown characters escaped, on one line."""
    text = _LINE_BREAKS.sub(" ", str(value if value is not None else ""))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def _row(*cells: Any) -> str:
    return "| " + " | ".join(md_text(c) for c in cells) + " |"


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    return [_row(*header), "|" + "---|" * len(header), *(_row(*r) for r in rows)]


def _title(title: Mapping[str, str], lang: str) -> str:
    return title.get(lang) or title.get("en") or title.get("zh") or ""


def gate_review_markdown(ctx: Context, code: str, review_id: str, lang: str = "en") -> str:
    """The stored gate review ``review_id`` of ``code``: decision, approvals, each rule's verdict and evidence."""
    stored = ctx.store.get_record(code, "gate_review", review_id)
    if stored is None:
        raise NotFound(f"{code} has no gate review {review_id}")
    d = Decision.from_dict(dict(stored.data))
    advanced = "advanced" if stored.data.get("advanced") else "not advanced"
    lines = [
        f"# Gate review {md_text(d.project)}: {md_text(d.from_phase)} → {md_text(d.to_phase)}",
        "",
        f"**Decision:** {md_text(d.decision)} ({advanced}); review {md_text(review_id)}, "
        f"evaluated {md_text(d.evaluated_at)} by {md_text(d.evaluated_by)}",
        "",
    ]
    missing = list(d.approvals.missing)
    if missing:
        lines += [f"**Approvals missing:** {', '.join(md_text(m) for m in missing)}", ""]
    rows = [
        (
            r.id,
            _title(r.title, lang),
            r.severity,
            r.outcome + (" (waived)" if r.waiver is not None else ""),
            r.error or r.message,
            "; ".join(f"{e.id}: {e.label}" if e.label else e.id for e in r.evidence),
        )
        for r in d.results
    ]
    lines += _table(("Rule", "Title", "Severity", "Verdict", "Message", "Evidence"), rows)
    return "\n".join(lines) + "\n"


def quality_table(checks: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """One row per quality check (deliverable, standard, result, evidence, date)."""
    return [
        {
            "deliverable": str(c.get("deliverable", "")),
            "standard": str(c.get("standard", "")),
            "result": str(c.get("result", "")),
            "evidence": str(c.get("evidence", "")),
            "date": str(c.get("date") or ""),
        }
        for c in checks
    ]


def base_url(ctx: Context) -> str:
    """The web face's address when one is set (``PMO_BASE_URL`` or the ``base_url`` setting), else empty."""
    ws = ctx.workspace
    return (ws.runtime.base_url or ws.settings.base_url or "").rstrip("/")


def document_link(base: str, code: str, doc_id: str) -> str:
    return f"{base}/projects/{quote(code, safe='')}/documents/{quote(doc_id, safe='')}" if base else ""


def documents_markdown(ctx: Context, code: str, documents: Sequence[Mapping[str, Any]]) -> str:
    """The documents a run issued or re-used: number, kind, SHA-256 and a link (with a base URL)."""
    base = base_url(ctx)
    lines = [f"# Documents of {md_text(code)}", ""]
    header = ["Number", "Kind", "SHA-256", "Issued now"]
    if base:
        header.append("Link")
    lines += [_row(*header), "|" + "---|" * len(header)]
    for d in documents:
        cells = [
            md_text(d.get("number", "")),
            md_text(d.get("kind", "")),
            f"`{re.sub(r'[^0-9a-f]', '', str(d.get('sha256', '')))}`",
            "yes" if d.get("issued_now") else "no (re-used)",
        ]
        if base:
            url = document_link(base, code, str(d.get("id", "")))
            cells.append(f"[open]({url.replace('(', '%28').replace(')', '%29').replace(' ', '%20')})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def alerts_table(projects: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """One row per alert of the portfolio monitor (project health rows with their alerts)."""
    return [
        {
            "project": str(p.get("project", "")),
            "phase": str(p.get("phase", "")),
            "health": str(p.get("health", "")),
            "alert": str(alert),
        }
        for p in projects
        for alert in p.get("alerts", [])
    ]


def run_subject(tags: Sequence[str], parameters: Mapping[str, Any]) -> dict[str, str]:
    """Project and milestone (or gate) of a flow run, from its tags or, for older runs, its parameters."""
    tagged = {k: v for k, _, v in (str(t).partition(":") for t in tags) if v}
    project = tagged.get("project") or str(parameters.get("project") or "")
    milestone = tagged.get("milestone") or str(parameters.get("milestone") or "")
    gate = tagged.get("gate") or str(parameters.get("to_phase") or "")
    return {"project": project or (PORTFOLIO if PORTFOLIO in tags else ""), "milestone": milestone, "gate": gate}

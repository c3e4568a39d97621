"""View models: the record each client document is rendered from, as plain JSON-ready dicts.

A view is built from the project and the system records (gate reviews, waivers) by a pure function
of its inputs; it holds raw values only (ISO dates, money as decimal text, enum words, ids) and no
formatting, so the same dict is (1) what the Jinja2 template reads, (2) the JSON attached inside the
PDF/A for the client's systems and (3) what the registry keeps to verify the file later. The
locale's words and formats are applied by the template, never stored here. The schedule and earned
value figures (``schedule``, ``gantt``, ``evm``, ``s_curve``) are JSON numbers, exactly as
:func:`~lifecycle.domain.metrics.project_metrics` and :func:`~lifecycle.domain.evm.s_curve` give them.

Document numbers are ``<CODE>-<KIND>[-<MILESTONE>]-<N>``: ``ACC`` acceptance certificate (per
milestone), ``FAR`` final acceptance report, ``HOV`` handover package, ``GRR`` gate review report,
``STR`` status report; ``N`` counts the registered documents with the same prefix, from 1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from lifecycle.domain.acceptance import latest_results
from lifecycle.domain.calendar import work_calendar
from lifecycle.domain.evm import TCPI_UNREACHABLE, s_curve, select_baseline
from lifecycle.domain.metrics import project_metrics
from lifecycle.domain.model import Milestone, Project
from lifecycle.domain.schedule import Schedule, compute_schedule
from lifecycle.errors import InvalidInput, LifecycleError, NotFound

VIEW_SCHEMA_VERSION = 1

STATUS_REPORT_FRESH_DAYS = 14  # a recorded status report is "current" until 14 days after its period
GANTT_MAX_ROWS = 30  # task rows of the status report's Gantt chart: it stays on one page
INDEX_AMBER = 0.9  # SPI / CPI below 1.0 are rated amber, below this red

_OPEN_ACTION = ("open",)
_OPEN_ISSUE = ("open", "in_progress")
_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
# deliverables that are training (the handover cites them when no training session is recorded)
_TRAINING = re.compile(r"培训|training", re.IGNORECASE)


# --------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class PackTitles:
    """The rule pack's printed names: phases, gate rules, transitions and quality standards (zh/en)."""

    phases: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    rules: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    standards: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    references: Mapping[str, str] = field(default_factory=dict)
    # the pack's custom fields of the project (fields.yaml): name -> printed label (zh/en), in pack order
    project_fields: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Stamp:
    """Who issues the document, when, as which number and in which language."""

    number: str
    sequence: int
    lang: str
    issued_at: datetime
    today: date
    actor: str
    supplier: Mapping[str, Any] = field(default_factory=dict)  # workspace default supplier (name, address)
    revision: int = 1  # revision of this document: 1, or 2, 3 … when the same number is re-issued
    titles: PackTitles = field(default_factory=PackTitles)  # the rule pack's printed names


def plain(value: Any) -> Any:
    """JSON round trip: what the registry and the PDF attachment hold is exactly this."""
    result: Any = json.loads(json.dumps(value, ensure_ascii=False, default=_json_default))
    return result


def _plain_view(view: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = plain(view)
    return result


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return _money(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _d(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    return value.isoformat()


def _money(value: Decimal | int | float | None) -> str:
    """Money as decimal text rounded half up to the cent (floats go through their shortest text)."""
    return f"{Decimal(str(value or 0)).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):.2f}"


def file_name(path: str) -> str:
    """A stored path as a client document prints it: a path relative to the documents root as it is
    (``drop/app.zip``), anything else (absolute, ``~``, ``..``, a drive) by its file name only, so a
    server path never reaches a client document."""
    if not path:
        return ""
    posix = PurePosixPath(path.replace("\\", "/"))
    parts = [p for p in posix.parts if p not in ("", ".")]
    if parts and not posix.is_absolute() and ".." not in parts and ":" not in parts[0] and not parts[0].startswith("~"):
        return "/".join(parts)
    name = PureWindowsPath(path).name if "\\" in path else posix.name
    return name or path


# --------------------------------------------------------------------------- parties
def _org(o: Any) -> dict[str, Any]:
    return {"name": o.name, "short_name": o.short_name}


def party(project: Project, pid: str, *, reach: bool = False) -> dict[str, Any] | None:
    """A person or a contact as printed: name, organisation, title/role; e-mail and phone only with
    ``reach`` (support contacts), so the embedded record holds no contact details the page does not show."""
    found = _party(project, pid)
    if found is not None and not reach:
        found.pop("email", None)
        found.pop("phone", None)
    return found


def _party(project: Project, pid: str) -> dict[str, Any] | None:
    if not pid:
        return None
    supplier = project.charter.supplier.name
    person = project.index("people").get(pid)
    if person is not None:
        return {
            "id": pid,
            "name": person.name,
            "organisation": person.organisation or supplier,
            "title": person.role,
            "role": person.role,
            "email": person.email,
            "phone": "",
            "side": "supplier",
        }
    contact = project.index("contacts").get(pid)
    if contact is not None:
        org = contact.organisation or (project.charter.client.name if contact.side == "client" else "")
        return {
            "id": pid,
            "name": contact.name,
            "organisation": org,
            "title": contact.title,
            "role": contact.role,
            "email": contact.email,
            "phone": contact.phone,
            "side": contact.side,
        }
    return {"id": pid, "name": pid, "organisation": "", "title": "", "role": "", "email": "", "phone": "", "side": ""}


def _name(project: Project, pid: str) -> str:
    p = party(project, pid)
    return p["name"] if p else ""


def _with_names(project: Project, waivers: Sequence[Mapping[str, Any]], stamp: Stamp) -> list[dict[str, Any]]:
    """Waivers with the granting person's printed name (``granted_by`` may be a person id) and the
    waived rule's title (from the gate review, else the rule pack; the rule id when neither has it)."""
    rules = stamp.titles.rules
    out = []
    for w in waivers:
        who = str(w.get("granted_by", ""))
        known = party(project, who) if who in project.index("people") or who in project.index("contacts") else None
        title = w.get("title") or rules.get(str(w.get("rule", ""))) or {}
        out.append({**w, "granted_by_name": known["name"] if known else who, "title": dict(title)})
    return out


def _names(project: Project, ids: Iterable[str]) -> dict[str, str]:
    """Printed names for the person and contact ids among ``ids`` (others are left out)."""
    people, contacts = project.index("people"), project.index("contacts")
    return {i: (people.get(i) or contacts[i]).name for i in ids if i in people or i in contacts}


def _project_block(project: Project, stamp: Stamp) -> dict[str, Any]:
    ch = project.charter
    supplier = _org(ch.supplier)
    for key in ("name", "short_name"):
        if not supplier[key] and stamp.supplier.get(key):
            supplier[key] = str(stamp.supplier[key])
    return {
        "code": ch.code,
        "name": ch.name,
        "contract_number": ch.contract_number,
        "description": ch.description,
        "client": _org(ch.client),
        "supplier": supplier,
        "currency": ch.currency,
        "locale": ch.locale,
        "phase": project.phase,
        "start": _d(ch.start),
        "finish": _d(ch.finish),
        "project_manager": party(project, ch.project_manager),
        "client_representative": party(project, ch.client_representative),
        "sponsor": party(project, ch.sponsor),
        **_custom_block(ch.custom, stamp),
    }


def _custom_block(values: Mapping[str, Any], stamp: Stamp) -> dict[str, Any]:
    """The project's custom values the rule pack declares, as ``custom: [{label, value}]`` in the pack's
    order (nothing when there are none, so documents of packs without custom fields are unchanged).
    Only plain values print: a scorecard or a list stays in the facts for rules."""
    rows = [
        {"label": _in_lang(label, stamp.lang) or name, "value": values[name]}
        for name, label in stamp.titles.project_fields.items()
        if isinstance(values.get(name), (str, int, float, bool)) and values.get(name) != ""
    ]
    return {"custom": rows} if rows else {}


def _head(kind: str, project: Project, stamp: Stamp) -> dict[str, Any]:
    return {
        "schema_version": VIEW_SCHEMA_VERSION,
        "kind": kind,
        "number": stamp.number,
        "sequence": stamp.sequence,
        "lang": stamp.lang,
        "issued_at": _d(stamp.issued_at),
        "issued_on": _d(stamp.today),
        "issued_by": stamp.actor,
        "revision": stamp.revision,
        "project": _project_block(project, stamp),
        "phase_titles": _phase_titles(stamp, [project.phase]),
    }


def _phase_titles(stamp: Stamp, phases: Iterable[str]) -> dict[str, str]:
    """The printed names of ``phases`` in the document's language, from the rule pack."""
    titles = stamp.titles.phases
    return {ph: _in_lang(titles[ph], stamp.lang) for ph in phases if ph in titles}


def _in_lang(titles: Mapping[str, str], lang: str) -> str:
    """A ``{"zh": …, "en": …}`` text in ``lang``, falling back to the other language."""
    first = titles.get("zh" if lang.startswith("zh") else "en")
    return str(first or titles.get("en") or titles.get("zh") or "")


# --------------------------------------------------------------------------- waivers
def collect_waivers(
    gate_reviews: Sequence[Mapping[str, Any]], waiver_records: Sequence[Mapping[str, Any]], today: date
) -> list[dict[str, Any]]:
    """Every waiver known for the project (first-class records and those inside gate reviews), once."""
    seen: dict[str, dict[str, Any]] = {}
    titles = {
        str(r.get("id", "")): dict(r["title"])
        for review in gate_reviews
        for r in review.get("results") or ()
        if isinstance(r.get("title"), Mapping)
    }

    def add(w: Mapping[str, Any], source: str) -> None:
        wid = str(w.get("id") or f"{w.get('rule', '')}@{w.get('granted_at', '')}")
        if wid in seen:
            return
        expires = str(w.get("expires_on") or "")
        try:
            active = not expires or date.fromisoformat(expires[:10]) >= today
        except ValueError:
            active = True
        seen[wid] = {
            "id": wid,
            "rule": str(w.get("rule", "")),
            "title": titles.get(str(w.get("rule", "")), {}),
            "granted_by": str(w.get("granted_by", "")),
            "role": str(w.get("role", "")),
            "reason": str(w.get("reason", "")),
            "expires_on": expires or None,
            "granted_at": w.get("granted_at"),
            "active": active,
            "source": source,
        }

    for w in waiver_records:
        add(w, str(w.get("review", "")))
    for review in gate_reviews:
        for w in review.get("waivers") or ():
            add(w, str(review.get("id", "")))
    return sorted(seen.values(), key=lambda w: (not w["active"], str(w["granted_at"] or ""), w["id"]))


# --------------------------------------------------------------------------- deliverables
def _standard(project: Project, sid: str, stamp: Stamp) -> dict[str, Any] | None:
    """A quality standard as printed: the project's own, else the rule pack's (its title in the
    document's language), else its id."""
    if not sid:
        return None
    s = project.index("quality_standards").get(sid)
    if s is not None:
        return {"id": s.id, "name": s.name, "reference": s.reference, "target": s.target, "metric": s.metric}
    titles = stamp.titles
    name = _in_lang(titles.standards[sid], stamp.lang) if sid in titles.standards else sid
    reference = titles.references.get(sid, "")
    if stamp.lang.startswith("zh"):
        # pack references read "<clause>: <English gloss>"; a Chinese document prints the clause
        reference = reference.split(": ", 1)[0]
    return {"id": sid, "name": name, "reference": reference, "target": "", "metric": ""}


_PATH = re.compile(r"^(/|[A-Za-z]:[\\/]|\\\\|file:)")


def _no_path(text: str) -> str:
    """Evidence or file references as printed: a local or server path is cut to its file name."""
    return file_name(text.removeprefix("file://")) if _PATH.match(text) else text


def _deliverable(project: Project, did: str, milestone: str | None, stamp: Stamp) -> dict[str, Any]:
    d = project.index("deliverables").get(did)
    if d is None:
        return {
            "id": did,
            "name": did,
            "description": "",
            "owner": "",
            "due": None,
            "status": "",
            "file": "",
            "sha256": "",
            "tests_passed": 0,
            "tests_failed": 0,
            "defects_open": 0,
            "criteria": [],
            "checks": [],
            "acceptance": [],
            "verdict": "pending",
        }
    checks = sorted(
        (c for c in project.quality_checks if c.deliverable == did), key=lambda c: (c.date or date.min, c.id)
    )
    records = [a for a in project.acceptance_records if a.deliverable == did]
    if milestone:
        scoped = [a for a in records if a.milestone in ("", milestone)]
        records = scoped or records
    records = sorted(records, key=lambda a: (a.date or date.min, a.id))
    verdict = (
        records[-1].verdict
        if records
        else ("accepted" if d.status == "accepted" else "rejected" if d.status == "rejected" else "pending")
    )
    return {
        "id": d.id,
        "name": d.name,
        "description": d.description,
        "owner": _name(project, d.owner),
        "due": _d(d.due),
        "status": d.status,
        "file": file_name(d.file),
        "sha256": d.sha256,
        "tests_passed": d.tests_passed,
        "tests_failed": d.tests_failed,
        "defects_open": d.defects_open,
        "criteria": _criteria(project, d, stamp),
        "checks": [
            {
                "id": c.id,
                "date": _d(c.date),
                "standard": _standard(project, c.standard, stamp),
                "checker": _name(project, c.checker),
                "result": c.result,
                "evidence": _no_path(c.evidence),
                "notes": c.notes,
                "automated": c.automated,
            }
            for c in checks
        ],
        "acceptance": [
            {
                "id": a.id,
                "date": _d(a.date),
                "milestone": a.milestone,
                "accepted_by": _name(project, a.accepted_by),
                "verdict": a.verdict,
                "conditions": a.conditions,
                "evidence": _no_path(a.evidence),
            }
            for a in records
        ],
        "verdict": verdict,
    }


def _result(project: Project, r: Any, history: int) -> dict[str, Any]:
    """A criterion result as printed: who verified it by name, evidence without a local path."""
    return {
        "id": r.id,
        "result": r.result,
        "measured": r.measured,
        "unit": r.unit,
        "target": r.target,
        "method": r.method,
        "evidence": _no_path(r.evidence),
        "verifier": _name(project, r.verifier),
        "date": _d(r.date),
        "conditions": r.conditions,
        "automated": r.automated,
        "history": history,
    }


def _criteria(project: Project, d: Any, stamp: Stamp) -> list[dict[str, Any]]:
    """One row per acceptance criterion with the result that counts (None: not yet verified)."""
    mine = [r for r in project.criterion_results if r.deliverable == d.id]
    latest = latest_results(mine)
    rows = []
    for n, c in enumerate(d.acceptance_criteria, start=1):
        r = latest.get((d.id, c.id))
        standard = _standard(project, c.standard, stamp)
        rows.append(
            {
                "id": c.id,
                "n": n,
                "text": c.text,
                "standard": standard,
                "method": c.method,
                "target": c.target or (standard or {}).get("target", ""),
                "result": None if r is None else _result(project, r, sum(1 for x in mine if x.criterion == c.id)),
            }
        )
    return rows


def _criteria_rows(deliverables: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"deliverable": d["id"], "deliverable_name": d["name"], **c} for d in deliverables for c in d["criteria"]]


def _open_items(
    project: Project,
    deliverables: Sequence[Mapping[str, Any]],
    *,
    include_issues: bool,
    waivers: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """The punch list: open improvement actions, acceptance conditions, open defects (and issues),
    and every expired waiver (a waived rule whose waiver ran out is an open item, not a closed one)."""
    ids = {d["id"] for d in deliverables}
    names = {d.id: d.name for d in project.deliverables}
    check_of = {c.id: c for c in project.quality_checks}
    items: list[dict[str, Any]] = []
    for a in project.improvement_actions:
        if a.status not in _OPEN_ACTION:
            continue
        check = check_of.get(a.check)
        if check is not None and check.deliverable not in ids:
            continue
        if check is None and not include_issues:
            continue
        items.append(
            {
                "ref": a.id,
                "source": "improvement",
                "about": a.check,
                "about_name": names.get(check.deliverable, "") if check is not None else "",
                "text": a.description,
                "owner": _name(project, a.owner),
                "due": _d(a.due),
                "status": a.status,
            }
        )
    for d in deliverables:
        items.extend(_criterion_items(d))
        for rec in d["acceptance"][-1:]:
            if rec["verdict"] == "accepted_with_conditions" and rec["conditions"]:
                items.append(
                    {
                        "ref": rec["id"],
                        "source": "condition",
                        "about": d["id"],
                        "about_name": d["name"],
                        "text": rec["conditions"],
                        "owner": d["owner"],
                        "due": None,
                        "status": "open",
                    }
                )
        if d["defects_open"]:
            items.append(
                {
                    "ref": d["id"],
                    "source": "defects",
                    "about": d["id"],
                    "about_name": d["name"],
                    "text": "",
                    "count": d["defects_open"],
                    "owner": d["owner"],
                    "due": None,
                    "status": "open",
                }
            )
    if include_issues:
        for i in sorted(project.issues, key=lambda i: (_SEVERITY_ORDER.get(i.severity, 9), i.raised_on, i.id)):
            if i.status in _OPEN_ISSUE:
                items.append(
                    {
                        "ref": i.id,
                        "source": "issue",
                        "about": i.severity,
                        "about_name": "",
                        "text": i.title,
                        "owner": _name(project, i.owner),
                        "due": _d(i.due),
                        "status": i.status,
                    }
                )
    for w in waivers:
        if not w.get("active", True):
            items.append(
                {
                    "ref": str(w.get("id", "")),
                    "source": "waiver",
                    "about": str(w.get("rule", "")),
                    "about_name": "",
                    "title": dict(w.get("title") or {}),
                    "text": str(w.get("reason", "")),
                    "expired_on": w.get("expires_on"),
                    "owner": str(w.get("granted_by_name", "")),
                    "due": None,
                    "status": "open",
                }
            )
    return items


def _criterion_items(d: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A failed criterion and the conditions of a conditionally passed one are open items."""
    items = []
    for c in d["criteria"]:
        r = c["result"]
        if r is None or r["result"] == "pass":
            continue
        items.append(
            {
                "ref": r["id"],
                "source": "criterion_failed" if r["result"] == "fail" else "criterion_condition",
                "about": c["id"],
                "about_name": d["name"],
                "text": c["text"] if r["result"] == "fail" else r["conditions"],
                "owner": d["owner"],
                "due": None,
                "status": "open",
            }
        )
    return items


def criteria_standing(deliverables: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How many criteria of the document are verified, failed, conditional and not yet verified."""
    rows = [c for d in deliverables for c in d["criteria"]]
    results = [c["result"]["result"] for c in rows if c["result"] is not None]
    return {
        "total": len(rows),
        "passed": results.count("pass"),
        "failed": results.count("fail"),
        "conditional": results.count("conditional"),
        "unverified": len(rows) - len(results),
    }


def _conclusion(deliverables: Sequence[Mapping[str, Any]], open_items: Sequence[Mapping[str, Any]]) -> str:
    verdicts = [d["verdict"] for d in deliverables]
    if not verdicts:
        return "pending"
    standing = criteria_standing(deliverables)
    if "rejected" in verdicts or standing["failed"]:
        return "not_accepted"
    if "pending" in verdicts or standing["unverified"]:
        return "pending"
    if "accepted_with_conditions" in verdicts or open_items:
        return "accepted_with_conditions"
    return "accepted"


def _signatures(project: Project, *, milestone: str | None, scope: str, issued: date) -> dict[str, Any]:
    """Both parties' signature blocks. The client's recorded sign-off gives its name and comment; the
    signature date stays blank for a hand-written date unless the sign-off was recorded on or after
    the day this document is issued (a sign-off before the document cannot be a signature of it)."""
    ch = project.charter
    signoffs = [s for s in project.signoffs if s.scope == scope and (scope == "project" or s.milestone == milestone)]
    signoff = sorted(signoffs, key=lambda s: s.date)[-1] if signoffs else None
    client = party(project, signoff.contact if signoff else ch.client_representative) or {}
    supplier = party(project, ch.project_manager) or {}
    return {
        "client": {
            "name": client.get("name", ""),
            "title": client.get("title", ""),
            "organisation": ch.client.name,
            "date": _d(signoff.date) if signoff and signoff.date >= issued else None,
            "comment": signoff.comment if signoff else "",
            "comment_date": _d(signoff.date) if signoff and signoff.comment else None,
        },
        "supplier": {
            "name": supplier.get("name", ""),
            "title": supplier.get("title", ""),
            "organisation": ch.supplier.name,
            "date": None,
            "comment": "",
            "comment_date": None,
        },
    }


def _team(project: Project) -> list[dict[str, Any]]:
    return [p for p in (party(project, pid) for pid in project.charter.acceptance_team) if p]


def _lessons(project: Project) -> list[dict[str, Any]]:
    return [
        {
            "id": x.id,
            "title": x.title,
            "category": x.category,
            "description": x.description,
            "recommendation": x.recommendation,
            "recorded_by": _name(project, x.recorded_by),
            "date": _d(x.date),
        }
        for x in sorted(project.lessons, key=lambda x: (x.category, x.id))
    ]


def _milestone_row(m: Milestone, today: date) -> dict[str, Any]:
    if m.completed_on:
        variance = (m.completed_on - m.date).days
    elif m.status != "done" and m.date < today:
        variance = (today - m.date).days
    else:
        variance = None
    return {
        "id": m.id,
        "name": m.name,
        "date": _d(m.date),
        "kind": m.kind,
        "status": m.status,
        "completed_on": _d(m.completed_on),
        "variance_days": variance,
        "deliverables": list(m.deliverables),
        "payment_amount": _money(m.payment_amount) if m.payment_amount else None,
    }


# --------------------------------------------------------------------------- acceptance
def choose_milestone(project: Project, today: date, milestone: str | None = None) -> Milestone:
    """The named milestone, else the latest acceptance milestone done (or the next one due)."""
    by_id = project.index("milestones")
    if milestone:
        if milestone not in by_id:
            known = ", ".join(sorted(by_id)) or "none"
            raise NotFound(f"project {project.code} has no milestone '{milestone}' (milestones: {known})")
        m: Milestone = by_id[milestone]
        return m
    candidates = [m for m in project.milestones if m.kind == "acceptance"] or [
        m for m in project.milestones if m.deliverables
    ]
    if not candidates:
        raise InvalidInput(f"project {project.code} has no acceptance milestone; name one with --milestone")
    done = sorted((m for m in candidates if m.status == "done" or m.date <= today), key=lambda m: m.date)
    return done[-1] if done else sorted(candidates, key=lambda m: m.date)[0]


def build_acceptance(
    project: Project, stamp: Stamp, milestone: Milestone, waivers: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    dids = list(milestone.deliverables)
    for a in project.acceptance_records:
        if a.milestone == milestone.id and a.deliverable not in dids:
            dids.append(a.deliverable)
    deliverables = [_deliverable(project, did, milestone.id, stamp) for did in dids]
    named = _with_names(project, waivers, stamp)
    items = _open_items(project, deliverables, include_issues=False, waivers=named)
    view = _head("acceptance", project, stamp)
    view.update(
        {
            "milestone": {
                **_milestone_row(milestone, stamp.today),
                "percent": _share(milestone.payment_amount, project.charter.contract_value),
            },
            "payments": _payments(project, stamp.today),
            "method": project.charter.acceptance_method,
            "team": _team(project),
            "criteria": _criteria_rows(deliverables),
            "deliverables": deliverables,
            "open_items": items,
            "waivers": named,
            "conclusion": _conclusion(deliverables, items),
            "criteria_standing": criteria_standing(deliverables),
            "signatures": _signatures(project, milestone=milestone.id, scope="milestone", issued=stamp.today),
        }
    )
    return _plain_view(view)


# --------------------------------------------------------------------------- schedule and earned value
def _try_schedule(project: Project, today: date) -> tuple[Schedule | None, str]:
    """The critical-path schedule, or None and why not (no tasks, a link cycle, no start date)."""
    if not project.tasks:
        return None, ""
    try:
        return compute_schedule(project, today=today), ""
    except LifecycleError as exc:
        return None, str(exc)


def _num(value: Any, digits: int) -> float:
    """A figure as a JSON number, rounded; never ``-0.0``."""
    return round(float(value or 0.0), digits) + 0.0


def _rating(index: float) -> str:
    if index >= 1.0:
        return "green"
    return "amber" if index >= INDEX_AMBER else "red"


def _evm_block(project: Project, metrics: Mapping[str, Any], today: date) -> dict[str, Any]:
    """Earned value at ``today`` as numbers, exactly the figures of :func:`project_metrics`."""
    source = str(metrics["evm_budget_source"])
    baseline = select_baseline(project) if source == "baseline" else None
    out: dict[str, Any] = {
        "status_date": _d(today),
        "budget_source": source,
        "baseline": baseline.id if baseline is not None else "",
    }
    for key in ("bac", "pv", "ev", "ac", "sv", "cv", "eac", "etc", "vac"):
        out[key] = _num(metrics[key], 2)
    for key in ("spi", "cpi", "tcpi"):
        out[key] = _num(metrics[key], 4)
    out.update(
        {
            "sv_pct": _num(metrics["schedule_variance_pct"], 2),
            "cv_pct": _num(metrics["cost_variance_pct"], 2),
            "earned_pct": _num(metrics["earned_pct"], 2),
            "tcpi_unreachable": float(metrics["tcpi"]) >= TCPI_UNREACHABLE,
            "work_complete": bool(metrics["bac"]) and float(metrics["ev"]) >= float(metrics["bac"]) - 0.005,
            "spi_rating": _rating(round(float(metrics["spi"]), 2)),
            "cpi_rating": _rating(round(float(metrics["cpi"]), 2)),
        }
    )
    return out


def _s_curve_block(
    project: Project, today: date, schedule: Schedule | None, metrics: Mapping[str, Any]
) -> dict[str, Any]:
    """Weekly cumulative PV, EV and AC (``evm.s_curve`` points; EV and AC null after ``today``)."""
    points = [pt.to_dict() for pt in s_curve(project, today, schedule=schedule)]
    return {"status_date": _d(today), "budget_source": str(metrics["evm_budget_source"]), "points": points}


def _forecast_block(project: Project, metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The CPM finish against the baseline finish (or, without a baseline, the charter's finish)."""
    forecast = metrics["project_finish"]
    baseline = metrics["baseline_finish"]
    plan = _d(project.charter.finish)
    reference, slip = None, None
    if forecast and baseline:
        reference, slip = "baseline", int(metrics["schedule_slip_days"])
    elif forecast and plan:
        cal = work_calendar(project.calendar)
        pf, ref = date.fromisoformat(forecast), date.fromisoformat(plan)
        reference = "plan"
        slip = cal.count_working_days(ref, pf) - 1 if pf >= ref else -(cal.count_working_days(pf, ref) - 1)
    return {
        "start": metrics["project_start"],
        "forecast_finish": forecast,
        "baseline_finish": baseline,
        "planned_finish": plan,
        "reference": reference,
        "reference_finish": baseline if reference == "baseline" else plan if reference == "plan" else None,
        "slip_days": slip,
        "duration_days": int(metrics["schedule_duration_days"]),
        "critical_task_count": int(metrics["critical_task_count"]),
        "critical_path": list(metrics["critical_path"]),
        "min_total_slack_days": int(metrics["min_total_slack_days"]),
        "error": str(metrics["schedule_error"]),
    }


def _gantt_block(project: Project, schedule: Schedule | None, max_rows: int = GANTT_MAX_ROWS) -> dict[str, Any]:
    """Rows of the status report's Gantt chart, in outline order, dates from the critical path method.

    Every task when they fit in ``max_rows``; else every summary task and every critical task; else
    the top level of the WBS and as many critical tasks as fit (``hidden`` counts the critical tasks
    left out).
    """
    if schedule is None:
        return {"mode": "none", "rows": [], "hidden": 0}
    tasks = project.index("tasks")
    rows = [r for r in schedule.rows() if r.summary or tasks[r.id].status != "cancelled"]
    # percent complete: a leaf's own, a summary's weighted over its leaves (effort, else duration)
    totals: dict[str, list[float]] = {}
    percent: dict[str, float] = {}
    for r in reversed(rows):  # descendants come before their summary
        t = tasks[r.id]
        acc = totals.setdefault(r.id, [0.0, 0.0])
        if r.summary:
            percent[r.id] = acc[1] / acc[0] if acc[0] else float(t.percent_complete)
        else:
            pct = 100.0 if r.done else max(0.0, min(100.0, float(t.percent_complete)))
            weight = 0.0 if r.milestone else float(t.effort_hours or t.duration_days or r.duration_days or 1)
            percent[r.id] = pct
            acc[0], acc[1] = weight, weight * pct
        if r.parent:
            up = totals.setdefault(r.parent, [0.0, 0.0])
            up[0] += acc[0]
            up[1] += acc[1]
    hidden = 0
    if len(rows) <= max_rows:
        mode, chosen = "all", rows
    elif sum(1 for r in rows if r.summary or r.critical) <= max_rows:
        mode, chosen = "summary", [r for r in rows if r.summary or r.critical]
    else:
        mode = "top"
        order = {r.id: i for i, r in enumerate(rows)}
        crit = [r for r in rows if r.critical and not r.summary]
        ranked = (
            [r for r in rows if r.level == 0 and r.summary]
            + crit
            + [r for r in rows if r.level == 0 and not r.summary and not r.critical]
        )
        chosen = sorted(ranked[:max_rows], key=lambda r: order[r.id])
        shown = {r.id for r in chosen}
        hidden = sum(1 for r in crit if r.id not in shown)
    return {
        "mode": mode,
        "hidden": hidden,
        "rows": [
            {
                "id": r.id,
                "wbs": r.wbs,
                "name": r.name,
                "level": r.level,
                "summary": r.summary,
                "milestone": r.milestone,
                "critical": r.critical,
                "done": r.done,
                "start": _d(r.early_start),
                "finish": _d(r.early_finish),
                "percent": round(percent[r.id], 1),
                "total_slack": r.total_slack,
            }
            for r in chosen
        ],
    }


# --------------------------------------------------------------------------- final acceptance
def _cost_block(project: Project) -> dict[str, Any]:
    plan: dict[str, Decimal] = {}
    actual: dict[str, Decimal] = {}
    for b in project.budget:
        plan[b.category] = plan.get(b.category, Decimal(0)) + b.amount
    for c in project.costs:
        actual[c.category] = actual.get(c.category, Decimal(0)) + c.amount
    order = ["labour", "materials", "equipment", "subcontract", "travel", "licences", "contingency", "other"]
    cats = [c for c in order if c in plan or c in actual]
    total = sum(plan.values(), Decimal(0))
    spent = sum(actual.values(), Decimal(0))
    approved = project.charter.approved_budget or total

    def pct(part: Decimal, whole: Decimal) -> float | None:
        return round(float(part) * 100.0 / float(whole), 1) if whole else None

    return {
        "approved": _money(approved),
        "budget_total": _money(total),
        "actual": _money(spent),
        "variance": _money(approved - spent),
        "spent_pct": pct(spent, approved),
        "budget_difference": _money(total - spent),
        "budget_used_pct": pct(spent, total),
        "by_category": [
            {
                "category": c,
                "plan": _money(plan.get(c, 0)),
                "actual": _money(actual.get(c, 0)),
                "difference": _money(plan.get(c, Decimal(0)) - actual.get(c, Decimal(0))),
                "used_pct": pct(actual.get(c, Decimal(0)), plan.get(c, Decimal(0))),
            }
            for c in cats
        ],
    }


def _schedule_block(project: Project, today: date) -> dict[str, Any]:
    leaves = [t for t in project.leaf_tasks() if t.status != "cancelled"]
    all_done = bool(leaves) and all(t.status == "done" for t in leaves)
    ends = [t.actual_finish or t.finish for t in leaves if t.status == "done" and (t.actual_finish or t.finish)]
    ends += [m.completed_on for m in project.milestones if m.completed_on]
    actual_finish = max((e for e in ends if e), default=None) if all_done else None
    baseline = sorted(project.baselines, key=lambda b: b.saved_on)[0] if project.baselines else None
    planned_finish = (baseline.finish if baseline and baseline.finish else None) or project.charter.finish
    variance = (actual_finish - planned_finish).days if actual_finish and planned_finish else None
    done = sum(1 for t in leaves if t.status == "done")
    return {
        "planned_start": _d(project.charter.start),
        "planned_finish": _d(project.charter.finish),
        "baseline_finish": _d(baseline.finish) if baseline else None,
        "actual_finish": _d(actual_finish),
        "variance_days": variance,
        "tasks_total": len(leaves),
        "tasks_done": done,
        "milestones": [_milestone_row(m, today) for m in sorted(project.milestones, key=lambda m: (m.date, m.id))],
    }


def _share(amount: Decimal, contract: Decimal) -> float | None:
    """``amount`` as a percentage of the contract value, to 0.01 (None without a contract value)."""
    if not contract:
        return None
    return float((amount * 100 / contract).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _payments(project: Project, today: date) -> dict[str, Any]:
    """The payment milestones (amount, share of the contract value, date, status), their total and the
    contract value; each figure computed once here."""
    contract = project.charter.contract_value
    paying = [m for m in sorted(project.milestones, key=lambda m: (m.date, m.id)) if m.payment_amount]
    rows = [{**_milestone_row(m, today), "percent": _share(m.payment_amount, contract)} for m in paying]
    total = sum((m.payment_amount for m in paying), Decimal(0))
    return {
        "rows": rows,
        "total": _money(total) if rows else None,
        "total_percent": _share(total, contract) if rows else None,
        "contract_value": _money(contract) if contract else None,
    }


def _budget_lines(project: Project) -> list[dict[str, Any]]:
    """Each budget line against the costs booked to it (contingency included), then one row for the
    costs booked to no budget line, if there are any."""
    booked: dict[str, Decimal] = {}
    for c in project.costs:
        booked[c.budget_line] = booked.get(c.budget_line, Decimal(0)) + c.amount
    rows = []
    for b in project.budget:
        spent = booked.pop(b.id, Decimal(0))
        rows.append(
            {
                "description": b.description,
                "category": b.category,
                "plan": _money(b.amount),
                "actual": _money(spent),
                "difference": _money(b.amount - spent),
                "used_pct": round(float(spent) * 100.0 / float(b.amount), 1) if b.amount else None,
            }
        )
    unassigned = sum(booked.values(), Decimal(0))
    if unassigned:
        rows.append(
            {"description": "", "category": None, "plan": None, "actual": _money(unassigned), "difference": None}
        )
    return rows


def _cost_outcome(project: Project, audience: str) -> dict[str, Any]:
    """The PMO's cost figures of the final report, each computed once here and printed once.

    Only the internal variant has them: the approved budget against the actual cost, the budget by
    category and line by line (contingency included). The client's variant states the contract value
    and the payment milestones (:func:`_payments`) and no internal cost figure: the supplier's budget,
    its cost and its unspent contingency are not the client's business.
    """
    if audience != "internal":
        return {}
    block = _cost_block(project)
    keys = ("approved", "actual", "variance", "spent_pct", "budget_total", "budget_difference", "budget_used_pct")
    # the approved budget = the budget lines + what is approved but on no line: the two budgets reconcile
    unallocated = Decimal(block["approved"]) - Decimal(block["budget_total"])
    return {
        **{k: block[k] for k in keys},
        "by_category": block["by_category"],
        "lines": _budget_lines(project),
        "unallocated": _money(unallocated) if unallocated else None,
    }


def build_final_acceptance(
    project: Project, stamp: Stamp, waivers: Sequence[Mapping[str, Any]], *, audience: str = "client"
) -> dict[str, Any]:
    """The final acceptance report; ``audience="internal"`` keeps the PMO's cost breakdown and earned value."""
    _check_audience(audience)
    deliverables = [_deliverable(project, d.id, None, stamp) for d in project.deliverables]
    named = _with_names(project, waivers, stamp)
    items = _open_items(project, deliverables, include_issues=True, waivers=named)
    # the final figures count every booked cost, also one dated after the day the report is issued
    evm_date = max([stamp.today, *(c.date for c in project.costs)])
    metrics = project_metrics(project, evm_date)
    schedule, _ = _try_schedule(project, evm_date)
    view = _head("final_acceptance", project, stamp)
    view.update(
        {
            "audience": audience,
            "objectives": list(project.charter.objectives),
            "scope_in": list(project.charter.scope_in),
            "scope_out": list(project.charter.scope_out),
            "method": project.charter.acceptance_method,
            "team": _team(project),
            "criteria": _criteria_rows(deliverables),
            "deliverables": deliverables,
            "schedule": _schedule_block(project, stamp.today),
            "cost": _cost_outcome(project, audience),
            "payments": _payments(project, stamp.today),
            "open_items": items,
            "waivers": named,
            "lessons": _lessons(project),
            "conclusion": _conclusion(deliverables, items),
            "criteria_standing": criteria_standing(deliverables),
            "signatures": _signatures(project, milestone=None, scope="project", issued=stamp.today),
        }
    )
    if audience == "internal":
        view["evm"] = _evm_block(project, metrics, evm_date)
        view["s_curve"] = _s_curve_block(project, evm_date, schedule, metrics)
    return _plain_view(view)


# --------------------------------------------------------------------------- handover
def build_handover(project: Project, stamp: Stamp, waivers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    ch = project.charter
    deliverables = [_deliverable(project, d.id, None, stamp) for d in project.deliverables]
    items = [
        {
            "id": h.id,
            "name": h.name,
            "kind": h.kind,
            "file": file_name(h.file),
            "sha256": h.sha256,
            "recipient": _name(project, h.recipient),
            "handed_over_on": _d(h.handed_over_on),
            "status": h.status,
            "notes": h.notes,
        }
        for h in project.handover_items
    ]
    training = [
        {
            "id": t.id,
            "topic": t.topic,
            "date": _d(t.date),
            "trainer": _name(project, t.trainer),
            "trainees": [_name(project, c) for c in t.trainees],
            "hours": t.hours,
            "status": t.status,
        }
        for t in sorted(project.training, key=lambda t: (t.date or date.max, t.id))
    ]
    named = _with_names(project, waivers, stamp)
    open_items = _open_items(project, deliverables, include_issues=True, waivers=named)
    for h in project.handover_items:
        if h.status == "pending":
            open_items.append(
                {
                    "ref": h.id,
                    "source": "handover",
                    "about": h.kind,
                    "about_name": "",
                    "text": h.name,
                    "owner": _name(project, ch.project_manager),
                    "due": None,
                    "status": "open",
                }
            )
    view = _head("handover", project, stamp)
    view.update(
        {
            "items": items,
            "training": training,
            "support": {
                "terms": ch.support_terms,
                "contacts": [p for p in (party(project, pid, reach=True) for pid in ch.support_contacts) if p],
                "warranty_until": _d(ch.warranty_until),
            },
            "open_items": open_items,
            "waivers": named,
            "training_deliverables": [
                {"name": d["name"], "verdict": d["verdict"]}
                for d in deliverables
                if _TRAINING.search(d["name"]) and d["verdict"] in ("accepted", "accepted_with_conditions")
            ],
            "lessons": _lessons(project),
            "signatures": _signatures(project, milestone=None, scope="project", issued=stamp.today),
        }
    )
    return _plain_view(view)


# --------------------------------------------------------------------------- gate review
_SHOWN_CHARS = 60


def _shown_value(value: Any) -> str:
    """A value an explanation saw, as short text (JSON-like, cut at a readable length)."""
    if isinstance(value, bool) or value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def _explanation_rows(part: Mapping[str, Any], depth: int = 0) -> list[dict[str, Any]]:
    """One explanation tree (``Part.to_dict``) as table rows: each condition, how deep it sits, whether it
    held (``true``/``false``), failed to evaluate (``error``) or is a value (``value``), and the value seen."""
    if part.get("op") is None and isinstance(part.get("value"), list) and part.get("expr") == "fails for":
        items = ", ".join(str(v) for v in part["value"])
        return [{"depth": depth, "expr": "", "state": "items", "value": items}]
    value = part.get("value")
    state = "error" if part.get("error") else "true" if value is True else "false" if value is False else "value"
    rows = [
        {
            "depth": depth,
            "expr": str(part.get("expr", "")),
            "state": state,
            "value": str(part.get("error", ""))[:_SHOWN_CHARS] if state == "error" else _shown_value(value),
        }
    ]
    if part.get("op") in ("&&", "||", "!", "?:") or "op" not in part:
        for child in part.get("parts") or ():
            rows.extend(_explanation_rows(child, depth + 1))
    else:  # a comparison: the sides that are not literals, with their values
        for side in part.get("parts") or ():
            if "op" in side or side.get("parts") or not _is_literal_text(str(side.get("expr", ""))):
                rows.append(
                    {
                        "depth": depth + 1,
                        "expr": str(side.get("expr", "")),
                        "state": "value",
                        "value": _shown_value(side.get("value")),
                    }
                )
    return rows


def _is_literal_text(text: str) -> bool:
    t = text.strip()
    return bool(t) and (t[0] in "\"'0123456789-[" or t in ("true", "false", "null"))


def _annex(review: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The gate review's annex: for each rule that did not pass, in the order of the results, why."""
    found = review.get("explanations") or {}
    return [
        {"title": dict(r.get("title") or {}), "id": str(r.get("id", "")), "rows": _explanation_rows(found[r["id"]])}
        for r in review.get("results") or ()
        if r.get("id") in found
    ]


def build_gate_review(
    project: Project, stamp: Stamp, review: Mapping[str, Any], waivers: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    results = list(review.get("results") or ())
    counts: dict[str, int] = {}
    for r in results:
        counts[str(r.get("outcome", ""))] = counts.get(str(r.get("outcome", "")), 0) + 1
    approvals = review.get("approvals") or {}
    ids = [str(review.get("evaluated_by", ""))] + [str(v.get("by", "")) for v in approvals.get("votes") or ()]
    view = _head("gate_review", project, stamp)
    view["phase_titles"] = _phase_titles(stamp, [project.phase, str(review.get("from", "")), str(review.get("to", ""))])
    view.update(
        {
            "review": dict(review),
            "names": _names(project, ids),
            "counts": counts,
            "waivers": _with_names(project, waivers, stamp),
            "annex": _annex(review),
        }
    )
    return _plain_view(view)


# --------------------------------------------------------------------------- status report
def _rag_from_metrics(project: Project, metrics: Mapping[str, Any]) -> dict[str, str]:
    ch = project.charter

    def grade(over: float, tolerance: float) -> str:
        if over <= 0:
            return "green"
        return "amber" if over <= tolerance else "red"

    schedule = grade(float(metrics["planned_progress_pct"]) - float(metrics["progress_pct"]), ch.schedule_tolerance_pct)
    cost = "green"
    if metrics["budget_total"]:
        cost = grade(
            float(metrics["budget_spent_pct"]) - max(float(metrics["progress_pct"]), 0.0), ch.cost_tolerance_pct
        )
    scope = "amber" if metrics["pending_change_requests"] else "green"
    ranks = {"green": 0, "amber": 1, "red": 2}
    overall = max((schedule, cost, scope), key=lambda r: ranks[r])
    if metrics["blocking_issue_count"]:
        overall = "red"
    return {"overall": overall, "schedule": schedule, "cost": cost, "scope": scope}


def _summary_tasks(project: Project) -> list[dict[str, Any]]:
    parents = {t.parent for t in project.tasks if t.parent}
    top = [t for t in project.tasks if not t.parent and t.id in parents] or [
        t for t in project.tasks if not t.parent and not t.milestone
    ]
    rows = []
    for t in top[:18]:
        children = [c for c in project.tasks if c.parent == t.id]
        starts = [x.start for x in (t, *children) if x.start]
        finishes = [x.finish for x in (t, *children) if x.finish]
        rows.append(
            {
                "id": t.id,
                "wbs": t.wbs,
                "name": t.name,
                "owner": _name(project, t.owner),
                "start": _d(min(starts)) if starts else None,
                "finish": _d(max(finishes)) if finishes else None,
                "percent": t.percent_complete,
                "status": t.status,
            }
        )
    return rows


def _check_audience(audience: str) -> None:
    if audience not in ("client", "internal"):
        raise InvalidInput(f"unknown audience '{audience}' (client or internal)")


def _status_money(
    project: Project, today: date, metrics: Mapping[str, Any], schedule: Any, audience: str
) -> dict[str, Any]:
    """The status report's money figures, each computed once: the client's version states the contract
    value and the payment milestones (as the final report does: budget against contract, never the
    supplier's cost lines nor its unspent contingency); the PMO's version adds the budget by category
    (contingency included), the actual cost, earned value and the S-curve."""
    money: dict[str, Any] = {"audience": audience, "payments": _payments(project, today)}
    if audience == "internal":
        money["budget"] = _cost_block(project)
        money["evm"] = _evm_block(project, metrics, today)
        money["s_curve"] = _s_curve_block(project, today, schedule, metrics)
    return money


def build_status(
    project: Project, stamp: Stamp, waivers: Sequence[Mapping[str, Any]], *, audience: str = "client"
) -> dict[str, Any]:
    """The project status report; ``audience="internal"`` is the PMO's version with every cost figure."""
    _check_audience(audience)
    today = stamp.today
    metrics = project_metrics(project, today)
    schedule, _ = _try_schedule(project, today)
    reports = sorted(project.status_reports, key=lambda r: (r.date, r.id))
    # A recorded report is used while it is current; an old one would pair stale words with today's figures.
    current = [r for r in reports if r.period_end >= today - timedelta(days=STATUS_REPORT_FRESH_DAYS)]
    if current:
        r = current[-1]
        report = {
            "id": r.id,
            "date": _d(r.date),
            "period_start": _d(r.period_start),
            "period_end": _d(r.period_end),
            "author": _name(project, r.author),
            "audience": r.audience,
            "overall": r.overall,
            "schedule": r.schedule,
            "cost": r.cost,
            "scope": r.scope,
            "summary": r.summary,
            "accomplishments": list(r.accomplishments),
            "next_steps": list(r.next_steps),
            "decisions_needed": list(r.decisions_needed),
            "recorded": True,
        }
    else:
        rag = _rag_from_metrics(project, metrics)
        start = today - timedelta(days=13)
        if reports and start <= reports[-1].period_end < today:
            start = reports[-1].period_end + timedelta(days=1)
        report = {
            "id": "",
            "date": _d(today),
            "period_start": _d(start),
            "period_end": _d(today),
            "author": _name(project, project.charter.project_manager),
            "audience": "client",
            **rag,
            "summary": "",
            "accomplishments": [],
            "next_steps": [],
            "decisions_needed": [],
            "recorded": False,
        }
    by_id = project.index("tasks")
    overdue = [
        {
            "id": tid,
            "name": by_id[tid].name,
            "owner": _name(project, by_id[tid].owner),
            "finish": _d(by_id[tid].finish),
            "percent": by_id[tid].percent_complete,
        }
        for tid in metrics["overdue_tasks"]
        if tid in by_id
    ]
    open_risks = sorted((r for r in project.risks if r.status == "open"), key=lambda r: (-r.score, r.id))
    issues = sorted(
        (i for i in project.issues if i.status in _OPEN_ISSUE),
        key=lambda i: (_SEVERITY_ORDER.get(i.severity, 9), i.raised_on, i.id),
    )
    changes = [c for c in project.change_requests if c.status == "proposed"]
    leaves = [t for t in project.leaf_tasks() if t.status != "cancelled"]
    view = _head("status", project, stamp)
    view.update(
        {
            "as_of": _d(today),
            "report": report,
            "progress": {
                "actual_pct": metrics["progress_pct"],
                "planned_pct": metrics["planned_progress_pct"],
                "variance_pct": round(float(metrics["progress_pct"]) - float(metrics["planned_progress_pct"]), 2),
                "tasks_total": len(leaves),
                "tasks_done": sum(1 for t in leaves if t.status == "done"),
                "overdue": overdue,
            },
            "plan": {"start": _d(project.charter.start), "finish": _d(project.charter.finish)},
            "summary_tasks": _summary_tasks(project),
            "schedule": _forecast_block(project, metrics),
            "gantt": _gantt_block(project, schedule),
            "milestones": [_milestone_row(m, today) for m in sorted(project.milestones, key=lambda m: (m.date, m.id))],
            **_status_money(project, today, metrics, schedule, audience),
            "risks": [
                {
                    "id": r.id,
                    "title": r.title,
                    "category": r.category,
                    "probability": r.probability,
                    "impact": r.impact,
                    "score": r.score,
                    "strategy": r.strategy,
                    "response_plan": r.response_plan,
                    "owner": _name(project, r.owner),
                    "review_date": _d(r.review_date),
                }
                for r in open_risks[:5]
            ],
            "open_risk_count": len(open_risks),
            "issues": [
                {
                    "id": i.id,
                    "title": i.title,
                    "severity": i.severity,
                    "blocking": i.blocking,
                    "owner": _name(project, i.owner),
                    "status": i.status,
                    "due": _d(i.due),
                    "raised_on": _d(i.raised_on),
                }
                for i in issues
            ],
            "changes": [
                {
                    "id": c.id,
                    "title": c.title,
                    "requested_on": _d(c.requested_on),
                    "schedule_impact_days": c.schedule_impact_days,
                    "cost_impact": _money(c.cost_impact),
                    "requested_by": _name(project, c.requested_by),
                }
                for c in changes
            ],
            "waivers": _with_names(project, waivers, stamp),
        }
    )
    return _plain_view(view)

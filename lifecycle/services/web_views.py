"""Read models and use cases of the web pages: what each page shows, and the actions its forms take.

The web face (``lifecycle.web``) renders these dataclasses and never touches the store, the loaders
or the domain itself. Every function takes the request's context, whose ``principal`` is the signed-in
user, and checks that user's rights through :mod:`lifecycle.domain.policy` before it reads a project
(``VIEW_PROJECT``) or changes one; a page therefore shows exactly what the user may see, and each
button is offered only when the same policy would accept the action.

Two derived-data caches keep pages fast on a large portfolio, the same way the gate sweep does: the
next-gate decision (shared with :func:`lifecycle.services.portfolio.sweep`, same key) and a
``portfolio_row`` (RAG, SPI/CPI, open high risks, next milestone, the people's e-mails) keyed by the
project's version, audit head, the date and the engine. The portfolio page reads only cached
decisions; when some are missing it starts one background sweep for the workspace and says so (the
page refreshes itself while it runs).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from lifecycle.documents import charts
from lifecycle.documents import views as doc_views
from lifecycle.documents.locale import LANGS, Formatter
from lifecycle.domain import policy
from lifecycle.domain.gates import Decision
from lifecycle.domain.metrics import project_metrics
from lifecycle.domain.model import Project
from lifecycle.errors import Forbidden, InvalidInput, LifecycleError, NotFound
from lifecycle.load.ruletests import run_pack_tests
from lifecycle.services import gates, portfolio
from lifecycle.services.context import Context
from lifecycle.services.delivery import find_document
from lifecycle.services.documents import document_content, verify_registered
from lifecycle.services.portfolio_rows import project_rows
from lifecycle.services.projects import load_rules, set_fields
from lifecycle.storage.protocol import ProjectSummary

SORTS = ("code", "name", "phase", "rag", "spi", "cpi", "risks", "milestone", "decision")
RAG_ORDER = {"red": 0, "amber": 1, "green": 2, "": 3}


def lang_of(locale: str) -> str:
    """``zh`` or ``en`` for a user's or a project's locale (the languages rule-pack texts are written in)."""
    return "zh" if locale.lower().startswith("zh") else "en"


def _text(value: Mapping[str, str] | None, lang: str) -> str:
    if not value:
        return ""
    return str(value.get(lang_of(lang)) or value.get("en") or value.get("zh") or "")


def _principal(ctx: Context) -> policy.Principal:
    p = ctx.principal
    if p is None:
        raise Forbidden("sign in first")
    return p


# ------------------------------------------------------------------ portfolio
@dataclass(frozen=True)
class PortfolioRow:
    code: str
    name: str
    client: str
    phase: str
    phase_label: str
    rag: str
    progress: float
    spi: float
    cpi: float
    high_risks: int
    milestone: str
    milestone_date: str
    next_gate: str
    next_gate_title: str
    decision: str  # go | conditional_go | no_go | "" (none or not yet swept)


@dataclass(frozen=True)
class SweepProgress:
    running: bool
    done: int
    total: int


@dataclass(frozen=True)
class PortfolioPage:
    rows: list[PortfolioRow]
    total: int
    phases: list[tuple[str, str]]  # (id, label) for the filter
    sweep: SweepProgress
    phase: str = ""
    rag: str = ""
    q: str = ""
    sort: str = "code"
    desc: bool = False


class _SweepJob:
    """One background sweep of a workspace; ``stats`` moves while it runs."""

    def __init__(self) -> None:
        self.stats = portfolio.SweepStats()
        self.total = 0
        self.thread: threading.Thread | None = None
        self.error = ""

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


_JOBS: dict[str, _SweepJob] = {}
_JOBS_LOCK = threading.Lock()


def start_sweep(ctx: Context, missing: int) -> SweepProgress:
    """Start a background sweep of the workspace unless one runs; its progress."""
    key = ctx.workspace.database_url
    with _JOBS_LOCK:
        job = _JOBS.get(key)
        if job is None or not job.running:
            job = _SweepJob()
            job.total = missing
            bg = Context(ctx.workspace, ctx.store, clock=ctx.clock, cache=ctx.cache)

            def run(job: _SweepJob = job) -> None:
                try:
                    portfolio.sweep(bg, stats=job.stats)
                except Exception as exc:  # a sweep failure must not kill the server; the page says it
                    job.error = str(exc)

            job.thread = threading.Thread(target=run, name="pmo-web-sweep", daemon=True)
            _JOBS[key] = job
            job.thread.start()
    return SweepProgress(True, job.stats.evaluated, max(job.total, 1))


def sweep_progress(ctx: Context) -> SweepProgress:
    job = _JOBS.get(ctx.workspace.database_url)
    if job is None or not job.running:
        return SweepProgress(False, 0, 0)
    return SweepProgress(True, job.stats.evaluated, max(job.total, 1))


def _cached_decisions(ctx: Context, summaries: Sequence[ProjectSummary]) -> dict[str, Decision | None]:
    """The next-gate decisions the sweep cache holds for the projects as they are now."""
    pack = load_rules(ctx)
    base = f"{portfolio.engine_fingerprint()}|{pack.hash}|{ctx.today().isoformat()}"
    waivers = ctx.store.all_records("waiver")
    votes = ctx.store.all_records("approval")
    keys = {
        s.code: portfolio.decision_key(
            base, s.code, s.version, s.audit_head, waivers.get(s.code, []), votes.get(s.code, [])
        )
        for s in summaries
    }
    return {code: _decision_of(entry) for code, (_, entry) in ctx.store.derived(portfolio.NEXT_GATE, keys).items()}


def _decision_of(entry: Mapping[str, Any]) -> Decision | None:
    return Decision.from_dict(entry["decision"]) if entry.get("decision") else None


def _visible(ctx: Context, summaries: list[ProjectSummary], rows: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Codes of the projects the user may see: all for a portfolio role, else those naming their e-mail
    (then confirmed against the policy with the project itself)."""
    who = _principal(ctx)
    if policy.allowed(who, policy.VIEW_PORTFOLIO):
        return [s.code for s in summaries]
    mail = who.email.strip().lower()
    maybe = [s.code for s in summaries if mail and mail in rows.get(s.code, {}).get("emails", ())]
    return [p.code for p in ctx.store.get_many(maybe) if policy.allowed(who, policy.VIEW_PROJECT, p)]


def _phase_labels(ctx: Context, lang: str) -> dict[str, str]:
    return {ph.id: ph.label(lang) for ph in load_rules(ctx).lifecycle.phases}


def portfolio_page(
    ctx: Context,
    *,
    lang: str = "en",
    phase: str = "",
    rag: str = "",
    q: str = "",
    sort: str = "code",
    desc: bool = False,
) -> PortfolioPage:
    """Every project the user may see with its figures and next-gate decision, filtered and sorted."""
    summaries = ctx.store.list_projects()
    rows = project_rows(ctx, summaries)
    visible = set(_visible(ctx, summaries, rows))
    shown = [s for s in summaries if s.code in visible]
    decisions = _cached_decisions(ctx, shown)
    labels = _phase_labels(ctx, lang)
    progress = sweep_progress(ctx)
    missing = len(shown) - len(decisions)
    if missing and not progress.running:
        progress = start_sweep(ctx, missing)
    moves = {t.name: _text(t.title, lang) or t.name for t in load_rules(ctx).lifecycle.transitions}
    out = [_portfolio_row(s, rows[s.code], decisions.get(s.code), labels, moves) for s in shown]
    out = [r for r in out if _matches(r, phase, rag, q)]
    out.sort(key=_sort_key(sort), reverse=desc)
    return PortfolioPage(
        out, len(shown), list(labels.items()), progress, phase, rag, q, sort if sort in SORTS else "code", desc
    )


def _portfolio_row(
    s: ProjectSummary, r: Mapping[str, Any], d: Decision | None, labels: Mapping[str, str], moves: Mapping[str, str]
) -> PortfolioRow:
    return PortfolioRow(
        code=s.code,
        name=str(r["name"]),
        client=str(r["client"]),
        phase=s.phase,
        phase_label=labels.get(s.phase, s.phase),
        rag=str(r["rag"]),
        progress=float(r["progress"]),
        spi=float(r["spi"]),
        cpi=float(r["cpi"]),
        high_risks=int(r["high_risks"]),
        milestone=str(r["milestone"]),
        milestone_date=str(r["milestone_date"]),
        next_gate=d.transition if d else "",
        next_gate_title=moves.get(d.transition, d.transition) if d else "",
        decision=d.decision if d else "",
    )


def _matches(r: PortfolioRow, phase: str, rag: str, q: str) -> bool:
    if phase and r.phase != phase:
        return False
    if rag and r.rag != rag:
        return False
    needle = q.strip().casefold()
    return not needle or needle in f"{r.code} {r.name} {r.client}".casefold()


def _sort_key(sort: str) -> Any:
    keys: dict[str, Any] = {
        "name": lambda r: r.name.casefold(),
        "phase": lambda r: (r.phase, r.code),
        "rag": lambda r: (RAG_ORDER.get(r.rag, 3), r.code),
        "spi": lambda r: (r.spi, r.code),
        "cpi": lambda r: (r.cpi, r.code),
        "risks": lambda r: (r.high_risks, r.code),
        "milestone": lambda r: (r.milestone_date or "9999", r.code),
        "decision": lambda r: (r.decision, r.code),
    }
    return keys.get(sort, lambda r: r.code)


def page_stamp(ctx: Context, code: str | None = None) -> str:
    """A stamp that changes whenever what a page shows may change ('' = do not reuse a page).

    For one project: the engine, the rule pack, the date, the project's version and the head of its
    audit chain (every change to the project, and every approval, waiver, document or other record,
    moves one of them). For the portfolio: the same over every project, and never while a sweep runs.
    """
    pack = load_rules(ctx)
    base = f"{portfolio.engine_fingerprint()}|{pack.hash}|{ctx.today().isoformat()}"
    summaries = ctx.store.list_projects()
    if code is not None:
        s = next((s for s in summaries if s.code == code), None)
        return f"{base}|{code}|{s.version}|{s.audit_head}" if s is not None else ""
    if sweep_progress(ctx).running:
        return ""
    h = hashlib.sha256(base.encode())
    for s in summaries:
        h.update(f"{s.code}:{s.version}:{s.audit_head};".encode())
    return h.hexdigest()


# ------------------------------------------------------------------ one project
def _project(ctx: Context, code: str, action: str = policy.VIEW_PROJECT) -> Project:
    """The project, if the user may ``action`` on it; an unknown and a forbidden project look alike."""
    who = _principal(ctx)
    try:
        project = ctx.store.get(code)
    except NotFound:
        raise NotFound(f"no project '{code}' that you may see") from None
    if not policy.allowed(who, policy.VIEW_PROJECT, project):
        raise NotFound(f"no project '{code}' that you may see")
    policy.require(who, action, project)
    return project


@dataclass(frozen=True)
class PhaseStep:
    id: str
    label: str
    state: str  # done | current | todo


@dataclass(frozen=True)
class ProjectPage:
    code: str
    name: str
    client: str
    description: str
    objectives: list[str]
    scope_in: list[str]
    scope_out: list[str]
    phase: str
    phase_label: str
    roles: list[str]
    people: dict[str, str]  # sponsor / pm / client rep names
    path: list[PhaseStep]
    history: list[dict[str, Any]]
    gantt: str  # inline SVG (Markup-safe: built by the chart builders, which escape every text)
    metrics: dict[str, Any]
    risks: list[dict[str, Any]]
    milestones: list[dict[str, Any]]
    deliverables: list[dict[str, Any]]
    documents: list[dict[str, Any]]
    audit: list[dict[str, Any]]
    next_gate: str
    can_record: bool
    currency: str


def project_page(ctx: Context, code: str, *, lang: str = "en") -> ProjectPage:
    p = _project(ctx, code)
    who = _principal(ctx)
    today = ctx.today()
    m = project_metrics(p, today)
    labels = _phase_labels(ctx, lang)
    names = _names(p)
    ch = p.charter
    return ProjectPage(
        code=p.code,
        name=ch.name,
        client=ch.client.name,
        description=ch.description,
        objectives=list(ch.objectives),
        scope_in=list(ch.scope_in),
        scope_out=list(ch.scope_out),
        phase=p.phase,
        phase_label=labels.get(p.phase, p.phase),
        roles=sorted(policy.project_roles(p, who)),
        people={
            "sponsor": names.get(ch.sponsor, ch.sponsor),
            "project_manager": names.get(ch.project_manager, ch.project_manager),
            "client_representative": names.get(ch.client_representative, ch.client_representative),
        },
        path=_path(ctx, p, labels),
        history=[r.data for r in ctx.store.records(p.code, "phase_change")],
        gantt=gantt_svg(p, today, lang),
        metrics=m,
        risks=[
            {**_plain(r), "score": r.score, "owner": names.get(r.owner, r.owner)}
            for r in sorted(p.risks, key=lambda r: (r.status != "open", -r.score, r.id))
        ],
        milestones=[_plain(ms) for ms in sorted(p.milestones, key=lambda ms: ms.date)],
        deliverables=[
            {"id": d.id, "name": d.name, "status": d.status, "due": d.due, "owner": names.get(d.owner, d.owner)}
            for d in p.deliverables
        ],
        documents=[
            _doc(d) for d in ctx.store.documents(p.code) if d.audience == "client" or policy.reads_internal(p, who)
        ],
        audit=[_event(e) for e in ctx.store.audit(p.code)[-50:]][::-1],
        next_gate=_next_move_name(ctx, p),
        can_record=policy.allowed(who, policy.RECORD_PROGRESS, p),
        currency=ch.currency,
    )


def _next_move_name(ctx: Context, p: Project) -> str:
    move = load_rules(ctx).machine.next_move(p.phase, p.phase_before_hold)
    return str(move.name) if move else ""


def _plain(item: Any) -> dict[str, Any]:
    return {name: getattr(item, name) for name in item.__dataclass_fields__}


def _names(p: Project) -> dict[str, str]:
    everyone: list[Any] = [*p.people, *p.contacts]
    return {str(x.id): str(x.name) for x in everyone}


def _doc(d: Any) -> dict[str, Any]:
    return {
        "id": d.id,
        "number": d.number,
        "kind": d.kind,
        "title": getattr(d, "title", "") or d.kind,
        "sha256": d.sha256,
        "issued_at": d.created_at.isoformat(timespec="minutes"),
    }


def _event(e: Any) -> dict[str, Any]:
    return {
        "at": e.at.isoformat(timespec="seconds") if hasattr(e.at, "isoformat") else str(e.at),
        "action": e.action,
        "actor": e.actor,
        "entity": f"{e.entity} {e.entity_id}".strip(),
        "data": e.data,
    }


def _path(ctx: Context, p: Project, labels: Mapping[str, str]) -> list[PhaseStep]:
    lc = load_rules(ctx).lifecycle
    main = [ph for ph in sorted(lc.phases, key=lambda ph: ph.order) if ph.kind != "hold" and ph.order >= 0]
    current = p.phase_before_hold or p.phase
    ids = [ph.id for ph in main]
    at = ids.index(current) if current in ids else -1
    return [
        PhaseStep(ph.id, labels.get(ph.id, ph.id), "done" if i < at else "current" if i == at else "todo")
        for i, ph in enumerate(main)
    ]


def gantt_svg(p: Project, today: date, lang: str) -> str:
    """The Gantt chart with the critical path, from the same builders the status report uses."""
    schedule, _ = doc_views._try_schedule(p, today)
    block = doc_views._gantt_block(p, schedule)
    if not block["rows"]:
        return ""
    fmt = Formatter(lang if lang in LANGS else "zh-CN" if lang_of(lang) == "zh" else "en", currency=p.charter.currency)
    return str(charts.gantt_chart(block["rows"], today=today, fmt=fmt, hidden=block["hidden"]))


# ------------------------------------------------------------------ gate
@dataclass(frozen=True)
class RuleLine:
    id: str
    title: str
    severity: str
    outcome: str
    message: str
    evidence: list[tuple[str, str]]
    source: str
    waiver: dict[str, Any] | None
    can_waive: bool


@dataclass(frozen=True)
class GatePage:
    code: str
    name: str
    phase: str
    transition: str
    title: str
    source: str
    dest: str
    decision: str
    results: list[RuleLine]
    counts: dict[str, int]
    approvals_required: bool
    approval_rule: str
    votes: list[dict[str, str]]
    voided: int
    missing: list[str]
    approve_roles: list[str]  # roles the user holds and may approve in, not yet used by them
    waive_roles: list[str]
    can_advance: bool
    allows_advance: bool
    project_version: int
    waiver_max_days: int
    today: date


def next_gate_decision(ctx: Context, p: Project) -> Decision | None:
    """The project's next-gate decision, from the sweep cache when its inputs are unchanged."""
    pack = load_rules(ctx)
    move = pack.machine.next_move(p.phase, p.phase_before_hold)
    if move is None:
        return None
    summary = next((s for s in ctx.store.list_projects() if s.code == p.code), None)
    waivers = ctx.store.records(p.code, "waiver")
    votes = ctx.store.records(p.code, "approval")
    base = f"{portfolio.engine_fingerprint()}|{pack.hash}|{ctx.today().isoformat()}"
    key = portfolio.decision_key(base, p.code, p.version, summary.audit_head if summary else "", waivers, votes)
    hit = ctx.store.derived(portfolio.NEXT_GATE, {p.code: key}).get(p.code)
    if hit is not None:
        return _decision_of(hit[1])
    d = gates.evaluate(ctx, p, move)
    ctx.store.put_derived(portfolio.NEXT_GATE, {p.code: (key, {"decision": d.to_dict(), "notes": list(d.notes)})})
    return d


def gate_page(ctx: Context, code: str, *, lang: str = "en") -> GatePage:
    p = _project(ctx, code)
    who = _principal(ctx)
    d = next_gate_decision(ctx, p)
    if d is None:
        raise NotFound(f"{code} has no next gate (phase {p.phase})")
    pack = load_rules(ctx)
    move = pack.machine.next_move(p.phase, p.phase_before_hold)
    req = move.transition.approvals if move else None
    names = _names(p)
    mine = policy.linked_ids(p, who)
    counted = {(v.role, v.by) for v in d.approvals.votes}
    approve_roles = [
        role
        for role in (req.roles if req and req.required else ())
        if policy.allowed(who, policy.APPROVE_GATE, p, gate_role=role)
        and not any((role, pid) in counted for pid in mine)
    ]
    waive_roles = [
        r for r in pack.waiver_policy.roles if policy.allowed(who, policy.WAIVE_RULE, p, rule_roles=frozenset({r}))
    ]
    return GatePage(
        code=p.code,
        name=p.charter.name,
        phase=p.phase,
        transition=d.transition,
        title=_text(move.transition.title, lang) if move else d.transition,
        source=d.from_phase,
        dest=d.to_phase,
        decision=d.decision,
        results=[_rule_line(r, lang, bool(waive_roles), names) for r in d.results],
        counts=d.counts(),
        approvals_required=d.approvals.required,
        approval_rule=d.approvals.rule,
        votes=[
            {"role": v.role, "by": names.get(v.by, v.by), "decision": v.decision, "comment": v.comment, "at": v.at}
            for v in d.approvals.votes
        ],
        voided=len(d.approvals.voided),
        missing=list(d.approvals.missing),
        approve_roles=approve_roles,
        waive_roles=waive_roles,
        can_advance=policy.allowed(who, policy.ADVANCE, p),
        allows_advance=d.allows_advance,
        project_version=p.version,
        waiver_max_days=pack.waiver_policy.max_days,
        today=ctx.today(),
    )


def _rule_line(r: Any, lang: str, can_waive: bool, names: Mapping[str, str]) -> RuleLine:
    return RuleLine(
        id=r.id,
        title=_text(r.title, lang) or r.id,
        severity=r.severity,
        outcome=r.outcome,
        message=r.message or r.error,
        evidence=[(e.id, e.label) for e in r.evidence],
        source=r.source,
        waiver={**r.waiver.to_dict(), "granted_by": names.get(r.waiver.granted_by, r.waiver.granted_by)}
        if r.waiver
        else None,
        can_waive=can_waive and r.outcome in ("fail", "error") and r.waiver is None,
    )


def _acting_as(p: Project, who: policy.Principal, role: str) -> str:
    """The id under which the user holds ``role`` in the project (their person or contact)."""
    for pid in sorted(policy.linked_ids(p, who) & policy.role_holders(p, role)):
        return pid
    raise Forbidden(f"{who.email} does not hold the role '{role}' in {p.code}")


def approve_gate(ctx: Context, code: str, *, role: str, comment: str = "", reject: bool = False) -> dict[str, Any]:
    """The signed-in user approves (or rejects) the next gate in one of their roles."""
    who = _principal(ctx)
    p = _project(ctx, code)
    policy.require(who, policy.APPROVE_GATE, p, gate_role=role)
    return gates.approve(ctx, code, role=role, by=_acting_as(p, who, role), comment=comment, reject=reject)


def waive_rule(ctx: Context, code: str, *, rule: str, role: str, reason: str, until: str) -> Any:
    who = _principal(ctx)
    p = _project(ctx, code)
    policy.require(who, policy.WAIVE_RULE, p, rule_roles=frozenset({role}))
    if not reason.strip():
        raise InvalidInput("a waiver needs a reason")
    try:
        expires = date.fromisoformat(until)
    except ValueError:
        raise InvalidInput("a waiver needs an expiry date (YYYY-MM-DD)") from None
    return gates.waive(ctx, code, rule=rule, role=role, by=_acting_as(p, who, role), reason=reason, until=expires)


def advance_project(ctx: Context, code: str, *, reason: str = "") -> dict[str, Any]:
    who = _principal(ctx)
    p = _project(ctx, code)
    policy.require(who, policy.ADVANCE, p)
    return gates.advance(ctx, code, reason=reason)


# ------------------------------------------------------------------ progress
@dataclass(frozen=True)
class TaskLine:
    id: str
    wbs: str
    name: str
    owner: str
    percent: float
    status: str
    level: int


def progress_tasks(ctx: Context, code: str) -> list[TaskLine]:
    """The leaf tasks a PM records progress on, in outline order."""
    p = _project(ctx, code, policy.RECORD_PROGRESS)
    names = _names(p)
    parents = {t.parent for t in p.tasks if t.parent}
    depth: dict[str, int] = {}
    for t in p.tasks:
        depth[t.id] = depth.get(t.parent, -1) + 1 if t.parent else 0
    return [
        TaskLine(t.id, t.wbs, t.name, names.get(t.owner, t.owner), t.percent_complete, t.status, depth[t.id])
        for t in p.tasks
        if t.id not in parents and not t.milestone and t.status != "cancelled"
    ]


def record_progress(ctx: Context, code: str, values: Mapping[str, str]) -> list[str]:
    """Set the percent complete of tasks (``task id → percent``); returns the ids that changed."""
    p = _project(ctx, code, policy.RECORD_PROGRESS)
    tasks = p.index("tasks")
    changed = []
    for tid, raw in values.items():
        if tid not in tasks:
            raise NotFound(f"project {code} has no task '{tid}'")
        pct = _percent(raw, tid)
        if pct == tasks[tid].percent_complete:
            continue
        fields_: dict[str, Any] = {"percent_complete": pct}
        if pct >= 100:
            fields_["status"] = "done"
            fields_["actual_finish"] = tasks[tid].actual_finish or ctx.today()
        elif pct > 0 and tasks[tid].status == "not_started":
            fields_["status"] = "in_progress"
        if pct > 0 and tasks[tid].actual_start is None:
            fields_["actual_start"] = ctx.today()
        set_fields(ctx, code, "tasks", tid, fields_, action="task.progress")
        changed.append(tid)
    return changed


def _percent(raw: str, tid: str) -> float:
    try:
        pct = float(raw)
    except ValueError:
        raise InvalidInput(f"task {tid}: percent complete must be a number from 0 to 100") from None
    if not 0 <= pct <= 100:
        raise InvalidInput(f"task {tid}: percent complete must be from 0 to 100, not {raw}")
    return pct


# ------------------------------------------------------------------ documents
def _readable_document(ctx: Context, code: str, doc_id: str) -> Any:
    """One of the project's documents the signed-in user may see: the PMO's internal version of a
    document only for the PMO and the project manager (to anyone else it does not exist)."""
    project = _project(ctx, code)
    doc = find_document(ctx, code, doc_id)
    if doc.audience == "internal" and not policy.reads_internal(project, _principal(ctx)):
        raise NotFound(f"project {code} has no document '{doc_id}'")
    return doc


def document_download(ctx: Context, code: str, doc_id: str) -> tuple[bytes, str]:
    """The bytes and file name of one of the project's documents (after the rights check): its file on
    this machine, else the copy stored in the database, either checked against the registered sha256."""
    doc = _readable_document(ctx, code, doc_id)
    _, data = document_content(ctx, doc.id, code)
    return data, f"{doc.id}.pdf"


def verify_project_document(ctx: Context, code: str, doc_id: str) -> dict[str, Any]:
    doc = _readable_document(ctx, code, doc_id)
    result = verify_registered(ctx, doc.id)
    return {k: v for k, v in vars(result).items() if not k.startswith("_")}


# ------------------------------------------------------------------ rules
@dataclass(frozen=True)
class RulesPage:
    name: str
    version: str
    hash: str
    root: str
    gates: list[dict[str, Any]]
    tests_passed: int
    tests_failed: int
    test_failures: list[dict[str, Any]]
    diff: list[dict[str, Any]] | None = None
    diff_compared: int = 0
    diff_dir: str = ""
    diff_error: str = ""


def rules_page(ctx: Context, *, lang: str = "en", diff_dir: str = "") -> RulesPage:
    """The active rule pack (rules by gate, severity, source), its tests' result, and optionally what a
    pack in ``diff_dir`` (inside :func:`review_roots`) would change on every project (read-only)."""
    policy.require(_principal(ctx), policy.REVIEW_RULES)
    pack = load_rules(ctx)
    report = _tests_report(ctx, pack, run_pack_tests)
    gates_out = [
        {
            "id": g.id,
            "title": _text(g.title, lang) or g.id,
            "rules": [
                {"id": r.id, "title": _text(r.title, lang), "severity": r.severity, "source": r.source, "file": r.file}
                for r in g.rules
            ],
        }
        for g in pack.gates.values()
    ]
    page = RulesPage(
        pack.name,
        pack.version,
        pack.hash,
        str(pack.root),
        gates_out,
        report.passed,
        report.failed,
        [{"name": r.name, "failures": list(r.failures)} for r in report.results if not r.passed],
    )
    return _with_diff(ctx, page, diff_dir) if diff_dir.strip() else page


def _tests_report(ctx: Context, pack: Any, run: Any) -> Any:
    key = f"pack-tests:{pack.hash}"
    if key not in ctx.cache:
        ctx.cache[key] = run(pack)
    return ctx.cache[key]


def review_roots(ctx: Context) -> list[Path]:
    """Where a pack under review may be read from: the workspace, and the folder holding the active
    pack (its sibling packs). A page never reads a folder elsewhere on the server."""
    return [ctx.workspace.root.resolve(), ctx.workspace.rules_dir.resolve().parent]


def _with_diff(ctx: Context, page: RulesPage, diff_dir: str) -> RulesPage:
    folder = Path(diff_dir.strip()).expanduser().resolve()
    roots = review_roots(ctx)
    if not any(folder.is_relative_to(root) for root in roots):
        where = " or ".join(str(r) for r in roots)
        return replace(page, diff_dir=diff_dir, diff_error=f"a pack to review must be in {where}")
    if not folder.is_dir():
        return replace(page, diff_dir=diff_dir, diff_error=f"no rule pack folder at {folder}")
    try:
        changes, n = portfolio.diff_packs(ctx, folder)
    except LifecycleError as exc:
        return replace(page, diff_dir=diff_dir, diff_error=str(exc))
    return replace(page, diff=[c.to_dict() for c in changes], diff_compared=n, diff_dir=diff_dir)

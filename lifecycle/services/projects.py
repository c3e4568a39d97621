"""Project use cases: init, apply, export, list, show, and the daily records a PM keeps.

``apply_files`` validates every file first (all problems of all files, nothing written if any), then
writes each project in its own transaction: created whole, or updated with exactly the entities that
changed, each change audited. The daily commands (task progress, risks, costs, status reports,
feedback ...) all go through :func:`update_project`, which re-validates the whole project, refuses a
change that would make it inconsistent, and saves with the version it read (optimistic concurrency).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifecycle.domain import policy
from lifecycle.domain.calendar import calendar_warnings
from lifecycle.domain.changes import Change, diff_projects
from lifecycle.domain.facts import facts_schema
from lifecycle.domain.fields import to_plain
from lifecycle.domain.metrics import project_metrics
from lifecycle.domain.model import SECTIONS, AuditEvent, DocumentRecord, Project, replace
from lifecycle.domain.schedule import schedule_calendar_warnings
from lifecycle.domain.validate import validate_project
from lifecycle.errors import ConcurrentUpdate, InvalidInput, NotFound, Problem, SpecError
from lifecycle.load.packfields import project_problems
from lifecycle.load.source import format_path
from lifecycle.services.context import Context, Workspace, open_context
from lifecycle.storage.protocol import ProjectSummary

if TYPE_CHECKING:  # the project-file reader is imported where files are read, not by every gate check
    from lifecycle.load.projectfile import ProjectFile


@dataclass
class ApplyResult:
    code: str
    file: str
    created: bool
    changes: list[Change] = field(default_factory=list)
    version: int = 0
    warnings: list[str] = field(default_factory=list)  # e.g. a year the holiday library does not know

    @property
    def unchanged(self) -> bool:
        return not self.created and not self.changes


def initial_phase(ctx: Context) -> str:
    return str(load_rules(ctx).lifecycle.initial)


def load_rules(ctx: Context) -> Any:
    """The workspace's rule pack, loaded once per context (parse once, evaluate many)."""
    key = f"pack:{ctx.workspace.rules_dir}"
    if key not in ctx.cache:
        # the pack loader brings the CEL library (~0.2 s): `pmo list` and `pmo show` never need it
        from lifecycle.load.rulepack import load_pack

        ctx.cache[key] = load_pack(ctx.workspace.rules_dir)
    return ctx.cache[key]


def _events_for(ctx: Context, code: str, changes: list[Change], source: str) -> list[AuditEvent]:
    now = ctx.now()
    if changes and changes[0].op == "create" and changes[0].section == "project":
        counts: dict[str, int] = {}
        for c in changes[1:]:
            counts[c.section] = counts.get(c.section, 0) + 1
        return [
            AuditEvent(code, "project.created", ctx.actor, now, "project", code, {"source": source, "counts": counts})
        ]
    return [
        AuditEvent(
            code,
            f"{c.section}.{c.op}d" if c.op != "update" else f"{c.section}.updated",
            ctx.actor,
            now,
            c.section,
            c.key,
            {"source": source, "fields": {k: list(v) for k, v in c.fields.items()}},
        )
        for c in changes
    ]


def _file_phase_problem(pf: ProjectFile, current: str, creating: bool) -> Problem | None:
    if pf.phase is None or pf.phase == current:
        return None
    verb = "starts in" if creating else "is in"
    return pf.source.problem(
        ("project", "phase"),
        f"the phase is changed only through its gate (`pmo advance`); "
        f"the project {verb} '{current}', the file says '{pf.phase}'",
    )


def _charter_only_code(pf: ProjectFile) -> bool:
    data = pf.source.data.get("project") if isinstance(pf.source.data, dict) else None
    return isinstance(data, dict) and set(data) <= {"code", "phase"}


def load_for_apply(
    paths: Sequence[str | Path], ctx: Context | None = None, stored: dict[str, Project] | None = None
) -> list[ProjectFile]:
    """Load and validate every file; one SpecError listing the problems of all of them.

    ``stored`` receives the stored projects the files update (read once, reused by ``apply_files``).
    """
    problems: list[Problem] = []
    loaded: list[ProjectFile] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            pf = _load_patchable(path, ctx, stored if stored is not None else {})
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        if pf.project.code in seen:
            problems.append(
                pf.source.problem(
                    ("project", "code"), f"project '{pf.project.code}' is also in {seen[pf.project.code]}"
                )
            )
        seen[pf.project.code] = str(path)
        loaded.append(pf)
    if problems:
        raise SpecError(problems)
    return loaded


def _load_patchable(path: str | Path, ctx: Context | None, stored: dict[str, Project]) -> ProjectFile:
    """Load a file; for a project that exists, the file is checked as applied over the stored one."""
    # the file readers bring YAML (see TYPE_CHECKING above): imported where files are read
    from lifecycle.load.projectfile import load_project_source
    from lifecycle.load.source import read_source

    source = read_source(path)
    data = source.data
    base = None
    if ctx is not None and isinstance(data, dict) and isinstance(data.get("project"), dict):
        code = data["project"].get("code")
        if isinstance(code, str) and ctx.store.exists(code):
            base = stored[code] = ctx.store.get(code)
    return load_project_source(source, base)


def _pack_value_problems(
    ctx: Context, files: Sequence[ProjectFile], existing: dict[str, Project], start: str
) -> list[Problem]:
    """Parameter overrides and custom field values checked against the workspace's rule pack."""
    pack = load_rules(ctx)
    order = [p.id for p in pack.lifecycle.phases]
    out = []
    for pf in files:
        current = existing.get(pf.project.code)
        phase = current.phase if current is not None else start
        reached = set(order[: order.index(phase) + 1]) if phase in order else set()
        sections = pf.sections | {"project"}
        for path, message in project_problems(pack.params, pack.fields, pf.project, sections, reached):
            out.append(pf.source.problem(path, message))
    return out


def apply_files(ctx: Context, paths: Sequence[str | Path], *, dry_run: bool = False) -> list[ApplyResult]:
    existing: dict[str, Project] = {}
    files = load_for_apply(paths, ctx, existing)
    start = initial_phase(ctx)
    # phase problems are user errors too: check them all before writing anything
    problems = []
    for pf in files:
        if pf.project.code in existing:
            prob = _file_phase_problem(pf, existing[pf.project.code].phase, False)
        else:
            prob = _file_phase_problem(pf, start, True)
            if _charter_only_code(pf):
                prob = pf.source.problem(
                    ("project",),
                    f"project '{pf.project.code}' does not exist yet: "
                    "a new project needs its whole charter (name, client ...)",
                )
        if prob:
            problems.append(prob)
    problems.extend(_pack_value_problems(ctx, files, existing, start))
    if problems:
        raise SpecError(problems)
    results = []
    for pf in files:
        code = pf.project.code
        current = existing.get(code)
        if current is None:
            new = replace(pf.project, phase=start)
            changes = diff_projects(None, new)
            if not dry_run:
                events = _events_for(ctx, code, changes, pf.source.file)
                new = ctx.store.save(new, expected_version=None, events=events)
            results.append(ApplyResult(code, pf.source.file, True, changes, new.version, _warnings(pf.project)))
            continue
        merged = replace(
            pf.project, phase=current.phase, phase_before_hold=current.phase_before_hold, version=current.version
        )
        changes = diff_projects(current, merged)
        version = current.version
        if changes and not dry_run:
            version = ctx.store.save(
                merged, expected_version=current.version, events=_events_for(ctx, code, changes, pf.source.file)
            ).version
        results.append(ApplyResult(code, pf.source.file, False, changes, version, _warnings(pf.project)))
    return results


def calendar_warnings_of(ctx: Context, code: str) -> list[str]:
    """The calendar warnings of project ``code`` as stored (a year the holiday library does not know;
    a schedule running past the years filled), for ``pmo gate check``."""
    return schedule_calendar_warnings(ctx.store.get(code))


def _warnings(project: Project) -> list[str]:
    return [f"{project.code}: {w}" for w in schedule_calendar_warnings(project)]


SETTINGS_TEMPLATE = (
    "# pmo workspace settings (see README: Settings)\n"
    "# database_url: postgresql://user@127.0.0.1:5432/pmo   # default: SQLite pmo.db in this folder\n"
    "# rules: ../rules/default                                # default: the shipped rule pack\n"
    "documents_dir: documents\n"
    "supplier: {}\n"
)


@dataclass(frozen=True)
class InitResult:
    root: Path
    database: str  # the database URL without its password
    projects: int
    rules: Path
    users: int = 0


def init_workspace(workspace: Workspace, rules: str | None = None) -> InitResult:
    """Create the workspace folder, its settings file (if missing) and its database schema.

    With ``rules`` (``pmo --rules DIR init``) the pack is checked, then saved in the settings, so
    every later command uses it without ``--rules``.
    """
    if rules:
        from lifecycle.load.rulepack import load_pack  # the loader only when a pack is named

        load_pack(rules)  # a pack that does not load is not saved (SpecError lists its problems)
    workspace.root.mkdir(parents=True, exist_ok=True)
    settings = workspace.root / "settings.yaml"
    if not settings.exists():
        settings.write_text(SETTINGS_TEMPLATE, encoding="utf-8")
    if rules:
        _save_rules_setting(settings, str(Path(rules).resolve()))
    from lifecycle.services.audit_key import create_audit_key

    create_audit_key(workspace)  # seals audit events: made once, kept outside the database
    with open_context(workspace, create=True) as ctx:
        n = len(ctx.store.list_projects())
        users = len(ctx.store.list_users())
    # lazy: the storage module's SQLAlchemy import and the client-link module are paid by init only
    from lifecycle.services.client_acceptance import workspace_secret
    from lifecycle.storage.sql import safe_url

    workspace_secret(workspace)  # signs client links: made once, readable by the owner only
    return InitResult(workspace.root, safe_url(workspace.database_url), n, workspace.rules_dir, users)


def _save_rules_setting(settings: Path, folder: str) -> None:
    """``rules: FOLDER`` in the settings file, replacing an active ``rules:`` line, comments kept."""
    from lifecycle.load.files import read_regular_text  # a settings file is a user's file: regular, limited

    lines = read_regular_text(settings).splitlines()
    kept = [line for line in lines if not line.startswith("rules:")]
    kept.append(f"rules: {json.dumps(folder)}")
    settings.write_text("\n".join(kept) + "\n", encoding="utf-8")


def schema(what: str, pack_dir: str | None = None) -> dict[str, Any]:
    """The JSON Schema of project files (``project``) or of the gate facts (``facts``); with a rule
    pack's folder, its parameters and custom fields are declared too."""
    if what not in ("project", "facts"):
        raise InvalidInput(f"unknown schema '{what}' (project or facts)")
    if what == "project":
        from lifecycle.load.projectfile import json_schema  # lazy like every project-file import here (YAML)

        out = json_schema()
    else:
        out = facts_schema()
    if pack_dir:
        from lifecycle.load.packfields import extended_schema, project_file_schema
        from lifecycle.load.rulepack import load_pack

        pack = load_pack(pack_dir)
        extend = extended_schema if what == "facts" else project_file_schema
        out = extend(out, pack.params, pack.fields)
    return out


def export_project(ctx: Context, code: str, fmt: str = "yaml") -> str:
    if fmt not in ("yaml", "json"):
        raise InvalidInput(f"unknown format '{fmt}' (yaml or json)")
    from lifecycle.load.projectfile import dump_project  # YAML, as above

    return dump_project(ctx.store.get(code), fmt)


def get_project(ctx: Context, code: str) -> Project:
    """The project as stored now (a frozen dataclass tree a face reads)."""
    return ctx.store.get(code)


@dataclass(frozen=True)
class ProjectTally:
    """How much a project has on record: phase, audit events, gate reviews and issued documents."""

    code: str
    phase: str
    audit_events: int
    gate_reviews: int
    documents: tuple[DocumentRecord, ...]


def tally(ctx: Context, codes: Sequence[str]) -> tuple[list[ProjectTally], list[str]]:
    """The tally of each project and the problems of the whole audit trail (empty: intact)."""
    rows = [
        ProjectTally(
            code,
            ctx.store.get(code).phase,
            len(ctx.store.audit(code)),
            len(ctx.store.records(code, "gate_review")),
            tuple(ctx.store.documents(code)),
        )
        for code in codes
    ]
    return rows, ctx.store.verify_audit()


def list_projects(ctx: Context) -> list[ProjectSummary]:
    return ctx.store.list_projects()


def summary(ctx: Context, code: str) -> dict[str, Any]:
    """The one-screen summary of ``pmo show`` as plain data."""
    p = ctx.store.get(code)
    today = ctx.today()
    m = project_metrics(p, today)
    people = p.index("people")
    contacts = p.index("contacts")

    def who(pid: str) -> str:
        if pid in people:
            return str(people[pid].name)
        if pid in contacts:
            return str(contacts[pid].name)
        return pid

    risks = sorted((r for r in p.risks if r.status == "open"), key=lambda r: (-r.score, r.id))[:5]
    upcoming = sorted((ms for ms in p.milestones if ms.status != "done"), key=lambda ms: ms.date)[:4]
    reports = sorted(p.status_reports, key=lambda r: r.date)
    return {
        "code": p.code,
        "name": p.charter.name,
        "client": p.charter.client.name,
        "phase": p.phase,
        "on_hold_from": p.phase_before_hold,
        "version": p.version,
        "locale": p.charter.locale,
        "currency": p.charter.currency,
        "start": p.charter.start,
        "finish": p.charter.finish,
        "today": today,
        "project_manager": who(p.charter.project_manager),
        "sponsor": who(p.charter.sponsor),
        "client_representative": who(p.charter.client_representative),
        "metrics": m,
        "top_risks": [
            {
                "id": r.id,
                "title": r.title,
                "score": r.score,
                "owner": who(r.owner),
                "strategy": r.strategy,
                "review_date": r.review_date,
            }
            for r in risks
        ],
        "next_milestones": [
            {"id": ms.id, "name": ms.name, "date": ms.date, "kind": ms.kind, "days": (ms.date - today).days}
            for ms in upcoming
        ],
        "last_status_report": (
            {"id": reports[-1].id, "date": reports[-1].date, "overall": reports[-1].overall} if reports else None
        ),
        "counts": {name: len(p.section(name)) for name in SECTIONS if p.section(name)},
        "calendar": {"country": p.calendar.country, "region": p.calendar.region},
        "warnings": calendar_warnings(p.calendar, _finish_of(m)),
    }


def _finish_of(metrics: dict[str, Any]) -> date | None:
    finish = metrics.get("project_finish")
    return date.fromisoformat(finish) if isinstance(finish, str) else None


# ---------------------------------------------------------------- daily records
def _may_record(ctx: Context, project: Project) -> None:
    who = ctx.principal
    if who is not None and policy.PMO_ADMIN not in who.global_roles:
        policy.require(who, policy.RECORD_PROGRESS, project)


def update_project(
    ctx: Context,
    code: str,
    change: Callable[[Project], Project],
    *,
    action: str,
    entity: str,
    entity_id: str,
    data: dict[str, Any] | None = None,
) -> Project:
    """Apply ``change`` to the stored project, validate the result, save it with one audit event.

    A signed-in user must hold a role that records progress on this project (the PM or the team), or be
    a PMO administrator; with nobody signed in (embedded mode, flows) the workspace owner acts.

    ``change`` is applied to the project as stored when the save begins; when another writer saved in
    between (two flow runs of one project on two workers), it is applied again to the newer version, a
    few times at most, so independent changes never fail each other and none is lost.
    """
    for attempt in range(_SAVE_ATTEMPTS):
        try:
            return _update_once(
                ctx, code, change, AuditEvent(code, action, ctx.actor, ctx.now(), entity, entity_id, {}), data
            )
        except ConcurrentUpdate:
            if attempt == _SAVE_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0, 0.02 * (attempt + 1)))  # let the other writer finish its save
    raise AssertionError("unreachable")  # pragma: no cover


_SAVE_ATTEMPTS = 8


def _update_once(
    ctx: Context, code: str, change: Callable[[Project], Project], ev: AuditEvent, data: dict[str, Any] | None
) -> Project:
    current = ctx.store.get(code)
    _may_record(ctx, current)
    new = change(current)
    findings = validate_project(new)
    if findings:
        raise SpecError(
            [Problem(f"project {code}", None, format_path(path), msg) for path, msg in findings],
            "the change would make the project inconsistent, nothing was written",
        )
    changes = diff_projects(current, new)
    if not changes:
        return current
    details = dict(data or {})
    details["changes"] = [
        {"section": c.section, "key": c.key, "op": c.op, "fields": {k: list(v) for k, v in c.fields.items()}}
        for c in changes
    ]
    saved: Project = ctx.store.save(new, expected_version=current.version, events=[replace(ev, data=details)])
    return saved


def upsert(project: Project, section: str, item: Any) -> Project:
    """The project with ``item`` added to ``section`` or replacing the item with its id."""
    items = list(project.section(section))
    for i, old in enumerate(items):
        if old.id == item.id:
            items[i] = item
            break
    else:
        items.append(item)
    out: Project = replace(project, **{section: tuple(items)})
    return out


def get_item(project: Project, section: str, item_id: str) -> Any:
    for item in project.section(section):
        if item.id == item_id:
            return item
    known = ", ".join(sorted(i.id for i in project.section(section))[:12])
    raise NotFound(
        f"project {project.code} has no {section.replace('_', ' ').rstrip('s')} '{item_id}'"
        + (f" (known: {known}{' …' if len(project.section(section)) > 12 else ''})" if known else "")
    )


def next_id(project: Project, section: str, prefix: str) -> str:
    n = len(project.section(section)) + 1
    existing = {i.id for i in project.section(section)}
    while f"{prefix}-{n:03d}" in existing:
        n += 1
    return f"{prefix}-{n:03d}"


def set_fields(
    ctx: Context,
    code: str,
    section: str,
    item_id: str,
    values: dict[str, Any],
    *,
    action: str,
    data: dict[str, Any] | None = None,
) -> Any:
    """Change some fields of one entity (values already typed); returns the new entity. ``data`` adds to
    what the audit event says (the changed ``values`` are always in it)."""

    def change(p: Project) -> Project:
        item = get_item(p, section, item_id)
        try:
            return upsert(p, section, replace(item, **values))
        except TypeError as exc:
            raise InvalidInput(str(exc)) from exc

    p = update_project(
        ctx,
        code,
        change,
        action=action,
        entity=section,
        entity_id=item_id,
        data={"values": to_plain(values), **(data or {})},
    )
    return get_item(p, section, item_id)


def add_item(ctx: Context, code: str, section: str, item: Any, *, action: str, replace_existing: bool = False) -> Any:
    def change(p: Project) -> Project:
        if not replace_existing and any(i.id == item.id for i in p.section(section)):
            raise InvalidInput(f"{section.replace('_', ' ')} '{item.id}' already exists in {code}")
        return upsert(p, section, item)

    update_project(ctx, code, change, action=action, entity=section, entity_id=item.id)
    return item

"""A seeded generator of realistic synthetic client projects and portfolios for the benchmarks.

Every project is built straight into the frozen model (:class:`~lifecycle.domain.model.Project`), so
a benchmark can store it, dump it as a project file or build its facts without a parse in between.
The same ``(code, seed)`` always gives the same project, and every project passes
:func:`~lifecycle.domain.validate.validate_project`.

Proportions follow the sample projects in ``examples/`` (per 100 tasks: ~105 links, ~140
assignments, ~10 risks, ~6 deliverables with 2-4 acceptance criteria each, a milestone per top-level
WBS phase), with the state a project of its phase would have on :data:`TODAY`:

* a WBS of top-level phases, work packages (summary tasks) and leaf tasks with owners, dates, effort
  and progress consistent with ``today`` (done before it, in progress across it, a few overdue);
* links between leaf tasks only, always from an earlier to a later leaf (so never a cycle): a
  finish-to-start chain inside each work package plus cross-package links, ~85 % FS, the rest SS, FF
  and a few SF, ~10 % with a lag or a lead;
* people with roles, rates and capacity; contacts on the client side; materials; budget lines by
  category; monthly costs up to today; periodic status reports, meetings with action items;
  change requests; risks (probability x impact, a response and an owner for most); issues;
  requirements; quality standards; quality checks (some failing, with improvement actions) on
  delivered items; acceptance records, sign-offs, lessons, handover items and training when the
  phase has them.

:func:`schedule_network` makes the flat finish-to-start network of the critical-path workload.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from lifecycle.domain.model import (
    AcceptanceCriterion,
    AcceptanceRecord,
    ActionItem,
    Assignment,
    Baseline,
    BaselineTask,
    BudgetLine,
    Calendar,
    ChangeRequest,
    Charter,
    Contact,
    CostEntry,
    Deliverable,
    Feedback,
    HandoverItem,
    ImprovementAction,
    Issue,
    Lesson,
    Material,
    Meeting,
    Milestone,
    Organisation,
    Person,
    Project,
    QualityCheck,
    QualityStandard,
    Requirement,
    Risk,
    Signoff,
    StatusReport,
    Survey,
    Task,
    TaskLink,
    Training,
)

GENERATOR_VERSION = 1
"""Bump when what the generator makes changes: cached portfolio databases are keyed by it."""

TODAY = date(2026, 9, 15)
"""The fixed 'today' of every benchmark (set as PMO_TODAY for the commands it runs)."""

PHASES = ("initiation", "planning", "execution", "control", "closure")
PHASE_WEIGHTS = (0.12, 0.18, 0.38, 0.17, 0.15)
# how far through its planned span a project of each phase is on TODAY
PHASE_ELAPSED = {
    "initiation": (-0.15, -0.02),
    "planning": (0.0, 0.08),
    "execution": (0.15, 0.65),
    "control": (0.6, 0.9),
    "closure": (0.96, 1.02),
}

_CLIENTS = (
    "杭州精密机械股份有限公司",
    "Northwind Logistics Ltd",
    "苏州新材料科技有限公司",
    "Contoso Retail GmbH",
    "宁波港口集团",
    "Fabrikam Health AG",
    "成都智能装备有限公司",
    "Tailspin Airports plc",
)
_PHASE_NAMES = (
    "Project management",
    "Discovery",
    "Design",
    "Build",
    "Integration",
    "Testing",
    "Deployment",
    "Training",
    "Data migration",
    "Go-live support",
    "Acceptance",
    "Closure",
)
_VERBS = (
    "Specify",
    "Design",
    "Build",
    "Configure",
    "Integrate",
    "Test",
    "Review",
    "Migrate",
    "Document",
    "Deploy",
    "Prepare",
    "Validate",
)
_OBJECTS = (
    "order intake",
    "MES interface",
    "warehouse scanning",
    "shop-floor terminals",
    "quality module",
    "reporting",
    "ERP bridge",
    "label printing",
    "user roles",
    "data model",
    "OEE dashboard",
    "equipment adapters",
    "traceability",
    "batch records",
    "alerts",
    "mobile app",
)
_DELIVERABLE_KINDS = ("specification", "software", "report", "manual", "design")
_ROLES = (
    "project manager",
    "architect",
    "developer",
    "developer",
    "developer",
    "tester",
    "business analyst",
    "data engineer",
    "trainer",
    "integration engineer",
)
_SKILLS = ("python", "sql", "plc", "opc-ua", "sap", "testing", "training", "linux", "networking", "ux")
_RISK_TITLES = (
    "Legacy equipment cannot be connected",
    "Key user availability during harvest season",
    "Interface specification of the ERP not frozen",
    "Hardware delivery delayed by supplier",
    "Data quality of master data too low for migration",
    "Scope creep from plant managers",
    "Network coverage in the warehouse insufficient",
    "Licence costs above estimate",
    "Key developer may leave",
    "Regulatory audit during go-live window",
)
_CATEGORIES = ("labour", "materials", "equipment", "subcontract", "travel", "licences", "contingency", "other")
_RISK_CATEGORIES = ("technical", "resource", "schedule", "cost", "scope", "external", "client", "quality", "legal")


def _pick_phase(rng: random.Random) -> str:
    return rng.choices(PHASES, weights=PHASE_WEIGHTS)[0]


def _d(day: date, n: float) -> date:
    return day + timedelta(days=int(n))


@dataclass(slots=True)
class _Gen:
    """What every step of one project's generation shares: its random stream, phase, team and dates.

    The steps draw from ``rng`` one after the other, in the order :func:`generate_project` calls them;
    that order is part of the output (the same ``(code, seed)`` gives the same project), so a step
    never draws ahead of or behind another one.
    """

    rng: random.Random
    phase: str
    today: date
    n_tasks: int
    pids: list[str]
    start: date
    span: int  # calendar days
    elapsed: float  # share of the span behind ``today``
    finish: date
    k: int  # top-level WBS phases


@dataclass(slots=True)
class _Wbs:
    """The plan as it is laid out: task rows in WBS order and the indexes the later steps work on."""

    tasks: list[dict[str, Any]] = field(default_factory=list)
    leaves: list[int] = field(default_factory=list)  # indexes into tasks, in creation (= topological) order
    milestones: list[int] = field(default_factory=list)  # the milestone closing each top-level phase
    packages: list[list[int]] = field(default_factory=list)  # the leaves of each work package


_QUALITY_STANDARDS = (
    QualityStandard(
        id="QS-01",
        name="Functional suitability",
        reference="GB/T 25000.51-2016",
        metric="share of test cases passed",
        target=">= 98 %",
    ),
    QualityStandard(
        id="QS-02",
        name="Performance efficiency",
        reference="ISO/IEC 25010",
        metric="95th percentile response time",
        target="< 2 s",
    ),
    QualityStandard(id="QS-03", name="Documentation", reference="GB/T 8567-2006"),
    QualityStandard(id="QS-04", name="Security", reference="GB/T 22239-2019 level 2"),
    QualityStandard(id="QS-05", name="Usability", reference="ISO 9241-11", metric="SUS score", target=">= 70"),
)
_CRITERIA = (
    "All confirmed requirements covered by test cases",
    "No open defect of severity 1 or 2",
    "Signed off by the client's key users",
    "Response time under 2 s for 95 % of requests",
    "Documentation reviewed and approved",
)


def generate_project(
    code: str,
    *,
    seed: int = 1,
    tasks: int = 200,
    risks: int | None = None,
    deliverables: int | None = None,
    phase: str | None = None,
    today: date = TODAY,
) -> Project:
    """One realistic project with ``tasks`` tasks (summaries included), deterministic in (code, seed)."""
    rng = random.Random(f"{seed}:{code}")
    phase = phase or _pick_phase(rng)
    n_tasks = max(tasks, 8)
    n_risks = risks if risks is not None else max(3, n_tasks // 10)
    n_deliv = deliverables if deliverables is not None else max(3, n_tasks // 17)
    zh = rng.random() < 0.5

    # the steps below draw from rng in this order; reordering them changes every generated project
    people = _people(rng, n_tasks, zh)
    client = rng.choice(_CLIENTS)
    contacts = _contacts(client)
    g = _frame(rng, phase, today, n_tasks, [p.id for p in people])
    wbs = _build_wbs(g)
    producers, deliv_rows = _place_deliverables(g, wbs, n_deliv)
    built_tasks = _build_tasks(g, wbs.tasks, producers)
    links = _build_links(g, wbs)
    deliverable_list, checks, improvements, deliv_phase = _deliverables(g, wbs.tasks, built_tasks, deliv_rows)
    milestones = _milestones(g, wbs.milestones, built_tasks, deliv_phase)
    acceptance = _acceptance(g, deliverable_list, deliv_phase)
    assignments = _assignments(g, wbs.leaves, built_tasks)
    materials = _materials(g, wbs.leaves, built_tasks)
    budget, budget_total = _budget(g, built_tasks, people)
    costs = _costs(g, budget_total)
    reports, meetings = _reports_and_meetings(g)
    changes = _change_requests(g)
    risk_list = _risks(g, n_risks)
    issues = _issues(g)
    requirements = _requirements(g, deliverable_list, [c.id for c in contacts])
    feedback = _feedback(g, reports)
    surveys = _surveys(g)
    lessons, signoffs, handover, training = _closure(g, milestones, costs)
    return Project(
        charter=_charter(g, code, client, zh, budget_total),
        phase=phase,
        calendar=Calendar(holidays=(date(2026, 10, 1), date(2026, 10, 2))),
        contacts=contacts,
        people=people,
        materials=materials,
        tasks=tuple(built_tasks),
        links=tuple(links),
        deliverables=tuple(deliverable_list),
        milestones=tuple(milestones),
        assignments=tuple(assignments),
        budget=tuple(budget),
        costs=tuple(costs),
        baselines=_baselines(g, budget_total, built_tasks),
        status_reports=tuple(reports),
        meetings=tuple(meetings),
        change_requests=changes,
        risks=tuple(risk_list),
        issues=issues,
        requirements=requirements,
        feedback=feedback,
        surveys=surveys,
        quality_standards=_QUALITY_STANDARDS,
        quality_checks=tuple(checks),
        improvement_actions=tuple(improvements),
        acceptance_records=tuple(acceptance),
        signoffs=signoffs,
        lessons=lessons,
        handover_items=handover,
        training=training,
    )


# ----------------------------------------------------------------- parties


def _people(rng: random.Random, n_tasks: int, zh: bool) -> tuple[Person, ...]:
    n_people = max(4, min(80, n_tasks // 5))
    return tuple(
        Person(
            id=f"p{i:03d}",
            name=f"Person {i:03d}",
            role=_ROLES[i % len(_ROLES)] if i else "project manager",
            skills=tuple(rng.sample(_SKILLS, 2)),
            capacity_hours_per_week=rng.choice((40.0, 40.0, 32.0, 20.0)),
            rate=Decimal(rng.choice((380, 450, 520, 600, 750)) if zh else rng.choice((65, 80, 95, 120))),
            email=f"p{i:03d}@supplier.example",
        )
        for i in range(n_people)
    )


def _contacts(client: str) -> tuple[Contact, ...]:
    return (
        Contact(
            id="c-sponsor",
            name="Client Sponsor",
            organisation=client,
            role="sponsor",
            title="COO",
            email="sponsor@client.example",
        ),
        Contact(
            id="c-rep",
            name="Client Representative",
            organisation=client,
            role="client_representative",
            title="IT manager",
            email="rep@client.example",
        ),
        Contact(id="c-keyuser1", name="Key User One", organisation=client, role="key_user"),
        Contact(id="c-keyuser2", name="Key User Two", organisation=client, role="key_user"),
        Contact(id="c-steer", name="Steering Member", organisation=client, role="steering"),
        Contact(id="c-qa", name="Client QA", organisation=client, role="quality"),
    )


# ----------------------------------------------------------------- the plan


def _frame(rng: random.Random, phase: str, today: date, n_tasks: int, pids: list[str]) -> _Gen:
    """The project's span and start, placed so that ``today`` falls where its phase puts it."""
    span = min(730, 150 + n_tasks // 2)
    lo, hi = PHASE_ELAPSED[phase]
    elapsed = rng.uniform(lo, hi)
    start = today - timedelta(days=int(span * elapsed))
    start -= timedelta(days=start.weekday())  # projects start on a Monday
    finish = start + timedelta(days=span)
    k = max(3, min(12, round(n_tasks**0.4)))
    return _Gen(rng, phase, today, n_tasks, pids, start, span, elapsed, finish, k)


def _package_sizes(rng: random.Random, remaining: int) -> list[int]:
    """The number of leaves of each work package; each package also has a summary task."""
    packages: list[int] = []
    while remaining > 0:
        m = rng.randint(3, 8)
        if remaining - (m + 1) < 2:
            m = max(1, remaining - 1)
        packages.append(m)
        remaining -= m + 1
    return packages


def _build_wbs(g: _Gen) -> _Wbs:
    """Top-level phases, each with its work packages (1 summary + m leaves) and a closing milestone."""
    k = g.k
    packages = _package_sizes(g.rng, g.n_tasks - k - k)  # k phase summaries, k milestone tasks
    phase_of_pkg = [min(k - 1, i * k // max(1, len(packages))) for i in range(len(packages))]
    wbs = _Wbs()
    pkg_index = 0
    for ph in range(k):
        ph_start = _d(g.start, g.span * ph / k * 0.9)
        ph_end = _d(g.start, g.span * (ph + 1) / k)
        wbs.tasks.append(
            {
                "id": f"T{ph + 1}",
                "name": _PHASE_NAMES[ph % len(_PHASE_NAMES)],
                "wbs": str(ph + 1),
                "parent": "",
                "owner": g.pids[0],
                "summary": True,
            }
        )
        wp_no = 0
        while pkg_index < len(packages) and phase_of_pkg[pkg_index] == ph:
            wp_no += 1
            wbs.packages.append(_add_work_package(g, wbs, ph, wp_no, packages[pkg_index], ph_start, ph_end))
            pkg_index += 1
        _add_phase_milestone(g, wbs, ph, wp_no, ph_end)
    return wbs


def _add_work_package(g: _Gen, wbs: _Wbs, ph: int, wp_no: int, m: int, ph_start: date, ph_end: date) -> list[int]:
    """A summary task and ``m`` consecutive leaves from a random point in the first half of the phase."""
    rng, task_list, pids = g.rng, wbs.tasks, g.pids
    number = f"{ph + 1}.{wp_no}"
    task_list.append(
        {
            "id": f"T{number}",
            "name": f"{rng.choice(_OBJECTS).capitalize()} package",
            "wbs": number,
            "parent": f"T{ph + 1}",
            "owner": rng.choice(pids),
            "summary": True,
        }
    )
    cursor = _d(ph_start, rng.uniform(0, max(1, (ph_end - ph_start).days * 0.5)))
    mine = []
    for j in range(m):
        dur = rng.choice((2, 3, 5, 5, 8, 10, 15))
        s = cursor
        f = _d(s, dur * 7 / 5)
        cursor = _d(f, 1)
        mine.append(len(task_list))
        task_list.append(
            {
                "id": f"T{number}.{j + 1}",
                "name": f"{rng.choice(_VERBS)} {rng.choice(_OBJECTS)}",
                "wbs": f"{number}.{j + 1}",
                "parent": f"T{number}",
                "owner": rng.choice(pids),
                "start": s,
                "finish": f,
                "duration": dur,
                "effort": float(dur * 8 * rng.choice((0.5, 1, 1, 1.5, 2))),
            }
        )
    wbs.leaves.extend(mine)
    return mine


def _add_phase_milestone(g: _Gen, wbs: _Wbs, ph: int, wp_no: int, ph_end: date) -> None:
    """The milestone closing phase ``ph``, on the last finish of its ``wp_no`` work packages."""
    task_list = wbs.tasks
    last_finish = (
        max((task_list[i]["finish"] for pl in wbs.packages[-wp_no:] for i in pl), default=ph_end) if wp_no else ph_end
    )
    ms = len(task_list)
    task_list.append(
        {
            "id": f"T{ph + 1}.M",
            "name": f"{_PHASE_NAMES[ph % len(_PHASE_NAMES)]} complete",
            "wbs": f"{ph + 1}.{wp_no + 1}",
            "parent": f"T{ph + 1}",
            "owner": g.pids[0],
            "start": last_finish,
            "finish": last_finish,
            "duration": 0,
            "effort": 0.0,
            "milestone": True,
        }
    )
    wbs.leaves.append(ms)
    wbs.milestones.append(ms)


def _place_deliverables(g: _Gen, wbs: _Wbs, n_deliv: int) -> tuple[dict[int, str], list[tuple[str, int]]]:
    """Deliverables produced by the last leaf of evenly spread work packages (extra ones by any leaf).

    Returns the deliverable ids by producing task index (comma-separated) and ``(id, producer)`` rows.
    """
    rng, pkg_leaves, leaves = g.rng, wbs.packages, wbs.leaves
    producers: dict[int, str] = {}
    step = max(1, len(pkg_leaves) / max(1, n_deliv))
    deliv_rows: list[tuple[str, int]] = []
    for i in range(n_deliv):
        pl = pkg_leaves[min(len(pkg_leaves) - 1, int(i * step))] if pkg_leaves else [leaves[0]]
        producer = pl[-1] if i * step < len(pkg_leaves) else rng.choice(leaves)
        did = f"D{i + 1:03d}"
        producers.setdefault(producer, "")
        producers[producer] += ("," if producers[producer] else "") + did
        deliv_rows.append((did, producer))
    return producers, deliv_rows


# ----------------------------------------------------------------- task states


def _task_state(
    rng: random.Random, s: date, f: date, milestone: bool, today: date
) -> tuple[str, float, date | None, date | None]:
    """Status, percent complete, actual start and finish of a leaf planned from ``s`` to ``f``."""
    status, pct, a_s, a_f = "not_started", 0.0, None, None
    if f < today:
        if rng.random() < 0.93:
            status, pct, a_s, a_f = "done", 100.0, s, _d(f, rng.choice((0, 0, 0, 1, 2, -1)))
            if a_f < s:
                a_f = s
            if a_f > today:
                a_f = today
        else:
            status, pct, a_s = "in_progress", float(rng.choice((50, 70, 80, 90))), s
    elif s <= today:
        frac = ((today - s).days + 1) / ((f - s).days + 1)
        status, pct, a_s = "in_progress", round(max(5.0, min(95.0, 100 * frac + rng.uniform(-20, 10))), 0), s
    if milestone and status == "in_progress":
        status, pct = "not_started", 0.0
    return status, pct, a_s, a_f


def _build_tasks(g: _Gen, task_list: list[dict[str, Any]], producers: dict[int, str]) -> list[Task]:
    rng, today = g.rng, g.today
    built_tasks: list[Task] = []
    for i, t in enumerate(task_list):
        if t.get("summary"):
            built_tasks.append(Task(id=t["id"], name=t["name"], wbs=t["wbs"], parent=t["parent"], owner=t["owner"]))
            continue
        s, f = t["start"], t["finish"]
        status, pct, a_s, a_f = _task_state(rng, s, f, bool(t.get("milestone")), today)
        built_tasks.append(
            Task(
                id=t["id"],
                name=t["name"],
                wbs=t["wbs"],
                parent=t["parent"],
                owner=t["owner"],
                start=s,
                finish=f,
                duration_days=float(t["duration"]),
                effort_hours=t["effort"],
                percent_complete=pct,
                status=status,
                actual_start=a_s,
                actual_finish=a_f,
                milestone=bool(t.get("milestone")),
                deliverables=tuple(producers[i].split(",")) if i in producers else (),
                notes="" if rng.random() < 0.8 else "Agreed with the client's key users in the weekly meeting",
            )
        )
    return built_tasks


# ----------------------------------------------------------------- links


class _Links:
    """The links of a plan as they are drawn: each pair once, its type and lag drawn when it is added."""

    __slots__ = ("links", "rng", "seen", "tasks")

    def __init__(self, rng: random.Random, tasks: list[dict[str, Any]]) -> None:
        self.rng = rng
        self.tasks = tasks
        self.links: list[TaskLink] = []
        self.seen: set[tuple[str, str]] = set()

    def add(self, a: int, b: int) -> None:
        pa, sb = self.tasks[a]["id"], self.tasks[b]["id"]
        if a == b or (pa, sb) in self.seen:
            return
        self.seen.add((pa, sb))
        r = self.rng.random()
        kind = "FS" if r < 0.85 else "SS" if r < 0.93 else "FF" if r < 0.985 else "SF"
        lag = 0.0
        if self.rng.random() < 0.10:
            lag = float(self.rng.choice((1, 2, 3, 5, -1)))
        self.links.append(TaskLink(predecessor=pa, successor=sb, type=kind, lag_days=lag))  # type: ignore[arg-type]


def _build_links(g: _Gen, wbs: _Wbs) -> list[TaskLink]:
    """Links between leaves only, always from an earlier to a later leaf, so never a cycle."""
    rng, task_list, pkg_leaves, leaves = g.rng, wbs.tasks, wbs.packages, wbs.leaves
    linker = _Links(rng, task_list)
    for pl in pkg_leaves:
        for a, b in itertools.pairwise(pl):
            linker.add(a, b)
    pos = {idx: n for n, idx in enumerate(leaves)}
    for n, pl in enumerate(pkg_leaves[1:], start=1):  # a package waits for an earlier one that ends in time
        prev = pkg_leaves[rng.randrange(max(0, n - 3), n)]
        if task_list[prev[-1]]["finish"] <= task_list[pl[0]]["start"]:
            linker.add(prev[-1], pl[0])
    for ms in wbs.milestones:  # each phase milestone waits for the last leaves before it
        before = [i for i in leaves[: pos[ms]] if not task_list[i].get("milestone")][-3:]
        for b in before:
            linker.add(b, ms)
    _add_extra_links(g, wbs, linker, pos)
    return linker.links


def _add_extra_links(g: _Gen, wbs: _Wbs, linker: _Links, pos: dict[int, int]) -> None:
    """Links up to ~1.05 per task, each from a leaf to one that starts after it finishes.

    Planners link work that way, so the critical path stays close to the planned span.
    """
    rng, task_list = g.rng, wbs.tasks
    by_start = sorted((i for i in wbs.leaves if not task_list[i].get("milestone")), key=lambda i: task_list[i]["start"])
    starts = [task_list[i]["start"] for i in by_start]
    target = int(g.n_tasks * 1.05)
    guard = 0
    while len(linker.links) < target and guard < target * 4 and len(by_start) > 2:
        guard += 1
        a = by_start[rng.randrange(0, len(by_start))]
        first = bisect.bisect_left(starts, task_list[a]["finish"])
        if first >= len(by_start):
            continue
        b = by_start[min(len(by_start) - 1, first + rng.randint(0, 20))]
        if pos[a] < pos[b]:  # creation order is a topological order of every link
            linker.add(a, b)


# ----------------------------------------------------------------- deliverables and milestones


def _deliverables(
    g: _Gen, task_list: list[dict[str, Any]], built_tasks: list[Task], deliv_rows: list[tuple[str, int]]
) -> tuple[list[Deliverable], list[QualityCheck], list[ImprovementAction], dict[str, int]]:
    """The deliverables with their criteria, quality checks and improvement actions, and each one's phase."""
    rng = g.rng
    deliverable_list: list[Deliverable] = []
    checks: list[QualityCheck] = []
    improvements: list[ImprovementAction] = []
    deliv_phase: dict[str, int] = {}
    for did, producer in deliv_rows:
        t = built_tasks[producer]
        due = t.finish or g.finish
        deliv_phase[did] = int(task_list[producer]["wbs"].split(".")[0]) - 1
        criteria = _criteria(rng, did)
        status = _deliverable_status(rng, t.status, g.phase)
        tested = status in ("submitted", "accepted", "rejected")
        passed = rng.randint(20, 400) if tested else 0
        deliverable_list.append(
            Deliverable(
                id=did,
                name=f"{rng.choice(_OBJECTS).capitalize()} {rng.choice(_DELIVERABLE_KINDS)}",
                description="Delivered to the client for acceptance",
                owner=t.owner,
                due=due,
                status=status,  # type: ignore[arg-type]
                acceptance_criteria=criteria,
                defects_open=rng.choice((0, 0, 0, 1, 3)) if tested else 0,
                tests_passed=passed,
                tests_failed=rng.choice((0, 0, 0, 1, 2)) if tested else 0,
                file=f"deliverables/{did}.pdf" if tested else "",
                sha256=("ab" * 32) if tested else "",
            )
        )
        if tested:
            _quality_checks(g, did, due, checks, improvements)
    return deliverable_list, checks, improvements, deliv_phase


def _criteria(rng: random.Random, did: str) -> tuple[AcceptanceCriterion, ...]:
    n_ac = rng.randint(2, 4)
    return tuple(
        AcceptanceCriterion(
            id=f"{did}-AC{j + 1}",
            text=rng.choice(_CRITERIA),
            standard=rng.choice(("", "QS-01", "QS-02", "QS-03", "QS-04")),
            method=rng.choice(("test", "inspection", "demonstration", "review")),
        )
        for j in range(n_ac)
    )


def _deliverable_status(rng: random.Random, task_status: str, phase: str) -> str:
    """A deliverable's status from its producing task's (all but rejected ones accepted in closure)."""
    status = "planned"
    if task_status == "in_progress":
        status = "in_progress"
    elif task_status == "done":
        status = rng.choices(("submitted", "accepted", "rejected"), weights=(0.35, 0.6, 0.05))[0]
        if phase == "closure":
            status = "accepted" if rng.random() < 0.95 else "submitted"
    return status


def _quality_checks(
    g: _Gen, did: str, due: date, checks: list[QualityCheck], improvements: list[ImprovementAction]
) -> None:
    """1-3 quality checks of a delivered item, an improvement action for each failed one."""
    rng, pids = g.rng, g.pids
    for j in range(rng.randint(1, 3)):
        result = rng.choices(("pass", "fail", "conditional"), weights=(0.82, 0.1, 0.08))[0]
        qid = f"QC-{did}-{j + 1}"
        qday = min(g.today, _d(due, j * 2))
        checks.append(
            QualityCheck(
                id=qid,
                deliverable=did,
                date=qday,
                standard=f"QS-0{1 + (j % 5)}",
                checker=rng.choice(pids),
                result=result,
                evidence=f"TR-{did}-{j + 1}",  # type: ignore[arg-type]
                automated=rng.random() < 0.3,
            )
        )
        if result == "fail":
            improvements.append(
                ImprovementAction(
                    id=f"IA-{qid}",
                    description="Fix the defects found",
                    check=qid,
                    owner=rng.choice(pids),
                    due=_d(qday, 14),
                    status=rng.choice(("open", "done")),
                )
            )  # type: ignore[arg-type]


def _milestones(
    g: _Gen, milestone_tasks: list[int], built_tasks: list[Task], deliv_phase: dict[str, int]
) -> list[Milestone]:
    """One milestone per phase; acceptance milestones cover the deliverables of their phase."""
    rng, today, k = g.rng, g.today, g.k
    milestones: list[Milestone] = []
    for ph, ms in enumerate(milestone_tasks):
        t = built_tasks[ms]
        kind = "acceptance" if ph % 2 == 1 or ph == k - 1 else ("payment" if ph % 3 == 2 else "key")
        dels = tuple(d for d, p in deliv_phase.items() if p == ph) if kind == "acceptance" else ()
        done = t.finish is not None and t.finish < today and rng.random() < 0.9
        milestones.append(
            Milestone(
                id=f"M{ph + 1}",
                name=t.name,
                date=t.finish or g.finish,
                kind=kind,  # type: ignore[arg-type]
                deliverables=dels,
                task=t.id,
                status="done" if done else "planned",
                completed_on=t.finish if done else None,
                payment_amount=Decimal(rng.choice((0, 50000, 120000))) if kind != "key" else Decimal(0),
            )
        )
    return milestones


def _acceptance(g: _Gen, deliverable_list: list[Deliverable], deliv_phase: dict[str, int]) -> list[AcceptanceRecord]:
    rng, today = g.rng, g.today
    ms_of_phase = {ph: f"M{ph + 1}" for ph in range(g.k)}
    acceptance: list[AcceptanceRecord] = []
    for d in deliverable_list:
        if d.status == "accepted":
            acceptance.append(
                AcceptanceRecord(
                    id=f"AR-{d.id}",
                    deliverable=d.id,
                    date=min(today, _d(d.due or today, 5)),
                    milestone=ms_of_phase[deliv_phase[d.id]],
                    accepted_by="c-rep",
                    verdict="accepted" if rng.random() < 0.85 else "accepted_with_conditions",
                    evidence=f"UAT report {d.id}" if rng.random() < 0.95 else "",
                )
            )
    return acceptance


# ----------------------------------------------------------------- resources and money


def _assignments(g: _Gen, leaves: list[int], built_tasks: list[Task]) -> list[Assignment]:
    """The owner of every leaf, and a second person on ~40 % of them."""
    rng, pids = g.rng, g.pids
    assignments: list[Assignment] = []
    for i in leaves:
        t = built_tasks[i]
        if t.milestone:
            continue
        assignments.append(Assignment(person=t.owner, task=t.id, units=rng.choice((0.5, 1.0, 1.0))))
        if rng.random() < 0.4:
            other = rng.choice(pids)
            if other != t.owner:
                assignments.append(Assignment(person=other, task=t.id, units=rng.choice((0.25, 0.5))))
    return assignments


def _materials(g: _Gen, leaves: list[int], built_tasks: list[Task]) -> tuple[Material, ...]:
    rng, start, span = g.rng, g.start, g.span
    return tuple(
        Material(
            id=f"MAT-{i + 1:02d}",
            name=rng.choice(("Industrial PC", "Barcode scanner", "Network switch", "Label printer", "Server")),
            kind=rng.choice(("material", "equipment")),
            quantity=float(rng.randint(1, 40)),
            unit_cost=Decimal(rng.choice((800, 2400, 15000))),
            needed_by=_d(start, rng.uniform(20, span * 0.7)),
            task=built_tasks[rng.choice(leaves)].id,
            status=rng.choice(("planned", "ordered", "delivered")),
        )  # type: ignore[arg-type]
        for i in range(max(2, min(40, g.n_tasks // 10)))
    )


def _budget(g: _Gen, built_tasks: list[Task], people: tuple[Person, ...]) -> tuple[list[BudgetLine], Decimal]:
    """A labour line per top-level phase and the other categories as shares of labour; and the total."""
    rng, k = g.rng, g.k
    labour = sum((Decimal(str(t.effort_hours)) for t in built_tasks), Decimal(0)) * Decimal(people[1].rate)
    labour = labour.quantize(Decimal(1))
    budget: list[BudgetLine] = [
        BudgetLine(
            id=f"B-L{ph + 1}",
            category="labour",
            amount=(labour / k).quantize(Decimal(1)),
            task=f"T{ph + 1}",
            description=f"Labour of WBS {ph + 1}",
        )
        for ph in range(k)
    ]
    for j, cat in enumerate(("materials", "equipment", "subcontract", "travel", "licences", "contingency")):
        budget.append(
            BudgetLine(
                id=f"B-{j + 1:02d}",
                category=cat,  # type: ignore[arg-type]
                amount=(labour * Decimal(rng.choice(("0.03", "0.05", "0.08", "0.1")))).quantize(Decimal(1)),
            )
        )
    return budget, sum((b.amount for b in budget), Decimal(0))


def _costs(g: _Gen, budget_total: Decimal) -> list[CostEntry]:
    """Monthly labour costs up to today (and to the finish), materials and travel in about half the months."""
    rng, start, today, span, k = g.rng, g.start, g.today, g.span, g.k
    costs: list[CostEntry] = []
    month = start.replace(day=1)
    n_cost = 0
    spend_factor = Decimal(str(rng.uniform(0.85, 1.2)))
    months = max(1, span // 30)
    while month <= today and month <= g.finish:
        for cat, line in (
            ("labour", f"B-L{min(k, 1 + (month - start.replace(day=1)).days * k // max(1, span))}"),
            ("materials", "B-01"),
            ("travel", "B-04"),
        ):
            if cat != "labour" and rng.random() < 0.5:
                continue
            share = Decimal(1) / Decimal(months) if cat == "labour" else Decimal("0.1") / Decimal(months)
            amount = (budget_total * share * spend_factor * Decimal(str(rng.uniform(0.7, 1.3)))).quantize(
                Decimal("0.01")
            )
            n_cost += 1
            costs.append(
                CostEntry(
                    id=f"C-{n_cost:04d}",
                    date=min(today, month + timedelta(days=27)),
                    amount=amount,
                    category=cat,
                    budget_line=line,
                    description=f"{cat} {month:%Y-%m}",
                )
            )  # type: ignore[arg-type]
        month = (month + timedelta(days=32)).replace(day=1)
    return costs


def _baselines(g: _Gen, budget_total: Decimal, built_tasks: list[Task]) -> tuple[Baseline, ...]:
    """The approved plan (phase summaries and milestones) once the project is past initiation."""
    if g.phase in ("initiation",):
        return ()
    return (
        Baseline(
            id="BL1",
            name="Approved plan",
            saved_on=g.start,
            budget=budget_total,
            finish=g.finish,
            tasks=tuple(
                BaselineTask(task=t.id, start=t.start, finish=t.finish, effort_hours=t.effort_hours)
                for t in built_tasks
                if t.parent == "" or t.milestone
            ),
        ),
    )


# ----------------------------------------------------------------- monitoring


def _reports_and_meetings(g: _Gen) -> tuple[list[StatusReport], list[Meeting]]:
    """A status report every two weeks up to today (at most 40), a progress meeting with every other one."""
    rng, pids, today = g.rng, g.pids, g.today
    reports: list[StatusReport] = []
    meetings: list[Meeting] = []
    day = g.start + timedelta(days=11)
    n = 0
    while day <= today and n < 40:
        n += 1
        rag = rng.choices(("green", "amber", "red"), weights=(0.7, 0.25, 0.05))[0]
        reports.append(
            StatusReport(
                id=f"SR-{n:03d}",
                date=day,
                period_start=day - timedelta(days=13),
                period_end=day,
                author=pids[0],
                audience="client" if n % 2 else "team",
                overall=rag,
                schedule=rag,
                cost=rng.choice(("green", "amber")),  # type: ignore[arg-type]
                summary="Progress as planned; interface tests continue",
                accomplishments=("Completed the planned tasks",),
                next_steps=("Continue integration tests",),
            )
        )
        if n % 2 == 1:
            meetings.append(_meeting(g, n, day))
        day += timedelta(days=14)
    return reports, meetings


def _meeting(g: _Gen, n: int, day: date) -> Meeting:
    rng, pids = g.rng, g.pids
    return Meeting(
        id=f"MT-{n:03d}",
        date=day,
        title=f"Progress meeting {n}",
        kind="kickoff" if n == 1 else "progress",
        attendees=(pids[0], "c-rep", rng.choice(pids)),
        decisions=("Keep the go-live date",),
        action_items=(
            ActionItem(
                id=f"AI-{n:03d}-1",
                text="Send the test plan",
                owner=rng.choice(pids),
                due=day + timedelta(days=7),
                status="done" if day + timedelta(days=7) < g.today else "open",
            ),
        ),
    )


def _change_requests(g: _Gen) -> tuple[ChangeRequest, ...]:
    rng, start, today = g.rng, g.start, g.today
    return tuple(
        ChangeRequest(
            id=f"CR-{i + 1:02d}",
            title="Additional report requested by the client",
            requested_on=min(today, _d(start, 30 + i * 20)),
            requested_by="c-rep",
            schedule_impact_days=float(rng.choice((0, 2, 5))),
            cost_impact=Decimal(rng.choice((0, 8000, 20000))),
            status=rng.choice(("proposed", "approved", "rejected")),
        )  # type: ignore[arg-type]
        for i in range(g.n_tasks // 100 + 1 if g.phase not in ("initiation",) else 0)
    )


def _risks(g: _Gen, n_risks: int) -> list[Risk]:
    """Risks scored probability x impact, identified up to today; most have a response and an owner."""
    rng, pids, start, today = g.rng, g.pids, g.start, g.today
    risk_list: list[Risk] = []
    for i in range(n_risks):
        p, im = rng.choice((1, 2, 2, 3, 3, 4, 5)), rng.choice((1, 2, 3, 3, 4, 4, 5))
        has_resp = rng.random() < 0.9
        ident = min(today, _d(start, rng.uniform(-20, max(1, g.span * max(0.0, g.elapsed)))))
        risk_list.append(
            Risk(
                id=f"R-{i + 1:04d}",
                title=rng.choice(_RISK_TITLES),
                category=rng.choice(_RISK_CATEGORIES),  # type: ignore[arg-type]
                description="Identified in the risk workshop",
                probability=p,
                impact=im,
                strategy=rng.choice(("avoid", "mitigate", "mitigate", "transfer", "accept")) if has_resp else "",  # type: ignore[arg-type]
                response_plan="Agreed response, reviewed monthly" if has_resp else "",
                owner=rng.choice(pids) if rng.random() < 0.93 else "",
                status=rng.choices(("open", "closed", "occurred"), weights=(0.75, 0.2, 0.05))[0],  # type: ignore[arg-type]
                identified_on=ident,
                review_date=_d(ident, rng.choice((14, 30, 45, 90))),
            )
        )
    return risk_list


def _issues(g: _Gen) -> tuple[Issue, ...]:
    rng, pids, start, today = g.rng, g.pids, g.start, g.today
    return tuple(
        Issue(
            id=f"I-{i + 1:03d}",
            title="Interface returns incomplete data",
            raised_on=min(today, _d(start, 10 + i * 9)),
            severity=rng.choice(("low", "medium", "high")),
            blocking=rng.random() < 0.05,  # type: ignore[arg-type]
            owner=rng.choice(pids),
            status=rng.choice(("open", "in_progress", "resolved", "closed")),
        )  # type: ignore[arg-type]
        for i in range(g.n_tasks // 40 + 1 if g.phase != "initiation" else 0)
    )


# ----------------------------------------------------------------- client


def _requirements(g: _Gen, deliverable_list: list[Deliverable], cids: list[str]) -> tuple[Requirement, ...]:
    rng = g.rng
    return tuple(
        Requirement(
            id=f"REQ-{i + 1:03d}",
            title=f"The system supports {rng.choice(_OBJECTS)}",
            priority=rng.choice(("must", "must", "should", "could")),  # type: ignore[arg-type]
            status="confirmed" if g.phase != "initiation" else "draft",
            source=rng.choice(cids),
            deliverable=deliverable_list[i % len(deliverable_list)].id,
            expectation="Works as in the current paper process, but faster",
        )
        for i in range(min(2 * len(deliverable_list), 200))
    )


def _feedback(g: _Gen, reports: list[StatusReport]) -> tuple[Feedback, ...]:
    """The client's rating of ~40 % of the status reports addressed to it."""
    rng = g.rng
    return tuple(
        Feedback(
            id=f"FB-{r.id}",
            date=r.date,
            contact="c-rep",
            status_report=r.id,
            rating=rng.choice((3, 4, 4, 5)),
            comment="Thank you for the clear report",
        )
        for r in reports
        if r.audience == "client" and rng.random() < 0.4
    )


def _surveys(g: _Gen) -> tuple[Survey, ...]:
    """A satisfaction survey every 90 days, the first three only, up to today."""
    rng, start = g.rng, g.start
    return tuple(
        Survey(
            id=f"SV-{i + 1}",
            date=_d(start, 90 * (i + 1)),
            contact="c-sponsor",
            csat=rng.choice((3, 4, 5)),
            nps=rng.choice((6, 7, 8, 9, 10)),
        )
        for i in range(3)
        if _d(start, 90 * (i + 1)) <= g.today
    )


# ----------------------------------------------------------------- closure


def _closure(
    g: _Gen, milestones: list[Milestone], costs: list[CostEntry]
) -> tuple[tuple[Lesson, ...], tuple[Signoff, ...], tuple[HandoverItem, ...], tuple[Training, ...]]:
    """Lessons (control and closure); sign-offs, handover and training (closure), and in closure the
    final cost statement appended to ``costs`` most of the time."""
    lessons = _lessons(g) if g.phase in ("control", "closure") else ()
    if g.phase != "closure":
        return lessons, (), (), ()
    rng, today = g.rng, g.today
    signoffs = tuple(
        Signoff(id=f"SO-{m.id}", date=m.completed_on or today, contact="c-sponsor", scope="milestone", milestone=m.id)
        for m in milestones
        if m.status == "done" and m.kind == "acceptance"
    ) + (Signoff(id="SO-PROJECT", date=today - timedelta(days=5), contact="c-sponsor", scope="project"),)
    if rng.random() < 0.7:  # the final cost statement is booked
        costs.append(
            CostEntry(
                id="C-FINAL",
                date=today,
                amount=Decimal("0"),
                category="other",
                description="Final cost statement",
                final=True,
            )
        )
    return lessons, signoffs, _handover(g), _training(g)


def _lessons(g: _Gen) -> tuple[Lesson, ...]:
    rng, pids, today = g.rng, g.pids, g.today
    return tuple(
        Lesson(
            id=f"LL-{i + 1:02d}",
            title="Freeze interface specifications earlier",
            category=rng.choice(("planning", "technical", "client", "process")),  # type: ignore[arg-type]
            description="Late changes cost two weeks",
            recommendation="Freeze at design review",
            recorded_by=pids[0],
            date=today - timedelta(days=i),
        )
        for i in range(rng.randint(3, 8))
    )


def _handover(g: _Gen) -> tuple[HandoverItem, ...]:
    rng = g.rng
    return tuple(
        HandoverItem(
            id=f"HO-{i + 1:02d}",
            name=rng.choice(("Operations manual", "Source code", "Admin credentials", "Test reports")),
            kind=rng.choice(("document", "source_code", "credentials", "software")),  # type: ignore[arg-type]
            recipient="c-rep",
            status=rng.choice(("pending", "delivered", "accepted")),
        )  # type: ignore[arg-type]
        for i in range(rng.randint(5, 10))
    )


def _training(g: _Gen) -> tuple[Training, ...]:
    rng, pids, today = g.rng, g.pids, g.today
    return tuple(
        Training(
            id=f"TR-{i + 1}",
            topic="Operating the new system",
            date=today - timedelta(days=10 * i),
            trainer=rng.choice(pids),
            trainees=("c-keyuser1", "c-keyuser2"),
            hours=8.0,
            status="done",
        )
        for i in range(rng.randint(2, 4))
    )


def _charter(g: _Gen, code: str, client: str, zh: bool, budget_total: Decimal) -> Charter:
    """The charter; the approved budget is the plan's total or 5 % above it."""
    rng, pids = g.rng, g.pids
    budget_amount = (budget_total * Decimal(rng.choice(("1.0", "1.0", "1.05")))).quantize(Decimal(1))
    return Charter(
        code=code,
        name=f"{rng.choice(_OBJECTS).capitalize()} rollout {code}",
        client=Organisation(name=client, short_name=client.split()[0][:12], industry="manufacturing"),
        supplier=Organisation(name="Acme Delivery Co., Ltd.", short_name="Acme"),
        locale="zh-CN" if zh else "en",
        currency="CNY" if zh else "EUR",
        contract_number=f"CN-{code}",
        description="Roll out the shop-floor system to the client's plants",
        objectives=("Go live in all plants", "Reduce paper records by 90 %"),
        scope_in=("MES core modules", "Interfaces to ERP"),
        scope_out=("Hardware maintenance",),
        sponsor="c-sponsor",
        project_manager=pids[0],
        client_representative="c-rep",
        steering=("c-sponsor", "c-steer", pids[0]),
        start=g.start,
        finish=g.finish,
        approved_budget=budget_amount,
        acceptance_method="Acceptance tests against the criteria of each deliverable, witnessed by the client",
        acceptance_team=(pids[0], "c-rep", "c-qa"),
        support_terms="12 months of support after go-live",
        support_contacts=(pids[0],),
    )


def portfolio(n: int, *, seed: int = 1, tasks: int = 200, prefix: str = "PF", start: int = 0) -> Iterator[Project]:
    """``n`` projects of about ``tasks`` tasks each (±25 %), phases mixed as in a live portfolio.

    ``start`` skips the first projects without building them: ``portfolio(n, start=k)`` yields exactly
    the projects ``portfolio(n)`` yields after its first ``k``.
    """
    rng = random.Random(seed)
    for i in range(n):
        size = max(20, int(tasks * rng.uniform(0.75, 1.25)))
        if i < start:
            continue
        yield generate_project(f"{prefix}-{i + 1:05d}", seed=seed, tasks=size)


def acceptance_project(deliverables: int = 40, *, seed: int = 7, code: str = "BENCH-ACC") -> Project:
    """A project in closure whose milestone ``M-ACC`` covers ``deliverables`` accepted deliverables."""
    from dataclasses import replace

    p = generate_project(code, seed=seed, tasks=max(120, deliverables * 6), deliverables=deliverables, phase="closure")
    dels = tuple(replace(d, status="accepted") for d in p.deliverables)
    have = {a.deliverable for a in p.acceptance_records}
    recs = [replace(a, milestone="M-ACC") for a in p.acceptance_records] + [
        AcceptanceRecord(
            id=f"AR-{d.id}",
            deliverable=d.id,
            date=TODAY - timedelta(days=3),
            milestone="M-ACC",
            accepted_by="c-rep",
            evidence=f"UAT report {d.id}",
        )
        for d in dels
        if d.id not in have
    ]
    last = p.tasks[-1]
    ms = Milestone(
        id="M-ACC",
        name="Final acceptance",
        date=TODAY - timedelta(days=2),
        kind="acceptance",
        deliverables=tuple(d.id for d in dels),
        task=last.id,
        status="done",
        completed_on=TODAY - timedelta(days=2),
    )
    return replace(p, deliverables=dels, acceptance_records=tuple(recs), milestones=(*p.milestones, ms))


def schedule_network(n: int, *, links_per_task: int = 5, seed: int = 11) -> tuple[list[int], list[tuple[int, int]]]:
    """A flat finish-to-start network: durations (1-15 working days) and ~``links_per_task`` edges per task.

    Edges go from a task to one of the next 200 tasks (real plans link mostly nearby work), so the
    graph is acyclic and has the long chains a real critical path runs through.
    """
    rng = random.Random(seed)
    durations = [rng.choice((1, 2, 3, 5, 5, 8, 10, 15)) for _ in range(n)]
    edges: set[tuple[int, int]] = set()
    for i in range(n - 1):
        for _ in range(links_per_task):
            j = min(n - 1, i + 1 + int(rng.expovariate(1 / 30)) % 200)
            edges.add((i, j))
    return durations, sorted(edges)


def network_project(durations: list[int], edges: list[tuple[int, int]], *, start: date = date(2026, 1, 5)) -> Project:
    """The network of :func:`schedule_network` as a project: one task per node, one FS link per edge."""
    tasks = tuple(Task(id=f"N{i}", name=f"Task {i}", duration_days=float(d)) for i, d in enumerate(durations))
    links = tuple(TaskLink(predecessor=f"N{a}", successor=f"N{b}") for a, b in edges)
    charter = Charter(code="BENCH-CPM", name="Critical path network", client=Organisation(name="Bench"), start=start)
    return Project(charter=charter, phase="planning", tasks=tasks, links=links)


def clean_acceptance_project(deliverables: int = 10, *, seed: int = 9, code: str = "BENCH-FLOW") -> Project:
    """:func:`acceptance_project` whose deliverables pass the default pack's quality standards.

    No open defects or failed tests, no delivered file to checksum, every linked requirement verified:
    the ``milestone_reached`` flow then runs every step, the certificate included.
    """
    from dataclasses import replace

    p = acceptance_project(deliverables, seed=seed, code=code)
    dels = tuple(
        replace(d, defects_open=0, tests_failed=0, tests_passed=max(1, d.tests_passed), file="", sha256="")
        for d in p.deliverables
    )
    reqs = tuple(replace(r, status="verified") for r in p.requirements)
    return replace(p, deliverables=dels, requirements=reqs)

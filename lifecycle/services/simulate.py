"""Simulated project activity for the walk-through and for tests: what a team records as time passes.

Each function records, through the normal audited services, what a project manager would record by
a given date: tasks finished on plan with their actual dates and labour cost, materials delivered,
risks reviewed, issues resolved, a progress meeting and a status report; deliverables handed in with
their files and test results; the client's acceptance; the closing records (lessons, handover,
training, survey, final costs, sign-off). Deterministic: the same project and dates give the same
records, so the walk-through is repeatable.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from lifecycle.domain.model import (
    AcceptanceRecord,
    CostEntry,
    HandoverItem,
    Lesson,
    Meeting,
    Project,
    Rag,
    Signoff,
    StatusReport,
    Survey,
    replace,
)
from lifecycle.services.context import Context
from lifecycle.services.projects import update_project


def _zh(p: Project) -> bool:
    return p.charter.locale.startswith("zh")


def _upsert_all(items: tuple[Any, ...], new: list[Any]) -> tuple[Any, ...]:
    by_id = {i.id: i for i in items}
    order = [i.id for i in items]
    for n in new:
        if n.id not in by_id:
            order.append(n.id)
        by_id[n.id] = n
    return tuple(by_id[i] for i in order)


def labour_cost(p: Project, task_id: str) -> Decimal:
    """Planned labour cost of a task: assigned hours (or its effort) at each person's rate."""
    people = p.index("people")
    task = p.index("tasks")[task_id]
    assigned = [a for a in p.assignments if a.task == task_id]
    total = Decimal(0)
    if assigned:
        share = Decimal(str(task.effort_hours)) / max(len(assigned), 1)
        for a in assigned:
            hours = Decimal(str(a.hours)) if a.hours else share
            rate = people[a.person].rate if a.person in people else Decimal(0)
            total += hours * rate
    elif task.owner in people:
        total = Decimal(str(task.effort_hours)) * people[task.owner].rate
    return total.quantize(Decimal("0.01"))


def work_until(ctx: Context, code: str, when: date, *, overall: Rag = "green") -> dict[str, int]:
    """Record the work done by ``when`` as planned, a progress meeting and a status report."""
    counts = {"done": 0, "started": 0, "costs": 0, "materials": 0, "risks_reviewed": 0, "issues_resolved": 0}

    def change(p: Project) -> Project:
        parents = {t.parent for t in p.tasks if t.parent}
        tasks, costs = [], []
        for t in p.tasks:
            if t.id in parents or t.status in ("done", "cancelled") or t.start is None or t.finish is None:
                tasks.append(t)
                continue
            if t.finish <= when:
                tasks.append(
                    replace(
                        t,
                        status="done",
                        percent_complete=100.0,
                        actual_start=t.actual_start or t.start,
                        actual_finish=t.finish,
                    )
                )
                counts["done"] += 1
                amount = labour_cost(p, t.id)
                if amount > 0:
                    costs.append(
                        CostEntry(
                            id=f"C-{t.id}",
                            date=t.finish,
                            amount=amount,
                            category="labour",
                            task=t.id,
                            description=f"{t.name}",
                        )
                    )
            elif t.start <= when:
                span = max((t.finish - t.start).days, 1)
                pct = round(100.0 * (when - t.start).days / span, 1)
                tasks.append(
                    replace(
                        t, status="in_progress", percent_complete=min(pct, 95.0), actual_start=t.actual_start or t.start
                    )
                )
                counts["started"] += 1
            else:
                tasks.append(t)
        mats = []
        for m in p.materials:
            if m.status in ("planned", "ordered") and m.needed_by and m.needed_by <= when:
                mats.append(replace(m, status="delivered"))
                amount = (m.unit_cost * Decimal(str(m.quantity))).quantize(Decimal("0.01"))
                if amount > 0:
                    costs.append(
                        CostEntry(
                            id=f"C-{m.id}",
                            date=m.needed_by,
                            amount=amount,
                            category="equipment" if m.kind == "equipment" else "materials",
                            task=m.task,
                            description=m.name,
                        )
                    )
                counts["materials"] += 1
            else:
                mats.append(m)
        risks = []
        for r in p.risks:
            if r.status == "open" and r.review_date and r.review_date < when:
                risks.append(replace(r, review_date=when + timedelta(days=28)))
                counts["risks_reviewed"] += 1
            else:
                risks.append(r)
        issues = []
        for i in p.issues:
            if i.status in ("open", "in_progress") and (i.due is None or i.due <= when):
                issues.append(replace(i, status="resolved", resolved_on=when))
                counts["issues_resolved"] += 1
            else:
                issues.append(i)
        new_costs = [c for c in costs if c.id not in {x.id for x in p.costs}]
        counts["costs"] = len(new_costs)
        zh = _zh(p)
        done_total = sum(1 for t in tasks if t.status == "done")
        report = StatusReport(
            id=f"SR-{when.isoformat()}",
            date=when,
            period_start=when - timedelta(days=14),
            period_end=when,
            author=p.charter.project_manager,
            audience="client",
            overall=overall,
            schedule=overall,
            cost="green",
            scope="green",
            summary=(
                f"截至 {when}，已完成 {done_total} 项任务，按计划推进。"
                if zh
                else f"By {when}, {done_total} tasks are complete; work is on plan."
            ),
            accomplishments=tuple(
                t.name
                for t in tasks
                if t.status == "done" and t.actual_finish and t.actual_finish > when - timedelta(days=14)
            )[:6],
            next_steps=tuple(
                t.name for t in tasks if t.status != "done" and t.start and when < t.start <= when + timedelta(days=14)
            )[:6],
        )
        attendees = tuple(x for x in (p.charter.project_manager, p.charter.client_representative) if x)
        meeting = Meeting(
            id=f"MTG-{when.isoformat()}",
            date=when,
            kind="progress",
            attendees=attendees,
            title="项目进度例会" if zh else "Progress meeting",
            decisions=("按计划继续推进" if zh else "Continue as planned",),
        )
        return replace(
            p,
            tasks=tuple(tasks),
            materials=tuple(mats),
            risks=tuple(risks),
            issues=tuple(issues),
            costs=_upsert_all(p.costs, new_costs),
            status_reports=_upsert_all(p.status_reports, [report]),
            meetings=_upsert_all(p.meetings, [meeting]),
        )

    update_project(
        ctx, code, change, action="simulate.work", entity="project", entity_id=code, data={"until": when.isoformat()}
    )
    return counts


def deliverable_note(p: Project, deliverable_id: str, folder: Path, root: Path | None = None) -> tuple[str, str]:
    """Write the delivered file of a deliverable (a delivery note standing in for the real artefact).

    Returns the path to record, relative to the documents ``root`` when the file is inside it (the
    quality checks read deliverables only there), and the file's sha256.
    """
    d = p.index("deliverables")[deliverable_id]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{p.code}-{d.id}.md"
    lines = [f"# {d.name}", "", d.description, "", f"Project: {p.charter.name} ({p.code})", "", "Acceptance criteria:"]
    lines += [f"- {c.id}: {c.text}" for c in d.acceptance_criteria]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path.write_bytes(data)
    named = path.relative_to(root).as_posix() if root is not None and path.is_relative_to(root) else str(path)
    return named, hashlib.sha256(data).hexdigest()


def submit_deliverables(
    ctx: Context, code: str, ids: list[str], folder: Path, when: date, defects: dict[str, int] | None = None
) -> list[str]:
    """Hand in deliverables: file and checksum, tests run, criteria methods named, requirements verified;
    ``defects`` leaves open defects on some of them (what a failing quality check then finds)."""
    defects = defects or {}

    def change(p: Project) -> Project:
        ds = []
        for d in p.deliverables:
            if d.id in ids:
                path, sha = deliverable_note(p, d.id, folder, ctx.workspace.deliverables_dir)
                crit = tuple(c if c.method else replace(c, method="test") for c in d.acceptance_criteria)
                ds.append(
                    replace(
                        d,
                        status="submitted",
                        file=path,
                        sha256=sha,
                        tests_passed=max(d.tests_passed, 12),
                        tests_failed=0,
                        defects_open=defects.get(d.id, 0),
                        acceptance_criteria=crit,
                    )
                )
            else:
                ds.append(d)
        reqs = tuple(
            replace(r, status="verified") if r.deliverable in ids and r.status != "rejected" else r
            for r in p.requirements
        )
        return replace(p, deliverables=tuple(ds), requirements=reqs)

    update_project(
        ctx,
        code,
        change,
        action="deliverables.submitted",
        entity="deliverables",
        entity_id=",".join(ids),
        data={"on": when.isoformat()},
    )
    return ids


def fix_defects(ctx: Context, code: str, ids: list[str], when: date) -> list[str]:
    """The team fixes the open defects of ``ids`` and closes the improvement actions raised for them."""

    def change(p: Project) -> Project:
        ds = tuple(
            replace(d, defects_open=0, tests_passed=d.tests_passed + 3) if d.id in ids else d for d in p.deliverables
        )
        checks = {c.id: c.deliverable for c in p.quality_checks}
        actions = tuple(
            replace(a, status="done") if a.status == "open" and checks.get(a.check) in ids else a
            for a in p.improvement_actions
        )
        return replace(p, deliverables=ds, improvement_actions=actions)

    update_project(
        ctx,
        code,
        change,
        action="defects.fixed",
        entity="deliverables",
        entity_id=",".join(ids),
        data={"on": when.isoformat()},
    )
    return ids


def accept_deliverables(ctx: Context, code: str, milestone: str, when: date, evidence: str) -> list[str]:
    """The client accepts the milestone's deliverables (acceptance records with evidence)."""
    accepted: list[str] = []

    def change(p: Project) -> Project:
        ms = p.index("milestones")[milestone]
        recs = []
        ds = []
        for d in p.deliverables:
            if d.id in ms.deliverables:
                recs.append(
                    AcceptanceRecord(
                        id=f"ACC-{d.id}",
                        deliverable=d.id,
                        date=when,
                        milestone=milestone,
                        accepted_by=p.charter.client_representative,
                        verdict="accepted",
                        evidence=evidence,
                    )
                )
                ds.append(replace(d, status="accepted"))
                accepted.append(d.id)
            else:
                ds.append(d)
        return replace(p, deliverables=tuple(ds), acceptance_records=_upsert_all(p.acceptance_records, recs))

    update_project(ctx, code, change, action="deliverables.accepted", entity="milestones", entity_id=milestone)
    return accepted


def close_out_records(ctx: Context, code: str, when: date, folder: Path) -> dict[str, int]:
    """Lessons, handover of every delivered file, training delivered, survey, final costs, sign-off."""
    out: dict[str, int] = {}

    def change(p: Project) -> Project:
        zh = _zh(p)
        rep = p.charter.client_representative
        sponsor = p.charter.sponsor if p.charter.sponsor in p.index("contacts") else rep
        lessons = [
            Lesson(
                id="LL-01",
                category="planning",
                date=when,
                recorded_by=p.charter.project_manager,
                title="接口联调应提前到设计阶段" if zh else "Start interface testing during design",
                description="接口问题在执行后期才暴露。" if zh else "Interface problems surfaced late in execution.",
                recommendation="在设计评审中加入接口联调演示。"
                if zh
                else "Add an interface demonstration to the design review.",
            ),
            Lesson(
                id="LL-02",
                category="client",
                date=when,
                recorded_by=p.charter.project_manager,
                title=(
                    "关键用户全程参与提高了验收效率" if zh else "Key users in every sprint review sped up acceptance"
                ),
                description="验收一次通过。" if zh else "Acceptance passed at the first attempt.",
                recommendation="在后续项目中保持。" if zh else "Keep this in future projects.",
            ),
        ]
        items = []
        for d in p.deliverables:
            path, sha = (
                (d.file, d.sha256) if d.file else deliverable_note(p, d.id, folder, ctx.workspace.deliverables_dir)
            )
            items.append(
                HandoverItem(
                    id=f"HO-{d.id}",
                    name=d.name,
                    kind="document",
                    file=path,
                    sha256=sha,
                    recipient=rep,
                    handed_over_on=when,
                    status="accepted",
                )
            )
        training = tuple(replace(t, status="done", date=t.date or when) for t in p.training)
        survey = Survey(
            id="SV-FINAL",
            date=when,
            contact=sponsor,
            csat=5,
            nps=9,
            comment="交付质量高，团队响应及时。" if zh else "High-quality delivery and a responsive team.",
        )
        final = CostEntry(
            id="C-FINAL",
            date=when,
            amount=Decimal("0.00"),
            category="other",
            final=True,
            description=("最终成本结算（无新增费用）" if zh else "Final cost statement (no further charges)"),
        )
        signoff = Signoff(
            id="SO-PROJECT",
            date=when,
            contact=rep,
            scope="project",
            comment="同意项目验收。" if zh else "Project accepted.",
        )
        actions = tuple(replace(a, status="done") if a.status == "open" else a for a in p.improvement_actions)
        issues = tuple(
            replace(i, status="closed", resolved_on=i.resolved_on or when)
            if i.status in ("open", "in_progress", "resolved")
            else i
            for i in p.issues
        )
        out.update(lessons=len(lessons), handover_items=len(items), training=len(training))
        return replace(
            p,
            lessons=_upsert_all(p.lessons, lessons),
            handover_items=_upsert_all(p.handover_items, items),
            training=training,
            surveys=_upsert_all(p.surveys, [survey]),
            costs=_upsert_all(p.costs, [final]),
            signoffs=_upsert_all(p.signoffs, [signoff]),
            improvement_actions=actions,
            issues=issues,
        )

    update_project(ctx, code, change, action="closure.recorded", entity="project", entity_id=code)
    return out

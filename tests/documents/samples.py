"""The two sample projects, advanced in time with the data each document needs.

The samples in ``examples/`` describe projects at planning. Documents about execution and closure
need progress, costs, quality checks, acceptance records, handover items, training, lessons and a
sign-off; these helpers add them with ``dataclasses.replace`` (Chinese text for the Chinese sample,
English for the English one), plus a gate review record shaped as docs/CONTRACTS.md says.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from lifecycle.documents.views import PackTitles
from lifecycle.domain.model import (
    AcceptanceRecord,
    CostEntry,
    HandoverItem,
    ImprovementAction,
    Lesson,
    Project,
    QualityCheck,
    Signoff,
    StatusReport,
    Training,
)
from lifecycle.load.rulepack import load_pack
from lifecycle.services.documents import pack_titles
from lifecycle.workspace import package_data_dir

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SAMPLES = {"zh": EXAMPLES / "zh-smart-factory.yaml", "en": EXAMPLES / "en-clinic-portal.yaml"}


def load_sample(which: str) -> Project:
    """``zh`` or ``en``: a sample project file; ``tw``: the Chinese sample in Traditional Chinese, in TWD."""
    from lifecycle.load.projectfile import load_project_file

    if which == "tw":
        zh = load_sample("zh")
        return dataclasses.replace(zh, charter=dataclasses.replace(zh.charter, locale="zh-TW", currency="TWD"))
    return load_project_file(SAMPLES[which]).project


def _zh(p: Project) -> bool:
    return p.charter.locale.startswith("zh")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _month_ends(start: date, end: date) -> list[date]:
    out, d = [], start
    while d <= end:
        nxt = date(d.year + (d.month // 12), d.month % 12 + 1, 1)
        out.append(min(nxt - timedelta(days=1), end))
        d = nxt
    return out


def _costs(p: Project, upto: date, share: float) -> tuple[CostEntry, ...]:
    """Monthly cost entries spreading ``share`` of each budget line from the start until ``upto``."""
    start = p.charter.start or upto
    months = _month_ends(start, upto)
    out = []
    n = 0
    for b in p.budget:
        if b.category == "contingency":
            continue
        per = (b.amount * Decimal(str(share)) / len(months)).quantize(Decimal("0.01"))
        for m in months:
            n += 1
            out.append(
                CostEntry(id=f"C{n:03d}", date=m, amount=per, category=b.category, budget_line=b.id, task=b.task)
            )
    return tuple(out)


# --------------------------------------------------------------------------- in execution (status reports)
def in_execution(p: Project, today: date) -> Project:
    """Tasks before ``today`` done, the current ones part-done, one overdue; costs booked so far."""
    tasks = []
    overdue_left = 1
    for t in p.tasks:
        if t.finish and t.finish < today:
            if overdue_left and not t.milestone and t.parent and (t.finish > today - timedelta(days=20)):
                overdue_left -= 1
                tasks.append(dataclasses.replace(t, status="in_progress", percent_complete=70.0, actual_start=t.start))
            else:
                tasks.append(
                    dataclasses.replace(
                        t, status="done", percent_complete=100.0, actual_start=t.start, actual_finish=t.finish
                    )
                )
        elif t.start and t.start <= today:
            span = max(((t.finish or today) - t.start).days, 1)
            pct = round(min(95.0, 100.0 * (today - t.start).days / span * 0.9), 0)
            tasks.append(dataclasses.replace(t, status="in_progress", percent_complete=pct, actual_start=t.start))
        else:
            tasks.append(t)
    milestones = tuple(
        dataclasses.replace(m, status="done", completed_on=m.date + timedelta(days=2 if i == 1 else 0))
        if m.date < today
        else m
        for i, m in enumerate(p.milestones)
    )
    zh = _zh(p)
    report = StatusReport(
        id=f"SR-{len(p.status_reports) + 1:02d}",
        date=today,
        period_start=today - timedelta(days=13),
        period_end=today,
        author=p.charter.project_manager,
        overall="amber",
        schedule="amber",
        cost="green",
        scope="green",
        summary=(
            "系统配置与开发按计划推进；集成测试因接口字段变更延后一周，已安排加班追回。费用执行正常。"
            if zh
            else "Build is on plan. Integration testing slipped a week after the vendor changed two API fields; "
            "the team is recovering it within the sprint. Spending is in line with progress."
        ),
        accomplishments=(
            ("完成计划排程与报工模块配置", "ERP 物料主数据接口联调通过", "完成 46 台设备中 31 台的联网")
            if zh
            else (
                "Booking and referral journeys built and demonstrated",
                "Payments integration passed end-to-end tests",
            )
        ),
        next_steps=(
            ("完成集成测试", "启动用户验收测试准备")
            if zh
            else ("Finish integration testing", "Prepare user acceptance testing")
        ),
        decisions_needed=(
            ("请确认用户验收测试的参测人员名单（11 月 25 日前）",)
            if zh
            else ("Confirm the UAT participants from each clinic by 25 November",)
        ),
    )
    return dataclasses.replace(
        p,
        phase="execution",
        tasks=tuple(tasks),
        milestones=milestones,
        costs=_costs(p, today, 0.42),
        status_reports=(*p.status_reports, report),
    )


# --------------------------------------------------------------------------- closed (acceptance, handover)
def closed(p: Project) -> Project:
    """Every task done, milestones reached, deliverables checked and accepted, handover recorded."""
    zh = _zh(p)
    finish = p.charter.finish or date(2027, 3, 31)
    tasks = tuple(
        dataclasses.replace(t, status="done", percent_complete=100.0, actual_start=t.start, actual_finish=t.finish)
        for t in p.tasks
    )
    milestones = tuple(
        dataclasses.replace(m, status="done", completed_on=m.date + timedelta(days=3 if i == 2 else 0))
        for i, m in enumerate(p.milestones)
    )
    ms_of = {d: m for m in p.milestones for d in m.deliverables}
    people = [x.id for x in p.people]
    client = [c.id for c in p.contacts if c.side == "client"]
    rep = p.charter.client_representative or client[0]
    deliverables = []
    checks = []
    records = []
    actions = []
    n = 0
    for i, d in enumerate(p.deliverables):
        deliverables.append(
            dataclasses.replace(
                d,
                status="accepted",
                tests_passed=40 + 7 * i,
                tests_failed=0 if i != 2 else 1,
                defects_open=2 if i == 2 else 0,
            )
        )
        when = (ms_of[d.id].date if d.id in ms_of else finish) - timedelta(days=5)
        standards = [c.standard for c in d.acceptance_criteria if c.standard] or [""]
        for s in dict.fromkeys(standards):
            n += 1
            result = "conditional" if (i == 2 and n % 2 == 0) else "pass"
            evidence = f"测试报告 TR-{n:03d}" if zh else f"Test report TR-{n:03d}"
            checks.append(
                QualityCheck(
                    id=f"QC-{n:02d}",
                    deliverable=d.id,
                    date=when,
                    standard=s,
                    checker=people[(i + 3) % len(people)],
                    result=result,
                    evidence=evidence,
                    notes=(
                        "性能测试 P95 响应 2.6 秒，略高于目标" if zh else "P95 response 2.6 s, slightly above target"
                    )
                    if result != "pass"
                    else "",
                    automated=(n % 3 == 0),
                )
            )
            if result != "pass":
                actions.append(
                    ImprovementAction(
                        id=f"IA-{len(actions) + 1:02d}",
                        check=f"QC-{n:02d}",
                        description=(
                            "优化报工查询索引并复测，P95 响应降至 2 秒以内"
                            if zh
                            else "Tune the booking search index and re-test until P95 is under 2 s"
                        ),
                        owner=people[(i + 4) % len(people)],
                        due=finish + timedelta(days=30),
                    )
                )
        verdict = "accepted_with_conditions" if i == 2 else "accepted"
        records.append(
            AcceptanceRecord(
                id=f"AR-{i + 1:02d}",
                deliverable=d.id,
                date=when + timedelta(days=3),
                milestone=ms_of[d.id].id if d.id in ms_of else "",
                accepted_by=rep,
                verdict=verdict,
                conditions=(
                    "质保期内完成剩余 2 个低级别缺陷修复"
                    if zh
                    else "Fix the two remaining minor defects within the warranty"
                )
                if i == 2
                else "",
                evidence=(f"验收测试记录 UAT-{i + 1:02d}" if zh else f"UAT record UAT-{i + 1:02d}"),
            )
        )
    items = []
    for i, d in enumerate(p.deliverables):
        fname = f"{d.id}-{'交付物' if zh else 'deliverable'}.pdf"
        items.append(
            HandoverItem(
                id=f"H{i + 1:02d}",
                name=d.name,
                kind="document" if i != 2 else "software",
                file=fname,
                sha256=_sha(fname),
                recipient=rep,
                handed_over_on=finish - timedelta(days=4),
                status="accepted",
            )
        )
    items.append(
        HandoverItem(
            id=f"H{len(items) + 1:02d}",
            name="系统管理员账号及密钥清单" if zh else "Administrator accounts and key inventory",
            kind="credentials",
            recipient=client[-1],
            handed_over_on=finish - timedelta(days=4),
            status="delivered",
            notes="密封交接，当面清点" if zh else "Handed over sealed, counted in person",
        )
    )
    items.append(
        HandoverItem(
            id=f"H{len(items) + 1:02d}",
            name="源代码及构建脚本" if zh else "Source code and build scripts",
            kind="source_code",
            file="source-v1.0.0.tar.gz",
            sha256=_sha("source"),
            recipient=client[-1],
            status="pending",
        )
    )
    training = (
        Training(
            id="TR1",
            topic="关键用户培训：计划排程与报工" if zh else "Key-user training: bookings and referrals",
            date=finish - timedelta(days=60),
            trainer=people[-1],
            trainees=tuple(client[1:4]),
            hours=12,
            status="done",
        ),
        Training(
            id="TR2",
            topic="系统管理员培训：运维与备份恢复" if zh else "Administrator training: operations, backup and restore",
            date=finish - timedelta(days=20),
            trainer=people[2],
            trainees=tuple(client[-2:]),
            hours=6.5,
            status="done",
        ),
    )
    lessons = (
        Lesson(
            id="L1",
            title="设备联网提前摸底" if zh else "Survey integrations early",
            category="technical",
            description="部分老旧设备协议文档缺失，导致联网延期两周。"
            if zh
            else "Two interfaces had undocumented fields, which cost two weeks.",
            recommendation="在方案阶段完成全部设备的通讯协议摸底与样机测试。"
            if zh
            else "Test every interface against a sample system during design.",
            recorded_by=people[0],
            date=finish - timedelta(days=10),
        ),
        Lesson(
            id="L2",
            title="关键用户投入需写入计划" if zh else "Book key users' time in the plan",
            category="client",
            description="测试阶段关键用户投入不足。" if zh else "Key users had too little time in testing.",
            recommendation="在项目章程中明确关键用户每周投入天数。"
            if zh
            else "Agree key users' days per week in the charter.",
            recorded_by=people[0],
        ),
        Lesson(
            id="L3",
            title="每周例会的决策清单有效" if zh else "A weekly decision log works",
            category="process",
            description="每周例会形成决策清单，问题平均关闭时间缩短到 4 天。"
            if zh
            else "Keeping a decision log at weekly meetings cut the time to close issues to four days.",
            recommendation="在后续项目中沿用。" if zh else "Keep it for the next projects.",
            recorded_by=people[0],
        ),
    )
    signoffs = (
        Signoff(
            id="S1",
            date=finish - timedelta(days=2),
            contact=rep,
            scope="project",
            comment="同意终验" if zh else "Final acceptance agreed",
        ),
    )
    for m in p.milestones:
        if m.kind == "acceptance" and m.date < finish - timedelta(days=30):
            signoffs += (
                Signoff(
                    id=f"S-{m.id}", date=m.date + timedelta(days=1), contact=rep, scope="milestone", milestone=m.id
                ),
            )
    return dataclasses.replace(
        p,
        phase="closure",
        tasks=tasks,
        milestones=milestones,
        deliverables=tuple(deliverables),
        quality_checks=tuple(checks),
        improvement_actions=tuple(actions),
        acceptance_records=tuple(records),
        handover_items=tuple(items),
        training=training,
        lessons=lessons,
        signoffs=signoffs,
        costs=_costs(p, finish, 0.96),
    )


# --------------------------------------------------------------------------- gate review record
def gate_review(p: Project, *, n: int = 1, at: datetime | None = None) -> dict[str, Any]:
    zh = _zh(p)
    at = at or datetime(2026, 7, 22, 2, 30, tzinfo=timezone.utc)
    waiver = {
        "id": "W-1",
        "rule": "risks.reviewed",
        "granted_by": "lu_jianguo" if zh else "richard_ashworth",
        "role": "sponsor",
        "reason": "风险复核会议改期至下周一，已通知全部责任人"
        if zh
        else "The risk review meeting moved to next Monday; owners are informed",
        "expires_on": (at.date() + timedelta(days=14)).isoformat(),
        "granted_at": at.isoformat(),
    }
    results = [
        {
            "id": "plan.tasks_owned",
            "title": {"zh": "所有任务都有责任人", "en": "Every task has an owner"},
            "severity": "blocking",
            "outcome": "pass",
            "message": "",
            "evidence": [],
            "source": "gates/planning.yaml:12",
            "tags": ["plan"],
            "error": "",
            "waiver": None,
        },
        {
            "id": "budget.within_approved",
            "title": {"zh": "预算不超过批准金额", "en": "Budget within the approved amount"},
            "severity": "blocking",
            "outcome": "pass",
            "message": "",
            "evidence": [],
            "source": "gates/planning.yaml:20",
            "tags": ["budget"],
            "error": "",
            "waiver": None,
        },
        {
            "id": "risks.reviewed",
            "title": {"zh": "开放风险均已按期复核", "en": "Open risks reviewed on time"},
            "severity": "blocking",
            "outcome": "waived",
            "message": "2 项风险超过复核日期" if zh else "2 risks are past their review date",
            "evidence": [{"id": "R-03", "label": "R-03"}, {"id": "R-07", "label": "R-07"}],
            "source": "gates/planning.yaml:31",
            "tags": ["risk"],
            "error": "",
            "waiver": waiver,
        },
        {
            "id": "quality.standards_named",
            "title": {"zh": "验收标准关联质量标准", "en": "Criteria name a quality standard"},
            "severity": "warning",
            "outcome": "fail",
            "message": "5 条验收标准未关联质量标准" if zh else "5 acceptance criteria name no standard",
            "evidence": [{"id": "D1-AC1", "label": "D1-AC1"}, {"id": "D4-AC1", "label": "D4-AC1"}],
            "source": "gates/planning.yaml:40",
            "tags": ["quality"],
            "error": "",
            "waiver": None,
        },
        {
            "id": "client.feedback",
            "title": {"zh": "已收集客户反馈", "en": "Client feedback collected"},
            "severity": "warning",
            "outcome": "not_applicable",
            "message": "",
            "evidence": [],
            "source": "gates/planning.yaml:48",
            "tags": ["client"],
            "error": "",
            "waiver": None,
        },
    ]
    return {
        "schema_version": 1,
        "id": f"{p.code}-GR-{n}",
        "project": p.code,
        "transition": "start_execution",
        "from": "planning",
        "to": "execution",
        "decision": "conditional_go",
        "evaluated_at": at.isoformat(),
        "evaluated_by": p.charter.project_manager,
        "today": at.date().isoformat(),
        "pack": {"name": "default", "version": "2026.1", "hash": _sha("pack")},
        "facts_hash": _sha("facts"),
        "project_version": 3,
        "results": results,
        "explanations": {
            "quality.standards_named": {
                "expr": "deliverables.all(d, d.acceptance_criteria.all(c, c.standard != ''))",
                "value": False,
                "parts": [{"expr": "fails for", "value": ["D1", "D4"]}],
            },
        },
        "approvals": {
            "required": True,
            "rule": "sponsor AND client_representative",
            "satisfied": True,
            "votes": [
                {
                    "role": "sponsor",
                    "by": p.charter.sponsor,
                    "comment": "同意" if zh else "Agreed",
                    "at": (at + timedelta(hours=2)).isoformat(),
                    "decision": "approve",
                },
                {
                    "role": "client_representative",
                    "by": p.charter.client_representative,
                    "comment": "",
                    "at": (at + timedelta(hours=3)).isoformat(),
                    "decision": "approve",
                },
            ],
            "missing": [],
        },
        "waivers": [waiver],
        "advanced": True,
    }


# --------------------------------------------------------------------------- stress project (layout test)
def _long_id(prefix: str, n: int) -> str:
    """An id of exactly 100 characters: letters, digits and dashes, no natural break."""
    head = f"{prefix}-{n:03d}-"
    return (head + "X7Q2" * 30)[:100]


def stress(p: Project) -> Project:
    """The closed sample with long names, 100-character ids and 60 deliverables (for the layout test).

    Deliverables, criteria, quality checks, acceptance records, handover items and the acceptance
    milestone all carry 100-character ids; names and evidence are long enough to wrap several times.
    """
    zh = _zh(p)
    base = closed(p)
    long_name = (
        "面向多工厂多车间的制造执行系统与企业资源计划系统深度集成及数据治理平台建设交付物"
        if zh
        else "Integration of the practice management system with the booking, referral and payment journeys"
    )
    people = [x.id for x in base.people]
    rep = base.charter.client_representative
    ms_id = _long_id("MS", 1)
    template = base.deliverables[0]
    standard = next((s.id for s in base.quality_standards), "")
    deliverables, checks, records, items = [], [], [], []
    for i in range(60):
        did = _long_id("D", i)
        deliverables.append(
            dataclasses.replace(
                template,
                id=did,
                name=f"{long_name} {i + 1}",
                acceptance_criteria=tuple(
                    dataclasses.replace(c, id=_long_id(f"AC{i}", k)) for k, c in enumerate(template.acceptance_criteria)
                ),
                defects_open=1 if i % 7 == 0 else 0,
            )
        )
        cid = _long_id("QC", i)
        checks.append(
            QualityCheck(
                id=cid,
                deliverable=did,
                date=date(2027, 2, 1) + timedelta(days=i % 28),
                standard=standard,
                checker=people[i % len(people)],
                result="pass" if i % 5 else "conditional",
                evidence=("/srv/pmo/evidence/" if i % 2 else "") + _long_id("EVIDENCE", i) + ".pdf",
                notes=(long_name * 2) if i % 5 == 0 else "",
                automated=bool(i % 3 == 0),
            )
        )
        records.append(
            AcceptanceRecord(
                id=_long_id("AR", i),
                deliverable=did,
                date=date(2027, 3, 1),
                milestone=ms_id,
                accepted_by=rep,
                verdict="accepted" if i % 5 else "accepted_with_conditions",
                conditions=long_name if i % 5 == 0 else "",
                evidence=_long_id("UAT", i),
            )
        )
        if i % 4 == 0:
            fname = f"/srv/pmo/projects/{base.code}/deliverables/{_long_id('FILE', i)}.pdf"
            items.append(
                HandoverItem(
                    id=_long_id("H", i),
                    name=f"{long_name} {i + 1}",
                    kind="document",
                    file=fname,
                    sha256=_sha(fname),
                    recipient=rep,
                    handed_over_on=date(2027, 3, 27),
                    status="accepted",
                    notes=long_name,
                )
            )
    milestone = dataclasses.replace(
        next(m for m in base.milestones if m.kind == "acceptance"),
        id=ms_id,
        name=long_name,
        deliverables=tuple(d.id for d in deliverables),
    )
    charter = dataclasses.replace(
        base.charter, name=f"{base.charter.name} {long_name}", contract_number=_long_id("CONTRACT", 0)
    )
    return dataclasses.replace(
        base,
        charter=charter,
        milestones=(*base.milestones, milestone),
        deliverables=(*base.deliverables, *deliverables),
        quality_checks=(*base.quality_checks, *checks),
        acceptance_records=(*base.acceptance_records, *records),
        handover_items=(*base.handover_items, *items),
    )


def long_names(p: Project) -> Project:
    """The project with a long name and long task and milestone names (the stress test of other states)."""
    zh = _zh(p)
    tail = (
        "（含多工厂多车间制造执行系统与企业资源计划系统深度集成及数据治理）"
        if zh
        else " including the integration of every clinic's practice management system and payment terminals"
    )
    charter = dataclasses.replace(p.charter, name=p.charter.name + tail, contract_number=_long_id("CONTRACT", 0))
    tasks = tuple(dataclasses.replace(t, name=t.name + tail) if i % 3 == 0 else t for i, t in enumerate(p.tasks))
    milestones = tuple(dataclasses.replace(m, name=m.name + tail) for m in p.milestones)
    return dataclasses.replace(p, charter=charter, tasks=tasks, milestones=milestones)


@functools.cache
def default_titles() -> PackTitles:
    """The shipped default pack's printed names, as the documents service passes them in a Stamp."""
    return pack_titles(load_pack(package_data_dir("rules") / "default"))

"""Quality checks: run the rule pack's quality standards over a project's deliverables and record them.

Each standard in ``rules/<pack>/quality/*.yaml`` selects deliverables (``applies_to``, CEL over ``d``;
all of them when absent) and is checked by its ``kind``:

* ``cel``: the standard's ``check`` expression over ``d`` and the project facts (the same facts and
  registered functions as the gate rules);
* ``file_sha256``: the delivered file exists and its sha256 matches the one recorded on the
  deliverable. The file is read only inside the workspace's documents root (``deliverables_dir``,
  default ``<workspace>/deliverables``): a relative path is taken from there, an absolute one must
  lie inside it; ``..``, ``~``, links out of the root, anything but a regular file and files over
  ``max_file_bytes`` are refused (a failure saying why), and the evidence names the file relative to
  the root, never a server folder (:mod:`lifecycle.services.files`);
* ``requirements_verified``: every requirement linked to the deliverable (of the priorities in
  ``params.priorities``, default ``must``; rejected ones excepted) has status ``verified``;
* ``defect_threshold``: open defects, failed tests and passed tests within ``params``
  (``max_open_defects``, ``max_failed_tests``, default 0; ``min_tests_passed``, default 0).

A failure of a ``blocking`` standard is recorded as ``fail``, of a ``warning`` standard as
``conditional``; an expression that cannot be evaluated is a ``fail`` whose evidence says why, never a
pass. Results are written as ``QualityCheck`` entities (``automated: true``) with ids derived from
deliverable and standard (``QC-<deliverable>-<standard>``), updated in place only when the result or
its evidence changed, so running the checks twice writes nothing the second time. Each failure opens
one ``ImprovementAction`` (``IA-<deliverable>-<standard>``) owned by the deliverable's owner; a later
pass marks it done. A check **measures** each acceptance criterion of the deliverable that names its
standard: its result is recorded as that criterion's result (``CV-<deliverable>-<criterion>``,
``automated``, pointing at the check) through :func:`~lifecycle.domain.acceptance.with_result`, the
function a person's result goes through, and again only when it changed. The pack's standards the
project does not list yet are added to its ``quality_standards`` so documents can name them.
Everything is one audited, version-checked update.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from lifecycle.domain.acceptance import default_target, with_result
from lifecycle.domain.facts import build_facts
from lifecycle.domain.model import (
    CriterionResult,
    Deliverable,
    ImprovementAction,
    Project,
    QualityCheck,
    QualityStandard,
    replace,
)
from lifecycle.errors import InvalidInput
from lifecycle.expr import CelEnv, deliverable_results
from lifecycle.services.context import Context
from lifecycle.services.files import check_file
from lifecycle.services.projects import load_rules, update_project, upsert

IMPROVEMENT_DAYS = 14
_UNSAFE = re.compile(r"[\s/\\]+")


@dataclass(frozen=True)
class Outcome:
    deliverable: str
    standard: str
    result: str  # pass | fail | conditional
    evidence: str
    title: str
    severity: str


def stable_id(prefix: str, deliverable: str, standard: str) -> str:
    """``<prefix>-<deliverable>-<standard>``, made a valid id (no spaces or slashes, at most 80 chars)."""
    raw = _UNSAFE.sub("_", f"{prefix}-{deliverable}-{standard}")
    if len(raw) <= 80:
        return raw
    digest = hashlib.sha256(raw.encode()).hexdigest()[:10]
    return raw[:69] + "-" + digest


def _lang(project: Project) -> str:
    return "zh" if project.charter.locale.lower().startswith("zh") else "en"


def _text(value: Mapping[str, str] | None, lang: str, default: str = "") -> str:
    if not value:
        return default
    return value.get(lang) or value.get("en") or value.get("zh") or default


# ------------------------------------------------------------------ python check kinds
_WHY_ZH = {
    "refused": "拒绝读取",
    "missing": "在交付文件目录中找不到",
    "unreadable": "无法读取",
    "too_large": "超过大小上限",
}


def check_file_sha256(d: Deliverable, root: Path, limit: int, lang: str = "en") -> tuple[bool, str]:
    """The deliverable's file, read inside the documents ``root`` only, against its recorded sha256.

    The evidence names the file relative to the root, never a server folder (see
    :mod:`lifecycle.services.files`); a refused, missing or oversized file is a failure saying so.
    """
    zh = lang == "zh"
    if not d.file:
        return False, (f"{d.id} 未登记交付文件" if zh else f"{d.id} records no delivered file")
    got = check_file(root, d.file, limit)
    if not d.sha256:
        return False, (f"{d.id} 的文件 {got.name} 未登记 SHA-256" if zh else f"{d.id} records no sha256 for {got.name}")
    if not got.ok:
        return False, (
            f"文件 {got.name}：{_WHY_ZH.get(got.problem, got.problem)}（{got.reason}）"
            if zh
            else f"file {got.name}: {got.reason}"
        )
    if got.sha256 != d.sha256.strip().lower():
        return False, (
            f"文件 {got.name} 的 SHA-256 为 {got.sha256[:16]}…，与登记的 {d.sha256[:16]}… 不一致"
            if zh
            else f"file {got.name} has SHA-256 {got.sha256[:16]}…, but {d.sha256[:16]}… is recorded"
        )
    return True, (
        f"文件 {got.name}（{got.size} 字节）与登记的 SHA-256 {got.sha256[:16]}… 一致"
        if zh
        else f"file {got.name} ({got.size} bytes) matches its recorded SHA-256 {got.sha256[:16]}…"
    )


def check_requirements(
    project: Project, d: Deliverable, params: Mapping[str, Any], lang: str = "en"
) -> tuple[bool, str]:
    zh = lang == "zh"
    priorities = tuple(params.get("priorities") or ("must",))
    linked = [
        r for r in project.requirements if r.deliverable == d.id and r.priority in priorities and r.status != "rejected"
    ]
    kinds = "/".join(priorities)
    if not linked:
        return True, (f"没有关联 {kinds} 类需求" if zh else f"no {kinds} requirement is linked to {d.id}")
    missing = [r for r in linked if r.status != "verified"]
    if missing:
        ids = ", ".join(f"{r.id} ({r.status})" for r in missing[:20])
        return False, (
            f"{len(linked)} 项关联需求中有 {len(missing)} 项未验证：{ids}"
            if zh
            else f"{len(missing)} of {len(linked)} linked requirement(s) not verified: {ids}"
        )
    ids = ", ".join(r.id for r in linked[:20]) + (" …" if len(linked) > 20 else "")
    return True, (
        f"关联的 {len(linked)} 项需求均已验证（{ids}）"
        if zh
        else f"all {len(linked)} linked requirement(s) verified ({ids})"
    )


def check_defects(d: Deliverable, params: Mapping[str, Any], lang: str = "en") -> tuple[bool, str]:
    zh = lang == "zh"
    max_defects = int(params.get("max_open_defects", 0))
    max_failed = int(params.get("max_failed_tests", 0))
    min_passed = int(params.get("min_tests_passed", 0))
    checks = (d.defects_open <= max_defects, d.tests_failed <= max_failed, d.tests_passed >= min_passed)
    if zh:
        parts = [
            f"未关闭缺陷 {d.defects_open}（上限 {max_defects}）",
            f"失败用例 {d.tests_failed}（上限 {max_failed}）",
            f"通过用例 {d.tests_passed}（至少 {min_passed}）",
        ]
    else:
        parts = [
            f"open defects {d.defects_open} (max {max_defects})",
            f"failed tests {d.tests_failed} (max {max_failed})",
            f"passed tests {d.tests_passed} (min {min_passed})",
        ]
    ok = all(checks)
    bad = [p for p, good in zip(parts, checks, strict=True) if not good]
    sep = "，" if zh else ", "
    tail = "" if ok else ((" — 超出：" if zh else " — out of bounds: ") + "; ".join(bad))
    return ok, sep.join(parts) + tail


# ------------------------------------------------------------------ evaluation
def _targets(env: Any, spec: Any, project: Project, wanted: set[str] | None) -> list[tuple[str, str]]:
    """The deliverables ``spec`` applies to, each with the error of its ``applies_to`` (empty: none)."""
    if spec.applies_to is None:
        targets = [(d.id, "") for d in project.deliverables]
    else:
        targets = []
        for did, res in deliverable_results(env, spec.applies_to):
            if not res.ok:
                targets.append((did, f"applies_to could not be evaluated: {res.error}"))
            elif res.value is True:
                targets.append((did, ""))
    return [(did, err) for did, err in targets if wanted is None or did in wanted]


def _cel_check(did: str, got: Any, spec: Any, title: str, lang: str) -> tuple[bool, str]:
    expr = spec.check.text if spec.check else ""
    if got is None or not got.ok:
        why = got.error if got is not None else "no result"
        return False, f"{did}: `{expr}` could not be evaluated: {why}"
    if not isinstance(got.value, bool):
        return False, f"{did}: `{expr}` gave {got.value!r}, not true or false"
    met = ("符合" if got.value else "不符合") if lang == "zh" else ("met" if got.value else "not met")
    return got.value, f"{title}{'：' if lang == 'zh' else ': '}{met}"


class _Checker:
    """Runs one standard on one deliverable; files are read inside the workspace's documents root."""

    def __init__(self, ctx: Context, project: Project, lang: str) -> None:
        self.ctx, self.project, self.lang = ctx, project, lang

    def check(self, spec: Any, d: Any, cel: Any, title: str) -> tuple[bool, str]:
        if spec.kind == "cel":
            return _cel_check(d.id, cel, spec, title, self.lang)
        if spec.kind == "file_sha256":
            ws = self.ctx.workspace
            return check_file_sha256(d, ws.deliverables_dir, ws.max_file_bytes, self.lang)
        if spec.kind == "requirements_verified":
            return check_requirements(self.project, d, spec.params, self.lang)
        if spec.kind == "defect_threshold":
            return check_defects(d, spec.params, self.lang)
        return False, f"unknown quality check kind '{spec.kind}'"  # the loader admits known kinds only


def _wanted(project: Project, deliverables: Sequence[str] | None) -> set[str] | None:
    if deliverables is None:
        return None
    unknown = [x for x in deliverables if x not in project.index("deliverables")]
    if unknown:
        raise InvalidInput(f"project {project.code} has no deliverable(s) {', '.join(unknown)}")
    return set(deliverables)


def evaluate_standards(ctx: Context, project: Project, deliverables: Sequence[str] | None = None) -> list[Outcome]:
    """The outcome of every applicable (deliverable, standard) pair; pure apart from reading files."""
    pack = load_rules(ctx)
    wanted = _wanted(project, deliverables)
    if not pack.quality or (wanted is not None and not wanted):
        return []
    index = project.index("deliverables")
    lang = _lang(project)
    env = CelEnv(build_facts(project, ctx.today()))
    checker = _Checker(ctx, project, lang)
    out: list[Outcome] = []
    for spec in pack.quality:
        title = _text(spec.title, lang, spec.id)
        targets = _targets(env, spec, project, wanted)
        if not targets:
            continue
        cel_results = dict(deliverable_results(env, spec.check)) if spec.kind == "cel" and spec.check else {}
        for did, err in targets:
            ok, evidence = (
                (False, f"{did}: {err}") if err else checker.check(spec, index[did], cel_results.get(did), title)
            )
            msg = "" if ok else _text(spec.message, lang)
            if msg:
                evidence = f"{evidence} — {msg}"
            result = "pass" if ok else ("conditional" if spec.severity == "warning" else "fail")
            out.append(Outcome(did, spec.id, result, evidence[:2000], title, spec.severity))
    return out


# ------------------------------------------------------------------ recording
def _apply(project: Project, outcomes: Sequence[Outcome], today: date, pack: Any) -> Project:
    lang = _lang(project)
    p = project
    standards = p.index("quality_standards")
    checks = p.index("quality_checks")
    actions = p.index("improvement_actions")
    owners = {d.id: d.owner for d in p.deliverables}
    for spec in pack.quality:
        if spec.id in standards or not any(o.standard == spec.id for o in outcomes):
            continue
        p = upsert(
            p,
            "quality_standards",
            QualityStandard(
                id=spec.id,
                name=_text(spec.title, lang, spec.id),
                reference=spec.reference,
                description=spec.description,
                metric=spec.kind,
                target=", ".join(f"{k}={v}" for k, v in sorted(spec.params.items())) if spec.params else "",
            ),
        )
    for o in outcomes:
        qc_id = stable_id("QC", o.deliverable, o.standard)
        p = _measure_criteria(p, o, qc_id, today)
        old = checks.get(qc_id)
        if (
            old is None
            or (old.result, old.evidence, old.standard, old.deliverable)
            != (o.result, o.evidence, o.standard, o.deliverable)
            or not old.automated
        ):
            p = upsert(
                p,
                "quality_checks",
                QualityCheck(
                    id=qc_id,
                    deliverable=o.deliverable,
                    date=today,
                    standard=o.standard,
                    result=o.result,  # type: ignore[arg-type]
                    evidence=o.evidence,
                    notes=f"{o.title} ({pack.name} {pack.version})",
                    automated=True,
                ),
            )
        ia_id = stable_id("IA", o.deliverable, o.standard)
        action = actions.get(ia_id)
        if o.result == "pass":
            if action is not None and action.status == "open":
                p = upsert(p, "improvement_actions", replace(action, status="done"))
            continue
        if action is None:
            p = upsert(
                p,
                "improvement_actions",
                ImprovementAction(
                    id=ia_id,
                    description=f"{o.title}: {o.evidence}"[:1000],
                    check=qc_id,
                    owner=owners.get(o.deliverable, ""),
                    due=today + timedelta(days=IMPROVEMENT_DAYS),
                    status="open",
                ),
            )
        elif action.status != "open":
            p = upsert(
                p,
                "improvement_actions",
                replace(
                    action,
                    status="open",
                    description=f"{o.title}: {o.evidence}"[:1000],
                    due=today + timedelta(days=IMPROVEMENT_DAYS),
                ),
            )
    return p


def _measure_criteria(project: Project, o: Outcome, qc_id: str, today: date) -> Project:
    """The outcome recorded as the result of each criterion of the deliverable that names its standard."""
    deliverable = project.index("deliverables").get(o.deliverable)
    if deliverable is None:
        return project
    results = project.index("criterion_results")
    for c in deliverable.acceptance_criteria:
        if c.standard != o.standard:
            continue
        rid = stable_id("CV", o.deliverable, c.id)
        old = results.get(rid)
        if old is not None and old.automated and (old.result, old.quality_check) == (o.result, qc_id):
            continue
        result = CriterionResult(
            id=rid,
            deliverable=o.deliverable,
            criterion=c.id,
            result=o.result,  # type: ignore[arg-type]
            target=default_target(project, c) or o.title,
            method=c.method or "analysis",
            date=today,
            conditions=o.evidence if o.result == "conditional" else "",
            notes=o.evidence,
            automated=True,
            quality_check=qc_id,
        )
        project = with_result(project, result)
    return project


def run_quality_checks(ctx: Context, code: str, deliverables: Sequence[str] | None = None) -> list[QualityCheck]:
    """Run the pack's quality standards on ``deliverables`` (default: all) and record the results.

    Returns the quality checks of this run (recorded or already up to date), in pack order.
    """
    project = ctx.store.get(code)
    outcomes = evaluate_standards(ctx, project, deliverables)
    if not outcomes:
        return []
    pack = load_rules(ctx)
    today = ctx.today()
    failed = [o for o in outcomes if o.result != "pass"]
    saved = update_project(
        ctx,
        code,
        lambda p: _apply(p, outcomes, today, pack),
        action="quality.checked",
        entity="quality_checks",
        entity_id=",".join(sorted({o.deliverable for o in outcomes}))[:200],
        data={
            "pack": {"name": pack.name, "version": pack.version, "hash": pack.hash},
            "checks": len(outcomes),
            "failed": [f"{o.deliverable}/{o.standard}" for o in failed],
        },
    )
    checks = saved.index("quality_checks")
    return [checks[stable_id("QC", o.deliverable, o.standard)] for o in outcomes]


def check_summary(check: QualityCheck) -> dict[str, Any]:
    """A quality check as plain data (for flow results and notifications)."""
    return {
        "id": check.id,
        "deliverable": check.deliverable,
        "standard": check.standard,
        "result": check.result,
        "evidence": check.evidence,
        "date": check.date.isoformat() if check.date else None,
    }

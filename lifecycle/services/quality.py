"""Quality checks: run the rule pack's quality standards over a project's deliverables and record them.

Each standard in ``rules/<pack>/quality/*.yaml`` selects deliverables (``applies_to``, CEL over ``d``;
all of them when absent) and is checked by its ``kind``:

* ``cel``: the standard's ``check`` expression over ``d`` and the project facts (the same facts and
  registered functions as the gate rules);
* ``file_sha256``: the delivered file exists and its sha256 matches the one recorded on the
  deliverable. A relative path is looked up next to the project file it was applied from, then in the
  folder holding the workspace, then in the current directory;
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
def project_folders(ctx: Context, code: str) -> list[Path]:
    """Where relative deliverable paths are looked up: the project file's folder first."""
    folders: list[Path] = []
    for ev in reversed(ctx.store.audit(code)):
        source = ev.data.get("source") if isinstance(ev.data, Mapping) else None
        if isinstance(source, str) and source:
            p = Path(source)
            candidates = [p] if p.is_absolute() else [ctx.workspace.root.parent / p, Path.cwd() / p]
            for c in candidates:
                if c.is_file() and c.parent not in folders:
                    folders.append(c.parent)
            if folders:
                break
    for extra in (ctx.workspace.root.parent, Path.cwd()):
        if extra not in folders:
            folders.append(extra)
    return folders


def file_sha256(path: Path) -> str:
    """The sha256 (hex) of a file, read in blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_file_sha256(d: Deliverable, folders: Sequence[Path], lang: str = "en") -> tuple[bool, str]:
    zh = lang == "zh"
    if not d.file:
        return False, (f"{d.id} 未登记交付文件" if zh else f"{d.id} records no delivered file")
    if not d.sha256:
        return False, (f"{d.id} 的文件 {d.file} 未登记 SHA-256" if zh else f"{d.id} records no sha256 for {d.file}")
    raw = Path(d.file).expanduser()
    candidates = [raw] if raw.is_absolute() else [f / raw for f in folders]
    path = next((c for c in candidates if c.is_file()), None)
    if path is None:
        where = ", ".join(str(c.parent) for c in candidates)
        return False, (
            f"找不到文件 {d.file}（查找位置：{where}）" if zh else f"file {d.file} not found (looked in {where})"
        )
    actual = file_sha256(path)
    if actual.lower() != d.sha256.strip().lower():
        return False, (
            f"文件 {path.name} 的 SHA-256 为 {actual[:16]}…，与登记的 {d.sha256[:16]}… 不一致"
            if zh
            else f"file {path.name} has SHA-256 {actual[:16]}…, but {d.sha256[:16]}… is recorded"
        )
    size = path.stat().st_size
    return True, (
        f"文件 {path.name}（{size} 字节）与登记的 SHA-256 {actual[:16]}… 一致"
        if zh
        else f"file {path.name} ({size} bytes) matches its recorded SHA-256 {actual[:16]}…"
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
    """Runs one standard on one deliverable; the project's folders are looked up once, when needed."""

    def __init__(self, ctx: Context, project: Project, lang: str) -> None:
        self.ctx, self.project, self.lang = ctx, project, lang
        self._folders: list[Path] | None = None

    def folders(self) -> list[Path]:
        if self._folders is None:
            self._folders = project_folders(self.ctx, self.project.code)
        return self._folders

    def check(self, spec: Any, d: Any, cel: Any, title: str) -> tuple[bool, str]:
        if spec.kind == "cel":
            return _cel_check(d.id, cel, spec, title, self.lang)
        if spec.kind == "file_sha256":
            return check_file_sha256(d, self.folders(), self.lang)
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

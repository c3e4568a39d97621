"""Handing in a deliverable and recording the results of its acceptance criteria.

:func:`submit_deliverable` hands a deliverable in (status ``submitted``, optionally the delivered
file and its checksum); :func:`record_criterion_result` records one verification of one acceptance
criterion (measured value and unit, target, method, evidence, verifier, date, pass / fail /
conditional). Results are kept as a history (``criterion_results`` of the project): a new
verification is a new entry, and the latest one of a criterion counts
(:mod:`lifecycle.domain.acceptance`). Both are one audited, version-checked update through
:func:`~lifecycle.services.projects.update_project`, which also checks the acting user may record
on the project (the PM or the team, or a PMO administrator).

Every result is added by :func:`~lifecycle.domain.acceptance.with_result`; quality checks that
measure a criterion (the criterion names the checked standard) record theirs through it too, marked
``automated`` (:mod:`lifecycle.services.quality`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from lifecycle.domain import policy
from lifecycle.domain.acceptance import OUTCOMES, default_target, evidence_problem, with_result
from lifecycle.domain.model import AcceptanceCriterion, CriterionResult, Deliverable, Project
from lifecycle.errors import InvalidInput, NotFound
from lifecycle.services.context import Context
from lifecycle.services.files import check_file
from lifecycle.services.projects import get_item, set_fields, update_project

__all__ = [
    "CriterionResult",
    "Deliverable",
    "NewResult",
    "Submission",
    "criterion_of",
    "default_target",
    "record_criterion_result",
    "submit_deliverable",
    "with_result",
]


@dataclass(frozen=True)
class Submission:
    """What is handed in: the delivered file (relative to the documents root) and a note."""

    file: str = ""  # relative to the documents root (deliverables_dir)
    note: str = ""


def _delivered_file(ctx: Context, code: str, name: str) -> tuple[str, str]:
    """The file as recorded (relative to the documents root) and its sha256; InvalidInput when it is not
    there or may not be read (outside the root, a link out of it, not a regular file, too large)."""
    if Path(name).is_absolute() or evidence_problem(name):
        raise InvalidInput(f"--file {name}: give the file relative to the documents root (deliverables_dir)")
    ws = ctx.workspace
    got = check_file(ws.deliverables_dir, name, ws.max_file_bytes)
    if not got.ok:
        raise InvalidInput(f"--file {name}: {got.reason} (files are read inside the documents root only)")
    return got.name, got.sha256


def submit_deliverable(ctx: Context, code: str, deliverable_id: str, sub: Submission) -> Deliverable:
    """Hand a deliverable in: status ``submitted``; with a file, the file and its sha256 are recorded."""
    project = ctx.store.get(code)
    d: Deliverable = get_item(project, "deliverables", deliverable_id)
    if d.status == "accepted":
        raise InvalidInput(f"{deliverable_id} is already accepted: it cannot be handed in again")
    values: dict[str, str] = {"status": "submitted"}
    if sub.file:
        values["file"], values["sha256"] = _delivered_file(ctx, code, sub.file)
    data = {"note": sub.note, "was": d.status, **ctx.acting()}
    result: Deliverable = set_fields(
        ctx, code, "deliverables", deliverable_id, values, action="deliverable.submitted", data=data
    )
    return result


@dataclass(frozen=True)
class NewResult:
    """One verification of a criterion; empty target and method default to the criterion's."""

    result: str
    measured: str = ""
    unit: str = ""
    target: str = ""
    method: str = ""
    evidence: str = ""
    verifier: str = ""
    date: date | None = None
    conditions: str = ""
    notes: str = ""


def criterion_of(project: Project, deliverable_id: str, criterion_id: str) -> AcceptanceCriterion:
    d: Deliverable = get_item(project, "deliverables", deliverable_id)
    for c in d.acceptance_criteria:
        if c.id == criterion_id:
            return c
    known = ", ".join(c.id for c in d.acceptance_criteria) or "none"
    raise NotFound(f"deliverable {deliverable_id} has no acceptance criterion '{criterion_id}' (criteria: {known})")


def _result_id(project: Project, deliverable_id: str, criterion_id: str) -> str:
    taken = {r.id for r in project.criterion_results}
    n = sum(1 for r in project.criterion_results if (r.deliverable, r.criterion) == (deliverable_id, criterion_id))
    while True:
        n += 1
        stem = criterion_id if criterion_id.startswith(deliverable_id) else f"{deliverable_id}-{criterion_id}"
        rid = f"{stem}-V{n}"
        if rid not in taken:
            return rid


def _verifier(ctx: Context, project: Project, given: str) -> str:
    if given:
        return given
    own = policy.linked_ids(project, ctx.principal)
    if len(own) == 1:
        return next(iter(own))
    raise InvalidInput("say who verified it: --verifier PERSON (a person or contact id)")


def _check_new(new: NewResult) -> None:
    if new.result not in OUTCOMES:
        raise InvalidInput(f"the result must be one of {', '.join(OUTCOMES)}, not '{new.result}'")
    if new.result == "conditional" and not new.conditions.strip():
        raise InvalidInput("a conditional result states its conditions: --conditions TEXT")
    problem = evidence_problem(new.evidence)
    if problem:
        raise InvalidInput(problem)


def record_criterion_result(
    ctx: Context, code: str, deliverable_id: str, criterion_id: str, new: NewResult
) -> CriterionResult:
    """Record one verification of a deliverable's acceptance criterion (dated today unless given)."""
    _check_new(new)
    project = ctx.store.get(code)
    criterion = criterion_of(project, deliverable_id, criterion_id)
    result = CriterionResult(
        id=_result_id(project, deliverable_id, criterion_id),
        deliverable=deliverable_id,
        criterion=criterion_id,
        result=new.result,  # type: ignore[arg-type]  # checked against OUTCOMES above
        measured=new.measured,
        unit=new.unit,
        target=new.target or default_target(project, criterion),
        method=new.method or criterion.method,
        evidence=new.evidence,
        verifier=_verifier(ctx, project, new.verifier),
        date=new.date or ctx.today(),
        conditions=new.conditions,
        notes=new.notes,
    )
    update_project(
        ctx,
        code,
        lambda p: with_result(p, result),
        action="criterion.recorded",
        entity="criterion_results",
        entity_id=result.id,
        data={"deliverable": deliverable_id, "criterion": criterion_id, "result": new.result, **ctx.acting()},
    )
    return result

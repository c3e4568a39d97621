"""The registry of document kinds: one entry per kind of client document, the only table of them.

Each :class:`DocumentKind` names what every other part needs to know about a kind: the view builder
that makes its record (in :mod:`lifecycle.documents.views`), its template (``templates/<kind>.html``),
its title in Chinese and English (the only copy: e-mail subjects and the command line read it here),
its document-number prefix (``<CODE>-<PREFIX>-<N>``), the ``pmo docs`` command that issues it, what
subject it is about (a milestone, a gate review, or the whole project), the state of the sample
project the tests issue it from, and its audiences (the client's version, and for some kinds the PMO's
internal one, numbered ``...-<N>-INT``: :func:`next_number` holds every numbering rule). Adding a
kind is one entry here plus its template; the ``pmo docs`` commands, numbering, e-mails and the
rendering test follow from the table.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from lifecycle.documents.views import (
    Stamp,
    build_acceptance,
    build_final_acceptance,
    build_gate_review,
    build_handover,
    build_status,
)
from lifecycle.domain.model import DocumentRecord, Milestone, Project
from lifecycle.errors import InvalidInput, NotFound

Subject = Literal["project", "milestone", "review"]


@dataclass(frozen=True)
class ViewInput:
    """What a view builder may read: the project, the stamp, and the kind's subject if it has one."""

    project: Project
    stamp: Stamp
    milestone: Milestone | None = None
    review: Mapping[str, Any] | None = None
    waivers: Sequence[Mapping[str, Any]] = ()
    audience: str = "client"  # "internal": the PMO's variant where a kind has one (final acceptance, status)


Builder = Callable[[ViewInput], dict[str, Any]]


@dataclass(frozen=True)
class DocumentKind:
    kind: str  # the record's ``kind``, the template's name, the registry's key
    title_zh: str
    title_en: str
    prefix: str  # document numbers: <CODE>-<PREFIX>[-<milestone>]-<N>
    command: str  # `pmo docs <command>`
    detail: str  # what the document holds: the command's help after the title
    subject: Subject
    build: Builder
    fixture: str  # the state of the sample project the tests issue this kind from
    # who a version is for: every kind has the client's; a kind listing "internal" also has the PMO's
    audiences: tuple[str, ...] = ("client",)

    @property
    def help(self) -> str:
        """The `pmo docs` command's help: the title in both languages, then what the document holds."""
        return f"{self.title_en} ({self.title_zh}){self.detail}"

    @property
    def template(self) -> str:
        return f"{self.kind}.html"

    def title(self, lang: str) -> str:
        """The title in ``lang`` (``zh``, ``zh-CN`` or ``en``)."""
        return self.title_zh if lang.lower().startswith("zh") else self.title_en


def _acceptance(v: ViewInput) -> dict[str, Any]:
    if v.milestone is None:
        raise InvalidInput("an acceptance certificate needs a milestone")
    return build_acceptance(v.project, v.stamp, v.milestone, v.waivers)


def _gate_review(v: ViewInput) -> dict[str, Any]:
    if v.review is None:
        raise NotFound(f"no gate review to report for {v.project.code}")
    return build_gate_review(v.project, v.stamp, v.review, v.waivers)


def _final_acceptance(v: ViewInput) -> dict[str, Any]:
    return build_final_acceptance(v.project, v.stamp, v.waivers, audience=v.audience)


def _status(v: ViewInput) -> dict[str, Any]:
    return build_status(v.project, v.stamp, v.waivers, audience=v.audience)


def _whole(builder: Callable[[Project, Stamp, Sequence[Mapping[str, Any]]], dict[str, Any]]) -> Builder:
    """A builder of a document about the whole project (no milestone, no review)."""
    return lambda v: builder(v.project, v.stamp, v.waivers)


KINDS: dict[str, DocumentKind] = {
    k.kind: k
    for k in (
        DocumentKind(
            "acceptance",
            "验收单",
            "Acceptance certificate",
            "ACC",
            "acceptance",
            " for one milestone's deliverables.",
            "milestone",
            _acceptance,
            "closed",
        ),
        DocumentKind(
            "final_acceptance",
            "验收报告",
            "Final acceptance report",
            "FAR",
            "final-acceptance",
            " for the whole project.",
            "project",
            _final_acceptance,
            "closed",
            ("client", "internal"),
        ),
        DocumentKind(
            "handover",
            "交接清单",
            "Handover package",
            "HOV",
            "handover",
            ": items with checksums, training, support, warranty, open items.",
            "project",
            _whole(build_handover),
            "closed",
        ),
        DocumentKind(
            "gate_review",
            "阶段评审报告",
            "Gate review report",
            "GRR",
            "gate-review",
            ": decision, each rule's result and evidence, approvals, waivers.",
            "review",
            _gate_review,
            "planning",
        ),
        DocumentKind(
            "status",
            "项目状态报告",
            "Project status report",
            "STR",
            "status",
            ": RAG, progress against plan, milestones, budget, risks, issues, decisions.",
            "project",
            _status,
            "execution",
            ("client", "internal"),
        ),
    )
}

INTERNAL_SUFFIX = "-INT"  # ends the number of the PMO's internal version of a document
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
MILESTONE_PART_MAX = 24  # characters of a milestone id kept in a document number


def document_kind(kind: str) -> DocumentKind:
    """The registry entry of ``kind``; InvalidInput naming the known kinds otherwise."""
    entry = KINDS.get(kind)
    if entry is None:
        raise InvalidInput(f"unknown document kind '{kind}' (known: {', '.join(KINDS)})")
    return entry


def titles_of(kind: str) -> dict[str, str]:
    """The kind's title in both languages (``{"zh": ..., "en": ...}``); its name in words if unknown."""
    entry = KINDS.get(kind)
    if entry is None:
        words = kind.replace("_", " ")
        return {"zh": words, "en": words}
    return {"zh": entry.title_zh, "en": entry.title_en}


def number_prefix(code: str, kind: str, milestone: str | None = None) -> str:
    """``<CODE>-<PREFIX>``, and for a kind about a milestone ``-<milestone>`` (made file-name safe)."""
    entry = document_kind(kind)
    parts = [code, entry.prefix]
    if entry.subject == "milestone":
        if not milestone:
            raise InvalidInput(f"a document of kind '{kind}' needs a milestone")
        parts.append(_milestone_part(milestone))
    return "-".join(parts)


def _milestone_part(milestone: str) -> str:
    """The milestone in a document number: its id, or for a long id (more than MILESTONE_PART_MAX
    characters) its start and a short hash, so the number still fits a page header and a file name."""
    safe = _SAFE.sub("_", milestone)
    if len(safe) <= MILESTONE_PART_MAX:
        return safe
    digest = hashlib.sha256(milestone.encode("utf-8")).hexdigest()[:6]
    return f"{safe[: MILESTONE_PART_MAX - 7]}-{digest}"


def check_audience(kind: str, audience: str) -> str:
    """``audience`` if documents of ``kind`` have a version for it; InvalidInput otherwise."""
    entry = document_kind(kind)
    if audience not in entry.audiences:
        have = " or ".join(entry.audiences)
        raise InvalidInput(f"a document of kind '{kind}' has no version for audience '{audience}' (it has: {have})")
    return audience


def next_number(
    code: str, kind: str, existing: Iterable[DocumentRecord], milestone: str | None = None, audience: str = "client"
) -> tuple[str, int]:
    """The next free document number for this prefix and its sequence ``N`` (1 for the first).

    The numbering rules, all here: ``<CODE>-<PREFIX>[-<milestone>]-<N>`` for the client's version; the
    PMO's internal version of a kind counts its own ``N`` and ends in :data:`INTERNAL_SUFFIX`
    (``SZ-MES-2026-FAR-1-INT``), so it is never mistaken for, nor takes the number of, a client document.
    """
    prefix = number_prefix(code, kind, milestone)
    suffix = INTERNAL_SUFFIX if check_audience(kind, audience) == "internal" else ""
    pattern = re.compile(re.escape(prefix) + r"-(\d+)" + re.escape(suffix) + "$")
    seen = [int(m.group(1)) for d in existing if d.kind == kind and (m := pattern.match(d.number))]
    n = max(seen, default=0) + 1
    return f"{prefix}-{n}{suffix}", n


def number_sequence(number: str) -> int:
    """The ``N`` of a document number made by :func:`next_number` (1 if the number has none)."""
    tail = number.removesuffix(INTERNAL_SUFFIX).rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 1


def build_view(
    kind: str,
    project: Project,
    stamp: Stamp,
    *,
    milestone: Milestone | None = None,
    review: Mapping[str, Any] | None = None,
    waivers: Sequence[Mapping[str, Any]] = (),
    audience: str = "client",
) -> dict[str, Any]:
    """The record of a document of ``kind`` for ``audience``, built by the kind's registered view builder."""
    check_audience(kind, audience)
    return document_kind(kind).build(ViewInput(project, stamp, milestone, review, waivers, audience))

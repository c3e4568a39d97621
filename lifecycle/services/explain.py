"""Explanations of decisions: the facts a decision sees, a date to see them as of, and for each
failing rule the sub-conditions that failed with the values they saw.

Faces render what these functions return; the gate review annex can use :func:`explain_decision`
(a rule id -> explanation mapping, JSON-ready through ``Part.to_dict``).
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from lifecycle.domain.facts import build_facts
from lifecycle.domain.gates import Decision
from lifecycle.expr import lang_of
from lifecycle.expr.explain import Part, explain_lines
from lifecycle.services.context import Context
from lifecycle.services.gates import explanations, history_facts
from lifecycle.services.projects import load_rules

__all__ = ["Part", "dated", "explain_decision", "explanation_lines", "facts_document", "project_language"]


def dated(ctx: Context, day: date | None) -> Context:
    """``ctx`` with today fixed to ``day`` (``--as-of``): the project as stored now, seen on that date.

    The copy shares the store and the cache; None gives ``ctx`` itself.
    """
    if day is None:
        return ctx
    runtime = dataclasses.replace(ctx.workspace.runtime, today=day)
    return dataclasses.replace(ctx, workspace=dataclasses.replace(ctx.workspace, runtime=runtime))


def project_language(ctx: Context, code: str) -> str:
    """The language a project's texts are shown in (``zh`` or ``en``, from its charter's locale)."""
    return "zh" if lang_of(ctx.store.get(code)).lower().startswith("zh") else "en"


def facts_document(ctx: Context, code: str) -> dict[str, Any]:
    """The facts document gate rules see for project ``code`` today (``ctx.today()``)."""
    project = ctx.store.get(code)
    facts = build_facts(project, ctx.today(), history_facts(ctx, project))
    return dict(load_rules(ctx).extend_facts(facts, project))


def explain_decision(ctx: Context, decision: Decision) -> dict[str, Part]:
    """For each failing or erroneous rule of ``decision``, its check taken apart with the values seen.

    The facts are rebuilt for the decision's project and date; a project changed since the decision
    was made is explained as it stands now.
    """
    return explanations(ctx, ctx.store.get(decision.project), decision)


def explanation_lines(part: Part) -> list[str]:
    """An explanation as indented text lines (see :func:`lifecycle.expr.explain.explain_lines`)."""
    return explain_lines(part)

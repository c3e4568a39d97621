"""Semantic checks of a whole project: ids, references, dates in order, hierarchy and link cycles.

Pure: it returns ``(path, message)`` pairs, where a path is the tuple of keys and indexes into the
project file (``("tasks", 3, "owner")``); the spec layer turns paths into file lines. Type and range
checks happen earlier, when the file is built into objects; these are the checks that need the whole
project at once, and the limits of every value (:mod:`lifecycle.domain.limits`) once more, for
projects built from imports, command-line options and service calls rather than from a file.
"""

from __future__ import annotations

import re
from typing import Any

from lifecycle.domain.acceptance import criterion_problems
from lifecycle.domain.fields import fields_of
from lifecycle.domain.limits import ID_RE, ID_RULE, project_problems
from lifecycle.domain.model import SECTIONS, Project

Path = tuple[Any, ...]
Finding = tuple[Path, str]

CODE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{1,39}$")

# pairs of (earlier, later) date fields that must be in order, per section
DATE_ORDER: dict[str, tuple[tuple[str, str], ...]] = {
    "tasks": (("start", "finish"), ("actual_start", "actual_finish")),
    "status_reports": (("period_start", "period_end"),),
    "issues": (("raised_on", "resolved_on"),),
    "change_requests": (("requested_on", "decided_on"),),
    "risks": (("identified_on", "review_date"),),
}


def find_cycle(edges: dict[str, list[str]]) -> list[str] | None:
    """Return one cycle (first node repeated at the end) in a directed graph, or None."""
    white, grey, black = 0, 1, 2
    color: dict[str, int] = {}
    for root in edges:
        if color.get(root, white) != white:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = []
        while stack:
            node, i = stack.pop()
            if i == 0:
                color[node] = grey
                path.append(node)
            succ = edges.get(node, [])
            if i < len(succ):
                stack.append((node, i + 1))
                nxt = succ[i]
                c = color.get(nxt, white)
                if c == grey:
                    return path[path.index(nxt) :] + [nxt]
                if c == white:
                    stack.append((nxt, 0))
            else:
                color[node] = black
                path.pop()
    return None


def validate_project(project: Project, known_ids: dict[str, set[str]] | None = None) -> list[Finding]:
    """Every semantic problem of the project (empty when it is consistent).

    ``known_ids`` names ids that exist but whose items were left out (they failed to load), so that
    references to them are not reported twice.
    """
    out: list[Finding] = list(project_problems(project))
    _check_charter(project, out)
    ids = _check_ids(project, known_ids or {}, out)
    ids["resource_calendars"] = _calendar_ids(project, out)
    ids["project"] = {"project"}  # a resource calendar's base may be the project calendar
    _check_refs(("calendar",), project.calendar, ids, out)
    _check_refs(("project",), project.charter, ids, out)
    for name in SECTIONS:
        for i, item in enumerate(project.section(name)):
            _check_refs((name, i), item, ids, out)
            _check_date_order(name, i, item, out)
    _check_hierarchy(project, out)
    _check_links(project, out)
    _check_tasks(project, out)
    out.extend(criterion_problems(project))
    for i, wd in enumerate(project.calendar.working_weekdays):
        if wd < 1 or wd > 7:
            out.append((("calendar", "working_weekdays", i), f"{wd} is not an ISO weekday (1 = Monday … 7 = Sunday)"))
    return out


def _calendar_ids(project: Project, out: list[Finding]) -> set[str]:
    """The resource calendars' ids, each well formed and once."""
    seen: set[str] = set()
    for i, c in enumerate(project.calendar.resource_calendars):
        where = ("calendar", "resource_calendars", i, "id")
        if not ID_RE.match(c.id) or c.id == "project":
            out.append((where, f"'{c.id}' is not a valid calendar id ({ID_RULE}; not 'project')"))
        elif c.id in seen:
            out.append((where, f"duplicate calendar id '{c.id}'"))
        seen.add(c.id)
    return seen


def _check_charter(project: Project, out: list[Finding]) -> None:
    ch = project.charter
    if not CODE_RE.match(ch.code):
        out.append(
            (
                ("project", "code"),
                f"'{ch.code}' is not a valid project code (letters, digits, - and _, "
                "starting with a letter, at most 40)",
            )
        )
    if ch.start and ch.finish and ch.start > ch.finish:
        out.append((("project", "finish"), f"finish {ch.finish} is before start {ch.start}"))


def _check_ids(project: Project, known_ids: dict[str, set[str]], out: list[Finding]) -> dict[str, set[str]]:
    """Ids well formed and unique per section; returns every section's ids (with the known ones)."""
    ids: dict[str, set[str]] = {}
    for name in SECTIONS:
        computed = name in ("links", "assignments")  # their key is computed from the ends, not typed
        seen: dict[str, int] = {}
        for i, item in enumerate(project.section(name)):
            key = item.id
            if not computed and not ID_RE.match(key):
                out.append(((name, i, "id"), f"'{key}' is not a valid id ({ID_RULE})"))
            if key in seen:
                what = "link" if name == "links" else "id"
                out.append(
                    (
                        (name, i, "successor" if computed else "id"),
                        f"duplicate {what} '{key}' (first at {name}[{seen[key]}])",
                    )
                )
            else:
                seen[key] = i
        ids[name] = set(seen) | known_ids.get(name, set())
    return ids


def _check_refs(path: Path, obj: Any, ids: dict[str, set[str]], out: list[Finding]) -> None:
    """Every reference field of ``obj`` (and of the objects it holds) names an existing id."""
    for info in fields_of(type(obj)):
        value = getattr(obj, info.name)
        if info.kind == "object" and value is not None:
            _check_refs(path + (info.name,), value, ids, out)
        elif info.kind == "list" and info.item is not None and info.item.kind == "object":
            for j, sub in enumerate(value):
                _check_refs(path + (info.name, j), sub, ids, out)
        elif info.ref:
            values = value if isinstance(value, tuple) else (value,)
            for j, v in enumerate(values):
                if v == "" or v is None:
                    continue
                if not any(v in ids.get(r, set()) for r in info.ref):
                    where = path + ((info.name, j) if isinstance(value, tuple) else (info.name,))
                    kinds = " or ".join(info.ref)
                    out.append((where, f"unknown {kinds.replace('_', ' ')} id '{v}'"))


def _check_date_order(name: str, i: int, item: Any, out: list[Finding]) -> None:
    for early, late in DATE_ORDER.get(name, ()):
        a, b = getattr(item, early), getattr(item, late)
        if a is not None and b is not None and a > b:
            out.append(((name, i, late), f"{late} {b} is before {early} {a}"))


def _check_hierarchy(project: Project, out: list[Finding]) -> None:
    """No task is its own ancestor."""
    parent_of = {t.id: t.parent for t in project.tasks if t.parent}
    cyc = find_cycle({k: [v] for k, v in parent_of.items()})
    if cyc:
        idx = next(i for i, t in enumerate(project.tasks) if t.id == cyc[0])
        out.append((("tasks", idx, "parent"), "task hierarchy has a cycle: " + " -> ".join(cyc)))


def _check_links(project: Project, out: list[Finding]) -> None:
    """No task linked to itself, no cycle of links."""
    graph: dict[str, list[str]] = {}
    for i, link in enumerate(project.links):
        if link.predecessor == link.successor:
            out.append((("links", i, "successor"), f"task '{link.predecessor}' is linked to itself"))
            continue
        graph.setdefault(link.predecessor, []).append(link.successor)
    cyc = find_cycle(graph)
    if cyc:
        first = next(i for i, lk in enumerate(project.links) if lk.predecessor == cyc[-2] and lk.successor == cyc[-1])
        out.append((("links", first), "task links form a cycle: " + " -> ".join(cyc)))


def _check_tasks(project: Project, out: list[Finding]) -> None:
    for i, task in enumerate(project.tasks):
        if task.milestone and task.duration_days not in (None, 0):
            out.append((("tasks", i, "duration_days"), "a milestone task has zero duration"))
        if task.constraint and task.constraint_date is None:
            out.append((("tasks", i, "constraint_date"), f"constraint '{task.constraint}' needs a constraint_date"))

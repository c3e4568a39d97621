"""Bounding the work of a rule: a budget of steps and seconds per evaluation, and of seconds per gate.

A rule is data a PMO writes, so a rule that nests three macros over 2,000 tasks (eight billion steps)
must end as an error result for that rule, not hang a gate check. Each evaluation of an expression
gets :data:`STEPS` steps and :data:`SECONDS` seconds:

* natively (:mod:`lifecycle.expr.native`), every macro charges the :class:`Meter` the length of the
  list it walks before walking it, and the meter checks the clock at the same moment; going over
  raises :class:`BudgetExceeded`, which :class:`~lifecycle.expr.env.CelEnv` turns into an error
  outcome (kind ``budget``);
* in the library (which cannot be interrupted once started), :func:`estimate` bounds the work before
  the expression runs: each macro costs the length of its list (known for the project's collections,
  :data:`UNKNOWN_LENGTH` for lists found inside elements) times the work of its body; an estimate over
  the budget is the same error without running.

Across a gate, :data:`GATE_SECONDS` bounds the whole evaluation: rules not reached in time are errors
saying so (see :func:`lifecycle.expr.evaluate.evaluate_rules`). An error blocks the gate, like any
rule that cannot be evaluated.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from lifecycle.expr.syntax import MACROS, Call, Ident, ListLit, Node, Select, children, macro_var

STEPS = 2_000_000  # elements visited by the macros of one expression (~1 µs each natively)
SECONDS = 5.0  # of one expression
GATE_SECONDS = 60.0  # of all the rules of one gate
UNKNOWN_LENGTH = 16  # assumed length of a list inside an element (t.predecessors) when estimating


class BudgetExceeded(Exception):
    """Native evaluation went over its budget (the message says which); never escapes :class:`CelEnv`."""


class Meter:
    """Steps and a deadline for one evaluation, armed by :meth:`start` and disarmed by :meth:`stop`;
    :meth:`charge` raises when either is spent (and does nothing while disarmed, e.g. for a test that
    calls a native function itself)."""

    __slots__ = ("armed", "deadline", "limit", "seconds", "steps")

    def __init__(self, limit: int | None = None, seconds: float | None = None) -> None:
        self.limit = STEPS if limit is None else limit
        self.seconds = SECONDS if seconds is None else seconds
        self.steps = 0
        self.deadline = 0.0
        self.armed = False

    def start(self) -> None:
        self.steps = 0
        self.deadline = time.monotonic() + self.seconds
        self.armed = True

    def stop(self) -> None:
        self.armed = False

    def charge(self, n: int) -> None:
        if not self.armed:
            return
        self.steps += n
        if self.steps > self.limit:
            raise BudgetExceeded(over_steps(self.limit))
        if time.monotonic() > self.deadline:
            raise BudgetExceeded(f"exceeded its evaluation budget of {self.seconds:g} seconds")


def over_steps(limit: int) -> str:
    return f"exceeded its evaluation budget of {limit:,} steps"


def _length(node: Node | None, variables: Mapping[str, Any], scope: frozenset[str]) -> int:
    """How long the list ``node`` gives is, as far as it can be told without evaluating."""
    path: list[str] = []
    while isinstance(node, Select):
        path.append(node.field)
        node = node.operand
    if isinstance(node, ListLit) and not path:
        return len(node.items)
    if isinstance(node, Call) and node.name in ("filter", "map") and not path:
        return _length(node.target, variables, scope)  # at most as long as what it selects from
    if not isinstance(node, Ident) or node.name in scope or node.name not in variables:
        return UNKNOWN_LENGTH
    value: Any = variables[node.name]
    for name in reversed(path):
        value = value.get(name) if isinstance(value, Mapping) else None
    return len(value) if isinstance(value, (list, tuple, Mapping)) else UNKNOWN_LENGTH


def estimate(node: Node | None, variables: Mapping[str, Any], scope: frozenset[str] = frozenset()) -> int:
    """An estimate of the steps evaluating ``node`` takes (macros: list length × the work of the body)."""
    if node is None:
        return 0
    if isinstance(node, Call) and node.target is not None and node.name in MACROS:
        var = macro_var(node)
        if var is not None:
            inner = scope | {var}
            body = sum(estimate(a, variables, inner) for a in node.args[1:])
            n = _length(node.target, variables, scope)
            return estimate(node.target, variables, scope) + n * (1 + body)
    return 1 + sum(estimate(c, variables, scope) for c in children(node))


def library_over_budget(tree: Node | None, variables: Mapping[str, Any], limit: int | None = None) -> str:
    """Why an expression may not run in the library (its estimate is over the budget), or ""."""
    limit = STEPS if limit is None else limit
    try:
        work = estimate(tree, variables)
    except RecursionError:  # nested deeper than Python recurses: the library's own limits apply
        return ""
    return over_steps(limit) + f" (about {work:,} estimated)" if work > limit else ""


LINT_ROWS = 2000  # the size of every project collection when ``pmo rules lint`` estimates a rule


class _EveryListOf(Mapping[str, Any]):
    """Variables for linting: every top-level name is a list of ``rows`` items."""

    def __init__(self, rows: int) -> None:
        self.rows = (None,) * rows

    def __getitem__(self, key: str) -> Any:
        return self.rows

    def __contains__(self, key: object) -> bool:
        return True

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0


def lint_estimate(tree: Node | None, rows: int = LINT_ROWS) -> int:
    """The estimated steps of an expression on a project whose collections hold ``rows`` items each
    (0 when it cannot be told): over :data:`STEPS`, the rule would be an error on such a project."""
    try:
        return estimate(tree, _EveryListOf(rows))
    except RecursionError:
        return 0


__all__ = [
    "GATE_SECONDS",
    "SECONDS",
    "STEPS",
    "BudgetExceeded",
    "Meter",
    "estimate",
    "lint_estimate",
    "library_over_budget",
]

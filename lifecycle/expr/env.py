"""One project's CEL context: evaluating an expression natively, or in the library when it must.

:class:`CelEnv` holds a project's facts as variables and the registered functions bound to them.
Expressions in the common, well-typed subset run natively over the Python facts
(:mod:`lifecycle.expr.native`); anything else, and any value the native code cannot decide (its
:class:`~lifecycle.expr.native.Fallback` signal, counted), runs in the library, whose context (the
facts converted, ~6 ms per 1,000 tasks) is built on first need. Errors come back as text
(:class:`Evaluated`), never as a pass; so does an evaluation over its budget of steps or seconds
(kind ``budget``, :mod:`lifecycle.expr.budget`).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lifecycle.expr.budget import BudgetExceeded, library_over_budget
from lifecycle.expr.compiler import CelSyntax, CompiledExpr, compile_expr
from lifecycle.expr.errors_text import translate
from lifecycle.expr.functions import Functions
from lifecycle.expr.library import cel_module
from lifecycle.expr.native import Fallback
from lifecycle.expr.words import label


@dataclass(frozen=True)
class Evaluated:
    """The outcome of one evaluation: a value, or an error's message and kind."""

    value: Any = None
    error: str = ""
    kind: str = ""  # for errors: field, name, function, type, data, syntax

    @property
    def ok(self) -> bool:
        return not self.error


def referenced_names(exprs: Iterable[CompiledExpr | None]) -> frozenset[str]:
    """Top-level variable names the expressions read (comprehension variables included, harmless)."""
    out: set[str] = set()
    for e in exprs:
        if e is not None:
            out.update(e.program.variables())
    return frozenset(out)


class CelEnv:
    """One project's CEL context: its facts as variables and the registered functions bound to them.

    Build it once per project and evaluate every rule with :meth:`evaluate`: natively over the Python
    facts when the expression allows (:mod:`lifecycle.expr.native`), else in the library, whose
    context (and conversion of the facts) is made on the first such evaluation. ``bindings`` adds
    variables (e.g. ``d``, the deliverable a quality standard is checking). Not thread-safe, like the library's Context.
    """

    def __init__(
        self, facts: Mapping[str, Any], bindings: Mapping[str, Any] | None = None, names: Iterable[str] | None = None
    ) -> None:
        self.facts = facts
        self.functions = Functions(facts)
        self.fallbacks = 0  # native runs that fell back to the library in this context
        # Converting facts into the library's values is most of the cost of a context (seconds for a
        # 5,000-task project), so with ``names`` only the variables the expressions use are converted;
        # registered functions read the Python facts directly and need no conversion.
        variables = dict(facts) if names is None else {k: facts[k] for k in set(names) if k in facts}
        if bindings:
            variables.update(bindings)
        self.variables = variables
        self._context: Any = None
        self._labels: dict[str, Any] | None = None  # id -> item, over every collection

    @property
    def context(self) -> Any:
        """The library's context, made on first use (natively evaluated rules never need it)."""
        if self._context is None:
            self._context = cel_module().Context(variables=self.variables, functions=self.functions.table())
        return self._context

    def evaluate(self, expr: CompiledExpr) -> Evaluated:
        """The value of ``expr``: natively if it can, else (or after a fallback) in the library.

        Only :class:`~lifecycle.expr.native.Fallback` sends a native run to the library (counted on
        the expression and on this context); any other exception from native code is a bug and
        propagates.
        """
        native = expr.native
        if native is None:
            expr.stats.library += 1
            return self.in_library(expr)
        meter = self.functions.meter
        meter.start()
        try:
            value = native(self.variables, self.functions)
        except Fallback as signal:
            expr.stats.fell_back(str(signal) or "a value native code does not decide")
            self.fallbacks += 1
            return self.in_library(expr)
        except BudgetExceeded as exc:
            return Evaluated(None, str(exc), "budget")
        finally:
            meter.stop()
        expr.stats.native += 1
        return Evaluated(value)

    def in_library(self, expr: CompiledExpr) -> Evaluated:
        """The value of ``expr`` as the library gives it; its errors become readable outcomes.

        The library cannot be stopped once it runs, so an expression whose estimated work is over the
        budget is not run at all (:func:`~lifecycle.expr.budget.library_over_budget`).
        """
        over = library_over_budget(expr.tree, self.variables)
        if over:
            return Evaluated(None, over, "budget")
        try:
            return Evaluated(expr.program.execute(self.context))
        except Exception as exc:  # every library error becomes a readable outcome, never a pass
            message, kind = translate(exc)
            return Evaluated(None, message, kind)

    def evaluate_text(self, text: str) -> Evaluated:
        compiled = compile_expr(text)
        if isinstance(compiled, CelSyntax):
            return Evaluated(None, compiled.describe(), "syntax")
        return self.evaluate(compiled)

    def label(self, item_id: str) -> str:
        """A human label for an id: from the last selection that returned it, else any collection."""
        item = self.functions.seen.get(item_id)
        if item is None:
            if self._labels is None:
                self._labels = _id_index(self.facts)
            item = self._labels.get(item_id)
        return item_id if item is None else label(item)  # ids in facts are text; see facts_schema()


_ID_INDEXES: dict[int, tuple[Any, tuple[int, ...], dict[str, Any]]] = {}


def _id_index(facts: Mapping[str, Any]) -> dict[str, Any]:
    """id -> item over every collection of a facts document (the first collection holding an id wins).

    Remembered per facts document while it lives and its collections are the same objects (facts are
    not edited in place; see ``FactsDoc``), so the gates evaluated on one project share it.
    """
    shape = tuple(id(v) for v in facts.values())
    held = _ID_INDEXES.get(id(facts))
    if held is not None and held[0]() is facts and held[1] == shape:
        return held[2]
    index: dict[str, Any] = {}
    for value in reversed(list(facts.values())):
        if type(value) is list and value and type(value[0]) is dict and "id" in value[0]:
            try:
                index.update({i["id"]: i for i in value})
            except (KeyError, TypeError):  # a mixed list: take the records that have an id
                index.update((i["id"], i) for i in value if isinstance(i, Mapping) and "id" in i)
    key = id(facts)

    def forget(_ref: Any) -> None:
        _ID_INDEXES.pop(key, None)

    try:
        ref = weakref.ref(facts, forget)
    except TypeError:  # a plain dict cannot be referenced weakly: nothing to share it with
        return index
    _ID_INDEXES[key] = (ref, shape, index)
    return index


__all__ = ["CelEnv", "Evaluated", "referenced_names"]

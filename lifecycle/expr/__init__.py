"""Rule evaluation: CEL expressions compiled once, checked at load time, evaluated many times.

Rule packs express gate criteria in CEL (safe by construction: no I/O, no code, only the functions
registered here). The package, by role (each module imports only those before it in this list):

- :mod:`~lifecycle.expr.library`: the only door to the CEL library (loaded fast);
- :mod:`~lifecycle.expr.errors_text`: the only reader of the library's message texts;
- :mod:`~lifecycle.expr.words`: wording shared by messages;
- :mod:`~lifecycle.expr.syntax`: our CEL parser and syntax tree;
- :mod:`~lifecycle.expr.where`: where-maps of registered functions, as generated selections;
- :mod:`~lifecycle.expr.budget`: the budget of steps and seconds bounding each evaluation and gate;
- :mod:`~lifecycle.expr.functions`: the registered functions (:data:`FUNCTION_DOCS`);
- :mod:`~lifecycle.expr.native`: the well-typed subset of CEL compiled to Python, and its
  :class:`Fallback` signal;
- :mod:`~lifecycle.expr.compiler`: :func:`compile_expr` -> :class:`CompiledExpr` (program, tree,
  native function, why it runs in the library only, and counters of how it ran);
- :mod:`~lifecycle.expr.env`: :class:`CelEnv`, one project's context: native first, the library when
  it must;
- :mod:`~lifecycle.expr.schema_types`, :mod:`~lifecycle.expr.static_check`,
  :mod:`~lifecycle.expr.checks`: load-time checks against the facts schema (:class:`ExprChecker`);
- :mod:`~lifecycle.expr.evaluate`: rules and gates (:func:`evaluate_gate`, :func:`decide`).

It imports only :mod:`lifecycle.domain` and :mod:`lifecycle.errors` of ours; the rule-pack loader
(:mod:`lifecycle.load.rulepack`) and the runner of a pack's tests (:mod:`lifecycle.load.ruletests`)
build on it.
"""

from __future__ import annotations

from lifecycle.expr.checks import ExprChecker
from lifecycle.expr.compiler import CelSyntax, CompiledExpr, NativeStats, compile_expr
from lifecycle.expr.env import CelEnv, Evaluated, referenced_names
from lifecycle.expr.evaluate import (
    EVIDENCE_LIMIT,
    LibraryOnlyRule,
    check_gate,
    decide,
    deliverable_results,
    evaluate_expression,
    evaluate_gate,
    evaluate_rule,
    evaluate_rules,
    lang_of,
    library_only_rules,
    quality_targets,
)
from lifecycle.expr.functions import FUNCTION_DOCS
from lifecycle.expr.native import Fallback, NativeFn, compile_native
from lifecycle.expr.static_check import ExprIssue
from lifecycle.expr.syntax import MACROS, parse
from lifecycle.expr.where import WHERE_OPS

__all__ = [
    "EVIDENCE_LIMIT",
    "FUNCTION_DOCS",
    "MACROS",
    "WHERE_OPS",
    "CelEnv",
    "CelSyntax",
    "CompiledExpr",
    "Evaluated",
    "ExprChecker",
    "ExprIssue",
    "LibraryOnlyRule",
    "Fallback",
    "NativeFn",
    "NativeStats",
    "check_gate",
    "compile_expr",
    "compile_native",
    "decide",
    "deliverable_results",
    "evaluate_expression",
    "evaluate_gate",
    "evaluate_rule",
    "evaluate_rules",
    "lang_of",
    "library_only_rules",
    "parse",
    "quality_targets",
    "referenced_names",
]

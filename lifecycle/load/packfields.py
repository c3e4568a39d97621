"""A rule pack's own data: shared parameters (``params:`` in lifecycle.yaml) and custom fields
(``fields.yaml``), read, checked, and turned into facts-schema additions and value checks.

A parameter is a named, typed threshold with a default and zh/en labels; a project may override it
(``project.params`` in its project file) and rules read ``params.NAME``. A custom field is declared
per collection (``project`` for the charter, or ``tasks``, ``deliverables``, ``risks`` ...) with a
type (``integer``, ``number``, ``string``, ``boolean``, ``date``, ``scorecard``), an enum or a range,
the phase from which it is required, and labels; project files carry values under ``custom:``.
A ``scorecard`` is a list of ``{criterion, weight, score}``; ``weighted_score(x)`` gives its
weight-averaged score (:mod:`lifecycle.expr.functions`). The pack's facts schema
(:func:`extended_schema`) declares both, so lint checks rules against them; ``pmo apply`` checks
values with :func:`project_problems`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from lifecycle.load.build import Builder
from lifecycle.load.source import YPath

FIELD_TYPES = ("integer", "number", "string", "boolean", "date", "scorecard")
# collections that carry ``custom`` (the charter is ``project``)
CUSTOM_COLLECTIONS = (
    "project",
    "tasks",
    "deliverables",
    "lessons",
    "status_reports",
    "risks",
    "issues",
    "milestones",
    "requirements",
    "change_requests",
)
FIELDS_FILE = "fields.yaml"

_SCORECARD_ITEM = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "criterion": {"type": "string"},
        "weight": {"type": "number"},
        "score": {"type": "number"},
    },
}


@dataclass(frozen=True)
class FieldSpec:
    """A typed value the pack declares: a parameter or a custom field."""

    name: str
    type: str
    label: Mapping[str, str] = field(default_factory=dict)
    default: Any = None
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    required_from: str = ""  # custom fields: the phase from which a value is required

    def json_schema(self) -> dict[str, Any]:
        if self.type == "scorecard":
            return {"type": "array", "items": _SCORECARD_ITEM}
        if self.type == "date":
            out: dict[str, Any] = {"type": "string", "format": "date"}
        else:
            out = {"type": self.type}
        if self.choices:
            out["enum"] = list(self.choices)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        title = self.label.get("en") or self.label.get("zh")
        if title:
            out["description"] = title
        return out


def _kind_problem(spec: FieldSpec, value: Any) -> str:
    t = spec.type
    ok = {
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "date": isinstance(value, date) or (isinstance(value, str) and _is_date(value)),
        "scorecard": isinstance(value, list) and all(_is_score_row(r) for r in value),
    }[t]
    if ok:
        return ""
    if t == "scorecard":
        return "expected a list of {criterion, weight, score} with numbers for weight and score"
    quoted = " (write the number without quotes)" if t in ("integer", "number") and isinstance(value, str) else ""
    return f"expected a {'date like 2026-03-31' if t == 'date' else t}, got {value!r}{quoted}"


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_score_row(row: Any) -> bool:
    return (
        isinstance(row, Mapping)
        and set(row) <= {"criterion", "weight", "score"}
        and all(isinstance(row.get(k), (int, float)) and not isinstance(row.get(k), bool) for k in ("weight", "score"))
    )


_SPEC_KEYS = ("type", "label", "default", "enum", "min", "max", "required_from")


def _spec_label(b: Builder, raw: Any, path: YPath) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, str):
        return {"zh": raw, "en": raw}
    if not isinstance(raw, dict) or not all(k in ("zh", "en") and isinstance(v, str) for k, v in raw.items()):
        b.error(path, "a label is a text or {zh: ..., en: ...}")
        return {}
    return dict(raw)


def _bound(b: Builder, raw: Any, path: YPath) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        b.error(path, f"expected a number, got {raw!r}")
        return None
    return float(raw)


def _read_spec(b: Builder, name: str, raw: Any, path: YPath, *, param: bool, phases: Sequence[str]) -> FieldSpec | None:
    if not isinstance(raw, dict):
        b.error(path, "expected a mapping such as {type: integer, default: 12, label: {zh: ..., en: ...}}")
        return None
    allowed = _SPEC_KEYS if not param else tuple(k for k in _SPEC_KEYS if k != "required_from")
    for key in raw:
        if key not in allowed:
            b.error(path + (key,), f"unknown key '{key}' (allowed: {', '.join(allowed)})")
    ftype = raw.get("type")
    if ftype not in FIELD_TYPES:
        b.error(path + ("type",), f"expected one of: {', '.join(FIELD_TYPES)}; got {ftype!r}")
        return None
    choices = raw.get("enum") or []
    if not isinstance(choices, list):
        b.error(path + ("enum",), "expected a list of values")
        choices = []
    required_from = raw.get("required_from", "")
    if required_from and required_from not in phases:
        b.error(path + ("required_from",), f"'{required_from}' is not a phase (phases: {', '.join(phases)})")
    spec = FieldSpec(
        name=name,
        type=ftype,
        label=_spec_label(b, raw.get("label"), path + ("label",)),
        default=raw.get("default"),
        choices=tuple(choices),
        minimum=_bound(b, raw.get("min"), path + ("min",)),
        maximum=_bound(b, raw.get("max"), path + ("max",)),
        required_from=str(required_from or ""),
    )
    for choice in spec.choices:
        problem = _kind_problem(spec, choice)
        if problem:
            b.error(path + ("enum",), f"enum value: {problem}")
    if param:
        if "default" not in raw:
            b.error(path, "a parameter needs a default")
        else:
            problem = value_problems(spec, spec.default)
            if problem:
                b.error(path + ("default",), problem)
    return spec


def read_specs(b: Builder, raw: Any, path: YPath, *, param: bool, phases: Sequence[str] = ()) -> dict[str, FieldSpec]:
    """``name: {type, default, label, enum, min, max[, required_from]}`` entries, problems into ``b``."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        b.error(path, "expected a mapping of name -> {type, ...}")
        return {}
    out: dict[str, FieldSpec] = {}
    for name, entry in raw.items():
        if not isinstance(name, str) or not name.isidentifier():
            b.error(path + (name,), f"'{name}' is not a valid name (letters, digits, '_')")
            continue
        spec = _read_spec(b, name, entry, path + (name,), param=param, phases=phases)
        if spec is not None:
            out[name] = spec
    return out


def value_problems(spec: FieldSpec, value: Any) -> str:
    """What is wrong with ``value`` for ``spec`` ("" if nothing)."""
    problem = _kind_problem(spec, value)
    if problem:
        return problem
    if spec.choices and value not in spec.choices:
        return f"'{value}' is not one of: {', '.join(map(str, spec.choices))}"
    if spec.minimum is not None and isinstance(value, (int, float)) and value < spec.minimum:
        return f"{value} is below the minimum {spec.minimum}"
    if spec.maximum is not None and isinstance(value, (int, float)) and value > spec.maximum:
        return f"{value} is above the maximum {spec.maximum}"
    return ""


def plain(value: Any) -> Any:
    """A value as the facts hold it: dates as ISO text, integers in a number field as doubles."""
    if isinstance(value, date):
        return value.isoformat()
    return value


def fact_value(spec: FieldSpec, value: Any) -> Any:
    value = plain(value)
    if spec.type == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if spec.type == "scorecard" and isinstance(value, list):
        return [{k: float(v) if k != "criterion" else v for k, v in row.items()} for row in value]
    return value


def param_values(params: Mapping[str, FieldSpec], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Each parameter's value for a project: its override if it has one, else the default."""
    return {name: fact_value(spec, overrides.get(name, spec.default)) for name, spec in params.items()}


def custom_facts(specs: Mapping[str, FieldSpec], values: Mapping[str, Any]) -> dict[str, Any]:
    """A ``custom`` map as rules see it: every declared field present (null when not given)."""
    out = {name: (fact_value(spec, values[name]) if name in values else None) for name, spec in specs.items()}
    for name, value in values.items():
        out.setdefault(name, plain(value))
    return out


def extended_schema(
    base: Mapping[str, Any], params: Mapping[str, FieldSpec], fields: Mapping[str, Mapping[str, FieldSpec]]
) -> dict[str, Any]:
    """The facts schema with the pack's ``params`` and the declared ``custom`` fields of each collection."""
    schema = copy.deepcopy(dict(base))
    props = schema.setdefault("properties", {})
    props["params"] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {n: s.json_schema() for n, s in params.items()},
        "description": "The rule pack's parameters, with this project's overrides",
    }
    defs = schema.get("$defs", {})
    for coll, specs in fields.items():
        node = props.get(coll, {})
        ref = (node.get("items") or node).get("$ref", "")
        target = defs.get(str(ref).rsplit("/", 1)[-1])
        if target is None:
            continue
        target.setdefault("properties", {})["custom"] = {
            "type": "object",
            "additionalProperties": False,
            "properties": {n: s.json_schema() for n, s in specs.items()},
            "description": "Custom fields the rule pack declares",
        }
    return schema


__all__ = [
    "CUSTOM_COLLECTIONS",
    "FIELDS_FILE",
    "FIELD_TYPES",
    "FieldSpec",
    "custom_facts",
    "extended_schema",
    "fact_value",
    "param_values",
    "plain",
    "project_file_schema",
    "project_problems",
    "read_specs",
    "value_problems",
]


def project_file_schema(
    base: Mapping[str, Any], params: Mapping[str, FieldSpec], fields: Mapping[str, Mapping[str, FieldSpec]]
) -> dict[str, Any]:
    """The project-file schema with the pack's ``project.params`` and each collection's ``custom``."""
    schema = copy.deepcopy(dict(base))
    defs = schema.get("$defs", {})
    props = schema.get("properties", {})

    def target(coll: str) -> Any:
        node = props.get(coll, {})
        inner = node.get("items") or node
        ref = str(inner.get("$ref", ""))
        return defs.get(ref.rsplit("/", 1)[-1]) if ref else (inner if "properties" in inner else None)

    def closed(specs: Mapping[str, FieldSpec], description: str) -> dict[str, Any]:
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {n: s.json_schema() for n, s in specs.items()},
            "description": description,
        }

    charter = target("project")
    if charter is not None:
        charter.setdefault("properties", {})["params"] = closed(params, "Overrides of the rule pack's parameters")
    for coll, specs in fields.items():
        node = target(coll)
        if node is not None:
            node.setdefault("properties", {})["custom"] = closed(specs, "Custom fields the rule pack declares")
    return schema


def _custom_problems(
    specs: Mapping[str, FieldSpec], values: Mapping[str, Any], where: YPath, reached: set[str]
) -> list[tuple[YPath, str]]:
    out: list[tuple[YPath, str]] = []
    for name, value in values.items():
        spec = specs.get(name)
        if spec is None:
            declared = ", ".join(specs) or "none"
            out.append((where + (name,), f"unknown custom field '{name}' (the rule pack declares: {declared})"))
        elif value is not None and (problem := value_problems(spec, value)):
            out.append((where + (name,), problem))
    for name, spec in specs.items():
        if spec.required_from in reached and values.get(name) is None:
            out.append((where, f"custom field '{name}' is required from phase '{spec.required_from}' on"))
    return out


def project_problems(
    params: Mapping[str, FieldSpec],
    fields: Mapping[str, Mapping[str, FieldSpec]],
    project: Any,
    sections: frozenset[str] | set[str],
    reached: set[str],
) -> list[tuple[YPath, str]]:
    """What is wrong with a project's ``params`` overrides and ``custom`` values for a pack: each
    problem with its path in the project file. ``sections`` are those the file states (others were
    checked when they were applied); ``reached`` the phases up to and including the project's."""
    out: list[tuple[YPath, str]] = []
    for name, value in project.charter.params.items():
        spec = params.get(name)
        if spec is None:
            known = ", ".join(params) or "none"
            out.append((("project", "params", name), f"unknown parameter '{name}' (the rule pack declares: {known})"))
        elif problem := value_problems(spec, value):
            out.append((("project", "params", name), problem))
    out.extend(_custom_problems(fields.get("project", {}), project.charter.custom, ("project", "custom"), reached))
    for coll in CUSTOM_COLLECTIONS[1:]:
        if coll not in sections:
            continue
        specs = fields.get(coll, {})
        for i, item in enumerate(project.section(coll)):
            out.extend(_custom_problems(specs, item.custom, (coll, i, "custom"), reached))
    return out

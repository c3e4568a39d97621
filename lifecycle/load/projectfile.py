"""Project files: the declarative YAML/JSON format of a whole client project, both directions.

``load_project_file`` reads a file, builds the frozen :class:`~lifecycle.domain.model.Project` and
runs the semantic checks, raising one :class:`SpecError` with *every* problem (file, line, field
path) if anything is wrong; a calendar naming a country gets that country's statutory days filled
(:mod:`lifecycle.load.statutory`). ``project_to_document`` writes the same format back (``pmo export``), so
export → apply round-trips. Top-level sections left out of a file are left alone by ``apply``; a
section that is present is the whole truth for that collection.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from lifecycle.domain.fields import SchemaWriter, fields_of, to_plain
from lifecycle.domain.model import SCHEMA_VERSION, SECTIONS, Calendar, Charter, Organisation, Project, replace
from lifecycle.domain.validate import validate_project
from lifecycle.errors import SpecError
from lifecycle.load import statutory
from lifecycle.load.build import Builder, is_invalid
from lifecycle.load.source import Source, parse_text, read_source

TOP_LEVEL = ("schema_version", "project", "calendar", *SECTIONS)
_FILLED_CALENDAR = frozenset(i.name for i in fields_of(Calendar) if i.filled)  # not written back to a file


@dataclass(frozen=True)
class ProjectFile:
    project: Project
    sections: frozenset[str]  # the sections the file states (calendar included)
    phase: str | None  # the phase the file states, if any
    source: Source


def load_project_source(source: Source, base: Project | None = None) -> ProjectFile:
    """Build and check a project file. With ``base`` (the stored project) the file is applied over it:
    sections the file leaves out come from ``base``, a ``project`` naming only the code keeps the base
    charter, and the checks (references included) run on the merged result."""
    b = Builder(source)
    data = source.data
    if not isinstance(data, dict):
        b.error((), "a project file is a mapping with 'project' and sections such as 'tasks'")
        raise SpecError(b.problems)
    _check_top_level(b, data)
    charter, phase = _charter(b, data, base)
    calendar: Any = Calendar()
    if "calendar" in data and data["calendar"] is not None:
        calendar = b.build(Calendar, data["calendar"], ("calendar",))
    collections, invalid_ids = _sections(b, data)
    # Semantic checks run even when some items were invalid, so one run reports everything; items
    # that failed to build are left out, and their ids still count as known to references.
    bad_charter = is_invalid(charter)
    if bad_charter:
        charter = Charter(code="X-invalid", name="", client=Organisation(name=""))
    if base is not None:
        for name in SECTIONS:
            if name not in data or data[name] is None:
                collections[name] = base.section(name)
        if "calendar" not in data:
            calendar = base.calendar
    project = Project(charter=charter, calendar=Calendar() if is_invalid(calendar) else calendar, **collections)
    for path, message in validate_project(project, known_ids=invalid_ids):
        if bad_charter and path[:1] == ("project",):
            continue
        b.error(path, message)
    place = statutory.check_place(project.calendar.country, project.calendar.region)
    if place is not None:
        b.error(("calendar", place.field), place.message)
    if b.problems:
        b.problems.sort(key=lambda p: p.line or 0)
        raise SpecError(b.problems)
    project = statutory.fill_project(project)
    sections = frozenset(k for k in data if k in SECTIONS or k == "calendar")
    if base is not None:
        project = replace(project, phase=base.phase, phase_before_hold=base.phase_before_hold, version=base.version)
    return ProjectFile(project, sections, phase, source)


def _check_top_level(b: Builder, data: dict[Any, Any]) -> None:
    """Known sections only, a supported schema version, and a ``project`` section (else SpecError now)."""
    for key in data:
        if key not in TOP_LEVEL:
            close = difflib.get_close_matches(str(key), TOP_LEVEL, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            b.error((key,), f"unknown section '{key}'{hint}")
    version = data.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        b.error(("schema_version",), f"schema_version {version} is not supported (this version reads {SCHEMA_VERSION})")
    if "project" not in data:
        b.error((), "missing the 'project' section")
        raise SpecError(b.problems)


def _charter(b: Builder, data: dict[Any, Any], base: Project | None) -> tuple[Any, str | None]:
    """The charter (the base's when the file names only the code) and the phase the file states."""
    charter_data = dict(data["project"]) if isinstance(data["project"], dict) else data["project"]
    phase = None
    if isinstance(charter_data, dict) and "phase" in charter_data:
        phase = charter_data.pop("phase")
        if not isinstance(phase, str):
            b.error(("project", "phase"), "expected the name of a phase")
            phase = None
    if base is not None and isinstance(charter_data, dict) and set(charter_data) <= {"code"}:
        return base.charter, phase
    return b.build(Charter, charter_data, ("project",)), phase


def _sections(b: Builder, data: dict[Any, Any]) -> tuple[dict[str, Any], dict[str, set[str]]]:
    """The items of every section the file states, and the ids of the items that failed to build."""
    collections: dict[str, Any] = {}
    invalid_ids: dict[str, set[str]] = {}
    for name, cls in SECTIONS.items():
        raw = data.get(name)
        if raw is None:
            continue
        if not isinstance(raw, list):
            b.error((name,), f"expected a list of {name.replace('_', ' ')}")
            continue
        items = []
        for i, item in enumerate(raw):
            built = b.build(cls, item, (name, i))
            if not is_invalid(built):
                items.append(built)
            elif isinstance(item, dict) and "id" in item:
                invalid_ids.setdefault(name, set()).add(str(item["id"]))
        collections[name] = tuple(items)
    return collections, invalid_ids


def load_project_file(path: str | Path) -> ProjectFile:
    return load_project_source(read_source(path))


def load_project_text(text: str, name: str = "<text>") -> ProjectFile:
    return load_project_source(parse_text(text, name))


def _money_out(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def project_to_document(project: Project) -> dict[str, Any]:
    """The project in file format, defaults left out so the file stays readable."""
    doc: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    charter = to_plain(project.charter, money=_money_out, drop_defaults=True)
    if "supplier" not in charter:
        charter["supplier"] = to_plain(project.charter.supplier, money=_money_out, drop_defaults=True)
    doc["project"] = {"phase": project.phase, **charter} if project.phase else charter
    if project.calendar != Calendar():
        cal = to_plain(project.calendar, drop_defaults=True)
        doc["calendar"] = {k: v for k, v in cal.items() if k not in _FILLED_CALENDAR}
    for name in SECTIONS:
        items = project.section(name)
        if items:
            doc[name] = [to_plain(i, money=_money_out, drop_defaults=True) for i in items]
    return doc


class _Dumper(yaml.SafeDumper):
    pass


def _str_rep(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_rep)


def dump_project(project: Project, fmt: str = "yaml") -> str:
    doc = project_to_document(project)
    if fmt == "json":
        return json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n"
    return yaml.dump(doc, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=110)


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of project files, generated from the model."""
    writer = SchemaWriter(facts=False)
    defs, obj = writer.defs, writer.object
    charter_ref = obj(Charter)
    project_schema = dict(defs[charter_ref])
    project_schema["properties"] = {
        "phase": {"type": "string", "description": "Current phase (read only)"},
        **project_schema["properties"],
    }
    props: dict[str, Any] = {
        "schema_version": {"const": SCHEMA_VERSION},
        "project": project_schema,
        "calendar": {"$ref": f"#/$defs/{obj(Calendar)}"},
    }
    for name, cls in SECTIONS.items():
        props[name] = {"type": "array", "items": {"$ref": f"#/$defs/{obj(cls)}"}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "pmo-lifecycle/project.schema.json",
        "title": "pmo-lifecycle project file",
        "type": "object",
        "additionalProperties": False,
        "required": ["project"],
        "properties": props,
        "$defs": defs,
    }


__all__ = [
    "ProjectFile",
    "load_project_file",
    "load_project_text",
    "dump_project",
    "json_schema",
    "project_to_document",
]

"""What changed between two versions of a project, entity by entity.

Pure functions used by ``apply`` (to make an update idempotent and audit exactly what changed) and
by storage (to write only the rows that differ). A change names the collection, the entity id, the
operation and, for updates, the fields with their old and new values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lifecycle.domain.fields import fields_of, to_plain
from lifecycle.domain.model import SECTIONS, Project


@dataclass(frozen=True, slots=True)
class Change:
    section: str  # "project", "calendar" or a SECTIONS key
    key: str
    op: str  # create | update | delete
    fields: dict[str, tuple[Any, Any]]

    def describe(self) -> str:
        if self.op == "update":
            return f"{self.section} {self.key}: " + ", ".join(sorted(self.fields))
        return f"{self.op} {self.section} {self.key}"


def _field_diff(old: Any, new: Any) -> dict[str, tuple[Any, Any]]:
    out = {}
    for info in fields_of(type(new)):
        a, b = getattr(old, info.name), getattr(new, info.name)
        if a != b:
            out[info.name] = (to_plain(a), to_plain(b))
    return out


def diff_projects(old: Project | None, new: Project) -> list[Change]:
    """Every entity-level change from ``old`` to ``new`` (old None: everything is created)."""
    changes: list[Change] = []
    code = new.code
    if old is None:
        changes.append(Change("project", code, "create", {}))
        for name in SECTIONS:
            for item in new.section(name):
                changes.append(Change(name, item.id, "create", {}))
        return changes
    if old.charter != new.charter:
        changes.append(Change("project", code, "update", _field_diff(old.charter, new.charter)))
    if old.phase != new.phase or old.phase_before_hold != new.phase_before_hold:
        changes.append(Change("project", code, "update", {"phase": (old.phase, new.phase)}))
    if old.calendar != new.calendar:
        changes.append(Change("calendar", code, "update", _field_diff(old.calendar, new.calendar)))
    for name in SECTIONS:
        before = old.index(name)
        after = new.index(name)
        for key, item in after.items():
            if key not in before:
                changes.append(Change(name, key, "create", {}))
            elif before[key] != item:
                changes.append(Change(name, key, "update", _field_diff(before[key], item)))
        for key in before:
            if key not in after:
                changes.append(Change(name, key, "delete", {}))
    return changes

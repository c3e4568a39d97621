"""Reading a workspace's ``settings.yaml`` under the limits every user file meets.

The settings file is a user's file like any other: it is read through
:func:`~lifecycle.load.source.read_source` (a regular file only, size-limited, anchors counted, no
``NaN`` or infinite number, no control character, bounded nesting), then each top-level setting is
checked against the kind the workspace declares for it (text, a positive whole number, or a mapping).
Every problem names the file, the line and the setting; a :class:`~lifecycle.errors.SpecError` lists
all of them (exit code 2) and the command stops before it opens anything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lifecycle.domain.limits import MAX_NAME, name_problem
from lifecycle.errors import Problem, SpecError
from lifecycle.load.source import Source, read_source

_WORDS = {str: "text", int: "a positive whole number", dict: "a mapping of names to values"}
_TYPE_WORDS = {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list", dict: "a mapping"}
MAX_SETTING_INT = 1 << 50  # a byte count far beyond any disk


def _kind_problem(kind: type, value: Any) -> str | None:
    """What is wrong with ``value`` for a setting of ``kind`` (None: nothing)."""
    if value is None:
        return None
    fits = isinstance(value, kind) and not isinstance(value, bool)
    if not fits:
        given = next((w for t, w in _TYPE_WORDS.items() if isinstance(value, t)), type(value).__name__)
        return f"must be {_WORDS.get(kind, kind.__name__)}, not {given}"
    if kind is int and not 0 < value <= MAX_SETTING_INT:
        return f"{value} must be between 1 and {MAX_SETTING_INT:,}"
    if kind is str:
        return name_problem(value, MAX_NAME * 4)  # paths and URLs: one line, a little longer than a name
    return None


def _problems(src: Source, data: Mapping[str, Any], kinds: Mapping[str, type]) -> list[Problem]:
    out = []
    for key, value in data.items():
        kind = kinds.get(key)
        if kind is None:
            known = ", ".join(sorted(kinds))
            out.append(src.problem((key,), f"unknown setting (known: {known})"))
            continue
        bad = _kind_problem(kind, value)
        if bad:
            out.append(src.problem((key,), bad))
    return out


def read_settings(path: Path, kinds: Mapping[str, type]) -> dict[str, Any]:
    """The settings in ``path`` (empty when there is no such file), each of the kind ``kinds`` names;
    SpecError naming file, line and setting for anything else (a folder or a pipe included)."""
    if not os.path.lexists(path):
        return {}
    src = read_source(path)
    if src.data is None:
        return {}
    if not isinstance(src.data, dict):
        raise SpecError([src.problem((), "settings must be a mapping of names to values")], "settings refused")
    problems = _problems(src, src.data, kinds)
    if problems:
        raise SpecError(problems, f"{len(problems)} problem(s) in the settings file, nothing was done")
    return {k: v for k, v in src.data.items() if v is not None}

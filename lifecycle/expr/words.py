"""Wording shared by the messages of rule evaluation: "did you mean", short quotes, kinds of values,
and a human label for a record."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any


def hint(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def short(text: str, limit: int = 80) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "true/false"),  # before int: a bool is an int in Python
    (int, "a whole number"),
    (float, "a number"),
    (str, "text"),
    (list, "a list"),
    (dict, "a map"),
)


def kind_of(value: Any) -> str:
    """What a value is, in a rule author's words."""
    if value is None:
        return "null"
    for kind, words in _KINDS:
        if isinstance(value, kind):
            return words
    return type(value).__name__


def label(item: Any) -> str:
    """A human label for a record: its name, title, text, topic or description, else its id."""
    if not isinstance(item, Mapping):
        return str(item)
    for key in ("name", "title", "text", "topic", "description"):
        v = item.get(key)
        if isinstance(v, str) and v.strip():
            return v.strip()[:120]
    return str(item.get("id", ""))


__all__ = ["hint", "kind_of", "label", "short"]

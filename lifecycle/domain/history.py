"""A project's phase history, as the facts show it: which phases it was in, from when to when, and
the gate decision and review that moved it in.

Made from the ``phase_change`` records that advancing stores (one per move, with the review id and
the decision); pure, so services give it to the facts builder as an extra (``phase_history`` and
``phase_entered`` of :data:`lifecycle.domain.facts.EXTRA_FACTS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any


def _day(at: Any) -> str | None:
    if isinstance(at, datetime):
        return at.date().isoformat()
    if isinstance(at, str) and len(at) >= 10:
        return at[:10]
    return None


def phase_history(changes: Iterable[Mapping[str, Any]], phase: str) -> dict[str, Any]:
    """``{"phase_history": [...], "phase_entered": date or None}`` for a project now in ``phase``.

    Each entry: ``phase``, ``entered`` and ``left`` (ISO dates; null when unknown or not yet left),
    ``transition``, ``decision`` and ``review`` (of the move that entered it; '' for the first phase,
    entered when the project was created).
    """
    ordered = sorted(changes, key=lambda c: str(c.get("at", "")))
    first = str(ordered[0].get("from", "")) if ordered else phase
    current: dict[str, Any] = {
        "phase": first,
        "entered": None,
        "left": None,
        "transition": "",
        "decision": "",
        "review": "",
    }
    out = []
    for change in ordered:
        day = _day(change.get("at"))
        current["left"] = day
        out.append(current)
        current = {
            "phase": str(change.get("to", "")),
            "entered": day,
            "left": None,
            "transition": str(change.get("transition", "")),
            "decision": str(change.get("decision", "")),
            "review": str(change.get("review", "")),
        }
    out.append(current)
    return {"phase_history": out, "phase_entered": current["entered"]}


__all__ = ["phase_history"]

"""Risk exposure: the 5 x 5 probability x impact matrix, bands, top risks and overdue reviews.

Only open risks count. ``cells[p - 1][i - 1]`` is the number of open risks with probability ``p`` and
impact ``i`` (both 1..5); exposure is the sum of probability x impact. The bands follow the usual
heat-map reading and match the gate metric ``high_risk_count`` (score >= 15):

====================  ===========
score 1-4             low
score 5-9             moderate
score 10-14           significant
score 15-25           high
====================  ===========

Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from lifecycle.domain.model import Risk

BANDS = (("low", 1, 4), ("moderate", 5, 9), ("significant", 10, 14), ("high", 15, 25))


def band(score: int) -> str:
    for name, lo, hi in BANDS:
        if lo <= score <= hi:
            return name
    return "high" if score > 25 else "low"


@dataclass(frozen=True, slots=True)
class RiskMatrix:
    cells: tuple[tuple[int, ...], ...]  # [probability - 1][impact - 1]
    exposure: float
    open_count: int
    bands: dict[str, int]
    by_category: dict[str, int]
    top: tuple[Risk, ...]
    past_review: tuple[Risk, ...]
    no_response: tuple[Risk, ...]

    def count(self, probability: int, impact: int) -> int:
        return self.cells[probability - 1][impact - 1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cells": [list(r) for r in self.cells],
            "exposure": self.exposure,
            "open_count": self.open_count,
            "bands": dict(self.bands),
            "by_category": dict(self.by_category),
            "top": [
                {
                    "id": r.id,
                    "title": r.title,
                    "probability": r.probability,
                    "impact": r.impact,
                    "score": r.score,
                    "band": band(r.score),
                    "owner": r.owner,
                    "strategy": r.strategy,
                }
                for r in self.top
            ],
            "past_review": [
                {
                    "id": r.id,
                    "title": r.title,
                    "review_date": r.review_date.isoformat() if r.review_date else None,
                    "owner": r.owner,
                }
                for r in self.past_review
            ],
            "no_response": [r.id for r in self.no_response],
        }


def risk_matrix(risks: Iterable[Risk], today: date, *, top: int = 5) -> RiskMatrix:
    """The matrix of the open risks; ``top`` highest scores first (ties: higher impact, then id)."""
    open_risks = [r for r in risks if r.status == "open"]
    grid = [[0] * 5 for _ in range(5)]
    bands = {name: 0 for name, _, _ in BANDS}
    cats: dict[str, int] = {}
    for r in open_risks:
        p = min(5, max(1, r.probability))
        i = min(5, max(1, r.impact))
        grid[p - 1][i - 1] += 1
        bands[band(r.score)] += 1
        cats[r.category] = cats.get(r.category, 0) + 1
    ranked = sorted(open_risks, key=lambda r: (-r.score, -r.impact, r.id))
    past = sorted(
        (r for r in open_risks if r.review_date is not None and r.review_date < today),
        key=lambda r: (r.review_date or today, r.id),
    )
    return RiskMatrix(
        cells=tuple(tuple(row) for row in grid),
        exposure=float(sum(r.score for r in open_risks)),
        open_count=len(open_risks),
        bands=bands,
        by_category=dict(sorted(cats.items())),
        top=tuple(ranked[:top]),
        past_review=tuple(past),
        no_response=tuple(r for r in ranked if not r.strategy or not r.owner),
    )

"""The 5 x 5 probability x impact matrix."""

from __future__ import annotations

from datetime import date

from lifecycle.domain.model import Risk
from lifecycle.domain.risk_matrix import band, risk_matrix


def test_matrix_counts_exposure_top_and_reviews() -> None:
    risks = [
        Risk(id="R1", title="a", probability=5, impact=5, owner="x", strategy="avoid"),
        Risk(id="R2", title="b", probability=3, impact=4, review_date=date(2026, 3, 1)),
        Risk(id="R3", title="c", probability=3, impact=4, owner="x", strategy="accept", category="schedule"),
        Risk(id="R4", title="d", probability=1, impact=2, owner="x", strategy="accept", review_date=date(2026, 4, 1)),
        Risk(id="R5", title="closed", probability=5, impact=5, status="closed"),
        Risk(id="R6", title="e", probability=4, impact=3, owner="x", strategy="mitigate"),
    ]
    m = risk_matrix(risks, date(2026, 3, 15), top=3)
    assert m.count(5, 5) == 1 and m.count(3, 4) == 2 and m.count(1, 2) == 1 and m.count(4, 3) == 1
    assert sum(map(sum, m.cells)) == 5  # the closed risk is not counted
    assert m.exposure == 25 + 12 + 12 + 2 + 12
    assert [r.id for r in m.top] == ["R1", "R2", "R3"]  # 12s: higher impact first, then id
    assert [r.id for r in m.past_review] == ["R2"]
    assert [r.id for r in m.no_response] == ["R2"]
    assert m.bands == {"low": 1, "moderate": 0, "significant": 3, "high": 1}
    assert m.by_category == {"schedule": 1, "technical": 4}
    d = m.to_dict()
    assert d["cells"][4][4] == 1 and d["top"][0]["band"] == "high"


def test_bands() -> None:
    assert [band(s) for s in (1, 4, 5, 9, 10, 14, 15, 25)] == [
        "low",
        "low",
        "moderate",
        "moderate",
        "significant",
        "significant",
        "high",
        "high",
    ]

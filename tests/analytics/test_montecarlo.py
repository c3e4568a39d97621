"""Monte Carlo schedule risk: PERT figures, the vectorised simulation equal to a per-iteration loop,
criticality, deterministic plans, and clear refusals."""

from __future__ import annotations

import numpy as np
import pytest

from lifecycle.errors import InvalidInput
from lifecycle.forecast.montecarlo import Estimate, SimLink, simulate, simulate_looped


def _plan(n: int = 40, seed: int = 3) -> tuple[list[Estimate], list[SimLink]]:
    rng = np.random.default_rng(seed)
    est = []
    for k in range(n):
        o = float(rng.integers(1, 5))
        m = o + float(rng.integers(0, 4))
        est.append(Estimate(f"T{k}", o, m, m + float(rng.integers(0, 6))))
    kinds = ["FS", "SS", "FF", "SF"]
    links = [
        SimLink(f"T{i}", f"T{j}", kinds[int(rng.integers(0, 4))], float(rng.integers(-1, 3)))
        for j in range(1, n)
        for i in rng.choice(j, size=min(j, 2), replace=False)
    ]
    return est, links


def test_pert_figures():
    e = Estimate("a", 2, 5, 14)
    assert e.expected == pytest.approx(6.0) and e.variance == pytest.approx(4.0)


def test_vectorised_equals_the_per_iteration_loop():
    est, links = _plan()
    sim = simulate(est, links, iterations=2_000, seed=7)
    looped = np.array(simulate_looped(est, links, iterations=2_000, seed=7))
    for q, value in sim.finish.items():
        assert value == pytest.approx(float(np.percentile(looped, q)), abs=1e-9)
    assert sim.mean == pytest.approx(float(looped.mean()))
    assert sum(sim.histogram[1]) == 2_000


def test_a_plan_without_uncertainty_gives_the_critical_path_and_its_tasks():
    est = [Estimate("A", 3, 3, 3), Estimate("B", 4, 4, 4), Estimate("C", 2, 2, 2), Estimate("D", 1, 1, 1)]
    links = [SimLink("A", "B"), SimLink("A", "C"), SimLink("B", "D"), SimLink("C", "D")]
    sim = simulate(est, links, iterations=50)
    assert sim.finish == {50: 8.0, 80: 8.0, 95: 8.0} and sim.deterministic == 8.0
    assert sim.criticality == {"A": 1.0, "B": 1.0, "C": 0.0, "D": 1.0}


def test_uncertainty_moves_the_finish_later_than_the_most_likely_plan():
    est = [Estimate(f"T{k}", 4, 5, 15) for k in range(10)]  # right-skewed, in series
    links = [SimLink(f"T{k}", f"T{k + 1}") for k in range(9)]
    sim = simulate(est, links, iterations=5_000, seed=1)
    assert sim.deterministic == 50.0
    assert sim.finish[50] > 50.0 and sim.finish[50] < sim.finish[80] < sim.finish[95]
    expected = sum(e.expected for e in est)  # the sum of PERT means: the mean of a chain
    assert sim.mean == pytest.approx(expected, rel=0.01)
    again = simulate(est, links, iterations=5_000, seed=1)
    assert again.finish == sim.finish  # seeded


def test_parallel_paths_share_criticality():
    est = [Estimate("X", 1, 5, 9), Estimate("Y", 1, 5, 9), Estimate("END", 0, 0, 0)]
    sim = simulate(est, [SimLink("X", "END"), SimLink("Y", "END")], iterations=20_000, seed=2)
    assert sim.criticality["END"] == 1.0
    assert sim.criticality["X"] == pytest.approx(0.5, abs=0.03) and sim.criticality["Y"] == pytest.approx(0.5, abs=0.03)


def test_bad_input_is_refused():
    with pytest.raises(InvalidInput, match="optimistic <= most likely <= pessimistic"):
        simulate([Estimate("a", 5, 3, 9)], [])
    with pytest.raises(InvalidInput, match="cycle"):
        simulate([Estimate("a", 1, 1, 1), Estimate("b", 1, 1, 1)], [SimLink("a", "b"), SimLink("b", "a")])
    with pytest.raises(InvalidInput, match="unknown task"):
        simulate([Estimate("a", 1, 1, 1)], [SimLink("a", "zz")])

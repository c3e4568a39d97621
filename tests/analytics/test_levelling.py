"""Resource levelling: links never broken, capacities held, near the optimum, and the PSPLIB format."""

from __future__ import annotations

import itertools
import random

import pytest

from bench.rcpsp import generate
from lifecycle.domain.levelling import Activity, Instance, Link, _net, _serial, check, level
from lifecycle.errors import InvalidInput, SpecError
from lifecycle.load.psplib import parse_sm, write_sm


def _brute_force_optimum(inst: Instance) -> int:
    """The optimum of a tiny FS instance: the serial scheme over every order that respects the links
    produces every active schedule, and an optimal schedule is always among them."""
    net = _net(inst)
    n = len(net.ids)
    best = 1 << 30
    for perm in itertools.permutations(range(n)):
        pos = {a: k for k, a in enumerate(perm)}
        if any(pos[i] > pos[j] for j in range(n) for i, _ in net.preds[j]):
            continue
        starts = _serial(net, [float(pos[k]) for k in range(n)])
        best = min(best, max(s + d for s, d in zip(starts, net.dur, strict=True)))
    return best


def _tiny(seed: int) -> Instance:
    rng = random.Random(seed)
    acts = tuple(
        Activity(f"A{k}", rng.randint(1, 6), {"R": float(rng.randint(1, 4)), "S": float(rng.randint(0, 3))})
        for k in range(7)
    )
    links = tuple(Link(f"A{i}", f"A{j}") for i in range(7) for j in range(i + 1, 7) if rng.random() < 0.2)
    return Instance(acts, links, {"R": 4.0, "S": 3.0})


def test_optimal_on_tiny_instances_checked_by_exhaustive_search():
    gaps = []
    for seed in range(12):
        inst = _tiny(seed)
        res = level(inst, samples=100, seed=seed)
        opt = _brute_force_optimum(inst)
        assert res.makespan >= opt >= res.lower_bound
        gaps.append(res.makespan / opt - 1)
    assert sum(gaps) / len(gaps) <= 0.01, gaps


def test_every_result_keeps_links_and_capacities_on_j30_like_instances():
    for seed in range(4):
        inst = generate(30, rs=0.25, seed=seed)
        res = level(inst, samples=50, seed=seed)
        check(inst, res.starts)  # raises on any broken link or capacity
        assert res.makespan >= res.lower_bound and res.lower_bound > 0


def test_all_link_kinds_with_lags_hold():
    acts = (Activity("a", 3, {"R": 1.0}), Activity("b", 2, {"R": 1.0}), Activity("c", 4, {"R": 1.0}))
    links = (Link("a", "b", "SS", 1), Link("a", "c", "FF", 2), Link("b", "c", "SF", 1))
    res = level(Instance(acts, links, {"R": 1.0}))
    s = res.starts
    assert s["b"] >= s["a"] + 1  # SS + 1
    assert s["c"] + 4 >= s["a"] + 3 + 2  # FF + 2
    assert s["c"] + 4 >= s["b"] + 1  # SF + 1
    # one unit of R: nothing overlaps
    spans = sorted((s[k], s[k] + d) for k, d in (("a", 3), ("b", 2), ("c", 4)))
    assert all(spans[k][1] <= spans[k + 1][0] for k in range(2))


def test_fixed_starts_and_release_dates_are_honoured():
    acts = (
        Activity("done", 5, {"R": 1.0}, fixed_start=0),
        Activity("late", 2, {"R": 1.0}, release=10),
        Activity("next", 3, {"R": 1.0}),
    )
    res = level(Instance(acts, (Link("done", "next"),), {"R": 1.0}))
    assert res.starts["done"] == 0 and res.starts["late"] >= 10 and res.starts["next"] >= 5


def test_priority_breaks_ties():
    acts = (Activity("low", 2, {"R": 1.0}, priority=0), Activity("high", 2, {"R": 1.0}, priority=9))
    assert level(Instance(acts, (), {"R": 1.0}), samples=0).starts["high"] == 0


def test_impossible_instances_are_refused_with_the_reason():
    with pytest.raises(InvalidInput, match="needs 3 of 'R' per day, more than its capacity 2"):
        level(Instance((Activity("x", 1, {"R": 3.0}),), (), {"R": 2.0}))
    with pytest.raises(InvalidInput, match="cycle among: a, b"):
        level(Instance((Activity("a", 1), Activity("b", 1)), (Link("a", "b"), Link("b", "a")), {}))
    with pytest.raises(InvalidInput, match="has no capacity"):
        level(Instance((Activity("a", 1, {"Q": 1.0}),), (), {"R": 1.0}))
    with pytest.raises(InvalidInput, match="breaking its link"):
        check(Instance((Activity("a", 2), Activity("b", 1)), (Link("a", "b"),), {}), {"a": 0, "b": 1})


def test_sm_round_trip_and_errors():
    inst = generate(10, seed=3)
    text = write_sm(inst, "gen10")
    back = parse_sm(text, "gen10.sm")
    assert [(a.id, a.duration, dict(a.demands)) for a in back.activities] == [
        (a.id, a.duration, dict(a.demands)) for a in inst.activities
    ]
    assert sorted((lk.pred, lk.succ) for lk in back.links) == sorted((lk.pred, lk.succ) for lk in inst.links)
    assert back.capacities == inst.capacities
    assert level(back).makespan == level(inst).makespan
    broken = text.replace("RESOURCEAVAILABILITIES", "AVAILABLE")
    with pytest.raises(SpecError, match="no RESOURCEAVAILABILITIES section"):
        parse_sm(broken, "x.sm")
    lines = text.splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("PRECEDENCE")) + 2
    lines[k] = "   1        2          1           2"
    with pytest.raises(SpecError) as err:
        parse_sm("\n".join(lines), "y.sm")
    assert f"y.sm:{k + 1}" in str(err.value)

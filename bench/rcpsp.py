"""Generated resource-constrained scheduling instances in the shape of the PSPLIB j30 set, and an exact
solver to measure the levelling against.

The generator follows the published parameters of the j30 set: 30 real jobs between a dummy source and
sink, 4 renewable resources, durations 1–10, each job with 1–3 successors (every job reachable),
a resource factor (the share of resources a job uses) and a resource strength (where each capacity
lies between the largest single request and the peak of the unconstrained earliest-start schedule).
The exact solver is OR-Tools' CP-SAT (interval variables, one cumulative constraint per resource,
minimise the makespan): the optimum, or the best bound it proves within its time limit, is what a
capable user with a solver would compare with. Standard library for the generator; the solver is
imported only when asked for.
"""

from __future__ import annotations

import random
from typing import Any

from lifecycle.domain.levelling import Activity, Instance, Link


def generate(jobs: int = 30, *, resources: int = 4, rf: float = 0.5, rs: float = 0.3, seed: int = 1) -> Instance:
    """A j30-like instance: ``jobs`` real jobs (ids 2..jobs+1) between source '1' and sink str(jobs+2)."""
    rng = random.Random(seed)
    n = jobs + 2
    dur = [0] + [rng.randint(1, 10) for _ in range(jobs)] + [0]
    succ: dict[int, set[int]] = {i: set() for i in range(n)}
    for i in range(1, jobs + 1):  # each real job gets 1-3 successors among later real jobs or the sink
        later = list(range(i + 1, n))
        for j in rng.sample(later, min(len(later), rng.randint(1, 3))):
            succ[i].add(j)
    has_pred = {j for s in succ.values() for j in s}
    for j in range(1, jobs + 1):
        if j not in has_pred:
            succ[0].add(j)
    for i in range(1, jobs + 1):
        if not succ[i]:
            succ[i].add(n - 1)
    names = [f"R{k + 1}" for k in range(resources)]
    demands: list[dict[str, float]] = [{}]
    for _ in range(jobs):
        used = [r for r in names if rng.random() < rf] or [rng.choice(names)]
        demands.append({r: float(rng.randint(1, 10)) for r in used})
    demands.append({})
    caps = _capacities(dur, succ, demands, names, rs)
    acts = tuple(Activity(str(i + 1), dur[i], demands[i]) for i in range(n))
    links = tuple(Link(str(i + 1), str(j + 1)) for i in range(n) for j in sorted(succ[i]))
    return Instance(acts, links, caps)


def _capacities(
    dur: list[int], succ: dict[int, set[int]], demands: list[dict[str, float]], names: list[str], rs: float
) -> dict[str, float]:
    es = [0] * len(dur)
    for i in range(len(dur)):  # ids are already in topological order
        for j in succ[i]:
            es[j] = max(es[j], es[i] + dur[i])
    horizon = max(e + d for e, d in zip(es, dur, strict=True))
    caps = {}
    for r in names:
        kmin = max((d.get(r, 0.0) for d in demands), default=0.0)
        load = [0.0] * (horizon + 1)
        for i, d in enumerate(demands):
            for t in range(es[i], es[i] + dur[i]):
                load[t] += d.get(r, 0.0)
        kmax = max(load)
        caps[r] = float(max(1, round(kmin + rs * (kmax - kmin))))
    return caps


def solve_exact(instance: Instance, *, time_limit_s: float = 10.0) -> dict[str, Any]:
    """CP-SAT's makespan for ``instance`` (FS links only): ``{"makespan", "optimal", "bound", "seconds"}``."""
    from ortools.sat.python import cp_model  # benchmark-only dependency (bench/requirements.txt)

    m = cp_model.CpModel()
    horizon = sum(a.duration for a in instance.activities)
    start = {a.id: m.NewIntVar(0, horizon, f"s{a.id}") for a in instance.activities}
    intervals: dict[str, Any] = {}
    for a in instance.activities:
        intervals[a.id] = m.NewFixedSizeIntervalVar(start[a.id], a.duration, f"i{a.id}")
    dur = {a.id: a.duration for a in instance.activities}
    for lk in instance.links:
        m.Add(start[lk.succ] >= start[lk.pred] + dur[lk.pred] + lk.lag)
    for r, cap in instance.capacities.items():
        users = [a for a in instance.activities if a.demands.get(r, 0) > 0 and a.duration > 0]
        m.AddCumulative([intervals[a.id] for a in users], [int(a.demands[r]) for a in users], int(cap))
    makespan = m.NewIntVar(0, horizon, "makespan")
    m.AddMaxEquality(makespan, [start[a.id] + a.duration for a in instance.activities])
    m.Minimize(makespan)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = 1
    status = solver.Solve(m)
    return {
        "makespan": int(solver.Value(makespan)),
        "optimal": status == cp_model.OPTIMAL,
        "bound": int(solver.BestObjectiveBound()),
        "seconds": solver.WallTime(),
    }

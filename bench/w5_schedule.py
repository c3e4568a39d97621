"""Workload 5: the critical path on 1,000 / 10,000 / 100,000 tasks with ~5 links each.

Ours: :func:`lifecycle.domain.schedule.compute_schedule` on a project holding the network (forward
and backward pass, slack, the critical tasks). Baseline, in the same run: networkx's
``dag_longest_path`` on the same finish-to-start graph (edge weight = the predecessor's duration,
plus a sink so the last task's duration counts), including building the ``DiGraph`` from the same
lists, as ours includes building its integer graph from the project.

Both must agree: the project's length in working days equals the longest path's length (the
network starts on a Monday and has no holidays, so working days are the path's unit). Target: faster
than the baseline at every size, and time growing close to linearly (the log-log slope is reported).
"""

from __future__ import annotations

import itertools
from typing import Any

from bench import Bench, NotAvailable, growth_exponent, interleaved, result

NUMBER = 5
TITLE = "critical path (CPM), ~5 links per task"


def _title(tasks: int) -> str:
    return f"critical path (CPM), {tasks:,} tasks, ~5 links per task"


TARGET = "faster than baseline at every size; growth ~linear"
MAX_EXPONENT = 1.2


def _networkx_longest(durations: list[int], edges: list[tuple[int, int]]) -> int:
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(range(len(durations)))
    g.add_weighted_edges_from((a, b, durations[a]) for a, b in edges)
    sink = len(durations)
    g.add_weighted_edges_from((n, sink, durations[n]) for n in range(len(durations)) if g.out_degree(n) == 0)
    path = nx.dag_longest_path(g, weight="weight")
    return sum(g[u][v]["weight"] for u, v in itertools.pairwise(path))


def run(b: Bench) -> dict[str, Any]:
    try:
        from lifecycle.domain.schedule import compute_schedule
    except ModuleNotFoundError as exc:
        raise NotAvailable("lifecycle.domain.schedule has not landed") from exc
    try:
        import networkx  # noqa: F401
    except ModuleNotFoundError as exc:
        raise NotAvailable("networkx is not installed (bench/requirements.txt)") from exc
    from bench.generate import network_project, schedule_network

    rows = []
    for n in b.size.w5_tasks:
        durations, edges = schedule_network(n)
        project = network_project(durations, edges)
        ours_len = compute_schedule(project).duration_days
        nx_len = _networkx_longest(durations, edges)
        if ours_len != nx_len:
            raise RuntimeError(f"critical path lengths differ at {n} tasks: ours {ours_len}, networkx {nx_len}")

        def ours(project: Any = project) -> None:
            s = compute_schedule(project)
            _ = s.critical_task_count

        def base(d: list[int] = durations, e: list[tuple[int, int]] = edges) -> None:
            _networkx_longest(d, e)

        repeat = b.size.repeat if n <= 10_000 else max(3, b.size.repeat // 2)
        timed = interleaved({"ours": ours, "networkx": base}, repeat=repeat, warmup=1)
        rows.append(
            {
                "tasks": n,
                "links": len(edges),
                "length_days": ours_len,
                "ours": timed["ours"],
                "networkx": timed["networkx"],
                "ratio": round(timed["ours"]["median"] / timed["networkx"]["median"], 3),
            }
        )
        b.log(f"w5 {n} tasks: ours {timed['ours']['median']:.3f}s networkx {timed['networkx']['median']:.3f}s")

    sizes = [r["tasks"] for r in rows]
    exp_ours = growth_exponent(sizes, [r["ours"]["median"] for r in rows])
    exp_nx = growth_exponent(sizes, [r["networkx"]["median"] for r in rows])
    faster = all(r["ratio"] < 1.0 for r in rows)
    linear = exp_ours is not None and exp_ours <= MAX_EXPONENT
    head = rows[-1]
    note = (
        "; ".join(
            f"{r['tasks']:,}: {r['ours']['median'] * 1000:.0f} ms vs {r['networkx']['median'] * 1000:.0f} ms"
            for r in rows
        )
        + f"; growth exponent {exp_ours} (networkx {exp_nx})"
    )
    return result(
        NUMBER,
        _title(sizes[-1]),
        target=TARGET,
        measured=head["ours"],
        baseline=head["networkx"],
        baseline_label="networkx dag_longest_path",
        met=faster and linear,
        note=note,
        size={"tasks": sizes, "links_per_task": 5},
        extra={
            "sizes": [{k: v for k, v in r.items()} for r in rows],
            "growth_exponent": exp_ours,
            "growth_exponent_baseline": exp_nx,
            "faster_at_every_size": faster,
        },
    )

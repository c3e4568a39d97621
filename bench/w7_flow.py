"""Workload 7: the ``milestone_reached`` flow in embedded mode, first and later runs of a process.

Ours: ``flows.milestone.milestone_reached`` run in a new process with no Prefect server configured, so
Prefect starts its temporary API on the first run of the process (the Prefect home already exists:
one untimed run before creates its database). Each run is on its own project, an acceptance milestone
whose deliverables pass the quality standards, so every run does the whole work: quality checks,
milestone status report, the acceptance certificate (issued and e-mailed to a real SMTP server on
127.0.0.1) and the webhook notification (skipped). Baseline, in the same run: a new process calling the
same services in the same order, each step with its own context as each task opens one (the send step
included). Reported: the overhead in seconds of the first run of a process and of the later runs (flow minus direct).

Each side runs in its own process (``python -m bench.w7_flow child ...``), which prints its timings as
JSON; import time is reported separately.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from typing import Any

from bench import ROOT, Bench, NotAvailable, SmtpInbox, child_result, env_for, python, report_result, result, stats

NUMBER = 7
TITLE = "`milestone_reached` flow, embedded"
TARGET = "report the overhead (s), first and later runs"
MILESTONE = "M-ACC"


# --------------------------------------------------------------------------- the child processes
def _direct_steps(code: str, milestone: str) -> dict[str, Any]:
    """The flow's steps as plain service calls (see flows/milestone.py), one context per step."""
    from lifecycle.services.context import open_context, open_workspace
    from lifecycle.services.delivery import deliver_document, ensure_document, notify, smtp_configured
    from lifecycle.services.monitor import record_milestone_report
    from lifecycle.services.projects import get_item
    from lifecycle.services.quality import check_summary, run_quality_checks

    def ctx() -> Any:
        return open_context(open_workspace())

    c = ctx()
    try:
        ms = get_item(c.store.get(code), "milestones", milestone)
    finally:
        c.close()
    c = ctx()
    try:
        checks = [check_summary(q) for q in run_quality_checks(c, code, list(ms.deliverables))]
    finally:
        c.close()
    c = ctx()
    try:
        record_milestone_report(c, code, milestone, checks)
    finally:
        c.close()
    failed = [q for q in checks if q["result"] == "fail"]
    doc = None
    sent = False
    if ms.kind == "acceptance" and not failed:
        c = ctx()
        try:
            doc, _ = ensure_document(c, code, "acceptance", milestone=milestone)
        finally:
            c.close()
        c = ctx()
        try:
            smtp_configured(c)
        finally:
            c.close()
        c = ctx()
        try:  # the flow's send step
            sent = deliver_document(c, code, doc.id)["status"] == "sent"
        finally:
            c.close()
    c = ctx()
    try:
        notify(
            c,
            code,
            "milestone.reached",
            {
                "milestone": milestone,
                "passed": len(checks) - len(failed),
                "total": len(checks),
                "failed": [q["id"] for q in failed],
                "document": doc.number if doc else "",
            },
        )
    finally:
        c.close()
    return {"document": doc.number if doc else None, "failed": len(failed), "sent": sent}


def child(mode: str, codes: list[str], milestone: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    times: list[float] = []
    outcome: list[Any] = []
    if mode == "flow":
        import asyncio

        from flows.milestone import milestone_reached

        imported = time.perf_counter() - t0

        async def main() -> None:
            for code in codes:
                s = time.perf_counter()
                r = await milestone_reached(project=code, milestone=milestone)
                times.append(time.perf_counter() - s)
                outcome.append({"document": (r.get("document") or {}).get("number"), "failed": len(r["failed"])})

        asyncio.run(main())
    else:
        import lifecycle.services.delivery
        import lifecycle.services.monitor
        import lifecycle.services.quality  # noqa: F401

        imported = time.perf_counter() - t0
        for code in codes:
            s = time.perf_counter()
            outcome.append(_direct_steps(code, milestone))
            times.append(time.perf_counter() - s)
    return {"mode": mode, "import_s": imported, "times": times, "outcome": outcome}


def _child_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.w7_flow child")
    ap.add_argument("mode", choices=("flow", "direct"))
    ap.add_argument("--codes", required=True)
    ap.add_argument("--milestone", default=MILESTONE)
    args = ap.parse_args(argv)
    out = child(args.mode, args.codes.split(","), args.milestone)
    report_result(out)
    return 0


# --------------------------------------------------------------------------- the workload
def _run_child(mode: str, codes: list[str], env: dict[str, str]) -> dict[str, Any]:
    return child_result([python(), "-m", "bench.w7_flow", "child", mode, "--codes", ",".join(codes)], env, timeout=900)


def run(b: Bench) -> dict[str, Any]:
    if not b.size.w7_enabled:
        return result(
            NUMBER,
            TITLE,
            target=TARGET,
            status="skipped",
            note=f"skipped at size {b.size.name}: the first embedded flow run alone takes longer than "
            "the smoke test allows (run --size small or full)",
        )
    try:
        import flows.milestone  # noqa: F401
        import lifecycle.services.delivery  # noqa: F401
    except ModuleNotFoundError as exc:
        raise NotAvailable(f"{exc.name} has not landed") from exc

    from bench.generate import clean_acceptance_project
    from lifecycle.storage.sql import SqlStore

    ws = b.scratch("w7")
    rounds = 2 if b.size.name == "full" else 1
    per_child = 1 + b.size.w7_later_runs
    n = 1 + rounds * 2 * per_child  # one for the untimed Prefect-home warm-up
    env = env_for(
        ws,
        PYTHONPATH=str(ROOT),
        PMO_FLOW_RETRY_DELAYS="none",
        PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
    )
    env.pop("PREFECT_API_URL", None)
    store = SqlStore.open(f"sqlite:///{ws / 'pmo.db'}", create=True)
    codes = [f"FLOW-{i:03d}" for i in range(n)]
    try:
        template = clean_acceptance_project(10)
        for code in codes:
            p = replace(template, charter=replace(template.charter, code=code), version=0)
            store.save(p, expected_version=None)
    finally:
        store.close()

    inbox = SmtpInbox()  # a flow that must e-mail a certificate refuses to run without an SMTP server
    (ws / "settings.yaml").write_text(json.dumps({"smtp": inbox.settings(), "actor": "bench"}), encoding="utf-8")
    try:
        return _measure(b, codes, env, rounds, per_child)
    finally:
        inbox.stop()


def _measure(b: Bench, codes: list[str], env: dict[str, str], rounds: int, per_child: int) -> dict[str, Any]:
    warm = _run_child("flow", codes[:1], env)  # creates the Prefect home's database
    b.log(f"w7 cold Prefect home: first run {warm['times'][0]:.2f}s")
    flow_first: list[float] = []
    flow_later: list[float] = []
    direct_first: list[float] = []
    direct_later: list[float] = []
    imports: dict[str, list[float]] = {"flow": [], "direct": []}
    outcomes = []
    nxt = 1
    for _ in range(rounds):
        for mode in ("flow", "direct"):
            mine = codes[nxt : nxt + per_child]
            nxt += per_child
            out = _run_child(mode, mine, env)
            first, later = (flow_first, flow_later) if mode == "flow" else (direct_first, direct_later)
            first.append(out["times"][0])
            later.extend(out["times"][1:])
            imports[mode].append(out["import_s"])
            outcomes.append((mode, out["outcome"][0]))
            b.log(
                f"w7 {mode}: first {out['times'][0]:.2f}s, later "
                f"{statistics.median(out['times'][1:]) if out['times'][1:] else float('nan'):.2f}s"
            )
    if not later_ok(flow_later, direct_later):
        raise RuntimeError("no later runs were timed")
    f_later, d_later = stats(flow_later), stats(direct_later)
    f_first, d_first = stats(flow_first), stats(direct_first)
    over_first = f_first["median"] - d_first["median"]
    over_later = f_later["median"] - d_later["median"]
    docs = {o.get("document") is not None for _, o in outcomes}
    note = (
        f"overhead of the flow: first run of a process +{over_first:.2f} s ({f_first['median']:.2f} s vs "
        f"{d_first['median']:.2f} s direct), later runs +{over_later:.2f} s ({f_later['median']:.2f} s vs "
        f"{d_later['median']:.2f} s); importing flows {statistics.median(imports['flow']):.2f} s vs services "
        f"{statistics.median(imports['direct']):.2f} s; a cold Prefect home's first run {warm['times'][0]:.2f} s"
    )
    if docs != {True}:
        note += "; NOTE: not every run issued the certificate (quality checks failed)"
    return result(
        NUMBER,
        TITLE,
        target=TARGET,
        measured=f_later,
        baseline=d_later,
        baseline_label="same services called directly",
        met=None,
        note=note,
        size={"later_runs_per_process": b.size.w7_later_runs, "processes_per_side": rounds},
        extra={
            "first_run": {"flow": f_first, "direct": d_first, "overhead_s": round(over_first, 3)},
            "later_runs": {"flow": f_later, "direct": d_later, "overhead_s": round(over_later, 3)},
            "import_s": {k: round(statistics.median(v), 3) for k, v in imports.items()},
            "cold_prefect_home_first_run_s": round(warm["times"][0], 3),
            "outcomes": outcomes[:4],
        },
    )


def later_ok(*lists: list[float]) -> bool:
    return all(len(x) > 0 for x in lists)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        os.environ.setdefault("PMO_FLOW_RETRY_DELAYS", "none")
        sys.exit(_child_main(sys.argv[2:]))
    print("usage: python -m bench.w7_flow child flow|direct --codes A,B", file=sys.stderr)
    sys.exit(2)

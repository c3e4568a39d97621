"""Workload 12: server mode, the time from `pmo milestone done` to the finished `milestone_reached` run.

The set-up a team runs (see the README's server mode), all on 127.0.0.1: the workspace's database on
PostgreSQL (a throw-away cluster), a Prefect server, the deployments of ``prefect.yaml`` and one process
worker. For each of N projects (an acceptance milestone whose deliverables pass the quality standards,
so each run does the whole work: quality checks, status report, the certificate) the workload runs
`pmo milestone done CODE M-ACC` and waits until the triggered run is final. Reported per milestone:

* **event to completed run**: from the moment `pmo milestone done` returned (the event was sent) to the
  run's end time on the server; p50 and p95 over the milestones (the issue's target: p95 ≤ 8 s);
* the parts of it: event → run created (the server's trigger), created → started (worker pick-up and
  the flow process start), started → ended (the flow itself);
* the command itself (`pmo milestone done`, a new process).

Baseline, in the same run: what a capable user would do without the orchestrator, a new process per
milestone calling the same services in the same order (``bench.w7_flow child direct``), against the
same PostgreSQL database. The ratio is p50 of event-to-completed over the baseline's median.

Prefect settings are the ones the README gives for server mode: the worker polls every second
(``PREFECT_WORKER_QUERY_SECONDS=1``) and the runs are started as processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import ROOT, Bench, NotAvailable, SmtpInbox, child_result, env_for, python, result, stats

NUMBER = 12
TITLE = "server mode: `pmo milestone done` → finished run (PostgreSQL, Prefect server, workers)"
TARGET = "p95 event → completed run ≤ 8 s"
MILESTONE = "M-ACC"
FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


def _title(n: int, duo: int) -> str:
    return (
        f"server mode: `pmo milestone done` → finished run, {n} milestones on 1 worker, then "
        f"{4 * duo} milestones of {duo} projects on 2 workers (PostgreSQL, Prefect server)"
    )


def _get_json(url: str, body: dict[str, Any] | None = None) -> Any:
    """GET (or POST ``body`` to) the Prefect API: the server-mode test's helper."""
    from tests.flows.test_prefect_server import _get_json as get

    return get(url, body)


def _free_port() -> int:
    from tests.flows.conftest import free_port

    return free_port()


def _wait(what: str, check: Any, timeout: float, poll: float = 0.1) -> Any:
    from tests.flows.conftest import poll_until

    done, last = poll_until(check, timeout, poll)
    if done:
        return last
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, 15.0), (signal.SIGTERM, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def _ts(value: str | None) -> float:
    if not value:
        return float("nan")
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class _Servers:
    """The Prefect server and worker processes of one run, stopped worker first whatever happens."""

    def __init__(self, folder: Path, env: dict[str, str]):
        self.folder, self.env = folder, env
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, args: list[str]) -> None:
        with (self.folder / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(
                args, env=self.env, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.procs.append(proc)

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}" for p in sorted(self.folder.glob("*.log"))
        )

    def stop(self) -> None:
        for proc in reversed(self.procs):
            _stop(proc)


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=180)
    if res.returncode != 0:
        raise RuntimeError(f"`{' '.join(args[:5])}` failed ({res.returncode}): {res.stdout[-400:]} {res.stderr[-400:]}")
    return res


def _projects(url: str, codes: list[str], extra_milestones: int = 0) -> list[str]:
    """Save one project per code whose acceptance milestone ``M-ACC`` (and ``extra_milestones`` copies of
    it, ``M-ACC2`` …) is still to be reached: `pmo milestone done` reaches it."""
    from bench.generate import clean_acceptance_project
    from lifecycle.storage.sql import SqlStore

    store = SqlStore.open(url, create=True)
    try:
        template = clean_acceptance_project(10)
        acc = next(m for m in template.milestones if m.id == MILESTONE)
        reach = replace(acc, status="planned", completed_on=None)
        copies = tuple(
            replace(reach, id=f"{MILESTONE}{k}", name=f"{acc.name} {k}") for k in range(2, 2 + extra_milestones)
        )
        template = replace(
            template, milestones=(*(m for m in template.milestones if m.id != MILESTONE), reach, *copies)
        )
        for code in codes:
            store.save(
                replace(template, charter=replace(template.charter, code=code), version=0), expected_version=None
            )
    finally:
        store.close()
    return codes


def _start_prefect(servers: _Servers, env: dict[str, str], folder: Path) -> None:
    prefect = [python(), "-m", "prefect"]
    api = env["PREFECT_API_URL"]
    servers.start(
        "server", [*prefect, "server", "start", "--host", "127.0.0.1", "--port", env["PREFECT_SERVER_API_PORT"]]
    )
    _wait("the Prefect server's health check", lambda: _get_json(f"{api}/health") is True, 120, poll=0.5)
    _cli([*prefect, "work-pool", "create", "pmo-process", "--type", "process"], env, ROOT)
    _cli([*prefect, "--no-prompt", "deploy", "--all"], env, ROOT)
    _start_worker(servers, "worker")


def _start_worker(servers: _Servers, name: str) -> None:
    servers.start(name, [python(), "-m", "prefect", "worker", "start", "--pool", "pmo-process", "--name", name])
    _wait(
        f"the {name} to start",
        lambda: "started" in (servers.folder / f"{name}.log").read_text(errors="replace").lower(),
        60,
        poll=0.5,
    )


def _one_milestone(code: str, env: dict[str, str], folder: Path, seen: set[str]) -> dict[str, float]:
    api = env["PREFECT_API_URL"]
    t0 = time.time()
    done = _cli([python(), "-m", "lifecycle.cli.main", "milestone", "done", code, MILESTONE], env, folder)
    t_event = time.time()
    if "event" not in done.stdout:
        raise RuntimeError(f"pmo milestone done sent no event: {done.stdout[-300:]}")

    def final_run() -> Any:
        runs = _get_json(
            f"{api}/flow_runs/filter",
            {"flows": {"name": {"any_": ["milestone-reached"]}}, "sort": "EXPECTED_START_TIME_DESC", "limit": 50},
        )
        mine = [r for r in runs if r["id"] not in seen and (r.get("parameters") or {}).get("project") == code]
        return mine[0] if mine and mine[0]["state_type"] in FINAL else None

    run = _wait(f"the run for {code}", final_run, 300, poll=0.05)
    t_seen = time.time()
    seen.add(run["id"])
    if run["state_type"] != "COMPLETED":
        raise RuntimeError(f"the run for {code} ended {run['state_type']}")
    created, started, ended = _ts(run.get("created")), _ts(run.get("start_time")), _ts(run.get("end_time"))
    end = ended if ended == ended else t_seen  # NaN-safe: the end time the server recorded, else when we saw it
    return {
        "command_s": t_event - t0,
        "event_to_done_s": end - t_event,
        "event_to_created_s": created - t_event,
        "created_to_started_s": started - created,
        "run_s": end - started,
    }


def _final_runs(api: str, codes: set[str]) -> list[dict[str, Any]]:
    runs = _get_json(f"{api}/flow_runs/filter", {"flows": {"name": {"any_": ["milestone-reached"]}}, "limit": 200})
    return [r for r in runs if (r.get("parameters") or {}).get("project") in codes]


def _two_workers(
    servers: _Servers, env: dict[str, str], url: str, codes: list[str], milestones: list[str], inbox: Any
) -> dict[str, Any]:
    """Phase two: a second worker joins; the milestones of ``codes`` are reached at once (four projects at a
    time, each project's in turn) and a quarter of them is also started a second time from the CLI, as a
    duplicated trigger would.
    Reported: runs per minute until every run is final, and the documents and e-mails per milestone."""
    from concurrent.futures import ThreadPoolExecutor

    from lifecycle.storage.sql import SqlStore

    _start_worker(servers, "worker-2")
    pairs = [(c, m) for c in codes for m in milestones]
    pmo = [python(), "-m", "lifecycle.cli.main"]

    def reach(code: str) -> None:  # one project's milestones one after the other, as its PM would
        for m in milestones:
            _cli([*pmo, "milestone", "done", code, m], env, servers.folder)

    def again(pair: tuple[str, str]) -> None:
        args = ["flow", "run", "milestone_reached", "--deployment", "-p", f"project={pair[0]}"]
        _cli([*pmo, *args, "-p", f"milestone={pair[1]}"], env, servers.folder)

    t0 = time.time()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(reach, codes))
        list(pool.map(again, pairs[::4]))
    want = len(pairs) + len(pairs[::4])
    api = env["PREFECT_API_URL"]
    runs = _wait(
        f"{want} runs to end",
        lambda: r if len(r := [x for x in _final_runs(api, set(codes)) if x["state_type"] in FINAL]) >= want else None,
        900,
        poll=0.5,
    )
    ends = [_ts(r.get("end_time")) for r in runs]
    minutes = (max(e for e in ends if e == e) - t0) / 60
    store = SqlStore.open(url)
    try:
        docs: dict[tuple[str, str], int] = {}
        for code in codes:
            for d in store.documents(code):
                if d.kind == "acceptance":
                    docs[(code, d.subject)] = docs.get((code, d.subject), 0) + 1
    finally:
        store.close()
    sent: dict[str, int] = {}
    for m in inbox.messages:
        subject = str(m.message["Subject"])
        sent[subject] = sent.get(subject, 0) + 1
    return {
        "milestones": len(pairs),
        "duplicated_triggers": len(pairs[::4]),
        "runs": len(runs),
        "states": sorted({r["state_type"] for r in runs}),
        "runs_per_minute": round(len(runs) / minutes, 1),
        "documents": sum(docs.values()),
        "milestones_with_one_document": sum(1 for v in docs.values() if v == 1),
        "milestones_with_more": sum(1 for v in docs.values() if v > 1),
        "emails": len(inbox.messages),
        "emails_sent_twice": sum(1 for v in sent.values() if v > 1),
    }


def _direct_baseline(codes: list[str], env: dict[str, str]) -> list[float]:
    times = []
    for code in codes:
        t0 = time.perf_counter()
        out = child_result([python(), "-m", "bench.w7_flow", "child", "direct", "--codes", code], env, timeout=600)
        if out["outcome"][0].get("document") is None:
            raise RuntimeError(f"the direct run for {code} issued no certificate")
        times.append(time.perf_counter() - t0)
    return times


def run(b: Bench) -> dict[str, Any]:
    n = {"tiny": 0, "small": 5, "full": 20}.get(b.size.name, 5)
    duo_projects = 10 if b.size.name == "full" else 3
    if n == 0:
        return result(
            NUMBER,
            _title(20, 10),
            target=TARGET,
            status="skipped",
            note="skipped at size tiny: starting PostgreSQL, a Prefect server and a worker takes longer than the "
            "smoke test allows (run --size small or full)",
        )
    try:
        import flows.milestone  # noqa: F401
        from tests.pgcluster import PgCluster
    except ModuleNotFoundError as exc:
        raise NotAvailable(f"{exc.name} has not landed") from exc

    folder = b.scratch("w12")
    cluster = PgCluster().start()
    servers = _Servers(folder, {})
    inbox = SmtpInbox()
    box = inbox.box
    try:
        url = cluster.create_database("w12")
        port = _free_port()
        env = env_for(
            folder,
            PYTHONPATH=str(ROOT),
            PMO_DATABASE_URL=url,
            PMO_FLOW_RETRY_DELAYS="1,2",
            PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
            PREFECT_SERVER_API_HOST="127.0.0.1",
            PREFECT_SERVER_API_PORT=str(port),
            PREFECT_WORKER_QUERY_SECONDS="1",
            PREFECT_WORKER_PREFETCH_SECONDS="5",
            PREFECT_LOGGING_LEVEL="WARNING",
        )
        (folder / "settings.yaml").write_text(json.dumps({"smtp": box.settings(), "actor": "bench"}), encoding="utf-8")
        servers.env = env
        codes = _projects(url, [f"SRV-{i:03d}" for i in range(2 * n + 1)])  # the first warms the worker up
        duo = _projects(url, [f"DUO-{i:02d}" for i in range(duo_projects)], extra_milestones=3)
        _start_prefect(servers, env, folder)
        seen: set[str] = set()
        try:
            warm = _one_milestone(codes[0], env, folder, seen)
            b.log(f"w12 first milestone (worker warm-up, untimed): {warm['event_to_done_s']:.2f}s")
            rows = []
            for code in codes[1 : n + 1]:
                rows.append(_one_milestone(code, env, folder, seen))
                b.log(f"w12 {code}: event → completed {rows[-1]['event_to_done_s']:.2f}s")
            box.messages.clear()
            two = _two_workers(servers, env, url, duo, [MILESTONE, *(f"{MILESTONE}{k}" for k in (2, 3, 4))], box)
            b.log(f"w12 two workers: {two}")
        except Exception as exc:
            raise RuntimeError(f"{exc}\n{servers.log_tail()}") from exc
        direct = _direct_baseline(codes[n + 1 :], env)
    finally:
        servers.stop()
        inbox.stop()
        cluster.stop()

    e2d = [r["event_to_done_s"] for r in rows]
    p50, p95 = statistics.median(e2d), _percentile(e2d, 0.95)
    parts = {k: round(statistics.median(r[k] for r in rows), 2) for k in rows[0]}
    base = stats(direct)
    note = (
        f"event → completed run p50 {p50:.2f} s, p95 {p95:.2f} s over {n} milestones; median parts: event → run "
        f"created {parts['event_to_created_s']:.2f} s, created → started (worker pick-up, process start) "
        f"{parts['created_to_started_s']:.2f} s, the flow {parts['run_s']:.2f} s; the command itself "
        f"{parts['command_s']:.2f} s; baseline (new process calling the services) {base['median']:.2f} s. "
        f"Two workers, {two['milestones']} milestones of {duo_projects} projects reached at once plus "
        f"{two['duplicated_triggers']} duplicated triggers: {two['runs_per_minute']} runs/minute, "
        f"{two['documents']} certificates ({two['milestones_with_more']} milestones with more than one), "
        f"{two['emails']} e-mails ({two['emails_sent_twice']} sent twice)"
    )
    return result(
        NUMBER,
        _title(n, duo_projects),
        target=TARGET,
        measured=stats(e2d),
        baseline=base,
        baseline_label="same services in a new process per milestone",
        met=p95 <= 8.0,
        note=note,
        size={"milestones": n},
        extra={
            "p50_s": round(p50, 3),
            "p95_s": round(p95, 3),
            "parts_median_s": parts,
            "rows": rows,
            "two_workers": two,
        },
    )


if __name__ == "__main__":
    print("run through `python -m bench --only 12`", file=sys.stderr)
    sys.exit(2)

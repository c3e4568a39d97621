"""Server mode end to end: a real Prefect server and worker, the deployments of ``prefect.yaml`` and the
event trigger, driven by ``pmo milestone done`` with ``PREFECT_API_URL`` set.

Everything runs on 127.0.0.1 with a private ``PREFECT_HOME`` and telemetry off. The server and the
worker are started in their own sessions and stopped by pid (worker first, then server), escalating
SIGINT → SIGTERM → SIGKILL, even when an assertion fails; the test then checks none is left.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.flows.conftest import ROOT, free_port, open_ctx, poll_until

pytestmark = [pytest.mark.prefect, pytest.mark.slow]

PREFECT = [sys.executable, "-m", "prefect"]


def _stop(proc: subprocess.Popen[bytes], name: str, grace: tuple[float, float] = (15.0, 10.0)) -> str:
    """Stop ``proc`` by its pid: SIGINT, then SIGTERM, then SIGKILL (to its whole session)."""
    if proc.poll() is not None:
        return f"{name} had exited ({proc.returncode})"
    for sig, wait in ((signal.SIGINT, grace[0]), (signal.SIGTERM, grace[1])):
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            return f"{name} stopped"
        try:
            proc.wait(wait)
            return f"{name} stopped by {sig.name}"
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):  # its own session: the server or worker and its children
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    return f"{name} killed"


def _session_alive(pgid: int) -> list[str]:
    """Processes still in the session we started (none may be left)."""
    out = subprocess.run(["ps", "-eo", "pid,pgid,args"], capture_output=True, text=True).stdout.splitlines()[1:]
    return [line.strip() for line in out if line.split(None, 2)[1:2] == [str(pgid)]]


def _get_json(url: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url, data=data, method="POST" if body is not None else "GET", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


def _wait(what: str, check: Any, timeout: float, logs: list[Path]) -> Any:
    done, last = poll_until(check, timeout, 0.5)
    if done:
        return last
    tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs if p.exists())
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})\n{tails}")


@pytest.fixture
def server_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PMO_"))}
    env.update(
        {
            "PREFECT_HOME": str(tmp_path / "prefect-home"),
            "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(port),
            "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_WORKER_PREFETCH_SECONDS": "5",
            "PREFECT_LOGGING_LEVEL": "INFO",
            "PMO_FLOW_RETRY_DELAYS": "1,1",
            "PMO_TODAY": "2026-03-30",
            "PMO_NOW": "2026-03-30T09:00:00+00:00",
            "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
            "COLUMNS": "200",
            "NO_COLOR": "1",
        }
    )
    return env


@pytest.fixture
def started() -> Iterator[list[tuple[str, subprocess.Popen[bytes]]]]:
    """Processes the test starts; stopped in reverse order (worker before server) whatever happens."""
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    yield procs
    notes = [_stop(p, name) for name, p in reversed(procs)]
    left = [line for _, p in procs for line in _session_alive(p.pid)]
    assert not left, f"processes left behind: {left} ({notes})"


def _spawn(args: list[str], env: dict[str, str], cwd: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """A process in its own session (so it and its children are stopped together), logging to ``log_path``."""
    with log_path.open("wb") as log:
        return subprocess.Popen(args, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def start_server(
    env: dict[str, str], cwd: Path, logs: list[Path], started: list[tuple[str, subprocess.Popen[bytes]]]
) -> str:
    """Start ``prefect server start`` on the port ``env`` names, in its own session, logging to ``logs[0]``
    (stopped by the ``started`` fixture); wait for its health check; return its API URL."""
    api = env["PREFECT_API_URL"]
    port = env["PREFECT_SERVER_API_PORT"]
    server = _spawn([*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", port], env, cwd, logs[0])
    started.append(("server", server))
    _wait("the server's health check", lambda: _get_json(f"{api}/health") is True, 90, logs)
    return api


def _flow_process(run_id: str) -> int | None:
    """The pid of the process running flow run ``run_id`` (its environment names the run)."""
    wanted = f"PREFECT__FLOW_RUN_ID={run_id}".encode()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if wanted in (proc / "environ").read_bytes().split(b"\0"):
                    return int(proc.name)
    return None


def test_milestone_done_triggers_the_deployment_on_a_worker(
    make_workspace, inbox, hooks, tmp_path, test_pack, server_env, started
):
    """The worker runs as on another machine: its workspace has no settings file, it shares the
    database and reads the settings `pmo settings push` stored there."""
    t0 = time.monotonic()
    timings: dict[str, float] = {}
    logs = [tmp_path / "server.log", tmp_path / "worker.log"]
    ws = make_workspace(smtp=inbox.settings(), webhook={"url": hooks.url, "timeout": 60})
    env = {**server_env, "PMO_WORKSPACE": str(ws)}
    worker_ws = tmp_path / "worker-machine"
    worker_ws.mkdir()
    # its own settings name only where it mounts the delivered files; everything else comes from the push
    (worker_ws / "settings.yaml").write_text(f"deliverables_dir: {tmp_path / 'files'}\n", encoding="utf-8")
    worker_env = {
        **server_env,
        "PMO_WORKSPACE": str(worker_ws),
        "PMO_DATABASE_URL": f"sqlite:///{ws / 'pmo.db'}",
        "PMO_RULES": str(test_pack),
    }
    api = env["PREFECT_API_URL"]

    start_server(env, tmp_path, logs, started)
    timings["server healthy"] = time.monotonic() - t0

    def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(list(args), env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, f"{' '.join(args)} failed:\n{res.stdout}\n{res.stderr}"
        return res

    def pmo(*args: str) -> subprocess.CompletedProcess[str]:
        return cli(sys.executable, "-m", "lifecycle.cli.main", *args, cwd=tmp_path)

    cli(*PREFECT, "work-pool", "create", "pmo-process", "--type", "process")
    deployed = cli(*PREFECT, "--no-prompt", "deploy", "--all")
    wanted = len(yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"])
    assert deployed.stdout.count("successfully created") == wanted, deployed.stdout
    timings[f"pool and {wanted} deployments"] = time.monotonic() - t0
    assert "automation 'pmo: unresponsive flow runs are crashed'" in pmo("flow", "crash-detection").stdout
    automations = _get_json(f"{api}/automations/filter", {})
    assert [a["name"] for a in automations].count("pmo: unresponsive flow runs are crashed") == 1
    assert "settings push 1" in pmo("settings", "push").stdout

    worker = _spawn([*PREFECT, "worker", "start", "--pool", "pmo-process"], worker_env, tmp_path, logs[1])
    started.append(("worker", worker))
    _wait(
        "the worker to poll the pool",
        lambda: (
            "Worker" in logs[1].read_text(errors="replace") and "started" in logs[1].read_text(errors="replace").lower()
        ),
        60,
        logs,
    )

    t_done = time.monotonic()
    done = pmo("milestone", "done", "DEMO-1", "M1")
    assert "event pmo.milestone.completed sent" in done.stdout, done.stdout
    t_event = time.monotonic()
    timings["pmo milestone done with the event"] = t_event - t_done

    def finished_runs(flow: str, count: int = 1) -> Any:
        runs = _get_json(f"{api}/flow_runs/filter", {"flows": {"name": {"any_": [flow]}}})
        final = [r for r in runs if r["state_type"] in ("COMPLETED", "FAILED", "CRASHED")]
        return final if len(final) >= count else None

    run = _wait("the triggered flow run", lambda: finished_runs("milestone-reached"), 120, logs)[0]
    timings["event to completed run"] = time.monotonic() - t_event
    assert run["state_type"] == "COMPLETED", run
    assert run["parameters"] == {"project": "DEMO-1", "milestone": "M1"}
    assert run["deployment_id"] and run["idempotency_key"]  # the trigger's key: a re-delivered event re-uses it
    assert run["name"] == "milestone-reached/DEMO-1/M1"
    assert {"pmo", "project:DEMO-1", "milestone:M1"} <= set(run["tags"])
    found = _get_json(f"{api}/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [run["id"]]}}})
    assert {a["key"] for a in found} == {"quality-demo-1", "documents-demo-1"}

    # what the run did, read back from our database, the document folder and the SMTP server
    ctx = open_ctx(ws)
    try:
        project = ctx.store.get("DEMO-1")
        assert len(project.quality_checks) == 10
        assert {c.result for c in project.quality_checks} == {"pass"} and all(
            c.automated for c in project.quality_checks
        )
        assert [r.id for r in project.status_reports] == ["SR-M1"]
        docs = ctx.store.documents("DEMO-1")
        assert [d.number for d in docs] == ["DEMO-1-ACC-M1-1"]
        pdf_path = Path(docs[0].path)
        assert pdf_path.is_file() and hashlib.sha256(pdf_path.read_bytes()).hexdigest() == docs[0].sha256
        assert pdf_path.is_relative_to(ws / "documents")  # the pushed documents store, not the worker's disk
        deliveries = ctx.store.records("DEMO-1", "delivery")
        assert [d.data["status"] for d in deliveries] == ["sent"]
    finally:
        ctx.close()
    assert not (worker_ws / "documents").exists()
    assert len(inbox.messages) == 1
    msg = inbox.messages[0].message
    assert msg["To"] == "Rob Rep <rob@northwind.example>" and "DEMO-1-ACC-M1-1" in msg["Subject"]
    attachment = next(p for p in msg.walk() if p.get_filename())
    assert hashlib.sha256(attachment.get_payload(decode=True)).hexdigest() == docs[0].sha256
    assert [b["event"] for b in hooks.bodies] == ["milestone.reached"]

    listed = cli(*PREFECT, "flow-run", "ls", "--flow-name", "milestone-reached", "-o", "json")
    rows = json.loads(listed.stdout[listed.stdout.index("[") :])
    assert [(r["id"], r["state_name"]) for r in rows] == [(run["id"], "Completed")]
    ours = pmo("flow", "list", "--runs").stdout
    line = next(x for x in ours.splitlines() if run["id"] in x)
    assert re.search(r"milestone-reached\s+DEMO-1\s+M1\s+Completed\s+milestone-reached/DEMO-1/M1", line), ours

    # the same milestone again changes nothing, sends nothing, and says how to start the flow anew
    again = pmo("milestone", "done", "DEMO-1", "M1")
    assert "already done" in again.stdout and "sent (" not in again.stdout
    assert "pmo milestone done DEMO-1 M1 --resend-event" in again.stdout
    resent = pmo("milestone", "done", "DEMO-1", "M1", "--resend-event")
    assert "event pmo.milestone.completed sent" in resent.stdout, resent.stdout
    second = _wait("the re-sent event's run", lambda: finished_runs("milestone-reached", 2), 120, logs)
    assert [r["state_type"] for r in second] == ["COMPLETED", "COMPLETED"]
    assert len({r["idempotency_key"] for r in second}) == 2
    assert len(inbox.messages) == 1 and len(hooks.bodies) == 1  # the flow is idempotent: nothing sent twice
    timings["re-sent event to completed run"] = time.monotonic() - t_event

    # another deployment, started from the CLI, runs on the worker too
    start_quality = ("flow", "run", "quality_checks", "-p", "project=DEMO-1", "--deployment", "--key", "q1", "--json")
    quality = json.loads(pmo(*start_quality).stdout)
    assert quality["deployment"] == "quality-checks/pmo-quality"
    assert json.loads(pmo(*start_quality).stdout)["flow_run"] == quality["flow_run"]  # a retry re-uses the run

    def state_of(run_id: str, states: tuple[str, ...] = ("COMPLETED", "FAILED", "CRASHED")) -> Any:
        r = _get_json(f"{api}/flow_runs/{run_id}")
        return r if r["state_type"] in states else None

    checked = _wait("the quality-checks run", lambda: state_of(quality["flow_run"]), 120, logs)
    assert checked["state_type"] == "COMPLETED"

    # a flow process killed mid-run (kill -9) is reported Crashed, not left Running
    t_crash = time.monotonic()
    hooks.hold = True
    monitor = json.loads(pmo("flow", "run", "portfolio_monitor", "--deployment", "--json").stdout)
    _wait("the monitor's first alert to reach the webhook", lambda: hooks.held > 0, 90, logs)
    pid = _flow_process(monitor["flow_run"])
    assert pid is not None, "no process runs the monitor's flow run"
    os.kill(pid, signal.SIGKILL)
    crashed = _wait("the killed run to be marked", lambda: state_of(monitor["flow_run"], ("CRASHED",)), 60, logs)
    assert "status code: -9" in crashed["state"]["message"] and "SIGKILL" in crashed["state"]["message"]
    hooks.release.set()
    timings["kill -9 to Crashed"] = time.monotonic() - t_crash
    timings["total before shutdown"] = time.monotonic() - t0
    print("\n  server mode: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))

"""Chaos in server mode: duplicated triggers, a worker killed mid-run, the SMTP server killed mid-send.

Everything on 127.0.0.1: the workspace's database on PostgreSQL (the suite's cluster), a Prefect server,
the deployments of ``prefect.yaml``, TWO process workers, the suite's SMTP server in a process of its
own (``tests/flows/smtp_spool.py``, so it can be killed with SIGKILL) and the webhook receiver. Then:

* four projects reach their acceptance milestone at once; three of them are triggered more than once
  (``pmo milestone done`` twice at the same time, and ``pmo flow run milestone_reached --deployment``);
* one project's certificate e-mail is held by the SMTP server after DATA and the server is killed
  before it answers, then started again;
* one project's run is held at its webhook (after the certificate was issued and e-mailed) and, once
  every other run ended, its worker is killed with SIGKILL of its process group and of the flow
  process's; the crash-detection automation (heartbeats every 30 s; ``--within 50`` here) marks the
  run Crashed and the recovery automation's ``pmo-recover`` run starts it again with the key
  ``<key>/recover-1`` on the other worker.

Afterwards: every milestone has exactly one registered certificate whose stored bytes verify
(``pmo docs verify``), no ``.part`` file is left, every recipient got each certificate once (the one
killed mid-send is in the server's spool once and ``pmo outbox`` reports it uncertain, not resent),
the recovery is in the audit trail, and ``pmo flow recover`` finds nothing more to start.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.flows import test_prefect_server as server_mode
from tests.flows.conftest import ROOT, free_port, sample_project
from tests.flows.test_prefect_server import PREFECT, _flow_process, _get_json, _session_alive, _stop, _wait

pytestmark = [pytest.mark.prefect, pytest.mark.slow, pytest.mark.postgres, pytest.mark.chaos]

CODES = ("CH-A", "CH-B", "CH-S", "CH-V")  # S: its e-mail is killed mid-send; V: its worker is killed
FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
server_env = server_mode.server_env  # the fixtures of the server-mode test: environment, started processes
started = server_mode.started
WITHIN = 50  # seconds without a heartbeat before the automation marks a run Crashed (heartbeats every 30 s)


class Smtp:
    """The spooling SMTP server process on a fixed port: killed with SIGKILL, started again."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.spool, self.env, self.port = folder, env, free_port()
        self.spool.mkdir()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, hold: str = "") -> None:
        args = [
            sys.executable,
            "-m",
            "tests.flows.smtp_spool",
            str(self.port),
            str(self.spool),
            *([hold] if hold else []),
        ]
        with (self.spool.parent / "smtp.log").open("ab") as log:
            self.proc = subprocess.Popen(
                args, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        pid = self.proc.pid
        _wait("the SMTP server", lambda: (self.spool / f"ready-{pid}").exists(), 30, [])

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            _stop(self.proc, "smtp", grace=(5.0, 5.0))

    def messages(self) -> list[Any]:
        import email
        import email.policy

        return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in self.spool.glob("*.eml")]


@pytest.fixture
def smtp(tmp_path: Path, server_env: dict[str, str]) -> Iterator[Smtp]:
    box = Smtp(tmp_path / "spool", server_env)
    try:
        yield box
    finally:
        box.stop()


def _workspace(tmp_path: Path, pack: Path, smtp: Smtp, hook_url: str, url: str) -> Path:
    from lifecycle.storage.sql import SqlStore

    ws = tmp_path / "ws"
    ws.mkdir()
    settings = {
        "rules": str(pack),
        "actor": "chaos-test",
        "supplier": {"name": "Acme Delivery"},
        "deliverables_dir": str(tmp_path / "files"),
        "smtp": {"host": "127.0.0.1", "port": smtp.port, "from": "PMO Office <pmo@supplier.example>", "timeout": 10},
        "webhook": {"url": hook_url, "allow_local": True, "timeout": 60},
    }
    (ws / "settings.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    store = SqlStore.open(url, create=True)
    try:
        for code in CODES:
            store.save(sample_project(tmp_path / "files", code), expected_version=None)
    finally:
        store.close()
    return ws


def _runs(api: str) -> list[dict[str, Any]]:
    return list(_get_json(f"{api}/flow_runs/filter", {"limit": 200}))


def _milestone_runs(api: str) -> list[dict[str, Any]]:
    return [r for r in _runs(api) if (r.get("parameters") or {}).get("project") in CODES]


def _worker_of(pid: int, workers: dict[int, str]) -> int:
    """The worker process among ``workers`` that ``pid`` descends from."""
    while pid > 1:
        if pid in workers:
            return pid
        stat = Path(f"/proc/{pid}/stat").read_text()
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    raise AssertionError("the flow process belongs to no worker we started")


def test_duplicates_a_killed_worker_and_a_killed_smtp_server_leave_one_document_and_one_email_each(
    request,
    tmp_path,
    pg_url,
    test_pack,
    hooks,
    smtp,
    server_env,
    started,
):
    t0 = time.monotonic()
    timings: dict[str, float] = {}
    request.addfinalizer(lambda: print("\n  chaos: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())))
    logs = [tmp_path / n for n in ("server.log", "worker-1.log", "worker-2.log", "smtp.log")]
    env = {**server_env, "PMO_WORKSPACE": str(tmp_path / "ws"), "PMO_DATABASE_URL": pg_url}
    env["PMO_FLOW_RETRY_DELAYS"] = "1,2,3"  # a send while the SMTP server is down is retried
    ws = _workspace(tmp_path, test_pack, smtp, hooks.url, pg_url)
    api = env["PREFECT_API_URL"]

    def start(name: str, args: list[str]) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(
                args, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        started.append((name, proc))
        return proc

    def cli(*args: str, cwd: Path = ROOT, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(list(args), env=env, cwd=cwd, capture_output=True, text=True, timeout=180)
        assert res.returncode in ok, f"{' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}"
        return res

    def pmo(*args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        return cli(sys.executable, "-m", "lifecycle.cli.main", *args, cwd=tmp_path, ok=ok)

    start("server", [*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", env["PREFECT_SERVER_API_PORT"]])
    smtp.start(hold="CH-S-ACC-M1")
    _wait("the server's health check", lambda: _get_json(f"{api}/health") is True, 90, logs)
    timings["server healthy"] = time.monotonic() - t0
    cli(*PREFECT, "work-pool", "create", "pmo-process", "--type", "process")
    worker = [*PREFECT, "worker", "start", "--pool", "pmo-process", "--name"]
    procs = {n: start(n, [*worker, n]) for n in ("worker-1", "worker-2")}
    workers = {p.pid: n for n, p in procs.items()}
    with ThreadPoolExecutor(2) as pool:
        deployed = pool.submit(cli, *PREFECT, "--no-prompt", "deploy", "--all")
        pushed = pool.submit(pmo, "settings", "push")
        assert "settings push 1" in pushed.result().stdout
        assert "pmo-recover" in deployed.result().stdout
    detection = pmo("flow", "crash-detection", "--within", str(WITHIN)).stdout
    assert "Crashed → recover-crashed-runs/pmo-recover" in detection, detection
    for name in workers.values():
        _wait(f"{name} to poll", lambda n=name: "started" in (tmp_path / f"{n}.log").read_text().lower(), 60, logs)
    timings["set up"] = time.monotonic() - t0

    # ---- duplicated and concurrent triggers; the SMTP server holds CH-S's e-mail, the webhook CH-V's run
    hooks.hold_match = "CH-V"
    triggers = [
        ("milestone", "done", "CH-A", "M1"),
        ("milestone", "done", "CH-A", "M1"),
        ("flow", "run", "milestone_reached", "--deployment", "-p", "project=CH-A", "-p", "milestone=M1"),
        ("milestone", "done", "CH-B", "M1"),
        ("milestone", "done", "CH-B", "M1"),
        ("flow", "run", "milestone_reached", "--deployment", "-p", "project=CH-B", "-p", "milestone=M1"),
        ("milestone", "done", "CH-S", "M1"),
        ("flow", "run", "milestone_reached", "--deployment", "-p", "project=CH-S", "-p", "milestone=M1"),
        ("milestone", "done", "CH-V", "M1"),
    ]
    with ThreadPoolExecutor(len(triggers)) as pool:
        outs = [r.stdout for r in pool.map(lambda a: pmo(*a), triggers)]
    events = sum("event pmo.milestone.completed sent" in o for o in outs)
    sent = [("event pmo.milestone.completed sent" in o, t) for o, t in zip(outs, triggers, strict=True)]
    assert [ok for ok, t in sent if "CH-V" in t] == [True]
    started_runs = {o.split("(")[-1].strip(" )\n") for o, t in zip(outs, triggers, strict=True) if t[0] == "flow"}
    expected = events + len(started_runs)
    assert len(started_runs) == 3
    timings["triggers sent"] = time.monotonic() - t0

    _wait("the SMTP server to hold CH-S's certificate", lambda: (smtp.spool / "held").exists(), 120, logs)
    smtp.kill()  # mid-send: the message is in the server's spool, the sender has no answer
    smtp.start()
    timings["SMTP server killed and started again"] = time.monotonic() - t0

    def victim() -> dict[str, Any] | None:
        mine = [r for r in _milestone_runs(api) if r["parameters"]["project"] == "CH-V"]
        return mine[0] if len(mine) == 1 else None

    _wait("CH-V's run to be held at its webhook", lambda: hooks.held > 0, 120, logs)
    held = victim()
    assert held is not None and held["state_type"] == "RUNNING", held

    def others_final() -> bool:
        runs = [r for r in _milestone_runs(api) if r["id"] != held["id"]]
        return len(runs) == expected - 1 and all(r["state_type"] in FINAL for r in runs)

    _wait(f"the other {expected - 1} runs to end", others_final, 150, logs)
    timings["other runs ended"] = time.monotonic() - t0

    # ---- kill the worker running CH-V's flow: its process group and the flow process's
    flow_pid = _flow_process(held["id"])
    assert flow_pid is not None, "no process runs CH-V's flow run"
    worker_pid = _worker_of(flow_pid, workers)
    flow_group = os.getpgid(flow_pid)
    os.killpg(worker_pid, signal.SIGKILL)
    procs[workers[worker_pid]].wait(10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(flow_group, signal.SIGKILL)
    _wait("the flow process to die", lambda: not Path(f"/proc/{flow_pid}").exists() or _zombie(flow_pid), 10, logs)
    hooks.release.set()
    t_kill = time.monotonic()

    def state(run_id: str) -> str:
        return str(_get_json(f"{api}/flow_runs/{run_id}")["state_type"])

    _wait("the automation to mark the run Crashed", lambda: state(held["id"]) == "CRASHED", WITHIN + 60, logs)
    timings["worker killed to Crashed"] = time.monotonic() - t_kill

    def recovered() -> dict[str, Any] | None:
        mine = [r for r in _milestone_runs(api) if r["parameters"]["project"] == "CH-V" and r["id"] != held["id"]]
        return mine[0] if mine and mine[0]["state_type"] in FINAL else None

    again = _wait("the recovered run to end", recovered, 120, logs)
    timings["Crashed to recovered run ended"] = time.monotonic() - t_kill
    assert again["state_type"] == "COMPLETED", again
    assert again["idempotency_key"] == f"{held['idempotency_key']}/recover-1"
    assert {"pmo-recovery", f"recovers:{held['id']}", "project:CH-V"} <= set(again["tags"])
    recover_flow = _get_json(f"{api}/flows/name/recover-crashed-runs")["id"]
    recoveries = [r for r in _runs(api) if r["flow_id"] == recover_flow]
    assert recoveries and all(r["state_type"] == "COMPLETED" for r in recoveries), recoveries

    # ---- what the runs left: one certificate per milestone, verified; one e-mail per recipient
    runs = _milestone_runs(api)
    states = Counter(r["state_type"] for r in runs)
    crashed = [(r["name"], r["id"], r["state"]["message"]) for r in runs if r["state_type"] == "CRASHED"]
    assert states == {"COMPLETED": expected, "CRASHED": 1}, crashed
    numbers = {}
    from lifecycle.storage.sql import SqlStore

    store = SqlStore.open(pg_url)
    try:
        for code in CODES:
            certificates = [d for d in store.documents(code) if d.kind == "acceptance"]
            assert [(d.subject, d.revision) for d in certificates] == [("M1", 1)], (code, certificates)
            numbers[code] = certificates[0].number
            assert Path(certificates[0].path).is_file()
            assert Path(certificates[0].path).is_relative_to(ws / "documents")  # where `.part` files would be
        audit = {code: [e.action for e in store.audit(code)] for code in CODES}
    finally:
        store.close()
    for number in numbers.values():
        assert "sha256 matches" in pmo("docs", "verify", number).stdout
    assert not list((ws / "documents").rglob("*.part")), list((ws / "documents").rglob("*"))

    received = Counter((str(m["To"]), n) for m in smtp.messages() for n in numbers.values() if n in str(m["Subject"]))
    assert received == {("Rob Rep <rob@northwind.example>", n): 1 for n in numbers.values()}, received
    assert all("document.resend" not in actions for actions in audit.values())
    outbox = json.loads(pmo("outbox", "--json").stdout)
    by_doc = {row["document"]: row for row in outbox}
    assert len(outbox) == len(CODES)
    assert by_doc[numbers["CH-S"]]["state"] == "uncertain" and by_doc[numbers["CH-S"]]["attempts"] == 1
    assert {by_doc[numbers[c]]["state"] for c in ("CH-A", "CH-B", "CH-V")} == {"sent"}
    assert "document.delivery_uncertain" in audit["CH-S"]
    assert audit["CH-V"].count("flow.recovered") == 1 and audit["CH-V"].count("document.sent") == 1

    # the webhook: CH-V's notification came once, from the recovered run
    assert sum(1 for b in hooks.bodies if "CH-V" in json.dumps(b)) == 1
    # nothing is left to recover, and asking again starts nothing
    left = pmo("flow", "recover").stdout.strip().splitlines()
    assert len(left) == 1 and left[0].startswith("left milestone-reached/CH-V/M1: run "), left
    assert left[0].endswith("completed after it") and again["id"] in left[0], left
    timings["total"] = time.monotonic() - t0
    assert not _session_alive(worker_pid)


def _zombie(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    return True

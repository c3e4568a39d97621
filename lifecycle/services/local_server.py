"""The long-lived local Prefect server of embedded mode: started beside ``pmo serve``, found by ``pmo``.

Without ``PREFECT_API_URL`` every ``pmo … --run-flows`` command starts Prefect's temporary API (10–25
s each). ``pmo serve`` therefore keeps one Prefect server and one process worker running on loopback
while it serves, with Prefect's home inside the workspace, and records the server's URL in the
workspace (``prefect-server.json``: url, the server's and the worker's pids, the port). Any ``pmo``
command of the workspace then finds it through :func:`local_api_url` — which answers only when the
file exists AND the server answers its health check, so a stale file after a crash is ignored — and
talks to that server like in server mode. The deployments of ``prefect.yaml`` are created on it when
the checkout has one (a worker needs them to run flows triggered by events).

Start order: server (wait for health), work pool, deployments, worker. Stop order: worker first,
then the server, each by its pid in its own session, escalating SIGINT → SIGTERM → SIGKILL, and the
file is removed. With ``PREFECT_API_URL`` set (an external server) nothing is started here.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from lifecycle.domain.limits import MAX_SMALL_FILE_BYTES
from lifecycle.errors import ConfigError, SpecError
from lifecycle.load.files import read_regular_text
from lifecycle.workspace import Workspace

STATE_FILE = "prefect-server.json"
POOL = "pmo-process"
HEALTH_TIMEOUT = 120.0  # a first start migrates Prefect's database: slow on a busy two-core machine


@dataclass
class LocalPrefect:
    """The processes of a running local Prefect (server and worker) and the server's API URL."""

    url: str
    server: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)
    state_file: Path | None = None
    notes: list[str] = field(default_factory=list)


def state_path(ws: Workspace) -> Path:
    return ws.root / STATE_FILE


def external_api_url(ws: Workspace) -> str:
    """The Prefect server an operator configured (``PREFECT_API_URL``), or ''."""
    return ws.runtime.prefect_api_url


def healthy(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout) as resp:
            return bool(resp.status == 200 and resp.read().strip() == b"true")
    except (OSError, ValueError):
        return False


def local_api_url(ws: Workspace) -> str:
    """The URL of the local server ``pmo serve`` keeps for this workspace, if it is up; else ''."""
    path = state_path(ws)
    try:
        data = json.loads(read_regular_text(path, MAX_SMALL_FILE_BYTES))
    except (SpecError, ValueError):  # none, or not a small regular file of JSON: no server known
        return ""
    url = str(data.get("url", "")) if isinstance(data, dict) else ""
    return url if url and healthy(url) else ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prefect_env(ws: Workspace, url: str, port: int) -> dict[str, str]:
    """The environment of the server, the worker and the CLI calls: private home, loopback, offline."""
    env = {k: v for k, v in ws.runtime.process_env.items() if k != "PREFECT_API_URL"}
    env.update(
        {
            "PREFECT_HOME": ws.runtime.process_env.get("PREFECT_HOME") or str(ws.prefect_home),
            "PREFECT_API_URL": url,
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(port),
            "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_WORKER_QUERY_SECONDS": ws.runtime.process_env.get("PREFECT_WORKER_QUERY_SECONDS", "2"),
            "PMO_WORKSPACE": str(ws.root.resolve()),
        }
    )
    return env


def _spawn(args: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _project_dir() -> Path | None:
    """The checkout holding ``prefect.yaml`` and ``flows/`` (deployments are made from there)."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "prefect.yaml").is_file() and (root / "flows").is_dir() else None


def start(ws: Workspace, *, port: int = 0, deploy: bool = True) -> LocalPrefect:
    """Start the server (and, when the checkout has deployments, a work pool, them and a worker)."""
    ws.prefect_home.mkdir(parents=True, exist_ok=True)
    port = port or _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = prefect_env(ws, url, port)
    prefect = [sys.executable, "-m", "prefect"]
    logs = [ws.prefect_home / "server.log", ws.prefect_home / "worker.log"]
    server = _spawn([*prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, logs[0], ws.root)
    local = LocalPrefect(url, server, logs=logs)
    try:
        _wait_healthy(local)
        folder = _project_dir()
        if deploy and folder is not None:
            _run([*prefect, "work-pool", "create", POOL, "--type", "process", "--overwrite"], env, folder)
            _run([*prefect, "--no-prompt", "deploy", "--all"], env, folder)
            local.worker = _spawn([*prefect, "worker", "start", "--pool", POOL], env, logs[1], folder)
        local.state_file = _record(ws, local, port)
    except BaseException:
        stop(local)
        raise
    return local


def _wait_healthy(local: LocalPrefect) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while time.monotonic() < deadline:
        if local.server.poll() is not None:
            raise ConfigError(f"the Prefect server exited ({local.server.returncode}); see {local.logs[0]}")
        if healthy(local.url):
            return
        time.sleep(0.5)
    raise ConfigError(f"the Prefect server did not answer within {HEALTH_TIMEOUT:.0f} s; see {local.logs[0]}")


def _run(args: list[str], env: dict[str, str], cwd: Path) -> None:
    res = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    if res.returncode != 0:
        raise ConfigError(f"{' '.join(args[2:])} failed:\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")


def _record(ws: Workspace, local: LocalPrefect, port: int) -> Path:
    path = state_path(ws)
    data = {
        "url": local.url,
        "port": port,
        "server_pid": local.server.pid,
        "worker_pid": local.worker.pid if local.worker else None,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    tmp.replace(path)
    return path


def _stop_one(proc: subprocess.Popen[bytes], grace: tuple[float, float] = (15.0, 10.0)) -> str:
    """Stop one process we started, by its pid: SIGINT, SIGTERM, then SIGKILL to its session."""
    if proc.poll() is not None:
        return f"had exited ({proc.returncode})"
    for sig, wait in ((signal.SIGINT, grace[0]), (signal.SIGTERM, grace[1])):
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            return "stopped"
        try:
            proc.wait(wait)
            return f"stopped by {sig.name}"
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    return "killed"


def stop(local: LocalPrefect) -> list[str]:
    """Stop the worker, then the server; forget the recorded URL. Returns what happened to each."""
    notes = []
    if local.state_file is not None:
        with contextlib.suppress(FileNotFoundError):
            local.state_file.unlink()
    if local.worker is not None:
        notes.append(f"worker {_stop_one(local.worker)}")
    notes.append(f"server {_stop_one(local.server)}")
    local.notes = notes
    return notes

"""``pmo serve`` end to end: uvicorn on a loopback port, a local Prefect server and worker beside it,
the server's URL recorded in the workspace for other ``pmo`` commands, and a clean stop (worker
first) on SIGINT with nothing left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.flows.conftest import ROOT, free_port, pmo_serve

pytestmark = [pytest.mark.prefect, pytest.mark.slow]


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, resp.read()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); read its state
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_pmo_serve_runs_the_pages_and_a_local_prefect_and_stops_cleanly(workspace: Path, tmp_path: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"PMO_WORKSPACE": str(workspace), "PYTHONPATH": str(ROOT), "PREFECT_WORKER_QUERY_SECONDS": "1"})
    state = workspace / "prefect-server.json"
    with pmo_serve(env, port, tmp_path / "serve.log", tmp_path) as proc:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                if _get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            time.sleep(1)
        else:
            raise AssertionError("pmo serve did not come up:\n" + (tmp_path / "serve.log").read_text())
        data = json.loads(state.read_text())
        assert data["url"].startswith("http://127.0.0.1:") and data["worker_pid"]
        assert _get(data["url"] + "/health")[1].strip() == b"true"
        status, body = _get(f"http://127.0.0.1:{port}/login")
        assert status == 200 and b"Sign in" in body

        # another pmo process of the workspace finds the running server instead of a temporary API
        probe = (
            "from lifecycle.services.context import open_workspace\n"
            "from lifecycle.services.events import prefect_environment\n"
            "print(prefect_environment(open_workspace()).get('PREFECT_API_URL', ''))"
        )
        found = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
        assert found.stdout.strip() == data["url"], found.stderr
    text = (tmp_path / "serve.log").read_text()
    assert "worker stopped" in text and "server stopped" in text, text
    assert text.index("worker stopped") < text.index("server stopped")
    assert not state.exists()
    assert not _alive(data["server_pid"]) and not _alive(data["worker_pid"])

"""The hand-off of `pmo … --run-flows` runs to the running `pmo serve` (lifecycle.services.flow_handoff).

The transport tests serve a plain function as the runner (the endpoint's behaviour: who may hand a run
over, what comes back, a stale or missing endpoint). The end-to-end test starts the real `pmo serve`
(its local Prefect server and worker) and runs `pmo milestone done --run-flows` beside it: the run is
handed over (the command imports no Prefect), is a completed run on the local server, the certificate
is e-mailed once, and a repeated run through the hand-off sends nothing again.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from lifecycle.errors import ConfigError, InvalidInput, LifecycleError
from lifecycle.services import flow_handoff
from lifecycle.services.context import open_workspace
from tests.flows.conftest import ROOT, free_port, pmo_serve

RESULT = {"project": "DEMO-1", "milestone": "M1", "acceptance": "sent", "checks": []}


class Calls:
    def __init__(self, fail: BaseException | None = None):
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail

    def __call__(self, name: str, params: Mapping[str, Any]) -> Any:
        self.seen.append((name, dict(params)))
        if self.fail is not None:
            raise self.fail
        return {**RESULT, **params}


@pytest.fixture
def served(workspace: Path) -> Iterator[tuple[Any, Calls]]:
    calls = Calls()
    handle = flow_handoff.start(open_workspace(str(workspace)), calls)
    try:
        yield handle, calls
    finally:
        flow_handoff.stop(handle)


def test_a_command_finds_the_runner_and_gets_the_flows_result(workspace, served):
    handle, calls = served
    found = flow_handoff.find(open_workspace(str(workspace)))
    assert found == (handle.url, handle.token)
    assert stat.S_IMODE((workspace / flow_handoff.STATE_FILE).stat().st_mode) == 0o600
    out = flow_handoff.run(found, "milestone_reached", {"project": "DEMO-1", "milestone": "M2"})
    assert out == {**RESULT, "milestone": "M2"}
    assert calls.seen == [("milestone_reached", {"project": "DEMO-1", "milestone": "M2"})]


def test_a_wrong_token_is_refused_and_runs_nothing(workspace, served):
    handle, calls = served
    with pytest.raises(ConfigError, match="refused the run: wrong or missing runner token"):
        flow_handoff.run((handle.url, "not-the-token"), "milestone_reached", {"project": "DEMO-1"})
    assert calls.seen == []


def test_the_flows_error_comes_back_as_the_same_class(workspace, served):
    handle, calls = served
    calls.fail = InvalidInput("DEMO-1 milestone M2 is planned, not done")
    with pytest.raises(InvalidInput, match="M2 is planned, not done") as err:
        flow_handoff.run((handle.url, handle.token), "milestone_reached", {"project": "DEMO-1"})
    assert err.value.exit_code == 2
    calls.fail = RuntimeError("boom")
    with pytest.raises(LifecycleError, match=r"the flow failed \(RuntimeError\): boom"):
        flow_handoff.run((handle.url, handle.token), "milestone_reached", {"project": "DEMO-1"})


def test_a_stopped_or_stale_runner_is_not_used(workspace, monkeypatch):
    ws = open_workspace(str(workspace))
    assert flow_handoff.find(ws) is None  # no file
    handle = flow_handoff.start(ws, Calls())
    state = (workspace / flow_handoff.STATE_FILE).read_text()
    flow_handoff.stop(handle)
    assert not (workspace / flow_handoff.STATE_FILE).exists()
    (workspace / flow_handoff.STATE_FILE).write_text(state)  # left behind by a serve killed with -9
    assert flow_handoff.find(ws) is None
    handle = flow_handoff.start(ws, Calls())
    try:
        monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # server mode: workers run the flows
        assert flow_handoff.find(open_workspace(str(workspace))) is None
    finally:
        flow_handoff.stop(handle)


def test_pmo_flow_run_hands_the_run_over_without_importing_prefect(workspace, served):
    _handle, calls = served
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"PMO_WORKSPACE": str(workspace), "PYTHONPATH": str(ROOT), "PYTHONPROFILEIMPORTTIME": "1"})
    args = ["flow", "run", "milestone_reached", "-p", "project=DEMO-1", "-p", "milestone=M1", "--json"]
    proc = subprocess.run(
        [sys.executable, "-m", "lifecycle.cli.main", *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == RESULT
    assert calls.seen == [("milestone_reached", {"project": "DEMO-1", "milestone": "M1"})]
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import")}
    assert "lifecycle.services.flow_handoff" in imported and "prefect" not in imported


# ------------------------------------------------------------------ end to end, real pmo serve and Prefect
def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read()) if "json" in resp.headers.get("Content-Type", "") else resp.status


def _runs(api: str) -> list[dict[str, Any]]:
    req = urllib.request.Request(
        f"{api}/flow_runs/filter",
        data=json.dumps({"flows": {"name": {"any_": ["milestone-reached"]}}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return list(json.loads(resp.read()))


def _pmo(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "lifecycle.cli.main", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.prefect
@pytest.mark.slow
def test_milestone_done_run_flows_is_run_by_the_running_serve(make_workspace, inbox, tmp_path):
    ws = make_workspace(smtp=inbox.settings())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PMO_"))}
    env.update(
        {
            "PMO_WORKSPACE": str(ws),
            "PYTHONPATH": str(ROOT),
            "PMO_TODAY": "2026-03-30",
            "PMO_NOW": "2026-03-30T09:00:00+00:00",
            "PMO_FLOW_RETRY_DELAYS": "none",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
        }
    )
    with pmo_serve(env, free_port(), tmp_path / "serve.log", tmp_path) as serve:
        deadline = time.monotonic() + 240
        while not (ws / flow_handoff.STATE_FILE).exists():
            assert serve.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.5)
        api = json.loads((ws / "prefect-server.json").read_text())["url"]

        done = _pmo(["milestone", "done", "DEMO-1", "M1", "--run-flows"], {**env, "PYTHONPROFILEIMPORTTIME": "1"})
        assert done.returncode == 0, done.stdout + done.stderr[-3000:]
        assert "acceptance certificate: sent" in done.stdout, done.stdout
        imported = {ln.rsplit("|", 1)[-1].strip() for ln in done.stderr.splitlines() if ln.startswith("import")}
        assert "prefect" not in imported  # the run was handed to pmo serve
        runs = _runs(api)
        assert [(r["parameters"]["project"], r["state_type"]) for r in runs] == [("DEMO-1", "COMPLETED")]
        assert len(inbox.messages) == 1

        again = _pmo(["flow", "run", "milestone_reached", "-p", "project=DEMO-1", "-p", "milestone=M1"], env)
        assert again.returncode == 0, again.stdout + again.stderr[-3000:]
        assert "already sent" in again.stdout, again.stdout
        assert len(_runs(api)) == 2 and len(inbox.messages) == 1  # a second run, no second e-mail

        missing = _pmo(["flow", "run", "milestone_reached", "-p", "project=NOPE", "-p", "milestone=M1"], env)
        assert missing.returncode == 2 and "NOPE" in missing.stderr, missing.stdout + missing.stderr
    assert not (ws / flow_handoff.STATE_FILE).exists()

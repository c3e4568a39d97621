"""Embedded versus server mode at the `pmo milestone done` boundary, and `pmo flow` argument parsing."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from lifecycle.errors import InvalidInput, NotFound
from lifecycle.services.events import milestone_event
from tests.flows.conftest import ROOT, free_port, open_ctx


def test_plain_milestone_done_imports_no_prefect(make_workspace):
    ws = make_workspace()
    code = (
        "import sys; sys.argv = ['pmo', 'milestone', 'done', 'DEMO-1', 'M1']\n"
        "from lifecycle.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('PREFECT', sorted(m for m in sys.modules if m.split('.')[0] == 'prefect'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update({"PMO_WORKSPACE": str(ws), "PMO_TODAY": "2026-03-30", "PMO_NOW": "2026-03-30T09:00:00+00:00"})
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=True
    ).stdout
    assert "DEMO-1 M1 done on 2026-03-30" in out and "PREFECT []" in out, out


def test_an_unreachable_server_leaves_the_milestone_done_exits_3_and_says_how_to_retry(make_workspace):
    """In its own process: Prefect reads its settings once, when it is first imported."""
    ws = make_workspace()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PMO_"))}
    env.update(
        {
            "PMO_WORKSPACE": str(ws),
            "PMO_TODAY": "2026-03-30",
            "PMO_NOW": "2026-03-30T09:00:00+00:00",
            "PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api",
            "PYTHONPATH": str(ROOT),
        }
    )
    start = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-m", "lifecycle.cli.main", "milestone", "done", "DEMO-1", "M1"],
        capture_output=True,
        text=True,
        cwd=ws.parent,
        env=env,
        timeout=120,
    )
    assert res.returncode == 3, (res.stdout, res.stderr)
    assert time.perf_counter() - start < 60
    assert "DEMO-1 M1 done on 2026-03-30" in res.stdout
    assert "error: DEMO-1 M1 is recorded as done, but the milestone_reached flow was not triggered" in res.stderr
    assert "`pmo milestone done DEMO-1 M1 --resend-event` (when the server is back)" in res.stderr
    assert "pmo flow run milestone_reached -p project=DEMO-1 -p milestone=M1" in res.stderr
    assert (ws / "prefect").is_dir()  # Prefect's home is the workspace's, never ~/.prefect
    ctx = open_ctx(ws)
    try:
        assert ctx.store.get("DEMO-1").index("milestones")["M1"].status == "done"
    finally:
        ctx.close()


def test_resend_event_needs_a_server_and_a_done_milestone_says_so(make_workspace, monkeypatch):
    from click.testing import CliRunner

    from lifecycle.cli.main import cli

    ws = make_workspace()
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PMO_TODAY", "2026-03-30")
    runner = CliRunner()
    first = runner.invoke(cli, ["--workspace", str(ws), "milestone", "done", "DEMO-1", "M1"])
    assert first.exit_code == 0, first.output
    resend = runner.invoke(cli, ["--workspace", str(ws), "milestone", "done", "DEMO-1", "M1", "--resend-event"])
    assert resend.exit_code == 2 and "--resend-event needs a Prefect server" in resend.output
    assert "pmo flow run milestone_reached -p project=DEMO-1 -p milestone=M1" in resend.output
    again = runner.invoke(cli, ["--workspace", str(ws), "milestone", "done", "DEMO-1", "M1"])
    assert again.exit_code == 0 and "already done on 2026-03-30; nothing changed" in again.output


def test_the_event_carries_what_the_trigger_reads():
    ev = milestone_event("HZ-MES-2026", "M2")
    assert ev == {
        "event": "pmo.milestone.completed",
        "resource": {"prefect.resource.id": "pmo.project.HZ-MES-2026", "prefect.resource.name": "HZ-MES-2026"},
        "payload": {"project": "HZ-MES-2026", "milestone": "M2"},
    }


def test_prefect_yaml_matches_the_flow_table():
    import yaml

    from flows import FLOWS

    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    deployments = {d["name"]: d for d in spec["deployments"]}
    assert set(deployments) == {f.deployment for f in FLOWS.values()}
    for f in FLOWS.values():
        d = deployments[f.deployment]
        assert d["entrypoint"] == f"{f.module.replace('.', '/')}.py:{f.attr}"
        assert d["work_pool"]["name"] == "pmo-process"
    trigger = deployments["pmo-milestone"]["triggers"][0]
    assert trigger["expect"] == ["pmo.milestone.completed"]
    assert trigger["match"] == {"prefect.resource.id": "pmo.project.*"}
    assert trigger["parameters"] == {
        "project": "{{ event.payload.project }}",
        "milestone": "{{ event.payload.milestone }}",
    }
    assert deployments["pmo-monitor"]["schedules"][0]["cron"] == "0 8 * * 1-5"
    # every deployment run sends heartbeats, which the crash-detection automation watches
    for d in deployments.values():
        assert d["work_pool"]["job_variables"]["env"]["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] == "30"


def test_flow_parameters_are_parsed_by_their_table():
    from lifecycle.cli.flows import parse_params

    assert parse_params("quality_checks", ["project=P1", "deliverables=D1, D2"]) == {
        "project": "P1",
        "deliverables": ["D1", "D2"],
    }
    assert parse_params("gate-review", ["project=P1", "to-phase=closure"]) == {"project": "P1", "to_phase": "closure"}
    with pytest.raises(InvalidInput, match="needs --param milestone"):
        parse_params("milestone_reached", ["project=P1"])
    with pytest.raises(InvalidInput, match="KEY=VALUE"):
        parse_params("closeout", ["P1"])
    with pytest.raises(NotFound, match="no flow 'close'"):
        parse_params("close", [])


def test_an_idempotency_key_needs_a_deployment_run(make_workspace):
    from click.testing import CliRunner

    from lifecycle.cli.main import cli

    ws = make_workspace()
    args = ["--workspace", str(ws), "flow", "run", "closeout", "-p", "project=DEMO-1", "--key", "k"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2 and "use it with --deployment" in res.output

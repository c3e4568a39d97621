"""What crash recovery starts again: the decisions of ``lifecycle.services.recovery.plan`` on plain runs,
the recovery automation's shape, and ``pmo flow recover`` without a server.

The real thing — a worker killed with SIGKILL, its run marked Crashed by the heartbeat automation and
started again by the recovery automation — is ``tests/flows/test_chaos.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from lifecycle.errors import InvalidInput
from lifecycle.services.events import RECOVERY_AUTOMATION, recovery_automation
from lifecycle.services.recovery import RECOVER_FLOW, RunInfo, plan, recovery_key

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc)
MILESTONE = {"project": "P-1", "milestone": "M1"}


def run(n: int, state: str, *, key: str = "", params: dict[str, Any] | None = None, **kw: Any) -> RunInfo:
    values: dict[str, Any] = {
        "id": f"r{n}",
        "name": f"milestone-reached/P-1/M1#{n}",
        "flow": "milestone-reached",
        "deployment_id": "dep-milestone",
        "state": state,
        "created": T0 + timedelta(minutes=n),
        "parameters": MILESTONE if params is None else params,
        "key": key,
        "tags": ("pmo",),
        **kw,
    }
    return RunInfo(**values)


def test_a_crashed_run_alone_is_started_again_with_a_derived_key():
    [d] = plan([run(1, "CRASHED", key="trigger-abc", message="no heartbeat for 90 s")])
    assert (d.action, d.key, d.attempt, d.crashed_run, d.project) == ("start", "trigger-abc/recover-1", 1, "r1", "P-1")
    assert "crashed: no heartbeat for 90 s" in d.reason
    assert d.parameters == MILESTONE


def test_a_run_without_a_key_is_named_by_its_id():
    assert recovery_key(run(7, "CRASHED"), 1) == "run:r7/recover-1"


def test_each_attempt_counts_and_the_last_one_gives_up():
    first = run(1, "CRASHED", key="k")
    second = run(2, "CRASHED", key="k/recover-1")
    [d] = plan([first, second])
    assert (d.action, d.key, d.attempt, d.crashed_run) == ("start", "k/recover-2", 2, "r2")
    third = run(3, "CRASHED", key="k/recover-2")
    [d] = plan([first, second, third], max_attempts=2)
    assert d.action == "skip" and "gave up after 2" in d.reason


def test_two_recoveries_at_once_derive_the_same_key():
    runs = [run(1, "COMPLETED", end=T0 + timedelta(minutes=1)), run(2, "CRASHED", key="k")]
    assert plan(runs) == plan(list(reversed(runs)))
    assert plan(runs)[0].key == "k/recover-1"


def test_a_later_or_concurrent_run_that_completed_or_still_runs_wins():
    crashed = run(2, "CRASHED", key="k")
    # a duplicate started earlier but finished after the crashed run began: the work is done
    finished = run(1, "COMPLETED", end=T0 + timedelta(minutes=3))
    [d] = plan([crashed, finished])
    assert d.action == "skip" and "r1" in d.reason and "completed after it" in d.reason
    # one completed before the crashed run was started does not count
    [d] = plan([crashed, run(1, "COMPLETED", end=T0 + timedelta(minutes=1, seconds=30))])
    assert d.action == "start"
    for state in ("SCHEDULED", "PENDING", "RUNNING"):
        [d] = plan([crashed, run(3, state)])
        assert d.action == "skip" and state.lower() in d.reason
    [d] = plan([crashed, run(3, "FAILED")])
    assert d.action == "skip" and "ended failed" in d.reason


def test_subjects_are_separate_and_only_tagged_deployment_runs_count():
    other = {"project": "P-2", "milestone": "M1"}
    runs = [
        run(1, "CRASHED", key="a"),
        run(2, "COMPLETED", params=other, end=T0 + timedelta(minutes=2)),
        run(3, "CRASHED", key="b", params=other),
        run(4, "CRASHED", deployment_id=""),  # not a deployment run
        run(5, "CRASHED", tags=("other",)),  # not ours
        run(6, "CRASHED", flow=RECOVER_FLOW, params={}),  # the recovery itself
    ]
    decisions = plan(runs)
    assert [(d.project, d.action, d.key) for d in decisions] == [
        ("P-1", "start", "a/recover-1"),
        ("P-2", "start", "b/recover-1"),
    ]
    assert plan([run(1, "COMPLETED"), run(2, "FAILED")]) == []
    with pytest.raises(InvalidInput, match="at least 1"):
        plan([], max_attempts=0)


def test_the_recovery_automation_starts_the_recover_deployment_on_crashed_pmo_runs():
    from prefect.events.schemas.automations import AutomationCore

    spec = recovery_automation("3f1e2d4c-0000-4000-8000-000000000001")
    automation = AutomationCore.model_validate(spec)
    assert automation.name == RECOVERY_AUTOMATION
    assert automation.trigger.expect == {"prefect.flow-run.Crashed"}  # type: ignore[union-attr]
    [action] = automation.actions
    assert action.type == "run-deployment" and str(action.deployment_id).endswith("0001")  # type: ignore[union-attr]


def test_flow_recover_needs_a_server_and_once_admins_exist_an_admin(make_workspace, monkeypatch):
    from click.testing import CliRunner

    from lifecycle.cli.main import cli
    from lifecycle.services import identity
    from tests.flows.conftest import open_ctx

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    ws = make_workspace()

    def recover(*args: str) -> Any:
        return CliRunner().invoke(cli, ["--workspace", str(ws), "flow", "recover", *args])

    res = recover()
    assert res.exit_code == 2 and "set PREFECT_API_URL" in res.output
    res = recover("--max-attempts", "0")
    assert res.exit_code == 2 and "--max-attempts" in res.output
    with open_ctx(ws) as ctx:
        identity.create_user(ctx, email="dev@supplier.example", name="Dev One")
        identity.create_user(ctx, email="ann@supplier.example", name="Ann Admin", global_roles=["pmo_admin"])
    monkeypatch.setenv("PMO_USER", "dev@supplier.example")
    refused = recover()
    assert refused.exit_code == 1 and "may not change settings" in refused.output
    assert "set PREFECT_API_URL" in recover("--dry-run").output  # asking what would be started is open
    monkeypatch.setenv("PMO_USER", "ann@supplier.example")
    assert "set PREFECT_API_URL" in recover().output

"""The flows run in process on Prefect's embedded (ephemeral) API, as `pmo flow run` does.

One Prefect home per test process (the first run starts Prefect's temporary API: seconds, once).
Retry delays are cut to 0.1 s so a refused e-mail is retried quickly.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from lifecycle.domain.model import Lesson, replace
from lifecycle.services.milestones import complete_milestone
from lifecycle.services.projects import update_project, upsert
from tests.flows.conftest import open_ctx, sample_project, today_env

TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="session")
def embedded(prefect_home: Path) -> Iterator[Path]:
    """Prefect's environment for this process, set before Prefect is first imported."""
    saved = {k: os.environ.get(k) for k in ("PREFECT_HOME", "PMO_FLOW_RETRY_DELAYS", "PREFECT_API_URL")}
    os.environ["PREFECT_HOME"] = str(prefect_home)
    os.environ["PMO_FLOW_RETRY_DELAYS"] = "0.1,0.1,0.1"
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.pop("PREFECT_API_URL", None)
    os.environ["PREFECT_LOGGING_LEVEL"] = os.environ.get("PREFECT_LOGGING_LEVEL", "WARNING")
    try:
        yield prefect_home
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def run(embedded: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """run(workspace, flow, **params): the flow in process, as `pmo flow run` runs it."""
    today_env(monkeypatch)

    def go(ws: Path, name: str, **params: Any) -> Any:
        from lifecycle.cli.flows import run_flow
        from lifecycle.services.context import open_workspace

        # run_flow exports both for the flow's tasks; monkeypatch restores them after the test
        monkeypatch.setenv("PMO_WORKSPACE", str(ws))
        monkeypatch.setenv("PMO_RULES", str(open_workspace(str(ws)).rules_dir))
        start = time.perf_counter()
        try:
            return run_flow(open_workspace(str(ws)), name, params)
        finally:
            TIMINGS.setdefault(name, time.perf_counter() - start)

    return go


def _m1_done(ws: Path) -> Path:
    """The workspace ``ws`` with milestone M1 of the sample project marked done."""
    ctx = open_ctx(ws)
    try:
        complete_milestone(ctx, "DEMO-1", "M1")
    finally:
        ctx.close()
    return ws


def _pdf_of(message: Any) -> bytes:
    part = next(p for p in message.walk() if p.get_filename())
    return bytes(part.get_payload(decode=True))


def test_milestone_reached_sends_the_certificate_once(make_workspace, inbox, hooks, run):
    ws = make_workspace(smtp=inbox.settings(), webhook={"url": hooks.url})
    ctx = open_ctx(ws)
    try:
        complete_milestone(ctx, "DEMO-1", "M1")
    finally:
        ctx.close()
    first_start = time.perf_counter()
    result = run(ws, "milestone_reached", project="DEMO-1", milestone="M1")
    first = time.perf_counter() - first_start
    assert result["failed"] == [] and len(result["checks"]) == 10
    assert result["acceptance"] == "sent" and result["status_report"] == "SR-M1"
    doc = result["document"]
    assert doc["number"] == "DEMO-1-ACC-M1-1" and Path(doc["path"]).is_file()
    assert len(inbox.messages) == 1
    msg = inbox.messages[0].message
    assert msg["To"] == "Rob Rep <rob@northwind.example>" and "DEMO-1-ACC-M1-1" in msg["Subject"]
    pdf = _pdf_of(msg)
    assert hashlib.sha256(pdf).hexdigest() == doc["sha256"] and pdf.startswith(b"%PDF")
    assert [b["event"] for b in hooks.bodies] == ["milestone.reached"]

    ctx = open_ctx(ws)
    try:
        p = ctx.store.get("DEMO-1")
        assert len(p.quality_checks) == 10 and all(c.automated for c in p.quality_checks)
        assert [r.id for r in p.status_reports] == ["SR-M1"]
        assert [d.number for d in ctx.store.documents("DEMO-1")] == ["DEMO-1-ACC-M1-1"]
        version, audit = p.version, len(ctx.store.audit("DEMO-1"))
    finally:
        ctx.close()

    # the same flow again: nothing new anywhere
    again_start = time.perf_counter()
    again = run(ws, "milestone_reached", project="DEMO-1", milestone="M1")
    TIMINGS["milestone_reached (repeat, warm)"] = time.perf_counter() - again_start
    TIMINGS["milestone_reached (first in process)"] = first
    assert again["delivery"]["sent_now"] is False and again["document"]["issued_now"] is False
    assert len(inbox.messages) == 1 and len(hooks.bodies) == 1
    ctx = open_ctx(ws)
    try:
        p = ctx.store.get("DEMO-1")
        assert p.version == version and len(ctx.store.audit("DEMO-1")) == audit
        assert len(ctx.store.documents("DEMO-1")) == 1
    finally:
        ctx.close()


def test_a_refused_email_is_retried_by_the_flow(make_workspace, inbox, run):
    ws = _m1_done(make_workspace(smtp=inbox.settings()))
    inbox.refuse = 2
    result = run(ws, "milestone_reached", project="DEMO-1", milestone="M1")
    assert result["delivery"]["status"] == "sent" and result["delivery"]["attempts"] == 3
    assert inbox.refused == 2 and len(inbox.messages) == 1
    # the retries are visible in the flow run: the send-document task ran three times
    send = _latest_task_run("send-document")
    assert send.run_count == 3 and send.state is not None and send.state.is_completed()


def _latest_task_run(prefix: str) -> Any:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName
    from prefect.client.schemas.sorting import TaskRunSort

    async def read() -> Any:
        # task run states reach the API through Prefect's event pipeline, a moment after the flow
        # returns: read until the run's final state has arrived (at most about 15 s)
        async with get_client() as client:
            for _ in range(60):
                runs = await client.read_task_runs(
                    task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_=prefix)),
                    sort=TaskRunSort.EXPECTED_START_TIME_DESC,
                    limit=1,
                )
                if runs and runs[0].state is not None and runs[0].state.is_final():
                    return runs[0]
                await asyncio.sleep(0.25)
            return runs[0] if runs else None

    return asyncio.run(read())


def test_a_failure_after_all_retries_fails_the_flow_and_a_rerun_completes(make_workspace, inbox, run):
    from lifecycle.errors import DeliveryError

    ws = _m1_done(make_workspace(smtp=inbox.settings()))
    inbox.refuse = 4  # first attempt and three retries
    with pytest.raises(DeliveryError, match="451"):
        run(ws, "milestone_reached", project="DEMO-1", milestone="M1")
    assert inbox.messages == []
    result = run(ws, "milestone_reached", project="DEMO-1", milestone="M1")
    assert result["delivery"]["sent_now"] and result["delivery"]["attempts"] == 5
    assert result["document"]["issued_now"] is False  # the certificate of the failed run is sent
    assert len(inbox.messages) == 1


def test_a_permanent_refusal_is_not_retried(make_workspace, inbox, run):
    """A 550 is tried once: the run reports the e-mail as failed (the outbox row says so and `pmo outbox
    resend` decides), and the task is not retried."""
    ws = _m1_done(make_workspace(smtp=inbox.settings()))
    inbox.reject = 1  # 550: retrying cannot help
    result = run(ws, "milestone_reached", project="DEMO-1", milestone="M1")
    assert result["delivery"]["status"] == "failed" and "550" in result["delivery"]["reason"]
    assert inbox.refused == 1 and inbox.messages == []
    send = _latest_task_run("send-document")
    assert send.run_count == 1


def test_failed_checks_withhold_the_certificate(make_workspace, inbox, tmp_path, run):
    p = sample_project(tmp_path / "files")
    p = replace(p, deliverables=(p.deliverables[0], replace(p.deliverables[1], defects_open=3)))
    ws = make_workspace(smtp=inbox.settings(), project=p)
    ctx = open_ctx(ws)
    try:
        complete_milestone(ctx, "DEMO-1", "M1")
    finally:
        ctx.close()
    result = run(ws, "milestone_reached", project="DEMO-1", milestone="M1")
    assert result["failed"] == ["QC-D2-QS-DEF"] and result["acceptance"].startswith("withheld")
    assert result["document"] is None and inbox.messages == []
    ctx = open_ctx(ws)
    try:
        actions = ctx.store.get("DEMO-1").improvement_actions
        assert [(a.id, a.status) for a in actions] == [("IA-D2-QS-DEF", "open")]
    finally:
        ctx.close()


def test_a_milestone_not_done_is_refused(make_workspace, run):
    from lifecycle.errors import InvalidInput

    ws = make_workspace()
    with pytest.raises(InvalidInput, match="not done"):
        run(ws, "milestone_reached", project="DEMO-1", milestone="M1")


def test_gate_review_refuses_then_advances_and_tells_pm_and_sponsor(make_workspace, inbox, hooks, tmp_path, run):
    ws = make_workspace(
        smtp=inbox.settings(),
        webhook={"url": hooks.url},
        project=replace(sample_project(tmp_path / "files"), phase="control"),
    )
    refused = run(ws, "gate_review", project="DEMO-1", to_phase="closure")
    assert refused["decision"] == "no_go" and not refused["advanced"] and refused["blocking"] == ["T-LESSONS"]
    assert len(inbox.messages) == 1
    msg = inbox.messages[0].message
    assert sorted(inbox.messages[0].rcpt_tos) == ["dana@northwind.example", "pat@supplier.example"]
    assert refused["document"]["number"] in msg["Subject"]
    again = run(ws, "gate_review", project="DEMO-1", to_phase="closure")
    assert again["review"] == refused["review"] and len(inbox.messages) == 1  # nothing changed, nothing new

    ctx = open_ctx(ws)
    try:
        update_project(
            ctx,
            "DEMO-1",
            lambda p: upsert(p, "lessons", Lesson(id="L1", title="Order scanners early")),
            action="lesson.added",
            entity="lessons",
            entity_id="L1",
        )
    finally:
        ctx.close()
    moved = run(ws, "gate_review", project="DEMO-1", to_phase="closure")
    assert moved["decision"] == "go" and moved["advanced"] and moved["review"] != refused["review"]
    assert len(inbox.messages) == 2
    retried = run(ws, "gate_review", project="DEMO-1", to_phase="closure")
    assert retried["review"] == moved["review"] and len(inbox.messages) == 2
    assert [b["payload"]["decision"] for b in hooks.bodies] == ["no_go", "go"]
    ctx = open_ctx(ws)
    try:
        assert ctx.store.get("DEMO-1").phase == "closure"
        assert len(ctx.store.records("DEMO-1", "gate_review")) == 2
    finally:
        ctx.close()


def test_closeout_sends_documents_and_closes_when_approved(make_workspace, inbox, tmp_path, run):
    from lifecycle.services import gates, identity

    ws = make_workspace(smtp=inbox.settings(), project=replace(sample_project(tmp_path / "files"), phase="closure"))
    blocked = run(ws, "closeout", project="DEMO-1")
    assert blocked["closed"] is False and "approval" in blocked["reason"]
    kinds = sorted(d["kind"] for d in blocked["documents"])
    assert kinds == ["final_acceptance", "handover"] and len(inbox.messages) == 2
    assert {m.rcpt_tos[0] for m in inbox.messages} == {"rob@northwind.example"}
    assert run(ws, "closeout", project="DEMO-1")["gate"]["review"] == blocked["gate"]["review"]  # nothing new
    ctx = open_ctx(ws)
    try:  # each steering member approves as themself
        identity.create_user(ctx, email="dana@northwind.example", name="Dana Sponsor")
        ctx.principal = identity.principal_from_env(ctx, "dana@northwind.example")
        gates.approve(ctx, "DEMO-1", role="steering")
    finally:
        ctx.close()
    one_vote = run(ws, "closeout", project="DEMO-1")  # a new vote is a new review, still blocked
    assert not one_vote["closed"] and one_vote["gate"]["review"] != blocked["gate"]["review"]
    ctx = open_ctx(ws)
    try:
        identity.create_user(ctx, email="pat@supplier.example", name="Pat Manager")
        ctx.principal = identity.principal_from_env(ctx, "pat@supplier.example")
        gates.approve(ctx, "DEMO-1", role="steering")
    finally:
        ctx.close()
    closed = run(ws, "closeout", project="DEMO-1")
    assert closed["closed"] is True
    assert len(inbox.messages) == 2  # same project data: the same documents, already sent
    assert run(ws, "closeout", project="DEMO-1")["note"] == "already closed"


def test_closeout_blocked_names_an_erroring_warning_rule(make_workspace, hooks, inbox, tmp_path, test_pack, run):
    """A warning rule whose evaluation errors blocks the close (no-go) and the notification names it."""
    from tests.flows.test_gate_review_service import erroring_pack

    ws = make_workspace(
        smtp=inbox.settings(),
        webhook={"url": hooks.url},
        project=replace(sample_project(tmp_path / "files"), phase="closure"),
    )
    settings = yaml.safe_load((ws / "settings.yaml").read_text(encoding="utf-8"))
    settings["rules"] = str(erroring_pack(test_pack, tmp_path / "erroring-pack"))
    (ws / "settings.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    result = run(ws, "closeout", project="DEMO-1")
    assert result["closed"] is False and result["gate"]["decision"] == "no_go"
    assert result["gate"]["blocking"] == ["W-RATIO"]
    blocked = [b for b in hooks.bodies if b["event"] == "closeout.blocked"]
    assert len(blocked) == 1 and blocked[0]["payload"]["reason"].startswith("W-RATIO")
    assert "W-RATIO" in blocked[0]["text"]


def test_portfolio_monitor_and_the_cli(make_workspace, hooks, embedded, monkeypatch, test_pack):
    from lifecycle.cli.main import cli

    today_env(monkeypatch)
    ws = make_workspace(webhook={"url": hooks.url})
    monkeypatch.setenv("PMO_WORKSPACE", str(ws))
    monkeypatch.setenv("PMO_RULES", str(test_pack))
    runner = CliRunner()
    listed = runner.invoke(cli, ["flow", "list"])
    assert listed.exit_code == 0, listed.output
    assert "mode: embedded" in listed.output and "milestone_reached" in listed.output
    assert "on event pmo.milestone.completed" in listed.output
    res = runner.invoke(cli, ["flow", "run", "portfolio_monitor"])
    assert res.exit_code == 0, res.output
    assert "DEMO-1 execution: red (5 alert(s))" in res.output
    assert len(hooks.bodies) == 5
    res = runner.invoke(cli, ["flow", "run", "quality-checks", "-p", "project=DEMO-1", "-p", "deliverables=D1"])
    assert res.exit_code == 0, res.output
    assert "DEMO-1: 5 quality check(s), 0 failed" in res.output and "✓ D1 QS-FILE" in res.output
    bad = runner.invoke(cli, ["flow", "run", "quality_checks", "-p", "projet=DEMO-1"])
    assert bad.exit_code == 2 and "has no parameter 'projet'" in bad.output
    missing = runner.invoke(cli, ["flow", "run", "milestone_reached", "-p", "project=DEMO-1", "-p", "milestone=M1"])
    assert missing.exit_code == 2 and "not done" in missing.output
    unknown = runner.invoke(cli, ["flow", "run", "nope"])
    assert unknown.exit_code == 2 and "no flow 'nope'" in unknown.output


def test_report_timings(capsys):
    """Not a check: prints what the embedded runs cost in this process (see README)."""
    with capsys.disabled():
        for name, seconds in TIMINGS.items():
            print(f"\n  embedded {name}: {seconds:.2f} s", end="")


def _run_and_artifacts(flow: str) -> tuple[Any, list[Any]]:
    """The newest run of ``flow`` on this process's Prefect API, and its artifacts."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowFilter, FlowFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    async def read() -> tuple[Any, list[Any]]:
        async with get_client() as client:
            runs = await client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[flow])), sort=FlowRunSort.START_TIME_DESC, limit=1
            )
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[runs[0].id]))
            )
            return runs[0], found

    return asyncio.run(read())


def test_runs_are_named_tagged_and_publish_artifacts(make_workspace, inbox, tmp_path, run):
    ws = make_workspace(smtp=inbox.settings(), project=replace(sample_project(tmp_path / "files"), phase="control"))
    with open_ctx(ws) as ctx:
        complete_milestone(ctx, "DEMO-1", "M1")
    run(ws, "milestone_reached", project="DEMO-1", milestone="M1")
    flow_run, found = _run_and_artifacts("milestone-reached")
    assert flow_run.name == "milestone-reached/DEMO-1/M1"
    assert {"pmo", "project:DEMO-1", "milestone:M1"} <= set(flow_run.tags)
    by_key = {a.key: a for a in found}
    assert set(by_key) == {"quality-demo-1", "documents-demo-1"}
    quality = by_key["quality-demo-1"]
    assert quality.type == "table" and len(yaml.safe_load(str(quality.data))) == 10
    assert "DEMO\\-1\\-ACC\\-M1\\-1" in str(by_key["documents-demo-1"].data)

    run(ws, "gate_review", project="DEMO-1", to_phase="closure")
    flow_run, found = _run_and_artifacts("gate-review")
    assert flow_run.name == "gate-review/DEMO-1/gate-closure" and "gate:closure" in flow_run.tags
    gate = next(a for a in found if a.key == "gate-demo-1")
    assert gate.type == "markdown" and "**Decision:** no\\_go" in str(gate.data) and "T\\-LESSONS" in str(gate.data)


def test_a_worker_without_settings_reads_the_pushed_ones(make_workspace, inbox, tmp_path, test_pack, run, monkeypatch):
    """The first workspace pushes its settings; a second one (another machine: no settings.yaml, the
    shared database) sends the certificate with them; without them the run fails, naming what is missing."""
    from lifecycle.cli.main import cli
    from lifecycle.errors import ConfigError

    ws = make_workspace(smtp=inbox.settings())
    with open_ctx(ws) as ctx:
        complete_milestone(ctx, "DEMO-1", "M1")
    worker = tmp_path / "worker-machine"
    worker.mkdir()
    # the worker mounts the delivered files where its own settings say; it has no SMTP server of its own
    (worker / "settings.yaml").write_text(f"deliverables_dir: {tmp_path / 'files'}\n", encoding="utf-8")
    monkeypatch.setenv("PMO_DATABASE_URL", f"sqlite:///{ws / 'pmo.db'}")
    monkeypatch.setenv("PMO_RULES", str(test_pack))
    missing = "no SMTP server is configured on this worker, so DEMO-1 acceptance certificate M1 cannot"
    with pytest.raises(ConfigError, match=missing):
        run(worker, "milestone_reached", project="DEMO-1", milestone="M1")
    assert inbox.messages == []
    with open_ctx(ws) as ctx:
        assert ctx.store.documents("DEMO-1") == []  # refused before anything was issued

    runner = CliRunner()
    pushed = runner.invoke(cli, ["--workspace", str(ws), "settings", "push"])
    assert pushed.exit_code == 0, pushed.output
    assert "settings push 1 by flow-test: smtp, documents_dir, deliverables_dir, supplier" in pushed.output
    result = run(worker, "milestone_reached", project="DEMO-1", milestone="M1")
    assert result["acceptance"] == "sent" and len(inbox.messages) == 1
    assert Path(result["document"]["path"]).parent == ws / "documents" / "DEMO-1"  # the pushed store
    assert not (worker / "documents").exists()
    shown = runner.invoke(cli, ["--workspace", str(worker), "settings", "show"])
    assert shown.exit_code == 0 and "push 1" in shown.output and "smtp:" in shown.output, shown.output


def test_the_crash_automation_is_valid_for_the_server(embedded):
    """Prefect is imported only once this process's Prefect environment is set (the fixture)."""
    from prefect.events.schemas.automations import AutomationCore, Posture

    from lifecycle.services.events import CRASH_AUTOMATION, crash_automation

    automation = AutomationCore.model_validate(crash_automation())
    assert automation.name == CRASH_AUTOMATION and automation.trigger.posture == Posture.Proactive
    assert automation.trigger.within.total_seconds() == 90 and automation.trigger.for_each == {"prefect.resource.id"}
    assert [a.type for a in automation.actions] == ["change-flow-run-state"]
    assert automation.actions[0].state.value == "CRASHED"

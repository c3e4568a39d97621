"""Recovery of crashed flow runs (server mode): which runs to start again, and starting them once.

A run whose worker or machine died is marked Crashed — by its worker when only the flow process died,
or by the crash-detection automation when its heartbeats stop (:func:`lifecycle.services.events.crash_automation`).
This module decides which of them to run again and starts them; ``pmo flow recover`` and the
``recover-crashed-runs`` flow (started by the recovery automation on every ``prefect.flow-run.Crashed``
event) only call :func:`recover` / :func:`arecover`.

What :func:`plan` decides, from the flow runs the server knows (pure, no I/O):

* a *subject* is one deployment with one set of parameters (a project's milestone, a gate, a
  close-out); only runs of deployments tagged ``pmo`` count, never the recovery flow's own runs;
* a subject is recovered when its latest run is Crashed, no run of it completed after that run was
  created, and none is still scheduled, pending or running (that one is doing the work);
* attempt ``n`` of a subject starts with the idempotency key ``<root>/recover-<n>``, where ``root`` is
  the crashed run's key without an earlier ``/recover-k`` (``run:<id>`` for a run without a key); two
  recoveries at the same time derive the same key, so the server starts one run;
* after ``max_attempts`` recoveries of a subject it is reported and left alone.

Each restart is recorded before it is started: a ``flow_recovery`` record keyed by the derived key and
a ``flow.recovered`` audit event on the subject's project (who: the workspace's actor; why: the crashed
run and its state message). Running a flow again is safe: documents are issued once per subject and
e-mails go through the outbox, so nothing is issued or sent twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, cast

from lifecycle.domain import policy
from lifecycle.domain.model import AuditEvent
from lifecycle.errors import InvalidInput, LifecycleError
from lifecycle.services.context import Context
from lifecycle.services.events import prefect_environment
from lifecycle.storage.protocol import Record

__all__ = [
    "MAX_ATTEMPTS",
    "RECORD_KIND",
    "RECOVER_FLOW",
    "Decision",
    "RunInfo",
    "arecover",
    "plan",
    "recover",
    "recovery_key",
]

RECOVER_FLOW = "recover-crashed-runs"  # the recovery flow's own name: its runs are never recovered
RECORD_KIND = "flow_recovery"
TAG = "pmo"  # every deployment of prefect.yaml carries it
RECOVERY_TAG = "pmo-recovery"
MAX_ATTEMPTS = 3
ACTIVE = ("SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING")
_SUFFIX = re.compile(r"/recover-(\d+)$")

log = logging.getLogger("pmo.recovery")


@dataclass(frozen=True)
class RunInfo:
    """What recovery reads of a flow run (plain data, from the server's answer)."""

    id: str
    name: str
    flow: str
    deployment_id: str
    state: str  # the state type: COMPLETED, CRASHED, RUNNING ...
    created: datetime
    parameters: Mapping[str, Any] = field(default_factory=dict)
    key: str = ""  # the idempotency key
    end: datetime | None = None
    message: str = ""  # the state's message (why it crashed)
    tags: tuple[str, ...] = ()

    @property
    def subject(self) -> str:
        return f"{self.deployment_id} {json.dumps(dict(self.parameters), sort_keys=True, default=str)}"


@dataclass(frozen=True)
class Decision:
    """One subject with a crashed run: started again (``action`` ``start``) or left (``skip``) and why."""

    action: str
    flow: str
    deployment_id: str
    parameters: Mapping[str, Any]
    crashed_run: str
    crashed_name: str
    reason: str
    key: str = ""
    attempt: int = 0
    new_run: str = ""

    @property
    def project(self) -> str:
        return str(self.parameters.get("project") or "")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "parameters": dict(self.parameters), "project": self.project}


def recovery_key(run: RunInfo, attempt: int) -> str:
    """The idempotency key of recovery ``attempt`` of ``run``'s subject."""
    root = _SUFFIX.sub("", run.key) if run.key else f"run:{run.id}"
    return f"{root}/recover-{attempt}"


def _attempts(runs: Iterable[RunInfo]) -> int:
    return sum(1 for r in runs if _SUFFIX.search(r.key or ""))


def _about(run: RunInfo, action: str, reason: str, key: str = "", attempt: int = 0) -> Decision:
    return Decision(
        action, run.flow, run.deployment_id, dict(run.parameters), run.id, run.name, reason, key=key, attempt=attempt
    )


def _decide(runs: Sequence[RunInfo], max_attempts: int) -> Decision | None:
    """The decision for one subject's runs (oldest first); None when none of them crashed."""
    crashed = [r for r in runs if r.state == "CRASHED"]
    if not crashed:
        return None
    last = crashed[-1]
    active = [r for r in runs if r.state in ACTIVE]
    if active:
        return _about(last, "skip", f"run {active[-1].name} ({active[-1].id}) is {active[-1].state.lower()}")
    done = [r for r in runs if r.state == "COMPLETED" and (r.end or r.created) >= last.created]
    if done:
        return _about(last, "skip", f"run {done[-1].name} ({done[-1].id}) completed after it")
    if runs[-1] is not last:
        return _about(last, "skip", f"a later run {runs[-1].name} ended {runs[-1].state.lower()}")
    attempt = _attempts(runs) + 1
    if attempt > max_attempts:
        return _about(last, "skip", f"gave up after {max_attempts} recovery attempt(s)")
    why = f"run {last.name} ({last.id}) crashed" + (f": {last.message}" if last.message else "")
    return _about(last, "start", why, recovery_key(last, attempt), attempt)


def plan(runs: Iterable[RunInfo], *, max_attempts: int = MAX_ATTEMPTS) -> list[Decision]:
    """The decision for every subject with a crashed run among ``runs`` (see the module docstring)."""
    if max_attempts < 1:
        raise InvalidInput(f"max attempts must be at least 1, not {max_attempts}")
    subjects: dict[str, list[RunInfo]] = {}
    for run in runs:
        if run.deployment_id and TAG in run.tags and run.flow != RECOVER_FLOW:
            subjects.setdefault(run.subject, []).append(run)
    decisions = (_decide(sorted(group, key=lambda r: r.created), max_attempts) for group in subjects.values())
    return sorted((d for d in decisions if d is not None), key=lambda d: (d.flow, d.project, d.crashed_run))


# ------------------------------------------------------------------ the server
def _run_info(run: Any, flows: Mapping[Any, str]) -> RunInfo:
    state = run.state
    return RunInfo(
        id=str(run.id),
        name=run.name or "",
        flow=flows.get(run.flow_id, ""),
        deployment_id=str(run.deployment_id or ""),
        state=state.type.value if state is not None else "",
        created=run.created or run.expected_start_time,
        parameters=dict(run.parameters or {}),
        key=run.idempotency_key or "",
        end=run.end_time,
        message=(state.message or "") if state is not None else "",
        tags=tuple(run.tags or ()),
    )


async def _read_runs(client: Any, since: datetime) -> list[RunInfo]:
    """Flow runs of tagged deployments created since ``since`` (every page)."""
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterExpectedStartTime,
        FlowRunFilterTags,
    )

    flows = {f.id: f.name for f in await client.read_flows(limit=200)}
    wanted = FlowRunFilter(
        deployment_id=FlowRunFilterDeploymentId(is_null_=False),
        tags=FlowRunFilterTags(all_=[TAG]),
        expected_start_time=FlowRunFilterExpectedStartTime(after_=cast(Any, since)),
    )
    out: list[RunInfo] = []
    while True:
        page = await client.read_flow_runs(flow_run_filter=wanted, limit=200, offset=len(out))
        out.extend(_run_info(r, flows) for r in page)
        if len(page) < 200:
            return out


def _record_restart(ctx: Context, decision: Decision) -> bool:
    """The ``flow_recovery`` record and ``flow.recovered`` audit event, written before the run starts
    (once per derived key); False when the subject has no project here (logged only)."""
    code = decision.project
    if not code or not ctx.store.exists(code):
        return False
    if ctx.store.get_record(code, RECORD_KIND, decision.key) is not None:
        return True  # an earlier recovery with this key was recorded: its start is repeated, not re-audited
    data = {k: v for k, v in decision.to_dict().items() if k not in ("action", "new_run")}
    event = AuditEvent(code, "flow.recovered", ctx.actor, ctx.now(), "flow_run", decision.crashed_run, data)
    ctx.store.add_records(code, [Record(code, RECORD_KIND, decision.key, data)], [event])
    return True


async def _start(client: Any, decision: Decision) -> Decision:
    from uuid import UUID

    from prefect.deployments.flow_runs import arun_deployment

    run = await arun_deployment(
        name=UUID(decision.deployment_id),
        client=client,
        parameters=dict(decision.parameters),
        timeout=0,
        idempotency_key=decision.key,
        as_subflow=False,
        tags=[RECOVERY_TAG, f"recovers:{decision.crashed_run}"],
    )
    return Decision(**{**asdict(decision), "new_run": str(run.id)})


async def _carry_out(ctx: Context, client: Any, decision: Decision) -> Decision:
    audited = _record_restart(ctx, decision)
    started = await _start(client, decision)
    note = "" if audited else "; no project to audit"
    log.warning("recovery: %s started as %s (%s%s)", started.crashed_name, started.new_run, started.reason, note)
    return started


async def arecover(
    ctx: Context, *, max_attempts: int = MAX_ATTEMPTS, since: timedelta = timedelta(hours=24), dry_run: bool = False
) -> list[Decision]:
    """Start again every crashed run :func:`plan` picks (none with ``dry_run``); returns the decisions,
    each start with its new run's id. For callers already in an event loop (the recovery flow)."""
    if not ctx.workspace.runtime.server_mode:
        raise InvalidInput("recovery reads the runs of a Prefect server: set PREFECT_API_URL")
    prefect_environment(ctx.workspace)
    from prefect.client.orchestration import get_client

    try:
        async with get_client() as client:
            decisions = plan(await _read_runs(client, datetime.now(timezone.utc) - since), max_attempts=max_attempts)
            out = []
            for d in decisions:
                out.append(await _carry_out(ctx, client, d) if d.action == "start" and not dry_run else d)
                if out[-1].action != "start" or dry_run:
                    log.info("recovery: %s %s: %s", d.crashed_name, "would start" if dry_run else "left", d.reason)
            return out
    except LifecycleError:
        raise
    except Exception as exc:  # server down, wrong URL: say so instead of a traceback
        raise LifecycleError(f"cannot recover crashed runs: {exc}") from exc


def recover(
    ctx: Context, *, max_attempts: int = MAX_ATTEMPTS, since: timedelta = timedelta(hours=24), dry_run: bool = False
) -> list[Decision]:
    """:func:`arecover` from synchronous code (``pmo flow recover``): once the workspace has a pmo_admin
    account, only a pmo_admin starts runs again (anyone may ask with ``dry_run``). The recovery flow
    calls :func:`arecover` as every flow acts: as the workspace's actor."""
    if not dry_run and any(policy.PMO_ADMIN in u.global_roles and not u.disabled for u in ctx.store.list_users()):
        policy.require(ctx.principal, policy.CHANGE_SETTINGS)
    return asyncio.run(arecover(ctx, max_attempts=max_attempts, since=since, dry_run=dry_run))

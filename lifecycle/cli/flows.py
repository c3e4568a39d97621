"""``pmo flow list`` and ``pmo flow run NAME --param k=v``: the Prefect flows from the command line.

``flow list`` reads the flow table in :mod:`flows` and imports no Prefect. ``flow run`` runs a flow
in this process (or on the running ``pmo serve``'s flow runner, see below): in embedded mode (no
``PREFECT_API_URL``) Prefect starts a temporary API of its own, with its home inside the workspace
(``<workspace>/prefect``) and telemetry off; with a server
configured the run is recorded there. ``--deployment`` instead asks the server to run the flow's
deployment on a worker and returns at once (``--key`` makes a repeated start return the same run).
``--runs`` lists recent flow runs with their project, milestone or gate and state.
``flow crash-detection`` creates on the server the automation that marks runs whose worker died as
Crashed (their heartbeats stop; see :func:`lifecycle.services.events.crash_automation`) and the one
that starts the ``pmo-recover`` deployment on every crash; ``flow recover`` does that recovery now
(the decisions are :mod:`lifecycle.services.recovery`'s).

:func:`run_flow` is the one place that runs a flow for a command; other commands (the demo,
``pmo milestone done`` when asked to run the flow) call it rather than importing flows themselves.
While the workspace's ``pmo serve`` runs, it hands the run to the serve process's warm flow runner
(:mod:`lifecycle.services.flow_handoff`) and waits for the result, instead of importing Prefect and
starting its engine here; :func:`run_flow_here` is the in-process run both end in.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from flows import FLOWS, find_flow
from lifecycle.cli.output import emit_json, handle_errors, run_in_context, ws_from
from lifecycle.errors import InvalidInput, LifecycleError
from lifecycle.services import flow_handoff
from lifecycle.services.artifacts import run_subject
from lifecycle.services.events import (
    CRASH_AUTOMATION,
    HEARTBEAT_SECONDS,
    RECOVERY_AUTOMATION,
    RECOVERY_DEPLOYMENT,
    crash_automation,
    prefect_environment,
    recovery_automation,
    server_mode,
)
from lifecycle.services.recovery import MAX_ATTEMPTS, recover


def parse_params(name: str, raw: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs typed by the flow's parameter table; list parameters split on commas."""
    info = find_flow(name)
    specs = {p.name: p for p in info.params}
    out: dict[str, Any] = {}
    for item in raw:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise InvalidInput(f"--param '{item}' must look like KEY=VALUE")
        spec = specs.get(key)
        if spec is None:
            known = ", ".join(specs) or "none"
            raise InvalidInput(f"flow {info.name} has no parameter '{key}' (parameters: {known})")
        if spec.type == "list":
            out[key] = [v.strip() for v in value.split(",") if v.strip()]
        elif spec.type == "int":
            try:
                out[key] = int(value)
            except ValueError:
                raise InvalidInput(f"--param {key} must be a whole number, not '{value}'") from None
        else:
            out[key] = value
    missing = [p.name for p in info.params if p.required and p.name not in out]
    if missing:
        raise InvalidInput(f"flow {info.name} needs --param " + ", --param ".join(f"{m}=..." for m in missing))
    return out


def _prepare(workspace: Any) -> None:
    """Environment for Prefect and for the flow's tasks, before Prefect is imported."""
    prefect_environment(workspace)
    os.environ["PMO_WORKSPACE"] = str(Path(workspace.root).resolve())
    os.environ.setdefault("PMO_RULES", str(workspace.rules_dir))


def run_flow(workspace: Any, name: str, params: Mapping[str, Any]) -> Any:
    """Run flow ``name`` and return its result (its exception if it fails): on the warm flow runner of
    the workspace's running ``pmo serve`` when there is one (no Prefect imported here), else here."""
    find_flow(name)
    found = flow_handoff.find(workspace)
    if found is not None:
        return flow_handoff.run(found, name, params)
    return run_flow_here(workspace, name, params)


def run_flow_here(workspace: Any, name: str, params: Mapping[str, Any]) -> Any:
    """Run flow ``name`` in this process and return its result (its exception if it fails)."""
    info = find_flow(name)
    _prepare(workspace)
    fn = getattr(importlib.import_module(info.module), info.attr)
    return asyncio.run(fn(**dict(params)))


def import_flows(workspace: Any) -> None:
    """Import Prefect and every flow module now (the warm-up of ``pmo serve``'s flow runner)."""
    _prepare(workspace)
    for info in FLOWS.values():
        importlib.import_module(info.module)


def start_deployment(workspace: Any, name: str, params: Mapping[str, Any], key: str = "") -> dict[str, Any]:
    """Ask the configured server to run the flow's deployment; returns the new flow run's id and name.

    With ``key`` the run carries an idempotency key: the same command repeated (a script retrying after
    a timeout) returns the run the first one created instead of starting a second.
    """
    if not server_mode(workspace):
        raise InvalidInput("--deployment needs a Prefect server: set PREFECT_API_URL")
    info = find_flow(name)
    _prepare(workspace)
    # Prefect is imported only when a flow runs: it costs ~0.8 s, and the environment must be set first
    from prefect.deployments.flow_runs import arun_deployment

    idempotency = f"pmo:{info.deployment_ref}:{key}" if key else None
    run = asyncio.run(
        arun_deployment(name=info.deployment_ref, parameters=dict(params), timeout=0, idempotency_key=idempotency)
    )
    return {
        "flow_run": str(run.id),
        "name": run.name,
        "deployment": info.deployment_ref,
        "state": run.state.name if run.state else "",
    }


def _check_lines(key: str, result: Mapping[str, Any]) -> list[str]:
    checks = result.get("checks", [])
    failed = [c for c in checks if c.get("result") == "fail"]
    head = f"{result.get('project')}"
    if key == "milestone_reached":
        head += f" {result.get('milestone')} ({result.get('kind')})"
    lines = [f"{head}: {len(checks)} quality check(s), {len(failed)} failed"]
    for c in checks:
        mark = {"pass": "✓", "fail": "✗"}.get(str(c.get("result")), "~")
        lines.append(f"  {mark} {c.get('deliverable')} {c.get('standard')}: {c.get('evidence')}")
    if result.get("status_report"):
        lines.append(f"  status report {result['status_report']}")
    if result.get("acceptance"):
        lines.append(f"  acceptance certificate: {result['acceptance']}")
    return lines


def _gate_lines(key: str, result: Mapping[str, Any]) -> list[str]:
    lines = [
        f"{result.get('project')}: {result.get('from_phase')} → {result.get('to_phase')}: "
        f"{result.get('decision')}{', advanced' if result.get('advanced') else ', not advanced'} "
        f"(review {result.get('review')})"
    ]
    lines.extend(f"  ✗ {rid}" for rid in result.get("blocking", []))
    if result.get("approvals_missing"):
        lines.append(f"  approvals missing: {', '.join(result['approvals_missing'])}")
    return lines


def _closeout_lines(key: str, result: Mapping[str, Any]) -> list[str]:
    closed = "closed" if result.get("closed") else "not closed"
    return [f"{result.get('project')}: {closed}" + (f" ({result.get('reason')})" if result.get("reason") else "")]


def _monitor_lines(key: str, result: Mapping[str, Any]) -> list[str]:
    lines = []
    for p in result.get("projects", []):
        lines.append(f"{p['project']} {p['phase']}: {p['health']} ({len(p['alerts'])} alert(s))")
        lines.extend(f"  {a}" for a in p["alerts"])
    return lines or ["no active project"]


_SUMMARIES = {
    "milestone_reached": _check_lines,
    "quality_checks": _check_lines,
    "gate_review": _gate_lines,
    "closeout": _closeout_lines,
    "portfolio_monitor": _monitor_lines,
}


def _one_or_many(result: Mapping[str, Any], one: str, many: str) -> list[Mapping[str, Any]]:
    first = [result[one]] if isinstance(result.get(one), Mapping) else []
    return first + [d for d in result.get(many, []) if isinstance(d, Mapping)]


def _delivery_line(d: Mapping[str, Any]) -> str:
    if d.get("status") == "sent":
        how = "sent" if d.get("sent_now") else "already sent"
        return f"  {d.get('number')} {how} to {', '.join(d.get('to', []))}"
    word = {"failed": "refused", "uncertain": "may have been sent"}.get(str(d.get("status")), "not sent")
    return f"  {d.get('document')} {word}: {d.get('reason', '')}"


def summary_lines(name: str, result: Any) -> list[str]:
    """A few human lines about a flow's result (what `pmo flow run` prints)."""
    if not isinstance(result, Mapping):
        return [json.dumps(result, ensure_ascii=False, default=str)]
    key = name.replace("-", "_")
    summarise = _SUMMARIES.get(key)
    lines = summarise(key, result) if summarise else []
    lines += [f"  document {d.get('number')}: {d.get('path')}" for d in _one_or_many(result, "document", "documents")]
    lines += [_delivery_line(d) for d in _one_or_many(result, "delivery", "deliveries")]
    return lines or [json.dumps(result, ensure_ascii=False, default=str)]


@click.group("flow")
def flow_grp() -> None:
    """Run Prefect flows (embedded or on a server)."""


@flow_grp.command("list")
@click.option("--runs", is_flag=True, help="Also list recent flow runs (needs PREFECT_API_URL or an embedded home).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def flow_list(ctx: click.Context, runs: bool, as_json: bool) -> None:
    """List the flows, their parameters and deployments (and recent runs with --runs)."""
    ws = ws_from(ctx)
    rows: list[dict[str, Any]] = [
        {
            "name": key,
            "prefect_name": f.name,
            "deployment": f.deployment_ref,
            "parameters": [{"name": p.name, "type": p.type, "required": p.required} for p in f.params],
            "trigger": f.trigger,
            "schedule": f.schedule,
            "help": f.help,
        }
        for key, f in FLOWS.items()
    ]
    recent: list[dict[str, Any]] = []
    if runs:
        recent = _recent_runs(ws)
    if as_json:
        emit_json({"mode": "server" if server_mode(ws) else "embedded", "flows": rows, "runs": recent})
        return
    mode = f"server ({ws.runtime.prefect_api_url})" if server_mode(ws) else "embedded (no PREFECT_API_URL)"
    click.echo(f"mode: {mode}")
    for r in rows:
        params = " ".join(
            ("" if p["required"] else "[") + f"{p['name']}=…" + ("" if p["required"] else "]") for p in r["parameters"]
        )
        extra = (
            f"  on event {r['trigger']}" if r["trigger"] else f"  scheduled {r['schedule']}" if r["schedule"] else ""
        )
        click.echo(f"  {r['name']:<18} {params or '(no parameters)'}")
        click.echo(f"  {'':<18} {r['help']}")
        click.echo(f"  {'':<18} deployment {r['deployment']}{extra}")
    if recent:
        click.echo("recent runs:")
        click.echo(f"  {'started (UTC)':<20} {'flow':<18} {'project':<16} {'milestone/gate':<16} {'state':<10} run")
    for run in recent:
        click.echo(
            f"  {(run['start'] or 'not started')[:19].replace('T', ' '):<20} {run['flow']:<18} "
            f"{run['project'] or '-':<16} {run['milestone'] or run['gate'] or '-':<16} {run['state']:<10} "
            f"{run['name']} ({run['id']})"
        )


def _recent_runs(workspace: Any, limit: int = 20) -> list[dict[str, Any]]:
    _prepare(workspace)
    # lazy for the same reason as in start_deployment: Prefect only once its environment is set
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import FlowRunSort

    async def fetch() -> list[dict[str, Any]]:
        async with get_client() as client:
            found = await client.read_flow_runs(limit=limit, sort=FlowRunSort.START_TIME_DESC)
            names = {f.id: f.name for f in await client.read_flows(limit=200)}
            return [
                {
                    "id": str(r.id),
                    "flow": names.get(r.flow_id, ""),
                    "name": r.name,
                    **run_subject(r.tags, r.parameters),
                    "state": r.state.name if r.state else "",
                    "tags": sorted(r.tags),
                    "parameters": r.parameters,
                    "start": r.start_time.isoformat() if r.start_time else None,
                }
                for r in found
            ]

    try:
        return asyncio.run(fetch())
    except Exception as exc:  # server down, wrong URL: say so instead of a traceback
        raise LifecycleError(f"cannot read flow runs: {exc}") from exc


@flow_grp.command("crash-detection")
@click.option(
    "--within",
    type=click.IntRange(HEARTBEAT_SECONDS + 5, 3600),
    default=HEARTBEAT_SECONDS * 3,
    show_default=True,
    help="Seconds without a heartbeat after which a run is marked Crashed.",
)
@click.pass_context
@handle_errors
def flow_crash_detection(ctx: click.Context, within: int) -> None:
    """Server mode: create (or renew) the automations that mark runs whose worker died as Crashed and,
    once `prefect deploy --all` made the pmo-recover deployment, start crashed runs again."""
    ws = ws_from(ctx)
    if not server_mode(ws):
        raise InvalidInput("crash detection is set on a Prefect server: set PREFECT_API_URL")
    _prepare(ws)
    # lazy for the same reason as in start_deployment: Prefect only once its environment is set
    from prefect.client.orchestration import get_client
    from prefect.events.schemas.automations import AutomationCore

    async def renew(client: Any, spec: dict[str, Any]) -> str:
        for old in await client.read_automations_by_name(spec["name"]):
            await client.delete_automation(old.id)
        return str(await client.create_automation(AutomationCore.model_validate(spec)))

    async def create() -> tuple[str, str]:
        async with get_client() as client:
            made = await renew(client, crash_automation(within))
            try:
                deployment = await client.read_deployment_by_name(RECOVERY_DEPLOYMENT)
            except Exception:  # not deployed (yet): crash detection alone
                return made, ""
            return made, await renew(client, recovery_automation(str(deployment.id)))

    try:
        made, recovering = asyncio.run(create())
    except Exception as exc:  # server down, wrong URL: say so instead of a traceback
        raise LifecycleError(f"cannot create the automation: {exc}") from exc
    click.echo(f"automation '{CRASH_AUTOMATION}' ({made}): {within} s without a heartbeat → Crashed")
    if recovering:
        click.echo(f"automation '{RECOVERY_AUTOMATION}' ({recovering}): Crashed → {RECOVERY_DEPLOYMENT}")
    else:
        click.echo(f"no deployment {RECOVERY_DEPLOYMENT}: crashed runs are not started again automatically")
        click.echo("  deploy it (`prefect --no-prompt deploy --all`) and run this command again")


@flow_grp.command("recover")
@click.option(
    "--max-attempts",
    type=click.IntRange(1, 20),
    default=MAX_ATTEMPTS,
    show_default=True,
    help="Recoveries of one subject (project and milestone, gate ...) before it is left alone.",
)
@click.option(
    "--since",
    "since_hours",
    type=click.FloatRange(0.1, 24 * 30),
    default=24.0,
    show_default=True,
    help="Hours back to look for crashed runs.",
)
@click.option("--dry-run", is_flag=True, help="Say what would be started again; start nothing.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def flow_recover(ctx: click.Context, max_attempts: int, since_hours: float, dry_run: bool, as_json: bool) -> None:
    """Server mode: start again the crashed runs whose milestone, gate or project has no later run.

    Each restart carries the key <original key>/recover-<n> and is recorded in the project's audit
    trail; the recovery automation (`pmo flow crash-detection`) does the same on every crash.
    """
    options = {"max_attempts": max_attempts, "since": timedelta(hours=since_hours), "dry_run": dry_run}
    decisions = run_in_context(ctx, lambda c: recover(c, **options))
    if as_json:
        emit_json([d.to_dict() for d in decisions])
        return
    if not decisions:
        click.echo("no crashed run to recover")
    for d in decisions:
        if d.action == "start":
            verb = "would start" if dry_run else f"started {d.new_run} for"
            click.echo(f"{verb} {d.crashed_name} (attempt {d.attempt}, key {d.key}): {d.reason}")
        else:
            click.echo(f"left {d.crashed_name}: {d.reason}")


@flow_grp.command("run")
@click.argument("name")
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A flow parameter (repeat); lists are comma separated.",
)
@click.option("--deployment", is_flag=True, help="Run the flow's deployment on a worker (server mode).")
@click.option(
    "--key",
    default="",
    metavar="KEY",
    help="With --deployment: an idempotency key; repeating the command with it returns the same run.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def flow_run(ctx: click.Context, name: str, params: tuple[str, ...], deployment: bool, key: str, as_json: bool) -> None:
    """Run flow NAME now, in this process (or on a worker with --deployment).

    Example: pmo flow run milestone_reached -p project=HZ-MES-2026 -p milestone=M2
    """
    values = parse_params(name, params)
    if key and not deployment:
        raise InvalidInput("--key names a deployment run: use it with --deployment")
    ws = ws_from(ctx)
    if deployment:
        started = start_deployment(ws, name, values, key)
        if as_json:
            emit_json(started)
        else:
            click.echo(f"started {started['deployment']} as flow run {started['name']} ({started['flow_run']})")
        return
    result = run_flow(ws, name, values)
    if as_json:
        emit_json(result)
        return
    for line in summary_lines(name, result):
        click.echo(line)

"""Prefect flows of pmo-lifecycle: thin orchestration over the lifecycle services.

Each flow composes services (every step a task, delivery steps retried); the business logic lives in
:mod:`lifecycle.services` and is tested without Prefect. This package's ``__init__`` imports nothing
heavy: :data:`FLOWS` describes every flow (module, parameters, deployment) so ``pmo flow list`` and
``pmo --help`` never import Prefect; the flow modules themselves import it.
"""

from __future__ import annotations

from dataclasses import dataclass

from lifecycle.errors import NotFound


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # str | list | int
    required: bool = True
    help: str = ""


@dataclass(frozen=True)
class FlowInfo:
    name: str  # the Prefect flow name
    module: str
    attr: str
    deployment: str
    help: str
    params: tuple[Param, ...] = ()
    trigger: str = ""
    schedule: str = ""

    @property
    def deployment_ref(self) -> str:
        """``flow-name/deployment-name``, as ``prefect deployment run`` wants it."""
        return f"{self.name}/{self.deployment}"


FLOWS: dict[str, FlowInfo] = {
    "milestone_reached": FlowInfo(
        "milestone-reached",
        "flows.milestone",
        "milestone_reached",
        "pmo-milestone",
        "Quality checks of a reached milestone, status report, and for an acceptance milestone whose checks "
        "pass the acceptance certificate sent to the client representative.",
        (Param("project", "str", help="Project code"), Param("milestone", "str", help="Milestone id")),
        trigger="pmo.milestone.completed",
    ),
    "gate_review": FlowInfo(
        "gate-review",
        "flows.gate",
        "gate_review",
        "pmo-gate-review",
        "Evaluate a gate, issue the gate review report, advance when allowed, notify the PM and sponsor.",
        (
            Param("project", "str", help="Project code"),
            Param("to_phase", "str", required=False, help="Target phase (default: the next one)"),
        ),
    ),
    "quality_checks": FlowInfo(
        "quality-checks",
        "flows.quality",
        "quality_checks",
        "pmo-quality",
        "Run the rule pack's quality standards on a project's deliverables and record the results.",
        (
            Param("project", "str", help="Project code"),
            Param("deliverables", "list", required=False, help="Deliverable ids, comma separated (default: all)"),
        ),
    ),
    "closeout": FlowInfo(
        "closeout",
        "flows.closeout",
        "closeout",
        "pmo-closeout",
        "Final acceptance report and handover package, sent to the client; close the project when the gate allows.",
        (Param("project", "str", help="Project code"),),
    ),
    "portfolio_monitor": FlowInfo(
        "portfolio-monitor",
        "flows.monitor",
        "portfolio_monitor",
        "pmo-monitor",
        "Health of every active project: alerts recorded, owners notified.",
        (),
        schedule="weekdays 08:00 Asia/Shanghai",
    ),
    "recover_crashed_runs": FlowInfo(
        "recover-crashed-runs",
        "flows.recover",
        "recover_crashed_runs",
        "pmo-recover",
        "Start again the crashed runs whose milestone, gate or project has no later run (server mode).",
        (Param("max_attempts", "int", required=False, help="Recoveries of one subject before it is left (3)"),),
        trigger="prefect.flow-run.Crashed",
    ),
}


def find_flow(name: str) -> FlowInfo:
    """The flow called ``name`` (``milestone_reached`` or its Prefect name ``milestone-reached``)."""
    key = name.replace("-", "_")
    if key in FLOWS:
        return FLOWS[key]
    raise NotFound(f"no flow '{name}' (flows: {', '.join(FLOWS)})")

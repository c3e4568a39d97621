"""Entry point of ``pmo``: the top-level group and its lazily imported sub-commands.

Each entry of ``COMMANDS`` maps a command name to ``module:attribute`` and a one-line help text, so
``pmo --help`` prints the list without importing any command module.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

# name -> (module:attribute, short help). Keep the help here so --help imports nothing.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("lifecycle.cli.projects:init_cmd", "Create a workspace and its database."),
    "apply": ("lifecycle.cli.projects:apply_cmd", "Create or update projects from project files."),
    "export": ("lifecycle.cli.projects:export_cmd", "Write a project file, iCalendar, MS Project XML or Excel."),
    "calendar": ("lifecycle.cli.calendar:calendar_grp", "Show a project's working calendar and statutory holidays."),
    "list": ("lifecycle.cli.projects:list_cmd", "List projects with phase and progress."),
    "show": ("lifecycle.cli.projects:show_cmd", "One-screen summary of a project."),
    "facts": ("lifecycle.cli.facts:facts_cmd", "Print the facts document gate rules see (JSON)."),
    "schema": ("lifecycle.cli.projects:schema_cmd", "Print the JSON Schema of project files or gate facts."),
    "task": ("lifecycle.cli.record:task_grp", "Record task progress and actual dates."),
    "risk": ("lifecycle.cli.record:risk_grp", "Add or update risks."),
    "issue": ("lifecycle.cli.record:issue_grp", "Raise or resolve issues."),
    "milestone": ("lifecycle.cli.record:milestone_grp", "Mark milestones done."),
    "deliverable": ("lifecycle.cli.criteria:deliverable_grp", "Hand in deliverables."),
    "criterion": ("lifecycle.cli.criteria:criterion_grp", "Record the results of acceptance criteria."),
    "cost": ("lifecycle.cli.record:cost_grp", "Book actual costs."),
    "status-report": ("lifecycle.cli.record:status_grp", "Record a status report."),
    "feedback": ("lifecycle.cli.record:feedback_grp", "Record client feedback and satisfaction surveys."),
    "change": ("lifecycle.cli.record:change_grp", "Raise and decide change requests."),
    "gate": ("lifecycle.cli.gates:gate_grp", "Check a gate, approve it, waive a rule."),
    "advance": ("lifecycle.cli.gates:advance_cmd", "Move a project to another phase through its gate."),
    "audit": ("lifecycle.cli.gates:audit_grp", "Show or verify the audit trail."),
    "rules": ("lifecycle.cli.rules:rules_grp", "Lint, test and diff PMO rule packs."),
    "docs": ("lifecycle.cli.docs:docs_grp", "Generate, list and verify client documents (PDF)."),
    "outbox": ("lifecycle.cli.outbox:outbox_grp", "List document e-mails and their state; resend one by decision."),
    "report": ("lifecycle.cli.analytics:report_cmd", "Schedule, earned value, resources and risk report."),
    "baseline": ("lifecycle.cli.analytics:baseline_grp", "Save and list schedule and cost baselines."),
    "import": ("lifecycle.cli.analytics:import_grp", "Import Microsoft Project XML, CSV or Excel."),
    "schedule": ("lifecycle.cli.schedule:schedule_grp", "Level resources; simulate the schedule's risk."),
    "flow": ("lifecycle.cli.flows:flow_grp", "Run Prefect flows (embedded or on a server)."),
    "settings": ("lifecycle.cli.settings:settings_grp", "Share flow settings with every worker (database)."),
    "demo": ("lifecycle.cli.demo:demo_cmd", "Walk a sample project through its whole lifecycle."),
    "serve": ("lifecycle.cli.serve:serve_cmd", "Serve the web pages and the client acceptance portal."),
    "user": ("lifecycle.cli.users:user_grp", "Add, list and disable users; print the permission table."),
    "login": ("lifecycle.cli.users:login_cmd", "Sign in: later commands act as you."),
    "logout": ("lifecycle.cli.users:logout_cmd", "Sign out of this workspace."),
    "whoami": ("lifecycle.cli.users:whoami_cmd", "Who the CLI acts as, and how they signed in."),
    "completion": ("lifecycle.cli.completion:completion_cmd", "Shell completion for bash, zsh or fish."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, attr = entry[0].split(":")
        try:
            cmd: click.Command = getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                return click.Command(
                    cmd_name,
                    help=entry[1] + " (not available in this build)",
                    short_help=entry[1],
                    callback=_unavailable(cmd_name),
                )
            raise
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing uses the help texts above, so `pmo --help` imports no command module.
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in COMMANDS.items()])


def _unavailable(name: str) -> Any:
    def run() -> None:
        raise click.ClickException(f"'{name}' is not available in this build")

    return run


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option(
    "--workspace",
    "-w",
    envvar="PMO_WORKSPACE",
    metavar="DIR",
    help="Workspace folder (default: nearest .pmo folder, else ./.pmo).",
)
@click.option("--rules", metavar="DIR", help="Rule pack folder (default: the workspace's or the shipped pack).")
@click.version_option(package_name="pmo-lifecycle", prog_name="pmo")
@click.pass_context
def cli(ctx: click.Context, workspace: str | None, rules: str | None) -> None:
    """pmo: client projects driven through PMO-defined phase gates.

    Start with `pmo init`, then `pmo apply project.yaml`, `pmo show CODE`, `pmo gate check CODE`.
    Exit codes: 0 ok, 1 refused by the engine (gate no-go, conflict), 2 user error.
    """
    ctx.ensure_object(dict)
    ctx.obj["workspace"] = workspace
    ctx.obj["rules"] = rules


def main() -> None:
    cli(prog_name="pmo")


if __name__ == "__main__":
    main()

"""``pmo report | baseline | import``: schedule, earned value, resources and risks; baselines; imports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
from rich.table import Table

from lifecycle.cli.output import console, emit_json, esc, handle_errors, money, run_in_context
from lifecycle.services import spreadsheets
from lifecycle.services.analytics import (
    import_csv,
    import_msproject,
    list_baselines,
    report,
    risk_band,
    save_baseline,
)

_MAX_ROWS = 80


def _money(value: float, currency: str) -> str:
    return money(value, currency, decimals=0)


def _chains(sched: dict[str, Any], most: int = 12) -> str:
    """The critical tasks chain by chain: tasks joined by links with arrows, separate chains apart."""
    chains = sched.get("critical_chains") or [[x] for x in sched["critical_path"]]
    if not chains:
        return "none"

    def one(c: list[str]) -> str:
        return " → ".join(c) if len(c) <= most else " → ".join([*c[:3], f"… ({len(c) - 5} more)", *c[-2:]])

    if len(chains) == 1:
        return one(chains[0])
    shown = "; ".join(one(c) for c in chains[:most])
    more = f"; … {len(chains) - most} more" if len(chains) > most else ""
    return f"{len(chains)} separate chains: {shown}{more}"


def _ev_units(ev: dict[str, Any], currency: str) -> tuple[str, str]:
    """Where the budgets come from, and the currency to print them in: none when they are effort."""
    src = ev["budget_source"] + (f" {ev['baseline']}" if ev["baseline"] else "")
    if ev["budget_source"] == "effort":
        return src + ": hours or days of work, not money", ""
    return src, currency


def _ratio_style(v: float) -> str:
    return "green" if v >= 0.95 else ("yellow" if v >= 0.85 else "red")


@click.command("report")
@click.argument("code")
@click.option(
    "--status-date", type=click.DateTime(formats=["%Y-%m-%d"]), help="Earned value at this date (default today)."
)
@click.option("--all", "show_all", is_flag=True, help=f"List every task (default: at most {_MAX_ROWS}).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
@click.pass_context
@handle_errors
def report_cmd(ctx: click.Context, code: str, status_date: datetime | None, show_all: bool, as_json: bool) -> None:
    """Schedule (critical path), earned value, resource over-allocations and the risk matrix of CODE."""
    data = run_in_context(ctx, lambda c: report(c, code, status_date.date() if status_date else None))
    if as_json:
        emit_json(data)
        return
    _print_report(data, show_all)


def _print_schedule(out: Any, sched: dict[str, Any], show_all: bool) -> None:
    """The critical path line and the schedule table (critical tasks in red)."""
    out.print(
        f"schedule {sched['project_start']} → [bold]{sched['project_finish']}[/bold] "
        f"({sched['duration_days']} working days), critical path: " + esc(_chains(sched))
    )
    rows = sched["tasks"]
    shown = rows
    if not show_all and len(rows) > _MAX_ROWS:
        shown = [r for r in rows if r["summary"] or r["critical"]][:_MAX_ROWS]
    t = Table(
        title="schedule (critical tasks in red; slack in working days)",
        title_justify="left",
        header_style="bold",
        box=None,
    )
    for col in (
        "wbs",
        "task",
        "early start",
        "early finish",
        "late start",
        "late finish",
        "days",
        "total slack",
        "free slack",
    ):
        t.add_column(col, justify="right" if col in ("days", "total slack", "free slack") else "left")
    for r in shown:
        name = "  " * r["level"] + esc(r["name"]) + (" ◆" if r["milestone"] else "")
        style = (
            "bold red"
            if r["critical"] and not r["summary"]
            else ("bold" if r["summary"] else ("dim" if r["done"] else ""))
        )
        t.add_row(
            esc(r["wbs"]),
            name,
            r["early_start"],
            r["early_finish"],
            r["late_start"],
            r["late_finish"],
            str(r["duration_days"]),
            str(r["total_slack"]),
            str(r["free_slack"]),
            style=style,
        )
    out.print(t)
    if len(shown) < len(rows):
        out.print(f"[dim]{len(rows) - len(shown)} non-critical tasks not shown (--all lists them)[/dim]")
    for w in sched["warnings"][:10]:
        out.print(f"[yellow]warning: {esc(w)}[/yellow]")


def _print_report(d: dict[str, Any], show_all: bool) -> None:
    out = console()
    out.print(f"[bold]{esc(d['code'])}[/bold]  {esc(d['name'])}   phase {d['phase']}   status date {d['status_date']}")
    if d["schedule_error"]:
        out.print(f"[red]schedule: {esc(d['schedule_error'])}[/red]")
    elif d["schedule"]:
        _print_schedule(out, d["schedule"], show_all)
    _print_earned_value(d["earned_value"], d["currency"])
    _print_costs_and_resources(d, d["currency"])
    _print_matrix(d["risks"])


def _print_earned_value(ev: dict[str, Any], cur: str) -> None:
    out = console()
    p = ev["project"]
    src, cur = _ev_units(ev, cur)
    t = Table(
        title=f"earned value at {ev['status_date']} (budgets from {src})",
        title_justify="left",
        header_style="bold",
        box=None,
    )
    for col in ("scope", "BAC", "PV", "EV", "AC", "SV", "CV", "SPI", "CPI", "EAC", "ETC", "VAC", "TCPI"):
        t.add_column(col, justify="left" if col == "scope" else "right")
    for f in [p, *ev["branches"]]:
        label = "project" if f["scope"] == "project" else esc(f"{f['wbs']} {f['name']}".strip())
        t.add_row(
            label,
            _money(f["bac"], cur),
            _money(f["pv"], cur),
            _money(f["ev"], cur),
            _money(f["ac"], cur),
            _money(f["sv"], cur),
            _money(f["cv"], cur),
            f"[{_ratio_style(f['spi'])}]{f['spi']:.2f}[/]",
            f"[{_ratio_style(f['cpi'])}]{f['cpi']:.2f}[/]",
            _money(f["eac"], cur),
            _money(f["etc"], cur),
            _money(f["vac"], cur),
            f"{f['tcpi']:.2f}",
            style="bold" if f["scope"] == "project" else "",
        )
    out.print(t)
    out.print(
        f"EAC: BAC/CPI {_money(p['eac'], cur)}   AC+(BAC-EV) {_money(p['eac_atypical'], cur)}   "
        f"AC+(BAC-EV)/(CPI×SPI) {_money(p['eac_combined'], cur)}"
    )


def _print_costs_and_resources(d: dict[str, Any], cur: str) -> None:
    out = console()
    costs = d["costs"]
    if costs["categories"]:
        t = Table(title="budget by category", title_justify="left", header_style="bold", box=None)
        for col in ("category", "budget", "actual", "remaining"):
            t.add_column(col, justify="left" if col == "category" else "right")
        for c in costs["categories"]:
            t.add_row(
                esc(c["category"]),
                _money(c["budget"], cur),
                _money(c["actual"], cur),
                _money(c["variance"], cur),
                style="red" if c["variance"] < 0 else "",
            )
        out.print(t)
    overs = d["over_allocations"]
    if overs:
        t = Table(title="over-allocations (hours per week)", title_justify="left", header_style="bold", box=None)
        for col in ("person", "week", "load", "capacity", "over by", "tasks"):
            t.add_column(col, justify="right" if col in ("load", "capacity", "over by") else "left")
        for o in overs[:40]:
            t.add_row(
                esc(o["name"]),
                esc(o["week"]),
                f"{o['hours']:.1f}",
                f"{o['capacity']:.1f}",
                f"{o['excess']:.1f}",
                esc(", ".join(o["tasks"])),
                style="red",
            )
        out.print(t)
    else:
        out.print("no one is over-allocated")
    late = [m for m in d["materials"] if m["late"]]
    for m in late:
        out.print(f"[red]material {esc(m['id'])} {esc(m['name'])}: {esc(m['reason'])}[/red]")


def _print_matrix(rm: dict[str, Any]) -> None:
    colours = {"low": "green", "moderate": "yellow", "significant": "dark_orange", "high": "red"}
    out = console()
    t = Table(
        title=f"risk matrix: {rm['open_count']} open risks, exposure {rm['exposure']:.0f}",
        title_justify="left",
        header_style="bold",
    )
    t.add_column("probability \\ impact")
    for i in range(1, 6):
        t.add_column(str(i), justify="center")
    for p in range(5, 0, -1):
        cells = []
        for i in range(1, 6):
            n = rm["cells"][p - 1][i - 1]
            colour = colours[risk_band(p * i)]
            cells.append(f"[{colour}]{n if n else '·'}[/{colour}]")
        t.add_row(str(p), *cells)
    out.print(t)
    for r in rm["top"]:
        owner = esc(r["owner"] or "-")
        out.print(f"  {esc(r['id'])} {esc(r['title'])}  score {r['score']} ({r['band']})  owner {owner}")
    for r in rm["past_review"]:
        out.print(f"[yellow]  review overdue: {esc(r['id'])} {esc(r['title'])} (due {r['review_date']})[/yellow]")


@click.group("baseline")
def baseline_grp() -> None:
    """Save and list schedule and cost baselines (several are kept; earned value uses the latest)."""


@baseline_grp.command("save")
@click.argument("code")
@click.option("--name", help="A name for the baseline (default 'Baseline N').")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def baseline_save(ctx: click.Context, code: str, name: str | None, as_json: bool) -> None:
    """Save the current plan of CODE as a new baseline."""
    bl = run_in_context(ctx, lambda c: save_baseline(c, code, name))
    if as_json:
        emit_json(
            {
                "id": bl.id,
                "name": bl.name,
                "saved_on": bl.saved_on,
                "budget": bl.budget,
                "finish": bl.finish,
                "tasks": len(bl.tasks),
            }
        )
        return
    click.echo(
        f"{code}: saved baseline {bl.id} '{bl.name}' (budget {float(bl.budget):,.2f}, finish "
        f"{bl.finish or '-'}, {len(bl.tasks)} tasks)"
    )


@baseline_grp.command("list")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def baseline_list(ctx: click.Context, code: str, as_json: bool) -> None:
    """List the baselines of CODE, oldest first."""
    bls = run_in_context(ctx, lambda c: list_baselines(c, code))
    if as_json:
        emit_json(
            [
                {
                    "id": b.id,
                    "name": b.name,
                    "saved_on": b.saved_on,
                    "budget": b.budget,
                    "finish": b.finish,
                    "tasks": len(b.tasks),
                }
                for b in bls
            ]
        )
        return
    if not bls:
        click.echo(f"{code} has no baseline yet: `pmo baseline save {code}`")
        return
    t = Table(box=None, header_style="bold")
    for col in ("id", "name", "saved on", "budget", "finish", "tasks"):
        t.add_column(col)
    for b in bls:
        t.add_row(b.id, b.name, str(b.saved_on), f"{float(b.budget):,.2f}", str(b.finish or "-"), str(len(b.tasks)))
    console().print(t)


@click.group("import")
def import_grp() -> None:
    """Import a plan from Microsoft Project XML, tasks and risks from CSV, or a workbook (xlsx)."""


@import_grp.command("msproject")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--code", help="Project to import into (created if it does not exist; default: from the file's title).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def import_msproject_cmd(ctx: click.Context, file: str, code: str | None, as_json: bool) -> None:
    """Import FILE (Microsoft Project XML, "Save As > XML") as a new project or into --code.

    Tasks with their outline, WBS, durations, dates, milestones, links (type and lag), the calendar
    with its exceptions, resources, assignments, costs and baselines are taken over; what could not
    be is listed in the import report.
    """
    rep = run_in_context(ctx, lambda c: import_msproject(c, file, code))
    if as_json:
        emit_json(rep.to_dict())
        return
    verb = "created" if rep.created else "updated"
    click.echo(f"{rep.code}: {verb} from {file}")
    for line in rep.lines():
        click.echo(line)


@import_grp.command("csv")
@click.argument("code")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--kind", type=click.Choice(["tasks", "risks"]), required=True, help="What the rows are.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def import_csv_cmd(ctx: click.Context, code: str, file: str, kind: str, as_json: bool) -> None:
    """Add or update the tasks or risks of CODE from a CSV FILE; rows are matched by id.

    \b
    Task columns (id and name required): id, name, wbs, parent, owner, start, finish,
      duration_days, effort_hours, percent_complete, status, actual_start, actual_finish,
      milestone, constraint, constraint_date, deliverables, notes, predecessors
      (predecessors: "T1; T2SS; T3FS+2; T4FF-1" replaces the links into the task)
    Risk columns (id and title required): id, title, category, description, probability,
      impact, strategy, response_plan, owner, status, identified_on, review_date
    Dates 2026-03-31, booleans yes/no, lists separated by ";". UTF-8 or GB18030, comma,
    semicolon or tab separated. Every problem is listed with its line; nothing is written then.
    """
    res = run_in_context(ctx, lambda c: import_csv(c, code, kind, file))
    if as_json:
        emit_json(res.to_dict())
        return
    links = f", {res.links} link(s) set" if res.links is not None else ""
    click.echo(f"{code}: {len(res.added)} {kind} added, {len(res.updated)} updated{links} (version {res.version})")


@import_grp.command("xlsx")
@click.argument("code")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def import_xlsx_cmd(ctx: click.Context, code: str, file: str, as_json: bool) -> None:
    """Add or update the tasks, risks and deliverables of CODE from an Excel workbook; matched by id.

    \b
    Sheets (English or Chinese names): Tasks/任务, Risks/风险, Deliverables/交付物,
    Acceptance criteria/验收标准. Headers in either language or as field names; start from
    `pmo export xlsx CODE -o plan.xlsx`. A Predecessors column replaces the links into its tasks.
    Every problem is listed with its sheet, row and column; nothing is written then.
    """
    res = run_in_context(ctx, lambda c: spreadsheets.import_workbook(c, code, file))
    if as_json:
        emit_json(res.to_dict())
        return
    if not res.changed:
        click.echo(f"{code}: unchanged (version {res.version})")
        return
    counts = ", ".join(
        f"{kind}: {len(res.added.get(kind, []))} added, {len(res.updated.get(kind, []))} updated" for kind in res.added
    )
    links = f"; {res.links} link(s) set" if res.links is not None else ""
    click.echo(f"{code}: {counts}{links} (version {res.version})")

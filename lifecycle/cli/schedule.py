"""`pmo schedule`: resource levelling (and schedule risk) of a stored project, shown, never saved."""

from __future__ import annotations

import click
from rich.table import Table

from lifecycle.cli.output import console, emit_json, handle_errors, run_in_context
from lifecycle.services import scheduling

_MAX_MOVED = 40


@click.group("schedule")
def schedule_grp() -> None:
    """Level resources or simulate the schedule's risk (the stored plan is not changed)."""


@schedule_grp.command("level")
@click.argument("code")
@click.option("--all", "show_all", is_flag=True, help=f"List every moved task (default: at most {_MAX_MOVED}).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def level_cmd(ctx: click.Context, code: str, show_all: bool, as_json: bool) -> None:
    """Level CODE's people: no one above capacity on any day, every link kept, started work fixed.

    Prints the levelled finish against the unlevelled one, the tasks that move and by how many working
    days, and the person-days over capacity before and after.
    """
    plan = run_in_context(ctx, lambda c: scheduling.level_resources(c, code))
    d = plan.to_dict()
    if as_json:
        emit_json(d)
        return
    out = console()
    out.print(
        f"[bold]{code}[/bold] finish unlevelled {d['unlevelled_finish']} → levelled [bold]{d['levelled_finish']}"
        f"[/bold] ({d['delay_days']:+d} working days; no schedule can finish before {d['lower_bound_finish']})"
    )
    out.print(
        f"person-days over capacity: {d['over_allocated_person_days_before']} before, "
        f"{d['over_allocated_person_days_after']} after"
        + (" (started work, fixed at its actual start)" if d["over_allocated_person_days_after"] else "")
    )
    moved = d["moved"]
    if not moved:
        out.print("no task moves: the plan already fits everyone's capacity")
        return
    t = Table(title=f"{len(moved)} task(s) moved", title_justify="left", header_style="bold", box=None)
    for col in ("task", "levelled start", "levelled finish", "later by (working days)"):
        t.add_column(col)
    for m in moved if show_all else moved[:_MAX_MOVED]:
        t.add_row(m["task"], m["start"], m["finish"], str(m["days_later"]))
    out.print(t)
    if not show_all and len(moved) > _MAX_MOVED:
        out.print(f"[dim]{len(moved) - _MAX_MOVED} more (--all lists them)[/dim]")
    for n in d["notes"][:5]:
        out.print(f"[yellow]note: {n}[/yellow]")


@schedule_grp.command("risk")
@click.argument("code")
@click.option("--iterations", default=10_000, show_default=True, type=int, help="Simulated schedules.")
@click.option("--seed", default=1, show_default=True, type=int, help="Random seed (same seed, same figures).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def risk_cmd(ctx: click.Context, code: str, iterations: int, seed: int, as_json: bool) -> None:
    """Monte Carlo simulation of CODE's three-point estimates (optimistic_days, duration_days,
    pessimistic_days): P50/P80/P95 finish dates, the most critical tasks and a histogram."""
    view = run_in_context(ctx, lambda c: scheduling.schedule_risk(c, code, iterations=iterations, seed=seed))
    d = view.to_dict()
    if as_json:
        emit_json(d)
        return
    out = console()
    f = d["finish"]
    out.print(
        f"[bold]{code}[/bold] {d['iterations']:,} simulated schedules (seed {d['seed']}), "
        f"{d['estimated_tasks']} task(s) with a three-point estimate"
    )
    out.print(
        f"finish: plan {d['deterministic_finish']}   P50 {f['p50']}   [bold]P80 {f['p80']}[/bold]   P95 {f['p95']}"
    )
    if d["critical"]:
        t = Table(title="most critical tasks", title_justify="left", header_style="bold", box=None)
        for col in ("task", "name", "critical in"):
            t.add_column(col)
        for c in d["critical"]:
            t.add_row(c["task"], c["name"], f"{100 * c['criticality']:.0f}%")
        out.print(t)
    widest = max((h["count"] for h in d["histogram"]), default=0) or 1
    out.print("finish dates (each # is a share of the simulated schedules):")
    for h in d["histogram"]:
        bar = "#" * round(40 * h["count"] / widest)
        out.print(f"  {h['from']} – {h['to']}  {bar} {h['count']}", highlight=False)
    for n in d["notes"][:5]:
        out.print(f"[yellow]note: {n}[/yellow]")

"""``pmo init | apply | export | list | show | schema``: managing whole projects."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from lifecycle.cli.output import console, echo, emit_json, esc, handle_errors, money, run_in_context, warn, ws_from
from lifecycle.cli.record import DATE
from lifecycle.errors import InvalidInput
from lifecycle.services import analytics, explain, projects, scheduling, spreadsheets


def _money(value: Any, currency: str) -> str:
    return money(value, currency)


@click.command("init")
@click.pass_context
@handle_errors
def init_cmd(ctx: click.Context) -> None:
    """Create the workspace (settings, database) or upgrade its database schema."""
    res = projects.init_workspace(ws_from(ctx), (ctx.find_root().obj or {}).get("rules"))
    echo(f"workspace {res.root}")
    echo(f"database  {res.database} (schema up to date, {res.projects} project(s))")
    echo(f"rules     {res.rules}")
    if not res.users:
        echo(
            "users     none yet: `pmo user add EMAIL --name NAME --role pmo_admin`, then PMO_USER=EMAIL or `pmo login`"
        )


@click.command("apply")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Validate and show what would change, write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable result.")
@click.pass_context
@handle_errors
def apply_cmd(ctx: click.Context, files: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Create or update projects from project files (YAML or JSON).

    Every file is validated first; if any has a problem, all problems are listed and nothing is
    written. Sections a file leaves out are kept as they are; a section that is present replaces
    that collection. Applying the same file twice changes nothing.
    """
    results = run_in_context(ctx, lambda c: projects.apply_files(c, list(files), dry_run=dry_run))
    if as_json:
        emit_json(
            [
                {
                    "code": r.code,
                    "file": r.file,
                    "created": r.created,
                    "version": r.version,
                    "changes": [
                        {"section": ch.section, "key": ch.key, "op": ch.op, "fields": sorted(ch.fields)}
                        for ch in r.changes
                    ],
                    "warnings": r.warnings,
                }
                for r in results
            ]
        )
        warn([w for r in results for w in r.warnings])
        return
    prefix = "would " if dry_run else ""
    for r in results:
        if r.created:
            n = len(r.changes) - 1
            echo(f"{r.code}: {prefix}create ({n} items) from {r.file}")
        elif r.unchanged:
            echo(f"{r.code}: unchanged")
        else:
            echo(f"{r.code}: {prefix}apply {len(r.changes)} change(s), version {r.version}")
            for ch in r.changes[:50]:
                echo(f"  {ch.describe()}")
            if len(r.changes) > 50:
                echo(f"  … and {len(r.changes) - 50} more")
    warn([w for r in results for w in r.warnings])


@click.command("export")
@click.argument("args", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
@click.option("--lang", type=click.Choice(["zh", "en"]), help="Workbook headers (xlsx; default: the project's).")
@click.pass_context
@handle_errors
def export_cmd(ctx: click.Context, args: tuple[str, ...], fmt: str, output: str | None, lang: str | None) -> None:
    """Write a project as a project file, a calendar, a Microsoft Project file or a workbook.

    \b
    pmo export CODE [--format json]          the project file (export → apply changes nothing)
    pmo export ical CODE                     milestones and key dates as an iCalendar file
    pmo export msproject CODE                Microsoft Project / ProjectLibre (MSPDI XML)
    pmo export xlsx CODE -o plan.xlsx        tasks, risks, deliverables, acceptance criteria
    pmo export xlsx portfolio -o pmo.xlsx    every project's roll-up row (phase, RAG, gate, SPI/CPI)
    """
    if len(args) == 2 and args[0] == "xlsx":
        _write_binary(ctx, args[1], lang, output)
        return
    if len(args) == 2 and args[0] == "ical":
        text = run_in_context(ctx, lambda c: analytics.project_calendar(c, args[1]))
    elif len(args) == 2 and args[0] == "msproject":
        text = run_in_context(ctx, lambda c: scheduling.export_msproject(c, args[1])).decode("utf-8")
    elif len(args) == 1:
        text = run_in_context(ctx, lambda c: projects.export_project(c, args[0], fmt))
    else:
        raise InvalidInput("usage: pmo export CODE | ical CODE | msproject CODE | xlsx CODE|portfolio -o FILE")
    if output:
        tmp = Path(output + ".tmp")
        tmp.write_text(text, encoding="utf-8", newline="")
        tmp.replace(output)
        echo(f"wrote {output}", err=True)
    else:
        sys.stdout.write(text)


def _write_binary(ctx: click.Context, what: str, lang: str | None, output: str | None) -> None:
    if not output:
        raise InvalidInput("a workbook is binary: name the file with -o FILE.xlsx")
    if what == "portfolio":
        data = run_in_context(ctx, lambda c: spreadsheets.export_portfolio_workbook(c, lang or "en"))
    else:
        data = run_in_context(ctx, lambda c: spreadsheets.export_workbook(c, what, lang))
    tmp = Path(output + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(output)
    echo(f"wrote {output}", err=True)


@click.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """List the projects of the workspace."""
    rows = run_in_context(ctx, projects.list_projects)
    if as_json:
        emit_json(
            [
                r.__dict__
                if hasattr(r, "__dict__")
                else {
                    "code": r.code,
                    "name": r.name,
                    "phase": r.phase,
                    "locale": r.locale,
                    "client": r.client,
                    "version": r.version,
                }
                for r in rows
            ]
        )
        return
    if not rows:
        echo("no projects yet: `pmo apply examples/en-clinic-portal.yaml` adds one")
        return
    t = Table(box=None, header_style="bold")
    for col in ("code", "name", "client", "phase", "lang", "version"):
        t.add_column(col)
    for r in rows:
        t.add_row(esc(r.code), esc(r.name), esc(r.client), esc(r.phase), esc(r.locale), str(r.version))
    console().print(t)


@click.command("show")
@click.argument("code")
@click.option("--as-of", "as_of", type=DATE, help="Summarise as on this date (the project as stored now).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def show_cmd(ctx: click.Context, code: str, as_of: date | None, as_json: bool) -> None:
    """One-screen summary: phase, dates, progress, budget, top risks, next milestones."""
    s = run_in_context(ctx, lambda c: projects.summary(explain.dated(c, as_of), code))
    if as_json:
        emit_json(s)
        warn(s["warnings"])
        return
    warn(s["warnings"])
    out = console()
    m = s["metrics"]
    cur = s["currency"]
    phase = esc(s["phase"]) + (f" (on hold, from {s['on_hold_from']})" if s["on_hold_from"] else "")
    out.print(f"[bold]{esc(s['code'])}[/bold]  {esc(s['name'])}  ·  {esc(s['client'])}")
    span = f"{s['start'] or '-'} → {s['finish'] or '(no finish set)'}"
    out.print(f"phase [bold]{phase}[/bold]   {span}   today {s['today']}   v{s['version']}")
    out.print(
        f"PM {esc(s['project_manager'] or '-')}   sponsor {esc(s['sponsor'] or '-')}   "
        f"client rep {esc(s['client_representative'] or '-')}"
    )
    lag = m["progress_pct"] - m["planned_progress_pct"]
    colour = "green" if lag >= -5 else ("yellow" if lag >= -15 else "red")
    out.print(
        f"progress [{colour}]{m['progress_pct']:.1f}%[/{colour}] (plan {m['planned_progress_pct']:.1f}%)   "
        f"overdue tasks {m['overdue_task_count']}   open issues {m['open_issue_count']} "
        f"({m['blocking_issue_count']} blocking)"
    )
    extra = ""
    if "spi" in m and "cpi" in m:
        extra = f"   SPI {m['spi']:.2f}  CPI {m['cpi']:.2f}"
    out.print(
        f"budget approved {_money(m['approved_budget'], cur)}   allocated {_money(m['budget_total'], cur)}   "
        f"spent {_money(m['cost_actual'], cur)} ({m['budget_spent_pct']:.1f}%){extra}"
    )
    if m.get("schedule_error"):
        out.print(f"finish (CPM) [red]not computed[/red]: {esc(m['schedule_error'])}")
    elif m.get("project_finish"):
        base = m.get("baseline_finish")
        if base:
            slip = int(m.get("schedule_slip_days") or 0)
            tone = "red" if slip > 0 else "green"
            versus = f"vs baseline {base}: [{tone}]slip {slip:+d} working days[/{tone}]"
        else:
            versus = "(no baseline saved)"
        out.print(f"finish (CPM) {m['project_finish']} {versus}   critical tasks {m.get('critical_task_count', 0)}")
    rep = s["last_status_report"]
    out.print(
        "last status report "
        + (f"{rep['date']} ({esc(rep['overall'])})" if rep else "none")
        + f"   risk exposure {m['risk_exposure']:.0f} over {m['open_risk_count']} open risks"
    )
    if s["top_risks"]:
        t = Table(title="top risks", title_justify="left", box=None, header_style="bold")
        for col in ("id", "risk", "score", "owner", "response", "review"):
            t.add_column(col)
        for r in s["top_risks"]:
            style = "red" if r["score"] >= 15 else ("yellow" if r["score"] >= 8 else "")
            t.add_row(
                esc(r["id"]),
                esc(r["title"]),
                f"[{style}]{r['score']}[/{style}]" if style else str(r["score"]),
                esc(r["owner"] or "") or "[red]none[/red]",
                esc(r["strategy"] or "") or "[red]none[/red]",
                str(r["review_date"] or "-"),
            )
        out.print(t)
    if s["next_milestones"]:
        t = Table(title="next milestones", title_justify="left", box=None, header_style="bold")
        for col in ("id", "milestone", "kind", "date", "in days"):
            t.add_column(col)
        for ms in s["next_milestones"]:
            t.add_row(esc(ms["id"]), esc(ms["name"]), esc(ms["kind"]), str(ms["date"]), str(ms["days"]))
        out.print(t)


@click.command("schema")
@click.argument("what", type=click.Choice(["project", "facts"]), default="project")
@click.option("--pack", "pack_dir", metavar="DIR", help="Declare this rule pack's params and custom fields too.")
@click.pass_context
@handle_errors
def schema_cmd(ctx: click.Context, what: str, pack_dir: str | None) -> None:
    """Print the JSON Schema of project files (`project`) or of the gate facts (`facts`)."""
    emit_json(projects.schema(what, pack_dir))

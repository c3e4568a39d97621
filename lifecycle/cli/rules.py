"""``pmo rules``: lint, test and diff PMO rule packs.

``lint DIR`` loads the pack exactly as the engine does and prints every problem as
``file:line yaml.path: message`` (exit 2 if there is any), else a summary: phases, transitions with
their gates and approvals, rules per gate, quality standards, tests and the pack's content hash.
``test DIR`` runs the pack's rule tests like a test runner: one line per test, expected vs actual for
each failure, then ``N passed, M failed`` (exit 1 if any failed; exit 2 and no test run if a fixture is not
a valid project file). ``diff NEW_DIR`` evaluates a new pack and the current one over every project in the
database and lists the decisions that would change.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.text import Text

from lifecycle.cli.output import console, emit_json, handle_errors, run_in_context
from lifecycle.errors import SpecError
from lifecycle.services import rules
from lifecycle.services.portfolio import diff_packs


def _text(value: str, style: str = "") -> Any:
    return Text(value, style=style)


@click.group("rules")
def rules_grp() -> None:
    """Lint, test and diff PMO rule packs."""


@rules_grp.command("lint")
@click.argument("directory", metavar="DIR")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@handle_errors
def lint_cmd(directory: str, as_json: bool) -> None:
    """Check a rule pack: every file, rule, expression and test, with file, line and YAML path."""
    try:
        summary = rules.lint_pack(directory)
    except SpecError as exc:
        _print_problems(exc, directory, as_json)
        sys.exit(2)
    if as_json:
        emit_json(_summary_json(summary))
    else:
        _print_summary(summary)


def _print_problems(exc: SpecError, directory: str, as_json: bool) -> None:
    if as_json:
        problems = [{"file": p.file, "line": p.line, "path": p.path, "message": p.message} for p in exc.problems]
        emit_json({"ok": False, "problems": problems})
        return
    out = console()
    for p in exc.problems:
        out.print(_text(str(p)), soft_wrap=True)
    n = len(exc.problems)
    out.print(_text(f"{n} problem{'s' if n != 1 else ''} in {directory}", "bold red"), soft_wrap=True)


def _summary_json(pack: rules.PackSummary) -> dict[str, Any]:
    return {
        "ok": True,
        "name": pack.name,
        "version": pack.version,
        "hash": pack.hash,
        "phases": list(pack.phases),
        "initial": pack.initial,
        "transitions": [
            {
                "name": t.name,
                "from": list(t.sources),
                "to": t.dest,
                "kind": t.kind,
                "gate": t.gate,
                "rules": t.rules,
                "approvals": t.approvals,
            }
            for t in pack.transitions
        ],
        "rules": pack.rules,
        "quality_standards": pack.quality_standards,
        "tests": pack.tests,
        "library_only": [{"rule": rule, "parts": parts} for rule, parts, _ in pack.library_only],
        "warnings": list(pack.warnings),
        "languages": list(pack.languages),
    }


def _print_summary(pack: rules.PackSummary) -> None:
    say = console().print
    say(_text(f"{pack.name} {pack.version}: no problems", "bold green"), soft_wrap=True)
    chain = " → ".join(f"{p['id']}" + ("" if p["kind"] == "active" else f" ({p['kind']})") for p in pack.phases)
    say(_text(f"phases: {chain}  (initial: {pack.initial})"), soft_wrap=True)
    say(_text("transitions:"), soft_wrap=True)
    rows = []
    for t in pack.transitions:
        count = f"{t.rules} rule{'s' if t.rules != 1 else ''}"
        if t.rules:
            count += f" ({t.blocking} blocking, {t.rules - t.blocking} warning)"
        approvals = f"approvals: {t.approvals}" if t.approvals else ""
        rows.append((t.name, f"{t.written_sources} → {t.dest}", t.kind, count, approvals))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        line = "  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4]))
        say(_text((line + "  " + row[4]).rstrip()), soft_wrap=True)
    say(
        _text(
            f"rules: {pack.rules} in {pack.gates} gates; quality standards: "
            f"{pack.quality_standards}; tests: {pack.tests}"
        ),
        soft_wrap=True,
    )
    roles = ", ".join(pack.waiver_roles) or "nobody"
    say(_text(f"waivers: by {roles}, at most {pack.waiver_max_days} days"), soft_wrap=True)
    if not pack.library_only:
        say(_text(f"native: all {pack.rules} rules run natively"), soft_wrap=True)
    else:
        n = len(pack.library_only)
        say(
            _text(f"native: {pack.rules - n} of {pack.rules} rules run natively; {n} run in the library only:"),
            soft_wrap=True,
        )
        for _, _, text in pack.library_only:
            say(_text(f"  {text}"), soft_wrap=True)
    for warning in pack.warnings:
        say(_text(f"warning: {warning}", "yellow"), soft_wrap=True)
    say(_text(f"hash: {pack.hash}"), soft_wrap=True)


@rules_grp.command("test")
@click.argument("directory", metavar="DIR")
@click.option("-k", "name_filter", default="", metavar="TEXT", help="Run only tests whose name contains TEXT.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@handle_errors
def test_cmd(directory: str, name_filter: str, as_json: bool) -> None:
    """Run a rule pack's tests (tests/*.yaml) and report like a test runner."""
    report = rules.run_rule_tests(directory, name_filter)
    if as_json:
        emit_json(report.to_dict())
    else:
        out = console()
        for r in report.results:
            where = f"{r.file}:{r.line}" if r.line else r.file
            if r.passed:
                out.print(_text("PASS ", "green"), _text(r.name), _text(f"  ({where})", "dim"), sep="", soft_wrap=True)
            else:
                out.print(
                    _text("FAIL ", "bold red"), _text(r.name), _text(f"  ({where})", "dim"), sep="", soft_wrap=True
                )
                for f in r.failures:
                    out.print(_text(f"     {f}"), soft_wrap=True)
        style = "bold green" if report.ok else "bold red"
        summary = f"{report.passed} passed, {report.failed} failed"
        if not report.results:
            summary += " (no tests" + (f" match '{name_filter}'" if name_filter else " in this pack") + ")"
        out.print(_text(summary, style), soft_wrap=True)
    if not report.ok:
        sys.exit(1)


__all__ = ["rules_grp"]


@rules_grp.command("diff")
@click.argument("new_dir", metavar="NEW_DIR")
@click.option("--against", metavar="DIR", help="The pack to compare with (default: the workspace's pack).")
@click.option("--json", "as_json", is_flag=True, help="Print the changes as JSON.")
@click.pass_context
@handle_errors
def diff_cmd(ctx: click.Context, new_dir: str, against: str | None, as_json: bool) -> None:
    """Evaluate NEW_DIR and the current pack over every project; list decisions that would change.

    Exit code 0 whether or not something changes (this is a report); 2 if a pack does not load.
    """
    changes, n = run_in_context(ctx, lambda c: diff_packs(c, new_dir, against))
    if as_json:
        emit_json({"projects": n, "changes": [ch.to_dict() for ch in changes]})
        return
    out = console()
    flips = [ch for ch in changes if ch.decision_changed]
    out.print(
        f"{n} project(s) compared: {len(flips)} would get another decision, "
        f"{len(changes) - len(flips)} keep their decision with other rule outcomes"
    )
    for ch in changes:
        if ch.stranded:
            out.print(
                f"[bold yellow]warning:[/bold yellow] [bold]{ch.code}[/bold] in {ch.phase} would be stranded: "
                f"{ch.stranded}"
            )
            continue
        head = f"{ch.old_decision} → {ch.new_decision}" if ch.decision_changed else f"{ch.new_decision} (same)"
        trans = ch.new_transition
        if ch.old_transition != ch.new_transition:
            trans = f"{ch.old_transition} → {ch.new_transition}"
        out.print(f"[bold]{ch.code}[/bold]  in {ch.phase}, gate {trans}: {head}")
        for r in ch.rules:
            out.print(f"   {r['id']}: {r['old']} → {r['new']}  {r['title']}")


@rules_grp.command("functions")
def functions_cmd() -> None:
    """List the functions gate rules may call (they replace CEL map/filter, and add working days)."""
    for name, doc in rules.rule_functions().items():
        click.echo(f"{name:<18} {doc}")

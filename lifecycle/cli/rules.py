"""``pmo rules``: lint, test and diff PMO rule packs.

``lint DIR`` loads the pack exactly as the engine does and prints every problem as
``file:line yaml.path: message`` (exit 2 if there is any), else a summary: phases, transitions with
their gates and approvals, rules per gate, quality standards, tests and the pack's content hash.
``test DIR`` runs the pack's rule tests like a test runner: one line per test, expected vs actual for
each failure, then ``N passed, M failed`` (exit 1 if any failed). ``diff NEW_DIR`` evaluates a new pack
and the current one over every project in the database and lists the decisions that would change.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from lifecycle.cli.output import console, emit_json, handle_errors
from lifecycle.errors import SpecError


def _text(value: str, style: str = "") -> Any:
    from rich.text import Text

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
    from lifecycle.expr import library_only_rules
    from lifecycle.load.rulepack import load_pack

    try:
        pack = load_pack(directory)
    except SpecError as exc:
        if as_json:
            emit_json(
                {
                    "ok": False,
                    "problems": [
                        {"file": p.file, "line": p.line, "path": p.path, "message": p.message} for p in exc.problems
                    ],
                }
            )
        else:
            out = console()
            for p in exc.problems:
                out.print(_text(str(p)), soft_wrap=True)
            n = len(exc.problems)
            out.print(_text(f"{n} problem{'s' if n != 1 else ''} in {directory}", "bold red"), soft_wrap=True)
        sys.exit(2)

    lc = pack.lifecycle
    library_only = library_only_rules(pack.all_rules())
    if as_json:
        emit_json(
            {
                "ok": True,
                "name": pack.name,
                "version": pack.version,
                "hash": pack.hash,
                "phases": [{"id": p.id, "kind": p.kind, "title": dict(p.title)} for p in lc.phases],
                "initial": lc.initial,
                "transitions": [
                    {
                        "name": t.name,
                        "from": list(lc.expanded_sources(t)),
                        "to": t.dest or "(phase before hold)",
                        "kind": t.kind,
                        "gate": t.gate_id,
                        "rules": len(pack.rules_for(t.name)),
                        "approvals": t.approvals.describe() if t.approvals else None,
                    }
                    for t in lc.transitions
                ],
                "rules": len(pack.all_rules()),
                "quality_standards": len(pack.quality),
                "tests": len(pack.tests),
                "library_only": [{"rule": r.rule, "parts": dict(r.parts)} for r in library_only],
            }
        )
        return

    out = console()
    say = out.print
    say(_text(f"{pack.name} {pack.version}: no problems", "bold green"), soft_wrap=True)
    chain = " → ".join(f"{p.id}" + ("" if p.kind == "active" else f" ({p.kind})") for p in lc.phases)
    say(_text(f"phases: {chain}  (initial: {lc.initial})"), soft_wrap=True)
    say(_text("transitions:"), soft_wrap=True)
    rows = []
    for t in lc.transitions:
        rules = pack.rules_for(t.name)
        blocking = sum(1 for r in rules if r.severity == "blocking")
        named = [s for s in t.sources if s != "*"]
        src = ", ".join((["*"] if "*" in t.sources else []) + named)
        move = f"{src} → {t.dest or '(phase before hold)'}"
        count = f"{len(rules)} rule{'s' if len(rules) != 1 else ''}"
        if rules:
            count += f" ({blocking} blocking, {len(rules) - blocking} warning)"
        approvals = f"approvals: {t.approvals.describe()}" if t.approvals else ""
        rows.append((t.name, move, t.kind, count, approvals))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        line = "  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4]))
        say(_text((line + "  " + row[4]).rstrip()), soft_wrap=True)
    policy = pack.waiver_policy
    say(
        _text(
            f"rules: {len(pack.all_rules())} in {len(pack.gates)} gates; quality standards: "
            f"{len(pack.quality)}; tests: {len(pack.tests)}"
        ),
        soft_wrap=True,
    )
    say(_text(f"waivers: by {', '.join(policy.roles) or 'nobody'}, at most {policy.max_days} days"), soft_wrap=True)
    n_rules = len(pack.all_rules())
    if not library_only:
        say(_text(f"native: all {n_rules} rules run natively"), soft_wrap=True)
    else:
        say(
            _text(
                f"native: {n_rules - len(library_only)} of {n_rules} rules run natively; "
                f"{len(library_only)} run in the library only:"
            ),
            soft_wrap=True,
        )
        for r in library_only:
            say(_text(f"  {r.describe()}"), soft_wrap=True)
    say(_text(f"hash: {pack.hash}"), soft_wrap=True)


@rules_grp.command("test")
@click.argument("directory", metavar="DIR")
@click.option("-k", "name_filter", default="", metavar="TEXT", help="Run only tests whose name contains TEXT.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@handle_errors
def test_cmd(directory: str, name_filter: str, as_json: bool) -> None:
    """Run a rule pack's tests (tests/*.yaml) and report like a test runner."""
    from lifecycle.load.rulepack import load_pack
    from lifecycle.load.ruletests import run_pack_tests

    pack = load_pack(directory)
    report = run_pack_tests(pack, name_filter)
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
    from lifecycle.cli.output import emit_json, ws_from
    from lifecycle.services.context import open_context
    from lifecycle.services.portfolio import diff_packs

    c = open_context(ws_from(ctx))
    try:
        changes, n = diff_packs(c, new_dir, against)
    finally:
        c.close()
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
    from lifecycle.expr import FUNCTION_DOCS

    for name, doc in FUNCTION_DOCS.items():
        click.echo(f"{name:<18} {doc}")

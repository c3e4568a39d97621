"""``pmo gate check|sweep|approve|waive|reviews``, ``pmo advance`` and ``pmo audit show|verify|anchor``."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import click

from lifecycle.cli.output import console, echo, emit_json, esc, handle_errors, run_in_context, warn
from lifecycle.cli.record import DATE
from lifecycle.services import audit, explain, gates, projects
from lifecycle.services.portfolio import SweepStats, sweep

MARK = {
    "pass": ("✓", "green"),
    "fail": ("✗", "red"),
    "error": ("!", "red"),
    "waived": ("~", "yellow"),
    "not_applicable": ("-", "dim"),
}
VERDICT = {"go": ("GO", "green"), "conditional_go": ("CONDITIONAL GO", "yellow"), "no_go": ("NO-GO", "red")}


def _run(ctx: click.Context, fn: Any) -> Any:
    return run_in_context(ctx, fn)


def print_decision(d: Any, *, verbose: bool = False, lang: str = "en") -> None:
    out = console()
    first, second = ("zh", "en") if lang.startswith("zh") else ("en", "zh")
    word, colour = VERDICT.get(d.decision, (d.decision, "white"))
    counts = d.counts()
    out.print(
        f"[bold]{esc(d.project)}[/bold]  {d.from_phase} → {d.to_phase}  ({esc(d.transition)})   "
        f"[bold {colour}]{word}[/bold {colour}]"
    )
    out.print(
        f"rules: {counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors, "
        f"{counts['waived']} waived, {counts['not_applicable']} not applicable   "
        f"pack {esc(d.pack.name)} {esc(d.pack.version)} ({d.pack.hash[:12]})   facts {d.facts_hash[:12]}"
    )
    for r in d.results:
        if r.outcome in ("pass", "not_applicable") and not verbose:
            continue
        mark, col = MARK.get(r.outcome, ("?", "white"))
        sev = "" if r.severity == "blocking" else " (warning)"
        title = r.title.get(first) or r.title.get(second) or ""
        out.print(f" [{col}]{mark} {r.outcome:<7}[/{col}] {esc(r.id)}{sev}: {esc(title)}")
        if r.outcome in ("fail", "error", "waived"):
            if r.message:
                out.print(f"     {esc(r.message)}")
            if r.error:
                out.print(f"     [red]evaluation error:[/red] {esc(r.error)}")
            if r.evidence:
                shown = esc(", ".join(f"{e.id} {e.label}".strip() for e in r.evidence[:10]))
                more = f" … and {len(r.evidence) - 10} more" if len(r.evidence) > 10 else ""
                out.print(f"     evidence: {shown}{more}")
            if r.waiver is not None:
                w = r.waiver
                out.print(f"     waived by {esc(w.granted_by)} ({esc(w.role)}) until {w.expires_on}: {esc(w.reason)}")
            if r.source:
                out.print(f"     [dim]source: {esc(r.source)}[/dim]")
    a = d.approvals
    if a.required:
        state = "[green]complete[/green]" if a.satisfied else "[red]missing: " + esc(", ".join(a.missing)) + "[/red]"
        out.print(f"approvals ({esc(a.rule)}): {state}")
        for v in a.votes:
            said = f": {esc(v.comment)}" if v.comment else ""
            out.print(f"   {esc(v.decision)} by {esc(v.by)} as {esc(v.role)} at {v.at}{said}")
        if getattr(a, "rejected_by", ()):
            out.print(f"   [red]rejected by {esc(', '.join(a.rejected_by))}[/red]")
    if d.decision != "no_go" and a.satisfied:
        out.print(f"→ `pmo advance {esc(d.project)} --to {d.to_phase}` may proceed")


@click.group("gate")
def gate_grp() -> None:
    """Check a gate, approve it, waive a rule, list reviews."""


@gate_grp.command("check")
@click.argument("code")
@click.option("--to", "to", metavar="PHASE", help="Target phase (default: the next phase).")
@click.option("--all", "verbose", is_flag=True, help="Also list passing rules.")
@click.option("--record", is_flag=True, help="Store this decision as a gate review (without advancing).")
@click.option("--as-of", "as_of", type=DATE, help="Evaluate as on this date (the project as stored now).")
@click.option("--explain", "explained", is_flag=True, help="For each failing rule, the conditions that failed.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def gate_check(
    ctx: click.Context,
    code: str,
    to: str | None,
    verbose: bool,
    record: bool,
    as_of: date | None,
    explained: bool,
    as_json: bool,
) -> None:
    """Evaluate the gate and explain the decision: go, conditional go or no-go.

    Exit code 0 when the gate would let the project through, 1 when not (no-go or approvals missing).
    """

    def run(c: Any) -> Any:
        c = explain.dated(c, as_of)
        d = gates.check_gate(c, code, to)
        d = gates.record_review(c, d) if record else d
        lang = explain.project_language(c, code)
        return d, (explain.explain_decision(c, d) if explained else {}), lang, projects.calendar_warnings_of(c, code)

    d, why, lang, warnings = _run(ctx, run)
    warn(warnings)
    if as_json:
        out = d.to_dict()
        if explained:
            out["explanations"] = {rid: part.to_dict() for rid, part in why.items()}
        emit_json(out)
    else:
        print_decision(d, verbose=verbose, lang=lang)
        for rid, part in why.items():
            console().print(f"[bold]why {esc(rid)} fails:[/bold]", highlight=False)
            for line in explain.explanation_lines(part):
                console().print("   " + line, markup=False, highlight=False, soft_wrap=True)
        if record:
            echo(f"recorded as {d.id}")
    if not d.allows_advance:
        raise SystemExit(1)


@gate_grp.command("sweep")
@click.option(
    "--only",
    "only",
    type=click.Choice(["go", "conditional_go", "no_go"]),
    multiple=True,
    help="Only projects with this decision (repeatable).",
)
@click.option(
    "--no-cache",
    "no_cache",
    is_flag=True,
    help="Evaluate every project; do not read or keep the decisions cached by earlier sweeps.",
)
@click.option("--as-of", "as_of", type=DATE, help="Evaluate as on this date (the projects as stored now).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def gate_sweep(ctx: click.Context, only: tuple[str, ...], no_cache: bool, as_of: date | None, as_json: bool) -> None:
    """The next-gate decision of every project in the portfolio, one line each.

    Decisions are kept per project under a hash of everything they depend on (the project's stored
    version, the rule pack, today's date, waivers, approval votes and the engine), so a sweep only
    evaluates the projects that changed since the last one; the first sweep of a day evaluates all.
    Exit code 0 whatever the decisions are (a sweep reports; `pmo gate check` enforces).
    """
    stats = SweepStats()
    t0 = time.perf_counter()
    decisions = _run(ctx, lambda c: sweep(explain.dated(c, as_of), use_cache=not no_cache, stats=stats))
    seconds = time.perf_counter() - t0
    shown = [d for d in decisions if not only or d.decision in only]
    if as_json:
        emit_json(
            {
                "projects": stats.projects,
                "with_next_gate": len(decisions),
                "cached": stats.cached,
                "evaluated": stats.evaluated,
                "seconds": round(seconds, 3),
                "decisions": [d.to_dict() for d in shown],
            }
        )
        return
    out = console()
    width = max((len(d.project) for d in shown), default=7)
    for d in shown:
        word, colour = VERDICT.get(d.decision, (d.decision, "white"))
        counts = d.counts()
        blocking = esc(", ".join(r.id for r in d.blocking[:4]) + (" …" if len(d.blocking) > 4 else ""))
        approvals = "" if d.approvals.satisfied else "  approvals missing"
        out.print(
            f"{esc(d.project):<{width}}  {d.from_phase} → {d.to_phase:<10} [{colour}]{word:<14}[/{colour}] "
            f"{counts['fail']} failed, {counts['error']} errors{approvals}"
            + (f"  [dim]{blocking}[/dim]" if blocking else "")
        )
    tally = {k: sum(1 for d in decisions if d.decision == k) for k in VERDICT}
    out.print(
        f"{stats.projects} projects, {len(decisions)} with a next gate: {tally['go']} go, "
        f"{tally['conditional_go']} conditional go, {tally['no_go']} no-go "
        f"({stats.evaluated} evaluated, {stats.cached} from the last sweep; {seconds:.1f} s)"
    )


@gate_grp.command("approve")
@click.argument("code")
@click.option("--as", "role", required=True, help="The role you approve in (e.g. sponsor).")
@click.option(
    "--by",
    "by",
    default=None,
    help="pmo_admin only: record an approval given elsewhere on behalf of this person (id or full name).",
)
@click.option("--comment", default="")
@click.option("--reject", is_flag=True, help="Record a rejection instead (it blocks the gate).")
@click.option("--to", "to", metavar="PHASE", help="The gate reaching this phase (default: the next).")
@click.pass_context
@handle_errors
def gate_approve(
    ctx: click.Context, code: str, role: str, by: str | None, comment: str, reject: bool, to: str | None
) -> None:
    """Approve (or reject) the next gate in a role you hold; valid only for the project as it is now.

    You act as the signed-in user (`pmo login`, or PMO_USER=<email> in embedded mode).
    """
    res = _run(ctx, lambda c: gates.approve(c, code, role=role, by=by, comment=comment, reject=reject, to=to))
    verb = "rejected" if reject else "approved"
    state = "complete" if res["satisfied"] else "still missing: " + ", ".join(res["missing"])
    vote = res["vote"]
    behalf = f" (recorded by {vote['recorded_by']})" if vote.get("recorded_by") else ""
    echo(
        f"{code} {res['transition']}: {verb} by {vote['by']} as {role}{behalf}; "
        f"approvals ({res['requirement']}) {state}"
    )


@gate_grp.command("waive")
@click.argument("code")
@click.option("--rule", required=True, help="Rule id to waive.")
@click.option("--as", "role", required=True, help="Your role (the pack says which roles may waive).")
@click.option(
    "--by",
    "by",
    default=None,
    help="pmo_admin only: record a waiver granted elsewhere on behalf of this person (id or full name).",
)
@click.option("--reason", required=True)
@click.option("--until", type=DATE, required=True, help="Last day the waiver holds.")
@click.pass_context
@handle_errors
def gate_waive(ctx: click.Context, code: str, rule: str, role: str, by: str | None, reason: str, until: date) -> None:
    """Waive one rule until a date, with the reason, in a role you hold; shown on every decision and document."""
    w = _run(ctx, lambda c: gates.waive(c, code, rule=rule, role=role, by=by, reason=reason, until=until))
    echo(f"{code}: rule {w.rule} waived by {w.granted_by} ({w.role}) until {w.expires_on} [{w.id}]")


@gate_grp.command("reviews")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def gate_reviews(ctx: click.Context, code: str, as_json: bool) -> None:
    """List the recorded gate reviews of a project."""
    reviews = _run(ctx, lambda c: gates.gate_reviews(c, code))
    if as_json:
        emit_json([r.to_dict() for r in reviews])
        return
    if not reviews:
        echo(f"{code}: no gate reviews yet")
    for r in reviews:
        echo(
            f"{r.id}  {r.evaluated_at}  {r.from_phase} → {r.to_phase}  {r.decision}"
            f"{'  advanced' if r.advanced else ''}  by {r.evaluated_by}"
        )


@click.command("advance")
@click.argument("code")
@click.option("--to", "to", metavar="PHASE", help="Target phase (default: the next phase).")
@click.option("--transition", help="Name of the transition to take (e.g. hold, resume, cancel).")
@click.option("--reason", default="", help="Why (recorded with the phase change).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def advance_cmd(
    ctx: click.Context, code: str, to: str | None, transition: str | None, reason: str, as_json: bool
) -> None:
    """Move a project through its gate. No-go changes nothing and exits 1 with the reasons."""
    res = _run(ctx, lambda c: gates.advance(c, code, to, transition=transition, reason=reason))
    if as_json:
        emit_json(res)
        return
    echo(f"{code}: {res['from']} → {res['to']} ({res['decision'].replace('_', ' ')}, review {res['review']})")
    for n in res["notes"]:
        echo(f"  {n}")


@click.group("audit")
def audit_grp() -> None:
    """Show or verify the audit trail."""


@audit_grp.command("show")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True)
@click.option("--last", type=int, default=0, help="Only the last N events.")
@click.pass_context
@handle_errors
def audit_show(ctx: click.Context, code: str, as_json: bool, last: int) -> None:
    """The project's audit trail, oldest first."""
    events = _run(ctx, lambda c: gates.audit_trail(c, code))
    if last:
        events = events[-last:]
    if as_json:
        emit_json(
            [
                {
                    "seq": e.seq,
                    "at": e.at,
                    "actor": e.actor,
                    "action": e.action,
                    "entity": e.entity,
                    "entity_id": e.entity_id,
                    "data": e.data,
                    "hash": e.hash,
                }
                for e in events
            ]
        )
        return
    for e in events:
        what = f"{e.entity} {e.entity_id}".strip()
        echo(f"{e.seq:>5}  {e.at:%Y-%m-%d %H:%M:%S}  {e.actor:<12} {e.action:<22} {what}{_gist(e.data)}{_who(e.data)}")


def _who(data: dict[str, Any]) -> str:
    """Who recorded the event and how they signed in (events by a signed-in user carry it)."""
    if not data.get("user_id"):
        return ""
    if data.get("on_behalf_of"):
        return f"  [recorded by {data.get('recorded_by', data['user_id'])} on behalf of {data['on_behalf_of']}; " + (
            f"user {data['user_id']} via {data.get('auth_method', '?')}]"
        )
    return f"  [user {data['user_id']} via {data.get('auth_method', '?')}]"


def _gist(data: dict[str, Any]) -> str:
    """A few words on what an audit event changed, for the one-line listing."""
    if "from" in data and "to" in data:
        out = f"  {data['from']} → {data['to']}"
        if data.get("decision"):
            out += f" ({str(data['decision']).replace('_', ' ')})"
        return out + (f": {data['reason']}" if data.get("reason") else "")
    if "role" in data and "by" in data:
        return f"  {data.get('decision', '')} by {data['by']} as {data['role']}".replace("  by", " by")
    if "rule" in data and "expires_on" in data:
        return f"  {data['rule']} until {data['expires_on']} by {data.get('granted_by', '')}"
    if isinstance(data.get("fields"), dict) and data["fields"]:
        return "  " + ", ".join(sorted(data["fields"]))[:80]
    if isinstance(data.get("changes"), list) and data["changes"]:
        parts = [f"{c.get('section')} {c.get('key')}" for c in data["changes"][:4]]
        more = f" … +{len(data['changes']) - 4}" if len(data["changes"]) > 4 else ""
        return "  " + ", ".join(parts) + more
    return ""


@audit_grp.command("verify")
@click.argument("code", required=False)
@click.pass_context
@handle_errors
def audit_verify(ctx: click.Context, code: str | None) -> None:
    """Check every project's trail (or one's): the hash chain, the MACs with the audit key, the stored
    state against the last event, and the anchors of issued documents. Exit 1 on any problem."""
    report = _run(ctx, lambda c: audit.verify(c, code))
    for note in report.notes:
        echo(f"NOT ANCHORED: {note}")
    if report.problems:
        for p in report.problems:
            echo(f"TAMPERED {p}")
        raise SystemExit(1)
    what = "audit trail intact" + (f" for {code}" if code else " for every project")
    echo(what + (" (anchored with the audit key)" if report.anchored else ""))


@audit_grp.command("anchor")
@click.pass_context
@handle_errors
def audit_anchor(ctx: click.Context) -> None:
    """Make the audit key (if there is none) and seal every project's trail with one audited event."""
    res = _run(ctx, audit.anchor)
    if res.key_created:
        echo(f"audit key created: {res.key_path} (mode 0600; keep a copy away from the database)")
    else:
        echo("audit key: " + (res.key_path or "PMO_AUDIT_KEY"))
    sealed = f": {', '.join(res.sealed)}" if res.sealed else ""
    echo(f"sealed the trail of {len(res.sealed)} project(s){sealed}")

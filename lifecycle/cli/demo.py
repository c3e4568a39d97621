"""``pmo demo``: the main job, a sample client project walked from initiation to closed.

On the embedded default (SQLite in a fresh workspace, flows in process, a local SMTP server on
127.0.0.1) it applies a sample, shows the gates refusing until the data is fixed, records what the
team and the client do as simulated time passes (through the same audited services the CLI uses),
runs the milestone and close-out flows that check quality, issue the client documents and e-mail
them, and ends with a summary of where everything is. Dates are simulated: the walk-through moves
"today" through the project's own calendar.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import default
from pathlib import Path
from typing import Any

import click
from aiosmtpd.controller import Controller
from rich.markup import escape

from lifecycle.cli.flows import run_flow
from lifecycle.cli.output import console, handle_errors
from lifecycle.services import client_acceptance as ca
from lifecycle.services import gates, simulate
from lifecycle.services.context import Settings, Workspace, open_context, read_runtime
from lifecycle.services.documents import issue_document, list_documents
from lifecycle.services.identity import create_user, list_users, principal_from_env
from lifecycle.services.milestones import complete_milestone
from lifecycle.services.projects import apply_files, get_project, init_workspace, load_rules, set_fields, tally
from lifecycle.services.rules import walk_route

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = {"zh": "zh-smart-factory.yaml", "en": "en-clinic-portal.yaml"}
DEMO_ADMIN = "pmo-admin@supplier.example.com"
DEMO_PASSWORD = "demo-password-2026"  # a throw-away demo workspace: every demo user signs in with it


def _examples_dir() -> Path:
    for p in (ROOT / "examples", Path.cwd() / "examples"):
        if p.is_dir():
            return p
    raise click.ClickException("cannot find the examples/ folder (run from the repository)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_mailbox(folder: Path) -> tuple[Any, int]:
    folder.mkdir(parents=True, exist_ok=True)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            n = len(list(folder.glob("*.eml"))) + 1
            (folder / f"{n:03d}.eml").write_bytes(envelope.original_content or envelope.content)
            return "250 Message accepted for delivery"

    port = _free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port


class DemoStopped(click.ClickException):
    """The walk cannot go on with this rule pack (the message says exactly why)."""


def waiver_roles(c: Any) -> list[str]:
    return list(load_rules(c).waiver_policy.roles)


class Walk:
    """One sample's walk-through, step by step, printing what happens."""

    def __init__(self, out: Any, ws: Any, sample: Path, docs_dir: Path) -> None:
        self.out = out
        self.ws = ws
        self.sample = sample
        self.docs_dir = docs_dir
        self.code = ""
        self.issued: list[str] = []
        self.emails: dict[str, str] = {}  # person or contact id -> the e-mail of their user

    # -------------------------------------------------------------- helpers
    def ctx(self, who: str = "") -> Any:
        """A service context; with ``who`` (a person or contact id of the project) acting as that person."""
        c = open_context(self.ws)
        if who:
            c.principal = principal_from_env(c, self.emails[who])
        return c

    def add_users(self, p: Any, extra: Iterable[str] = ()) -> None:
        """Users for the sample's sponsor, PM, client representative and steering members (by their
        e-mail), and for anyone in ``extra`` (holders of the roles a custom rule pack asks for)."""
        ch = p.charter
        wanted = {ch.sponsor, ch.project_manager, ch.client_representative, *ch.steering, *extra} - {""}
        everyone = {x.id: x for x in (*p.people, *p.contacts)}
        missing = sorted(pid for pid in wanted if not getattr(everyone.get(pid), "email", ""))
        if missing:
            raise DemoStopped(f"{', '.join(missing)} of the sample must act but has no e-mail address to sign in with")
        with self.ctx() as c:
            c.principal = principal_from_env(c, DEMO_ADMIN)
            known = {u.email.lower() for u in list_users(c)}
            created = []
            for pid in sorted(wanted):
                person = everyone[pid]
                self.emails[pid] = person.email.lower()
                if person.email.lower() not in known:
                    create_user(c, email=person.email, name=person.name, password=DEMO_PASSWORD, locale=ch.locale)
                    created.append(self.emails[pid])
        if created:
            self.say(f"  users: {', '.join(created)}")

    def at(self, day: date) -> None:
        # the environment carries the simulated day to the flows run in this process (each task opens
        # its workspace from it); this walk's own contexts get it through the workspace's runtime
        os.environ["PMO_TODAY"] = day.isoformat()
        os.environ["PMO_NOW"] = datetime(day.year, day.month, day.day, 9, 0, tzinfo=timezone.utc).isoformat()
        self.ws = replace(self.ws, runtime=read_runtime())

    def say(self, text: str) -> None:
        self.out.print(text)

    def step(self, day: date, text: str) -> None:
        self.at(day)
        self.out.print(f"\n[bold cyan]{day}[/bold cyan]  [bold]{text}[/bold]")

    def decision(self, to: str | None = None) -> Any:
        with self.ctx() as c:
            return gates.check_gate(c, self.code, to)

    def show_decision(self, d: Any) -> None:
        word = {
            "go": "[green]GO[/green]",
            "conditional_go": "[yellow]CONDITIONAL GO[/yellow]",
            "no_go": "[red]NO-GO[/red]",
        }[d.decision]
        n = d.counts()
        self.say(
            f"  gate {d.from_phase} → {d.to_phase}: {word}  ({n['pass']} passed, {n['fail']} failed, "
            f"{n['waived']} waived)"
            + ("" if d.approvals.satisfied else f"; approvals missing: {', '.join(d.approvals.missing)}")
        )
        for r in d.results:
            if r.outcome in ("fail", "error"):
                ev = ", ".join(e.id for e in r.evidence[:5])
                title = escape(r.title.get("en", ""))
                self.say(f"    [red]✗[/red] {r.id} {title}" + (escape(f"  [{ev}]") if ev else ""))

    def advance(self, to: str | None, reason: str = "") -> dict[str, Any]:
        with self.ctx() as c:
            res: dict[str, Any] = gates.advance(c, self.code, to, reason=reason)
        self.say(
            f"  [green]→ {res['from']} → {res['to']}[/green] ({res['decision'].replace('_', ' ')}, "
            f"review {res['review']})" + "".join(f"; {n}" for n in res["notes"])
        )
        return res

    def advance_to(self, target: str, reason: str) -> None:
        """Move on until the project is in ``target``: the phases a custom pack adds on the way are
        walked through with a generic gate pass (approvals by the role holders, waivers where the
        pack allows them); a gate that still refuses stops the walk, saying why."""
        for _ in range(20):  # a route longer than this is not a forward route
            with self.ctx() as c:
                if get_project(c, self.code).phase == target:
                    return
                d = gates.check_gate(c, self.code)
                if d.to_phase != target:
                    self.say(f"  [cyan]phase '{d.to_phase}' of this rule pack[/cyan]: the walk passes its gate")
                self._generic_pass(c, d)
                d = gates.check_gate(c, self.code)
                if not d.allows_advance:
                    raise DemoStopped(
                        f"the walk cannot pass the gate {d.from_phase} → {d.to_phase} of this rule pack: "
                        + gates.describe_refusal(d)
                    )
            self.advance(None, reason if d.to_phase == target else f"{reason} (on the way: {d.to_phase})")
        raise DemoStopped(f"the rule pack's forward route never reaches '{target}'")

    def _generic_pass(self, c: Any, d: Any) -> None:
        """Waive blocking rules (as a role the pack lets waive) and give missing approvals."""
        p = get_project(c, self.code)
        day = datetime.fromisoformat(os.environ.get("PMO_TODAY", date.today().isoformat())).date()
        blocking = [r for r in d.results if r.blocks]
        if blocking:
            roles = [r for r in waiver_roles(c) if gates.holders(p, r)]
            if not roles:
                raise DemoStopped(
                    f"the gate {d.from_phase} → {d.to_phase} is no-go ({', '.join(r.id for r in blocking)}) and "
                    "no one in the sample holds a role this pack lets waive"
                )
            who = sorted(gates.holders(p, roles[0]))[0]
            self.add_users(p, [who])
            with self.ctx(who) as cw:  # the holder waives as themself
                for r in blocking:
                    gates.waive(cw, self.code, rule=r.id, role=roles[0], reason="Demo walk", until=day)
                    self.say(f"    · [yellow]waiver[/yellow] {r.id} by {who} as {roles[0]}")
        for missing in d.approvals.missing:
            roles = missing.split(": ", 1)[1].split(", ") if ": " in missing else [missing]
            voters = sorted({(who, role) for role in roles for who in gates.holders(p, role)})
            if not voters:
                raise DemoStopped(f"no one in the sample holds the role(s) {', '.join(roles)} this gate needs")
            self.add_users(p, [who for who, _ in voters])
            for who, role in voters:
                self.approve(who, role, "Demo walk")

    def flow(self, name: str, **params: Any) -> Any:
        t0 = time.perf_counter()
        result = run_flow(self.ws, name, params)
        self.say(f"  flow [magenta]{name}[/magenta] finished in {time.perf_counter() - t0:.1f} s")
        return result

    def document(self, kind: str, **kw: Any) -> None:
        with self.ctx() as c:
            doc = issue_document(c, self.code, kind, **kw)
        self.issued.append(doc.path)
        self.say(f"  document {doc.number}: {doc.path}")

    # -------------------------------------------------------------- the walk
    def run(self) -> str:
        with self.ctx() as c:
            project = apply_files(c, [self.sample])[0]
            self.code = project.code
            p = get_project(c, self.code)
        self.add_users(p)
        ch = p.charter
        start = ch.start or date.today()
        self.step(start - timedelta(days=7), f"{self.code} · {ch.name} · {ch.client.name}")
        self.say(
            f"  applied {self.sample.name}: {len(p.tasks)} tasks, {len(p.risks)} risks, "
            f"{len(p.deliverables)} deliverables, {len(p.milestones)} milestones, locale {ch.locale}"
        )

        d = self.decision()
        self.show_decision(d)
        self.advance_to("planning", "Charter approved")
        self.document("gate_review")

        self.step(start - timedelta(days=2), "Planning gate: is the plan ready for execution?")
        d = self.decision()
        self.show_decision(d)
        self.say("  the project manager fixes what the gate found:")
        with self.ctx() as c:
            p = get_project(c, self.code)
            fixes = self._fix_plan(c, p, d)
            for f in fixes:
                self.say(f"    · {f}")
            d = gates.check_gate(c, self.code)
            remaining = [r for r in d.results if r.blocks]
            sponsor = self.ctx(ch.sponsor)  # the sponsor waives as themself
            for r in remaining:
                w = gates.waive(
                    sponsor,
                    self.code,
                    rule=r.id,
                    role="sponsor",
                    reason=(
                        "指导委员会接受，执行第一阶段内整改"
                        if ch.locale == "zh-CN"
                        else "Accepted by the steering committee; to be fixed in the first sprint"
                    ),
                    until=start + timedelta(days=45),
                )
                self.say(f"    · [yellow]waiver[/yellow] {w.rule} granted by {w.granted_by} until {w.expires_on}")
            sponsor.close()
            for role, who in (("sponsor", ch.sponsor), ("client_representative", ch.client_representative)):
                self.approve(who, role, "Plan approved")
        self.show_decision(self.decision())
        self.advance_to("execution", "Plan approved at the steering committee")

        milestones = sorted(p.milestones, key=lambda m: m.date)
        final_day = max(m.date for m in milestones)
        for ms in milestones:
            self.step(ms.date, f"Milestone {ms.id} {ms.name} ({ms.kind})")
            with self.ctx() as c:
                counts = simulate.work_until(c, self.code, ms.date)
                self.say(
                    f"  recorded: {counts['done']} tasks done, {counts['costs']} cost entries, "
                    f"{counts['risks_reviewed']} risk reviews, status report and progress meeting"
                )
                flawed = {ms.deliverables[-1]: 2} if ms.deliverables and ms.date == final_day else {}
                if ms.deliverables:
                    simulate.submit_deliverables(
                        c, self.code, list(ms.deliverables), self.ws.deliverables_dir, ms.date, defects=flawed
                    )
                    self.say(
                        f"  deliverables handed in: {', '.join(ms.deliverables)}"
                        + (f" ({', '.join(flawed)} still with 2 open defects)" if flawed else "")
                    )
                complete_milestone(c, self.code, ms.id, on=ms.date)
            result = self.flow("milestone_reached", project=self.code, milestone=ms.id)
            self._report_flow(result)
            if flawed and isinstance(result, dict) and result.get("failed"):
                self.step(ms.date + timedelta(days=3), "The team fixes the defects; the milestone flow runs again")
                with self.ctx() as c:
                    simulate.fix_defects(c, self.code, list(flawed), ms.date + timedelta(days=3))
                result = self.flow("milestone_reached", project=self.code, milestone=ms.id)
                self._report_flow(result)
            if ms.kind == "acceptance" and ms.deliverables and not self.answer_by_link(ms):
                with self.ctx() as c:
                    simulate.accept_deliverables(
                        c, self.code, ms.id, ms.date + timedelta(days=4), evidence=self._certificate(c, ms.id)
                    )
                self.say(f"  client accepted {', '.join(ms.deliverables)} against the certificate")

        end = max(final_day, ch.finish or final_day)
        self.step(end, "Stage review: execution → control")
        with self.ctx() as c:
            simulate.work_until(c, self.code, end)
        self.show_decision(self.decision())
        self.advance_to("control", "All work packages complete")
        self.document("status")

        self.step(end + timedelta(days=1), "Ready for closure? The client signs off")
        with self.ctx() as c:
            simulate.close_out_records(c, self.code, end + timedelta(days=1), self.ws.deliverables_dir / "handover")
        self.say(
            "  recorded: client sign-off, lessons learned, handover of every deliverable with checksums, "
            "training, satisfaction survey, final cost statement"
        )
        self.show_decision(self.decision())
        self.advance_to("closure", "Client sign-off received")

        self.step(end + timedelta(days=3), "Close-out: final acceptance report and handover package to the client")
        for who in list(ch.steering)[:2]:
            self.approve(who, "steering", "Close the project")
        result = self.flow("closeout", project=self.code)
        self._report_flow(result)
        return self.code

    # -------------------------------------------------------------- pieces
    def approve(self, who: str, role: str, comment: str) -> None:
        """``who`` approves the next gate in ``role``, signed in as themself."""
        with self.ctx(who) as c:
            gates.approve(c, self.code, role=role, comment=comment)
        self.say(f"    · approval by {who} ({self.emails[who]}) as {role}")

    def _fix_plan(self, c: Any, p: Any, d: Any) -> list[str]:
        done = []
        pm = p.charter.project_manager
        failing = {r.id: r for r in d.results if r.outcome == "fail"}
        evidence_ids = {e.id for r in failing.values() for e in r.evidence}
        for t in p.leaf_tasks():
            if not t.owner and t.id in evidence_ids:
                owner = next((a.person for a in p.assignments if a.task == t.id), pm)
                set_fields(c, self.code, "tasks", t.id, {"owner": owner}, action="task.updated")
                done.append(f"task {t.id} gets an owner: {owner}")
        for r in p.risks:
            if r.id in evidence_ids and (not r.owner or not r.response_plan):
                zh_plan = "与供应商签订接口开放承诺，并准备文件导出备选方案"
                en_plan = "Written API access commitment from the vendor; file export as fallback"
                plan = r.response_plan or (zh_plan if p.charter.locale == "zh-CN" else en_plan)
                set_fields(
                    c,
                    self.code,
                    "risks",
                    r.id,
                    {"owner": r.owner or pm, "strategy": r.strategy or "mitigate", "response_plan": plan},
                    action="risk.updated",
                )
                done.append(f"risk {r.id} gets an owner and a response plan")
        return done

    def answer_by_link(self, ms: Any) -> bool:
        """The client representative opens the link in the certificate's e-mail and accepts every deliverable.

        False when no e-mail with a link arrived for this milestone (the caller records the acceptance then).
        """
        token = ""
        for path in sorted((self.docs_dir.parent / "mail").glob("*.eml")):
            msg = message_from_bytes(path.read_bytes(), policy=default)
            body = msg.get_body(("plain",))
            found = re.search(r"/accept/(\S+)", body.get_content()) if body is not None else None
            if found and f"-ACC-{ms.id}-" in str(msg.get("X-PMO-Document", "")):
                token = found.group(1)
        if not token:
            return False
        self.at(ms.date + timedelta(days=4))
        with self.ctx() as c:
            view = ca.open_link(c, token)
            answers = [ca.DeliverableAnswer(d.id, "accept") for d in view.deliverables]
            out = ca.submit_answer(c, token, answers, view.recipient_name, "127.0.0.1", "pmo demo")
        if out.countersigned_path:
            self.issued.append(out.countersigned_path)
        self.say(
            f"  {view.recipient_name} accepted {', '.join(out.verdicts)} through the link in the e-mail; "
            f"countersigned copy {out.countersigned} sent to {', '.join(out.emailed)}; next: {out.next_event}"
        )
        for problem in out.problems:
            self.say(f"  [red]{problem}[/red]")
        return True

    def _certificate(self, c: Any, milestone: str) -> str:
        docs = [x for x in list_documents(c, self.code) if x.kind == "acceptance" and x.subject == milestone]
        if docs:
            self.issued.append(docs[-1].path)
            return f"{docs[-1].number} (sha256 {docs[-1].sha256[:12]}…)"
        return f"{self.code}-{milestone} acceptance meeting minutes"

    def _report_flow(self, result: Any) -> None:
        if not isinstance(result, dict):
            return
        checks = result.get("checks")
        if checks is not None:
            failed = result.get("failed") or []
            self.say(
                f"    quality checks: {len(checks) - len(failed)} passed, {len(failed)} failed"
                + (f" ({', '.join(failed)})" if failed else "")
                + f"; status report {result.get('status_report')}"
            )
        docs = [result["document"]] if result.get("document") else list(result.get("documents") or [])
        deliveries = [result["delivery"]] if result.get("delivery") else list(result.get("deliveries") or [])
        for doc, sent in zip(docs, deliveries + [None] * (len(docs) - len(deliveries)), strict=False):
            to = ", ".join(sent.get("to", [])) if isinstance(sent, dict) else ""
            state = sent.get("status", "") if isinstance(sent, dict) else "not sent"
            self.issued.append(str(doc.get("path", "")))
            self.say(f"    document {doc.get('number')} issued, e-mail {state}" + (f" to {to}" if to else ""))
        if result.get("acceptance", "").startswith("withheld"):
            self.say(f"    [red]acceptance certificate {result['acceptance']}[/red]")
        if "closed" in result:
            self.say("    project closed" if result["closed"] else f"    [red]not closed: {result.get('reason')}[/red]")


@click.command("demo")
@click.option("--sample", type=click.Choice(["zh", "en", "both"]), default="both", show_default=True)
@click.option(
    "--out",
    "out_dir",
    default="out/demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the demo workspace (replaced on each run).",
)
@click.option("--rules", "rules_dir", metavar="DIR", help="Walk this rule pack's lifecycle (default: the shipped one).")
@click.pass_context
@handle_errors
def demo_cmd(ctx: click.Context, sample: str, out_dir: str, rules_dir: str | None) -> None:
    """Walk sample client projects from initiation to closed: gates, flows, PDFs, e-mail.

    With a rule pack of your own (`--rules DIR`), phases it adds on the way are passed with approvals
    by the role holders and waivers where the pack allows; what the walk cannot do is said before it starts.
    """
    out = console()
    rules_dir = rules_dir or (ctx.find_root().obj or {}).get("rules") or os.environ.get("PMO_RULES")
    if rules_dir:
        route, problems = walk_route(rules_dir)
        if problems:
            raise DemoStopped(
                "pmo demo cannot walk this rule pack: " + "; ".join(problems) + ". The walk's script fills "
                "the phases planning, execution, control and closure with work, in that order."
            )
        rules_dir = str(Path(rules_dir).resolve())
        out.print(f"rule pack {rules_dir}: forward route {' → '.join(route)}")
    root = Path(out_dir).resolve()
    if root.exists():
        shutil.rmtree(root)
    ws_root = root / ".pmo"
    ws_root.mkdir(parents=True)
    mailbox, port = start_mailbox(root / "mail")
    settings = Settings(
        rules=rules_dir or "",
        documents_dir=str(root / "documents"),
        deliverables_dir=str(root / "deliverables"),
        smtp={"host": "127.0.0.1", "port": port, "from": "pmo@supplier.example.com"},
    )
    (ws_root / "settings.yaml").write_text(
        f"documents_dir: {root / 'documents'}\ndeliverables_dir: {root / 'deliverables'}\n"
        f"smtp:\n  host: 127.0.0.1\n  port: {port}\n"
        "  from: pmo@supplier.example.com\n" + (f"rules: {json.dumps(rules_dir)}\n" if rules_dir else ""),
        encoding="utf-8",
    )
    ws = Workspace(ws_root, settings)
    os.environ["PMO_WORKSPACE"] = str(ws_root)
    os.environ.setdefault("PMO_FLOW_RETRY_DELAYS", "1,2")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # the walk prints what each flow did
    init_workspace(ws)  # the settings written above are kept; the database schema is created
    _add_admin(ws)
    out.print(
        f"[bold]pmo demo[/bold]: workspace {ws_root}, SMTP server on 127.0.0.1:{port}, "
        "flows embedded (no Prefect server)"
    )
    t0 = time.perf_counter()
    codes = []
    try:
        for key in ["zh", "en"] if sample == "both" else [sample]:
            walk = Walk(out, ws, _examples_dir() / SAMPLES[key], root / "documents")
            codes.append(walk.run())
    finally:
        mailbox.stop()
        os.environ.pop("PMO_TODAY", None)
        os.environ.pop("PMO_NOW", None)
    _summary(out, ws, root, codes, time.perf_counter() - t0)


def _add_admin(ws: Any) -> None:
    """Create the workspace's first user, the PMO administrator who sets up the samples' users."""
    with open_context(ws, create=True) as c:
        create_user(c, email=DEMO_ADMIN, name="PMO Administrator", password=DEMO_PASSWORD, global_roles=["pmo_admin"])


def _summary(out: Any, ws: Any, root: Path, codes: list[str], seconds: float) -> None:
    with open_context(ws) as c:
        rows, problems = tally(c, codes)
    out.print(f"\n[bold]Summary[/bold] ({seconds:.0f} s)")
    for row in rows:
        out.print(
            f"  {row.code}: phase [bold]{row.phase}[/bold], {row.audit_events} audit events, "
            f"{row.gate_reviews} gate reviews, {len(row.documents)} documents"
        )
        for d in row.documents:
            out.print(f"    {d.kind:<17} {d.path}")
    out.print("  audit trail: " + ("[green]intact[/green]" if not problems else f"[red]{problems}[/red]"))
    mails = sorted((root / "mail").glob("*.eml"))
    out.print(f"  e-mails received by the local SMTP server: {len(mails)} in {root / 'mail'}")
    for m in mails:
        msg = message_from_bytes(m.read_bytes())
        subject = str(make_header(decode_header(msg.get("Subject", ""))))
        atts = [part.get_filename() for part in msg.walk() if part.get_filename()]
        out.print(f"    {m.name} to {msg.get('To')}: {subject} [{', '.join(atts)}]", soft_wrap=True, markup=False)
    out.print(f"  database: {ws.database_url}\n  explore: PMO_WORKSPACE={ws.root} pmo show {codes[0] if codes else ''}")
    out.print(f"  users: {DEMO_ADMIN} (pmo_admin) and the samples' people, password {DEMO_PASSWORD}")
    out.print(f"  web: PMO_WORKSPACE={ws.root} pmo serve, then open http://127.0.0.1:8700 and sign in as {DEMO_ADMIN}")

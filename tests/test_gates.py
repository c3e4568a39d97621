"""Gates end to end through the CLI on the English sample: checks, fixes, approvals, waivers, audit,
illegal moves, and concurrent advances from real processes (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "en-clinic-portal.yaml"
CODE = "NHP-PORTAL-2026"


def run(*args: str, code: int = 0) -> object:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == code, res.output + (repr(res.exception) if res.exception else "")
    return res


def version() -> int:
    return int(json.loads(run("show", CODE, "--json").output)["version"])


ADMIN = "admin@pmo.example"
SPONSOR = "richard.ashworth@northbridge.example.com"
CLIENT_REP = "priya.nair@northbridge.example.com"
PM = "olivia.grant@brightwater.example.com"


def add_users(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pmo_admin, then (as the admin) the sample's sponsor, client representative and PM; act as the admin."""
    monkeypatch.delenv("PMO_USER", raising=False)
    run("user", "add", ADMIN, "--name", "PMO Admin", "--role", "pmo_admin", "--no-password")
    monkeypatch.setenv("PMO_USER", ADMIN)
    for email, name in ((SPONSOR, "Richard Ashworth"), (CLIENT_REP, "Priya Nair"), (PM, "Olivia Grant")):
        run("user", "add", email, "--name", name, "--no-password")


@pytest.fixture
def planning(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMO_TODAY", "2026-11-26")
    add_users(monkeypatch)
    run("apply", str(SAMPLE))
    out = run("advance", CODE, "--to", "planning").output
    assert "initiation → planning" in out


def test_no_go_names_the_evidence_and_changes_nothing(planning):
    before = version()
    res = run("gate", "check", CODE, "--json", code=1)
    d = json.loads(res.output)
    assert d["decision"] == "no_go" and d["to"] == "execution"
    failed = {r["id"]: r for r in d["results"] if r["outcome"] == "fail"}
    owners = next(r for r in failed.values() if any(e["id"] == "safety" for e in r["evidence"]))
    assert owners["severity"] == "blocking" and owners["source"]
    risks = next(r for r in failed.values() if any(e["id"] == "R-01" for e in r["evidence"]))
    assert risks["message"]
    res = run("advance", CODE, "--to", "execution", code=1)
    assert "refused" in res.output and "R-01" in res.output and "safety" in res.output
    assert version() == before
    assert json.loads(run("show", CODE, "--json").output)["phase"] == "planning"


def test_illegal_transition_is_refused(planning):
    res = run("advance", CODE, "--to", "closed", code=1)
    assert "no transition from 'planning' to 'closed'" in res.output and "allowed" in res.output
    res = run("advance", CODE, "--to", "nowhere", code=2)  # a mistyped phase is bad input: exit 2
    assert "unknown phase 'nowhere'" in res.output
    res = run("advance", CODE, "--to", "executon", code=2)
    assert "unknown phase 'executon'" in res.output and "execution" in res.output
    res = run("gate", "check", CODE, "--to", "nowhere", code=2)
    assert "unknown phase 'nowhere'" in res.output


def _fix_plan(planning_fix: bool = True) -> None:
    run("task", "progress", CODE, "safety", "--owner", "olivia_grant")
    run(
        "risk",
        "update",
        CODE,
        "R-01",
        "--owner",
        "olivia_grant",
        "--strategy",
        "mitigate",
        "--plan",
        "Escalate through the clinic group's contract; fall back to file export",
    )


def test_fix_approve_waive_and_advance(planning, tmp_path, monkeypatch):
    _fix_plan()
    d = json.loads(run("gate", "check", CODE, "--json", code=1).output)
    still = [r["id"] for r in d["results"] if r["outcome"] in ("fail", "error") and r["severity"] == "blocking"]
    assert still, "the sample keeps some blocking findings to waive"
    monkeypatch.setenv("PMO_USER", SPONSOR)  # each decision is taken by its role holder, acting as themself
    for rule in still:
        run(
            "gate",
            "waive",
            CODE,
            "--rule",
            rule,
            "--as",
            "sponsor",
            "--reason",
            "Accepted at steering 2",
            "--until",
            "2027-01-15",
        )
    d = json.loads(run("gate", "check", CODE, "--json", code=1).output)
    assert d["decision"] == "conditional_go"
    assert {w["rule"] for w in d["waivers"]} == set(still)
    assert d["approvals"]["satisfied"] is False
    run("gate", "approve", CODE, "--as", "sponsor", "--comment", "Plan approved")
    # a change after a vote voids it (the PM books the cost: a sponsor does not record progress)
    monkeypatch.setenv("PMO_USER", PM)
    run("cost", "add", CODE, "--amount", "100", "--category", "travel")
    d = json.loads(run("gate", "check", CODE, "--json", code=1).output)
    assert "sponsor" in d["approvals"]["missing"]
    monkeypatch.setenv("PMO_USER", SPONSOR)
    run("gate", "approve", CODE, "--as", "sponsor")
    monkeypatch.setenv("PMO_USER", CLIENT_REP)
    run("gate", "approve", CODE, "--as", "client_representative")
    monkeypatch.setenv("PMO_USER", PM)
    out = run("advance", CODE, "--to", "execution", "--reason", "Plan baselined").output
    assert "planning → execution (conditional go" in out
    reviews = json.loads(run("gate", "reviews", CODE, "--json").output)
    last = reviews[-1]
    assert last["advanced"] and last["decision"] == "conditional_go" and len(last["pack"]["hash"]) == 64
    assert len(last["facts_hash"]) == 64 and {w["rule"] for w in last["waivers"]} == set(still)
    assert [v["role"] for v in last["approvals"]["votes"]] == ["sponsor", "client_representative"]
    assert [v["by"] for v in last["approvals"]["votes"]] == ["richard_ashworth", "priya_nair"]
    trail = json.loads(run("audit", "show", CODE, "--json").output)
    actions = [e["action"] for e in trail]
    assert actions[0] == "project.created" and actions.count("phase.changed") == 2
    assert "gate.waiver" in actions and actions.count("gate.approval") == 3
    assert "intact" in run("audit", "verify").output


def test_expired_waiver_blocks_again(planning, monkeypatch):
    _fix_plan()
    d = json.loads(run("gate", "check", CODE, "--json", code=1).output)
    still = [r["id"] for r in d["results"] if r["outcome"] == "fail" and r["severity"] == "blocking"]
    monkeypatch.setenv("PMO_USER", SPONSOR)
    for rule in still:
        run(
            "gate",
            "waive",
            CODE,
            "--rule",
            rule,
            "--as",
            "sponsor",
            "--reason",
            "short",
            "--until",
            "2026-11-30",
        )
    assert json.loads(run("gate", "check", CODE, "--json", code=1).output)["decision"] == "conditional_go"
    monkeypatch.setenv("PMO_TODAY", "2026-12-01")
    d = json.loads(run("gate", "check", CODE, "--json", code=1).output)
    assert d["decision"] == "no_go"


def test_waiver_rules_are_enforced(planning):
    res = run(
        "gate",
        "waive",
        CODE,
        "--rule",
        "NOPE-1",
        "--as",
        "sponsor",
        "--by",
        "richard_ashworth",
        "--reason",
        "x",
        "--until",
        "2026-12-01",
        code=2,
    )
    assert "no rule 'NOPE-1'" in res.output
    d = json.loads(run("gate", "check", CODE, "--json", code=1).output)
    rule = next(r["id"] for r in d["results"] if r["outcome"] == "fail")
    res = run(
        "gate",
        "waive",
        CODE,
        "--rule",
        rule,
        "--as",
        "client_representative",
        "--by",
        "priya_nair",
        "--reason",
        "x",
        "--until",
        "2026-12-01",
        code=2,
    )
    assert "may not grant waivers" in res.output
    res = run(
        "gate",
        "waive",
        CODE,
        "--rule",
        rule,
        "--as",
        "sponsor",
        "--by",
        "priya_nair",
        "--reason",
        "x",
        "--until",
        "2026-12-01",
        code=2,
    )
    assert "does not hold the role 'sponsor'" in res.output
    res = run(
        "gate",
        "waive",
        CODE,
        "--rule",
        rule,
        "--as",
        "sponsor",
        "--by",
        "richard_ashworth",
        "--reason",
        "x",
        "--until",
        "2027-12-01",
        code=2,
    )
    assert "at most" in res.output


def test_a_user_without_the_role_is_refused_and_nothing_is_written(planning, monkeypatch):
    before = (version(), json.loads(run("audit", "show", CODE, "--json").output))
    monkeypatch.setenv("PMO_USER", CLIENT_REP)
    res = run("gate", "approve", CODE, "--as", "sponsor", code=1)
    assert "priya.nair@northbridge.example.com" in res.output and "may not approve gate as sponsor" in res.output
    res = run("gate", "approve", CODE, "--as", "sponsor", "--by", "richard_ashworth", code=1)
    assert "may not record on behalf" in res.output
    d = json.loads(run("gate", "check", CODE, "--json", code=1).output)
    rule = next(r["id"] for r in d["results"] if r["outcome"] == "fail")
    res = run(
        "gate", "waive", CODE, "--rule", rule, "--as", "sponsor", "--reason", "x", "--until", "2026-12-01", code=1
    )
    assert "may not waive rule" in res.output
    assert "may not advance" in run("advance", CODE, "--to", "execution", code=1).output
    monkeypatch.setenv("PMO_USER", PM)
    assert (
        "may not approve gate as client_representative"
        in run("gate", "approve", CODE, "--as", "client_representative", code=1).output
    )
    monkeypatch.delenv("PMO_USER")
    assert "nobody is signed in" in run("gate", "approve", CODE, "--as", "sponsor", code=1).output
    monkeypatch.setenv("PMO_USER", "stranger@else.example")
    assert "not an active user" in run("gate", "approve", CODE, "--as", "sponsor", code=1).output
    assert (version(), json.loads(run("audit", "show", CODE, "--json").output)) == before
    d = json.loads(run("gate", "check", CODE, "--json", code=1).output)
    assert d["approvals"]["votes"] == [] and d["waivers"] == []


def test_audit_records_the_user_and_how_they_signed_in(planning, monkeypatch):
    monkeypatch.setenv("PMO_USER", SPONSOR)
    run("gate", "approve", CODE, "--as", "sponsor")
    monkeypatch.delenv("PMO_USER")
    res = CliRunner().invoke(cli, ["login", CLIENT_REP, "--password-stdin"], input="\n")
    assert res.exit_code == 1 and "sign-in failed" in res.output  # no password set yet
    monkeypatch.setenv("PMO_USER", ADMIN)
    CliRunner().invoke(cli, ["user", "passwd", CLIENT_REP, "--password-stdin"], input="a long passphrase\n")
    monkeypatch.delenv("PMO_USER")
    res = CliRunner().invoke(cli, ["login", CLIENT_REP, "--password-stdin"], input="a long passphrase\n")
    assert res.exit_code == 0, res.output
    assert "via token" in run("whoami").output
    run("gate", "approve", CODE, "--as", "client_representative")
    trail = json.loads(run("audit", "show", CODE, "--json").output)
    votes = [e for e in trail if e["action"] == "gate.approval"]
    users = {u["email"]: u["id"] for u in json.loads(run_as(monkeypatch, ADMIN, "user", "list", "--json").output)}
    assert [(e["actor"], e["data"]["user_id"], e["data"]["auth_method"]) for e in votes] == [
        (SPONSOR, users[SPONSOR], "env"),
        (CLIENT_REP, users[CLIENT_REP], "token"),
    ]
    monkeypatch.delenv("PMO_USER")
    run("logout")
    assert "nobody is signed in" in run("whoami").output


def run_as(monkeypatch: pytest.MonkeyPatch, email: str, *args: str, code: int = 0) -> object:
    monkeypatch.setenv("PMO_USER", email)
    return run(*args, code=code)


def test_an_admin_records_on_behalf_and_the_audit_shows_both(planning, monkeypatch):
    res = run_as(monkeypatch, ADMIN, "gate", "approve", CODE, "--as", "sponsor", "--by", "richard_ashworth")
    assert "by richard_ashworth as sponsor (recorded by PMO Admin <admin@pmo.example>)" in res.output
    event = json.loads(run("audit", "show", CODE, "--json").output)[-1]
    assert event["actor"] == ADMIN and event["data"]["on_behalf_of"] == "richard_ashworth"
    assert event["data"]["recorded_by"] == "PMO Admin <admin@pmo.example>" and event["data"]["auth_method"] == "env"
    assert (
        "recorded by PMO Admin <admin@pmo.example> on behalf of richard_ashworth" in run("audit", "show", CODE).output
    )
    # the admin holds no project role: approving as themself is refused
    assert "may not approve gate as sponsor" in run("gate", "approve", CODE, "--as", "sponsor", code=1).output


def test_approver_may_be_named_by_full_name(planning):
    run("gate", "approve", CODE, "--as", "sponsor", "--by", "Richard  Ashworth")
    d = json.loads(run("gate", "check", CODE, "--json", code=1).output)
    assert [v["by"] for v in d["approvals"]["votes"]] == ["richard_ashworth"]
    res = run("gate", "approve", CODE, "--as", "sponsor", "--by", "Nobody Known", code=2)
    assert "give their id or full name" in res.output


def test_approval_roles_are_checked(planning):
    res = run("gate", "approve", CODE, "--as", "sponsor", "--by", "priya_nair", code=2)
    assert "does not hold the role 'sponsor'" in res.output
    res = run("gate", "approve", CODE, "--as", "cfo", "--by", "priya_nair", code=2)
    assert "takes approvals from" in res.output


def test_audit_verify_detects_tampering(planning, workspace):
    import sqlite3

    con = sqlite3.connect(workspace / "pmo.db")
    con.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1")
    con.commit()
    con.close()
    res = run("audit", "verify", code=1)
    assert "TAMPERED" in res.output and "altered" in res.output


# ---------------------------------------------------------------- concurrency with real processes
def _advance_in_process(env: dict[str, str], q: mp.Queue) -> None:  # type: ignore[type-arg]
    os.environ.update(env)
    from lifecycle.errors import ConcurrentUpdate, GateBlocked
    from lifecycle.services.context import open_context
    from lifecycle.services.gates import advance

    ctx = open_context()
    project = ctx.store.get(CODE)
    q.put("ready")
    go = Path(env["GO_FILE"])
    import time

    deadline = time.time() + 30
    while not go.exists() and time.time() < deadline:
        time.sleep(0.002)
    # every process has evaluated the same version: all decide go, only one may win
    ctx.store.get = lambda code, _p=project: _p  # type: ignore[method-assign]
    try:
        res = advance(ctx, CODE, "planning")
        q.put("won " + res["review"])
    except ConcurrentUpdate:
        q.put("conflict")
    except GateBlocked as exc:
        q.put("blocked " + str(exc))
    finally:
        ctx.close()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_concurrent_advances_exactly_one_wins(backend, workspace, tmp_path, request, monkeypatch):
    env = {"PMO_WORKSPACE": str(workspace), "PMO_TODAY": "2026-11-26", "GO_FILE": str(tmp_path / "go")}
    if backend == "postgres":
        env["PMO_DATABASE_URL"] = request.getfixturevalue("pg_url")
        monkeypatch.setenv("PMO_DATABASE_URL", env["PMO_DATABASE_URL"])
        run("init")
    monkeypatch.setenv("PMO_TODAY", "2026-11-26")
    run("apply", str(SAMPLE))
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_advance_in_process, args=(env, q)) for _ in range(4)]
    for p in procs:
        p.start()
    for _ in procs:
        assert q.get(timeout=120) == "ready"
    (tmp_path / "go").touch()
    results = sorted(q.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(60)
    assert sum(r.startswith("won") for r in results) == 1, results
    assert results.count("conflict") == 3, results
    shown = json.loads(run("show", CODE, "--json").output)
    assert shown["phase"] == "planning" and shown["version"] == 2
    assert len(json.loads(run("gate", "reviews", CODE, "--json").output)) == 1
    assert "intact" in run("audit", "verify").output


def test_recording_progress_takes_the_pm_or_the_team(planning, monkeypatch):
    """A signed-in sponsor cannot record progress; the PM can, and the audit names them."""
    before = version()
    monkeypatch.setenv("PMO_USER", SPONSOR)
    res = run("task", "progress", CODE, "workshops", "--percent", "40", code=1)
    assert f"{SPONSOR}> may not record progress on {CODE} (holds: sponsor, steering)" in res.output
    assert version() == before
    monkeypatch.setenv("PMO_USER", PM)
    run("task", "progress", CODE, "workshops", "--percent", "40")
    assert version() == before + 1
    last = json.loads(run("audit", "show", CODE, "--json").output)[-1]
    assert last["action"] == "task.progress" and last["actor"] == PM

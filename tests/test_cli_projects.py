"""`pmo apply / export / show / list` and the daily recording commands, end to end on SQLite."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli
from lifecycle.load.projectfile import dump_project
from tests.factory import small_project

ROOT = Path(__file__).resolve().parents[1]
BAD_DIR = ROOT / "tests" / "data" / "bad"
BAD = sorted(BAD_DIR.glob("*.y*ml")) + sorted(BAD_DIR.glob("*.json"))


def run(*args: str, ok: bool = True) -> object:
    res = CliRunner().invoke(cli, list(args))
    if ok:
        assert res.exit_code == 0, res.output + (repr(res.exception) if res.exception else "")
    return res


def db_bytes(ws: Path) -> str:
    h = hashlib.sha256()
    for name in ("pmo.db", "pmo.db-wal"):
        p = ws / name
        if p.exists():
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture
def project_file(workspace: Path, tmp_path: Path) -> Path:
    f = tmp_path / "demo.yaml"
    text = dump_project(small_project()).replace("  phase: initiation\n", "")
    f.write_text(text, encoding="utf-8")
    return f


def test_apply_is_idempotent_and_audited(workspace, project_file):
    out = run("apply", str(project_file)).output
    assert "DEMO-1: create" in out
    before = db_bytes(workspace)
    assert "unchanged" in run("apply", str(project_file)).output
    assert db_bytes(workspace) == before
    shown = json.loads(run("show", "DEMO-1", "--json").output)
    assert shown["version"] == 1 and shown["phase"] == "initiation"


def test_changing_one_task_changes_only_that_task(workspace, project_file):
    run("apply", str(project_file))
    project_file.write_text(project_file.read_text().replace("name: Build", "name: Build and test"))
    res = json.loads(run("apply", str(project_file), "--json").output)
    assert res[0]["changes"] == [{"section": "tasks", "key": "T2", "op": "update", "fields": ["name"]}]


def test_export_apply_round_trip(workspace, project_file, tmp_path):
    run("apply", str(project_file))
    exported = tmp_path / "exported.yaml"
    run("export", "DEMO-1", "-o", str(exported))
    assert "unchanged" in run("apply", str(exported)).output
    as_json = tmp_path / "exported.json"
    run("export", "DEMO-1", "--format", "json", "-o", str(as_json))
    assert "unchanged" in run("apply", str(as_json)).output


def test_partial_file_touches_only_its_sections(workspace, project_file, tmp_path):
    run("apply", str(project_file))
    patch = tmp_path / "patch.yaml"
    patch.write_text(
        "project: {code: DEMO-1}\nrisks:\n  - {id: R9, title: New risk, probability: 2, impact: 2, "
        "owner: p-dev, strategy: accept}\n"
    )
    res = json.loads(run("apply", str(patch), "--json").output)
    ops = sorted((c["key"], c["op"]) for c in res[0]["changes"])
    assert ops == [("R1", "delete"), ("R9", "create")]
    shown = json.loads(run("show", "DEMO-1", "--json").output)
    assert shown["counts"]["tasks"] == 3 and shown["counts"]["risks"] == 1


def test_file_cannot_change_the_phase(workspace, project_file):
    run("apply", str(project_file))
    text = project_file.read_text().replace("project:\n", "project:\n  phase: execution\n", 1)
    project_file.write_text(text)
    res = run("apply", str(project_file), ok=False)
    assert res.exit_code == 2
    assert "only through its gate" in res.output and "project.phase" in res.output


@pytest.mark.parametrize("bad", BAD, ids=lambda p: p.name)
def test_bad_files_give_one_message_and_change_nothing(workspace, project_file, bad):
    run("apply", str(project_file))
    before = db_bytes(workspace)
    res = run("apply", str(bad), ok=False)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert str(bad) in res.output
    assert db_bytes(workspace) == before


def test_daily_commands_record_and_audit(workspace, project_file):
    run("apply", str(project_file))
    run("task", "progress", "DEMO-1", "T1", "--percent", "60")
    run("task", "progress", "DEMO-1", "T1", "--status", "done")
    run(
        "risk",
        "add",
        "DEMO-1",
        "--title",
        "Key user leaves",
        "--category",
        "resource",
        "--probability",
        "2",
        "--impact",
        "4",
        "--owner",
        "p-pm",
        "--strategy",
        "mitigate",
        "--plan",
        "Backup user named",
    )
    run("risk", "update", "DEMO-1", "R1", "--probability", "1", "--status", "closed")
    run("cost", "add", "DEMO-1", "--amount", "1,250.50", "--category", "travel", "--task", "T1")
    run(
        "status-report",
        "add",
        "DEMO-1",
        "--overall",
        "amber",
        "--summary",
        "Design done, build starting",
        "--decision",
        "Confirm scanner model",
    )
    run("feedback", "add", "DEMO-1", "--contact", "c-rep", "--rating", "4", "--comment", "Clear report")
    run("feedback", "survey", "DEMO-1", "--contact", "c-spon", "--csat", "5", "--nps", "9")
    run("change", "add", "DEMO-1", "--title", "Add a second warehouse", "--cost", "8000", "--schedule-days", "10")
    run("change", "decide", "DEMO-1", "CR-001", "--approve", "--by", "c-spon")
    run("issue", "add", "DEMO-1", "--title", "Wi-Fi dead zone", "--blocking", "--owner", "p-dev")
    run("issue", "resolve", "DEMO-1", "I-001")
    p = json.loads(run("export", "DEMO-1", "--format", "json").output)
    t1 = next(t for t in p["tasks"] if t["id"] == "T1")
    assert t1["status"] == "done" and t1["percent_complete"] == 100 and "actual_finish" in t1
    assert [r["id"] for r in p["risks"]] == ["R1", "R-002"]
    assert p["costs"][0]["amount"] == 1250.5
    assert p["status_reports"][0]["decisions_needed"] == ["Confirm scanner model"]
    assert p["surveys"][0]["nps"] == 9 and p["change_requests"][0]["status"] == "approved"
    assert p["issues"][0]["status"] == "resolved"
    shown = json.loads(run("show", "DEMO-1", "--json").output)
    assert shown["version"] == 13


def test_daily_commands_refuse_inconsistent_values(workspace, project_file):
    run("apply", str(project_file))
    res = run("task", "progress", "DEMO-1", "T1", "--owner", "nobody", ok=False)
    assert res.exit_code == 2 and "unknown people id 'nobody'" in res.output
    res = run("task", "progress", "DEMO-1", "T9", "--percent", "5", ok=False)
    assert res.exit_code == 2 and "no task 'T9'" in res.output
    res = run("cost", "add", "DEMO-1", "--amount", "-5", ok=False)
    assert res.exit_code == 2
    res = run("show", "NOPE", ok=False)
    assert res.exit_code == 2 and "no project 'NOPE'" in res.output
    assert json.loads(run("show", "DEMO-1", "--json").output)["version"] == 1


def test_list_and_show_read_well(workspace, project_file):
    run("apply", str(project_file))
    out = run("list").output
    assert "DEMO-1" in out and "initiation" in out
    out = run("show", "DEMO-1").output
    assert "Warehouse scanning rollout" in out and "top risks" in out and "next milestones" in out
    assert "\x1b[" not in out  # no colour codes when not a terminal

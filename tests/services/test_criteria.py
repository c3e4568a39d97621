"""Handing in deliverables and recording criterion results: the service, its refusals, the history
(latest counts), the gate facts, quality checks measuring a criterion, and the project file."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli
from lifecycle.domain.facts import build_facts
from lifecycle.domain.model import AcceptanceCriterion, CriterionResult, QualityStandard, replace
from lifecycle.errors import InvalidInput, NotFound, SpecError
from lifecycle.load.projectfile import dump_project
from lifecycle.services import criteria
from lifecycle.services.context import Context, Runtime
from lifecycle.services.quality import run_quality_checks
from lifecycle.storage.memory import MemoryStore
from lifecycle.workspace import Settings, Workspace
from tests.factory import small_project

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "en-clinic-portal.yaml"
CODE = "NHP-PORTAL-2026"


def _project():  # type: ignore[no-untyped-def]
    p = small_project("DEMO-1")
    d1 = replace(
        p.deliverables[0],
        acceptance_criteria=(
            AcceptanceCriterion(id="AC1", text="Reviewed by client", method="review"),
            AcceptanceCriterion(id="AC9", text="Pages answer in 2 s", method="test", target="≤ 2 s"),
        ),
    )
    return replace(p, deliverables=(d1, *p.deliverables[1:]))


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    ws = Workspace(tmp_path, Settings(), Runtime(today=date(2026, 2, 2)))
    c = Context(ws, MemoryStore(), clock=lambda: datetime(2026, 2, 2, 9, tzinfo=timezone.utc), actor_override="pat")
    c.store.save(_project(), expected_version=None)
    return c


def _deliverable_facts(ctx: Context, did: str) -> dict:  # type: ignore[type-arg]
    facts = build_facts(ctx.store.get("DEMO-1"), date(2026, 2, 2))
    return next(d for d in facts["deliverables"] if d["id"] == did)


def test_results_keep_their_history_and_the_latest_counts(ctx: Context) -> None:
    new = criteria.NewResult("fail", measured="2.6", unit="s", evidence="reports/perf-1.pdf", verifier="p-dev")
    first = criteria.record_criterion_result(ctx, "DEMO-1", "D1", "AC9", new)
    # target and method come from the criterion, the date is today
    assert (first.target, first.method, first.date, first.id) == ("≤ 2 s", "test", date(2026, 2, 2), "D1-AC9-V1")
    f = _deliverable_facts(ctx, "D1")
    assert (f["criteria_total"], f["criteria_failed"], f["criteria_open"]) == (2, 1, 1)
    assert f["criteria_failed_ids"] == ["AC9"] and f["criteria_open_ids"] == ["AC1"]
    again = criteria.NewResult("pass", measured="1.8", unit="s", evidence="PT-2026-07", verifier="p-dev")
    second = criteria.record_criterion_result(ctx, "DEMO-1", "D1", "AC9", again)
    assert second.id == "D1-AC9-V2"
    stored = ctx.store.get("DEMO-1").criterion_results
    assert [r.result for r in stored] == ["fail", "pass"]  # both kept
    f = _deliverable_facts(ctx, "D1")
    assert (f["criteria_passed"], f["criteria_failed"], f["criteria_open"]) == (1, 0, 1)
    facts = build_facts(ctx.store.get("DEMO-1"), date(2026, 2, 2))
    assert [r["latest"] for r in facts["criterion_results"]] == [False, True]
    # a result dated earlier than the pass does not count, although it was recorded later
    late = criteria.NewResult("fail", verifier="p-dev", date=date(2026, 1, 20))
    criteria.record_criterion_result(ctx, "DEMO-1", "D1", "AC9", late)
    assert _deliverable_facts(ctx, "D1")["criteria_passed"] == 1
    audit = ctx.store.audit("DEMO-1")[-1]
    assert audit.action == "criterion.recorded" and audit.entity_id == "D1-AC9-V3" and audit.actor == "pat"


@pytest.mark.parametrize(
    ("new", "message"),
    [
        (criteria.NewResult("maybe", verifier="p-dev"), "must be one of pass, fail, conditional"),
        (criteria.NewResult("conditional", verifier="p-dev"), "states its conditions"),
        (criteria.NewResult("pass", verifier="p-dev", evidence="/srv/pmo/perf.pdf"), "path on this machine"),
        (criteria.NewResult("pass", verifier="p-dev", evidence="../secret.pdf"), "path on this machine"),
        (criteria.NewResult("pass"), "say who verified it"),
        (criteria.NewResult("pass", verifier="nobody"), "unknown people or contacts id 'nobody'"),
    ],
)
def test_bad_results_are_refused_and_nothing_is_written(ctx: Context, new: criteria.NewResult, message: str) -> None:
    before = ctx.store.get("DEMO-1").version
    with pytest.raises((InvalidInput, SpecError), match=message):
        criteria.record_criterion_result(ctx, "DEMO-1", "D1", "AC9", new)
    assert ctx.store.get("DEMO-1").version == before


def test_unknown_criterion_names_the_known_ones(ctx: Context) -> None:
    with pytest.raises(NotFound, match=r"no acceptance criterion 'AC7' \(criteria: AC1, AC9\)"):
        criteria.record_criterion_result(ctx, "DEMO-1", "D1", "AC7", criteria.NewResult("pass", verifier="p-dev"))


def test_submit_hands_in_the_file_with_its_checksum(ctx: Context, tmp_path: Path) -> None:
    root = ctx.workspace.deliverables_dir  # the documents root: delivered files are read there only
    root.mkdir(parents=True, exist_ok=True)
    (root / "design.pdf").write_bytes(b"%PDF-1.7 design")
    (tmp_path / "elsewhere.pdf").write_bytes(b"%PDF-1.7 elsewhere")  # in the workspace, outside the root
    d = criteria.submit_deliverable(ctx, "DEMO-1", "D1", criteria.Submission("design.pdf", "for review"))
    assert (d.status, d.file) == ("submitted", "design.pdf")
    assert d.sha256 == hashlib.sha256(b"%PDF-1.7 design").hexdigest()
    ev = ctx.store.audit("DEMO-1")[-1]
    assert ev.action == "deliverable.submitted" and ev.data["note"] == "for review" and ev.data["was"] == "planned"
    with pytest.raises(InvalidInput, match="documents root"):
        criteria.submit_deliverable(ctx, "DEMO-1", "D2", criteria.Submission("missing.pdf"))
    with pytest.raises(InvalidInput, match="documents root"):
        criteria.submit_deliverable(ctx, "DEMO-1", "D2", criteria.Submission("../elsewhere.pdf"))
    with pytest.raises(InvalidInput, match="relative"):
        criteria.submit_deliverable(ctx, "DEMO-1", "D2", criteria.Submission("/etc/passwd"))
    assert ctx.store.get("DEMO-1").index("deliverables")["D2"].status == "planned"


def test_an_accepted_deliverable_is_not_handed_in_again(ctx: Context) -> None:
    p = ctx.store.get("DEMO-1")
    accepted = replace(p, deliverables=(replace(p.deliverables[0], status="accepted"), *p.deliverables[1:]))
    ctx.store.save(accepted, expected_version=p.version)
    with pytest.raises(InvalidInput, match="already accepted"):
        criteria.submit_deliverable(ctx, "DEMO-1", "D1", criteria.Submission())


def test_a_quality_check_measuring_a_criterion_records_its_result(ctx: Context) -> None:
    """A criterion naming a standard of the pack gets the check's result, automated, once."""
    p = ctx.store.get("DEMO-1")
    d1 = replace(
        p.deliverables[0],
        status="submitted",
        tests_passed=12,
        defects_open=2,
        acceptance_criteria=(
            *p.deliverables[0].acceptance_criteria,
            AcceptanceCriterion(id="AC3", text="No open defects", standard="QS-DEFECTS", method="test"),
        ),
    )
    standard = QualityStandard(id="QS-DEFECTS", name="Defects and tests", target="0 open defects")
    ctx.store.save(
        replace(p, deliverables=(d1, *p.deliverables[1:]), quality_standards=(standard,)), expected_version=p.version
    )
    run_quality_checks(ctx, "DEMO-1", ["D1"])
    results = [r for r in ctx.store.get("DEMO-1").criterion_results if r.criterion == "AC3"]
    assert len(results) == 1
    r = results[0]
    assert (r.result, r.automated, r.quality_check, r.target) == ("fail", True, "QC-D1-QS-DEFECTS", "0 open defects")
    assert _deliverable_facts(ctx, "D1")["criteria_failed_ids"] == ["AC3"]
    version = ctx.store.get("DEMO-1").version
    run_quality_checks(ctx, "DEMO-1", ["D1"])  # nothing changed: nothing written
    assert ctx.store.get("DEMO-1").version == version
    fixed = ctx.store.get("DEMO-1")
    fixed = replace(fixed, deliverables=(replace(fixed.deliverables[0], defects_open=0), *fixed.deliverables[1:]))
    ctx.store.save(fixed, expected_version=version)
    run_quality_checks(ctx, "DEMO-1", ["D1"])
    (r,) = [r for r in ctx.store.get("DEMO-1").criterion_results if r.criterion == "AC3"]
    assert r.result == "pass" and _deliverable_facts(ctx, "D1")["criteria_passed"] == 1


def test_project_file_results_are_checked_with_file_and_line(workspace: Path, tmp_path: Path) -> None:
    p = replace(
        _project(),
        criterion_results=(
            CriterionResult(id="V1", deliverable="D1", criterion="AC1", result="pass", verifier="p-pm"),
            CriterionResult(id="V2", deliverable="D1", criterion="AC7", result="pass", evidence="/home/pat/x.pdf"),
            CriterionResult(id="V3", deliverable="D2", criterion="AC2", result="conditional"),
        ),
    )
    f = tmp_path / "demo.yaml"
    f.write_text(dump_project(p).replace("  phase: initiation\n", ""), encoding="utf-8")
    res = CliRunner().invoke(cli, ["apply", str(f)])
    assert res.exit_code == 2, res.output
    lines = f.read_text(encoding="utf-8").splitlines()
    criterion_line = next(i for i, line in enumerate(lines, 1) if "criterion: AC7" in line)
    assert f"demo.yaml:{criterion_line}" in res.output and "no acceptance criterion 'AC7'" in res.output
    assert "criterion_results[1].evidence" in res.output and "path on this machine" in res.output
    assert "criterion_results[2].conditions" in res.output
    assert "DEMO-1" not in CliRunner().invoke(cli, ["list"]).output  # nothing written


# ------------------------------------------------------------------ through the CLI, as signed-in users
ADMIN = "admin@pmo.example"
SPONSOR = "richard.ashworth@northbridge.example.com"
PM = "olivia.grant@brightwater.example.com"
TESTER = "sam.okafor@brightwater.example.com"


def run(*args: str, code: int = 0):  # type: ignore[no-untyped-def]
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == code, res.output + (repr(res.exception) if res.exception else "")
    return res


def test_cli_submit_and_record_take_the_pm_or_the_team(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMO_TODAY", "2027-02-20")
    run("user", "add", ADMIN, "--name", "PMO Admin", "--role", "pmo_admin", "--no-password")
    monkeypatch.setenv("PMO_USER", ADMIN)
    for email, name in ((SPONSOR, "Richard Ashworth"), (PM, "Olivia Grant"), (TESTER, "Sam Okafor")):
        run("user", "add", email, "--name", name, "--no-password")
    run("apply", str(SAMPLE))
    before = json.loads(run("show", CODE, "--json").output)["version"]

    monkeypatch.setenv("PMO_USER", SPONSOR)
    res = run("criterion", "record", CODE, "D3", "D3-AC2", "--result", "pass", "--verifier", "sam_okafor", code=1)
    assert "may not record progress" in res.output
    res = run("deliverable", "submit", CODE, "D3", code=1)
    assert json.loads(run("show", CODE, "--json").output)["version"] == before

    monkeypatch.setenv("PMO_USER", PM)
    # the delivered file is read inside the documents root only (deliverables_dir), never elsewhere
    outside = workspace.parent / "portal.zip"
    outside.write_bytes(b"outside")
    res = run("deliverable", "submit", CODE, "D3", "--file", "../portal.zip", code=2)
    assert "documents root" in res.output
    root = workspace / "deliverables" / "release"
    root.mkdir(parents=True)
    (root / "portal-1.4.2.zip").write_bytes(b"release 1.4.2")
    out = run("deliverable", "submit", CODE, "D3", "--file", "release/portal-1.4.2.zip", "--note", "release 1.4.2")
    assert f"{CODE} D3" in out.output and "submitted" in out.output
    d3 = next(d for d in json.loads(run("export", CODE, "--format", "json").output)["deliverables"] if d["id"] == "D3")
    assert d3["file"] == "release/portal-1.4.2.zip" and d3["sha256"] == hashlib.sha256(b"release 1.4.2").hexdigest()
    monkeypatch.setenv("PMO_USER", TESTER)  # the team records; the verifier defaults to the signed-in tester
    args = ("--measured", "1.6", "--unit", "s", "--target", "< 2 s at p95", "--evidence", "PT-2027-014")
    out = run("criterion", "record", CODE, "D3", "D3-AC2", "--result", "pass", *args, "--on", "2027-02-18").output
    assert "D3/D3-AC2: pass 1.6 s (target < 2 s at p95) on 2027-02-18" in out
    stored = json.loads(run("export", CODE, "--format", "json").output)["criterion_results"]
    assert stored[-1]["verifier"] == "sam_okafor" and stored[-1]["evidence"] == "PT-2027-014"
    res = run("criterion", "record", CODE, "D3", "D3-AC2", "--result", "conditional", code=2)
    assert "states its conditions" in res.output
    res = run("criterion", "record", CODE, "D3", "D3-AC9", "--result", "pass", code=2)
    assert "no acceptance criterion 'D3-AC9'" in res.output
    facts = json.loads(run("facts", CODE).output)
    d3 = next(d for d in facts["deliverables"] if d["id"] == "D3")
    assert d3["status"] == "submitted" and d3["criteria_open_ids"] == [] and d3["criteria_total"] == 4
    latest = {r["id"]: r["latest"] for r in facts["criterion_results"] if r["criterion"] == "D3-AC2"}
    assert latest == {"D3-AC2-V1": False, "D3-AC2-V2": False, "D3-AC2-V3": True}  # the sample's two, then ours
    audit = json.loads(run("audit", "show", CODE, "--json").output)
    assert [(e["action"], e["actor"]) for e in audit[-2:]] == [
        ("deliverable.submitted", PM),
        ("criterion.recorded", TESTER),
    ]


def test_a_negative_contract_value_is_refused_with_file_and_line(workspace: Path, tmp_path: Path) -> None:
    f = tmp_path / "demo.yaml"
    text = dump_project(_project()).replace("  phase: initiation\n", "")
    f.write_text(text.replace("  approved_budget:", "  contract_value: -5\n  approved_budget:", 1), encoding="utf-8")
    line = next(i for i, x in enumerate(f.read_text(encoding="utf-8").splitlines(), 1) if "contract_value" in x)
    res = CliRunner().invoke(cli, ["apply", str(f)])
    assert res.exit_code == 2 and f"demo.yaml:{line}" in res.output and "contract_value" in res.output, res.output
    valued = text.replace("  approved_budget:", "  contract_value: 410000\n  approved_budget:", 1)
    f.write_text(valued, encoding="utf-8")
    assert CliRunner().invoke(cli, ["apply", str(f)]).exit_code == 0
    shown = CliRunner().invoke(cli, ["export", "DEMO-1", "--format", "json"]).output
    assert json.loads(shown)["project"]["contract_value"] in (410000, 410000.0, "410000.00")

"""Quality-check service without Prefect: every check kind, stable ids, improvement actions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from lifecycle.domain.model import replace
from lifecycle.errors import InvalidInput
from lifecycle.services.projects import update_project, upsert
from lifecycle.services.quality import run_quality_checks, stable_id
from tests.flows.conftest import open_ctx, sample_project, today_env


@pytest.fixture
def ctx(make_workspace, monkeypatch):
    today_env(monkeypatch)
    c = open_ctx(make_workspace())
    yield c
    c.close()


def _by_id(checks):
    return {c.id: c for c in checks}


def test_every_kind_passes_on_a_good_project_with_evidence(ctx):
    checks = _by_id(run_quality_checks(ctx, "DEMO-1"))
    assert set(checks) == {
        f"QC-{d}-{s}" for d in ("D1", "D2") for s in ("QS-FILE", "QS-REQ", "QS-DEF", "QS-AC", "QS-DUE")
    }
    assert {c.result for c in checks.values()} == {"pass"}
    assert all(c.automated and c.date.isoformat() == "2026-03-30" for c in checks.values())
    assert "design.pdf (28 bytes) matches its recorded SHA-256" in checks["QC-D1-QS-FILE"].evidence
    assert checks["QC-D2-QS-REQ"].evidence == "all 1 linked requirement(s) verified (RQ1)"
    assert checks["QC-D2-QS-DEF"].evidence.startswith(
        "open defects 0 (max 0), failed tests 0 (max 0), passed tests 40 (min 1)"
    )
    assert checks["QC-D1-QS-AC"].evidence == "Has acceptance criteria: met"
    p = ctx.store.get("DEMO-1")
    assert p.improvement_actions == ()
    # the pack's standards are now part of the project's quality plan, named for documents
    assert {s.id: s.name for s in p.quality_standards}["QS-FILE"] == "Delivered file intact"


def test_failures_are_recorded_with_evidence_and_one_improvement_action_each(ctx, tmp_path):
    def spoil(p):
        d1, d2 = p.deliverables
        Path(d1.file).write_bytes(b"changed after delivery")
        return replace(
            p,
            deliverables=(
                replace(d1, due=None),
                replace(d2, defects_open=2, tests_failed=1, file="missing/app.zip", acceptance_criteria=()),
            ),
            requirements=(replace(p.requirements[0], status="confirmed"), p.requirements[1]),
        )

    update_project(ctx, "DEMO-1", spoil, action="test.spoil", entity="deliverables", entity_id="D1")
    checks = _by_id(run_quality_checks(ctx, "DEMO-1"))
    results = {k: c.result for k, c in checks.items() if c.result != "pass"}
    assert results == {
        "QC-D1-QS-FILE": "fail",
        "QC-D1-QS-DUE": "conditional",
        "QC-D2-QS-FILE": "fail",
        "QC-D2-QS-REQ": "fail",
        "QC-D2-QS-DEF": "fail",
        "QC-D2-QS-AC": "fail",
    }
    ev = checks["QC-D1-QS-FILE"].evidence
    assert "design.pdf has SHA-256" in ev and "is recorded" in ev and "checksum differs" in ev
    assert checks["QC-D2-QS-FILE"].evidence.startswith("file missing/app.zip: not found in the documents root")
    assert checks["QC-D2-QS-REQ"].evidence.startswith("1 of 1 linked requirement(s) not verified: RQ1 (confirmed)")
    assert "out of bounds: open defects 2 (max 0); failed tests 1 (max 0)" in checks["QC-D2-QS-DEF"].evidence
    assert checks["QC-D2-QS-AC"].evidence.startswith("Has acceptance criteria: not met")
    p = ctx.store.get("DEMO-1")
    actions = {a.id: a for a in p.improvement_actions}
    assert set(actions) == {k.replace("QC-", "IA-") for k in results}
    a = actions["IA-D2-QS-DEF"]
    assert a.status == "open" and a.owner == "p-dev" and a.check == "QC-D2-QS-DEF"
    assert a.due.isoformat() == "2026-04-13" and a.description.startswith("Defects within threshold: open defects 2")

    # the same run again changes nothing: no new version, no duplicate
    version = p.version
    run_quality_checks(ctx, "DEMO-1")
    again = ctx.store.get("DEMO-1")
    assert again.version == version
    assert len(again.quality_checks) == 10 and len(again.improvement_actions) == 6

    # fixed data: checks updated in place, actions closed
    def fix(p):
        d1, d2 = p.deliverables
        sha = hashlib.sha256(Path(d1.file).read_bytes()).hexdigest()
        return replace(
            p,
            deliverables=(
                replace(d1, sha256=sha),
                replace(d2, defects_open=0, tests_failed=0, file=str(tmp_path / "files" / "scanning-app.zip")),
            ),
        )

    update_project(ctx, "DEMO-1", fix, action="test.fix", entity="deliverables", entity_id="D1")
    checks = _by_id(run_quality_checks(ctx, "DEMO-1"))
    assert checks["QC-D1-QS-FILE"].result == "pass" and checks["QC-D2-QS-DEF"].result == "pass"
    p = ctx.store.get("DEMO-1")
    assert len(p.quality_checks) == 10
    status = {a.id: a.status for a in p.improvement_actions}
    assert status["IA-D1-QS-FILE"] == "done" and status["IA-D2-QS-DEF"] == "done"
    assert status["IA-D2-QS-REQ"] == "open"  # still unverified


def test_relative_paths_are_taken_from_the_documents_root(make_workspace, tmp_path, monkeypatch):
    today_env(monkeypatch)
    project = sample_project(tmp_path / "files")
    d1, d2 = project.deliverables
    project = replace(project, deliverables=(replace(d1, file="design.pdf"), d2))
    c = open_ctx(make_workspace(project=project))  # the documents root is tmp_path/files
    monkeypatch.chdir("/")
    try:
        checks = _by_id(run_quality_checks(c, "DEMO-1", ["D1"]))
        assert set(checks) == {"QC-D1-QS-FILE", "QC-D1-QS-REQ", "QC-D1-QS-DEF", "QC-D1-QS-AC", "QC-D1-QS-DUE"}
        assert checks["QC-D1-QS-FILE"].result == "pass"
        assert "file design.pdf (28 bytes) matches" in checks["QC-D1-QS-FILE"].evidence
    finally:
        c.close()


def test_selection_of_deliverables(ctx):
    assert run_quality_checks(ctx, "DEMO-1", []) == []
    assert {c.deliverable for c in run_quality_checks(ctx, "DEMO-1", ["D2"])} == {"D2"}
    with pytest.raises(InvalidInput, match=r"no deliverable\(s\) D9"):
        run_quality_checks(ctx, "DEMO-1", ["D9"])


def test_an_expression_that_cannot_be_evaluated_fails(make_workspace, tmp_path, monkeypatch, test_pack):
    import shutil

    today_env(monkeypatch)
    pack = tmp_path / "pack"
    shutil.copytree(test_pack, pack)
    (pack / "quality" / "ratio.yaml").write_text(
        "standards:\n  - id: QS-RATIO\n    title: Pass ratio\n    kind: cel\n"
        "    check: d.tests_passed / d.tests_failed > 10\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PMO_RULES", str(pack))
    c = open_ctx(make_workspace())
    try:
        checks = _by_id(run_quality_checks(c, "DEMO-1", ["D1"]))
        bad = checks["QC-D1-QS-RATIO"]
        assert bad.result == "fail" and "could not be evaluated: division by zero" in bad.evidence
    finally:
        c.close()


def test_stable_ids_are_valid_ids():
    assert stable_id("QC", "D 1", "a/b") == "QC-D_1-a_b"
    long = stable_id("QC", "D" * 60, "S" * 60)
    assert len(long) == 80 and long != stable_id("QC", "D" * 60, "S" * 61)


def test_quality_check_ids_survive_validation_of_the_whole_project(ctx):
    """Recorded checks reference standards the project now lists, so the project stays valid."""
    from lifecycle.domain.validate import validate_project

    run_quality_checks(ctx, "DEMO-1")
    assert validate_project(ctx.store.get("DEMO-1")) == []
    # and the project can still be updated by other commands
    update_project(
        ctx,
        "DEMO-1",
        lambda p: upsert(p, "deliverables", replace(p.deliverables[0], status="accepted")),
        action="test",
        entity="deliverables",
        entity_id="D1",
    )

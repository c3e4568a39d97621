"""``pmo docs`` end to end on a real workspace (SQLite), with a gate review made by the engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli
from tests.documents.conftest import needs_tools
from tests.documents.samples import SAMPLES

pytestmark = needs_tools
CODE = "NHP-PORTAL-2026"


def run(*args: str, code: int = 0) -> str:
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res.output


@pytest.fixture
def ws(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PMO_NOW", "2026-10-16T09:00:00+00:00")
    run("apply", str(SAMPLES["en"]))
    return workspace


def test_issue_list_and_verify(ws, tmp_path):
    path = Path(run("docs", "status", CODE).strip())
    assert path.is_file() and path.name == f"{CODE}-STR-1.pdf" and path.parent == ws / "documents" / CODE
    acc = json.loads(
        run(
            "docs", "acceptance", CODE, "--milestone", "M1", "--lang", "zh-CN", "--out", str(tmp_path / "out"), "--json"
        )
    )
    assert acc["number"] == f"{CODE}-ACC-M1-1" and acc["lang"] == "zh-CN"
    assert Path(acc["path"]).parent == tmp_path / "out"
    listed = json.loads(run("docs", "list", CODE, "--json"))
    assert sorted(d["number"] for d in listed) == [f"{CODE}-ACC-M1-1", f"{CODE}-STR-1"]  # same clock: by number
    assert f"{CODE}-STR-1" in run("docs", "list", CODE)

    out = run("docs", "verify", str(path))
    assert out.startswith("AUTHENTIC") and "sha256 matches" in out
    data = bytearray(path.read_bytes())
    # a byte of the binary comment line after the header: the file still parses and still carries its
    # record, so the verdict is "altered" (the middle of a small file may be the attached record itself)
    data[data.index(b"\n%") + 2] ^= 0xFF
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(bytes(data))
    out = run("docs", "verify", str(bad), code=1)
    assert out.startswith("ALTERED")
    verdict = json.loads(run("docs", "verify", str(bad), "--json", code=1))
    assert verdict["verdict"] == "altered" and verdict["document"]["number"] == f"{CODE}-STR-1"


def test_gate_review_report_from_a_real_engine_decision(ws):
    res = CliRunner().invoke(cli, ["gate", "check", CODE, "--record"])
    assert res.exit_code in (0, 1), res.output  # 1: no-go is a valid decision to report
    doc = json.loads(run("docs", "gate-review", CODE, "--json"))
    assert doc["number"] == f"{CODE}-GRR-1" and Path(doc["path"]).is_file()
    assert doc["pack_hash"]
    zh = json.loads(run("docs", "gate-review", CODE, "--lang", "zh-CN", "--json"))
    assert zh["number"] == f"{CODE}-GRR-2"


def test_errors_are_one_line_messages(ws):
    res = CliRunner().invoke(cli, ["docs", "acceptance", CODE, "--milestone", "NOPE"])
    assert res.exit_code == 2 and "no milestone 'NOPE'" in res.output
    res = CliRunner().invoke(cli, ["docs", "status", "MISSING"])
    assert res.exit_code == 2 and "error:" in res.output
    res = CliRunner().invoke(cli, ["docs", "status", CODE, "--lang", "fr"])
    assert res.exit_code == 2


def test_internal_version_is_its_own_document(ws):
    client = json.loads(run("docs", "status", CODE, "--json"))
    internal = json.loads(run("docs", "status", CODE, "--internal", "--json"))
    assert (client["number"], internal["number"]) == (f"{CODE}-STR-1", f"{CODE}-STR-1-INT")
    assert (client["audience"], internal["audience"]) == ("client", "internal") and internal["issued_now"]
    again = CliRunner().invoke(cli, ["docs", "status", CODE, "--internal", "--json"], catch_exceptions=False)
    assert again.exit_code == 0 and not json.loads(again.stdout)["issued_now"]
    assert f"{CODE}-STR-1-INT was already issued" in again.stderr
    revised = json.loads(run("docs", "status", CODE, "--internal", "--reissue", "--json"))
    assert (revised["id"], revised["revision"]) == (f"{CODE}-STR-1-INT-R2", 2)
    assert run("docs", "verify", f"{CODE}-STR-1-INT").startswith("AUTHENTIC")
    assert "No such option '--internal'" in run("docs", "handover", CODE, "--internal", code=2)

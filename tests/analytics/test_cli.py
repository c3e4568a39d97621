"""`pmo import`, `pmo report` and `pmo baseline` through the CLI on a real (SQLite) workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli

DATA = Path(__file__).parent / "data"


@pytest.fixture
def run(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setenv("PMO_TODAY", "2026-03-20")
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def invoke(*args: str) -> object:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_import_report_and_baselines(run: object) -> None:
    r = run("import", "msproject", str(DATA / "clinic.xml"), "--code", "CLINIC")  # type: ignore[operator]
    assert r.exit_code == 0, r.output
    assert "CLINIC: created" in r.output and "Frobnicate" in r.output
    r = run("report", "CLINIC", "--json")  # type: ignore[operator]
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["schedule"]["critical_path"] == ["T3", "T5", "T7", "T9"]
    assert data["schedule"]["project_finish"] == "2026-04-14"
    assert data["earned_value"]["baseline"] == "MSP-BL0"
    assert data["earned_value"]["project"]["ev"] == 5200.0
    assert [o["week"] for o in data["over_allocations"]] == ["2026-03-16", "2026-03-23", "2026-03-30"]
    r = run("report", "CLINIC", "--status-date", "2026-03-13")  # type: ignore[operator]
    assert r.exit_code == 0, r.output
    assert "critical path: T3 → T5 → T7 → T9" in r.output and "earned value at 2026-03-13" in r.output
    assert "over-allocations" in r.output and "risk matrix" in r.output
    r = run("baseline", "save", "CLINIC", "--name", "execution")  # type: ignore[operator]
    assert r.exit_code == 0 and "saved baseline BL-003 'execution'" in r.output
    r = run("baseline", "list", "CLINIC", "--json")  # type: ignore[operator]
    assert [b["id"] for b in json.loads(r.output)] == ["MSP-BL1", "MSP-BL0", "BL-003"]


def test_hostile_file_exits_2_with_one_message(run: object) -> None:
    r = run("import", "msproject", str(DATA / "billion_laughs.xml"))  # type: ignore[operator]
    assert r.exit_code == 2
    assert "refused" in r.output and "Traceback" not in r.output


def test_csv_import(run: object, tmp_path: Path) -> None:
    run("import", "msproject", str(DATA / "clinic.xml"), "--code", "CLINIC")  # type: ignore[operator]
    f = tmp_path / "risks.csv"
    f.write_text("id,title,probability,impact\nR1,Server delivery late,4,5\n", encoding="utf-8")
    r = run("import", "csv", "CLINIC", str(f), "--kind", "risks")  # type: ignore[operator]
    assert r.exit_code == 0 and "1 risks added" in r.output
    bad = tmp_path / "tasks.csv"
    bad.write_text("id,name,duration_days\nX1,,abc\n", encoding="utf-8")
    r = run("import", "csv", "CLINIC", str(bad), "--kind", "tasks")  # type: ignore[operator]
    assert r.exit_code == 2 and "tasks.csv:2 duration_days" in r.output

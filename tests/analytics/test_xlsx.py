"""Excel workbooks in and out: the sample projects round-trip unchanged, headers in the user's language,
data validation on enum columns, real date cells, every problem with sheet, row and column, and text
from project data never stored as a formula."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from lifecycle.errors import SpecError
from lifecycle.load.projectfile import load_project_file
from lifecycle.load.xlsx import read_project_workbook, write_project_workbook
from lifecycle.services import spreadsheets
from lifecycle.services.context import Context
from lifecycle.storage.memory import MemoryStore
from lifecycle.workspace import Settings, Workspace

ROOT = Path(__file__).resolve().parents[2]


def _sample(name: str):
    return load_project_file(ROOT / "examples" / name).project


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    c = Context(Workspace(tmp_path, Settings()), MemoryStore(), clock=lambda: datetime(2026, 2, 2, tzinfo=timezone.utc))
    for name in ("zh-smart-factory.yaml", "en-clinic-portal.yaml"):
        c.store.save(replace(_sample(name), phase="planning"), expected_version=None)
    return c


@pytest.mark.parametrize("sample", ["zh-smart-factory.yaml", "en-clinic-portal.yaml"])
def test_export_then_import_changes_nothing(sample: str, ctx: Context, tmp_path: Path) -> None:
    code = _sample(sample).code
    before = ctx.store.get(code)
    path = tmp_path / "plan.xlsx"
    path.write_bytes(spreadsheets.export_workbook(ctx, code))
    res = spreadsheets.import_workbook(ctx, code, path)
    after = ctx.store.get(code)
    assert not res.changed and after.version == before.version
    assert after.tasks == before.tasks and after.risks == before.risks and after.deliverables == before.deliverables
    assert sorted(after.links, key=repr) == sorted(before.links, key=repr)
    assert res.updated["tasks"] == [t.id for t in before.tasks] and res.added["tasks"] == []


def test_headers_follow_the_language_with_validation_lists_and_date_cells(ctx: Context) -> None:
    zh = load_workbook(io.BytesIO(spreadsheets.export_workbook(ctx, "SZ-MES-2026")))
    assert zh.sheetnames == ["任务", "风险", "交付物", "验收标准"]
    ws = zh["任务"]
    assert [c.value for c in ws[1]][:3] == ["编号", "名称", "WBS 编码"]
    starts = [row[5] for row in ws.iter_rows(min_row=2) if row[5].value is not None]
    assert starts and all(isinstance(c.value, datetime) and c.number_format == "yyyy-mm-dd" for c in starts)
    lists = {str(dv.sqref)[0]: dv.formula1 for dv in ws.data_validations.dataValidation}
    assert lists["K"] == '"not_started,in_progress,done,blocked,cancelled"'  # status
    assert lists["N"] == '"是,否"'  # milestone
    en = load_workbook(io.BytesIO(spreadsheets.export_workbook(ctx, "SZ-MES-2026", "en")))
    assert en.sheetnames == ["Tasks", "Risks", "Deliverables", "Acceptance criteria"]
    risk_lists = [dv.formula1 for dv in en["Risks"].data_validations.dataValidation]
    assert '"avoid,mitigate,transfer,accept"' in risk_lists


def test_import_upserts_by_id_and_replaces_links(ctx: Context, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Tasks"
    ws.append(["ID", "Name", "Duration (days)", "Predecessors", "Start"])
    first = ctx.store.get("NHP-PORTAL-2026").tasks
    leaf = next(t for t in first if t.duration_days)
    ws.append([leaf.id, leaf.name + " (re-planned)", 12, "", leaf.start or date(2026, 3, 2)])
    ws.append(["NEW-1", "Extra training", 2, f"{leaf.id}FS+1", None])
    path = tmp_path / "more.xlsx"
    wb.save(path)
    res = spreadsheets.import_workbook(ctx, "NHP-PORTAL-2026", path)
    p = ctx.store.get("NHP-PORTAL-2026")
    assert res.changed and res.added["tasks"] == ["NEW-1"] and res.updated["tasks"] == [leaf.id]
    assert p.tasks[-1].id == "NEW-1" and next(t for t in p.tasks if t.id == leaf.id).duration_days == 12
    assert any(lk.predecessor == leaf.id and lk.successor == "NEW-1" and lk.lag_days == 1 for lk in p.links)
    assert ctx.store.audit("NHP-PORTAL-2026")[-1].action == "workbook.imported"


def test_every_problem_names_sheet_row_and_column_and_nothing_is_written(ctx: Context, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "任务"
    ws.append(["编号", "名称", "完成百分比", "里程碑", "状态"])
    ws.append(["T-A", "ok", 10, "否", "in_progress"])
    ws.append(["T-B", "bad percent", 150, "maybe", "in_progres"])
    ws.append(["T-A", "duplicate", 0, "否", "done"])
    risks = wb.create_sheet("Risks")
    risks.append(["ID", "Title", "Probability (1-5)", "Colour"])
    crit = wb.create_sheet("Acceptance criteria")
    crit.append(["Deliverable", "ID", "Criterion"])
    crit.append(["NO-SUCH", "C1", "x"])
    path = tmp_path / "bad.xlsx"
    wb.save(path)
    before = ctx.store.get("SZ-MES-2026")
    with pytest.raises(SpecError) as err:
        spreadsheets.import_workbook(ctx, "SZ-MES-2026", path)
    text = str(err.value)
    assert "sheet '任务' row 3 column C (percent_complete)" in text
    assert "sheet '任务' row 3 column D (milestone): expected Yes or No, got 'maybe'" in text
    assert "sheet '任务' row 3 column E (status)" in text and "in_progress" in text  # the did-you-mean
    assert "sheet '任务' row 4 column A (id): duplicate id 'T-A' (first in row 2)" in text
    assert "sheet 'Risks' row 1 column D" in text and "'Colour' is not a column" in text
    assert ctx.store.get("SZ-MES-2026") == before


def test_formulas_in_project_text_stay_text(ctx: Context, tmp_path: Path) -> None:
    p = ctx.store.get("NHP-PORTAL-2026")
    hostile = '=HYPERLINK("http://evil.example","click")'
    p2 = replace(p, tasks=(replace(p.tasks[0], notes=hostile),) + p.tasks[1:])
    data = write_project_workbook(p2, "en")
    ws = load_workbook(io.BytesIO(data))["Tasks"]
    cell = ws.cell(row=2, column=19)
    assert cell.value == hostile and cell.data_type == "s"
    path = tmp_path / "h.xlsx"
    path.write_bytes(data)
    assert read_project_workbook(path).tasks[0].notes == hostile  # type: ignore[index]


def test_not_a_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    path.write_text("id,name\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"not an \.xlsx workbook"):
        read_project_workbook(path)
    with pytest.raises(SpecError, match="not a regular file"):
        read_project_workbook(tmp_path)


def test_portfolio_roll_up(ctx: Context) -> None:
    wb = load_workbook(io.BytesIO(spreadsheets.export_portfolio_workbook(ctx, "zh")))
    ws = wb["项目组合"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [c.value for c in ws[1]][:4] == ["项目编号", "项目名称", "客户", "阶段"]
    assert sorted(r[0] for r in rows) == ["NHP-PORTAL-2026", "SZ-MES-2026"]
    assert all(r[4] in ("green", "amber", "red") for r in rows)


def test_cli_export_edit_import(workspace: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lifecycle.cli.main import cli

    def run(*args: str) -> str:
        res = CliRunner().invoke(cli, list(args))
        assert res.exit_code == 0, res.output
        return res.output

    run("apply", str(ROOT / "examples" / "en-clinic-portal.yaml"))
    plan = tmp_path / "plan.xlsx"
    run("export", "xlsx", "NHP-PORTAL-2026", "-o", str(plan))
    assert "unchanged" in run("import", "xlsx", "NHP-PORTAL-2026", str(plan))
    wb = load_workbook(plan)
    ws = wb["Risks"]
    ws.cell(row=2, column=2).value = "Renamed in the spreadsheet"
    wb.save(plan)
    out = run("import", "xlsx", "NHP-PORTAL-2026", str(plan))
    assert "risks: 0 added" in out and "(version 2)" in out
    bad = CliRunner().invoke(cli, ["export", "xlsx", "NHP-PORTAL-2026"])
    assert bad.exit_code == 2 and "name the file with -o" in bad.output
    run("export", "xlsx", "portfolio", "-o", str(tmp_path / "pf.xlsx"))
    assert load_workbook(tmp_path / "pf.xlsx")["Portfolio"].cell(row=2, column=1).value == "NHP-PORTAL-2026"

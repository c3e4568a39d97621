"""CSV import of tasks and risks: the documented columns, and clear errors per row."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from lifecycle.errors import SpecError
from lifecycle.load.csvimport import parse_csv, parse_predecessors
from lifecycle.services import analytics
from lifecycle.services.context import Context
from lifecycle.storage.memory import MemoryStore
from lifecycle.workspace import Settings, Workspace
from tests.factory import small_project

TASKS = """id,name,wbs,parent,start,finish,duration_days,milestone,status,percent_complete,predecessors,notes
T1,Design,1,,2026-01-05,2026-01-16,,no,done,100,,
T2,Build,2,,,,20,,in_progress,30,"T1",
T4,Test,3,,,,5,,,,"T2 FS+2; T1SS",
T5,Sign-off,4,,,,0,yes,,,T4,"line one
line two"
"""


def test_tasks_with_predecessors() -> None:
    rows = parse_csv(TASKS, "tasks", "tasks.csv")
    assert [t.id for t in rows.items] == ["T1", "T2", "T4", "T5"]
    t1 = rows.items[0]
    assert t1.start == date(2026, 1, 5) and t1.status == "done" and t1.percent_complete == 100 and not t1.milestone
    assert rows.items[3].milestone and rows.items[3].notes == "line one\nline two"
    assert [(lk.predecessor, lk.successor, lk.type, lk.lag_days) for lk in rows.links or []] == [
        ("T1", "T2", "FS", 0.0),
        ("T2", "T4", "FS", 2.0),
        ("T1", "T4", "SS", 0.0),
        ("T4", "T5", "FS", 0.0),
    ]
    assert rows.lines == {"T1": 2, "T2": 3, "T4": 4, "T5": 5}


def test_predecessor_syntax() -> None:
    assert parse_predecessors("A; B SS; C FF-1.5, D sf +3") == [
        ("A", "FS", 0.0),
        ("B", "SS", 0.0),
        ("C", "FF", -1.5),
        ("D", "SF", 3.0),
    ]
    with pytest.raises(ValueError, match="not a predecessor"):
        parse_predecessors("A XX 2")


def test_every_row_problem_is_reported_with_its_line() -> None:
    text = (
        "id,name,start,duration_days,status,milestone,predecessors,notes\n"
        'A,Design,2026-01-05,5,,,,"a note\n over two lines"\n'  # lines 2-3
        ",Build,2026-02-30,x,doing,maybe,A XX,\n"  # line 4: five problems
        "A,Again,,1,,,,\n"
    )  # line 5: duplicate id
    with pytest.raises(SpecError) as err:
        parse_csv(text, "tasks", "plan.csv")
    got = sorted((p.line, p.path) for p in err.value.problems)
    assert got == [
        (4, ""),
        (4, "duration_days"),
        (4, "milestone"),
        (4, "predecessors"),
        (4, "start"),
        (4, "status"),
        (5, "id"),
    ]
    text_all = str(err.value)
    assert "plan.csv:4 status: 'doing' is not one of" in text_all
    assert "plan.csv:4 missing required field 'id'" in text_all
    assert "plan.csv:5 id: duplicate id 'A' (first at line 2)" in text_all


def test_header_problems() -> None:
    with pytest.raises(SpecError) as err:
        parse_csv("id,title,probabilty,impact\nR1,x,3,3\n", "risks", "risks.csv")
    assert "did you mean 'probability'" in str(err.value)
    with pytest.raises(SpecError, match="missing the required column 'name'"):
        parse_csv("id,wbs\nT1,1\n", "tasks", "t.csv")
    with pytest.raises(SpecError, match="empty"):
        parse_csv("", "tasks", "t.csv")


def test_risks_semicolons_and_chinese_encoding() -> None:
    text = (
        "id;title;category;probability;impact;strategy;review_date\nR1;供应商延迟交货;external;4;5;mitigate;2026/3/1\n"
    )
    rows = parse_csv(text.encode("gb18030"), "risks", "风险.csv")
    (r,) = rows.items
    assert r.title == "供应商延迟交货" and r.score == 20 and r.review_date == date(2026, 3, 1)
    assert rows.encoding == "gb18030"
    with pytest.raises(SpecError) as err:
        parse_csv("id,title,probability,impact\nR1,x,6,0\n", "risks", "r.csv")
    assert len(err.value.problems) == 2


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    c = Context(Workspace(tmp_path, Settings()), MemoryStore(), clock=lambda: datetime(2026, 2, 2, tzinfo=timezone.utc))
    c.store.save(small_project("DEMO-1"), expected_version=None)
    return c


def test_import_service_upserts_and_replaces_links(ctx: Context, tmp_path: Path) -> None:
    f = tmp_path / "tasks.csv"
    f.write_text(
        "id,name,duration_days,predecessors\nT2,Build (re-planned),25,T1 FS+1\nT9,Extra,2,T2\n", encoding="utf-8"
    )
    res = analytics.import_csv(ctx, "DEMO-1", "tasks", f)
    assert res.added == ["T9"] and res.updated == ["T2"] and res.links == 2
    p = ctx.store.get("DEMO-1")
    assert [t.id for t in p.tasks] == ["T1", "T2", "T3", "T9"]
    assert {(lk.predecessor, lk.successor, lk.lag_days) for lk in p.links} == {
        ("T1", "T2", 1.0),
        ("T2", "T3", 5.0),
        ("T2", "T9", 0.0),
    }
    assert ctx.store.audit("DEMO-1")[-1].action == "tasks.imported"


def test_import_service_refuses_an_inconsistent_result(ctx: Context, tmp_path: Path) -> None:
    f = tmp_path / "tasks.csv"
    f.write_text("id,name,parent,predecessors\nT8,Orphan,NOPE,\nT1,Design,,T3\n", encoding="utf-8")
    with pytest.raises(SpecError) as err:
        analytics.import_csv(ctx, "DEMO-1", "tasks", f)
    msgs = str(err.value)
    assert "unknown tasks id 'NOPE'" in msgs and "cycle" in msgs
    assert any(p.line == 2 for p in err.value.problems)
    assert ctx.store.get("DEMO-1").version == 1  # nothing written


def test_import_risks(ctx: Context, tmp_path: Path) -> None:
    f = tmp_path / "risks.csv"
    f.write_text(
        "id,title,probability,impact,owner\nR1,Scanner delivery late,4,4,p-pm\nR2,Key developer leaves,2,5,\n",
        encoding="utf-8-sig",
    )
    res = analytics.import_csv(ctx, "DEMO-1", "risks", f)
    assert res.updated == ["R1"] and res.added == ["R2"] and res.links is None
    risks = {r.id: r for r in ctx.store.get("DEMO-1").risks}
    assert risks["R1"].score == 16 and risks["R2"].owner == ""

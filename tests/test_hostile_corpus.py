"""The hostile-input corpus: every reader and every option refuses what is out of limits, the same way.

Each case runs a real command (``pmo apply``, ``pmo rules lint|test``, ``pmo import msproject|csv|xlsx``,
``pmo docs verify``, a command with a bad ``PMO_NOW``/``PMO_TODAY``, an option out of range) on a
SQLite workspace holding one project and asserts the contract of :mod:`lifecycle.domain.limits`:
exit code 2, one readable message naming the file, its line and the field (where the input has
them), no traceback, the database unchanged, and an answer within a few seconds (an alarm stops a
case that would hang, such as a reader blocking on a named pipe). The small files are in
``tests/data/hostile``; the big or variant ones are made here from the sample project. The last
tests run the store's own guard and the mapping of database errors on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli
from lifecycle.load.projectfile import dump_project
from tests.factory import small_project

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "tests" / "data" / "hostile"
CLINIC_XML = ROOT / "tests" / "analytics" / "data" / "clinic.xml"
BASE = dump_project(small_project()).replace("  phase: initiation\n", "")
SECONDS = 5  # no case may take longer


@dataclass(frozen=True)
class Case:
    """A command to run on a file made by ``make`` (in ``tmp``; None: the command names no file)."""

    make: Callable[[Path], Path | None]
    args: Callable[[Path | None], list[str]]
    expect: tuple[str, ...]  # substrings of the message; "{file}" stands for the file's path
    env: tuple[tuple[str, str], ...] = ()  # "{file}" in a value stands for the file's path
    exit_code: int = 2


def _text(name: str, text: str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / name
        path.write_text(text, encoding="utf-8")
        return path

    return make


def _project(name: str, old: str, new: str) -> Callable[[Path], Path]:
    assert old in BASE, old
    return _text(name, BASE.replace(old, new, 1))


def _edit(name: str, old: str, new: str, where: str, message: str) -> Case:
    """``pmo apply`` of the sample project with one edit; the message names ``where`` (line and field)."""
    return Case(_project(name, old, new), _apply, ("{file}:" + where + ":", message))


def _static(name: str) -> Callable[[Path], Path]:
    return lambda tmp: HOSTILE / name


def _fifo(tmp: Path) -> Path:
    path = tmp / "pipe.yaml"
    os.mkfifo(path)
    return path


def _deep(tmp: Path) -> Path:
    nested = "x: " + "{a: " * 100 + "1" + "}" * 100 + "\n"
    return _text("deep.yaml", BASE + nested)(tmp)


def _pack(tmp: Path, file: str, old: str, new: str) -> Path:
    pack = tmp / "pack"
    shutil.copytree(ROOT / "rules" / "default", pack)
    path = pack / file
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return pack


def _bomb_pack(tmp: Path) -> Path:
    bomb = (HOSTILE / "alias_bomb.yaml").read_text(encoding="utf-8").replace("project: *i", "x: *i")
    return _pack(tmp, "lifecycle.yaml", "initial: initiation\n", "initial: initiation\n" + bomb)


def _nan_pack(tmp: Path) -> Path:
    return _pack(tmp, "lifecycle.yaml", "initial: initiation\n", "initial: initiation\nnot_a_number: .nan\n")


def _lag_fixture_pack(tmp: Path) -> Path:
    return _pack(
        tmp,
        "tests/fixtures/planned.yaml",
        "{predecessor: T1.1, successor: T1.2}",
        "{predecessor: T1.1, successor: T1.2, lag_days: 100000000}",
    )


def _xml(name: str, old: str, new: str) -> Callable[[Path], Path]:
    text = CLINIC_XML.read_text(encoding="utf-8")
    assert old in text, old
    return _text(name, text.replace(old, new, 1))


def _csv(name: str, text: str) -> Callable[[Path], Path]:
    return _text(name, text)


def _workbook(column: str, value: object) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        from openpyxl import load_workbook

        from lifecycle.load.xlsx import write_project_workbook

        wb = load_workbook(io.BytesIO(write_project_workbook(small_project())))
        ws = wb["Tasks"]
        header = [c.value for c in ws[1]]
        ws.cell(row=2, column=header.index(column) + 1, value=value)
        path = tmp / "plan.xlsx"
        wb.save(path)
        return path

    return make


_SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>ID</t></is></c><c r="B1" t="inlineStr"><is><t>Name</t></is></c></row>'
)
_SHEET_TAIL = b"</sheetData></worksheet>"


def _sheet(name: str, write: Callable[[io.BufferedIOBase], None], head: bytes = _SHEET_HEAD) -> Callable[[Path], Path]:
    """The sample workbook with its Tasks sheet's XML written by ``write`` (streamed: it may be large)."""

    def make(tmp: Path) -> Path:
        import zipfile

        from lifecycle.load.xlsx import write_project_workbook

        path = tmp / name
        sample = io.BytesIO(write_project_workbook(small_project()))
        with zipfile.ZipFile(sample) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                if info.filename != "xl/worksheets/sheet1.xml":
                    zout.writestr(info, zin.read(info.filename))
                    continue
                part = zipfile.ZipInfo(info.filename)
                part.compress_type = zipfile.ZIP_DEFLATED
                with zout.open(part, "w", force_zip64=True) as out:
                    out.write(head)
                    write(out)  # type: ignore[arg-type]
                    out.write(_SHEET_TAIL)
        return path

    return make


def _repeat(megabytes: int) -> Callable[[io.BufferedIOBase], None]:
    """A zip bomb's body: one row written again and again (a few hundred kB packed)."""
    row = b'<row r="2"><c r="A2" t="inlineStr"><is><t>x</t></is></c></row>'
    chunk = row * (1024 * 1024 // len(row))

    def write(out: io.BufferedIOBase) -> None:
        for _ in range(megabytes):
            out.write(chunk)

    return write


def _many_rows(out: io.BufferedIOBase) -> None:
    out.write(b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (i, i, i) for i in range(2, 1_000_001)))


def _far_row(out: io.BufferedIOBase) -> None:
    out.write(b'<row r="1000000"><c r="A1000000" t="inlineStr"><is><t>T9</t></is></c></row>')


_XXE_HEAD = _SHEET_HEAD.replace(
    b"<worksheet", b'<!DOCTYPE w [<!ENTITY e SYSTEM "file:///etc/passwd">]><worksheet', 1
).replace(b"<t>Name</t>", b"<t>&e;</t>")


def _settings(text: str | None) -> Callable[[Path], Path]:
    """A workspace folder whose ``settings.yaml`` holds ``text`` (None: a named pipe; a str of one
    character repeated: a sparse file of 60 MB)."""

    def make(tmp: Path) -> Path:
        path = tmp / "ws" / "settings.yaml"
        path.parent.mkdir()
        if text is None:
            os.mkfifo(path)
        elif text == "":
            with path.open("wb") as f:
                f.truncate(60 * 1024 * 1024)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return make


def _list_in(file: Path | None) -> list[str]:
    """``pmo list`` in the workspace whose settings file is ``file``."""
    assert file is not None
    return ["--workspace", str(file.parent), "list"]


def _apply(file: Path | None) -> list[str]:
    return ["apply", str(file)]


def _same(*args: str) -> Callable[[Path | None], list[str]]:
    return lambda file: [a.replace("{file}", str(file)) for a in args]


LAG = "100000000 is above the maximum of 36500"
OUT_OF_DATES = "is outside the dates a project may use (1900-01-01 … 2199-12-31)"
PIPE = "is a named pipe, not a regular file"
DEVICE = "/dev/zero is a character device, not a regular file"

CASES: dict[str, Case] = {
    # project files: structure
    "yaml-alias-bomb": Case(_static("alias_bomb.yaml"), _apply, ("{file}:", "uses of anchors")),
    "yaml-too-deep": Case(_deep, _apply, ("{file}:", "nested more than 64 levels deep")),
    # project files: numbers that are no numbers, or too large
    "yaml-nan": _edit(
        "nan.yaml",
        "approved_budget: 120000",
        "approved_budget: .nan",
        "15 project.approved_budget",
        "nan is not a finite number",
    ),
    "yaml-inf": _edit(
        "inf.yaml", "effort_hours: 80", "effort_hours: .inf", "44 tasks[0].effort_hours", "inf is not a finite number"
    ),
    "yaml-1e400": _edit(
        "e400.yaml", "effort_hours: 80", "effort_hours: 1e400", "44 tasks[0].effort_hours", "inf is not a finite number"
    ),
    "json-nan": Case(_static("nan.json"), _apply, ("{file}:4", "NaN is not a finite number")),
    "json-infinity": Case(_static("infinity.json"), _apply, ("{file}:4", "Infinity is not a finite number")),
    "json-1e400": Case(_static("huge_float.json"), _apply, ("{file}:4", "1e400 is not a finite number")),
    "json-trailing-comma": Case(_static("trailing_comma.json"), _apply, ("{file}:4", "not valid JSON")),
    "budget-1e30": _edit(
        "budget.yaml",
        "approved_budget: 120000",
        "approved_budget: 1000000000000000000000000000000",
        "15 project.approved_budget",
        "beyond the largest number accepted",
    ),
    "budget-1e16": _edit(
        "budget16.yaml",
        "approved_budget: 120000",
        "approved_budget: 10000000000000000",
        "15 project.approved_budget",
        "10000000000000000 is beyond the largest number accepted (1e+15)",
    ),
    "lag-1e8-days": _edit("lag.yaml", "lag_days: 5", "lag_days: 100000000", "69 links[1].lag_days", LAG),
    "duration-1e9-days": _edit(
        "duration.yaml",
        "effort_hours: 80",
        "effort_hours: 80\n  duration_days: 1000000000",
        "45 tasks[0].duration_days",
        "1000000000 is above the maximum of 36500",
    ),
    # dates
    "date-year-1": _edit(
        "year1.yaml",
        "start: 2026-01-05\n  finish: 2026-01-16",
        "start: 0001-01-05\n  finish: 2026-01-16",
        "42 tasks[0].start",
        "0001-01-05 " + OUT_OF_DATES,
    ),
    "date-year-9999": _edit(
        "year9999.yaml",
        "finish: 2026-03-27\n  approved",
        "finish: 9999-12-31\n  approved",
        "14 project.finish",
        "9999-12-31 " + OUT_OF_DATES,
    ),
    # text
    "name-100000-characters": _edit(
        "long.yaml",
        "name: Design\n",
        "name: " + "x" * 100_000 + "\n",
        "39 tasks[0].name",
        "100,000 characters, more than the 20,000",
    ),
    "name-600-characters": _edit(
        "name600.yaml",
        "name: Design\n",
        "name: " + "x" * 600 + "\n",
        "39 tasks[0].name",
        "600 characters, more than the 500 this field takes",
    ),
    "nul-in-name": _edit(
        "nul.yaml", "name: Design\n", 'name: "De\\0sign"\n', "39 tasks[0].name", "control character U+0000"
    ),
    "bom-inside-an-id": _edit(
        "bom.yaml", "- id: T1\n", '- id: "\\uFEFFT1"\n', "38 tasks[0].id", "control character U+FEFF"
    ),
    "id-dot-dot": _edit("dots.yaml", "- id: T1\n", "- id: ..\n", "38 tasks[0].id", "'..' is not a valid id"),
    # regular files only
    "project-file-fifo": Case(_fifo, _apply, ("{file} " + PIPE,)),
    "project-file-dev-zero": Case(lambda tmp: None, lambda f: ["apply", "/dev/zero"], (DEVICE,)),
    # rule packs
    "rules-lint-alias-bomb": Case(_bomb_pack, _same("rules", "lint", "{file}"), ("lifecycle.yaml:", "uses of anchors")),
    "rules-lint-nan": Case(_nan_pack, _same("rules", "lint", "{file}"), ("lifecycle.yaml:", "nan is not a finite")),
    "rules-test-alias-bomb": Case(_bomb_pack, _same("rules", "test", "{file}"), ("lifecycle.yaml:", "uses of anchors")),
    # a fixture out of limits is bad input (exit 2, no test run), not a failed test, naming line and field
    "rules-test-fixture-lag": Case(
        _lag_fixture_pack,
        _same("rules", "test", "{file}"),
        ("fixture(s) tests/fixtures/planned.yaml are not valid", "planned.yaml:48 links[0].lag_days: " + LAG),
    ),
    # imports
    "msproject-lag": Case(
        _xml("lag.xml", "<LinkLag>0</LinkLag>", "<LinkLag>480000000000</LinkLag>"),
        _same("import", "msproject", "{file}"),
        ("{file}:92 links[0].lag_days:", LAG),
    ),
    "msproject-fifo": Case(_fifo, _same("import", "msproject", "{file}"), ("{file} " + PIPE,)),
    "msproject-dev-zero": Case(lambda tmp: None, lambda f: ["import", "msproject", "/dev/zero"], (DEVICE,)),
    "csv-lag": Case(
        _csv("lag.csv", 'id,name,duration_days,predecessors\nT1,Design,5,\nT2,Build,5,"T1 FS+100000000"\n'),
        _same("import", "csv", "DEMO-1", "{file}", "--kind", "tasks"),
        ("{file}:3 links[1].lag_days:", LAG),
    ),
    "csv-infinite-duration-and-year-1": Case(
        _csv("dur.csv", "id,name,duration_days,start\nT1,Design,1e400,\nT2,Build,5,0001-01-01\n"),
        _same("import", "csv", "DEMO-1", "{file}", "--kind", "tasks"),
        ("{file}:2 duration_days: inf is not a finite number", "{file}:3 start: 0001-01-01 " + OUT_OF_DATES),
    ),
    "csv-nul": Case(
        _csv("nul.csv", "id,name\nT1,De\x00sign\n"),
        _same("import", "csv", "DEMO-1", "{file}", "--kind", "tasks"),
        ("{file}:2 name:", "control character U+0000"),
    ),
    "csv-id-dot-dot": Case(
        _csv("dots.csv", "id,name\n..,Design\n"),
        _same("import", "csv", "DEMO-1", "{file}", "--kind", "tasks"),
        ("{file}:2 tasks[3].id:", "'..' is not a valid id"),
    ),
    "csv-fifo": Case(_fifo, _same("import", "csv", "DEMO-1", "{file}", "--kind", "tasks"), ("{file} " + PIPE,)),
    "xlsx-duration": Case(
        _workbook("Duration (days)", 1e9),
        _same("import", "xlsx", "DEMO-1", "{file}"),
        ("{file}", "duration_days", "1000000000 is above the maximum of 36500"),
    ),
    "xlsx-long-name": Case(
        _workbook("Name", "y" * 30_000),
        _same("import", "xlsx", "DEMO-1", "{file}"),
        ("{file}", "name", "30,000 characters, more than the 500"),
    ),
    "xlsx-unpacks-to-300-mb": Case(
        _sheet("big.xlsx", _repeat(300)),
        _same("import", "xlsx", "DEMO-1", "{file}"),
        ("{file} the workbook unpacks to 300 MB, more than the 100 MB a workbook may hold",),
    ),
    "xlsx-zip-bomb-ratio": Case(
        _sheet("bomb.xlsx", _repeat(90)),
        _same("import", "xlsx", "DEMO-1", "{file}"),
        ("{file} part 'xl/worksheets/sheet1.xml' is compressed", "more than the 100 to 1"),
    ),
    "xlsx-a-million-rows": Case(
        _sheet("rows.xlsx", _many_rows),
        _same("import", "xlsx", "DEMO-1", "{file}"),
        ("{file} the workbook holds more than 100,000 rows",),
    ),
    "xlsx-row-one-million": Case(
        _sheet("far.xlsx", _far_row),
        _same("import", "xlsx", "DEMO-1", "{file}"),
        ("{file} sheet 'Tasks': has rows beyond row 100,000",),
    ),
    "xlsx-external-entity": Case(
        _sheet("xxe.xlsx", lambda out: None, _XXE_HEAD),
        _same("import", "xlsx", "DEMO-1", "{file}"),
        ("{file} part 'xl/worksheets/sheet1.xml' declares a document type (<!DOCTYPE>)",),
    ),
    "xlsx-utf-16": Case(
        _sheet("utf16.xlsx", lambda out: None, _SHEET_HEAD.decode().encode("utf-16")),
        _same("import", "xlsx", "DEMO-1", "{file}"),
        ("{file} part 'xl/worksheets/sheet1.xml' is XML in UTF-16",),
    ),
    "xlsx-dev-zero": Case(lambda tmp: None, lambda f: ["import", "xlsx", "DEMO-1", "/dev/zero"], (DEVICE,)),
    # the workspace's settings file
    "settings-alias-bomb": Case(
        _settings((HOSTILE / "alias_bomb.yaml").read_text(encoding="utf-8")), _list_in, ("{file}:", "uses of anchors")
    ),
    "settings-nan": Case(
        _settings("documents_dir: documents\nmax_file_bytes: .nan\n"),
        _list_in,
        ("{file}:2 max_file_bytes: nan is not a finite number",),
    ),
    "settings-wrong-types": Case(
        _settings("smtp: localhost\nmax_file_bytes: -5\nrules: [a, b]\ncolour: red\n"),
        _list_in,
        (
            "{file}:1 smtp: must be a mapping of names to values, not text",
            "{file}:2 max_file_bytes: -5 must be between 1 and",
            "{file}:3 rules: must be text, not a list",
            "{file}:4 colour: unknown setting",
        ),
    ),
    "settings-escape-in-actor": Case(
        _settings('actor: "pmo\\e[2J"\n'), _list_in, ("{file}:1 actor:", "control character U+001B")
    ),
    "settings-fifo": Case(_settings(None), _list_in, ("{file} " + PIPE,)),
    "settings-60-mb": Case(_settings(""), _list_in, ("{file} the file is larger than 50 MB",)),
    # files the workspace keeps: a key file named by the environment
    "audit-key-file-fifo": Case(
        _fifo,
        lambda f: ["list"],
        ("cannot read the audit key {file}: is a named pipe, not a regular file",),
        env=(("PMO_AUDIT_KEY_FILE", "{file}"),),
    ),
    # documents to verify
    "docs-verify-fifo": Case(_fifo, _same("docs", "verify", "{file}"), ("{file} " + PIPE,)),
    "docs-verify-dev-zero": Case(lambda tmp: None, lambda f: ["docs", "verify", "/dev/zero"], (DEVICE,)),
    # the fixed clock of the environment
    "env-pmo-now-overflow": Case(
        _project("same.yaml", "name: Design\n", "name: Design again\n"),
        _apply,
        ("PMO_NOW: '0001-01-01T00:00:00+05:00' is not a date and time",),
        env=(("PMO_NOW", "0001-01-01T00:00:00+05:00"),),
    ),
    "env-pmo-now-garbage": Case(
        _project("same.yaml", "name: Design\n", "name: Design again\n"),
        _apply,
        ("PMO_NOW: 'yesterday' is not a date and time",),
        env=(("PMO_NOW", "yesterday"),),
    ),
    "env-pmo-today-year-1": Case(
        _project("same.yaml", "name: Design\n", "name: Design again\n"),
        _apply,
        ("PMO_TODAY: 0001-01-01 " + OUT_OF_DATES,),
        env=(("PMO_TODAY", "0001-01-01"),),
    ),
    # options of the command line
    "option-as-of-year-1": Case(
        lambda tmp: None, lambda f: ["show", "DEMO-1", "--as-of", "0001-01-01"], ("--as-of", OUT_OF_DATES)
    ),
    "option-amount-1e20": Case(
        lambda tmp: None,
        lambda f: ["cost", "add", "DEMO-1", "--amount", "1e20", "--date", "2026-01-10"],
        ("--amount", "beyond the largest amount accepted"),
    ),
    "option-percent-nan": Case(
        lambda tmp: None,
        lambda f: ["task", "progress", "DEMO-1", "T1", "--percent", "nan"],
        ("tasks[0].percent_complete", "nan is not a finite number"),
    ),
    "option-schedule-days-1e400": Case(
        lambda tmp: None,
        lambda f: ["change", "add", "DEMO-1", "--title", "More", "--schedule-days", "1e400"],
        ("schedule_impact_days", "inf is not a finite number"),
    ),
    "option-title-escape": Case(
        lambda tmp: None,
        lambda f: ["change", "add", "DEMO-1", "--title", "\x1b[2J"],
        ("change_requests[0].title", "control character U+001B"),
    ),
}


@pytest.fixture(scope="module")
def stocked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One workspace with the sample project applied, for every case (none may change it)."""
    folder = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PMO_WORKSPACE", str(folder / ".pmo"))
        mp.delenv("PMO_DATABASE_URL", raising=False)
        mp.chdir(folder)
        base = folder / "base.yaml"
        base.write_text(BASE, encoding="utf-8")
        for args in (["init"], ["apply", str(base)]):
            res = CliRunner().invoke(cli, args)
            assert res.exit_code == 0, res.output
        yield folder / ".pmo"


def _database(ws: Path) -> str:
    h = hashlib.sha256()
    for name in ("pmo.db", "pmo.db-wal"):
        if (ws / name).exists():
            h.update((ws / name).read_bytes())
    return h.hexdigest()


class _Hang(Exception):
    pass


@pytest.fixture
def alarm() -> Iterator[None]:
    """A case still running after twice the allowed time is stopped (a hang is a failure, not a stall)."""

    def ring(signum: int, frame: object) -> None:
        raise _Hang(f"still running after {2 * SECONDS} s")

    old = signal.signal(signal.SIGALRM, ring)
    signal.alarm(2 * SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input_is_refused_with_one_message(name: str, stocked: Path, tmp_path: Path, alarm: None) -> None:
    case = CASES[name]
    file = case.make(tmp_path)
    before = _database(stocked)
    started = time.monotonic()
    env = {k: v.replace("{file}", str(file)) for k, v in case.env}
    res = CliRunner().invoke(cli, case.args(file), env=env)
    elapsed = time.monotonic() - started
    output = res.output
    assert res.exit_code == case.exit_code, f"exit {res.exit_code}: {output}"
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in output
    for part in case.expect:
        assert part.replace("{file}", str(file)) in output, output
    assert _database(stocked) == before, "the database changed"
    assert elapsed < SECONDS, f"{elapsed:.1f} s"


def test_a_leading_byte_order_mark_is_dropped(stocked: Path, tmp_path: Path) -> None:
    """A file saved with a byte-order mark reads as the same file without it (YAML and JSON)."""
    for name, text in (("bom.yaml", BASE), ("bom.json", (HOSTILE / "nan.json").read_text().replace("NaN", "5"))):
        path = tmp_path / name
        path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
        res = CliRunner().invoke(cli, ["apply", "--dry-run", str(path)])
        assert res.exit_code == 0, res.output


def test_every_limit_holds_just_inside(stocked: Path, tmp_path: Path) -> None:
    """The limits refuse only what is beyond them: values at the edge are accepted."""
    text = (
        BASE.replace("approved_budget: 120000", "approved_budget: 1000000000000000")
        .replace("lag_days: 5", "lag_days: 36500")
        .replace("name: Design\n", "name: " + "x" * 500 + "\n")
        .replace("start: 2026-01-05\n  finish: 2026-01-16", "start: 1900-01-01\n  finish: 2199-12-31")
    )
    path = tmp_path / "edge.yaml"
    path.write_text(text, encoding="utf-8")
    res = CliRunner().invoke(cli, ["apply", "--dry-run", str(path)])
    assert res.exit_code == 0, res.output


# ------------------------------------------------------------------ the stores' own guard; PostgreSQL


def test_the_store_refuses_values_out_of_limits_before_writing(store: object) -> None:
    """A NUL in a name or an amount beyond the limit never reaches the database, whoever calls the store."""
    from decimal import Decimal

    from lifecycle.domain.model import AuditEvent, replace
    from lifecycle.errors import SpecError
    from lifecycle.storage.protocol import Record

    project = small_project()
    store.save(project, expected_version=None)  # type: ignore[attr-defined]
    bad = replace(project, tasks=(replace(project.tasks[0], name="De\x00sign"), *project.tasks[1:]))
    bad = replace(bad, charter=replace(bad.charter, approved_budget=Decimal("1e30")))
    with pytest.raises(SpecError) as info:
        store.save(bad, expected_version=1)  # type: ignore[attr-defined]
    text = str(info.value)
    assert "project DEMO-1 tasks[0].name: contains the control character U+0000" in text
    assert "project.approved_budget" in text and "nothing was written" in text
    event = AuditEvent("DEMO-1", "waiver.added", "pm", project.charter.start, "gate", "g", {"reason": "a\x00b"})  # type: ignore[arg-type]
    with pytest.raises(SpecError, match=r"audit event waiver.added data.reason: contains a NUL"):
        store.add_records("DEMO-1", [], [event])  # type: ignore[attr-defined]
    with pytest.raises(SpecError, match=r"waiver record w1 data.days: nan is not a finite number"):
        store.add_records("DEMO-1", [Record("DEMO-1", "waiver", "w1", {"days": float("nan")})])  # type: ignore[attr-defined]
    assert store.get("DEMO-1").version == 1  # type: ignore[attr-defined]
    assert store.get("DEMO-1").tasks[0].name == "Design"  # type: ignore[attr-defined]
    assert store.audit("DEMO-1") == []  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_a_value_postgresql_refuses_is_named_by_table_and_column(pg_url: str) -> None:
    """What slips past the checks and is refused by PostgreSQL (a DataError) names its table and column."""
    from lifecycle.errors import StorageError
    from lifecycle.storage.protocol import UserRecord
    from lifecycle.storage.sql import SqlStore

    store = SqlStore.open(pg_url, create=True)
    try:
        with pytest.raises(StorageError) as info:
            store.add_user(UserRecord("u-1", "a@example.org", "Ann\x00"))
        text = str(info.value)
        assert "the database refused a value for users.name" in text and "nothing was written" in text, text
        assert StorageError.exit_code == 2
        assert store.list_users() == []
    finally:
        store.close()

"""Excel workbooks in and out: tasks (the WBS), risks, deliverables with their acceptance criteria, and
the PMO's portfolio roll-up.

PMOs keep plans and registers in spreadsheets. A project workbook has one sheet per collection
(``Tasks``/``任务``, ``Risks``/``风险``, ``Deliverables``/``交付物``, ``Acceptance criteria``/``验收标准``),
a header row in the reader's language (English or Chinese labels, or the field names themselves, are
all accepted on the way in), data-validation lists on every column with fixed choices, real date cells,
and ``Yes``/``No`` lists for flags. Task links are one ``Predecessors`` cell per task in the CSV import's
notation (``T1``, ``T2SS+1``; see :mod:`lifecycle.load.csvimport`). Acceptance criteria are rows of
their own sheet naming their deliverable.

Reading builds the same frozen model objects a project file does (:class:`~lifecycle.load.build.Builder`),
collecting every problem of every sheet before anything is written; each names the file, the sheet,
the row and the column (letter and label). Only ``.xlsx`` files are opened (no macros, no external
links are followed: cell values are read as stored, formulas are not evaluated), with the same size
limit as the CSV import; before the archive is opened :mod:`lifecycle.load.archive` refuses a zip bomb, a
document type declaration and more sheets, rows or cells than :mod:`lifecycle.domain.limits` allows, and
no sheet is read past row :data:`~lifecycle.domain.limits.MAX_ROWS`.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from lifecycle.domain.fields import FieldInfo, fields_of
from lifecycle.domain.limits import MAX_ROWS
from lifecycle.domain.model import AcceptanceCriterion, Deliverable, Project, Risk, Task, TaskLink
from lifecycle.errors import Problem, SpecError
from lifecycle.load.archive import archive_problems
from lifecycle.load.build import Builder, is_invalid
from lifecycle.load.csvimport import MAX_BYTES, parse_predecessors
from lifecycle.load.files import read_regular
from lifecycle.load.source import Source

LANGS = ("en", "zh")
_YES = {"en": "Yes", "zh": "是"}
_NO = {"en": "No", "zh": "否"}
_TRUE = {"yes", "y", "true", "1", "是", "x"}
_FALSE = {"no", "n", "false", "0", "否"}


@dataclass(frozen=True)
class Sheet:
    """One collection's sheet: its names, the model class and the columns in order (with labels)."""

    kind: str
    titles: Mapping[str, str]  # lang -> sheet name
    cls: type
    columns: tuple[tuple[str, str, str], ...]  # (field, English label, Chinese label)


TASKS = Sheet(
    "tasks",
    {"en": "Tasks", "zh": "任务"},
    Task,
    (
        ("id", "ID", "编号"),
        ("name", "Name", "名称"),
        ("wbs", "WBS", "WBS 编码"),
        ("parent", "Parent", "上级任务"),
        ("owner", "Owner", "负责人"),
        ("start", "Start", "开始日期"),
        ("finish", "Finish", "完成日期"),
        ("duration_days", "Duration (days)", "工期（天）"),
        ("effort_hours", "Effort (hours)", "工作量（小时）"),
        ("percent_complete", "% complete", "完成百分比"),
        ("status", "Status", "状态"),
        ("actual_start", "Actual start", "实际开始"),
        ("actual_finish", "Actual finish", "实际完成"),
        ("milestone", "Milestone", "里程碑"),
        ("constraint", "Constraint", "限制类型"),
        ("constraint_date", "Constraint date", "限制日期"),
        ("deliverables", "Deliverables", "交付物"),
        ("predecessors", "Predecessors", "前置任务"),
        ("notes", "Notes", "备注"),
        ("optimistic_days", "Optimistic (days)", "乐观工期（天）"),
        ("pessimistic_days", "Pessimistic (days)", "悲观工期（天）"),
    ),
)
RISKS = Sheet(
    "risks",
    {"en": "Risks", "zh": "风险"},
    Risk,
    (
        ("id", "ID", "编号"),
        ("title", "Title", "标题"),
        ("category", "Category", "类别"),
        ("description", "Description", "描述"),
        ("probability", "Probability (1-5)", "可能性（1-5）"),
        ("impact", "Impact (1-5)", "影响（1-5）"),
        ("strategy", "Strategy", "应对策略"),
        ("response_plan", "Response plan", "应对计划"),
        ("owner", "Owner", "负责人"),
        ("status", "Status", "状态"),
        ("identified_on", "Identified on", "识别日期"),
        ("review_date", "Review date", "复核日期"),
    ),
)
DELIVERABLES = Sheet(
    "deliverables",
    {"en": "Deliverables", "zh": "交付物"},
    Deliverable,
    (
        ("id", "ID", "编号"),
        ("name", "Name", "名称"),
        ("description", "Description", "描述"),
        ("owner", "Owner", "负责人"),
        ("due", "Due", "到期日"),
        ("status", "Status", "状态"),
        ("defects_open", "Open defects", "未关闭缺陷"),
        ("tests_passed", "Tests passed", "测试通过"),
        ("tests_failed", "Tests failed", "测试失败"),
    ),
)
CRITERIA = Sheet(
    "criteria",
    {"en": "Acceptance criteria", "zh": "验收标准"},
    AcceptanceCriterion,
    (
        ("deliverable", "Deliverable", "交付物"),
        ("id", "ID", "编号"),
        ("text", "Criterion", "验收标准"),
        ("standard", "Standard", "质量标准"),
        ("method", "Method", "验收方法"),
    ),
)
PROJECT_SHEETS = (TASKS, RISKS, DELIVERABLES, CRITERIA)


@dataclass
class WorkbookRows:
    """What a project workbook holds once every row of every sheet is valid (None: sheet absent)."""

    file: str
    tasks: list[Task] | None = None
    links: list[TaskLink] | None = None  # links into the workbook's tasks (None: no Predecessors column)
    risks: list[Risk] | None = None
    deliverables: list[Deliverable] | None = None
    rows: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, id) -> row


# ------------------------------------------------------------------------------------------ writing
def _cell_value(value: Any, lang: str) -> Any:
    if isinstance(value, bool):
        return _YES[lang] if value else _NO[lang]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (tuple, list)):
        return "; ".join(str(v) for v in value)
    return value


def _predecessors(links: Iterable[TaskLink]) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    for lk in links:
        lag = f"{lk.lag_days:+g}" if lk.lag_days else ""
        # the type always written, after a space: an id ending in "d" or "SS" then reads back as itself
        out.setdefault(lk.successor, []).append(f"{lk.predecessor} {lk.type}{lag}")
    return {k: "; ".join(v) for k, v in out.items()}


def _header(ws: Worksheet, labels: Sequence[str]) -> None:
    ws.append(list(labels))
    fill = PatternFill("solid", fgColor="E8EDF3")
    for k, label in enumerate(labels, start=1):
        cell = ws.cell(row=1, column=k)
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(k)].width = max(10, min(48, len(str(label)) * 2 + 4))
    ws.freeze_panes = "A2"


def _text_stays_text(ws: Worksheet) -> None:
    """Text from project data is stored as text: ``=HYPERLINK(...)`` in a task name is never a formula."""
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"


def _validations(ws: Worksheet, sheet: Sheet, infos: Mapping[str, FieldInfo], lang: str, last_row: int) -> None:
    """A drop-down list on every column with fixed choices, down to a generous row for new entries."""
    end = max(last_row, 1) + 500
    for k, (name, _, _) in enumerate(sheet.columns, start=1):
        info = infos.get(name)
        if info is None:
            continue
        if info.kind == "enum":
            choices = [str(c) for c in info.choices if c != ""]
        elif info.kind == "bool":
            choices = [_YES[lang], _NO[lang]]
        else:
            continue
        dv = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True)
        dv.error = ", ".join(choices)
        dv.errorTitle = sheet.titles[lang]
        ws.add_data_validation(dv)
        letter = get_column_letter(k)
        dv.add(f"{letter}2:{letter}{end}")


def _write_rows(ws: Worksheet, sheet: Sheet, rows: Sequence[Mapping[str, Any]], lang: str) -> None:
    infos = {i.name: i for i in fields_of(sheet.cls)}
    labels = [en if lang == "en" else zh for _, en, zh in sheet.columns]
    _header(ws, labels)
    for row in rows:
        ws.append([_cell_value(row.get(name), lang) for name, _, _ in sheet.columns])
    _text_stays_text(ws)
    for k, (name, _, _) in enumerate(sheet.columns, start=1):
        info = infos.get(name)
        if info is not None and info.kind == "date":
            for (cell,) in ws.iter_rows(min_row=2, min_col=k, max_col=k):
                cell.number_format = "yyyy-mm-dd"
    _validations(ws, sheet, infos, lang, len(rows) + 1)
    ws.auto_filter.ref = ws.dimensions


def _asdict(obj: Any) -> dict[str, Any]:
    return {i.name: getattr(obj, i.name) for i in fields_of(type(obj))}


def write_project_workbook(project: Project, lang: str = "en") -> bytes:
    """The project's tasks, risks, deliverables and acceptance criteria as an ``.xlsx`` workbook."""
    lang = lang if lang in LANGS else "en"
    wb = Workbook()
    wb.remove(wb.active)
    preds = _predecessors(project.links)
    tasks = [{**_asdict(t), "predecessors": preds.get(t.id, "")} for t in project.tasks]
    criteria = [{"deliverable": d.id, **_asdict(c)} for d in project.deliverables for c in d.acceptance_criteria]
    data = {
        "tasks": tasks,
        "risks": [_asdict(r) for r in project.risks],
        "deliverables": [_asdict(d) for d in project.deliverables],
        "criteria": criteria,
    }
    for sheet in PROJECT_SHEETS:
        _write_rows(wb.create_sheet(sheet.titles[lang]), sheet, data[sheet.kind], lang)
    return _save(wb)


PORTFOLIO_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("code", "Code", "项目编号"),
    ("name", "Project", "项目名称"),
    ("client", "Client", "客户"),
    ("phase", "Phase", "阶段"),
    ("rag", "Status", "状态"),
    ("next_gate", "Next gate", "下一阶段评审"),
    ("decision", "Decision", "评审结论"),
    ("spi", "SPI", "SPI"),
    ("cpi", "CPI", "CPI"),
    ("high_risks", "Open high risks", "未关闭高风险"),
    ("next_milestone", "Next milestone", "下一里程碑"),
    ("next_milestone_date", "Milestone date", "里程碑日期"),
)


def write_portfolio_workbook(rows: Sequence[Mapping[str, Any]], lang: str = "en") -> bytes:
    """The PMO's weekly roll-up: one row per project (values as given; dates as date cells)."""
    lang = lang if lang in LANGS else "en"
    wb = Workbook()
    ws = wb.active
    ws.title = "Portfolio" if lang == "en" else "项目组合"
    _header(ws, [en if lang == "en" else zh for _, en, zh in PORTFOLIO_COLUMNS])
    for row in rows:
        ws.append([_cell_value(row.get(name), lang) for name, _, _ in PORTFOLIO_COLUMNS])
    _text_stays_text(ws)
    for (cell,) in ws.iter_rows(min_row=2, min_col=12, max_col=12):
        cell.number_format = "yyyy-mm-dd"
    ws.auto_filter.ref = ws.dimensions
    return _save(wb)


def _save(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------ reading
def _label_index(sheet: Sheet) -> dict[str, str]:
    out = {}
    for name, en, zh in sheet.columns:
        for label in (name, en, zh):
            out[_norm(label)] = name
    return out


def _norm(text: Any) -> str:
    return " ".join(str(text).split()).lower().replace("_", " ")


def _find_sheet(wb: Any, sheet: Sheet) -> Worksheet | None:
    wanted = {_norm(t) for t in sheet.titles.values()} | {_norm(sheet.kind)}
    for ws in wb.worksheets:
        if _norm(ws.title) in wanted:
            return ws
    return None


@dataclass
class _Reader:
    """Reads one sheet's rows into field dicts, recording problems with sheet, row and column."""

    file: str
    ws: Worksheet
    sheet: Sheet
    problems: list[Problem]
    columns: dict[int, str] = field(default_factory=dict)  # column index (1-based) -> field

    def where(self, row: int, name: str = "") -> str:
        col = next((k for k, n in self.columns.items() if n == name), 0)
        place = f"sheet '{self.ws.title}' row {row}"
        return f"{place} column {get_column_letter(col)} ({name})" if col else place

    def problem(self, row: int, name: str, message: str) -> None:
        self.problems.append(Problem(self.file, None, self.where(row, name), message))

    def header(self) -> bool:
        labels = _label_index(self.sheet)
        first = next(self.ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
        seen: set[str] = set()
        for k, raw in enumerate(first, start=1):
            if raw is None or str(raw).strip() == "" or str(raw).strip().startswith("#"):
                continue
            name = labels.get(_norm(raw))
            if name is None or name in seen:
                why = "appears twice" if name else "is not a column of this sheet"
                known = ", ".join(en for _, en, _ in self.sheet.columns)
                self.problems.append(
                    Problem(
                        self.file,
                        None,
                        f"sheet '{self.ws.title}' row 1 column {get_column_letter(k)}",
                        f"'{raw}' {why} (columns: {known})",
                    )
                )
                continue
            seen.add(name)
            self.columns[k] = name
        required = [i.name for i in fields_of(self.sheet.cls) if i.required] if self.sheet.kind != "criteria" else []
        for name in required + (["deliverable", "id", "text"] if self.sheet.kind == "criteria" else []):
            if name not in seen:
                self.problems.append(
                    Problem(self.file, None, f"sheet '{self.ws.title}' row 1", f"missing the required column '{name}'")
                )
        return not any(p.path.startswith(f"sheet '{self.ws.title}' row 1") for p in self.problems)

    def rows(self) -> Iterable[tuple[int, dict[str, Any]]]:
        infos = {i.name: i for i in fields_of(self.sheet.cls)}
        for r, values in enumerate(self.ws.iter_rows(min_row=2, max_row=MAX_ROWS + 1, values_only=True), start=2):
            if r > MAX_ROWS:  # row numbers beyond the limit (a sheet of far-apart rows): stop reading
                self.problems.append(
                    Problem(self.file, None, f"sheet '{self.ws.title}'", f"has rows beyond row {MAX_ROWS:,}")
                )
                return
            out: dict[str, Any] = {}
            for k, raw in enumerate(values, start=1):
                name = self.columns.get(k)
                if name is None or raw is None or (isinstance(raw, str) and raw.strip() == ""):
                    continue
                out[name] = self._value(infos.get(name), name, raw, r)
            if out:
                yield r, out

    def _value(self, info: FieldInfo | None, name: str, raw: Any, row: int) -> Any:
        if isinstance(raw, datetime):
            raw = raw.date()
        if info is None:
            return str(raw).strip() if isinstance(raw, str) else raw
        if info.kind == "bool":
            return self._flag(raw, name, row)
        if info.kind == "list":
            return [v.strip() for v in str(raw).split(";") if v.strip()]
        if info.kind == "date" and isinstance(raw, date):
            return raw.isoformat()
        if isinstance(raw, float) and info.kind in ("int",) and raw.is_integer():
            return int(raw)
        return raw.strip() if isinstance(raw, str) else raw

    def _flag(self, raw: Any, name: str, row: int) -> bool:
        if isinstance(raw, bool):
            return raw
        low = str(raw).strip().lower()
        if low in _TRUE or low in _FALSE:
            return low in _TRUE
        self.problem(row, name, f"expected Yes or No, got '{str(raw)[:40]}'")
        return False

    def build(self, row: int, values: dict[str, Any], cls: type | None = None) -> Any:
        b = Builder(Source(self.file, None, {(): row}))
        obj = b.build(cls or self.sheet.cls, values, ())
        for p in b.problems:
            top = p.path.split(".")[0].split("[")[0]
            self.problem(row, top, p.message if top == p.path else f"{p.path}: {p.message}")
        return obj


def _open(path: Path) -> Any:
    try:
        data = read_regular(path, MAX_BYTES)
        refused = archive_problems(data)
        if refused:
            raise SpecError([Problem(str(path), None, "", refused)], "cannot read the workbook, nothing was written")
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SpecError(
            [Problem(str(path), None, "", f"not an .xlsx workbook ({type(exc).__name__})")], "cannot read the file"
        ) from exc


def _read_tasks(rd: _Reader, out: WorkbookRows) -> None:
    tasks: list[Task] = []
    links: list[TaskLink] | None = [] if "predecessors" in rd.columns.values() else None
    for row, values in rd.rows():
        preds = values.pop("predecessors", None)
        obj = rd.build(row, values)
        tid = str(values.get("id", ""))
        if links is not None and preds is not None and tid:
            try:
                links += [
                    TaskLink(predecessor=p, successor=tid, type=t, lag_days=lag)  # type: ignore[arg-type]
                    for p, t, lag in parse_predecessors(str(preds))
                ]
            except ValueError as exc:
                rd.problem(row, "predecessors", str(exc))
        if _keep(rd, out, "tasks", tid, row, obj):
            tasks.append(obj)
    out.tasks, out.links = tasks, links


def _keep(rd: _Reader, out: WorkbookRows, kind: str, rid: str, row: int, obj: Any) -> bool:
    if rid and (kind, rid) in out.rows:
        rd.problem(row, "id", f"duplicate id '{rid}' (first in row {out.rows[(kind, rid)]})")
        return False
    if rid:
        out.rows[(kind, rid)] = row
    return not is_invalid(obj)


def _read_risks(rd: _Reader, out: WorkbookRows) -> None:
    risks = []
    for row, values in rd.rows():
        obj = rd.build(row, values)
        if _keep(rd, out, "risks", str(values.get("id", "")), row, obj):
            risks.append(obj)
    out.risks = risks


def _read_criteria(rd: _Reader | None) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    grouped: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    if rd is None:
        return grouped
    for row, values in rd.rows():
        did = str(values.pop("deliverable", "")).strip()
        if not did:
            rd.problem(row, "deliverable", "names no deliverable")
            continue
        grouped.setdefault(did, []).append((row, values))
    return grouped


def _read_deliverables(rd: _Reader, crit: _Reader | None, out: WorkbookRows) -> None:
    criteria = _read_criteria(crit)
    items = []
    for row, values in rd.rows():
        did = str(values.get("id", ""))
        built = [crit.build(r, v) for r, v in criteria.pop(did, [])] if crit is not None else []
        obj = rd.build(row, values)
        if any(is_invalid(c) for c in built) or not _keep(rd, out, "deliverables", did, row, obj):
            continue
        items.append(Deliverable(**{**_asdict(obj), "acceptance_criteria": tuple(built)}))
    for did, rows in criteria.items():
        for r, _ in rows:
            assert crit is not None
            crit.problem(r, "deliverable", f"'{did}' is not a deliverable of the Deliverables sheet")
    out.deliverables = items


def read_project_workbook(path: str | Path) -> WorkbookRows:
    """Every sheet of a project workbook as model objects; SpecError with every problem otherwise."""
    p = Path(path)
    wb = _open(p)
    try:
        problems: list[Problem] = []
        out = WorkbookRows(str(path))
        readers: dict[str, _Reader | None] = {}
        for sheet in PROJECT_SHEETS:
            ws = _find_sheet(wb, sheet)
            if ws is not None:
                rd = _Reader(str(path), ws, sheet, problems)
                readers[sheet.kind] = rd if rd.header() else None
        if not any(s in readers for s in ("tasks", "risks", "deliverables")):
            names = ", ".join(f"{s.titles['en']} / {s.titles['zh']}" for s in PROJECT_SHEETS[:3])
            raise SpecError([Problem(str(path), None, "", f"no sheet named {names}")], "nothing was imported")
        tasks, risks, deliverables = readers.get("tasks"), readers.get("risks"), readers.get("deliverables")
        if tasks is not None:
            _read_tasks(tasks, out)
        if risks is not None:
            _read_risks(risks, out)
        if deliverables is not None:
            _read_deliverables(deliverables, readers.get("criteria"), out)
    finally:
        wb.close()
    if problems:
        raise SpecError(problems, f"{len(problems)} problem(s) in {path}, nothing was written")
    return out

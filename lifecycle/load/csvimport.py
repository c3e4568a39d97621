"""CSV import of tasks and of risks, with every problem reported by line and column.

The first row names the columns (in any order, case and surrounding spaces ignored; a ``#`` column
name or an empty one is skipped). Text is UTF-8 (a spreadsheet's byte-order mark is fine), else
GB18030; the separator (comma, semicolon or tab) is detected from the header. Empty cells take the
field's default. Dates are ``2026-03-31`` (``2026/03/31`` is accepted); booleans ``true/false``,
``yes/no``, ``1/0`` or ``是/否``; lists are separated by ``;``.

Task columns (``id`` and ``name`` required)::

    id, name, wbs, parent, owner, start, finish, duration_days, effort_hours, percent_complete,
    status (not_started|in_progress|done|blocked|cancelled), actual_start, actual_finish,
    milestone, constraint (start_no_earlier_than|finish_no_later_than), constraint_date,
    deliverables (ids; separated), notes, optimistic_days, pessimistic_days, predecessors

``predecessors`` lists the links into the task, separated by ``;`` or ``,``: a task id, optionally
followed by the link type and a lag in working days, e.g. ``T1`` (finish-to-start), ``T2SS``,
``T3FS+2``, ``T4FF-1.5``, ``T5 SF +3``. When the column is present, it replaces the links into every
task of the file (an empty cell removes them); without it links are left alone.

Risk columns (``id`` and ``title`` required)::

    id, title, category, description, probability (1-5), impact (1-5),
    strategy (avoid|mitigate|transfer|accept), response_plan, owner, status (open|closed|occurred),
    identified_on, review_date

Rows are upserted by id: an existing task or risk with that id is replaced, others are added. Every
problem of every row is collected before anything is written: a :class:`~lifecycle.errors.SpecError`
lists them as ``file:line column: message``.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifecycle.domain.fields import fields_of
from lifecycle.domain.limits import MAX_FILE_BYTES
from lifecycle.domain.model import Risk, Task, TaskLink
from lifecycle.errors import Problem, SpecError
from lifecycle.load.build import Builder, is_invalid
from lifecycle.load.files import read_regular
from lifecycle.load.source import Source

TASK_COLUMNS = (
    "id",
    "name",
    "wbs",
    "parent",
    "owner",
    "start",
    "finish",
    "duration_days",
    "effort_hours",
    "percent_complete",
    "status",
    "actual_start",
    "actual_finish",
    "milestone",
    "constraint",
    "constraint_date",
    "deliverables",
    "notes",
    "optimistic_days",
    "pessimistic_days",
    "predecessors",
)
RISK_COLUMNS = (
    "id",
    "title",
    "category",
    "description",
    "probability",
    "impact",
    "strategy",
    "response_plan",
    "owner",
    "status",
    "identified_on",
    "review_date",
)
REQUIRED = {"tasks": ("id", "name"), "risks": ("id", "title")}
_TRUE = {"true", "yes", "y", "1", "是", "x"}
_FALSE = {"false", "no", "n", "0", "否", ""}
_PRED_RE = re.compile(
    r"^\s*(?P<id>[^\s+]+?)\s*(?P<type>FS|SS|FF|SF)?\s*(?P<lag>[+-]\s*\d+(?:\.\d+)?)?"
    r"\s*(?:d|days?)?\s*$",
    re.IGNORECASE,
)
MAX_BYTES = MAX_FILE_BYTES


@dataclass
class CsvRows:
    """What a CSV file holds once every row is valid."""

    kind: str
    file: str
    items: list[Any] = field(default_factory=list)  # Task or Risk, in file order
    lines: dict[str, int] = field(default_factory=dict)  # id -> line
    links: list[TaskLink] | None = None  # None: the file has no predecessors column
    encoding: str = "utf-8"


def _decode(data: bytes, file: str) -> tuple[str, str]:
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise SpecError(
            [Problem(file, None, "", "the file is neither UTF-8 nor GB18030 text")],
            "the file could not be read, nothing was written",
        ) from exc


def _date(raw: str) -> str:
    """Normalise 2026/3/1 to 2026-03-01 so the builder's ISO parsing accepts it."""
    m = re.match(r"^\s*(\d{4})[/.](\d{1,2})[/.](\d{1,2})\s*$", raw)
    if m:
        return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    return raw.strip()


def parse_predecessors(cell: str) -> list[tuple[str, str, float]]:
    """``"T1; T2SS+2"`` -> ``[("T1", "FS", 0.0), ("T2", "SS", 2.0)]``; ValueError naming a bad item."""
    out = []
    for part in re.split(r"[;,]", cell):
        if not part.strip():
            continue
        m = _PRED_RE.match(part)
        if not m:
            raise ValueError(f"'{part.strip()}' is not a predecessor like T1, T1SS or T1FS+2")
        lag = float(m.group("lag").replace(" ", "")) if m.group("lag") else 0.0
        out.append((m.group("id"), (m.group("type") or "FS").upper(), lag))
    return out


def read_csv(path: str | Path, kind: str) -> CsvRows:
    return parse_csv(read_regular(path, MAX_BYTES), kind, str(path))


def parse_csv(data: bytes | str, kind: str, file: str = "<csv>") -> CsvRows:
    """Rows of a tasks or risks CSV as model objects; SpecError with every problem otherwise."""
    if kind not in REQUIRED:
        raise SpecError([Problem(file, None, "", f"unknown kind '{kind}' (tasks or risks)")])
    text, encoding = _decode(data, file) if isinstance(data, bytes) else (data, "utf-8")
    cls = Task if kind == "tasks" else Risk
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    names, seen = _header(reader, kind, file)
    out = CsvRows(kind, file, encoding=encoding)
    if kind == "tasks" and "predecessors" in seen:
        out.links = []
    rows = _RowReader(file, cls, names, out)
    end_line = 1
    while True:
        start_line = end_line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rows.problems.append(Problem(file, reader.line_num, "", f"not valid CSV: {exc}"))
            break
        end_line = reader.line_num
        if any(c.strip() for c in row):
            rows.read(row, start_line)
    problems = rows.problems
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        raise SpecError(problems, f"{len(problems)} problem(s) in {file}, nothing was written")
    return out


def _header(reader: Any, kind: str, file: str) -> tuple[list[str | None], dict[str, int]]:
    """The column of each cell (None: skipped) and the position of each column; SpecError when the
    header is empty, unreadable, names an unknown or repeated column, or lacks a required one."""
    columns = TASK_COLUMNS if kind == "tasks" else RISK_COLUMNS
    try:
        header = next(reader)
    except StopIteration:
        raise SpecError([Problem(file, 1, "", "the file is empty: the first row must name the columns")]) from None
    except csv.Error as exc:
        raise SpecError([Problem(file, 1, "", f"not valid CSV: {exc}")]) from None
    problems: list[Problem] = []
    names: list[str | None] = []
    seen: dict[str, int] = {}
    for pos, raw in enumerate(header):
        name = raw.strip().lower().replace(" ", "_")
        if not name or name.startswith("#"):
            names.append(None)
            continue
        if name not in columns:
            close = difflib.get_close_matches(name, columns, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(
                Problem(file, 1, name, f"unknown column '{raw.strip()}'{hint}; columns are: " + ", ".join(columns))
            )
            names.append(None)
            continue
        if name in seen:
            problems.append(
                Problem(file, 1, name, f"column '{name}' appears twice (columns {seen[name] + 1} and {pos + 1})")
            )
            names.append(None)
            continue
        seen[name] = pos
        names.append(name)
    for req in REQUIRED[kind]:
        if req not in seen:
            problems.append(Problem(file, 1, req, f"missing the required column '{req}'"))
    if problems:
        raise SpecError(problems, f"{len(problems)} problem(s) in the header of {file}, nothing was written")
    return names, seen


class _RowReader:
    """Turns each data row into a model object (and the links its ``predecessors`` cell names),
    collecting every problem by line and column."""

    def __init__(self, file: str, cls: type, names: list[str | None], out: CsvRows):
        self.file = file
        self.cls = cls
        self.infos = {i.name: i for i in fields_of(cls)}
        self.names = names
        self.out = out
        self.problems: list[Problem] = []
        self.ids: dict[str, int] = {}

    def read(self, row: list[str], line: int) -> None:
        names, out = self.names, self.out
        if len(row) > len(names) and any(c.strip() for c in row[len(names) :]):
            self.problems.append(
                Problem(self.file, line, "", f"{len(row)} cells but the header names {len(names)} columns")
            )
        values, preds_cell = self._values(row, line)
        b = Builder(Source(self.file, None, {(): line}))
        obj = b.build(self.cls, values, ())
        self.problems.extend(b.problems)
        rid = values.get("id", "")
        if rid:
            if rid in self.ids:
                self.problems.append(
                    Problem(self.file, line, "id", f"duplicate id '{rid}' (first at line {self.ids[rid]})")
                )
            else:
                self.ids[rid] = line
        if preds_cell is not None and out.links is not None:
            self._links(preds_cell, rid, line, out.links)
        if not is_invalid(obj) and rid not in out.lines:
            out.items.append(obj)
            out.lines[rid] = line

    def _values(self, row: list[str], line: int) -> tuple[dict[str, Any], str | None]:
        """The row's non-empty cells by column (typed for booleans, lists and dates), and its raw
        ``predecessors`` cell (None when there is no such column)."""
        values: dict[str, Any] = {}
        preds_cell: str | None = None
        for col, cell in zip(self.names, row, strict=False):
            if col is None:
                continue
            if col == "predecessors":
                preds_cell = cell
                continue
            cell = cell.strip()
            if cell == "":
                continue
            kind = self.infos[col].kind
            if kind == "bool":
                values[col] = self._bool(cell, col, line)
            elif kind == "list":
                values[col] = [v.strip() for v in cell.split(";") if v.strip()]
            elif kind == "date":
                values[col] = _date(cell)
            else:
                values[col] = cell
        return values, preds_cell

    def _bool(self, cell: str, col: str, line: int) -> bool:
        low = cell.lower()
        if low in _TRUE:
            return True
        if low not in _FALSE:
            self.problems.append(Problem(self.file, line, col, f"expected yes or no, got '{cell[:40]}'"))
        return False

    def _links(self, cell: str, rid: str, line: int, links: list[TaskLink]) -> None:
        try:
            preds = parse_predecessors(cell)
        except ValueError as exc:
            self.problems.append(Problem(self.file, line, "predecessors", str(exc)))
            preds = []
        if rid:
            links.extend(
                TaskLink(predecessor=pid, successor=rid, type=typ, lag_days=lag)  # type: ignore[arg-type]
                for pid, typ, lag in preds
            )

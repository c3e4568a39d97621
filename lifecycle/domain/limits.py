"""Every limit on user input, stated once: file sizes, YAML structure, text, numbers and dates.

Pure data and pure checks. The readers (project files, rule packs, MSPDI, CSV and workbook imports,
``pmo docs verify``) take file sizes and structure limits from here; :mod:`lifecycle.load.build`
checks each value it reads against :func:`number_problem`, :func:`text_problem` and
:func:`date_problem`; :func:`project_problems` walks a whole built project with the same checks, so
values that arrive any other way (imports, command-line options, service calls) are held to the same
limits by :func:`lifecycle.domain.validate.validate_project`; the SQL store runs it again before
writing, so nothing out of range reaches the database.

A check returns the message (``None`` when the value is fine); callers add file, line and field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from lifecycle.domain.fields import FieldInfo, fields_of
from lifecycle.domain.model import SECTIONS

# ------------------------------------------------------------------ files
MAX_FILE_BYTES = 50 * 1024 * 1024  # a project file, a rule-pack file, a CSV file, a workbook
MAX_XML_BYTES = 200 * 1024 * 1024  # Microsoft Project XML (plans of many thousand tasks)
MAX_PDF_BYTES = 200 * 1024 * 1024  # a document given to `pmo docs verify`
MAX_SMALL_FILE_BYTES = 64 * 1024  # a key, token or state file the workspace keeps
MAX_KEY_FILE_BYTES = 1024 * 1024  # a signing key, certificate, chain or PKCS#12 archive

# ------------------------------------------------------------------ workbooks (zip archives of XML parts)
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024  # all parts of a workbook once unpacked
MAX_ZIP_PARTS = 1_000  # files inside one workbook
MAX_ZIP_RATIO = 100  # unpacked size / packed size of one part larger than ZIP_RATIO_FROM (a zip bomb)
ZIP_RATIO_FROM = 1024 * 1024  # small parts may compress better without harm
MAX_SHEETS = 100  # sheets of one workbook
MAX_ROWS = 100_000  # rows of one workbook (and the highest row number a sheet is read to)
MAX_CELLS = 2_000_000  # cells of one workbook

# ------------------------------------------------------------------ YAML / JSON structure
MAX_DEPTH = 64  # nested mappings and lists
MAX_ALIASES = 1_000  # uses of an anchor (*name) in one file
MAX_NODES = 5_000_000  # values in one file, every alias counted as what it repeats

# ------------------------------------------------------------------ text
MAX_ID = 80  # ids of items
# an id: 1-80 characters, none of them white space, a path separator, a control character or one that
# file systems refuse in names, and not only dots (ids name files and address pages)
ID_RE = re.compile(r'^(?!\.+$)[^\s/\\:*?"<>|\x00-\x1f\x7f]{1,' + str(MAX_ID) + "}$")
ID_RULE = f'no spaces, no / \\ : * ? " < > |, not only dots, 1-{MAX_ID} characters'
MAX_NAME = 500  # names, titles, codes, e-mail addresses, references: one line of text
MAX_TEXT = 20_000  # free text: descriptions, notes, summaries, reasons
# control characters other than tab and line breaks (NUL first among them), a byte-order mark inside
# text and the bidirectional overrides that make text display other than it reads are never text
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\ufeff]")
# fields holding free text; every other text field is a name (MAX_NAME)
FREE_TEXT = frozenset(
    {
        "acceptance_method",
        "accomplishments",
        "address",
        "assumptions",
        "check",
        "comment",
        "conditions",
        "constraints",
        "decisions",
        "decisions_needed",
        "description",
        "evidence",
        "expectation",
        "file",
        "metric",
        "minutes",
        "next_steps",
        "notes",
        "objectives",
        "recommendation",
        "response_plan",
        "scope_impact",
        "scope_in",
        "scope_out",
        "summary",
        "support_terms",
        "target",
        "text",
        "topic",
    }
)

# ------------------------------------------------------------------ numbers
MAX_MONEY = 10**15  # any amount of money
MAX_DAYS = 36_500  # durations, lags, estimates in days: a hundred years
MAX_HOURS = MAX_DAYS * 24  # effort and hours
MAX_PERCENT = 1_000  # tolerances and other percentages (percent complete stops at 100 by its own bound)
MAX_NUMBER = 10**9  # every other number (counts, quantities, units)

# ------------------------------------------------------------------ dates
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2199, 12, 31)


def number_bounds(info: FieldInfo) -> tuple[float, float]:
    """The smallest and largest value the field takes: its own bounds within the limit of its kind."""
    name = info.name
    if info.kind == "money":
        limit = float(MAX_MONEY)
    elif name.endswith("_days") or name == "days":
        limit = float(MAX_DAYS)
    elif name.endswith("_hours") or name == "hours":
        limit = float(MAX_HOURS)
    elif name.endswith("_pct"):
        limit = float(MAX_PERCENT)
    else:
        limit = float(MAX_NUMBER)
    low = -limit if info.minimum is None else max(-limit, info.minimum)
    high = limit if info.maximum is None else min(limit, info.maximum)
    return low, high


def finite_problem(value: float | Decimal) -> str | None:
    """A number that is not a number (NaN) or infinite (``.inf``, ``1e400``)."""
    finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
    return None if finite else f"{value} is not a finite number"


def _shown(value: float | Decimal) -> str:
    """A number as a user wrote it: 120 rather than 120.0."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value)


def number_problem(info: FieldInfo, value: float | Decimal) -> str | None:
    """What is wrong with ``value`` for the numeric field ``info`` (None: nothing)."""
    bad = finite_problem(value)
    if bad:
        return bad
    low, high = number_bounds(info)
    if value < low:
        word = "negative" if low == 0 else f"below {low:g}"
        return f"{_shown(value)} is {word}; it must be at least {low:g}"
    if value > high:
        return f"{_shown(value)} is above the maximum of {high:g}"
    return None


def control_problem(value: str) -> str | None:
    """A control or invisible character (NUL, ESC, a byte-order mark, a direction override) in text."""
    bad = CONTROL_RE.search(value)
    if bad is None:
        return None
    return (
        f"contains the control character U+{ord(bad.group()):04X} at position {bad.start() + 1}; text may not hold one"
    )


def name_problem(value: str, limit: int = MAX_NAME) -> str | None:
    """Control characters (NUL ...) or more characters than ``limit`` (a name's by default)."""
    bad = control_problem(value)
    if bad:
        return bad
    if len(value) > limit:
        return f"{len(value):,} characters, more than the {limit:,} this field takes"
    return None


def text_problem(info: FieldInfo, value: str) -> str | None:
    """Control characters (NUL ...) or a text longer than the field's limit."""
    return name_problem(value, MAX_TEXT if info.name in FREE_TEXT else MAX_NAME)


def date_problem(value: date) -> str | None:
    """A date outside the years this engine plans in."""
    day = value.date() if isinstance(value, datetime) else value
    if DATE_MIN <= day <= DATE_MAX:
        return None
    return f"{value.isoformat()} is outside the dates a project may use ({DATE_MIN} … {DATE_MAX})"


def scalar_problem(value: Any) -> str | None:
    """The limits every plain value of a user's file meets, whatever field it goes to."""
    if isinstance(value, str):
        bad = control_problem(value)
        if bad:
            return bad
        if len(value) > MAX_TEXT:
            return f"{len(value):,} characters, more than the {MAX_TEXT:,} any text may have"
        return None
    if isinstance(value, float):
        return finite_problem(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_MONEY:
        return f"{value} is beyond the largest number accepted ({MAX_MONEY:g})"
    if isinstance(value, date):
        return date_problem(value)
    return None


Path = tuple[Any, ...]


def path_text(path: Path) -> str:
    """A field's path as problems name it: ``tasks[2].owner``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def stored_problems(value: Any, path: Path = ()) -> list[tuple[Path, str]]:
    """What a database must not be given in free-form data (records, audit events): a NUL character
    in text (PostgreSQL refuses it), a number that is not finite (JSON has none)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in stored_problems(v, path + (str(k),))]
    if isinstance(value, (list, tuple)):
        return [p for j, v in enumerate(value) for p in stored_problems(v, path + (j,))]
    if isinstance(value, str) and "\x00" in value:
        return [(path, "contains a NUL character, which a database cannot store")]
    if isinstance(value, float) and not math.isfinite(value):
        return [(path, f"{value} is not a finite number")]
    return []


def value_problem(info: FieldInfo, value: Any) -> str | None:
    """What is wrong with one field value of a built object (lists and objects are walked apart)."""
    if value is None or isinstance(value, bool):
        return None
    kind = info.kind
    if kind in ("str", "enum") and isinstance(value, str):
        return text_problem(info, value)
    if kind in ("int", "float", "money"):
        return number_problem(info, value)
    if kind in ("date", "datetime"):
        return date_problem(value)
    return None


_Test = Callable[[Any], bool]


def _fine_test(info: FieldInfo) -> _Test:
    """A fast test that a value of the field is within its limits (the message is made only when not)."""
    kind = info.kind
    if kind in ("str", "enum"):
        limit = MAX_TEXT if info.name in FREE_TEXT else MAX_NAME
        search = CONTROL_RE.search
        return lambda v: not isinstance(v, str) or (len(v) <= limit and search(v) is None)
    if kind in ("int", "float", "money"):
        low, high = number_bounds(info)
        return lambda v: v is None or isinstance(v, bool) or low <= v <= high  # NaN compares false
    if kind == "date":
        return lambda v: v is None or DATE_MIN <= v <= DATE_MAX
    if kind == "datetime":
        return lambda v: v is None or date_problem(v) is None
    return lambda v: True


_UNCHECKED = ("bool", "enum")  # true/false and a choice among the model's own words: nothing to bound


_PLANS: dict[type, tuple[tuple[FieldInfo, _Test], ...]] = {}


def _plan(cls: type) -> tuple[tuple[FieldInfo, _Test], ...]:
    plan = _PLANS.get(cls)
    if plan is None:
        infos = [info for info in fields_of(cls) if info.kind not in _UNCHECKED]
        plan = _PLANS[cls] = tuple((info, _fine_test(info.item or info)) for info in infos)
    return plan


def object_problems(obj: Any, path: Path = ()) -> list[tuple[Path, str]]:
    """Every value of the dataclass ``obj`` (and of the objects and lists it holds) out of its limits."""
    out: list[tuple[Path, str]] = []
    for info, fine in _plan(type(obj)):
        value = getattr(obj, info.name)
        kind = info.kind
        if kind == "object":
            if value is not None:
                out += object_problems(value, path + (info.name,))
        elif kind == "list":
            if value:
                out += _list_problems(info, fine, value, path + (info.name,))
        elif kind == "dict":
            if value:
                out += _free_problems(value, path + (info.name,))
        elif not fine(value):
            out.append((path + (info.name,), value_problem(info, value) or "out of limits"))
    return out


def _list_problems(info: FieldInfo, fine: _Test, values: Any, path: Path) -> list[tuple[Path, str]]:
    item = info.item
    out: list[tuple[Path, str]] = []
    if item is None:
        return out
    for j, value in enumerate(values):
        if item.kind == "object":
            out += object_problems(value, path + (j,))
        elif not fine(value):
            out.append((path + (j,), value_problem(item, value) or "out of limits"))
    return out


def _free_problems(value: Any, path: Path) -> list[tuple[Path, str]]:
    """A free-form map (custom fields, event data): every plain value meets the file limits."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _free_problems(v, path + (str(k),))]
    if isinstance(value, (list, tuple)):
        return [p for j, v in enumerate(value) for p in _free_problems(v, path + (j,))]
    bad = scalar_problem(value)
    return [(path, bad)] if bad else []


def project_problems(project: Any) -> list[tuple[Path, str]]:
    """Every value of a whole project out of its limits, with its path in the project file."""
    out = object_problems(project.charter, ("project",))
    out += object_problems(project.calendar, ("calendar",))
    for name in SECTIONS:
        for i, item in enumerate(project.section(name)):
            out += object_problems(item, (name, i))
    return out

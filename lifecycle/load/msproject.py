"""Import of Microsoft Project XML (MSPDI, the Project XML Data Interchange format) into the model.

The file is untrusted. It is parsed with defusedxml: a DTD (and with it any entity declaration, the
"billion laughs" expansion bomb and external entities such as ``file:///etc/passwd``) is refused with a
:class:`~lifecycle.errors.SpecError`, and so is a file larger than :data:`MAX_BYTES`. A file that is not
well-formed XML gets the line and column the parser stopped at.

What is read (element names as the format's schema defines them; the namespace is ignored, so files
saved by every version of the format are read alike):

* ``Project``: ``Title`` (else ``Name``), ``Company``, ``StartDate``, ``FinishDate``, ``StatusDate``,
  ``CurrencyCode``, ``MinutesPerDay`` and ``MinutesPerWeek`` (the unit of every duration), ``CalendarUID``.
* ``Calendars``: the project calendar (and the base calendar it derives from): ``WeekDays`` with
  ``DayType`` 1 = Sunday ... 7 = Saturday and ``DayWorking``; exceptions both in the newer
  ``Exceptions/Exception`` form (``TimePeriod``, ``DayWorking``; recurring daily, weekly, monthly-by-day
  and yearly-by-day exceptions are expanded) and the older ``WeekDay`` with ``DayType`` 0; ``WorkWeeks``
  (a different working week for a period: its days that differ become exceptions). A non-working
  exception becomes a holiday, a working one an extra workday (a make-up day). Every other calendar
  people or tasks use becomes a resource calendar ``C<UID>`` inheriting from its ``BaseCalendarUID``
  (``project`` for the project calendar), with its own week, days and hours a day (``WorkingTimes``
  of its week days); a calendar that only inherits (the format writes one per resource) is replaced
  by its base.
* ``Tasks/Task``: ``UID`` (the task id becomes ``T<UID>``), ``Name``, ``WBS`` (else ``OutlineNumber``),
  ``OutlineLevel`` (the hierarchy: each task's parent is the nearest task above it with a smaller
  level), ``Start``, ``Finish``, ``Duration`` (``PT#H#M#S``: working hours, divided by the minutes per day),
  ``Work``, ``Milestone``, ``PercentComplete``, ``ActualStart``, ``ActualFinish``, ``Active``,
  ``ConstraintType`` / ``ConstraintDate`` (a manually scheduled or levelled task keeps its start as a
  start-no-earlier-than), ``Notes``, ``Deadline``, ``Cost``, ``ActualCost``,
  ``Baseline`` (``Number``, ``Start``, ``Finish``, ``Duration``, ``Work``, ``Cost``), the optimistic and
  pessimistic durations of a three-point estimate (custom duration fields, ``ExtendedAttribute``, whose
  project-level alias names them "optimistic" / "pessimistic") and ``PredecessorLink``:
  ``PredecessorUID``, ``Type`` (0 = FF, 1 = FS, 2 = SF, 3 = SS; FS when absent), ``LinkLag`` in *tenths of
  a minute* and ``LagFormat`` (working units 3/5/7/9/11 are divided by the minutes per day; elapsed
  units 4/6/8/10/12 are elapsed time turned into working days pro rata to the working week; percent
  units 19/20 are read as tenths of a percent of the predecessor's duration). The project summary task
  (UID 0 / outline level 0) and null tasks are skipped.
* ``Tasks/Task`` also: ``CalendarUID`` (the task calendar), ``IgnoreResourceCalendar``, ``Type`` (0
  fixed units, 1 fixed duration, 2 fixed work) and ``EffortDriven``.
* ``Resources/Resource``: work resources (``Type`` 1) become people (``R<UID>``; capacity is
  ``MaxUnits`` x minutes per week; ``StandardRate`` is per hour; ``CalendarUID``), material resources (``Type`` 0)
  become materials (``M<UID>``) needed by the start of the first task that uses them.
* ``Assignments/Assignment``: ``TaskUID``, ``ResourceUID`` (-65535, "no resource", is skipped),
  ``Units``, ``Work``. The first person assigned to a task becomes its owner.

Costs: a leaf task's baseline cost (else its cost) becomes a budget line allocated to the task, and its
actual cost a cost entry. Baselines become :class:`~lifecycle.domain.model.Baseline` records
(``MSP-BL<n>``), baseline 0 last so that earned value is measured against it, as the format intends.

Everything else is listed in the :class:`ImportReport`, not failed on: elements the engine computes
itself (early/late dates, slack, earned value fields ...) as *ignored*, elements it does not know as
*not understood*, and every value it had to approximate (constraint types it does not have, elapsed and
percent lags, fractional days) as an *approximation*, each with its line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from lifecycle.domain.limits import MAX_XML_BYTES
from lifecycle.domain.model import (
    Assignment,
    Baseline,
    BaselineTask,
    BudgetLine,
    Calendar,
    CostEntry,
    Material,
    Person,
    ResourceCalendar,
    Task,
    TaskLink,
)
from lifecycle.errors import Problem, SpecError
from lifecycle.load.files import read_regular

MAX_BYTES = MAX_XML_BYTES
NO_RESOURCE = -65535
LINK_TYPE = {0: "FF", 1: "FS", 2: "SF", 3: "SS"}
_TASK_TYPE: dict[int, Any] = {0: "fixed_units", 1: "fixed_duration", 2: "fixed_work"}
_UNSUPPORTED = {5: "start_no_later_than", 6: "finish_no_earlier_than"}  # constraint types left out
_DUR_RE = re.compile(
    r"^(-)?P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)
# LagFormat / DurationFormat codes: working-time units, elapsed-time units, percent units
_ELAPSED_FORMATS = {4, 6, 8, 10, 12, 36, 38, 40, 42, 44}
_PERCENT_FORMATS = {19, 20, 51, 52}
_DAYTYPE_ISO = {1: 7, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 6}

# Elements read, per parent. Anything else is reported (ignored when listed in _DERIVED, else not understood).
_USED = {
    "Project": {
        "Name",
        "Title",
        "Company",
        "Manager",
        "StartDate",
        "FinishDate",
        "StatusDate",
        "CurrentDate",
        "CurrencyCode",
        "CurrencySymbol",
        "MinutesPerDay",
        "MinutesPerWeek",
        "CalendarUID",
        "Calendars",
        "Tasks",
        "Resources",
        "Assignments",
        "LastSaved",
        "CreationDate",
        "SaveVersion",
    },
    "Task": {
        "UID",
        "ID",
        "Name",
        "WBS",
        "OutlineNumber",
        "OutlineLevel",
        "Start",
        "Finish",
        "Duration",
        "DurationFormat",
        "Work",
        "Milestone",
        "Summary",
        "PercentComplete",
        "ActualStart",
        "ActualFinish",
        "Active",
        "ConstraintType",
        "ConstraintDate",
        "Notes",
        "Deadline",
        "Cost",
        "ActualCost",
        "PredecessorLink",
        "Baseline",
        "IsNull",
        "Manual",
        "LevelingDelay",
        "CalendarUID",
        "IgnoreResourceCalendar",
        "Type",
        "EffortDriven",
    },
    "PredecessorLink": {"PredecessorUID", "Type", "LinkLag", "LagFormat", "CrossProject", "CrossProjectName"},
    "Baseline": {
        "Number",
        "Start",
        "Finish",
        "Work",
        "Cost",
        "Duration",
        "DurationFormat",
    },
    "Resource": {
        "UID",
        "ID",
        "Name",
        "Type",
        "IsNull",
        "Group",
        "EmailAddress",
        "MaxUnits",
        "StandardRate",
        "StandardRateFormat",
        "MaterialLabel",
        "Initials",
        "CalendarUID",
    },
    "Assignment": {"UID", "TaskUID", "ResourceUID", "Units", "Work", "Start", "Finish"},
    "Calendar": {
        "UID",
        "Name",
        "IsBaseCalendar",
        "BaseCalendarUID",
        "WeekDays",
        "Exceptions",
        "WorkWeeks",
        "IsBaselineCalendar",
    },
}
_DERIVED = {
    "Baseline": {"Interim", "EstimatedDuration", "BCWS", "BCWP", "FixedCost", "TimephasedData"},
    "Project": {
        "UID",
        "Subject",
        "Category",
        "Author",
        "Revision",
        "ScheduleFromStart",
        "FYStartDate",
        "CriticalSlackLimit",
        "CurrencyDigits",
        "CurrencySymbolPosition",
        "DefaultStartTime",
        "DefaultFinishTime",
        "DaysPerMonth",
        "DefaultTaskType",
        "DefaultFixedCostAccrual",
        "DefaultStandardRate",
        "DefaultOvertimeRate",
        "DurationFormat",
        "WorkFormat",
        "EditableActualCosts",
        "HonorConstraints",
        "EarnedValueMethod",
        "InsertedProjectsLikeSummary",
        "MultipleCriticalPaths",
        "NewTasksEffortDriven",
        "NewTasksEstimated",
        "SplitsInProgressTasks",
        "SpreadActualCost",
        "SpreadPercentComplete",
        "TaskUpdatesResource",
        "FiscalYearStart",
        "WeekStartDay",
        "MoveCompletedEndsBack",
        "MoveRemainingStartsBack",
        "MoveRemainingStartsForward",
        "MoveCompletedEndsForward",
        "BaselineForEarnedValue",
        "AutoAddNewResourcesAndTasks",
        "MicrosoftProjectServerURL",
        "Autolink",
        "NewTaskStartDate",
        "DefaultTaskEVMethod",
        "ProjectExternallyEdited",
        "ExtendedCreationDate",
        "ActualsInSync",
        "RemoveFileProperties",
        "AdminProject",
        "OutlineCodes",
        "WBSMasks",
        "ExtendedAttributes",
        "GUID",
        "NewTasksAreManual",
        "ProjectSummaryTaskUID",
        "ShowProjectSummaryTask",
        "KeepTaskOnNearestWorkingTimeWhenMadeAutoScheduled",
        "UpdateManuallyScheduledTasksWhenEditingLinks",
        "Views",
        "Filters",
        "Groups",
        "Tables",
        "Maps",
        "Reports",
        "Drawings",
        "DataLinks",
        "VBAProjects",
        "CalculationType",
    },
    "Task": {
        "GUID",
        "CreateDate",
        "Contact",
        "WBSLevel",
        "Priority",
        "Stop",
        "Resume",
        "ResumeValid",
        "Recurring",
        "OverAllocated",
        "Estimated",
        "Critical",
        "IsSubproject",
        "IsSubprojectReadOnly",
        "SubprojectName",
        "ExternalTask",
        "ExternalTaskProject",
        "EarlyStart",
        "EarlyFinish",
        "LateStart",
        "LateFinish",
        "StartVariance",
        "FinishVariance",
        "WorkVariance",
        "FreeSlack",
        "TotalSlack",
        "StartSlack",
        "FinishSlack",
        "FixedCost",
        "FixedCostAccrual",
        "PercentWorkComplete",
        "OvertimeCost",
        "OvertimeWork",
        "ActualDuration",
        "ActualOvertimeCost",
        "ActualWork",
        "ActualOvertimeWork",
        "RegularWork",
        "RemainingDuration",
        "RemainingCost",
        "RemainingWork",
        "RemainingOvertimeCost",
        "RemainingOvertimeWork",
        "ACWP",
        "CV",
        "SV",
        "LevelAssignments",
        "LevelingCanSplit",
        "LevelingDelayFormat",
        "PreLeveledStart",
        "PreLeveledFinish",
        "Hyperlink",
        "HyperlinkAddress",
        "HyperlinkSubAddress",
        "HideBar",
        "Rollup",
        "BCWS",
        "BCWP",
        "PhysicalPercentComplete",
        "EarnedValueMethod",
        "ActualWorkProtected",
        "ActualOvertimeWorkProtected",
        "ExtendedAttribute",
        "OutlineCode",
        "IsPublished",
        "StatusManager",
        "CommitmentStart",
        "CommitmentFinish",
        "CommitmentType",
        "TimephasedData",
        "ManualStart",
        "ManualFinish",
        "ManualDuration",
        "IsNull",
        "DurationText",
        "StartText",
        "FinishText",
        "Placeholder",
        "IsActive",
        "CostVariance",
        "CPI",
        "SPI",
        "EAC",
        "VAC",
        "TCPI",
        "ResumeNoEarlierThan",
        "FreeformDurationFormat",
    },
    "Resource": {
        "GUID",
        "Phonetics",
        "NTAccount",
        "Code",
        "WorkGroup",
        "Hyperlink",
        "HyperlinkAddress",
        "HyperlinkSubAddress",
        "PeakUnits",
        "OverAllocated",
        "AvailableFrom",
        "AvailableTo",
        "Start",
        "Finish",
        "CanLevel",
        "AccrueAt",
        "Work",
        "RegularWork",
        "OvertimeWork",
        "ActualWork",
        "RemainingWork",
        "ActualOvertimeWork",
        "RemainingOvertimeWork",
        "PercentWorkComplete",
        "Cost",
        "OvertimeRate",
        "OvertimeRateFormat",
        "OvertimeCost",
        "CostPerUse",
        "ActualCost",
        "ActualOvertimeCost",
        "RemainingCost",
        "RemainingOvertimeCost",
        "WorkVariance",
        "CostVariance",
        "SV",
        "CV",
        "ACWP",
        "Notes",
        "BCWS",
        "BCWP",
        "IsGeneric",
        "IsInactive",
        "IsEnterprise",
        "BookingType",
        "ActualWorkProtected",
        "ActualOvertimeWorkProtected",
        "ActiveDirectoryGUID",
        "CreationDate",
        "ExtendedAttribute",
        "Baseline",
        "OutlineCode",
        "IsCostResource",
        "AssnOwner",
        "AssnOwnerGuid",
        "IsBudget",
        "AvailabilityPeriods",
        "Rates",
        "TimephasedData",
        "Budget",
    },
    "Assignment": {
        "GUID",
        "PercentWorkComplete",
        "ActualCost",
        "ActualFinish",
        "ActualOvertimeCost",
        "ActualOvertimeWork",
        "ActualStart",
        "ActualWork",
        "ACWP",
        "Confirmed",
        "Cost",
        "CostRateTable",
        "CostVariance",
        "CV",
        "Delay",
        "FinishVariance",
        "Hyperlink",
        "HyperlinkAddress",
        "HyperlinkSubAddress",
        "WorkVariance",
        "HasFixedRateUnits",
        "FixedMaterial",
        "LevelingDelay",
        "LevelingDelayFormat",
        "LinkedFields",
        "Milestone",
        "Notes",
        "Overallocated",
        "OvertimeCost",
        "OvertimeWork",
        "PeakUnits",
        "RegularWork",
        "RemainingCost",
        "RemainingOvertimeCost",
        "RemainingOvertimeWork",
        "RemainingWork",
        "ResponsePending",
        "Stop",
        "Resume",
        "StartVariance",
        "Summary",
        "SV",
        "UpdateNeeded",
        "VAC",
        "WorkContour",
        "BCWS",
        "BCWP",
        "BookingType",
        "ActualWorkProtected",
        "ActualOvertimeWorkProtected",
        "CreationDate",
        "AssnOwner",
        "AssnOwnerGuid",
        "BudgetCost",
        "BudgetWork",
        "ExtendedAttribute",
        "Baseline",
        "TimephasedData",
    },
}


# Other element names of the published schema (any parent): known, so reported as ignored, not as unknown.
_SCHEMA_NAMES = {
    "AccrueAt",
    "ActiveDirectoryGUID",
    "Alias",
    "AllLevelsRequired",
    "AppendNewValues",
    "AutoRollDown",
    "AvailabilityPeriod",
    "AvailableUnits",
    "CFType",
    "DefaultGuid",
    "Default",
    "Description",
    "ElemType",
    "EnteredByOccurrences",
    "Enterprise",
    "EnterpriseOutlineCodeAlias",
    "FieldGUID",
    "FieldID",
    "FieldName",
    "Formula",
    "FromDate",
    "FromTime",
    "GenerateCodes",
    "Guid",
    "LeafOnly",
    "Length",
    "Level",
    "Ltuid",
    "Mask",
    "Masks",
    "MaxMultiValues",
    "OnlyTableValuesAllowed",
    "ParentValueID",
    "Phonetic",
    "PhoneticAlias",
    "Prefix",
    "Rate",
    "RatesFrom",
    "RatesTo",
    "RateTable",
    "ResourceSubstitutionEnabled",
    "RestrictValues",
    "RollupType",
    "SecondaryPID",
    "Separator",
    "ShowIndent",
    "ToDate",
    "ToTime",
    "UserDef",
    "Value",
    "ValueID",
    "ValueGUID",
    "Values",
    "ValueList",
    "WorkingTime",
    "WorkingTimes",
    "TimePeriod",
    "Occurrences",
    "Type",
    "Period",
    "DaysOfWeek",
    "MonthItem",
    "MonthPosition",
    "Month",
    "MonthDay",
    "DayWorking",
    "DayType",
    "WeekDay",
    "IgnoreWarnings",
    "DisplayAsSummary",
    "DisplayOnTimeline",
    "Warning",
    "IsMarked",
    "ShowOnBoard",
    "BoardStatusID",
    "BoardColumnUID",
    "SprintID",
    "StatusManager",
    "CostCenter",
    "AgileMode",
    "BoardColumns",
    "BaselineCalendar",
    "Sprints",
    "TotalSlack",
    "EarnedValueMethod",
    "ProjectUID",
}


@dataclass
class ImportReport:
    """What an import did and what it could not take over exactly."""

    file: str
    project_name: str = ""
    code: str = ""
    created: bool = False
    status_date: date | None = None
    counts: dict[str, int] = field(default_factory=dict)
    not_understood: dict[str, tuple[int, int | None]] = field(default_factory=dict)  # path -> (count, first line)
    ignored: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    approximations: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def note(self, line: int | None, message: str) -> None:
        self.approximations.append(f"line {line}: {message}" if line else message)

    def skip(self, line: int | None, message: str) -> None:
        self.skipped.append(f"line {line}: {message}" if line else message)

    def _tally(self, where: dict[str, tuple[int, int | None]], path: str, line: int | None) -> None:
        n, first = where.get(path, (0, line))
        where[path] = (n + 1, first)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "project_name": self.project_name,
            "code": self.code,
            "created": self.created,
            "status_date": self.status_date.isoformat() if self.status_date else None,
            "counts": dict(self.counts),
            "not_understood": [
                {"element": k, "count": n, "first_line": ln} for k, (n, ln) in sorted(self.not_understood.items())
            ],
            "ignored": [{"element": k, "count": n, "first_line": ln} for k, (n, ln) in sorted(self.ignored.items())],
            "approximations": list(self.approximations),
            "skipped": list(self.skipped),
        }

    def lines(self) -> list[str]:
        """A short human-readable summary."""
        out = [f"{self.file}: " + ", ".join(f"{v} {k}" for k, v in self.counts.items() if v)]
        if self.skipped:
            out.append(f"skipped ({len(self.skipped)}):")
            out += [f"  {s}" for s in self.skipped]
        if self.approximations:
            out.append(f"approximated ({len(self.approximations)}):")
            out += [f"  {s}" for s in self.approximations]
        if self.not_understood:
            out.append("not understood (left out):")
            out += [f"  {k} x{n} (first at line {ln})" for k, (n, ln) in sorted(self.not_understood.items())]
        if self.ignored:
            out.append(
                f"ignored: {sum(n for n, _ in self.ignored.values())} computed or display-only values "
                f"({len(self.ignored)} kinds) the engine derives itself or does not keep"
            )
        return out


@dataclass
class MsProjectData:
    """The content of an MSPDI file as model objects, before it is merged into a project."""

    name: str
    company: str
    start: date | None
    finish: date | None
    status_date: date | None
    currency: str
    calendar: Calendar
    tasks: tuple[Task, ...]
    links: tuple[TaskLink, ...]
    people: tuple[Person, ...]
    materials: tuple[Material, ...]
    assignments: tuple[Assignment, ...]
    budget: tuple[BudgetLine, ...]
    costs: tuple[CostEntry, ...]
    baselines: tuple[Baseline, ...]
    report: ImportReport
    task_lines: dict[str, int] = field(default_factory=dict)
    # constraints the engine does not have, left out: (task id, start_no_later_than | finish_no_earlier_than, date)
    unsupported_constraints: tuple[tuple[str, str, date], ...] = ()


# ---------------------------------------------------------------------------------------- XML reading
class _LineBuilder(TreeBuilder):
    """A tree builder that remembers the line each element starts on."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[int, int] = {}
        self.parser: Any = None

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        el = super().start(tag, attrs)
        if self.parser is not None:
            self.lines[id(el)] = self.parser.parser.CurrentLineNumber
        return el


def parse_xml(data: bytes, file: str) -> tuple[Element, dict[int, int]]:
    """Parse untrusted XML safely: (root element, element id -> line). Refusals are SpecErrors."""
    if len(data) > MAX_BYTES:
        raise SpecError(
            [Problem(file, None, "", f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")],
            "the file was refused, nothing was written",
        )
    builder = _LineBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    builder.parser = parser
    try:
        parser.feed(data)
        root = parser.close()
    except DefusedXmlException as exc:
        line = None
        try:
            line = parser.parser.CurrentLineNumber
        except Exception:
            line = None
        kind = type(exc).__name__
        what = {
            "DTDForbidden": "declares a DTD (<!DOCTYPE ...>)",
            "EntitiesForbidden": "declares XML entities",
            "ExternalReferenceForbidden": "refers to an external entity",
        }.get(kind, "uses a forbidden XML feature")
        raise SpecError(
            [
                Problem(
                    file,
                    line,
                    "",
                    f"refused: the file {what}; Microsoft Project XML never needs "
                    "one, and it can be used to read local files or exhaust memory",
                )
            ],
            "the file was refused as unsafe, nothing was written",
        ) from None
    except ParseError as exc:
        line, col = getattr(exc, "position", (None, None))
        msg = str(exc).split(":")[0] if str(exc) else "malformed XML"
        raise SpecError(
            [Problem(file, line, "", f"not well-formed XML: {msg} (column {col})")],
            "the file could not be read, nothing was written",
        ) from None
    return root, builder.lines


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag


# ---------------------------------------------------------------------------------------- the reader
class _Reader:
    def __init__(self, file: str, lines: dict[int, int], today: date):
        self.file = file
        self.lines = lines
        self.today = today
        self.problems: list[Problem] = []
        self.report = ImportReport(file)
        self.minutes_per_day = 480.0
        self.minutes_per_week = 2400.0
        self.working_per_week = 5
        self.pert_fields: dict[str, str] = {}  # custom duration field id -> "optimistic" / "pessimistic"
        self.calendar_ids: dict[int, str] = {}  # calendar UID -> resource calendar id ("" for the project's)
        self.own_hours: dict[int, float] = {}  # calendar UID -> hours of its own working days (0: none stated)

    def line(self, el: Element | None) -> int | None:
        return None if el is None else self.lines.get(id(el))

    def kids(self, el: Element) -> dict[str, list[Element]]:
        out: dict[str, list[Element]] = {}
        for c in el:
            out.setdefault(_local(c.tag), []).append(c)
        return out

    def audit(self, el: Element, kind: str, path: str) -> None:
        """Record the children of ``el`` this reader does not use."""
        used = _USED.get(kind, set())
        derived = _DERIVED.get(kind, set())
        for c in el:
            name = _local(c.tag)
            if name in used:
                continue
            known = name in derived or name in _SCHEMA_NAMES
            target = self.report.ignored if known else self.report.not_understood
            self.report._tally(target, f"{path}/{name}", self.line(c))

    def error(self, el: Element | None, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, self.line(el), path, message))

    # ---------------------------------------------------------------- scalar values
    def text(self, k: dict[str, list[Element]], name: str) -> str | None:
        els = k.get(name)
        if not els:
            return None
        t = (els[0].text or "").strip()
        return t if t != "" else None

    def int_(self, k: dict[str, list[Element]], name: str, path: str) -> int | None:
        t = self.text(k, name)
        if t is None:
            return None
        try:
            return int(Decimal(t))
        except (InvalidOperation, ValueError):
            self.error(k[name][0], f"{path}/{name}", f"expected a whole number, got '{t[:40]}'")
            return None

    def float_(self, k: dict[str, list[Element]], name: str, path: str) -> float | None:
        t = self.text(k, name)
        if t is None:
            return None
        try:
            v = float(t)
            if not math.isfinite(v):
                raise ValueError
            return v
        except ValueError:
            self.error(k[name][0], f"{path}/{name}", f"expected a number, got '{t[:40]}'")
            return None

    def money(self, k: dict[str, list[Element]], name: str, path: str, *, cents: bool = True) -> Decimal | None:
        """An amount; costs are stored in hundredths of the currency unit (``cents``), rates are not."""
        t = self.text(k, name)
        if t is None:
            return None
        try:
            v = Decimal(t)
            if not v.is_finite():
                raise InvalidOperation
            if cents:
                v = v / 100
            return v.quantize(Decimal("0.01"))
        except InvalidOperation:
            self.error(k[name][0], f"{path}/{name}", f"expected an amount, got '{t[:40]}'")
            return None

    def bool_(self, k: dict[str, list[Element]], name: str, path: str) -> bool | None:
        t = self.text(k, name)
        if t is None:
            return None
        if t.lower() in ("1", "true"):
            return True
        if t.lower() in ("0", "false"):
            return False
        self.error(k[name][0], f"{path}/{name}", f"expected 0 or 1, got '{t[:40]}'")
        return None

    def date_(self, k: dict[str, list[Element]], name: str, path: str) -> date | None:
        t = self.text(k, name)
        if t is None or t.upper() == "NA":
            return None
        try:
            d = date.fromisoformat(t[:10])
        except ValueError:
            self.error(
                k[name][0], f"{path}/{name}", f"expected a date and time like 2026-03-02T08:00:00, got '{t[:40]}'"
            )
            return None
        if d.year < 1984 or d.year > 2149:  # the format's own range; outside it is a "no date" marker
            return None
        return d

    def hours(self, k: dict[str, list[Element]], name: str, path: str) -> float | None:
        t = self.text(k, name)
        if t is None:
            return None
        m = _DUR_RE.match(t)
        if not m or t in ("P", "PT", "-P", "-PT"):
            self.error(k[name][0], f"{path}/{name}", f"expected a duration like PT16H0M0S, got '{t[:40]}'")
            return None
        sign, y, mo, w, d, h, mi, s = m.groups()
        if y or mo:
            self.report.note(
                self.line(k[name][0]), f"{path}/{name} '{t}' uses years or months; read as 365 and 30 elapsed days"
            )
        total = (
            float(y or 0) * 365 * 24
            + float(mo or 0) * 30 * 24
            + float(w or 0) * 7 * 24
            + float(d or 0) * 24
            + float(h or 0)
            + float(mi or 0) / 60
            + float(s or 0) / 3600
        )
        return -total if sign else total

    # ---------------------------------------------------------------- calendar
    def calendar(self, root_k: dict[str, list[Element]], hours_per_day: float) -> tuple[Calendar, int]:
        """The project calendar (its base chain applied) with every other calendar of the file as a
        resource calendar (``C<UID>``, inheriting ``project`` when its base is the project calendar);
        :func:`prune_calendars` later keeps those people and tasks use."""
        cals = root_k.get("Calendars", [])
        entries = [c for cs in cals for c in cs if _local(c.tag) == "Calendar"]
        by_uid: dict[int, Element] = {}
        for c in entries:
            ck = self.kids(c)
            uid = self.int_(ck, "UID", "Calendars/Calendar")
            if uid is not None:
                by_uid[uid] = c
            self.audit(c, "Calendar", "Calendars/Calendar")
        uid = self.int_(root_k, "CalendarUID", "Project")
        chosen = by_uid.get(uid) if uid is not None else None
        if chosen is None:
            for c in entries:
                ck = self.kids(c)
                if self.bool_(ck, "IsBaseCalendar", "Calendars/Calendar"):
                    chosen = c
                    break
        if chosen is None:
            if entries:
                self.report.note(self.line(entries[0]), "no project calendar named; the first calendar is used")
                chosen = entries[0]
            else:
                return Calendar(hours_per_day=hours_per_day), 0
        weekdays, holidays, extra = self._calendar_days(chosen, by_uid, set())
        project_uid = next((u for u, c in by_uid.items() if c is chosen), None)
        self.calendar_ids = {u: ("" if u == project_uid else f"C{u}") for u in by_uid}
        for u, c in by_uid.items():
            if u != project_uid:
                ck = self.kids(c)
                self.own_hours[u] = self._own_hours(ck, self.text(ck, "Name") or f"C{u}")
        others = tuple(
            self._resource_calendar(c, u, by_uid, project_uid) for u, c in by_uid.items() if u != project_uid
        )
        cal = Calendar(
            working_weekdays=tuple(sorted(weekdays)),
            hours_per_day=hours_per_day,
            holidays=tuple(sorted(holidays - extra)),
            extra_workdays=tuple(sorted(extra)),
            resource_calendars=others,
        )
        self.working_per_week = len(weekdays) or 5
        return cal, len(holidays) + len(extra)

    def _resource_calendar(
        self, cal: Element, uid: int, by_uid: dict[int, Element], project_uid: int | None
    ) -> ResourceCalendar:
        """A calendar other than the project's: its own week and days over its base's."""
        ck = self.kids(cal)
        base_uid = self.int_(ck, "BaseCalendarUID", "Calendars/Calendar")
        if base_uid is not None and base_uid in by_uid and base_uid != uid:
            base = "project" if base_uid == project_uid else f"C{base_uid}"
            base_week = self._calendar_days(by_uid[base_uid], by_uid, {uid})[0]
        else:
            base, base_week = "", {1, 2, 3, 4, 5}
        week, off, on = self._own_days(cal, ck, base_week)
        name = (self.text(ck, "Name") or "")[:200]
        own = self.own_hours.get(uid, 0.0)
        if own and abs(own - self._hours_of(base_uid, by_uid)) < 0.01:
            own = 0.0  # the base's hours
        return ResourceCalendar(
            id=f"C{uid}",
            name=name,
            base=base,
            working_weekdays=tuple(sorted(week)) if week != base_week else (),
            holidays=tuple(sorted(off - on)),
            extra_workdays=tuple(sorted(on)),
            hours_per_day=own,
        )

    def _hours_of(self, uid: int | None, by_uid: dict[int, Element]) -> float:
        """The hours a day of calendar ``uid``: its own, else its base's, else the project's."""
        seen: set[int] = set()
        while uid is not None and uid in self.own_hours and uid not in seen:
            if self.own_hours[uid]:
                return self.own_hours[uid]
            seen.add(uid)
            uid = self.int_(self.kids(by_uid[uid]), "BaseCalendarUID", "Calendars/Calendar")
        return self.minutes_per_day / 60

    def _own_hours(self, ck: dict[str, list[Element]], name: str) -> float:
        """The hours of a calendar's own working week days (0 when it states none); days of different
        lengths are averaged, and the report says so."""
        path = "Calendars/Calendar/WeekDays/WeekDay"
        hours = []
        for wd in _children_named(ck, "WeekDays", "WeekDay"):
            wk = self.kids(wd)
            if self.int_(wk, "DayType", path) in _DAYTYPE_ISO and self.bool_(wk, "DayWorking", path):
                h = sum(self._span_hours(wt) for wt in _children_named(wk, "WorkingTimes", "WorkingTime"))
                if h > 0:
                    hours.append(h)
        if not hours:
            return 0.0
        mean = round(sum(hours) / len(hours), 2)
        if max(hours) - min(hours) > 0.01:
            self.report.note(
                self.line(ck["WeekDays"][0]),
                f"calendar '{name}': working days of {', '.join(f'{h:g}' for h in sorted(set(hours)))} hours "
                f"are scheduled as days of {mean:g} hours",
            )
        return mean

    def _span_hours(self, wt: Element) -> float:
        k = self.kids(wt)
        a, b = self.text(k, "FromTime"), self.text(k, "ToTime")
        if not a or not b:
            return 0.0
        try:
            x = int(a[:2]) + int(a[3:5]) / 60
            y = int(b[:2]) + int(b[3:5]) / 60
        except ValueError:
            self.error(
                wt,
                "Calendars/Calendar/WeekDays/WeekDay/WorkingTimes",
                f"expected times like 08:00:00, got '{a}' - '{b}'",
            )
            return 0.0
        return (y if y > x else y + 24) - x

    def _calendar_days(
        self, cal: Element, by_uid: dict[int, Element], seen: set[int]
    ) -> tuple[set[int], set[date], set[date]]:
        ck = self.kids(cal)
        path = "Calendars/Calendar"
        uid = self.int_(ck, "UID", path)
        if uid is not None:
            seen = seen | {uid}
        base_uid = self.int_(ck, "BaseCalendarUID", path)
        if base_uid is not None and base_uid in by_uid and base_uid not in seen and base_uid != -1:
            weekdays, holidays, extra = self._calendar_days(by_uid[base_uid], by_uid, seen)
        else:
            weekdays, holidays, extra = {1, 2, 3, 4, 5}, set(), set()
        week, off, on = self._own_days(cal, ck, weekdays)
        return week, (holidays - on) | off, (extra - off) | on

    def _own_days(
        self, cal: Element, ck: dict[str, list[Element]], base_week: set[int]
    ) -> tuple[set[int], set[date], set[date]]:
        """A calendar's own working week (the base's with its own day types), own non-working and own
        working days (exceptions, and the days a work week makes differ from the working week)."""
        path = "Calendars/Calendar"
        weekdays = set(base_week)
        holidays: set[date] = set()
        extra: set[date] = set()
        for wd in _children_named(ck, "WeekDays", "WeekDay"):
            self._week_day(wd, f"{path}/WeekDays/WeekDay", weekdays, holidays, extra)
        for ww in _children_named(ck, "WorkWeeks", "WorkWeek"):
            self._work_week(ww, f"{path}/WorkWeeks/WorkWeek", weekdays, holidays, extra)
        for ex in _children_named(ck, "Exceptions", "Exception"):
            days_, working_ex = self._exception(ex, f"{path}/Exceptions/Exception")
            _mark(days_, working_ex, holidays, extra)
        return weekdays, holidays, extra

    def _work_week(self, ww: Element, path: str, weekdays: set[int], holidays: set[date], extra: set[date]) -> None:
        """A different working week for a period: its days that differ from the usual week become
        holidays or extra workdays."""
        k = self.kids(ww)
        tps = k.get("TimePeriod", [])
        if not tps:
            return
        tk = self.kids(tps[0])
        a = self.date_(tk, "FromDate", f"{path}/TimePeriod")
        b = self.date_(tk, "ToDate", f"{path}/TimePeriod") or a
        if a is None or b is None:
            return
        week = set(weekdays)
        for wd in _children_named(k, "WeekDays", "WeekDay"):
            self._week_day(wd, f"{path}/WeekDays/WeekDay", week, set(), set())
        for d in _days(a, b, self.report, self.line(ww)):
            if (d.isoweekday() in week) != (d.isoweekday() in weekdays):
                _mark([d], d.isoweekday() in week, holidays, extra)

    def _week_day(self, wd: Element, path: str, weekdays: set[int], holidays: set[date], extra: set[date]) -> None:
        """A working or non-working day of the week; day type 0 is the older form of an exception."""
        wk = self.kids(wd)
        dt = self.int_(wk, "DayType", path)
        working = self.bool_(wk, "DayWorking", path)
        if dt in _DAYTYPE_ISO:
            iso = _DAYTYPE_ISO[dt]
            if working:
                weekdays.add(iso)
            elif working is False:
                weekdays.discard(iso)
            return
        if dt != 0:
            return
        for tp in wk.get("TimePeriod", []):
            tk = self.kids(tp)
            a = self.date_(tk, "FromDate", f"{path}/TimePeriod")
            b = self.date_(tk, "ToDate", f"{path}/TimePeriod") or a
            if a and b:
                _mark(_days(a, b, self.report, self.line(tp)), bool(working), holidays, extra)

    def _exception(self, ex: Element, path: str) -> tuple[set[date], bool]:
        k = self.kids(ex)
        working = bool(self.bool_(k, "DayWorking", path))
        tps = k.get("TimePeriod", [])
        if not tps:
            return set(), working
        tk = self.kids(tps[0])
        a = self.date_(tk, "FromDate", f"{path}/TimePeriod")
        b = self.date_(tk, "ToDate", f"{path}/TimePeriod") or a
        if a is None or b is None:
            return set(), working
        typ = self.int_(k, "Type", path)
        period = max(1, self.int_(k, "Period", path) or 1)
        line = self.line(ex)
        name = self.text(k, "Name") or "exception"
        if typ in (None, 1, 9) or a == b:
            days = _days(a, b, self.report, line)
            return {d for d in days if (d - a).days % period == 0}, working
        if typ == 6:  # weekly, DaysOfWeek bit mask 1 = Sunday ... 64 = Saturday, every `period` weeks
            mask = self.int_(k, "DaysOfWeek", path) or 0
            return _weekly(_days(a, b, self.report, line), a, mask, period), working
        if typ in (2, 4):  # yearly / monthly by day of the month
            month_day = self.int_(k, "MonthDay", path) or a.day
            month = self.int_(k, "Month", path)
            first_month = month + 1 if typ == 2 and month is not None else a.month
            return _by_month_day(a, b, month_day, first_month, 12 if typ == 2 else period), working
        self.report.note(
            line,
            f"recurring calendar exception '{name}' (type {typ}) is not supported; only its first day {a} was taken",
        )
        return {a}, working

    # ---------------------------------------------------------------- conversions
    def days_from_hours(self, h: float) -> float:
        return h * 60.0 / self.minutes_per_day

    def lag_days(self, lag_tenths: int, fmt: int | None, pred_days: float, line: int | None, label: str) -> float:
        if fmt in _PERCENT_FORMATS:
            pct = lag_tenths / 10.0
            days = pred_days * pct / 100.0
            self.report.note(
                line,
                f"link {label}: a lag of {pct:g}% of the predecessor's duration "
                f"(LinkLag read as tenths of a percent) imported as {days:.2f} working days",
            )
            return days
        minutes = lag_tenths / 10.0
        if fmt in _ELAPSED_FORMATS:
            elapsed_days = minutes / 1440.0
            days = elapsed_days * self.working_per_week / 7.0
            self.report.note(
                line,
                f"link {label}: an elapsed lag of {elapsed_days:g} calendar days imported as {days:.2f} working days",
            )
            return days
        return minutes / self.minutes_per_day


def _days(a: date, b: date, report: ImportReport, line: int | None) -> list[date]:
    if b < a:
        a, b = b, a
    n = (b - a).days + 1
    if n > 3660:
        report.note(line, f"a calendar exception of {n} days was cut to its first ten years")
        n = 3660
    return [a + timedelta(days=i) for i in range(n)]


def read_msproject(path: str | Path, *, today: date | None = None) -> MsProjectData:
    return parse_msproject(read_regular(path, MAX_BYTES), str(path), today=today)


def parse_msproject(data: bytes, file: str = "<xml>", *, today: date | None = None) -> MsProjectData:
    """Read MSPDI bytes into model objects and an import report (see the module docstring)."""
    root, lines = parse_xml(data, file)
    if _local(root.tag) != "Project":
        raise SpecError(
            [
                Problem(
                    file,
                    lines.get(id(root)),
                    "",
                    f"not a Microsoft Project XML file: the root element is <{_local(root.tag)}>, expected <Project>",
                )
            ],
            "the file could not be imported, nothing was written",
        )
    r = _Reader(file, lines, today or date.today())
    rep = r.report
    rk = r.kids(root)
    head = _read_header(r, root, rk)
    res = _Resources(r)
    res.read(rk)
    tr = _TaskReader(r)
    tr.read(rk)
    has_kids = {row["parent"] for row in tr.rows if row["parent"]}
    tasks, days_of = _build_tasks(r, tr.rows, has_kids)
    links = _read_links(r, tr.raw_links, tr.uid_to_id, days_of)
    tasks, assigned = _read_assignments(r, rk, tasks, tr.uid_to_id, res)
    calendar, people, tasks = _prune_calendars(head.calendar, res.people, tasks)
    labour_tasks = {a.task for a in assigned}
    budget, costs = _task_costs(r, tr.rows, has_kids, labour_tasks, head)
    out_baselines = _baselines(tr, has_kids, head.saved)
    mats = tuple(
        Material(
            id=m["id"],
            name=m["name"],
            unit=m["unit"],
            unit_cost=m["unit_cost"],
            quantity=round(m["quantity"] or 1.0, 4),
            task=m["task"],
            needed_by=m["needed_by"],
        )
        for m in res.materials.values()
    )
    if r.problems:
        raise SpecError(r.problems, f"{len(r.problems)} problem(s) in {file}, nothing was imported")
    rep.counts = {
        "tasks": len(tasks),
        "links": len(links),
        "people": len(res.people),
        "materials": len(mats),
        "assignments": len(assigned),
        "budget lines": len(budget),
        "costs": len(costs),
        "baselines": len(out_baselines),
        "calendar exceptions": head.n_exceptions,
        "resource calendars": len(calendar.resource_calendars),
    }
    return MsProjectData(
        name=head.name,
        company=r.text(rk, "Company") or "",
        start=r.date_(rk, "StartDate", "Project"),
        finish=r.date_(rk, "FinishDate", "Project"),
        status_date=head.status_date,
        currency=_currency(r, rk),
        calendar=calendar,
        tasks=tuple(tasks),
        links=tuple(links),
        people=tuple(people),
        materials=mats,
        assignments=assigned,
        budget=tuple(budget),
        costs=tuple(costs),
        baselines=tuple(out_baselines),
        report=rep,
        task_lines=tr.task_lines,
        unsupported_constraints=tuple(
            (row["id"], _UNSUPPORTED[row["ctype"]], row["cdate"])
            for row in tr.rows
            if row["ctype"] in _UNSUPPORTED and row["cdate"] and row["id"] not in has_kids
        ),
    )


# Currency symbols that name one currency; a file without CurrencyCode is read through them.
_SYMBOL_CODE = {"£": "GBP", "€": "EUR", "$": "USD", "US$": "USD", "¥": "CNY", "￥": "CNY", "元": "CNY", "₹": "INR"}


def _currency(r: _Reader, rk: dict[str, list[Element]]) -> str:
    """The ISO code: ``CurrencyCode``, else the one ``CurrencySymbol`` stands for ('' when neither says)."""
    code = (r.text(rk, "CurrencyCode") or "")[:3].upper()
    if code:
        return code
    symbol = r.text(rk, "CurrencySymbol") or ""
    found = _SYMBOL_CODE.get(symbol, "")
    if symbol and not found:
        r.report.note(None, f"currency symbol '{symbol}' without a currency code; set the project's currency")
    elif found:
        r.report.note(None, f"no currency code: the symbol '{symbol}' read as {found}")
    return found


@dataclass
class _Header:
    """What the ``Project`` element says about the whole file."""

    name: str
    saved: date
    status_date: date | None
    current: date | None
    calendar: Calendar
    n_exceptions: int


def _read_header(r: _Reader, root: Element, rk: dict[str, list[Element]]) -> _Header:
    """The project's name, dates, units of time and calendar (sets the reader's minutes per day/week)."""
    rep = r.report
    r.audit(root, "Project", "Project")
    mpd = r.float_(rk, "MinutesPerDay", "Project")
    if mpd and 30 <= mpd <= 1440:
        r.minutes_per_day = mpd
    mpw = r.float_(rk, "MinutesPerWeek", "Project")
    if mpw and 0 < mpw <= 10080:
        r.minutes_per_week = mpw
    name = r.text(rk, "Title") or r.text(rk, "Name") or Path(r.file).stem
    name = re.sub(r"\.(xml|mpp)$", "", name, flags=re.I)
    rep.project_name = name
    saved = r.date_(rk, "LastSaved", "Project") or r.date_(rk, "CreationDate", "Project") or r.today
    status_date = r.date_(rk, "StatusDate", "Project")
    rep.status_date = status_date
    current = r.date_(rk, "CurrentDate", "Project")
    r.pert_fields = _pert_fields(r, rk)
    cal, n_exceptions = r.calendar(rk, r.minutes_per_day / 60.0)
    return _Header(name, saved, status_date, current, cal, n_exceptions)


def _pert_fields(r: _Reader, rk: dict[str, list[Element]]) -> dict[str, str]:
    """Custom duration fields whose alias says they hold the optimistic or pessimistic duration (where
    the tool's PERT analysis keeps a three-point estimate)."""
    out: dict[str, str] = {}
    for ea in _children_named(rk, "ExtendedAttributes", "ExtendedAttribute"):
        k = r.kids(ea)
        fid, alias = r.text(k, "FieldID"), (r.text(k, "Alias") or "").lower()
        for word in ("optimistic", "pessimistic"):
            if fid and word in alias:
                out[fid] = word
    return out


def _children_named(k: dict[str, list[Element]], group: str, name: str) -> list[Element]:
    """The ``name`` elements inside every ``group`` element (e.g. each Task of Tasks), in file order."""
    return [el for g in k.get(group, []) for el in g if _local(el.tag) == name]


class _Resources:
    """Work resources become people, material resources materials (filled in by the assignments)."""

    def __init__(self, r: _Reader):
        self.r = r
        self.people: list[Person] = []
        self.materials: dict[int, dict[str, Any]] = {}
        self.person_of: dict[int, str] = {}

    def read(self, rk: dict[str, list[Element]]) -> None:
        r = self.r
        path = "Resources/Resource"
        for res in _children_named(rk, "Resources", "Resource"):
            k = r.kids(res)
            r.audit(res, "Resource", path)
            uid = r.int_(k, "UID", path)
            if uid is None:
                r.error(res, path, "a resource without a UID")
                continue
            if r.bool_(k, "IsNull", path):
                continue
            rname = r.text(k, "Name")
            if not rname:
                continue  # the format writes an unnamed resource 0 as a placeholder
            typ = r.int_(k, "Type", path)
            typ = 1 if typ is None else typ
            rate = r.money(k, "StandardRate", path, cents=False) or Decimal("0")
            if rate < 0:
                rate = Decimal("0")
            if typ == 1:
                self._person(k, uid, rname, rate)
            elif typ == 0:
                self.materials[uid] = {
                    "id": f"M{uid}",
                    "name": rname,
                    "unit": r.text(k, "MaterialLabel") or "pcs",
                    "unit_cost": rate,
                    "quantity": 0.0,
                    "task": "",
                    "needed_by": None,
                }
            else:
                r.report.skip(r.line(res), f"cost resource '{rname}' (type {typ}): its costs are in the task costs")

    def _person(self, k: dict[str, list[Element]], uid: int, rname: str, rate: Decimal) -> None:
        r = self.r
        path = "Resources/Resource"
        units = r.float_(k, "MaxUnits", path)
        units = 1.0 if units is None else units
        capacity = min(168.0, max(0.0, units * r.minutes_per_week / 60.0))
        pid = f"R{uid}"
        self.person_of[uid] = pid
        cuid = r.int_(k, "CalendarUID", path)
        if cuid is not None and cuid not in r.calendar_ids and cuid != -1:
            r.report.note(
                None,
                f"resource {pid} names calendar UID {cuid}, which the file does not have; the project calendar is used",
            )
        self.people.append(
            Person(
                id=pid,
                name=rname,
                role=r.text(k, "Group") or "resource",
                rate=rate,
                capacity_hours_per_week=round(capacity, 2),
                email=r.text(k, "EmailAddress") or "",
                calendar=r.calendar_ids.get(cuid, "") if cuid is not None else "",
            )
        )


class _TaskReader:
    """Reads ``Tasks/Task`` into plain rows (the hierarchy from outline levels), their baselines and
    their predecessor links (kept raw until every task id is known)."""

    def __init__(self, r: _Reader):
        self.r = r
        self.rows: list[dict[str, Any]] = []
        self.uid_to_id: dict[int, str] = {}
        self.stack: list[tuple[int, str]] = []  # (outline level, task id) of the open ancestors
        self.raw_links: list[tuple[str, Element, int | None, dict[str, list[Element]]]] = []
        self.baselines: dict[int, list[BaselineTask]] = {}
        self.project_baseline: dict[int, tuple[Decimal | None, date | None]] = {}
        self.task_lines: dict[str, int] = {}

    def read(self, rk: dict[str, list[Element]]) -> None:
        for tel in _children_named(rk, "Tasks", "Task"):
            self._task(tel)

    def _task(self, tel: Element) -> None:
        r = self.r
        k = r.kids(tel)
        uid = r.int_(k, "UID", "Tasks/Task")
        if uid is None:
            r.error(tel, "Tasks/Task", "a task without a UID")
            return
        path = f"Tasks/Task[UID={uid}]"
        if r.bool_(k, "IsNull", path):
            return
        level = r.int_(k, "OutlineLevel", path)
        if level is None:
            on = r.text(k, "OutlineNumber")
            level = on.count(".") + 1 if on else 1
        if uid == 0 or level == 0:
            self._project_summary(k, path)
            return
        r.audit(tel, "Task", "Tasks/Task")
        tid = f"T{uid}"
        if tid in self.task_lines:
            r.error(tel, path, f"duplicate task UID {uid}")
            return
        self.uid_to_id[uid] = tid
        self.task_lines[tid] = r.line(tel) or 0
        stack = self.stack
        while stack and stack[-1][0] >= level:
            stack.pop()
        parent = stack[-1][1] if stack else ""
        stack.append((level, tid))
        row = self._row(tel, k, uid, tid, parent, path)
        for bl in k.get("Baseline", []):
            self._baseline(bl, tid, path, row)
        for pl in k.get("PredecessorLink", []):
            pk = r.kids(pl)
            r.audit(pl, "PredecessorLink", "Tasks/Task/PredecessorLink")
            self.raw_links.append((tid, pl, r.line(pl), pk))
        self.rows.append(row)

    def _project_summary(self, k: dict[str, list[Element]], path: str) -> None:
        """The project summary task: keep its baseline totals."""
        r = self.r
        for bl in k.get("Baseline", []):
            bk = r.kids(bl)
            num = r.int_(bk, "Number", path + "/Baseline") or 0
            self.project_baseline[num] = (
                r.money(bk, "Cost", path + "/Baseline"),
                r.date_(bk, "Finish", path + "/Baseline"),
            )

    def _row(
        self, tel: Element, k: dict[str, list[Element]], uid: int, tid: str, parent: str, path: str
    ) -> dict[str, Any]:
        r = self.r
        row: dict[str, Any] = {
            "id": tid,
            "name": r.text(k, "Name") or f"(unnamed task {uid})",
            "parent": parent,
            "wbs": r.text(k, "WBS") or r.text(k, "OutlineNumber") or "",
            "line": r.line(tel),
            "summary": bool(r.bool_(k, "Summary", path)),
        }
        row["start"] = r.date_(k, "Start", path)
        row["finish"] = r.date_(k, "Finish", path)
        row["days"] = self._duration_days(tel, k, tid, path)
        work_h = r.hours(k, "Work", path)
        row["effort_hours"] = max(0.0, work_h or 0.0)
        row["milestone"] = bool(r.bool_(k, "Milestone", path))
        pct = r.float_(k, "PercentComplete", path) or 0.0
        row["percent_complete"] = max(0.0, min(100.0, pct))
        row["actual_start"] = r.date_(k, "ActualStart", path)
        row["actual_finish"] = r.date_(k, "ActualFinish", path)
        row["active"] = r.bool_(k, "Active", path)
        row["manual"] = bool(r.bool_(k, "Manual", path))
        row["leveling_delay"] = (r.int_(k, "LevelingDelay", path) or 0) > 0
        row["ctype"] = r.int_(k, "ConstraintType", path)
        row["cdate"] = r.date_(k, "ConstraintDate", path)
        row["notes"] = r.text(k, "Notes") or ""
        cuid = r.int_(k, "CalendarUID", path)
        row["calendar"] = r.calendar_ids.get(cuid, "") if cuid is not None else ""
        if cuid is not None and cuid not in r.calendar_ids and cuid != -1:
            r.report.note(r.line(tel), f"task {tid} names calendar UID {cuid}, which the file does not have; ignored")
        row["ignore_resource_calendars"] = bool(r.bool_(k, "IgnoreResourceCalendar", path))
        row["task_type"] = _TASK_TYPE.get(r.int_(k, "Type", path) or 0, "fixed_units")
        row["effort_driven"] = bool(r.bool_(k, "EffortDriven", path))
        row["deadline"] = r.date_(k, "Deadline", path)
        row["cost"] = r.money(k, "Cost", path)
        row["actual_cost"] = r.money(k, "ActualCost", path)
        row["baseline_cost"] = None
        row["optimistic"] = row["pessimistic"] = None
        if r.pert_fields:
            for ea in k.get("ExtendedAttribute", []):
                ek = r.kids(ea)
                which = r.pert_fields.get(r.text(ek, "FieldID") or "")
                hours = r.hours(ek, "Value", path + "/ExtendedAttribute") if which else None
                if which and hours is not None:
                    row[which] = round(max(0.0, r.days_from_hours(hours)), 4)
        return row

    def _duration_days(self, tel: Element, k: dict[str, list[Element]], tid: str, path: str) -> float | None:
        """Working days; an elapsed duration is turned into working days pro rata to the working week."""
        r = self.r
        dur_h = r.hours(k, "Duration", path)
        fmt = r.int_(k, "DurationFormat", path)
        if dur_h is None:
            return None
        if fmt not in _ELAPSED_FORMATS:
            return r.days_from_hours(dur_h)
        days = dur_h / 24.0 * r.working_per_week / 7.0
        r.report.note(
            r.line(tel),
            f"task {tid}: an elapsed duration of {dur_h / 24.0:g} days imported as {days:.2f} working days",
        )
        return days

    def _baseline(self, bl: Element, tid: str, path: str, row: dict[str, Any]) -> None:
        r = self.r
        bpath = path + "/Baseline"
        bk = r.kids(bl)
        r.audit(bl, "Baseline", "Tasks/Task/Baseline")
        num = r.int_(bk, "Number", bpath) or 0
        bcost = r.money(bk, "Cost", bpath) or Decimal("0")
        if num == 0:
            row["baseline_cost"] = bcost
        bw = r.hours(bk, "Work", bpath)
        bd = r.hours(bk, "Duration", bpath)
        self.baselines.setdefault(num, []).append(
            BaselineTask(
                task=tid,
                start=r.date_(bk, "Start", bpath),
                finish=r.date_(bk, "Finish", bpath),
                cost=bcost,
                effort_hours=max(0.0, bw or 0.0),
                duration_days=None if bd is None else round(max(0.0, r.days_from_hours(bd)), 4),
            )
        )


def _build_tasks(r: _Reader, rows: list[dict[str, Any]], has_kids: set[str]) -> tuple[list[Task], dict[str, float]]:
    """Model tasks from the rows (a task with children is a summary whatever the file says), and each
    task's duration in working days (for percent lags)."""
    days_of: dict[str, float] = {}
    tasks: list[Task] = []
    for row in rows:
        tid = row["id"]
        summary = tid in has_kids
        days, milestone = _task_days(r.report, row, summary)
        days_of[tid] = 0.0 if milestone else (days or 0.0)
        status = _status(r.report, row)
        constraint, cdate = _constraint(r.report, row, summary)
        tasks.append(_task_of_row(r.report, row, days, milestone, status, constraint, cdate))
    return tasks, days_of


def _task_days(rep: ImportReport, row: dict[str, Any], summary: bool) -> tuple[float | None, bool]:
    """The task's duration in days (None for a summary) and whether it is a milestone."""
    tid, line = row["id"], row["line"]
    days = row["days"]
    milestone = row["milestone"]
    if summary:
        days = None
        milestone = False
    elif milestone and days:
        rep.note(
            line,
            f"task {tid} is flagged as a milestone but lasts {days:g} days; imported as a task "
            "(a milestone has zero duration here)",
        )
        milestone = False
    if days is not None and days < 0:
        days = 0.0
    if days is not None and not milestone and abs(days - round(days)) > 1e-6 and days > 0:
        rep.note(
            line,
            f"task {tid}: a duration of {days:.3f} days is scheduled as {math.ceil(days - 1e-9)} whole working days",
        )
    return days, milestone


def _constraint(rep: ImportReport, row: dict[str, Any], summary: bool) -> tuple[str, date | None]:
    """The constraint the engine supports closest to the file's (none when it has no equivalent)."""
    tid, line = row["id"], row["line"]
    constraint = ""
    cdate = None
    ct = row["ctype"]
    if ct in (4, 2) and row["cdate"]:
        constraint, cdate = "start_no_earlier_than", row["cdate"]
        if ct == 2:
            rep.note(line, f"task {tid}: 'must start on' imported as start-no-earlier-than {cdate}")
    elif ct in (7, 3) and row["cdate"]:
        constraint, cdate = "finish_no_later_than", row["cdate"]
        if ct == 3:
            rep.note(line, f"task {tid}: 'must finish on' imported as finish-no-later-than {cdate}")
    elif ct in (1, 5, 6):
        what = {1: "as late as possible", 5: "start no later than", 6: "finish no earlier than"}[ct]
        rep.note(line, f"task {tid}: constraint '{what}' is not supported; scheduled as soon as possible")
    if (
        not constraint
        and not summary
        and row["start"]
        and (row["manual"] or row["leveling_delay"])
        and not row["actual_start"]
    ):
        why = "manually scheduled" if row["manual"] else "delayed by resource levelling"
        constraint, cdate = "start_no_earlier_than", row["start"]
        rep.note(line, f"task {tid} is {why}: kept at its start {cdate} as a start-no-earlier-than constraint")
    return constraint, cdate


def _status(rep: ImportReport, row: dict[str, Any]) -> str:
    if row["active"] is False:
        rep.note(row["line"], f"task {row['id']} is inactive; imported as cancelled")
        return "cancelled"
    if row["percent_complete"] >= 100 or row["actual_finish"]:
        return "done"
    if row["percent_complete"] > 0 or row["actual_start"]:
        return "in_progress"
    return "not_started"


def _task_of_row(
    rep: ImportReport,
    row: dict[str, Any],
    days: float | None,
    milestone: bool,
    status: Any,
    constraint: Any,
    cdate: date | None,
) -> Task:
    tid, line = row["id"], row["line"]
    notes = row["notes"]
    if row["deadline"]:
        notes = (notes + "\n" if notes else "") + f"Deadline: {row['deadline'].isoformat()}"
        rep.note(line, f"task {tid}: deadline {row['deadline']} kept in the notes (it does not move the schedule)")
    start, finish = row["start"], row["finish"]
    if start and finish and finish < start:
        start, finish = finish, start
    actual_start, actual_finish = row["actual_start"], row["actual_finish"]
    if actual_start and actual_finish and actual_finish < actual_start:
        rep.note(line, f"task {tid}: actual finish before actual start; the actual finish was dropped")
        actual_finish = None
    return Task(
        id=tid,
        name=row["name"][:500],
        wbs=row["wbs"],
        parent=row["parent"],
        start=start,
        finish=finish,
        duration_days=(0.0 if milestone else (round(days, 4) if days is not None else None)),
        effort_hours=round(row["effort_hours"], 2),
        percent_complete=row["percent_complete"],
        status=status,
        actual_start=actual_start,
        actual_finish=actual_finish,
        milestone=milestone,
        constraint=constraint,
        constraint_date=cdate,
        notes=notes,
        optimistic_days=None if milestone or days is None else row["optimistic"],
        pessimistic_days=None if milestone or days is None else row["pessimistic"],
        calendar=row["calendar"],
        ignore_resource_calendars=row["ignore_resource_calendars"],
        task_type=row["task_type"],
        effort_driven=row["effort_driven"],
    )


def _read_links(
    r: _Reader,
    raw_links: list[tuple[str, Element, int | None, dict[str, list[Element]]]],
    uid_to_id: dict[int, str],
    days_of: dict[str, float],
) -> list[TaskLink]:
    """The predecessor links between imported tasks, one per pair of tasks, lags in working days."""
    rep = r.report
    links: list[TaskLink] = []
    seen_links: set[tuple[str, str]] = set()
    for succ, pl, line, pk in raw_links:
        lpath = f"Tasks/Task[{succ}]/PredecessorLink"
        if r.bool_(pk, "CrossProject", lpath):
            rep.skip(line, f"link into {succ} from another project ({r.text(pk, 'CrossProjectName') or '?'})")
            continue
        puid = r.int_(pk, "PredecessorUID", lpath)
        if puid is None:
            r.error(pl, lpath, "a predecessor link without PredecessorUID")
            continue
        pred = uid_to_id.get(puid)
        if pred is None:
            rep.skip(line, f"link into {succ} from unknown task UID {puid}")
            continue
        typ = r.int_(pk, "Type", lpath)
        typ = 1 if typ is None else typ
        if typ not in LINK_TYPE:
            r.error(pl, lpath + "/Type", f"link type {typ} is not one of 0 (FF), 1 (FS), 2 (SF), 3 (SS)")
            continue
        if pred == succ:
            rep.skip(line, f"link from {succ} to itself")
            continue
        if (pred, succ) in seen_links:
            rep.skip(line, f"second link {pred}->{succ} (one link per pair of tasks is kept)")
            continue
        seen_links.add((pred, succ))
        links.append(_link(r, pk, lpath, pred, succ, typ, days_of, line))
    return links


def _link(
    r: _Reader,
    pk: dict[str, list[Element]],
    lpath: str,
    pred: str,
    succ: str,
    typ: int,
    days_of: dict[str, float],
    line: int | None,
) -> TaskLink:
    lag_t = r.int_(pk, "LinkLag", lpath) or 0
    lag_fmt = r.int_(pk, "LagFormat", lpath)
    label = f"{pred}->{succ}"
    lag = r.lag_days(lag_t, lag_fmt, days_of.get(pred, 0.0), line, label) if lag_t else 0.0
    if lag and abs(lag - round(lag)) > 1e-6 and lag_fmt not in _PERCENT_FORMATS | _ELAPSED_FORMATS:
        r.report.note(line, f"link {label}: a lag of {lag:.3f} days is rounded to {round(lag):d} whole working days")
    return TaskLink(
        predecessor=pred,
        successor=succ,
        type=LINK_TYPE[typ],  # type: ignore[arg-type]
        lag_days=round(lag, 4),
    )


def _read_assignments(
    r: _Reader, rk: dict[str, list[Element]], tasks: list[Task], uid_to_id: dict[int, str], res: _Resources
) -> tuple[list[Task], tuple[Assignment, ...]]:
    """People's assignments (summed per person and task; the first person becomes the task's owner);
    a material's assignments give its quantity and the task that needs it. Returns the tasks with
    their owners and the assignments."""
    rep = r.report
    apath = "Assignments/Assignment"
    by_id = {t.id: t for t in tasks}
    assignments: dict[tuple[str, str], list[float]] = {}
    owners: dict[str, str] = {}
    for a in _children_named(rk, "Assignments", "Assignment"):
        k = r.kids(a)
        r.audit(a, "Assignment", apath)
        tuid = r.int_(k, "TaskUID", apath)
        ruid = r.int_(k, "ResourceUID", apath)
        if ruid is None or ruid == NO_RESOURCE or tuid is None:
            continue
        atid = uid_to_id.get(tuid)
        if atid is None:
            if tuid != 0:
                rep.skip(r.line(a), f"assignment to unknown task UID {tuid}")
            continue
        units = r.float_(k, "Units", apath)
        units = 1.0 if units is None else units
        if ruid in res.materials:
            _use_material(res.materials[ruid], units, atid, by_id)
            continue
        apid = res.person_of.get(ruid)
        if apid is None:
            rep.skip(r.line(a), f"assignment of unknown resource UID {ruid} to {atid}")
            continue
        work = r.hours(k, "Work", apath) or 0.0
        if units > 10:
            rep.note(r.line(a), f"assignment {apid}@{atid}: {units:g} units capped at 10")
            units = 10.0
        acc = assignments.setdefault((apid, atid), [0.0, 0.0])
        acc[0] = max(acc[0], max(0.0, units))
        acc[1] += max(0.0, work)
        owners.setdefault(atid, apid)
    tasks = [Task(**{**_fields(t), "owner": owners.get(t.id, "")}) if t.id in owners else t for t in tasks]
    assigned = tuple(
        Assignment(person=p, task=t, units=round(u, 4), hours=round(h, 2)) for (p, t), (u, h) in assignments.items()
    )
    return tasks, assigned


def _prune_calendars(
    cal: Calendar, people: list[Person], tasks: list[Task]
) -> tuple[Calendar, list[Person], list[Task]]:
    """Keep the calendars people and tasks work on (and their bases). A calendar that only inherits
    (no week or day of its own, as the format writes one per resource) is replaced by its base."""
    by_id = {c.id: c for c in cal.resource_calendars}

    def alias(cid: str) -> str:
        seen: set[str] = set()
        while cid in by_id and cid not in seen:
            c = by_id[cid]
            if c.working_weekdays or c.holidays or c.extra_workdays or c.hours_per_day or not c.base:
                break
            seen.add(cid)
            cid = "" if c.base == "project" else c.base
        return cid

    people = [replace(p, calendar=alias(p.calendar)) if p.calendar else p for p in people]
    tasks = [replace(t, calendar=alias(t.calendar)) if t.calendar else t for t in tasks]
    keep: set[str] = set()
    todo = [p.calendar for p in people if p.calendar] + [t.calendar for t in tasks if t.calendar]
    while todo:
        cid = todo.pop()
        if cid in by_id and cid not in keep:
            keep.add(cid)
            todo.append(by_id[cid].base)
    kept = tuple(c for c in cal.resource_calendars if c.id in keep)
    return replace(cal, resource_calendars=kept), people, tasks


def _use_material(m: dict[str, Any], units: float, atid: str, by_id: dict[str, Task]) -> None:
    """A material's quantity is what its assignments use; it is needed by the start of the first task."""
    m["quantity"] += max(0.0, units)
    if not m["task"]:
        m["task"] = atid
        m["needed_by"] = by_id[atid].start


def _task_costs(
    r: _Reader, rows: list[dict[str, Any]], has_kids: set[str], labour_tasks: set[str], head: _Header
) -> tuple[list[BudgetLine], list[CostEntry]]:
    """A leaf task's baseline cost (else its cost) as a budget line, its actual cost as a cost entry."""
    budget: list[BudgetLine] = []
    costs: list[CostEntry] = []
    for row in rows:
        tid = row["id"]
        if tid in has_kids:
            continue
        category: Any = "labour" if tid in labour_tasks else "other"
        amount = row["baseline_cost"] if row["baseline_cost"] else row["cost"]
        if amount and amount > 0:
            budget.append(
                BudgetLine(
                    id=f"MSP-B-{tid}",
                    category=category,
                    amount=amount,
                    task=tid,
                    description="imported from Microsoft Project",
                )
            )
        ac = row["actual_cost"]
        if ac and ac > 0:
            when = row["actual_finish"] or head.status_date or head.current or row["actual_start"] or r.today
            costs.append(
                CostEntry(
                    id=f"MSP-AC-{tid}",
                    date=when,
                    amount=ac,
                    category=category,
                    task=tid,
                    description="actual cost imported from Microsoft Project",
                )
            )
    return budget, costs


def _baselines(tr: _TaskReader, has_kids: set[str], saved: date) -> list[Baseline]:
    """One baseline per number the tasks carry, its totals from the project summary task when it has them."""
    leaf_ids = {row["id"] for row in tr.rows if row["id"] not in has_kids}
    out: list[Baseline] = []
    # Baseline 0 ("Baseline") is the one the format measures earned value against: list it last, so that
    # it is the latest one (all share the file's save date) and the one earned value here uses too.
    for num in sorted(tr.baselines, key=lambda x: (x == 0, -x)):
        bts = tuple(tr.baselines[num])
        total, bfinish = tr.project_baseline.get(num, (None, None))
        if total is None:
            total = sum((bt.cost for bt in bts if bt.task in leaf_ids), Decimal("0"))
        if bfinish is None:
            bfinish = max((bt.finish for bt in bts if bt.finish), default=None)
        out.append(
            Baseline(
                id=f"MSP-BL{num}",
                name="Microsoft Project baseline" + (f" {num}" if num else ""),
                saved_on=saved,
                budget=total,
                finish=bfinish,
                tasks=bts,
            )
        )
    return out


def _fields(t: Task) -> dict[str, Any]:
    return {f.name: getattr(t, f.name) for f in fields(t)}


def _mark(days: Collection[date], working: bool, holidays: set[date], extra: set[date]) -> None:
    """Days made working (extra workdays) or non-working (holidays); the later mark wins."""
    if working:
        extra.update(days)
        holidays.difference_update(days)
    else:
        holidays.update(days)
        extra.difference_update(days)


def _weekly(days: list[date], a: date, mask: int, period: int) -> set[date]:
    """The days whose weekday bit (1 = Sunday ... 64 = Saturday) is in ``mask``, every ``period`` weeks from ``a``."""
    week0 = a - timedelta(days=(a.isoweekday() % 7))
    out = set()
    for d in days:
        bit = 1 << (d.isoweekday() % 7)
        if mask & bit and ((d - week0).days // 7) % period == 0:
            out.add(d)
    return out


def _by_month_day(a: date, b: date, month_day: int, m: int, step: int) -> set[date]:
    """Day ``month_day`` of month ``m`` of ``a``'s year, then every ``step`` months, within ``a`` .. ``b``."""
    out = set()
    y = a.year
    count = 0
    while count < 400:
        hit: date | None
        try:
            hit = date(y, m, month_day)
        except ValueError:
            hit = None  # e.g. the 31st of a short month: no occurrence that month
        if hit is not None:
            if hit > b:
                break
            if hit >= a:
                out.add(hit)
        elif date(y, m, 1) > b:
            break
        m += step
        while m > 12:
            m -= 12
            y += 1
        count += 1
    return out

"""Critical path method: early and late dates, total and free slack, the critical path, the finish.

:func:`compute_schedule` runs a forward and a backward pass over the task network in *working days* of
the project calendar (:mod:`lifecycle.domain.calendar`). It is O(V + E): every task becomes an integer
node, every link one integer edge weight, the order is Kahn's topological sort, and dates are made only
when a caller asks for them. 10,000 tasks with 50,000 links take a fraction of a second.

How it computes
  Time is a *boundary* on the working-day axis: boundary ``b`` is the start of working day ``b`` and
  also the end of working day ``b - 1`` (day 0 is the project start). A task with early start ``s`` and
  duration ``d`` occupies days ``s .. s+d-1`` and finishes at boundary ``s + d``. Because durations are
  fixed before the passes, each link reduces to one inequality between the successor's and the
  predecessor's *start* boundaries, ``ES(succ) >= ES(pred) + w``, with
  ``w = (d_pred if the link leaves the predecessor's finish) + lag - (d_succ if it reaches the
  successor's finish)``: FS, SS, FF and SF links with positive lags and negative lags (leads) are then
  one longest-path problem.

Summary tasks
  A summary task (a task other tasks name as ``parent``) is two points: its *start* point, which every
  child starts after (a link to a summary delays all its children), and its *finish* point, the latest
  finish of its children (a link from a summary waits for all of them). An SS or SF link from a summary
  is measured from the earliest start of its children (a "min" node). A summary's dates are rolled up
  from its children (earliest start, latest finish); its total slack is the smallest of its children's,
  so a summary is critical when it holds a critical task. Links between a summary and its own
  descendants are a cycle, and are reported as one.

Conventions taken from Microsoft Project where the textbook differs
  * Link types and lags: FS, SS, FF, SF with lags in working days of the project calendar; a negative
    lag is a lead. Fractional durations are rounded up to whole working days, lags to the nearest whole
    working day (this engine schedules in days, Project in minutes).
  * No task starts before the project start (a lead or an SF link cannot pull an ASAP task before
    it), unless it has actual dates.
  * A milestone (``milestone: true`` or zero duration) that follows a finish (FS/FF link) is shown on
    the predecessor's finish day (Project puts it at 17:00 that day), not on the next working day as the
    textbook's "ES = EF + 1" would; one that follows a start (SS/SF link, project start, a constraint)
    is on that start day.
  * Late dates of tasks without successors are taken from the project finish (the latest early finish),
    not from the task's own early finish; no task's late finish is after the project finish, even when
    its successors (through a lead or a start-to-start link) would allow it.
  * Links that leave a predecessor's *start* (SS, SF) do not limit the predecessor's late dates in the
    backward pass: its slack is measured to its finish-side successors and the project finish, as
    Microsoft Project computes it (the textbook limits its late start through the link).
  * Free slack of a task without successors is its slack to the project finish; free slack is never
    negative and never more than total slack. Links into a summary count for free slack as links into
    its children.
  * Constraints: start-no-earlier-than raises the early start. Finish-no-later-than limits the late
    finish (negative slack when it cannot be met) and, with ``honor_constraints`` (Project's default,
    "tasks will always honor their constraint dates"), also caps the early finish, even if that means
    a task finishes before its predecessors allow; the predecessors then show negative slack.
  * A task with no predecessor links (its own or inherited from a summary) and a planned ``start`` is
    kept at that start, as if it had a start-no-earlier-than constraint: Project sets one when a start
    date is typed in. Other planned dates are ignored by the passes (they are the plan being compared).
  * Actuals: a task with an actual start keeps it (and its actual finish when done), whatever its links
    say; its remaining work follows its planned duration. Actual dates are shown as recorded even on a
    non-working day (an actual start on a Saturday stays on the Saturday). Completed tasks have no slack
    (their late dates are their actual dates) and, like cancelled tasks, are never critical (Project's
    rule); a cancelled task keeps its links but takes no time. A summary's slack is the smallest of its
    children not yet done.
  * The critical tasks are also given as chains (``critical_chains``): critical tasks joined by links;
    unlinked critical tasks are separate chains, never printed as one path.
  * Critical means total slack <= 0 (Project's default critical slack limit).
  * Task and resource calendars (:mod:`lifecycle.domain.task_calendars` says which calendars a task
    works on): such a task is placed when the forward pass reaches it: it starts on the first day one
    of its calendars works at or after its earliest start, and finishes when the last of its calendars
    has worked its duration (days of the project's hours a day; a calendar with shorter days needs
    more of them, rounded up to whole days). Its span on the project calendar then gives the weights
    of the links leaving its finish. Backwards, it finishes on its calendars' last working day by its
    late finish and starts its days before that (its slack counts project working days). Links into
    its finish (FF, SF) count its duration in project working days; a task with actual dates keeps
    them. The passes count the project calendar's working days: a day the task's calendar works but
    the project calendar does not (a worked Saturday) is shown as the task's date, and counts as the
    project's next working day for its successors.

A cycle in the links is a :class:`ScheduleCycle` (an :class:`~lifecycle.errors.InvalidInput`) naming the
tasks in the cycle in order. Pure: standard library only.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from lifecycle.domain.bulk import gc_paused
from lifecycle.domain.calendar import WorkCalendar, calendar_warnings, work_calendar
from lifecycle.domain.model import Project, Task, TaskLink
from lifecycle.domain.task_calendars import task_calendars
from lifecycle.errors import InvalidInput, LifecycleError

LINK_TYPES = ("FS", "SS", "FF", "SF")
_INF = 1 << 60


class ScheduleCycle(InvalidInput):
    """The task links (with the summary hierarchy) form a cycle; ``cycle`` lists the task ids in order."""

    def __init__(self, cycle: list[str]):
        self.cycle = cycle
        super().__init__("task links form a cycle: " + " -> ".join(cycle))


@dataclass(frozen=True, slots=True)
class TaskTiming:
    """The computed dates of one task. Slack is in working days; dates are working days."""

    id: str
    name: str
    wbs: str
    parent: str
    level: int
    summary: bool
    milestone: bool
    done: bool
    duration_days: int
    early_start: date
    early_finish: date
    late_start: date
    late_finish: date
    total_slack: int
    free_slack: int
    critical: bool
    planned_start: date | None = None
    planned_finish: date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "wbs": self.wbs,
            "parent": self.parent,
            "level": self.level,
            "summary": self.summary,
            "milestone": self.milestone,
            "done": self.done,
            "duration_days": self.duration_days,
            "early_start": self.early_start.isoformat(),
            "early_finish": self.early_finish.isoformat(),
            "late_start": self.late_start.isoformat(),
            "late_finish": self.late_finish.isoformat(),
            "total_slack": self.total_slack,
            "free_slack": self.free_slack,
            "critical": self.critical,
        }


def _round_lag(x: float) -> int:
    """Nearest whole working day, halves away from zero (0.5 -> 1, -0.5 -> -1)."""
    if x >= 0:
        return math.floor(x + 0.5 + 1e-9)
    return -math.floor(-x + 0.5 + 1e-9)


def _ceil_days(x: float) -> int:
    return max(0, math.ceil(x - 1e-9))


def project_start_date(project: Project, today: date | None = None) -> date:
    """The date the schedule starts from: the charter's start, else the earliest task date, else today."""
    if project.charter.start is not None:
        return project.charter.start
    dates = [d for t in project.tasks for d in (t.start, t.actual_start) if d is not None]
    if dates:
        return min(dates)
    if today is not None:
        return today
    raise InvalidInput(f"project {project.code} has no start date: set project.start or task start dates")


class Schedule:
    """The result of :func:`compute_schedule`. Dates are made on demand; ``rows()`` gives every task."""

    def __init__(
        self,
        *,
        tasks: tuple[Task, ...],
        cal: WorkCalendar,
        base: int,
        parent: list[int],
        children: dict[int, list[int]],
        level: list[int],
        is_sum: list[bool],
        dur: list[int],
        es: list[int],
        ef: list[int],
        ls: list[int],
        ts: list[int],
        fs: list[int],
        done: list[bool],
        crit: list[bool],
        anchor_end: list[bool],
        finish_index: int,
        critical_path: list[str],
        warnings: list[str],
        fnode: list[int],
        critical_chains: list[list[str]] | None = None,
        days: list[int] | None = None,
        placed: dict[int, tuple[date, date]] | None = None,
    ):
        self._tasks = tasks
        self.calendar = cal
        self.base = base
        self._parent = parent
        self._children = children
        self._level = level
        self._is_sum = is_sum
        self._dur = dur  # span on the project calendar (a task on its own calendar may span more days)
        self._days = days if days is not None else dur  # the task's own working days
        self._placed = placed or {}  # early dates of tasks on their own calendars (may be days off here)
        self._es = es
        self._ef = ef
        self._ls = ls
        self._ts = ts
        self._fs = fs
        self._done = done
        self._crit = crit
        self._anchor_end = anchor_end
        self._fnode = fnode
        self.finish_index = finish_index
        self.critical_path = critical_path
        # the critical tasks grouped by the links between them: unlinked critical tasks are separate chains
        self.critical_chains = critical_chains if critical_chains is not None else [[x] for x in critical_path]
        self.warnings = warnings
        self._pos = {t.id: i for i, t in enumerate(tasks)}
        self._dates: dict[int, tuple[date, date, date, date]] = {}
        self.project_start = cal.date_at(base)
        self.project_finish = self._project_finish()

    # ------------------------------------------------------------------ kept beside the project
    def state(self) -> dict[str, Any]:
        """The pass results as plain JSON data (no dates, no tasks): :meth:`from_state` rebuilds this
        schedule from it and the same tasks and calendar, so a cache can keep a schedule between runs."""
        return {
            "base": self.base,
            "parent": self._parent,
            "children": [[k, v] for k, v in self._children.items()],
            "level": self._level,
            "is_sum": self._is_sum,
            "dur": self._dur,
            "es": self._es,
            "ef": self._ef,
            "ls": self._ls,
            "ts": self._ts,
            "fs": self._fs,
            "done": self._done,
            "crit": self._crit,
            "anchor_end": self._anchor_end,
            "finish_index": self.finish_index,
            "critical_path": self.critical_path,
            "warnings": self.warnings,
            "fnode": self._fnode,
            "critical_chains": self.critical_chains,
        }

    @classmethod
    def from_state(cls, project: Project, state: dict[str, Any]) -> Schedule:
        """The schedule :meth:`state` described, for ``project`` (whose :func:`schedule_inputs` it was
        computed from)."""
        s = dict(state)
        children = {int(k): list(v) for k, v in s.pop("children")}
        return cls(tasks=project.tasks, cal=work_calendar(project.calendar), children=children, **s)

    # ------------------------------------------------------------------ figures
    @property
    def critical_task_count(self) -> int:
        return len(self.critical_path)

    @property
    def duration_days(self) -> int:
        """Working days from the project start to the project finish, both included."""
        return self.calendar.count_working_days(self.project_start, self.project_finish)

    @property
    def min_total_slack(self) -> int:
        """Smallest total slack over unfinished leaf tasks (0 for an empty plan)."""
        vals = [self._ts[i] for i in range(len(self._tasks)) if not self._is_sum[i] and not self._done[i]]
        return min(vals) if vals else 0

    @property
    def negative_slack(self) -> list[str]:
        """Ids of leaf tasks with negative total slack (a constraint or actual date cannot be met)."""
        return [t.id for i, t in enumerate(self._tasks) if not self._is_sum[i] and self._ts[i] < 0]

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._pos

    def __len__(self) -> int:
        return len(self._tasks)

    def ids(self) -> list[str]:
        return [t.id for t in self._tasks]

    def is_critical(self, task_id: str) -> bool:
        return self._crit[self._pos[task_id]]

    def total_slack(self, task_id: str) -> int:
        return self._ts[self._pos[task_id]]

    def span(self, task_id: str) -> tuple[int, int]:
        """(absolute working-day index of the early start, working days) of a leaf task.

        A milestone shown at the end of a day (after a finish) has the index of that day and 0 days.
        """
        i = self._pos[task_id]
        if self._is_sum[i]:
            return self.base + self._es[i], self._ef[i] - self._es[i]
        d = self._dur[i]
        if d == 0 and self._anchor_end[i]:
            return self.base + self._es[i] - 1, 0
        return self.base + self._es[i], d

    def early_start_index(self, task_id: str) -> int:
        """Early start as a working-day index relative to the project start (0 = first day)."""
        i = self._pos[task_id]
        return self._es[i]

    # ------------------------------------------------------------------ dates
    def _leaf_dates(self, i: int) -> tuple[date, date, date, date]:
        at = self.calendar.date_at
        b = self.base
        es, ls, d = self._es[i], self._ls[i], self._dur[i]
        if d > 0:
            got = at(b + es), at(b + es + d - 1), at(b + ls), at(b + ls + d - 1)
            if i in self._placed:
                start, finish = self._placed[i]
                got = (start, finish, start, finish) if ls == es else (start, finish, got[2], got[3])
        else:
            early = at(b + es - 1) if self._anchor_end[i] else at(b + es)
            late = early if ls == es else at(b + ls - 1)
            got = early, early, late, late
        t = self._tasks[i]
        if t.actual_start is None and t.actual_finish is None:
            return got
        return self._actual_dates(i, t, got)

    def _actual_dates(self, i: int, t: Task, got: tuple[date, date, date, date]) -> tuple[date, date, date, date]:
        """Actual dates are shown as recorded, even on a non-working day (the passes count working days)."""
        es, ef, ls, lf = got
        if t.actual_start is not None:
            if ls == es:
                ls = t.actual_start
            es = t.actual_start
        if self._done[i] and t.actual_finish is not None:
            ef = lf = t.actual_finish
            ls = es
        return es, ef, ls, lf

    def dates(self, task_id: str) -> tuple[date, date, date, date]:
        """(early start, early finish, late start, late finish) of a task."""
        return self._dates_of(self._pos[task_id])

    def _dates_of(self, i: int) -> tuple[date, date, date, date]:
        got = self._dates.get(i)
        if got is not None:
            return got
        if not self._is_sum[i]:
            got = self._leaf_dates(i)
        else:
            # iterative post-order so deep hierarchies do not recurse
            stack = [i]
            while stack:
                j = stack[-1]
                pending = [c for c in self._children[j] if c not in self._dates and self._is_sum[c]]
                if pending:
                    stack.extend(pending)
                    continue
                stack.pop()
                kids = [self._dates[c] if c in self._dates else self._leaf_dates(c) for c in self._children[j]]
                self._dates[j] = (
                    min(k[0] for k in kids),
                    max(k[1] for k in kids),
                    min(k[2] for k in kids),
                    max(k[3] for k in kids),
                )
            got = self._dates[i]
        self._dates[i] = got
        return got

    def _project_finish(self) -> date:
        pf = self.finish_index
        best: date | None = None
        for i in range(len(self._tasks)):
            if not self._is_sum[i] and self._es[i] + self._dur[i] == pf:
                f = self._leaf_dates(i)[1]
                if best is None or f > best:
                    best = f
        return best if best is not None else self.project_start

    def timing(self, task_id: str) -> TaskTiming:
        return self._timing(self._pos[task_id])

    def _timing(self, i: int) -> TaskTiming:
        t = self._tasks[i]
        es, ef, ls, lf = self._dates_of(i)
        if self._is_sum[i]:
            dur = self.calendar.count_working_days(es, ef)
        else:
            dur = self._days[i]
        p = self._parent[i]
        return TaskTiming(
            id=t.id,
            name=t.name,
            wbs=t.wbs,
            parent=self._tasks[p].id if p >= 0 else "",
            level=self._level[i],
            summary=self._is_sum[i],
            milestone=(not self._is_sum[i] and self._dur[i] == 0),
            done=self._done[i],
            duration_days=dur,
            early_start=es,
            early_finish=ef,
            late_start=ls,
            late_finish=lf,
            total_slack=self._ts[i],
            free_slack=self._fs[i],
            critical=self._crit[i],
            planned_start=t.start,
            planned_finish=t.finish,
        )

    def rows(self) -> list[TaskTiming]:
        """Every task in outline order (each summary followed by its children), with its dates."""
        order: list[int] = []
        roots = [i for i in range(len(self._tasks)) if self._parent[i] < 0]
        stack = list(reversed(roots))
        while stack:
            i = stack.pop()
            order.append(i)
            if self._is_sum[i]:
                stack.extend(reversed(self._children[i]))
        return [self._timing(i) for i in order]

    def to_dict(self) -> dict[str, Any]:
        return {
            "project_start": self.project_start.isoformat(),
            "project_finish": self.project_finish.isoformat(),
            "duration_days": self.duration_days,
            "critical_path": list(self.critical_path),
            "critical_chains": [list(c) for c in self.critical_chains],
            "warnings": list(self.warnings),
            "tasks": [r.to_dict() for r in self.rows()],
        }


def compute_schedule(project: Project, *, today: date | None = None, honor_constraints: bool = True) -> Schedule:
    """Forward and backward pass over the project's tasks and links; see the module docstring.

    Raises :class:`ScheduleCycle` when links (with the summary hierarchy) form a cycle, and
    :class:`~lifecycle.errors.InvalidInput` when there is no date to start from.
    """
    with gc_paused():  # lists of lists for the whole network, no cycles among them
        return _compute_schedule(project, today, honor_constraints)


SCHEDULE_TASK_FIELDS = (
    "id",
    "parent",
    "milestone",
    "status",
    "percent_complete",
    "duration_days",
    "start",
    "finish",
    "actual_start",
    "actual_finish",
    "constraint",
    "constraint_date",
    "calendar",
    "ignore_resource_calendars",
    "task_type",
    "effort_driven",
)
"""The task fields :func:`compute_schedule` reads (a test changes every other field and compares)."""

SCHEDULE_LINK_FIELDS = ("predecessor", "successor", "type", "lag_days")
"""The link fields :func:`compute_schedule` reads."""

_TASK_INPUTS = operator.attrgetter(*SCHEDULE_TASK_FIELDS)
_LINK_INPUTS = operator.attrgetter(*SCHEDULE_LINK_FIELDS)


def schedule_inputs(project: Project, today: date | None = None) -> list[Any]:
    """Everything :func:`compute_schedule` reads from ``project`` (and ``today``), as plain data: two
    projects with equal inputs have equal schedules, so a hash of them keys a cached schedule."""
    start = project_start_date(project, today) if project.tasks else today
    inputs = [
        start,
        project.calendar,
        list(map(_TASK_INPUTS, project.tasks)),
        list(map(_LINK_INPUTS, project.links)),
    ]
    if project.calendar.resource_calendars:  # people's calendars and who works on what place tasks then
        inputs.append([(p.id, p.calendar) for p in project.people])
        inputs.append([(a.task, a.person) for a in project.assignments])
    return inputs


def computed_finish(project: Project) -> date | None:
    """The schedule's finish, or None when there are no tasks or the schedule cannot be computed."""
    if not project.tasks:
        return None
    try:
        return compute_schedule(project).project_finish
    except (LifecycleError, ValueError):
        return None


def schedule_calendar_warnings(project: Project) -> list[str]:
    """The project's calendar warnings (:func:`~lifecycle.domain.calendar.calendar_warnings`), its
    computed finish checked against the years whose statutory days were filled."""
    if not project.calendar.country:
        return []
    return calendar_warnings(project.calendar, computed_finish(project))


def _compute_schedule(project: Project, today: date | None, honor_constraints: bool) -> Schedule:
    tasks = project.tasks
    n = len(tasks)
    cal = work_calendar(project.calendar)
    warnings: list[str] = []
    pos: dict[str, int] = {}
    for i, t in enumerate(tasks):
        pos.setdefault(t.id, i)
    parent, children = _hierarchy(tasks, pos, warnings)
    is_sum = [False] * n
    for p in children:
        is_sum[p] = True
    base = cal.index(project_start_date(project, today))
    dur, done, cancelled = _durations(tasks, is_sum, cal, warnings)
    milestone = [d == 0 and not s for d, s in zip(dur, is_sum, strict=True)]
    net = _Network(dur, children)
    _task_calendars(net, project, pos, cal, base)
    _start_bounds(net, tasks, is_sum, cal, base, honor_constraints)
    _summary_edges(net, children, is_sum, milestone)
    _link_edges(net, project.links, pos, is_sum, milestone, warnings)
    _keep_planned_starts(net, tasks, parent, is_sum, cal, base)
    es, order = _forward_pass(net, tasks)
    pf = _project_finish_index(es, net.dnode, is_sum)
    _summary_finish_caps(net, tasks, cal, base)
    ls, fsl = _backward_pass(net, es, order, pf, is_sum)
    level = _levels(parent)
    r_es, r_ef, r_ls, ts, fs, crit = _slack_and_rollup(net, es, ls, fsl, level, done, cancelled, is_sum)
    anchor_end = _milestone_anchors(net, es, milestone)
    path = [i for i in range(n) if crit[i] and not is_sum[i]]
    path.sort(key=lambda i: (es[i], es[i] + dur[i], i))
    return Schedule(
        tasks=tasks,
        cal=cal,
        base=base,
        parent=parent,
        children=children,
        level=level,
        is_sum=is_sum,
        dur=net.dnode[:n],
        es=r_es,
        ef=r_ef,
        ls=r_ls,
        ts=ts,
        fs=fs,
        done=done,
        crit=crit,
        anchor_end=anchor_end,
        finish_index=pf,
        critical_path=[tasks[i].id for i in path],
        warnings=warnings,
        fnode=net.fnode,
        critical_chains=_critical_chains(tasks, path, project.links, pos, parent, crit),
        days=dur,
        placed=net.placed,
    )


def _task_calendars(net: _Network, project: Project, pos: dict[str, int], cal: WorkCalendar, base: int) -> None:
    """The calendars each task working on other calendars than the project's works on (see
    :mod:`lifecycle.domain.task_calendars`)."""
    own = task_calendars(project)
    if not own:
        return
    net.pcal = cal
    net.base = base
    for tid, cals in own.items():
        i = pos[tid]
        if i < net.n:
            net.tcal[i] = tuple(work_calendar(c) for c in cals)


def _critical_chains(
    tasks: tuple[Task, ...],
    path: list[int],
    links: tuple[TaskLink, ...],
    pos: dict[str, int],
    parent: list[int],
    crit: list[bool],
) -> list[list[str]]:
    """The critical leaf tasks (in ``path`` order) grouped into chains: two critical tasks are in one chain
    when a link joins them (directly, or through critical summary tasks that hold them)."""
    on_path = set(path)
    root = {i: i for i in path}

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    below: dict[int, list[int]] = {}  # summary -> the critical leaves below it
    for j in path:
        k = parent[j]
        while k >= 0:
            below.setdefault(k, []).append(j)
            k = parent[k]

    def leaves_of(i: int) -> list[int]:
        return [i] if i in on_path else below.get(i, [])

    for link in links:
        p, q = pos.get(link.predecessor, -1), pos.get(link.successor, -1)
        if p < 0 or q < 0 or not crit[p] or not crit[q]:
            continue
        ends = leaves_of(p) + leaves_of(q)
        for a in ends[1:]:
            root[find(a)] = find(ends[0])
    chains: dict[int, list[str]] = {}
    for i in path:
        chains.setdefault(find(i), []).append(tasks[i].id)
    return list(chains.values())


def _hierarchy(
    tasks: tuple[Task, ...], pos: dict[str, int], warnings: list[str]
) -> tuple[list[int], dict[int, list[int]]]:
    """Each task's parent index (-1 for none) and each summary's children, in task order."""
    parent = [-1] * len(tasks)
    children: dict[int, list[int]] = {}
    for i, t in enumerate(tasks):
        if t.parent:
            p = pos.get(t.parent, -1)
            if p < 0:
                warnings.append(f"task {t.id}: unknown parent '{t.parent}' ignored")
            elif p == i:
                warnings.append(f"task {t.id} is its own parent; ignored")
            else:
                parent[i] = p
                children.setdefault(p, []).append(i)
    return parent, children


def _durations(
    tasks: tuple[Task, ...], is_sum: list[bool], cal: WorkCalendar, warnings: list[str]
) -> tuple[list[int], list[bool], list[bool]]:
    """Working-day durations (0 for summaries, milestones and cancelled tasks), done and cancelled flags."""
    n = len(tasks)
    dur = [0] * n
    done = [False] * n
    cancelled = [False] * n
    for i, t in enumerate(tasks):
        cancelled[i] = t.status == "cancelled"
        done[i] = t.status == "done" or t.percent_complete >= 100 or t.actual_finish is not None
        if is_sum[i]:
            continue
        if t.milestone or cancelled[i]:
            d = 0
        elif t.actual_start is not None and t.actual_finish is not None:
            d = max(1, cal.count_working_days(t.actual_start, t.actual_finish))
        elif t.duration_days is not None:
            d = _ceil_days(t.duration_days)
        elif t.start is not None and t.finish is not None:
            d = max(1, cal.count_working_days(t.start, t.finish))
        else:
            d = 1
            warnings.append(f"task {t.id} has no duration and no dates; scheduled as 1 day")
        dur[i] = d
    return dur, done, cancelled


class _Network:
    """The integer graph of the passes: node ``i < n`` is task ``i``'s start; then one finish node per
    summary and, when a start-measured link leaves a summary, one "min" node (its children's earliest
    start). Per node: out-edges with weights, the pass mode, the bounds of its early and late start."""

    __slots__ = (
        "base",
        "cap",
        "children",
        "days",
        "dnode",
        "fin_out",
        "fnode",
        "lb",
        "lcap",
        "mode",
        "ms_in",
        "n",
        "out_v",
        "out_w",
        "own_pred",
        "pcal",
        "placed",
        "sanode",
        "start_out",
        "tcal",
    )

    def __init__(self, dur: list[int], children: dict[int, list[int]]):
        n = len(dur)
        self.n = n
        self.children = children
        self.out_v: list[list[int]] = [[] for _ in range(n)]
        self.out_w: list[list[int]] = [[] for _ in range(n)]
        self.dnode = list(dur)
        self.mode = [0] * n  # 0 normal (max of preds), 1 fixed by actuals, 2 min node (summary earliest child start)
        self.lb = [0] * n  # lower bound of the early start (project start = 0)
        self.cap = [_INF] * n  # upper bound of the early start (finish-no-later-than, honoured)
        self.lcap = [_INF] * n  # upper bound of the late start
        self.fnode = [-1] * n
        self.sanode = [-1] * n
        self.ms_in: dict[int, list[tuple[int, int, bool]]] = {}  # milestone -> (pred node, weight, from a finish)
        self.own_pred = [False] * n
        # node -> positions in out_v of links leaving a leaf task's start (SS, SF): not used by the backward pass
        self.start_out: dict[int, set[int]] = {}
        # task calendars: leaf task -> the calendars it works on, and positions in out_v of the edges that
        # leave its finish (their weights hold its span on the project calendar, known once it is placed)
        self.tcal: dict[int, tuple[WorkCalendar, ...]] = {}
        self.fin_out: dict[int, list[int]] = {}
        self.days = list(dur)
        self.pcal: WorkCalendar | None = None
        self.placed: dict[int, tuple[date, date]] = {}  # early start and finish of the tasks placed
        self.base = 0
        for s in children:
            self.fnode[s] = self._add(0, -_INF)

    def _add(self, mode: int, lb: int) -> int:
        k = len(self.out_v)
        self.out_v.append([])
        self.out_w.append([])
        self.mode.append(mode)
        self.lb.append(lb)
        self.cap.append(_INF)
        self.lcap.append(_INF)
        self.dnode.append(0)
        return k

    def finish_edge(self, u: int, v: int, w: int) -> None:
        """An edge leaving leaf task ``u``'s finish (its weight includes ``u``'s span)."""
        if u in self.tcal:
            self.fin_out.setdefault(u, []).append(len(self.out_v[u]))
        self.out_v[u].append(v)
        self.out_w[u].append(w)

    def place(self, u: int, e: int) -> int:
        """Place task ``u`` (working on its own calendars) at the earliest start boundary ``e``: it starts
        on the first day one of its calendars works and finishes when the last of them has worked its
        days. Sets its span on the project calendar (and the weights of the edges leaving its finish);
        returns its start boundary."""
        pcal = self.pcal
        d = self.days[u]
        if pcal is None or d <= 0 or self.mode[u] == 1:
            return e
        b = self.base
        day0 = pcal.date_at(b + e)
        starts = [(c, c.next_working_day(day0)) for c in self.tcal[u]]
        start = min(x for _, x in starts)
        finish = max(c.finish_date(x, _ceil_days(d * pcal.hours_per_day / c.hours_per_day)) for c, x in starts)
        s = max(e, pcal.index(start) - b)
        span = max(1, pcal.index_of_ordinal(finish.toordinal() + 1) - b - s)
        self.placed[u] = (start, finish)
        delta = span - self.dnode[u]
        if delta:
            self.dnode[u] = span
            for k in self.fin_out.get(u, ()):
                self.out_w[u][k] += delta
                self._shift_milestone_in(self.out_v[u][k], u, delta)
        return s

    def late_place(self, u: int, ls: int) -> int:
        """The late start boundary of placed task ``u`` whose late finish boundary is ``ls`` + its span:
        each of its calendars ends on its last working day by then and starts its days before."""
        pcal = self.pcal
        if pcal is None or u not in self.placed:
            return ls
        b, d = self.base, self.days[u]
        last = pcal.date_at(b + ls + self.dnode[u]) - timedelta(days=1)  # a worked Saturday included
        starts = []
        for c in self.tcal[u]:
            n = _ceil_days(d * pcal.hours_per_day / c.hours_per_day)
            starts.append(c.add_working_days(c.previous_working_day(last), 1 - n))
        return min(ls, pcal.index(min(starts)) - b)

    def _shift_milestone_in(self, v: int, u: int, delta: int) -> None:
        ins = self.ms_in.get(v)
        if ins:
            self.ms_in[v] = [(x, w + delta if x == u and fin else w, fin) for (x, w, fin) in ins]

    def start_of_children(self, s: int) -> int:
        """The "min" node of summary ``s`` (made on first use): the earliest start of its children."""
        if self.sanode[s] < 0:
            k = self.sanode[s] = self._add(2, _INF)
            for c in self.children[s]:
                self.out_v[c].append(k)
                self.out_w[c].append(0)
        return self.sanode[s]


def _start_bounds(
    net: _Network, tasks: tuple[Task, ...], is_sum: list[bool], cal: WorkCalendar, base: int, honor: bool
) -> None:
    """Actual dates fix a start; constraints bound it (start-no-earlier-than below, finish-no-later-than above)."""
    idx = cal.index
    dur, mode, lb, cap, lcap = net.dnode, net.mode, net.lb, net.cap, net.lcap
    for i, t in enumerate(tasks):
        if is_sum[i]:
            if t.constraint == "start_no_earlier_than" and t.constraint_date is not None:
                lb[i] = idx(t.constraint_date) - base
            continue
        d = dur[i]
        if t.actual_start is not None:
            mode[i] = 1
            lb[i] = idx(t.actual_start) - base
        elif t.actual_finish is not None:
            mode[i] = 1
            lb[i] = idx(t.actual_finish) + 1 - base - d
        elif t.constraint == "start_no_earlier_than" and t.constraint_date is not None:
            lb[i] = max(lb[i], idx(t.constraint_date) - base)
        elif t.constraint == "finish_no_later_than" and t.constraint_date is not None:
            fin_b = idx(t.constraint_date) + (1 if cal.is_working(t.constraint_date) else 0) - base
            lcap[i] = fin_b - d
            if honor:
                cap[i] = fin_b - d


def _summary_edges(net: _Network, children: dict[int, list[int]], is_sum: list[bool], milestone: list[bool]) -> None:
    """A summary's start precedes each child's start; each child's finish precedes the summary's finish."""
    out_v, out_w, fnode, dur, ms_in = net.out_v, net.out_w, net.fnode, net.dnode, net.ms_in
    for s, kids in children.items():
        f = fnode[s]
        for c in kids:
            out_v[s].append(c)
            out_w[s].append(0)
            if milestone[c]:
                ms_in.setdefault(c, []).append((s, 0, False))
            if is_sum[c]:
                out_v[fnode[c]].append(f)
                out_w[fnode[c]].append(0)
            else:
                net.finish_edge(c, f, dur[c])


def _link_edges(
    net: _Network,
    links: tuple[TaskLink, ...],
    pos: dict[str, int],
    is_sum: list[bool],
    milestone: list[bool],
    warnings: list[str],
) -> None:
    """Each link as one edge between start nodes, weighted as the module docstring says."""
    n = net.n
    out_v, out_w, fnode, dur, ms_in, own_pred = net.out_v, net.out_w, net.fnode, net.dnode, net.ms_in, net.own_pred
    get = pos.get
    for link in links:
        p = get(link.predecessor, -1)
        s = get(link.successor, -1)
        if p < 0 or s < 0:
            warnings.append(f"link {link.predecessor}->{link.successor} names an unknown task; ignored")
            continue
        if p == s:
            warnings.append(f"link {link.predecessor}->{link.successor} links a task to itself; ignored")
            continue
        typ = link.type
        if typ not in LINK_TYPES:
            warnings.append(f"link {link.predecessor}->{link.successor} has unknown type '{typ}'; ignored")
            continue
        lag = _round_lag(link.lag_days) if link.lag_days else 0
        pred_fin = typ[0] == "F"
        succ_fin = typ[1] == "F"
        if is_sum[p]:
            u = fnode[p] if pred_fin else net.start_of_children(p)
            a = 0
        else:
            u = p
            a = dur[p] if pred_fin else 0
        if not is_sum[s]:
            v = s
            b = dur[s] if succ_fin else 0
        elif succ_fin:
            v = fnode[s]
            b = 0
            warnings.append(
                f"link {link.predecessor}->{link.successor}: a {typ} link into a summary task "
                "constrains only the summary's finish"
            )
        else:
            v = s
            b = 0
        w = a + lag - b
        if u == p and not pred_fin:
            net.start_out.setdefault(u, set()).add(len(out_v[u]))
        if u == p and pred_fin:
            net.finish_edge(u, v, w)
        else:
            out_v[u].append(v)
            out_w[u].append(w)
        own_pred[s] = True
        if v < n and milestone[v]:
            ms_in.setdefault(v, []).append((u, w, pred_fin))


def _keep_planned_starts(
    net: _Network, tasks: tuple[Task, ...], parent: list[int], is_sum: list[bool], cal: WorkCalendar, base: int
) -> None:
    """A planned start is kept (as a start-no-earlier-than) for tasks with no predecessor, own or inherited."""
    n = net.n
    own_pred, mode, lb, idx = net.own_pred, net.mode, net.lb, cal.index
    inherited = [False] * n
    for i in range(n):
        if own_pred[i]:
            inherited[i] = True
            continue
        j = parent[i]
        steps = 0
        while j >= 0 and steps <= n:
            if own_pred[j]:
                inherited[i] = True
                break
            j = parent[j]
            steps += 1
    for i, t in enumerate(tasks):
        if is_sum[i] or mode[i] == 1 or inherited[i] or t.start is None:
            continue
        lb[i] = max(lb[i], idx(t.start) - base)


def _forward_pass(net: _Network, tasks: tuple[Task, ...]) -> tuple[list[int], list[int]]:
    """Early starts in Kahn's topological order (returned too, for the backward pass)."""
    out_v, out_w, mode, cap, tcal = net.out_v, net.out_w, net.mode, net.cap, net.tcal
    nn = len(out_v)
    indeg = [0] * nn
    for vs in out_v:
        for v in vs:
            indeg[v] += 1
    es = list(net.lb)
    order = [u for u in range(nn) if indeg[u] == 0]
    k = 0
    while k < len(order):
        u = order[k]
        k += 1
        e = es[u]
        if e > cap[u]:
            e = es[u] = cap[u]
        if tcal and u in tcal:
            e = es[u] = net.place(u, e)
        for v, w in zip(out_v[u], out_w[u], strict=True):
            m = mode[v]
            if m == 0:
                x = e + w
                if x > es[v]:
                    es[v] = x
            elif m == 2:
                x = e + w
                if x < es[v]:
                    es[v] = x
            indeg[v] -= 1
            if indeg[v] == 0:
                order.append(v)
    if len(order) < nn:
        raise ScheduleCycle(_find_cycle(tasks, net.n, net.fnode, net.sanode, out_v, indeg))
    return es, order


def _project_finish_index(es: list[int], dur: list[int], is_sum: list[bool]) -> int:
    """The latest early finish of any leaf task (0 when there is none)."""
    pf = 0
    any_leaf = False
    for i in range(len(is_sum)):
        if not is_sum[i]:
            f = es[i] + dur[i]
            if not any_leaf or f > pf:
                pf = f
                any_leaf = True
    return pf


def _summary_finish_caps(net: _Network, tasks: tuple[Task, ...], cal: WorkCalendar, base: int) -> None:
    """A summary's finish-no-later-than limits the late finish of its finish node."""
    n, lcap = net.n, net.lcap
    for s in net.children:
        if s < n and lcap[s] == _INF:
            t = tasks[s]
            if t.constraint == "finish_no_later_than" and t.constraint_date is not None:
                cd = t.constraint_date
                lcap[net.fnode[s]] = cal.index(cd) + (1 if cal.is_working(cd) else 0) - base


def _backward_pass(
    net: _Network, es: list[int], order: list[int], pf: int, is_sum: list[bool]
) -> tuple[list[int], list[int]]:
    """Late starts and free slack per node, in reverse topological order."""
    n = net.n
    out_v, out_w, mode, lcap, dnode = net.out_v, net.out_w, net.mode, net.lcap, net.dnode
    nn = len(out_v)
    ls = [0] * nn
    fsl = [0] * nn
    pseudo = [v >= n or is_sum[v] for v in range(nn)]
    start_out = net.start_out
    no_back: set[int] = set()
    for u in reversed(order):
        eu = es[u]
        best = pf - dnode[u]  # nothing finishes after the project finish, whatever its successors allow
        bfree = _INF
        if start_out:
            no_back = start_out.get(u, set())
        for k, (v, w) in enumerate(zip(out_v[u], out_w[u], strict=True)):
            if mode[v] == 2 and eu + w != es[v]:
                continue
            x = ls[v] - w
            if x < best and k not in no_back:
                best = x
            gap = es[v] - eu - w
            if pseudo[v]:
                gap += fsl[v]
            if gap < bfree:
                bfree = gap
        if best > lcap[u]:
            best = lcap[u]
        ls[u] = net.late_place(u, best) if net.placed else best
        fsl[u] = bfree if bfree != _INF else pf - eu - dnode[u]
    return ls, fsl


def _levels(parent: list[int]) -> list[int]:
    """Outline depth of every task (0 for a top-level task)."""
    n = len(parent)
    level = [0] * n
    for i in range(n):
        j = parent[i]
        d = 0
        while j >= 0 and d <= n:
            d += 1
            j = parent[j]
        level[i] = d
    return level


def _slack_and_rollup(
    net: _Network,
    es: list[int],
    ls: list[int],
    fsl: list[int],
    level: list[int],
    done: list[bool],
    cancelled: list[bool],
    is_sum: list[bool],
) -> tuple[list[int], list[int], list[int], list[int], list[int], list[bool]]:
    """Total and free slack and criticality of leaves; summaries rolled up from their children, deepest
    first. Returns the task dates (early start, early finish, late start), slacks and criticality."""
    n = net.n
    dur = net.dnode
    ts = [0] * n
    fs = [0] * n
    crit = [False] * n
    for i in range(n):
        if is_sum[i]:
            continue
        if done[i]:
            continue  # a completed task has no slack left (its late dates are its actual dates)
        t_s = ls[i] - es[i]
        ts[i] = t_s
        fs[i] = max(0, min(fsl[i], t_s))
        crit[i] = t_s <= 0 and not cancelled[i]
    children, fnode = net.children, net.fnode
    r_es = es[:n]
    r_ls = [es[i] if done[i] and not is_sum[i] else ls[i] for i in range(n)]
    r_ef = [es[i] + dur[i] for i in range(n)]
    for s in sorted(children, key=lambda s: -level[s]):
        kids = children[s]
        r_es[s] = min(r_es[c] for c in kids)
        r_ef[s] = max(r_ef[c] for c in kids)
        r_ls[s] = min(r_ls[c] for c in kids)
        ts[s] = min(ts[c] for c in ([c for c in kids if not done[c]] or kids))
        fs[s] = max(0, min(fsl[fnode[s]], ts[s]))
        crit[s] = any(crit[c] for c in kids)
        done[s] = all(done[c] for c in kids)
    return r_es, r_ef, r_ls, ts, fs, crit


def _milestone_anchors(net: _Network, es: list[int], milestone: list[bool]) -> list[bool]:
    """Which milestones sit at the end of their day: those that follow only finishes (or a finish cap)."""
    n = net.n
    mode, cap, lb, ms_in = net.mode, net.cap, net.lb, net.ms_in
    anchor_end = [False] * n
    for v, ins in ms_in.items():
        if mode[v] == 1:
            continue
        ev = es[v]
        if ev == cap[v] and ev != lb[v]:
            anchor_end[v] = True
            continue
        if ev == lb[v]:
            continue
        tight = [fin for (u, w, fin) in ins if es[u] + w == ev]
        anchor_end[v] = bool(tight) and all(tight)
    for i in range(n):
        if milestone[i] and i not in ms_in and mode[i] != 1 and es[i] == cap[i] and es[i] != lb[i]:
            anchor_end[i] = True
    return anchor_end


def _find_cycle(
    tasks: tuple[Task, ...], n: int, fnode: list[int], sanode: list[int], out_v: list[list[int]], indeg: list[int]
) -> list[str]:
    """One cycle among the nodes Kahn's sort could not order, as task ids (first repeated at the end)."""
    left = {u for u in range(len(out_v)) if indeg[u] > 0}
    preds: dict[int, list[int]] = {}
    for u in range(len(out_v)):
        if u not in left:
            continue
        for v in out_v[u]:
            if v in left:
                preds.setdefault(v, []).append(u)
    owner: dict[int, int] = {}
    for s in range(n):
        if fnode[s] >= 0:
            owner[fnode[s]] = s
        if sanode[s] >= 0:
            owner[sanode[s]] = s
    # every node left has a predecessor left: walk backwards until a node repeats
    start = min(left)
    seen: dict[int, int] = {}
    walk: list[int] = []
    u = start
    while u not in seen:
        seen[u] = len(walk)
        walk.append(u)
        u = preds[u][0]
    cyc = walk[seen[u] :]
    cyc.reverse()  # forward direction
    names: list[str] = []
    for node in cyc:
        name = tasks[owner.get(node, node)].id
        if not names or names[-1] != name:
            names.append(name)
    if len(names) > 1 and names[0] == names[-1]:
        names.pop()
    # start at the smallest id so the message is stable
    k = names.index(min(names))
    names = names[k:] + names[:k]
    return [*names, names[0]]

"""Critical path method against worked examples whose answers are written out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from lifecycle.domain.model import Calendar, Task, TaskLink
from lifecycle.domain.schedule import ScheduleCycle, compute_schedule
from lifecycle.errors import InvalidInput
from tests.analytics.helpers import START, day, network, project

WEEKDAYS = Calendar()
MON = date(2026, 3, 2)  # Monday; working-day index 0 in the weekday examples below


# ------------------------------------------------------------------------------------------------
# Textbook example: the eight-activity network of Heizer & Render's "Milwaukee Paper Manufacturing"
# (Operations Management, chapter "Project management"). Durations in weeks; every day works here so a
# day stands for a week. Published answers: project 15 weeks, critical path A-C-E-G-H,
#   act  ES EF LS LF slack
#   A     0  2  0  2  0
#   B     0  3  1  4  1
#   C     2  4  2  4  0
#   D     3  7  4  8  1
#   E     4  8  4  8  0
#   F     4  7 10 13  6
#   G     8 13  8 13  0
#   H    13 15 13 15  0
MILWAUKEE = {
    "A": (2, ""),
    "B": (3, ""),
    "C": (2, "A"),
    "D": (4, "A,B"),
    "E": (4, "C"),
    "F": (3, "C"),
    "G": (5, "D,E"),
    "H": (2, "F,G"),
}
MILWAUKEE_ANSWERS = {
    "A": (0, 2, 0, 2, 0),
    "B": (0, 3, 1, 4, 1),
    "C": (2, 4, 2, 4, 0),
    "D": (3, 7, 4, 8, 1),
    "E": (4, 8, 4, 8, 0),
    "F": (4, 7, 10, 13, 6),
    "G": (8, 13, 8, 13, 0),
    "H": (13, 15, 13, 15, 0),
}


def _offsets(s: object, tid: str) -> tuple[int, int, int, int]:
    es, ef, ls, lf = s.dates(tid)  # type: ignore[attr-defined]
    # textbook convention: EF/LF are the end of the last day, i.e. the next day's offset
    return (es - START).days, (ef - START).days + 1, (ls - START).days, (lf - START).days + 1


def test_textbook_milwaukee_paper() -> None:
    s = compute_schedule(network(MILWAUKEE))
    for tid, (es, ef, ls, lf, slack) in MILWAUKEE_ANSWERS.items():
        assert _offsets(s, tid) == (es, ef, ls, lf), tid
        assert s.total_slack(tid) == slack, tid
    assert s.critical_path == ["A", "C", "E", "G", "H"]
    assert s.project_finish == day(14)  # end of week 15
    assert s.duration_days == 15


# A second hand-worked network (same conventions): A3, B4<-A, C2<-A, D5<-B, E1<-C, F2<-C, G4<-D,E, H3<-F,G
#   act  ES EF LS LF total free
#   A     0  3  0  3   0    0
#   B     3  7  3  7   0    0
#   C     3  5  9 11   6    0
#   D     7 12  7 12   0    0
#   E     5  6 11 12   6    6
#   F     5  7 14 16   9    9
#   G    12 16 12 16   0    0
#   H    16 19 16 19   0    0
HAND = {
    "A": (3, ""),
    "B": (4, "A"),
    "C": (2, "A"),
    "D": (5, "B"),
    "E": (1, "C"),
    "F": (2, "C"),
    "G": (4, "D,E"),
    "H": (3, "F,G"),
}
HAND_ANSWERS = {
    "A": (0, 3, 0, 3, 0, 0),
    "B": (3, 7, 3, 7, 0, 0),
    "C": (3, 5, 9, 11, 6, 0),
    "D": (7, 12, 7, 12, 0, 0),
    "E": (5, 6, 11, 12, 6, 6),
    "F": (5, 7, 14, 16, 9, 9),
    "G": (12, 16, 12, 16, 0, 0),
    "H": (16, 19, 16, 19, 0, 0),
}


def test_hand_worked_network_with_free_slack() -> None:
    s = compute_schedule(network(HAND))
    for tid, (es, ef, ls, lf, total, free) in HAND_ANSWERS.items():
        assert _offsets(s, tid) == (es, ef, ls, lf), tid
        t = s.timing(tid)
        assert (t.total_slack, t.free_slack) == (total, free), tid
    assert s.critical_path == ["A", "B", "D", "G", "H"]


# ------------------------------------------------------------------------------------------------
# All four link types with lags and leads on a Monday-Friday calendar. Working-day index 0 = Mon 2 March.
#   A 5d                       ES 0  EF 5   (Mar 2 - Mar 6)
#   B 3d  A FS+2               ES 7  EF 10  (Mar 11 - Mar 13)
#   C 2d  A SS+1               ES 1  EF 3   (Mar 3 - Mar 4)
#   D 4d  B FF+1               EF 11 ES 7   (Mar 11 - Mar 16)
#   E 2d  C SF+3               EF >= 1+3 = 4, ES 2 (Mar 4 - Mar 5)
#   F 3d  D FS-2 (lead)        ES 9  EF 12  (Mar 13 - Mar 17)
#   G 1d  B SS-5, F FF+0, E FS ES max(2, 11, 4) = 11 (Tue 17 March)
#   H 2d  A SF-10              EF >= -10 -> ES would be -12: no task starts before the project: ES 0
# Project finish boundary 12 (F, G) = Tue 17 March. Backward pass:
#   G LS 11, F LS 9, D LS 7, B LS 7, E LS 9 (TS 7), C LS 8 (TS 7), H LS 10 (TS 10), A LS 0.
def _link_network() -> object:
    tasks = [
        Task(id=k, name=k, duration_days=d)
        for k, d in (("A", 5), ("B", 3), ("C", 2), ("D", 4), ("E", 2), ("F", 3), ("G", 1), ("H", 2))
    ]
    links = [
        TaskLink("A", "B", "FS", 2),
        TaskLink("A", "C", "SS", 1),
        TaskLink("B", "D", "FF", 1),
        TaskLink("C", "E", "SF", 3),
        TaskLink("D", "F", "FS", -2),
        TaskLink("B", "G", "SS", -5),
        TaskLink("F", "G", "FF", 0),
        TaskLink("E", "G", "FS", 0),
        TaskLink("A", "H", "SF", -10),
    ]
    return project(tasks, links, calendar=WEEKDAYS, start=MON)


def test_all_link_types_with_lags_and_leads() -> None:
    s = compute_schedule(_link_network())  # type: ignore[arg-type]
    d = date
    expected = {
        "A": (d(2026, 3, 2), d(2026, 3, 6), d(2026, 3, 2), d(2026, 3, 6), 0, 0),
        "B": (d(2026, 3, 11), d(2026, 3, 13), d(2026, 3, 11), d(2026, 3, 13), 0, 0),
        # C's only successor leaves its start (SF): as in Microsoft Project it does not limit C's late
        # dates, so C has 9 days of slack to the project finish (the textbook gives 7)
        "C": (d(2026, 3, 3), d(2026, 3, 4), d(2026, 3, 16), d(2026, 3, 17), 9, 0),
        "D": (d(2026, 3, 11), d(2026, 3, 16), d(2026, 3, 11), d(2026, 3, 16), 0, 0),
        "E": (d(2026, 3, 4), d(2026, 3, 5), d(2026, 3, 13), d(2026, 3, 16), 7, 7),
        "F": (d(2026, 3, 13), d(2026, 3, 17), d(2026, 3, 13), d(2026, 3, 17), 0, 0),
        "G": (d(2026, 3, 17), d(2026, 3, 17), d(2026, 3, 17), d(2026, 3, 17), 0, 0),
        "H": (d(2026, 3, 2), d(2026, 3, 3), d(2026, 3, 16), d(2026, 3, 17), 10, 10),
    }
    for tid, (es, ef, ls, lf, total, free) in expected.items():
        t = s.timing(tid)
        assert (t.early_start, t.early_finish, t.late_start, t.late_finish) == (es, ef, ls, lf), tid
        assert (t.total_slack, t.free_slack) == (total, free), tid
    assert s.critical_path == ["A", "B", "D", "F", "G"]
    assert s.project_finish == d(2026, 3, 17)


def test_lags_skip_weekends_and_holidays() -> None:
    cal = Calendar(holidays=(date(2026, 3, 10),))
    p = project(
        [Task(id="A", name="A", duration_days=5), Task(id="B", name="B", duration_days=2)],
        [TaskLink("A", "B", "FS", 2)],
        calendar=cal,
        start=MON,
    )
    s = compute_schedule(p)
    # A Mon 2 - Fri 6; two lag days: Mon 9, (Tue 10 holiday) Wed 11; B starts Thu 12, ends Fri 13
    assert s.dates("B")[:2] == (date(2026, 3, 12), date(2026, 3, 13))


def test_make_up_working_day_is_used() -> None:
    # 2025 National Day: Sep 30 (Tue) is the last working day before the holiday, Sat Oct 11 is worked
    cal = Calendar(
        holidays=tuple(date(2025, 10, d) for d in range(1, 9)), extra_workdays=(date(2025, 9, 28), date(2025, 10, 11))
    )
    p = project([Task(id="A", name="A", duration_days=6)], calendar=cal, start=date(2025, 9, 26))
    s = compute_schedule(p)
    # Fri 26, Sun 28 (make-up), Mon 29, Tue 30, Thu 9 Oct, Fri 10 Oct
    assert s.dates("A")[:2] == (date(2025, 9, 26), date(2025, 10, 10))
    p = project([Task(id="A", name="A", duration_days=7)], calendar=cal, start=date(2025, 9, 26))
    assert compute_schedule(p).project_finish == date(2025, 10, 11)  # the make-up Saturday


def test_fractional_durations_and_lags_round_to_whole_days() -> None:
    p = project(
        [
            Task(id="A", name="A", duration_days=2.5),
            Task(id="B", name="B", duration_days=1),
            Task(id="C", name="C", duration_days=1),
            Task(id="D", name="D", duration_days=1),
        ],
        [TaskLink("A", "B", "FS", 0.4), TaskLink("A", "C", "FS", 0.5), TaskLink("A", "D", "FS", -0.5)],
    )
    s = compute_schedule(p)
    assert s.timing("A").duration_days == 3
    assert s.dates("B")[0] == day(3)
    assert s.dates("C")[0] == day(4)
    assert s.dates("D")[0] == day(2)


# ------------------------------------------------------------------------------------------------ milestones
def test_milestone_after_a_finish_is_on_the_finish_day() -> None:
    tasks = [
        Task(id="A", name="A", duration_days=5),
        Task(id="B", name="B", duration_days=3),
        Task(id="M1", name="after finish", milestone=True, duration_days=0),
        Task(id="M2", name="after start", milestone=True, duration_days=0),
        Task(id="M0", name="kick-off", milestone=True, duration_days=0),
        Task(id="M3", name="lagged", duration_days=0),
    ]
    links = [TaskLink("A", "B", "FS", 2), TaskLink("A", "M1"), TaskLink("B", "M2", "SS"), TaskLink("A", "M3", "FS", 2)]
    s = compute_schedule(project(tasks, links, calendar=WEEKDAYS, start=MON))
    assert s.dates("M1")[0] == date(2026, 3, 6)  # Friday, A's finish (not Monday 9)
    assert s.dates("M2")[0] == date(2026, 3, 11)  # B's start
    assert s.dates("M0")[0] == MON
    assert s.dates("M3")[0] == date(2026, 3, 10)  # Friday + 2 working days, at the end of that day
    t = s.timing("M1")
    assert t.milestone and t.duration_days == 0
    assert s.project_finish == date(2026, 3, 13)  # B


def test_milestone_that_ends_the_project() -> None:
    tasks = [Task(id="A", name="A", duration_days=5), Task(id="GO", name="go-live", milestone=True, duration_days=0)]
    s = compute_schedule(project(tasks, [TaskLink("A", "GO")], calendar=WEEKDAYS, start=MON))
    assert s.project_finish == date(2026, 3, 6)
    assert s.critical_path == ["A", "GO"]
    assert s.timing("GO").late_finish == date(2026, 3, 6)


# ------------------------------------------------------------------------------------------------ summaries
def test_summary_tasks_roll_up_and_carry_links() -> None:
    tasks = [
        Task(id="P", name="P", duration_days=3),
        Task(id="S", name="phase"),
        Task(id="S1", name="S1", parent="S", duration_days=2),
        Task(id="S2", name="S2", parent="S", duration_days=4),
        Task(id="X", name="X", duration_days=1),
        Task(id="Y", name="Y", duration_days=1),
    ]
    links = [TaskLink("P", "S"), TaskLink("S1", "S2"), TaskLink("S", "X"), TaskLink("S", "Y", "SS", 1)]
    s = compute_schedule(project(tasks, links, calendar=WEEKDAYS, start=MON))
    assert s.dates("S1")[:2] == (date(2026, 3, 5), date(2026, 3, 6))  # after P (Mon-Wed)
    assert s.dates("S2")[:2] == (date(2026, 3, 9), date(2026, 3, 12))
    t = s.timing("S")
    assert t.summary and (t.early_start, t.early_finish) == (date(2026, 3, 5), date(2026, 3, 12))
    assert t.duration_days == 6 and t.critical and t.level == 0
    assert s.timing("S1").level == 1 and s.timing("S1").parent == "S"
    assert s.dates("X")[0] == date(2026, 3, 13)  # after the whole summary
    assert s.dates("Y")[0] == date(2026, 3, 6)  # one day after the summary's start
    assert s.timing("Y").total_slack == 5
    assert s.critical_path == ["P", "S1", "S2", "X"]
    assert [r.id for r in s.rows()] == ["P", "S", "S1", "S2", "X", "Y"]


def test_start_link_from_a_summary_uses_its_earliest_child() -> None:
    tasks = [
        Task(id="R", name="R", duration_days=4),
        Task(id="S", name="phase"),
        Task(id="S1", name="S1", parent="S", duration_days=2),
        Task(id="S2", name="S2", parent="S", duration_days=2),
        Task(id="Y", name="Y", duration_days=1),
    ]
    links = [TaskLink("R", "S1"), TaskLink("R", "S2", "FS", 1), TaskLink("S", "Y", "SS")]
    s = compute_schedule(project(tasks, links))
    assert s.dates("S")[0] == day(4)
    assert s.dates("Y")[0] == day(4)  # not the project start: the summary starts when S1 does


def test_nested_summaries() -> None:
    tasks = [
        Task(id="1", name="root"),
        Task(id="1.1", name="a", parent="1"),
        Task(id="1.1.1", name="x", parent="1.1", duration_days=2),
        Task(id="1.1.2", name="y", parent="1.1", duration_days=3),
        Task(id="1.2", name="z", parent="1", duration_days=1),
    ]
    s = compute_schedule(project(tasks, [TaskLink("1.1.1", "1.1.2"), TaskLink("1.1", "1.2")]))
    assert s.dates("1")[:2] == (day(0), day(5))
    assert s.timing("1.1.2").level == 2
    assert s.critical_path == ["1.1.1", "1.1.2", "1.2"]


# ------------------------------------------------------------------------------------------------ constraints
def test_start_no_earlier_than() -> None:
    tasks = [
        Task(id="A", name="A", duration_days=5),
        Task(id="B", name="B", duration_days=3, constraint="start_no_earlier_than", constraint_date=date(2026, 3, 16)),
    ]
    s = compute_schedule(project(tasks, [TaskLink("A", "B")], calendar=WEEKDAYS, start=MON))
    assert s.dates("B")[:2] == (date(2026, 3, 16), date(2026, 3, 18))
    assert s.total_slack("A") == 5  # A can slip until B's constraint binds


def _fnlt(honor: bool) -> object:
    tasks = [
        Task(id="A", name="A", duration_days=5),
        Task(id="B", name="B", duration_days=5, constraint="finish_no_later_than", constraint_date=date(2026, 3, 11)),
    ]
    return compute_schedule(project(tasks, [TaskLink("A", "B")], calendar=WEEKDAYS, start=MON), honor_constraints=honor)


def test_finish_no_later_than_honoured_like_microsoft_project() -> None:
    s = _fnlt(True)
    # B is held to its deadline (starting before A finishes); A shows the conflict as negative slack
    assert s.dates("B")[:2] == (date(2026, 3, 5), date(2026, 3, 11))  # type: ignore[attr-defined]
    assert s.total_slack("A") == -2  # type: ignore[attr-defined]
    assert s.total_slack("B") == 0  # type: ignore[attr-defined]
    assert s.negative_slack == ["A"]  # type: ignore[attr-defined]
    assert s.critical_path == ["A", "B"]  # type: ignore[attr-defined]


def test_finish_no_later_than_as_a_deadline_only() -> None:
    s = _fnlt(False)
    assert s.dates("B")[:2] == (date(2026, 3, 9), date(2026, 3, 13))  # type: ignore[attr-defined]
    assert (s.total_slack("A"), s.total_slack("B")) == (-2, -2)  # type: ignore[attr-defined]
    assert s.min_total_slack == -2  # type: ignore[attr-defined]


def test_finish_no_later_than_on_a_day_off_means_the_working_day_before() -> None:
    tasks = [
        Task(id="A", name="A", duration_days=5, constraint="finish_no_later_than", constraint_date=date(2026, 3, 7))
    ]  # a Saturday
    s = compute_schedule(project(tasks, calendar=WEEKDAYS, start=MON))
    assert s.total_slack("A") == 0


def test_planned_start_is_kept_for_tasks_without_predecessors() -> None:
    tasks = [
        Task(id="A", name="A", duration_days=2),
        Task(id="Z", name="Z", duration_days=2, start=date(2026, 3, 9)),
        Task(id="B", name="B", duration_days=2, start=date(2026, 3, 20)),
    ]
    s = compute_schedule(project(tasks, [TaskLink("A", "B")], calendar=WEEKDAYS, start=MON))
    assert s.dates("Z")[0] == date(2026, 3, 9)
    assert s.dates("B")[0] == date(2026, 3, 4)  # B has a predecessor: its planned start is the plan, not a constraint


# ------------------------------------------------------------------------------------------------ actuals
def test_actual_dates_are_respected() -> None:
    tasks = [
        Task(
            id="A",
            name="A",
            duration_days=5,
            status="done",
            actual_start=date(2026, 3, 2),
            actual_finish=date(2026, 3, 10),
            percent_complete=100,
        ),
        Task(id="B", name="B", duration_days=2),
        Task(id="C", name="C", duration_days=4, status="in_progress", actual_start=date(2026, 3, 3)),
    ]
    links = [TaskLink("A", "B"), TaskLink("A", "C")]
    s = compute_schedule(project(tasks, links, calendar=WEEKDAYS, start=MON))
    assert s.dates("A")[:2] == (date(2026, 3, 2), date(2026, 3, 10))  # 7 days, not 5
    assert s.dates("B")[0] == date(2026, 3, 11)
    assert s.dates("C")[:2] == (date(2026, 3, 3), date(2026, 3, 6))  # started before A finished: kept
    assert not s.is_critical("A") and s.timing("A").done  # a completed task is never critical
    assert s.is_critical("B")
    assert s.critical_path == ["B"]


def test_leads_cannot_pull_a_task_before_the_project_start() -> None:
    p = project(
        [Task(id="A", name="A", duration_days=3), Task(id="B", name="B", duration_days=2)],
        [TaskLink("A", "B", "SS", -4)],
    )
    assert compute_schedule(p).dates("B")[0] == START


def test_cancelled_task_takes_no_time_and_is_not_critical() -> None:
    tasks = [
        Task(id="A", name="A", duration_days=2),
        Task(id="X", name="X", duration_days=9, status="cancelled"),
        Task(id="B", name="B", duration_days=2),
    ]
    s = compute_schedule(project(tasks, [TaskLink("A", "X"), TaskLink("X", "B")]))
    assert s.dates("B")[0] == day(2)
    assert "X" not in s.critical_path


# ------------------------------------------------------------------------------------------------ errors
def test_cycle_is_reported_with_the_tasks_in_order() -> None:
    p = project(
        [Task(id=k, name=k, duration_days=1) for k in "ABCD"],
        [TaskLink("A", "B"), TaskLink("B", "C"), TaskLink("C", "A"), TaskLink("C", "D")],
    )
    with pytest.raises(ScheduleCycle) as err:
        compute_schedule(p)
    assert err.value.cycle == ["A", "B", "C", "A"]
    assert "A -> B -> C -> A" in str(err.value)
    assert isinstance(err.value, InvalidInput)


def test_link_from_a_summary_to_its_own_child_is_a_cycle() -> None:
    tasks = [
        Task(id="S", name="S"),
        Task(id="S1", name="S1", parent="S", duration_days=1),
        Task(id="S2", name="S2", parent="S", duration_days=1),
    ]
    with pytest.raises(ScheduleCycle) as err:
        compute_schedule(project(tasks, [TaskLink("S", "S2")]))
    assert set(err.value.cycle) == {"S", "S2"}


def test_bad_links_are_warnings_not_failures() -> None:
    p = project([Task(id="A", name="A", duration_days=1)], [TaskLink("A", "NOPE"), TaskLink("A", "A")])
    s = compute_schedule(p)
    assert len(s.warnings) == 2
    assert s.project_finish == START


def test_no_start_date_anywhere() -> None:
    p = project([Task(id="A", name="A", duration_days=1)], start=None)
    with pytest.raises(InvalidInput, match="no start date"):
        compute_schedule(p)
    assert compute_schedule(p, today=date(2026, 5, 4)).project_start == date(2026, 5, 4)


def test_to_dict_is_plain_data() -> None:
    import json

    d = compute_schedule(network(MILWAUKEE)).to_dict()
    json.dumps(d)
    assert d["critical_path"] == ["A", "C", "E", "G", "H"]
    assert d["tasks"][0]["early_start"] == "2026-01-05"


# ------------------------------------------------------------------------------------------------ cross-check
def _reference(durs: list[int], edges: list[tuple[int, int, str, int]]) -> tuple[list[int], list[int], int]:
    """Early and late starts by naive relaxation to a fixpoint (no topological order, no tricks); links that
    leave the predecessor's start (SS, SF) do not limit its late start (the Microsoft Project convention)."""
    n = len(durs)

    def weight(u: int, v: int, typ: str, lag: int) -> int:
        return (durs[u] if typ[0] == "F" else 0) + lag - (durs[v] if typ[1] == "F" else 0)

    es = [0] * n
    changed = True
    while changed:
        changed = False
        for u, v, typ, lag in edges:
            x = es[u] + weight(u, v, typ, lag)
            if x > es[v]:
                es[v] = x
                changed = True
    pf = max(es[i] + durs[i] for i in range(n))
    ls = [pf - durs[i] for i in range(n)]
    changed = True
    while changed:
        changed = False
        for u, v, typ, lag in edges:
            if typ[0] == "S":
                continue
            x = ls[v] - weight(u, v, typ, lag)
            if x < ls[u]:
                ls[u] = x
                changed = True
    return es, ls, pf


@pytest.mark.parametrize("seed", range(12))
def test_matches_a_naive_reference_on_random_networks(seed: int) -> None:
    import random

    rnd = random.Random(seed)
    n = rnd.randint(5, 40)
    durs = [rnd.choice([0, 1, 2, 3, 5, 8]) for _ in range(n)]
    edges = []
    seen = set()
    for _ in range(rnd.randint(n, 3 * n)):
        u, v = sorted(rnd.sample(range(n), 2))
        if (u, v) in seen:
            continue
        seen.add((u, v))
        edges.append((u, v, rnd.choice(["FS", "SS", "FF", "SF"]), rnd.choice([0, 0, 1, 2, -1, -3])))
    tasks = [Task(id=f"A{i}", name=str(i), duration_days=durs[i]) for i in range(n)]
    links = [TaskLink(f"A{u}", f"A{v}", typ, lag) for u, v, typ, lag in edges]  # type: ignore[arg-type]
    s = compute_schedule(project(tasks, links))
    es, ls, pf = _reference(durs, edges)
    assert s.finish_index == pf
    for i in range(n):
        assert s.early_start_index(f"A{i}") == es[i], i
        assert s.total_slack(f"A{i}") == ls[i] - es[i], i
        gaps = [
            es[v] - es[u] - ((durs[u] if t[0] == "F" else 0) + lag - (durs[v] if t[1] == "F" else 0))
            for u, v, t, lag in edges
            if u == i
        ]
        free = min(gaps) if gaps else pf - es[i] - durs[i]
        assert s.timing(f"A{i}").free_slack == max(0, min(free, ls[i] - es[i])), i

"""iCalendar export (RFC 5545), parsed back line by line."""

from __future__ import annotations

from datetime import date, datetime, timezone

from lifecycle.domain.model import Deliverable, Milestone, Task, Training, replace
from lifecycle.services.analytics import export_ical
from tests.factory import small_project


def _project() -> object:
    p = small_project("HZ-MES")
    long_name = "验收里程碑：系统上线, 数据迁移; 以及培训（第一阶段）" * 3
    return replace(
        p,
        version=7,
        milestones=(
            *p.milestones,
            Milestone(
                id="M2",
                name=long_name,
                date=date(2026, 2, 20),
                kind="payment",
                status="done",
                completed_on=date(2026, 2, 19),
            ),
        ),
        deliverables=tuple(replace(d, due=date(2026, 2, 27)) if d.id == "D2" else d for d in p.deliverables),
        tasks=(
            *p.tasks,
            Task(
                id="T9",
                name="Design review",
                milestone=True,
                duration_days=0,
                start=date(2026, 1, 16),
                finish=date(2026, 1, 16),
            ),
        ),
        training=(Training(id="TR1", topic="Operators, shift A", date=date(2026, 3, 20), hours=4),),
    )


def _unfold(text: str) -> list[str]:
    assert text.endswith("\r\n")
    physical = text.split("\r\n")[:-1]
    for ln in physical:
        assert "\n" not in ln and "\r" not in ln
        assert len(ln.encode("utf-8")) <= 75, ln
    out: list[str] = []
    for ln in physical:
        if ln.startswith(" "):
            out[-1] += ln[1:]
        else:
            out.append(ln)
    return out


def _unescape(v: str) -> str:
    return v.replace("\\n", "\n").replace("\\,", ",").replace("\\;", ";").replace("\\\\", "\\")


def _events(lines: list[str]) -> list[dict[str, str]]:
    events: list[dict[str, str]] = []
    stack: list[str] = []
    cur: dict[str, str] | None = None
    for ln in lines:
        name, _, value = ln.partition(":")
        if name == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                cur = {}
        elif name == "END":
            assert stack.pop() == value
            if value == "VEVENT":
                assert cur is not None
                events.append(cur)
                cur = None
        elif cur is not None:
            cur[name] = value
    assert not stack
    return events


def test_calendar_parses_back() -> None:
    p = _project()
    text = export_ical(p, now=datetime(2026, 1, 10, 8, 30, tzinfo=timezone.utc))  # type: ignore[arg-type]
    lines = _unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(ln.startswith("PRODID:") for ln in lines)
    events = _events(lines)
    by_uid = {e["UID"]: e for e in events}
    assert len(by_uid) == len(events)  # unique
    assert set(by_uid) == {
        f"HZ-MES-{k}@pmo-lifecycle"
        for k in ("start", "finish", "milestone-M1", "milestone-M2", "task-T9", "deliverable-D2", "training-TR1")
    }
    m2 = by_uid["HZ-MES-milestone-M2@pmo-lifecycle"]
    assert m2["DTSTART;VALUE=DATE"] == "20260220" and m2["DTEND;VALUE=DATE"] == "20260221"
    assert _unescape(m2["SUMMARY"]) == "[HZ-MES] " + "验收里程碑：系统上线, 数据迁移; 以及培训（第一阶段）" * 3
    assert "\\," in m2["SUMMARY"] and "\\;" in m2["SUMMARY"]
    assert _unescape(m2["DESCRIPTION"]).splitlines()[:2] == ["Kind: payment", "Status: done"]
    assert m2["SEQUENCE"] == "7" and m2["DTSTAMP"] == "20260110T083000Z"
    assert by_uid["HZ-MES-task-T9@pmo-lifecycle"]["DTSTART;VALUE=DATE"] == "20260116"
    assert _unescape(by_uid["HZ-MES-training-TR1@pmo-lifecycle"]["SUMMARY"]) == "[HZ-MES] Training: Operators, shift A"
    starts = [e["DTSTART;VALUE=DATE"] for e in events]
    assert starts == sorted(starts)


def test_uids_are_stable_between_exports() -> None:
    p = _project()
    a = _events(_unfold(export_ical(p, now=datetime(2026, 1, 1, tzinfo=timezone.utc))))  # type: ignore[arg-type]
    b = _events(_unfold(export_ical(p, now=datetime(2026, 6, 1, tzinfo=timezone.utc))))  # type: ignore[arg-type]
    assert [e["UID"] for e in a] == [e["UID"] for e in b]
    assert a[0]["DTSTAMP"] != b[0]["DTSTAMP"]


def test_folding_never_splits_a_character() -> None:
    p = replace(small_project(), milestones=(Milestone(id="M1", name="中" * 100, date=date(2026, 3, 1)),))
    text = export_ical(p)
    for raw in text.encode("utf-8").split(b"\r\n"):
        raw.decode("utf-8")  # every physical line is valid UTF-8 on its own
    events = {e["UID"]: e for e in _events(_unfold(text))}
    assert _unescape(events["DEMO-1-milestone-M1@pmo-lifecycle"]["SUMMARY"]) == "[DEMO-1] " + "中" * 100


def test_deliverable_without_due_date_and_empty_plan() -> None:
    p = replace(small_project(), deliverables=(Deliverable(id="D1", name="x"),), milestones=(), tasks=())
    events = _events(_unfold(export_ical(p)))
    assert {e["UID"].split("@")[0] for e in events} == {"DEMO-1-start", "DEMO-1-finish"}

"""Fixtures of the flow tests: a real SMTP server and webhook receiver on loopback, a test rule pack,
workspaces with a sample project, and one Prefect home per test process.

The SMTP server is aiosmtpd on 127.0.0.1 (a free port); ``inbox.refuse = n`` makes it answer the next
``n`` messages with a temporary failure (451), to test retries; ``inbox.reject = n`` with a permanent
one (550). The webhook receiver is a
``http.server`` on 127.0.0.1 that records each JSON body; ``hooks.fail = n`` answers the next ``n``
with 503; ``hooks.hold = True`` keeps each request waiting until ``hooks.release`` is set (a run stuck
mid-step; ``hooks.hold_match = TEXT`` only the first request whose body contains TEXT). Both are
stopped when the test ends, even when it fails.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from lifecycle.domain.model import (
    AcceptanceCriterion,
    Contact,
    Person,
    Project,
    Requirement,
    replace,
)
from tests.factory import small_project

ROOT = Path(__file__).resolve().parents[2]

QUALITY = {
    "standards": [
        {
            "id": "QS-FILE",
            "title": {"zh": "交付文件完整", "en": "Delivered file intact"},
            "kind": "file_sha256",
            "applies_to": "d.file != ''",
            "message": {"zh": "文件缺失或校验值不符。", "en": "The file is missing or its checksum differs."},
        },
        {
            "id": "QS-REQ",
            "title": {"zh": "需求已验证", "en": "Requirements verified"},
            "kind": "requirements_verified",
            "params": {"priorities": ["must"]},
        },
        {
            "id": "QS-DEF",
            "title": {"zh": "缺陷达标", "en": "Defects within threshold"},
            "kind": "defect_threshold",
            "params": {"max_open_defects": 0, "max_failed_tests": 0, "min_tests_passed": 1},
        },
        {
            "id": "QS-AC",
            "title": {"zh": "有验收标准", "en": "Has acceptance criteria"},
            "kind": "cel",
            "check": "size(d.acceptance_criteria) > 0 && d.acceptance_criteria.all(c, c.method != '')",
        },
        {
            "id": "QS-DUE",
            "title": {"zh": "有截止日期", "en": "Has a due date"},
            "kind": "cel",
            "severity": "warning",
            "check": "d.due != null",
        },
    ]
}

GATES = {
    "gates": {
        "control_to_closure": {
            "title": {"zh": "进入收尾", "en": "Start closure"},
            "rules": [
                {
                    "id": "T-LESSONS",
                    "title": {"zh": "已记录经验教训", "en": "Lessons are recorded"},
                    "check": "size(lessons) > 0",
                    "message": {"zh": "没有记录经验教训。", "en": "No lessons learned are recorded."},
                }
            ],
        }
    }
}


# ------------------------------------------------------------------ SMTP
@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)


@dataclass
class Inbox:
    host: str = "127.0.0.1"
    port: int = 0
    messages: list[Received] = field(default_factory=list)
    refuse: int = 0
    refused: int = 0
    reject: int = 0  # the next n messages are refused for good (550)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reject > 0:
            self.reject -= 1
            self.refused += 1
            return "550 5.7.1 Message rejected"
        if self.refuse > 0:
            self.refuse -= 1
            self.refused += 1
            return "451 4.3.0 Mailbox busy, try again later"
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"

    def settings(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port, "from": "PMO Office <pmo@supplier.example>", "timeout": 10}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def poll_until(check: Any, timeout: float, poll: float) -> tuple[bool, Any]:
    """Call ``check`` every ``poll`` seconds until it returns a true value (an exception counts as "not
    yet"): ``(True, value)``, or ``(False, the last value or exception)`` when ``timeout`` passed."""
    import time

    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # not up yet
            last = exc
        if last and not isinstance(last, Exception):
            return True, last
        time.sleep(poll)
    return False, last


@contextmanager
def pmo_serve(env: dict[str, str], port: int, log: Path, cwd: Path) -> Iterator[Any]:
    """`pmo serve --port PORT` as a process of its own session (output in ``log``) until the block ends,
    then stopped as a user does (Ctrl-C), killed only if it does not stop within 90 s."""
    import os
    import signal
    import subprocess
    import sys

    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lifecycle.cli.main", "serve", "--port", str(port)],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(90)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


@contextmanager
def smtp_server(box: Inbox) -> Iterator[Inbox]:
    """``box`` (an Inbox or a subclass) served by aiosmtpd on a free loopback port until the block ends."""
    from aiosmtpd.controller import Controller

    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server(Inbox()) as box:
        yield box


# ------------------------------------------------------------------ webhook receiver
@dataclass
class Hooks:
    url: str = ""
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    fail: int = 0
    hold: bool = False  # keep each request waiting until ``release`` is set (a run stuck mid-step)
    hold_match: str = ""  # hold only the first request whose body contains this text
    held: int = 0
    release: threading.Event = field(default_factory=threading.Event)


@contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threaded HTTP server on loopback running ``handler``; yields its base URL, stops it after."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    box = Hooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if box.hold or (box.hold_match and box.hold_match.encode() in body):
                box.hold_match = ""  # the sender is stuck here until released (or killed): nothing recorded
                box.held += 1
                box.release.wait(60)
                return
            if box.fail > 0:
                box.fail -= 1
                self.send_response(503)
                self.end_headers()
                self.wfile.write(b"busy")
                return
            box.bodies.append(json.loads(body.decode("utf-8")))
            box.headers.append(dict(self.headers))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    box.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/pmo"
    try:
        yield box
    finally:
        box.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


# ------------------------------------------------------------------ rule pack, project, workspace
@pytest.fixture(scope="session")
def test_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default lifecycle, one test gate rule (control → closure) and the test quality standards."""
    folder = tmp_path_factory.mktemp("pack") / "pack"
    (folder / "gates").mkdir(parents=True)
    (folder / "quality").mkdir()
    shutil.copy(ROOT / "rules" / "default" / "lifecycle.yaml", folder / "lifecycle.yaml")
    (folder / "quality" / "standards.yaml").write_text(yaml.safe_dump(QUALITY, allow_unicode=True), encoding="utf-8")
    (folder / "gates" / "closure.yaml").write_text(yaml.safe_dump(GATES, allow_unicode=True), encoding="utf-8")
    return folder


def sample_project(files: Path, code: str = "DEMO-1", phase: str = "execution", locale: str = "en") -> Project:
    """small_project with e-mail addresses, steering members, delivered files, requirements and tests."""
    p = small_project(code, phase)
    files.mkdir(parents=True, exist_ok=True)
    design = files / "design.pdf"
    design.write_bytes(b"%PDF-1.4 design document v3\n")
    app = files / "scanning-app.zip"
    app.write_bytes(b"PK scanning app build 1.2.0\n")
    sha = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in (design, app)}
    ac = (AcceptanceCriterion(id="AC1", text="Reviewed by the client", method="review"),)
    d1, d2 = p.deliverables
    return replace(
        p,
        charter=replace(p.charter, locale=locale, steering=("c-spon", "p-pm")),
        contacts=(
            Contact(
                id="c-spon",
                name="Dana Sponsor",
                organisation="Northwind Ltd",
                role="sponsor",
                email="dana@northwind.example",
            ),
            Contact(
                id="c-rep",
                name="Rob Rep",
                organisation="Northwind Ltd",
                role="client_representative",
                email="rob@northwind.example",
            ),
        ),
        people=(
            Person(id="p-pm", name="Pat Manager", role="project manager", email="pat@supplier.example"),
            Person(id="p-dev", name="Dev One", role="developer", email="dev@supplier.example"),
        ),
        deliverables=(
            replace(
                d1,
                file=str(design),
                sha256=sha["design.pdf"],
                status="submitted",
                due=date(2026, 1, 16),
                tests_passed=3,
                acceptance_criteria=ac,
            ),
            replace(
                d2,
                file=str(app),
                sha256=sha["scanning-app.zip"],
                status="submitted",
                due=date(2026, 2, 27),
                tests_passed=40,
                acceptance_criteria=(AcceptanceCriterion(id="AC2", text="UAT passed", method="test"),),
            ),
        ),
        requirements=(
            Requirement(id="RQ1", title="Scan a pallet in under 2 s", deliverable="D2", status="verified"),
            Requirement(id="RQ2", title="Design reviewed", deliverable="D1", status="verified"),
        ),
    )


@pytest.fixture
def make_workspace(tmp_path: Path, test_pack: Path) -> Any:
    """A function making a workspace folder with settings and the sample project in SQLite."""

    def make(
        *,
        smtp: dict[str, Any] | None = None,
        webhook: dict[str, Any] | None = None,
        project: Project | None = None,
        root: Path | None = None,
    ) -> Path:
        from lifecycle.storage.sql import SqlStore

        ws = root or tmp_path / ".pmo"
        ws.mkdir(parents=True, exist_ok=True)
        settings: dict[str, Any] = {
            "rules": str(test_pack),
            "actor": "flow-test",
            "supplier": {"name": "Acme Delivery"},
            "deliverables_dir": str(tmp_path / "files"),  # the documents root: sample_project's files
        }
        if smtp:
            settings["smtp"] = smtp
        if webhook:
            settings["webhook"] = {"allow_local": True, **webhook}  # every test receiver is on loopback
        (ws / "settings.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
        store = SqlStore.open(f"sqlite:///{ws / 'pmo.db'}", create=True)
        try:
            store.save(project or sample_project(tmp_path / "files"), expected_version=None)
        finally:
            store.close()
        return ws

    return make


def open_ctx(ws: Path) -> Any:
    from lifecycle.services.context import open_context, open_workspace

    return open_context(open_workspace(str(ws)))


@pytest.fixture(scope="session")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Prefect home per test process: the embedded API's database is created once."""
    return tmp_path_factory.mktemp("prefect-home")


def today_env(monkeypatch: pytest.MonkeyPatch, day: str = "2026-03-30") -> None:
    monkeypatch.setenv("PMO_TODAY", day)
    monkeypatch.setenv("PMO_NOW", f"{day}T09:00:00+00:00")

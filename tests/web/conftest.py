"""Fixtures of the web tests: a real SQLite workspace with a sample project and users, the real app.

``site`` is a workspace (``pmo init``) with the English sample applied, one user per person the
tests act as (linked to the project by e-mail, like any user), a PMO admin, and a second project
whose client must not see the first. ``client`` is Starlette's TestClient on ``create_app``; sign-in
goes through the real login form, CSRF token and session cookie included.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.conftest import EXAMPLES
from tests.flows.conftest import Inbox, free_port

PASSWORD = "correct horse battery"

USERS = {
    "admin": ("admin@pmo.example.com", "PMO Admin", ("pmo_admin",), "en"),
    "pm": ("olivia.grant@brightwater.example.com", "Olivia Grant", (), "en"),
    "sponsor": ("richard.ashworth@northbridge.example.com", "Richard Ashworth", (), "en"),
    "client": ("priya.nair@northbridge.example.com", "Priya Nair", (), "en"),
    "steering": ("james.whitfield@brightwater.example.com", "James Whitfield", (), "zh-CN"),
    "outsider": ("someone@elsewhere.example.com", "Some One", (), "en"),
    "other_client": ("buyer@other.example.com", "Other Buyer", (), "en"),
}
CODE = "NHP-PORTAL-2026"
OTHER = "OTHER-2026"


@dataclass
class Site:
    root: Path
    ws: Path
    emails: dict[str, str] = field(default_factory=dict)

    def ctx(self, as_user: str | None = None):  # type: ignore[no-untyped-def]
        from lifecycle.services import identity
        from lifecycle.services.context import Context, open_context, open_workspace

        c = open_context(open_workspace(str(self.ws)))
        if as_user:
            p = identity.principal_from_env(c, self.emails[as_user])
            return Context(c.workspace, c.store, principal=p)
        return c


def _other_project(folder: Path) -> Path:
    """A second, small project whose client is ``other_client``."""
    import yaml

    data = yaml.safe_load((EXAMPLES / "en-clinic-portal.yaml").read_text(encoding="utf-8"))
    data["project"]["code"] = OTHER
    data["project"]["name"] = "Other client's project"
    for c in data.get("contacts", []):
        if c["id"] == "priya_nair":
            c["email"] = USERS["other_client"][0]
        elif c.get("email", "").endswith("northbridge.example.com"):
            c["email"] = c["email"].replace("northbridge", "other")
    path = folder / "other.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def make_site(tmp: Path, monkeypatch: pytest.MonkeyPatch, *, other: bool = True) -> Site:
    from click.testing import CliRunner

    from lifecycle.cli.main import cli
    from lifecycle.services import identity
    from lifecycle.services.projects import apply_files

    ws = tmp / ".pmo"
    monkeypatch.setenv("PMO_WORKSPACE", str(ws))
    for var in ("PMO_DATABASE_URL", "PMO_USER", "PMO_ACTOR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PMO_TODAY", "2026-08-28")
    monkeypatch.setenv("PMO_NOW", "2026-08-28T09:00:00+00:00")
    res = CliRunner().invoke(cli, ["init"])
    assert res.exit_code == 0, res.output
    site = Site(tmp, ws, {k: v[0] for k, v in USERS.items()})
    c = site.ctx()
    try:
        files = [EXAMPLES / "en-clinic-portal.yaml"] + ([_other_project(tmp)] if other else [])
        apply_files(c, files)
        for email, name, roles, locale in USERS.values():
            identity.create_user(c, email=email, name=name, password=PASSWORD, global_roles=roles, locale=locale)
            if roles:  # once an admin exists, only an admin creates users
                c.principal = identity.principal_from_env(c, email)
    finally:
        c.close()
    return site


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    return make_site(tmp_path, monkeypatch)


@pytest.fixture
def app(site: Site):  # type: ignore[no-untyped-def]
    from lifecycle.services.context import open_workspace
    from lifecycle.web.app import WebSettings, create_app

    return create_app(WebSettings(open_workspace(str(site.ws)), base_url="http://testserver"))


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, follow_redirects=False) as c:
        yield c


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) on a free loopback port; its messages are kept."""
    from aiosmtpd.controller import Controller

    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    try:
        yield box
    finally:
        controller.stop()


CSRF_RE = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "the page has no CSRF field"
    return m.group(1)


def login(client: TestClient, who: str, password: str = PASSWORD) -> None:
    page = client.get("/login")
    res = client.post(
        "/login", data={"email": USERS[who][0], "password": password, "csrf": csrf_of(page.text), "next": "/portfolio"}
    )
    assert res.status_code == 303, res.text

"""`pmo init`'s secret, `pmo user ...`, `pmo login/logout/whoami` through the CLI."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from lifecycle.cli.main import cli
from lifecycle.domain import policy


def run(*args: str, code: int = 0, stdin: str | None = None) -> object:
    res = CliRunner().invoke(cli, list(args), input=stdin)
    assert res.exit_code == code, res.output + (repr(res.exception) if res.exception else "")
    return res


def test_init_makes_a_private_secret_once(workspace: Path):
    key = workspace / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_text().strip()) == 64
    before = key.read_text()
    run("init")
    assert key.read_text() == before


def test_first_admin_then_only_admins_manage_users(workspace: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PMO_USER", raising=False)
    run("user", "add", "boss@pmo.example", "--name", "Boss", "--role", "pmo_admin", "--password-stdin",
        stdin="a long passphrase\na long passphrase\n")  # fmt: skip
    res = run("user", "add", "x@pmo.example", "--name", "X", "--no-password", code=1)
    assert "nobody is signed in" in res.output
    run("login", "boss@pmo.example", "--password-stdin", stdin="a long passphrase\n")
    assert stat.S_IMODE((workspace / "session.token").stat().st_mode) == 0o600
    run("user", "add", "pat@us.example", "--name", "Pat", "--locale", "zh-CN", "--no-password")
    rows = json.loads(run("user", "list", "--json").output)
    assert [(r["email"], r["global_roles"], r["has_password"]) for r in rows] == [
        ("boss@pmo.example", ["pmo_admin"], True),
        ("pat@us.example", [], False),
    ]
    assert "already exists" in run("user", "add", "PAT@us.example", "--name", "P2", "--no-password", code=2).output
    monkeypatch.setenv("PMO_USER", "pat@us.example")  # PMO_USER wins over the stored token
    assert "pat@us.example" in run("whoami").output and "via env" in run("whoami").output
    assert "may not manage users" in run("user", "disable", "boss@pmo.example", code=1).output
    monkeypatch.delenv("PMO_USER")
    run("user", "disable", "pat@us.example")
    monkeypatch.setenv("PMO_USER", "pat@us.example")
    assert "not an active user" in run("whoami").output
    monkeypatch.delenv("PMO_USER")
    run("logout")
    assert not (workspace / "session.token").exists()
    res = run("login", "boss@pmo.example", "--password-stdin", stdin="wrong one\n", code=1)
    assert "sign-in failed" in res.output


def test_permissions_table_is_printed(workspace: Path):
    out = run("user", "permissions").output
    for action, roles in policy.permission_rows():
        assert f"{action:<20} {', '.join(roles)}" in out
    assert json.loads(run("user", "permissions", "--json").output)["approve_gate"] == ["holder of the gate role"]


def test_the_readme_shows_the_permission_table_as_the_code_has_it():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    rows = readme.split("| action | roles |\n|---|---|\n", 1)[1].split("\n\n", 1)[0].splitlines()
    table = [tuple(cell.strip() for cell in row.strip("|").split("|")) for row in rows]
    assert table == [(a, ", ".join(r)) for a, r in policy.permission_rows()]

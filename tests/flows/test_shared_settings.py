"""``pmo settings push|show`` and what a worker does with the pushed settings (no Prefect here; the
flows using them run in test_flows_embedded and test_prefect_server)."""

from __future__ import annotations

import sqlite3

import yaml
from click.testing import CliRunner

from lifecycle.cli.main import cli
from lifecycle.services import identity, shared_settings
from tests.flows.conftest import open_ctx


def _invoke(ws, *args):
    return CliRunner().invoke(cli, ["--workspace", str(ws), "settings", *args])


def _set(ws, **values):
    settings = yaml.safe_load((ws / "settings.yaml").read_text(encoding="utf-8"))
    settings.update(values)
    (ws / "settings.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")


def test_a_password_in_clear_is_refused_and_nothing_is_pushed(make_workspace, inbox):
    ws = make_workspace(smtp={**inbox.settings(), "password": "hunter2"}, webhook={"url": "http://127.0.0.1:9/h"})
    settings = yaml.safe_load((ws / "settings.yaml").read_text(encoding="utf-8"))
    settings["webhook"]["headers"] = {"Authorization": "Bearer abc", "X-Team": "pmo"}
    (ws / "settings.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    res = _invoke(ws, "push")
    assert res.exit_code == 2, res.output
    assert "nothing was pushed" in res.output and "smtp.password is a secret written in clear" in res.output
    assert "smtp.password_env" in res.output and "webhook.headers.Authorization" in res.output
    assert "hunter2" not in res.output and "Bearer abc" not in res.output
    with open_ctx(ws) as ctx:
        assert ctx.store.shared_settings() is None


def test_push_stores_references_and_a_worker_fills_only_what_it_lacks(make_workspace, inbox, tmp_path):
    ws = make_workspace(smtp={**inbox.settings(), "password_env": "PMO_SMTP_PASSWORD"})
    _set(ws, base_url="https://pmo.example", signing={"pkcs12": "keys/seal.p12", "passphrase_env": "PMO_SEAL"})
    res = _invoke(ws, "push", "--json")
    assert res.exit_code == 0, res.output
    pushed = yaml.safe_load(res.output)
    assert pushed["actor"] == "flow-test" and pushed["seq"] == 1
    values = pushed["settings"]
    assert values["smtp"]["password_env"] == "PMO_SMTP_PASSWORD" and "password" not in values["smtp"]
    assert values["signing"]["pkcs12"] == str((ws / "keys" / "seal.p12").resolve())  # found at the same place
    assert values["documents_dir"] == str((ws / "documents").resolve())
    assert values["base_url"] == "https://pmo.example"

    other = make_workspace(smtp={"host": "relay.worker.example", "port": 25}, root=tmp_path / "other")
    with open_ctx(other) as ctx:
        ctx.store.close()
        ctx.store = open_ctx(ws).store  # the shared database, as PMO_DATABASE_URL gives it
        filled = shared_settings.apply(ctx)
        assert filled == ["signing", "base_url", "documents_dir"]  # its own SMTP and supplier win
        assert ctx.workspace.settings.smtp["host"] == "relay.worker.example"
        assert ctx.workspace.documents_dir == (ws / "documents").resolve()


def test_only_an_admin_pushes_once_admins_exist_and_show_names_an_edited_push(make_workspace, inbox, monkeypatch):
    ws = make_workspace(smtp=inbox.settings())
    assert _invoke(ws, "push").exit_code == 0
    with open_ctx(ws) as ctx:
        identity.create_user(ctx, email="dev@supplier.example", name="Dev One")
        identity.create_user(ctx, email="ann@supplier.example", name="Ann Admin", global_roles=["pmo_admin"])
    monkeypatch.setenv("PMO_USER", "dev@supplier.example")
    refused = _invoke(ws, "push")
    assert refused.exit_code == 1 and "may not change settings" in refused.output
    monkeypatch.setenv("PMO_USER", "ann@supplier.example")
    assert _invoke(ws, "push").exit_code == 0
    shown = _invoke(ws, "show")
    assert shown.exit_code == 0 and "push 1" in shown.output and "push 2" in shown.output
    assert "ann@supplier.example: smtp" in shown.output

    with sqlite3.connect(ws / "pmo.db") as db:  # someone with write access to the database edits a push
        db.execute("""UPDATE shared_settings SET data = '{"smtp": {"host": "evil.example"}}' WHERE seq = 2""")
    tampered = _invoke(ws, "show")
    assert tampered.exit_code == 1 and "settings push 2 was changed after it was recorded" in tampered.output

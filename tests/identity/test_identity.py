"""Users, password sign-in without enumeration, rate limiting, sessions, API tokens, PMO_USER, OIDC claims."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from lifecycle.domain import policy
from lifecycle.errors import AuthFailed, Forbidden, InvalidInput, RateLimited
from lifecycle.services import identity
from lifecycle.services.context import Context, read_runtime
from lifecycle.storage.memory import MemoryStore
from lifecycle.workspace import Settings, Workspace

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["memory", "sqlite"])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Context:
    if request.param == "memory":
        store: object = MemoryStore()
    else:
        from lifecycle.storage.sql import SqlStore

        store = SqlStore.open(f"sqlite:///{tmp_path / 'pmo.db'}", create=True)
    c = Context(Workspace(tmp_path, Settings()), store, clock=Clock())  # type: ignore[arg-type]
    yield c
    c.close()


def _admin(ctx: Context) -> policy.Principal:
    identity.create_user(
        ctx, email="Admin@PMO.example", name="Ada Admin", password=PASSWORD, global_roles=["pmo_admin"]
    )
    return identity.login_password(ctx, "admin@pmo.example", PASSWORD)


def test_create_user_and_sign_in(ctx):
    admin = _admin(ctx)
    assert admin.auth_method == "password" and admin.global_roles == {"pmo_admin"}
    ctx.principal = admin
    u = identity.create_user(ctx, email="pat@us.example", name="Pat", password=PASSWORD, locale="zh-CN")
    assert u.email == "pat@us.example" and u.has_password and u.locale == "zh-CN"
    p = identity.login_password(ctx, "PAT@us.example ", PASSWORD)
    assert p.user_id == u.id and p.locale == "zh-CN" and p.global_roles == frozenset()
    stored = ctx.store.find_user("pat@us.example")
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash


def test_bad_input_is_refused(ctx):
    with pytest.raises(InvalidInput, match="e-mail"):
        identity.create_user(ctx, email="not-an-address", name="X")
    with pytest.raises(InvalidInput, match="at least"):
        identity.create_user(ctx, email="x@y.example", name="X", password="short")
    with pytest.raises(InvalidInput, match="unknown global role"):
        identity.create_user(ctx, email="x@y.example", name="X", global_roles=["root"])
    identity.create_user(ctx, email="x@y.example", name="X")
    with pytest.raises(InvalidInput, match="already exists"):
        identity.create_user(ctx, email="X@Y.example", name="X again")


def test_once_an_admin_exists_only_admins_manage_users(ctx):
    admin = _admin(ctx)
    with pytest.raises(Forbidden, match="nobody is signed in"):
        identity.create_user(ctx, email="a@b.example", name="A")
    ctx.principal = identity.principal_for(ctx.store.find_user("admin@pmo.example"), "password")
    identity.create_user(ctx, email="pat@us.example", name="Pat", password=PASSWORD)
    ctx.principal = identity.login_password(ctx, "pat@us.example", PASSWORD)
    with pytest.raises(Forbidden, match=r"pat@us\.example.* may not manage users"):
        identity.disable_user(ctx, "admin@pmo.example")
    with pytest.raises(Forbidden):
        identity.list_users(ctx)
    identity.set_password(ctx, "pat@us.example", "another long password")  # one's own password: allowed
    assert identity.login_password(ctx, "pat@us.example", "another long password").email == "pat@us.example"
    ctx.principal = admin
    assert [u.email for u in identity.list_users(ctx)] == ["admin@pmo.example", "pat@us.example"]


def test_one_error_for_unknown_user_wrong_password_and_disabled_user(ctx):
    admin = _admin(ctx)
    ctx.principal = admin
    identity.create_user(ctx, email="gone@us.example", name="Gone", password=PASSWORD)
    identity.create_user(ctx, email="nopw@us.example", name="No password")
    identity.disable_user(ctx, "gone@us.example")
    messages = set()
    for email, pw in [
        ("nobody@us.example", PASSWORD),
        ("admin@pmo.example", "wrong password!!"),
        ("gone@us.example", PASSWORD),
        ("nopw@us.example", ""),
    ]:
        with pytest.raises(AuthFailed) as exc:
            identity.login_password(ctx, email, pw)
        messages.add(str(exc.value))
    assert messages == {identity.AUTH_FAILED}


def test_unknown_user_costs_the_same_argon2_work_as_a_wrong_password(ctx, monkeypatch):
    """Both answers run one full argon2 verification (against the user's hash, or a dummy hash of the
    same parameters), so the time does not tell which e-mails have accounts. Counted, not timed:
    timings on a shared machine prove nothing."""
    _admin(ctx)
    seen: list[str] = []
    real = identity._hasher

    class Counting:
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def verify(self, hashed: str, password: str) -> bool:
            seen.append(hashed.split("$", 4)[3])  # the argon2 parameters: m=…,t=…,p=…
            return bool(real.verify(hashed, password))

    monkeypatch.setattr(identity, "_hasher", Counting())
    with pytest.raises(AuthFailed):
        identity.login_password(ctx, "nobody@us.example", "x" * 12, client_ip="a")
    with pytest.raises(AuthFailed):
        identity.login_password(ctx, "admin@pmo.example", "y" * 12, client_ip="b")
    assert len(seen) == 2 and seen[0] == seen[1], seen


def test_five_failures_in_fifteen_minutes_rate_limit_email_and_address(ctx):
    _admin(ctx)
    for _ in range(identity.MAX_FAILURES):
        with pytest.raises(AuthFailed):
            identity.login_password(ctx, "admin@pmo.example", "wrong password!!", client_ip="10.0.0.9")
    with pytest.raises(RateLimited) as exc:
        identity.login_password(ctx, "admin@pmo.example", PASSWORD, client_ip="10.0.0.7")  # right password too
    assert 0 < exc.value.retry_after <= 15 * 60
    with pytest.raises(RateLimited):  # the address is limited for other e-mails as well
        identity.login_password(ctx, "other@us.example", PASSWORD, client_ip="10.0.0.9")
    ctx.clock.now = T0 + timedelta(minutes=16)
    assert identity.login_password(ctx, "admin@pmo.example", PASSWORD, client_ip="10.0.0.7").email


def test_sessions_expire_end_and_die_with_a_disabled_user(ctx):
    admin = _admin(ctx)
    tok = identity.start_session(ctx, admin)
    assert len(tok.token) >= 43 and tok.expires == T0 + identity.SESSION_TTL
    assert ctx.store.get_credential("session", tok.token) is None  # only the hash is stored
    again = identity.principal_from_session(ctx, tok.token)
    assert again == admin
    assert identity.principal_from_session(ctx, tok.token[:-1] + ("A" if tok.token[-1] != "A" else "B")) is None
    identity.end_session(ctx, tok.token)
    assert identity.principal_from_session(ctx, tok.token) is None
    tok2 = identity.start_session(ctx, admin)
    ctx.clock.now = T0 + identity.SESSION_TTL
    assert identity.principal_from_session(ctx, tok2.token) is None
    assert ctx.store.get_credential("session", identity.token_hash(tok2.token)) is None
    ctx.clock.now = T0
    tok3 = identity.start_session(ctx, admin)
    ctx.principal = admin
    identity.create_user(ctx, email="b@us.example", name="B", global_roles=["pmo_admin"])
    identity.disable_user(ctx, "admin@pmo.example")
    assert identity.principal_from_session(ctx, tok3.token) is None


def test_api_token_file_is_private_and_pmo_user_acts(ctx, monkeypatch):
    _admin(ctx)
    principal, path = identity.login_cli(ctx, "admin@pmo.example", PASSWORD)
    assert principal.auth_method == "token"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    def as_env(user: str | None) -> None:
        # the environment is read once into the workspace's runtime, as a new command would
        if user is None:
            monkeypatch.delenv("PMO_USER", raising=False)
        else:
            monkeypatch.setenv("PMO_USER", user)
        ctx.workspace = replace(ctx.workspace, runtime=read_runtime())

    as_env(None)
    assert identity.principal_from_workspace(ctx)[0].auth_method == "token"
    as_env("ADMIN@pmo.example")
    p, problem = identity.principal_from_workspace(ctx)
    assert p.auth_method == "env" and p.email == "admin@pmo.example" and problem == ""
    as_env("stranger@x.example")
    p, problem = identity.principal_from_workspace(ctx)
    assert p is None and "not an active user" in problem
    as_env(None)
    assert identity.logout_cli(ctx) and not path.exists()
    assert identity.principal_from_workspace(ctx) == (None, "")


def test_oidc_claims_sign_in_existing_verified_users_only(ctx):
    _admin(ctx)
    p = identity.login_oidc(ctx, {"email": "Admin@pmo.example", "email_verified": True, "sub": "x"})
    assert p.auth_method == "oidc"
    with pytest.raises(AuthFailed, match="verified"):
        identity.login_oidc(ctx, {"email": "admin@pmo.example", "email_verified": False})
    with pytest.raises(AuthFailed):
        identity.login_oidc(ctx, {"email": "new@pmo.example", "email_verified": True})

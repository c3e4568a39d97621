"""Identity use cases: users, password sign-in, sessions, API tokens and who acts in the CLI.

Passwords are hashed with argon2id (``argon2-cffi``); only hashes are stored. A sign-in answers one
and the same :class:`~lifecycle.errors.AuthFailed` for an unknown e-mail, a wrong password, a user
without a password and a disabled user, and it spends the same argon2 work in each case (an unknown
user is verified against a dummy hash), so neither the message nor the time tells which e-mails
exist. Failures are counted per e-mail and per client address: ``MAX_FAILURES`` within
``FAILURE_WINDOW`` refuse further attempts with :class:`~lifecycle.errors.RateLimited` (carrying the
seconds to wait), before any password is checked; a success clears the e-mail's count.

Sessions (the web) and API tokens (``pmo login``) are 32 random bytes given to the holder once; the
store keeps only their sha256, looked up by hash and compared with :func:`hmac.compare_digest`. An
expired credential is deleted when presented; a disabled user's credentials stop working at once.

In embedded mode the workspace owner acts as ``PMO_USER=<email>`` (auth method ``env``); otherwise
the CLI presents the API token that ``pmo login`` stored in the workspace (file mode 0600).
:func:`login_oidc` signs in an *existing* user whose e-mail the identity provider asserts as verified:
single sign-on does not create accounts, an administrator does.

Creating and changing users needs ``MANAGE_USERS`` once the workspace has a ``pmo_admin``; before
that, whoever holds the workspace's database (its owner) sets the first users up.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from lifecycle.documents import catalogs
from lifecycle.domain import policy
from lifecycle.domain.limits import MAX_SMALL_FILE_BYTES, name_problem
from lifecycle.domain.policy import Principal
from lifecycle.errors import AuthFailed, ConcurrentUpdate, InvalidInput, NotFound, RateLimited
from lifecycle.load.files import read_regular_text
from lifecycle.services.context import Context
from lifecycle.storage.protocol import Credential, UserRecord
from lifecycle.workspace import Workspace

SESSION_TTL = timedelta(hours=12)
API_TOKEN_TTL = timedelta(days=90)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 10
LOCALES = catalogs.languages()  # every language a catalog ships
TOKEN_FILE = "session.token"

AUTH_FAILED = "sign-in failed: unknown e-mail or wrong password (or the account is disabled)"

_hasher = PasswordHasher()
_dummy: list[str] = []


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A user as services show it (never the password hash)."""

    id: str
    email: str
    name: str
    locale: str
    global_roles: tuple[str, ...]
    disabled: bool
    has_password: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SessionToken:
    """A secret handed to its holder once (cookie or token file) and when it stops working."""

    token: str
    expires: datetime


def _info(u: UserRecord) -> UserInfo:
    return UserInfo(u.id, u.email, u.name, u.locale, u.global_roles, u.disabled, bool(u.password_hash), u.created_at)


def principal_for(user: UserRecord, auth_method: str) -> Principal:
    """The principal acting as ``user``, authenticated by ``auth_method``."""
    return Principal(user.id, user.email, user.name, user.locale, frozenset(user.global_roles), auth_method)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ------------------------------------------------------------------ managing users
def _admins_exist(ctx: Context) -> bool:
    return any(policy.PMO_ADMIN in u.global_roles and not u.disabled for u in ctx.store.list_users())


def _require_manager(ctx: Context) -> None:
    if _admins_exist(ctx):
        policy.require(ctx.principal, policy.MANAGE_USERS)


def _check_email(email: str) -> str:
    e = policy.normalise_email(email)
    local, _, domain = e.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in e):
        raise InvalidInput(f"'{email}' is not an e-mail address")
    return e


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def create_user(
    ctx: Context,
    *,
    email: str,
    name: str,
    password: str | None = None,
    locale: str = "en",
    global_roles: Iterable[str] = (),
) -> UserInfo:
    """Create a user (an e-mail can be registered once; no password: sign-in by token, env or OIDC)."""
    _require_manager(ctx)
    roles = tuple(sorted(set(global_roles)))
    unknown = policy.unknown_global_roles(roles)
    if unknown:
        raise InvalidInput(f"unknown global role(s): {', '.join(unknown)} (known: {', '.join(policy.GLOBAL_ROLES)})")
    if locale not in LOCALES:
        raise InvalidInput(f"locale must be one of {', '.join(LOCALES)}")
    if not name.strip():
        raise InvalidInput("a user needs a name")
    bad_name = name_problem(name)
    if bad_name:
        raise InvalidInput(f"name: {bad_name}")
    e = _check_email(email)
    hashed = _check_password(password) if password else ""
    user = UserRecord("u-" + secrets.token_hex(6), e, name.strip(), locale, hashed, False, roles, ctx.now())
    try:
        ctx.store.add_user(user)
    except ConcurrentUpdate as exc:
        raise InvalidInput(f"a user with the e-mail {e} already exists") from exc
    return _info(user)


def get_user(ctx: Context, email: str) -> UserInfo:
    user = ctx.store.find_user(email)
    if user is None:
        raise NotFound(f"no user with the e-mail {policy.normalise_email(email)}")
    return _info(user)


def _user(ctx: Context, email: str) -> UserRecord:
    user = ctx.store.find_user(email)
    if user is None:
        raise NotFound(f"no user with the e-mail {policy.normalise_email(email)}")
    return user


def set_password(ctx: Context, email: str, password: str) -> UserInfo:
    """Set a user's password: the user themself, or a user manager."""
    user = _user(ctx, email)
    if ctx.principal is None or ctx.principal.user_id != user.id:
        _require_manager(ctx)
    new = replace(user, password_hash=_check_password(password))
    ctx.store.update_user(new)
    return _info(new)


def set_global_roles(ctx: Context, email: str, roles: Iterable[str]) -> UserInfo:
    _require_manager(ctx)
    roles = tuple(sorted(set(roles)))
    unknown = policy.unknown_global_roles(roles)
    if unknown:
        raise InvalidInput(f"unknown global role(s): {', '.join(unknown)}")
    new = replace(_user(ctx, email), global_roles=roles)
    ctx.store.update_user(new)
    return _info(new)


def disable_user(ctx: Context, email: str, *, disabled: bool = True) -> UserInfo:
    """Disable (or enable again) a user: their sessions and tokens stop working at once."""
    _require_manager(ctx)
    new = replace(_user(ctx, email), disabled=disabled)
    ctx.store.update_user(new)
    return _info(new)


def list_users(ctx: Context) -> list[UserInfo]:
    _require_manager(ctx)
    return [_info(u) for u in ctx.store.list_users()]


# ------------------------------------------------------------------ password sign-in
def _dummy_hash() -> str:
    if not _dummy:
        _dummy.append(_hasher.hash(secrets.token_urlsafe(16)))
    return _dummy[0]


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _rate_keys(email: str, client_ip: str) -> list[str]:
    keys = [f"email:{policy.normalise_email(email)}"]
    if client_ip:
        keys.append(f"ip:{client_ip}")
    return keys


def check_rate(ctx: Context, keys: Iterable[str]) -> None:
    """RateLimited when any key has MAX_FAILURES failures within FAILURE_WINDOW."""
    now = ctx.now()
    for key in keys:
        recent = ctx.store.login_failures(key, now - FAILURE_WINDOW)
        if len(recent) >= MAX_FAILURES:
            wait = recent[-MAX_FAILURES] + FAILURE_WINDOW - now
            seconds = max(1, math.ceil(wait.total_seconds()))
            raise RateLimited(f"too many failed sign-ins: try again in {(seconds + 59) // 60} minute(s)", seconds)


def login_password(ctx: Context, email: str, password: str, *, client_ip: str = "") -> Principal:
    """The principal for a correct e-mail and password; AuthFailed (one message) or RateLimited."""
    keys = _rate_keys(email, client_ip)
    check_rate(ctx, keys)
    user = ctx.store.find_user(email)
    hashed = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    ok = _verify(hashed, password)  # always one argon2 verification, known user or not
    if not ok or user is None or not user.password_hash or user.disabled:
        ctx.store.add_login_failure(keys, ctx.now())
        raise AuthFailed(AUTH_FAILED)
    ctx.store.clear_login_failures(keys[0])
    if _hasher.check_needs_rehash(user.password_hash):
        ctx.store.update_user(replace(user, password_hash=_hasher.hash(password)))
    return principal_for(user, "password")


# ------------------------------------------------------------------ sessions and API tokens
def _issue(ctx: Context, kind: str, principal: Principal, ttl: timedelta, name: str = "") -> SessionToken:
    token = secrets.token_urlsafe(32)
    now = ctx.now()
    ctx.store.add_credential(
        kind, Credential(token_hash(token), principal.user_id, now, now + ttl, now, principal.auth_method, name)
    )
    return SessionToken(token, now + ttl)


def _principal_from(ctx: Context, kind: str, token: str, method: str | None) -> Principal | None:
    if not token:
        return None
    wanted = token_hash(token)
    cred = ctx.store.get_credential(kind, wanted)
    if cred is None or not hmac.compare_digest(cred.token_hash, wanted):
        return None
    now = ctx.now()
    if now >= cred.expires_at:
        ctx.store.delete_credential(kind, wanted)
        return None
    user = ctx.store.get_user(cred.user_id)
    if user is None or user.disabled:
        return None
    if now - cred.last_seen > timedelta(minutes=5):  # a write per request would be waste
        ctx.store.touch_credential(kind, wanted, now)
    return principal_for(user, method or cred.auth_method)


def start_session(ctx: Context, principal: Principal, *, ttl: timedelta = SESSION_TTL) -> SessionToken:
    """A new web session for ``principal`` (keeps the way they signed in)."""
    return _issue(ctx, "session", principal, ttl)


def principal_from_session(ctx: Context, token: str) -> Principal | None:
    """The principal of a live session token; None when unknown, expired or the user is disabled."""
    return _principal_from(ctx, "session", token, None)


def end_session(ctx: Context, token: str) -> None:
    if token:
        ctx.store.delete_credential("session", token_hash(token))


def issue_api_token(
    ctx: Context, principal: Principal, *, name: str = "cli", ttl: timedelta = API_TOKEN_TTL
) -> SessionToken:
    """An API token for ``principal`` (what ``pmo login`` stores)."""
    return _issue(ctx, "api_token", principal, ttl, name)


def principal_from_api_token(ctx: Context, token: str) -> Principal | None:
    """The principal of a live API token (auth method ``token``), else None."""
    return _principal_from(ctx, "api_token", token, "token")


def revoke_api_token(ctx: Context, token: str) -> None:
    if token:
        ctx.store.delete_credential("api_token", token_hash(token))


# ------------------------------------------------------------------ embedded mode and single sign-on
def principal_from_env(ctx: Context, email: str) -> Principal:
    """The workspace owner acting as ``email`` (``PMO_USER``); AuthFailed if no such active user."""
    user = ctx.store.find_user(email)
    if user is None or user.disabled:
        raise AuthFailed(
            f"PMO_USER={email} is not an active user of this workspace (an administrator adds one: `pmo user add`)"
        )
    return principal_for(user, "env")


def login_oidc(ctx: Context, claims: Mapping[str, Any]) -> Principal:
    """An existing, active user whose e-mail the provider asserts as verified (``email_verified``)."""
    email = claims.get("email")
    if not isinstance(email, str) or claims.get("email_verified") is not True:
        raise AuthFailed("sign-in failed: the identity provider did not give a verified e-mail")
    user = ctx.store.find_user(email)
    if user is None or user.disabled:
        raise AuthFailed(AUTH_FAILED)
    return principal_for(user, "oidc")


# ------------------------------------------------------------------ the CLI's acting user
def token_file(ws: Workspace) -> Path:
    return ws.root / TOKEN_FILE


def save_cli_token(ws: Workspace, token: SessionToken) -> Path:
    """Write the token where the CLI finds it, readable by its owner only (mode 0600)."""
    path = token_file(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token.token + "\n")
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return path


def login_cli(ctx: Context, email: str, password: str) -> tuple[Principal, Path]:
    """``pmo login``: check the password, issue an API token and store it in the workspace."""
    principal = login_password(ctx, email, password)
    token = issue_api_token(ctx, principal)
    return principal_for(_user(ctx, email), "token"), save_cli_token(ctx.workspace, token)


def logout_cli(ctx: Context) -> bool:
    """``pmo logout``: revoke the stored token and delete the file; False if nobody was signed in."""
    path = token_file(ctx.workspace)
    if not path.is_file():
        return False
    revoke_api_token(ctx, read_regular_text(path, MAX_SMALL_FILE_BYTES).strip())
    path.unlink()
    return True


def principal_from_workspace(ctx: Context) -> tuple[Principal | None, str]:
    """Who the CLI acts as: ``PMO_USER``, else the token ``pmo login`` stored; with the reason if nobody."""
    email = ctx.workspace.runtime.pmo_user
    if email:
        try:
            return principal_from_env(ctx, email), ""
        except AuthFailed as exc:
            return None, str(exc)
    path = token_file(ctx.workspace)
    if path.is_file():
        p = principal_from_api_token(ctx, read_regular_text(path, MAX_SMALL_FILE_BYTES).strip())
        return (p, "") if p else (None, "the stored sign-in has expired or was revoked: run `pmo login` again")
    return None, ""


def permission_rows() -> list[tuple[str, list[str]]]:
    """The one permission table (action -> roles allowed), for faces to print."""
    return policy.permission_rows()

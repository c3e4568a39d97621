"""Settings every worker reads: pushed to the database, filled in where a workspace lacks them.

A Prefect worker on another machine has its own workspace folder (often without ``settings.yaml``)
and the shared database (``PMO_DATABASE_URL``). ``pmo settings push`` stores the settings that matter
to the flows (:data:`SHARED`: SMTP, webhook, signing references, base URL, documents store, the deliverables
root, supplier)
in the database; every flow task opens its context through :func:`apply`, which fills each setting
the worker's own ``settings.yaml`` leaves unset with the pushed value (a setting the worker's file
sets wins, and ``PMO_BASE_URL`` / ``PMO_DOCUMENTS_DIR`` win over both, as everywhere).

Secrets are never stored: a push refuses a password, passphrase or credential header written in
clear and asks for the environment variable that holds it (``smtp.password_env``,
``webhook.token_env`` / ``secret_env``, ``signing.passphrase_env`` / ``key_passphrase_env``); each
worker reads that variable from its own environment. Relative paths (documents folder, signing key
files) are made absolute against the pushing workspace, so a worker finds them at the same place (a
shared mount). Each push is recorded with who pushed it and when, chained by hash
(:func:`lifecycle.storage.protocol.verify_settings`); when the workspace has administrators, only a
``pmo_admin`` may push.

:func:`require_smtp` is what a flow asks before it e-mails a document: with recipients to send to and
no SMTP server configured (neither in the worker's file nor pushed), the run fails with a clear
error instead of completing with nothing sent.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from lifecycle.domain import policy
from lifecycle.errors import ConfigError, InvalidInput
from lifecycle.services.context import Context
from lifecycle.storage.protocol import SharedSettings, verify_settings
from lifecycle.workspace import Settings

SHARED = ("smtp", "webhook", "signing", "base_url", "documents_dir", "deliverables_dir", "supplier")

# setting -> keys whose value is a secret in clear, and the key naming its environment variable instead
_CLEAR_SECRETS: dict[str, dict[str, str]] = {
    "smtp": {"password": "password_env"},
    "signing": {"passphrase": "passphrase_env", "key_passphrase": "key_passphrase_env"},
}
_SECRET_HEADER = re.compile(r"auth|token|key|secret|cookie|session|password", re.IGNORECASE)
_SIGNING_PATHS = ("pkcs12", "key", "cert", "chain", "trust_roots")
_DEFAULTS = {f.name: f.default for f in fields(Settings) if f.default is not MISSING}


def _is_unset(settings: Settings, name: str) -> bool:
    value = getattr(settings, name)
    return not value or (name in _DEFAULTS and value == _DEFAULTS[name])


def apply(ctx: Context) -> list[str]:
    """Fill the workspace's unset shared settings from the push in force; returns the names filled."""
    pushed = ctx.store.shared_settings()
    if pushed is None:
        return []
    filled = []
    for name in SHARED:
        if name in pushed.values and pushed.values[name] and _is_unset(ctx.workspace.settings, name):
            setattr(ctx.workspace.settings, name, copy.deepcopy(pushed.values[name]))
            filled.append(name)
    return filled


def _secrets_in_clear(name: str, value: Any) -> list[str]:
    if not isinstance(value, Mapping):
        return []
    found = [
        f"{name}.{key} is a secret written in clear: put it in an environment variable and name it with {name}.{env}"
        for key, env in _CLEAR_SECRETS.get(name, {}).items()
        if value.get(key)
    ]
    headers = value.get("headers") if name == "webhook" else None
    for header in headers or {}:
        if _SECRET_HEADER.search(str(header)):
            found.append(
                f"webhook.headers.{header} may hold a credential: name the environment variable with "
                "webhook.token_env (a bearer token) instead"
            )
    return found


def _absolute(root: Path, value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_absolute(root, v) for v in value]
    p = Path(str(value)).expanduser()
    return str(p if p.is_absolute() else (root / p).resolve())


def _value(ctx: Context, name: str) -> Any:
    ws = ctx.workspace
    if name == "documents_dir":
        return str(ws.documents_dir.resolve())
    if name == "deliverables_dir":  # the root quality checks read delivered files in (a shared mount)
        return str(ws.deliverables_dir.resolve())
    value = copy.deepcopy(getattr(ws.settings, name))
    if name == "signing" and isinstance(value, dict):
        for key in _SIGNING_PATHS:
            if value.get(key):
                value[key] = _absolute(ws.root.resolve(), value[key])
    return value


def collect(ctx: Context, names: Sequence[str] | None = None) -> dict[str, Any]:
    """The shared settings of this workspace as they would be pushed (set ones only); refuses secrets in clear."""
    wanted = list(names) if names else list(SHARED)
    unknown = [n for n in wanted if n not in SHARED]
    if unknown:
        raise InvalidInput(f"not a shared setting: {', '.join(unknown)} (shared: {', '.join(SHARED)})")
    values = {
        n: _value(ctx, n)
        for n in wanted
        if n in ("documents_dir", "deliverables_dir") or not _is_unset(ctx.workspace.settings, n)
    }
    problems = [p for n, v in values.items() for p in _secrets_in_clear(n, v)]
    if problems:
        raise ConfigError("nothing was pushed:\n  " + "\n  ".join(problems))
    return values


def _require_admin(ctx: Context) -> None:
    if any(policy.PMO_ADMIN in u.global_roles and not u.disabled for u in ctx.store.list_users()):
        policy.require(ctx.principal, policy.CHANGE_SETTINGS)


def push(ctx: Context, names: Sequence[str] | None = None) -> SharedSettings:
    """Store this workspace's shared settings in the database for every worker (recorded: who, when)."""
    _require_admin(ctx)
    values = collect(ctx, names)
    if not values:
        raise InvalidInput(f"no shared setting is set in this workspace ({', '.join(SHARED)})")
    return ctx.store.push_settings(values, actor=ctx.actor, at=ctx.now())


def history(ctx: Context) -> tuple[list[SharedSettings], list[str]]:
    """Every push (oldest first) and the problems of their hash chain (empty: intact)."""
    items = ctx.store.settings_history()
    return items, verify_settings(items)


def require_smtp(ctx: Context, code: str, what: str, to: Sequence[str] | None = None) -> None:
    """ConfigError when ``what`` (the documents a flow is about to issue) has recipients but no SMTP
    server is configured here or pushed; asked before issuing, so nothing is issued to a worker's own disk."""
    if (ctx.workspace.settings.smtp or {}).get("host"):
        return
    from lifecycle.services.delivery import resolve_recipients  # it imports the e-mail library

    try:
        recipients = resolve_recipients(ctx.store.get(code), to)
    except InvalidInput:
        return  # nobody to send to: the delivery step reports that itself
    raise ConfigError(
        f"no SMTP server is configured on this worker, so {code} {what} cannot be e-mailed to "
        f"{', '.join(addr for _, addr in recipients)}: set smtp in the workspace's settings.yaml, or "
        "push the settings every worker reads with `pmo settings push` (run where they are set)"
    )

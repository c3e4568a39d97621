"""The audit key: the secret that seals audit events, kept outside the database.

``PMO_AUDIT_KEY`` (the key's text), else the file ``PMO_AUDIT_KEY_FILE`` names, else ``audit.key``
in the workspace folder, next to ``secret.key`` (64 random hex digits, mode 0600, made by ``pmo
init`` or ``pmo audit anchor``). The key is the text, stripped, so ``PMO_AUDIT_KEY=$(cat audit.key)``
gives a worker on another machine the same key. No key: events are written without MACs and
``pmo audit verify`` says the trail is not anchored. The store receives the key when the context
opens (:func:`lifecycle.services.context.open_context`).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from lifecycle.domain.limits import MAX_SMALL_FILE_BYTES
from lifecycle.errors import ConfigError, SpecError
from lifecycle.load.files import read_regular_text
from lifecycle.workspace import Workspace

AUDIT_KEY_FILE = "audit.key"
MIN_KEY_CHARS = 32


def audit_key_path(ws: Workspace) -> Path:
    """Where the key file is (``PMO_AUDIT_KEY_FILE``, else ``<workspace>/audit.key``)."""
    return Path(ws.runtime.audit_key_file) if ws.runtime.audit_key_file else ws.root / AUDIT_KEY_FILE


def _checked(text: str, where: str) -> bytes:
    if len(text) < MIN_KEY_CHARS:
        raise ConfigError(
            f"{where}: the audit key must have at least {MIN_KEY_CHARS} characters "
            "(`pmo audit anchor` makes one of 64 random hex digits)"
        )
    return text.encode("utf-8")


def read_audit_key(ws: Workspace) -> bytes | None:
    """The workspace's audit key, or None when there is none (the trail is then not anchored)."""
    if ws.runtime.audit_key:
        return _checked(ws.runtime.audit_key, "PMO_AUDIT_KEY")
    path = audit_key_path(ws)
    if not os.path.lexists(path):
        if ws.runtime.audit_key_file:
            raise ConfigError(f"PMO_AUDIT_KEY_FILE names {path}, which does not exist")
        return None
    try:  # a regular file of a few bytes: a named pipe or a device given as the key file is refused
        text = read_regular_text(path, MAX_SMALL_FILE_BYTES).strip()
    except SpecError as exc:
        raise ConfigError(f"cannot read the audit key {path}: {exc.problems[0].message}") from None
    return _checked(text, str(path))


def create_audit_key(ws: Workspace) -> Path | None:
    """Make ``<workspace>/audit.key`` (mode 0600) unless a key is configured or exists; the path made, else None."""
    if ws.runtime.audit_key or ws.runtime.audit_key_file:
        return None
    path = audit_key_path(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None  # kept: a key that sealed events must never be replaced
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(32) + "\n")
    return path

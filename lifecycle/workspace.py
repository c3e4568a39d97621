"""The workspace: where a team's database, settings, documents and Prefect home live.

A workspace is a folder holding ``settings.yaml`` and, by default, the SQLite database ``pmo.db``,
the ``documents/`` output folder, the ``deliverables/`` documents root (the only place files named
by project data are read from) and a private ``prefect/`` home. It is found from ``--workspace``,
then ``PMO_WORKSPACE``, then the nearest ``.pmo`` folder above the current directory, then
``./.pmo``. ``PMO_DATABASE_URL`` points the workspace at PostgreSQL (or any SQLAlchemy URL) instead.

This module is the edge where the process environment is read: :func:`read_runtime` reads the
variables the services need (a fixed clock for tests and the demo, the status report cadence, the
Prefect server) once into :class:`Runtime`, which the services receive with the workspace; no module
of :mod:`lifecycle.services` reads ``os.environ``. :func:`prefect_environment` is the one place that
writes the variables Prefect must see before it is imported.

This module imports no heavy library: the CLI reads settings before deciding what to import.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from lifecycle.errors import ConfigError

SETTINGS_FILE = "settings.yaml"
DEFAULT_DIRNAME = ".pmo"


def package_data_dir(name: str) -> Path:
    """``rules`` or ``templates``: the checkout's folder, or the copy shipped inside the package."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data" / name, here.parent / name):
        if candidate.is_dir():
            return candidate
    raise ConfigError(f"cannot find the shipped '{name}' folder (looked in {here / '_data'} and {here.parent})")


@dataclass
class Settings:
    database_url: str = ""
    rules: str = ""  # rule pack folder; empty = the shipped default pack
    documents_dir: str = "documents"
    # the documents root: files named by project data (deliverables) are read only inside it
    deliverables_dir: str = "deliverables"
    max_file_bytes: int = 2 << 30  # the largest such file read (2 GiB)
    supplier: dict[str, Any] = field(default_factory=dict)
    smtp: dict[str, Any] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)
    signing: dict[str, Any] = field(default_factory=dict)
    actor: str = ""
    base_url: str = ""  # public address of `pmo serve`, for links in e-mails (PMO_BASE_URL wins)
    oidc: dict[str, Any] = field(default_factory=dict)  # single sign-on (see lifecycle.services.oidc)


@dataclass(frozen=True)
class Runtime:
    """What the services need from the process environment, read once at the edge.

    ``now`` and ``today`` fix the clock (``PMO_NOW``, ``PMO_TODAY``: tests, the demo, deterministic
    documents); ``status_report_days`` is how old the last status report may be before the monitor
    raises an alert (``PMO_STATUS_REPORT_DAYS``); ``prefect_api_url`` names the Prefect server
    (``PREFECT_API_URL``; empty: embedded mode). The others override the settings file.
    """

    now: datetime | None = None
    today: date | None = None
    status_report_days: int = 14
    prefect_api_url: str = ""
    database_url: str = ""  # PMO_DATABASE_URL: wins over the settings file
    rules: str = ""  # PMO_RULES: the rule pack folder, wins over the settings file
    documents_dir: str = ""  # PMO_DOCUMENTS_DIR
    actor: str = ""  # PMO_ACTOR: who acts, wins over the settings file
    user: str = ""  # USER: who acts when nothing else says
    pmo_user: str = ""  # PMO_USER: the e-mail of the user the CLI acts as (embedded mode)
    base_url: str = ""  # PMO_BASE_URL: the web face's address in links, wins over the settings file
    secret_key: str = field(default="", repr=False)  # PMO_SECRET_KEY: signs client links, wins over secret.key
    oidc_client_secret: str = field(default="", repr=False)  # PMO_OIDC_CLIENT_SECRET
    audit_key: str = field(default="", repr=False)  # PMO_AUDIT_KEY: seals audit events, wins over audit.key
    audit_key_file: str = ""  # PMO_AUDIT_KEY_FILE: the file holding the audit key, instead of <workspace>/audit.key
    # the whole environment as read, for processes a service starts (a local Prefect server and worker)
    process_env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def server_mode(self) -> bool:
        """True when a Prefect server is configured for this process."""
        return bool(self.prefect_api_url)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


_T = TypeVar("_T")


def _clock(env: Mapping[str, str], name: str, expected: str, parse: Callable[[str], _T]) -> _T | None:
    """A fixed clock variable read, or one ConfigError naming it (the years it may hold are checked
    with the other limits when the services open: lifecycle.services.context)."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return parse(raw)
    except (ValueError, OverflowError):
        shown = raw if len(raw) <= 40 and raw.isprintable() else repr(raw[:40])
        raise ConfigError(f"{name}: '{shown}' is not {expected}") from None


def read_runtime(environ: Mapping[str, str] | None = None) -> Runtime:
    """The :class:`Runtime` of ``environ`` (default: this process's environment)."""
    env = os.environ if environ is None else environ
    now = _clock(env, "PMO_NOW", "a date and time like 2026-03-31T09:00:00+00:00", _moment)
    today = _clock(env, "PMO_TODAY", "a date like 2026-03-31", date.fromisoformat)
    try:
        days = max(1, int(env.get("PMO_STATUS_REPORT_DAYS", "14")))
    except ValueError:
        days = 14
    return Runtime(
        now,
        today,
        days,
        env.get("PREFECT_API_URL", "").strip(),
        database_url=env.get("PMO_DATABASE_URL", ""),
        rules=env.get("PMO_RULES", ""),
        documents_dir=env.get("PMO_DOCUMENTS_DIR", ""),
        actor=env.get("PMO_ACTOR", ""),
        user=env.get("USER", ""),
        pmo_user=env.get("PMO_USER", "").strip(),
        base_url=env.get("PMO_BASE_URL", ""),
        secret_key=env.get("PMO_SECRET_KEY", ""),
        oidc_client_secret=env.get("PMO_OIDC_CLIENT_SECRET", ""),
        audit_key=env.get("PMO_AUDIT_KEY", "").strip(),
        audit_key_file=env.get("PMO_AUDIT_KEY_FILE", "").strip(),
        process_env=dict(env),
    )


@dataclass
class Workspace:
    root: Path
    settings: Settings
    # read when the workspace is made: open_workspace, or a face or test building one itself
    runtime: Runtime = field(default_factory=read_runtime)

    @property
    def database_url(self) -> str:
        url = self.runtime.database_url or self.settings.database_url
        if url:
            return url
        return f"sqlite:///{self.root / 'pmo.db'}"

    @property
    def rules_dir(self) -> Path:
        if self.runtime.rules:
            return Path(self.runtime.rules)
        if self.settings.rules:
            p = Path(self.settings.rules)
            return p if p.is_absolute() else self.root / p
        return package_data_dir("rules") / "default"

    @property
    def documents_dir(self) -> Path:
        p = Path(self.runtime.documents_dir or self.settings.documents_dir)
        return p if p.is_absolute() else self.root / p

    @property
    def deliverables_dir(self) -> Path:
        """The documents root: where files named by project data are read (and only there)."""
        p = Path(self.settings.deliverables_dir or "deliverables")
        return p if p.is_absolute() else self.root / p

    @property
    def max_file_bytes(self) -> int:
        value = self.settings.max_file_bytes
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"max_file_bytes must be a positive whole number of bytes, not {value!r}")
        return value

    @property
    def prefect_home(self) -> Path:
        return self.root / "prefect"

    @property
    def actor(self) -> str:
        return self.runtime.actor or self.settings.actor or self.runtime.user or "pmo"


def find_root(explicit: str | None = None) -> Path:
    if explicit:
        return Path(explicit).resolve()
    env = os.environ.get("PMO_WORKSPACE")
    if env:
        return Path(env).resolve()
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / DEFAULT_DIRNAME / SETTINGS_FILE).is_file():
            return folder / DEFAULT_DIRNAME
    return cwd / DEFAULT_DIRNAME


def setting_kinds() -> dict[str, type]:
    """The kind of value each setting of ``settings.yaml`` takes: text, a whole number or a mapping
    (the settings file is read under the input limits by :func:`lifecycle.services.context.open_workspace`)."""
    defaults = Settings()
    return {name: type(getattr(defaults, name)) for name in Settings.__dataclass_fields__}


def prefect_environment(workspace: Workspace, *, api_url: str = "") -> dict[str, str]:
    """Set (if unset) and return the variables Prefect must see in this process.

    Applied before Prefect is first imported: Prefect's home inside the workspace (never the user's
    ``~/.prefect``) and telemetry off. Values already set win, so an operator can point
    ``PREFECT_HOME`` elsewhere. ``api_url`` (the local server ``pmo serve`` keeps, when it is up) is
    used only in embedded mode: flows then run against it instead of a temporary API of their own.
    """
    wanted = {
        "PREFECT_HOME": str(workspace.prefect_home),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # Prefect's default (20 s) is tight: a first start in a new home migrates its database, and
        # takes 15 s or more on a busy two-core machine
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    }
    if api_url and not workspace.runtime.server_mode:
        wanted["PREFECT_API_URL"] = api_url
    applied = {}
    for key, value in wanted.items():
        os.environ.setdefault(key, value)
        applied[key] = os.environ[key]
    if applied["PREFECT_HOME"] == str(workspace.prefect_home):
        workspace.prefect_home.mkdir(parents=True, exist_ok=True)
    return applied

"""The workspace: where a team's database, settings, documents and Prefect home live.

A workspace is a folder holding ``settings.yaml`` and, by default, the SQLite database ``pmo.db``,
the ``documents/`` output folder and a private ``prefect/`` home. It is found from ``--workspace``,
then ``PMO_WORKSPACE``, then the nearest ``.pmo`` folder above the current directory, then
``./.pmo``. ``PMO_DATABASE_URL`` points the workspace at PostgreSQL (or any SQLAlchemy URL) instead.

This module imports no heavy library: the CLI reads settings before deciding what to import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    supplier: dict[str, Any] = field(default_factory=dict)
    smtp: dict[str, Any] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)
    signing: dict[str, Any] = field(default_factory=dict)
    actor: str = ""
    base_url: str = ""  # public address of `pmo serve`, for links in e-mails (PMO_BASE_URL wins)
    oidc: dict[str, Any] = field(default_factory=dict)  # single sign-on (see lifecycle.services.oidc)


@dataclass
class Workspace:
    root: Path
    settings: Settings

    @property
    def database_url(self) -> str:
        url = os.environ.get("PMO_DATABASE_URL") or self.settings.database_url
        if url:
            return url
        return f"sqlite:///{self.root / 'pmo.db'}"

    @property
    def rules_dir(self) -> Path:
        env = os.environ.get("PMO_RULES")
        if env:
            return Path(env)
        if self.settings.rules:
            p = Path(self.settings.rules)
            return p if p.is_absolute() else self.root / p
        return package_data_dir("rules") / "default"

    @property
    def documents_dir(self) -> Path:
        p = Path(os.environ.get("PMO_DOCUMENTS_DIR") or self.settings.documents_dir)
        return p if p.is_absolute() else self.root / p

    @property
    def prefect_home(self) -> Path:
        return self.root / "prefect"

    @property
    def actor(self) -> str:
        return os.environ.get("PMO_ACTOR") or self.settings.actor or os.environ.get("USER") or "pmo"


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


def load_settings(root: Path) -> Settings:
    path = root / SETTINGS_FILE
    if not path.is_file():
        return Settings()
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: settings must be a mapping")
    known = set(Settings.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return Settings(**data)


def open_workspace(explicit: str | None = None) -> Workspace:
    root = find_root(explicit)
    return Workspace(root, load_settings(root))

"""The context every service receives: workspace, store, clock and acting user.

Services never read the wall clock or the environment directly; they ask the context, so tests and
deterministic document renders can fix ``today`` and ``now``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from lifecycle.storage.protocol import Store
from lifecycle.workspace import Workspace, open_workspace


def _now() -> datetime:
    fixed = os.environ.get("PMO_NOW")
    if fixed:
        return datetime.fromisoformat(fixed).astimezone(timezone.utc)
    return datetime.now(timezone.utc)


@dataclass
class Context:
    workspace: Workspace
    store: Store
    clock: Callable[[], datetime] = _now
    actor_override: str = ""
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        return self.actor_override or self.workspace.actor

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        fixed = os.environ.get("PMO_TODAY")
        if fixed:
            return date.fromisoformat(fixed)
        return self.clock().date()

    def close(self) -> None:
        self.store.close()


def open_context(workspace: Workspace | None = None, *, create: bool = False) -> Context:
    """A context on the workspace's database (SQLite by default, PMO_DATABASE_URL if set)."""
    from lifecycle.storage.sql import SqlStore

    ws = workspace or open_workspace()
    store = SqlStore.open(ws.database_url, create=create)
    return Context(ws, store)

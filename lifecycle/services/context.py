"""The context every service receives: workspace, store, clock and acting user.

Services never read the wall clock or the environment directly; they ask the context, so tests and
deterministic document renders can fix ``today`` and ``now``. The environment was read once, at the
edge, into the workspace's :class:`~lifecycle.workspace.Runtime` (``PMO_NOW``, ``PMO_TODAY`` ...).

Every face opens it the same way and it closes its store on leaving::

    with open_context(workspace) as ctx:
        result = some_service(ctx, ...)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from types import TracebackType
from typing import Any

from lifecycle.storage.protocol import Store
from lifecycle.workspace import Runtime, Settings, Workspace, open_workspace, read_runtime

# faces open workspaces through this module (they import services only)
__all__ = ["Context", "Runtime", "Settings", "Workspace", "open_context", "open_workspace", "read_runtime"]


@dataclass
class Context:
    workspace: Workspace
    store: Store
    clock: Callable[[], datetime] | None = None
    actor_override: str = ""
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        return self.actor_override or self.workspace.actor

    def now(self) -> datetime:
        if self.clock is not None:
            return self.clock()
        fixed = self.workspace.runtime.now
        return fixed if fixed is not None else datetime.now(timezone.utc)

    def today(self) -> date:
        fixed = self.workspace.runtime.today
        return fixed if fixed is not None else self.now().date()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Context:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def open_context(workspace: Workspace | None = None, *, create: bool = False) -> Context:
    """A context on the workspace's database (SQLite by default, PMO_DATABASE_URL if set).

    Use it as a context manager (``with open_context(ws) as ctx:``) so the store is always closed.
    """
    # SQLAlchemy is imported here, not at module level: plain commands such as `pmo --help` import
    # this module through the CLI and must not pay for (or need) the database library
    from lifecycle.storage.sql import SqlStore

    ws = workspace or open_workspace()
    store = SqlStore.open(ws.database_url, create=create)
    return Context(ws, store)

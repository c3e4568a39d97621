"""The context every service receives: workspace, store, clock and acting user.

Services never read the wall clock or the environment directly; they ask the context, so tests and
deterministic document renders can fix ``today`` and ``now``. ``principal`` is the acting user (see
:mod:`lifecycle.domain.policy`): the web sets it from the session, :func:`open_context` from
``PMO_USER`` or the token ``pmo login`` stored; ``principal_problem`` says why there is none when a
sign-in was attempted. When a principal acts, audit events name them (``actor`` is their e-mail).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from lifecycle.domain.policy import Principal
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
    principal: Principal | None = None
    principal_problem: str = ""

    @property
    def actor(self) -> str:
        if self.actor_override:
            return self.actor_override
        return self.principal.email if self.principal is not None else self.workspace.actor

    def acting(self) -> dict[str, str]:
        """Who acts, for audit event data: user id and auth method (empty without a principal)."""
        p = self.principal
        return {} if p is None else {"user_id": p.user_id, "auth_method": p.auth_method}

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
    ctx = Context(ws, store)
    from lifecycle.services.identity import principal_from_workspace  # it imports this module

    ctx.principal, ctx.principal_problem = principal_from_workspace(ctx)
    return ctx

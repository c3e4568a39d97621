"""The context every service receives: workspace, store, clock and acting user.

Services never read the wall clock or the environment directly; they ask the context, so tests and
deterministic document renders can fix ``today`` and ``now``. The environment was read once, at the
edge, into the workspace's :class:`~lifecycle.workspace.Runtime` (``PMO_NOW``, ``PMO_TODAY`` ...).

Every face opens it the same way and it closes its store on leaving::

    with open_context(workspace) as ctx:
        result = some_service(ctx, ...)

``principal`` is the acting user (see
:mod:`lifecycle.domain.policy`): the web sets it from the session, :func:`open_context` from
``PMO_USER`` or the token ``pmo login`` stored; ``principal_problem`` says why there is none when a
sign-in was attempted. When a principal acts, audit events name them (``actor`` is their e-mail).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from types import TracebackType
from typing import Any

from lifecycle.domain.limits import date_problem
from lifecycle.domain.policy import Principal
from lifecycle.errors import ConfigError
from lifecycle.storage.protocol import Store
from lifecycle.workspace import SETTINGS_FILE, Runtime, Settings, Workspace, find_root, read_runtime, setting_kinds

# faces open workspaces through this module (they import services only)
__all__ = [
    "Context",
    "Principal",
    "Runtime",
    "acting_as",
    "Settings",
    "Workspace",
    "open_context",
    "open_workspace",
    "read_runtime",
]


@dataclass
class Context:
    workspace: Workspace
    store: Store
    clock: Callable[[], datetime] | None = None
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


def acting_as(ctx: Context, principal: Principal | None) -> Context:
    """A context on the same workspace, store, clock and cache with ``principal`` acting (the web face
    serves each request as its signed-in user over one long-lived store)."""
    return Context(ctx.workspace, ctx.store, clock=ctx.clock, cache=ctx.cache, principal=principal)


def check_clock(runtime: Runtime) -> None:
    """A fixed clock (PMO_NOW, PMO_TODAY) within the dates a project may use; ConfigError otherwise."""
    for name, value in (("PMO_NOW", runtime.now), ("PMO_TODAY", runtime.today)):
        problem = date_problem(value) if value is not None else None
        if problem:
            raise ConfigError(f"{name}: {problem}")


def open_workspace(explicit: str | None = None) -> Workspace:
    """The workspace found from ``explicit`` (``--workspace``), ``PMO_WORKSPACE`` or the current folder,
    with its ``settings.yaml`` read under the input limits (SpecError naming file, line and setting)
    and the process environment read once into its runtime."""
    from lifecycle.load.settings import read_settings  # YAML is paid by commands that open a workspace

    root = find_root(explicit)
    return Workspace(root, Settings(**read_settings(root / SETTINGS_FILE, setting_kinds())), read_runtime())


def open_context(workspace: Workspace | None = None, *, create: bool = False) -> Context:
    """A context on the workspace's database (SQLite by default, PMO_DATABASE_URL if set).

    Use it as a context manager (``with open_context(ws) as ctx:``) so the store is always closed.
    """
    # SQLAlchemy is imported here, not at module level: plain commands such as `pmo --help` import
    # this module through the CLI and must not pay for (or need) the database library
    from lifecycle.storage.sql import SqlStore

    ws = workspace or open_workspace()
    check_clock(ws.runtime)
    from lifecycle.services.audit_key import read_audit_key

    key = read_audit_key(ws)  # before opening: a misconfigured key stops the command before any write
    store = SqlStore.open(ws.database_url, create=create)
    store.set_audit_key(key)
    ctx = Context(ws, store)
    from lifecycle.services.identity import principal_from_workspace  # it imports this module

    ctx.principal, ctx.principal_problem = principal_from_workspace(ctx)
    return ctx

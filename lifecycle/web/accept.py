"""Client acceptance pages (``/accept/<token>``): placeholder until the client-link service lands."""

from __future__ import annotations

from starlette.routing import BaseRoute


def routes() -> list[BaseRoute]:
    return []

"""The languages the engine speaks, for the faces: the tags we ship and each domain's messages.

A thin door to :mod:`lifecycle.documents.catalogs` (the faces reach the engine through services
only): the web face reads its ``web`` catalog and the list of languages from here.
"""

from __future__ import annotations

from lifecycle.documents import catalogs

__all__ = ["SOURCE", "languages", "messages"]

SOURCE = catalogs.SOURCE


def languages() -> tuple[str, ...]:
    """``("en", "zh-CN", "zh-TW", …)``: English and every language with a catalog folder."""
    return catalogs.languages()


def messages(domain: str, lang: str) -> dict[str, str]:
    """``{key: text}`` of one catalog domain in ``lang`` (cached)."""
    return catalogs.messages(domain, lang)

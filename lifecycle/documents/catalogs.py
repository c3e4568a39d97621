"""The message catalogs: every word documents and web pages print, in each language we ship.

Catalogs are gettext files under ``lifecycle/locale``: ``<domain>.pot`` holds the English source (the
key as ``msgctxt``, the English text as ``msgid``) and ``<ll_CC>/LC_MESSAGES/<domain>.po`` each
translation (``zh_CN``, ``zh_TW`` …). A language exists when its folder exists: adding one is adding
its catalogs (and checking its font). The ``.po`` files are read with Babel and compiled in memory
into :class:`babel.support.Translations`, once per process (no ``.mo`` file can go stale), and a key
is looked up with ``pgettext(key, english)``.

Language tags are what project files and users write (``en``, ``zh-CN``, ``zh-TW``); English is the
source language and formats as British English (``en_GB``) from CLDR.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import TYPE_CHECKING

from lifecycle.errors import ConfigError

if TYPE_CHECKING:
    from babel import Locale
    from babel.support import Translations

SOURCE = "en"  # the language of every msgid
SOURCE_LOCALE = "en_GB"  # its CLDR locale: 31 March 2026, £1,234.50
DOMAINS = ("documents", "web")


def catalog_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "locale"


@functools.cache
def languages() -> tuple[str, ...]:
    """Every language tag we ship: English, then each catalog folder (``zh_TW`` → ``zh-TW``)."""
    found = sorted(p.parent.name.replace("_", "-") for p in catalog_dir().glob("*/LC_MESSAGES") if p.is_dir())
    return (SOURCE, *(tag for tag in found if tag != SOURCE))


def folder_of(lang: str) -> str:
    return lang.replace("-", "_")


@functools.cache
def cldr_locale(lang: str) -> Locale:
    """The CLDR locale a language tag formats with (``en`` → en_GB, ``zh-TW`` → zh_Hant_TW)."""
    from babel import Locale

    return Locale.parse(SOURCE_LOCALE if lang == SOURCE else folder_of(lang))


def _read(path: Path, locale: str | None = None) -> object:
    from babel.messages.pofile import PoFileError, read_po

    try:
        with path.open("rb") as fh:
            return read_po(fh, locale=locale, abort_invalid=True)
    except (OSError, PoFileError, ValueError) as exc:
        raise ConfigError(f"cannot read message catalog {path}: {exc}") from exc


@functools.cache
def source(domain: str) -> dict[str, str]:
    """``{key: English text}`` of a domain, from its ``.pot``."""
    from babel.messages.catalog import Catalog

    catalog = _read(catalog_dir() / f"{domain}.pot")
    assert isinstance(catalog, Catalog)
    return {str(m.context): str(m.id) for m in catalog if m.id and m.context}


def catalog_path(domain: str, lang: str) -> Path:
    return catalog_dir() / folder_of(lang) / "LC_MESSAGES" / f"{domain}.po"


@functools.cache
def translations(domain: str, lang: str) -> Translations:
    """The compiled translations of one domain and language (English: none, the msgids are the text)."""
    from babel.messages.mofile import write_mo
    from babel.support import NullTranslations, Translations

    if lang == SOURCE:
        return NullTranslations()  # type: ignore[return-value]
    path = catalog_path(domain, lang)
    if not path.is_file():
        raise ConfigError(f"no '{domain}' catalog for language '{lang}' (looked for {path})")
    buffer = io.BytesIO()
    write_mo(buffer, _read(path, folder_of(lang)))  # type: ignore[arg-type]
    buffer.seek(0)
    return Translations(buffer, domain=domain)


@functools.cache
def messages(domain: str, lang: str) -> dict[str, str]:
    """``{key: text}`` in ``lang``: each key looked up through gettext with its English msgid."""
    found = translations(domain, lang)
    return {key: str(found.pgettext(key, english)) for key, english in source(domain).items()}

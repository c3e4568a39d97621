"""Labels of the web pages in every language we ship, and the choice of a request's language.

The words live in the ``web`` gettext catalog (``lifecycle/locale``, English source and one ``.po``
per language), kept apart from the document labels: pages and PDFs speak to different readers. The
language follows the signed-in user's locale, else the browser's ``Accept-Language`` (the best tag we
speak: ``zh-TW`` and ``zh-Hant`` → traditional, other Chinese → simplified); a missing key is an
error in tests rather than an empty label on a page.
"""

from __future__ import annotations

from collections.abc import Callable

from lifecycle.services.languages import languages, messages

DOMAIN = "web"


def _speak(tag: str) -> str | None:
    """The language we ship for a BCP 47 tag, or None: ``zh-Hant-HK`` → zh-TW, ``zh`` → zh-CN, ``en-US`` → en."""
    tag = tag.strip().replace("_", "-").lower()
    shipped = {lang.lower(): lang for lang in languages()}
    if tag in shipped:
        return shipped[tag]
    base, _, rest = tag.partition("-")
    if base == "zh":
        traditional = rest.startswith(("hant", "tw", "hk", "mo"))
        return "zh-TW" if traditional and "zh-tw" in shipped else "zh-CN"
    return next((lang for low, lang in shipped.items() if low.split("-")[0] == base), None)


def lang_for(locale: str | None, accept_language: str = "") -> str:
    """A language tag we ship: the user's locale when known, else the browser's first preference we speak."""
    if locale:
        return _speak(locale) or "en"
    for part in accept_language.split(","):
        found = _speak(part.split(";")[0])
        if found:
            return found
    return "en"


def translator(lang: str) -> Callable[..., str]:
    """``t(key, **values)`` in ``lang``; an unknown key raises KeyError (caught by the tests)."""
    labels = messages(DOMAIN, lang)

    def t(key: str, **values: object) -> str:
        text = labels[key]
        return text.format(**values) if values else text

    return t

"""Labels and value formatting for client documents, in every language the catalogs ship.

Every word a document prints that is not project data comes from the ``documents`` message catalog
(:mod:`lifecycle.documents.catalogs`: English source, one ``.po`` per other language, a test checks
that none lacks a message). :class:`Formatter` is what templates and charts call to turn record
values (ISO date text, decimal text, enum words) into the locale's form, from CLDR through Babel:

* dates ``2026年3月31日`` / ``31 March 2026`` (short form ``31 Mar 2026`` for English tables);
* numbers with the locale's group and decimal separators, money with the currency's symbol
  (``¥1,234,567.00``, ``£1,234.50``, ``NT$1,234,567.00``); a bare ``$`` (a dozen currencies write
  it) is printed as the currency's international symbol (``NT$``, ``US$``);
* enum values (``pass``, ``accepted_with_conditions`` …) as words of the locale;
* amounts in words: Chinese capital numerals (大写, in simplified or traditional characters) and
  English words are our own code.

Nothing here reads the clock or the environment: a render is a pure function of its record (the
time zone of each language is a catalog message, the locale data is CLDR's, shipped with Babel).
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Mapping
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from markupsafe import Markup

from lifecycle.documents import catalogs
from lifecycle.errors import ConfigError, InvalidInput

LANGS = catalogs.languages()
DOMAIN = "documents"


# Chinese typography: no space after full-width punctuation, full-width brackets around Chinese text
_ZH_SPACE_AFTER = re.compile(r"([，。；：、！？）》」』】])[ \u3000]+")
_ZH_SPACE_BEFORE = re.compile(r"[ \u3000]+([，。；：、！？（）《》「」『』【】])")
_ZH_PARENS = re.compile(r"\(([^()<>]*[\u4e00-\u9fff][^()<>]*)\)")


def tidy_zh(text: str) -> str:
    """Chinese prose as typeset: ``（`` ``）`` around Chinese text, no stray space beside full-width marks."""
    text = _ZH_PARENS.sub(r"（\1）", text)
    text = _ZH_SPACE_AFTER.sub(r"\1", text)
    return _ZH_SPACE_BEFORE.sub(r"\1", text)


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise InvalidInput(f"unknown document language '{lang}' (use {', '.join(LANGS)})")
    return lang


def load_labels(lang: str) -> dict[str, str]:
    """Every document label in ``lang``, ``{key: text}`` (cached)."""
    return catalogs.messages(DOMAIN, check_lang(lang))


def to_date(value: Any) -> date | None:
    """A date from a date, datetime or ISO text (its first ten characters); None when there is none."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _to_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None


def _round(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------- amounts in words
_ZH_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_ZH_SECTIONS = ("", "万", "亿", "万亿")
_MAX_WORDS = Decimal(10) ** 16  # up to 万亿 in Chinese, quadrillions in English


def _cents(value: Any) -> tuple[bool, int, int]:
    """(negative, whole units, cents) of an amount rounded half up to the cent."""
    d = _to_decimal(value)
    if d is None:
        raise ValueError(f"not an amount: {value!r}")
    q = abs(d).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if q >= _MAX_WORDS:
        raise ValueError(f"amount too large to write in words: {value!r}")
    whole = int(q)
    return d < 0 and q != 0, whole, int((q - whole) * 100)


def _zh_group(n: int) -> str:
    """0 < n < 10000 in capital numerals: 壹仟零壹拾, 壹佰零伍."""
    out: list[str] = []
    zero = False
    for power, unit in ((3, "仟"), (2, "佰"), (1, "拾"), (0, "")):
        digit = n // 10**power % 10
        if digit == 0:
            zero = zero or bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(_ZH_DIGITS[digit] + unit)
    return "".join(out)


def _zh_integer(n: int) -> str:
    groups: list[int] = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    parts: list[str] = []
    gap = False
    for idx in reversed(range(len(groups))):
        g = groups[idx]
        if g == 0:
            gap = bool(parts)
            continue
        if parts and (gap or g < 1000):
            parts.append("零")
        parts.append(_zh_group(g) + _ZH_SECTIONS[idx])
        gap = False
    return "".join(parts)


def amount_in_words_zh(value: Any) -> str:
    """An amount in Chinese capital numerals as on a contract or payment order (大写金额).

    ``1014000`` → 壹佰零壹万肆仟元整, ``100010000.5`` → 壹亿零壹万元伍角整, ``20000.07`` →
    贰万元零柒分, ``0`` → 零元整. Rounded half up to the fen; 整 follows 元 or 角, never 分.
    """
    negative, whole, cents = _cents(value)
    jiao, fen = divmod(cents, 10)
    text = _zh_integer(whole) + "元" if whole else ""
    if jiao:
        text += _ZH_DIGITS[jiao] + "角"
    elif fen and whole:
        text += "零"
    if fen:
        text += _ZH_DIGITS[fen] + "分"
    else:
        text = (text or "零元") + "整"
    return ("负" if negative else "") + text


# simplified → traditional for the characters capital numerals use (the rest are the same)
_TRADITIONAL = str.maketrans({"贰": "貳", "叁": "參", "陆": "陸", "万": "萬", "亿": "億", "负": "負"})


def amount_in_words_zh_hant(value: Any) -> str:
    """:func:`amount_in_words_zh` in traditional characters: ``1014000`` → 壹佰零壹萬肆仟元整."""
    return amount_in_words_zh(value).translate(_TRADITIONAL)


_EN_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_EN_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_EN_SCALES = ("", "thousand", "million", "billion", "trillion", "quadrillion")
# currency: (unit, units, subunit, subunits)
_EN_CURRENCY = {
    "GBP": ("pound", "pounds", "penny", "pence"),
    "USD": ("dollar", "dollars", "cent", "cents"),
    "EUR": ("euro", "euros", "cent", "cents"),
    "CNY": ("yuan", "yuan", "fen", "fen"),
    "HKD": ("Hong Kong dollar", "Hong Kong dollars", "cent", "cents"),
}


def _en_below_100(n: int) -> str:
    if n < 20:
        return _EN_ONES[n]
    tens, ones = divmod(n, 10)
    return _EN_TENS[tens] + (f"-{_EN_ONES[ones]}" if ones else "")


def _en_below_1000(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    if not hundreds:
        return _en_below_100(rest)
    return f"{_EN_ONES[hundreds]} hundred" + (f" and {_en_below_100(rest)}" if rest else "")


def _en_integer(n: int) -> str:
    if n == 0:
        return "zero"
    chunks: list[int] = []
    while n:
        chunks.append(n % 1000)
        n //= 1000
    words: list[str] = []
    for idx in reversed(range(len(chunks))):
        c = chunks[idx]
        if not c:
            continue
        # British usage: "one thousand and five" when the last chunk has no hundreds
        if idx == 0 and words and c < 100:
            words.append("and")
        words.append(_en_below_1000(c) + (f" {_EN_SCALES[idx]}" if idx else ""))
    return " ".join(words)


def amount_in_words_en(value: Any, currency: str = "") -> str:
    """An amount in English words as on a cheque or payment certificate.

    ``102500`` GBP → "One hundred and two thousand five hundred pounds only"; ``1.5`` GBP → "One pound
    and fifty pence". Rounded half up to the cent; unknown currencies print their code.
    """
    negative, whole, cents = _cents(value)
    code = (currency or "").upper()
    unit, units, sub, subs = _EN_CURRENCY.get(code, (code, code, "hundredth", "hundredths"))
    pence = f"{_en_below_100(cents)} {sub if cents == 1 else subs}"
    if whole or not cents:
        text = f"{_en_integer(whole)} {unit if whole == 1 else units}".strip()
        text += f" and {pence}" if cents else " only"
    else:
        text = pence
    text = ("minus " if negative else "") + text
    return text[0].upper() + text[1:]


@functools.cache
def _zone(lang: str) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = load_labels(lang)["locale.timezone"]
    if name == "UTC":
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"the '{lang}' catalog names an unknown time zone '{name}'") from exc


def _css_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Formatter:
    """Labels and value formats of one locale; templates receive it as ``L``."""

    def __init__(
        self,
        lang: str,
        *,
        currency: str = "",
        labels: Mapping[str, str] | None = None,
        phases: Mapping[str, str] | None = None,
    ):
        self.lang = check_lang(lang)
        self.locale = catalogs.cldr_locale(lang)
        self.currency = currency
        self._labels = labels if labels is not None else load_labels(lang)
        self._phases = dict(phases or {})

    @property
    def zh(self) -> bool:
        """Chinese (simplified or traditional): Chinese typography, 大写 amounts, 一、 section numbers."""
        return self.locale.language == "zh"

    @property
    def font(self) -> str:
        """The CSS font list of this language (its catalog's ``locale.font``)."""
        return self.t("locale.font")

    # ------------------------------------------------------------------ words
    def t(self, key: str, **values: Any) -> str:
        """The label ``key`` in this language; ``{name}`` placeholders are filled from ``values``."""
        try:
            text = self._labels[key]
        except KeyError:
            raise ConfigError(f"document label '{key}' is missing from the documents catalog") from None
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self._labels

    def enum(self, group: str, value: Any) -> str:
        """An enum value as a word (``status.pass`` → 通过 / Pass); unknown values print as given."""
        if value is None or value == "":
            return ""
        key = f"{group}.{value}"
        return self.t(key) if key in self._labels else str(value).replace("_", " ")

    def phase(self, value: Any) -> str:
        """A phase's printed name: the rule pack's title, else the label, else the id in words."""
        if value in self._phases:
            return self._phases[str(value)]
        return self.enum("phase", value)

    def rule_words(self, rule: Any) -> str:
        """An approval rule (``sponsor AND client_representative``) in words: role names and 且/或."""
        words = []
        for token in re.split(r"(\s+|[()])", str(rule or "")):
            if token.upper() in ("AND", "OR", "NOT"):
                words.append(self.t(f"word.{token.lower()}"))
            elif token.strip() and token not in "()":
                words.append(self.enum("role", token))
            else:
                words.append(token)
        return "".join(words)

    def amount_words(self, value: Any, currency: str | None = None) -> str:
        """An amount in words: 大写 in Chinese documents (traditional characters in zh-Hant), else English."""
        if self.zh:
            return amount_in_words_zh_hant(value) if self.locale.script == "Hant" else amount_in_words_zh(value)
        return amount_in_words_en(value, currency or self.currency)

    def enum_list(self, group: str, values: Any) -> str:
        """Several enum values as words, joined the locale's way (、 or , )."""
        return self.join(self.enum(group, v) for v in values or ())

    def title(self, titles: Any) -> str:
        """A ``{"zh": …, "en": …}`` text (rule titles) in this language, falling back to the other."""
        if isinstance(titles, dict):
            first = titles.get("zh" if self.zh else "en") or titles.get(self.lang)
            return str(first or titles.get("en") or titles.get("zh") or "")
        return "" if titles is None else str(titles)

    # ------------------------------------------------------------------ dates
    def date(self, value: Any, *, short: bool = False) -> str:
        """``2026年3月31日`` / ``31 March 2026`` (``31 Mar 2026`` when ``short``): CLDR long / medium."""
        from babel.dates import format_date

        d = to_date(value)
        return "" if d is None else format_date(d, "medium" if short else "long", locale=self.locale)

    def date_short(self, value: Any) -> str:
        """Dates in table cells: ``2026年3月31日`` / ``31 Mar 2026``."""
        return self.date(value, short=True)

    def _skeleton(self, skeleton: str, value: Any) -> str:
        from babel.dates import format_skeleton

        d = to_date(value)
        return "" if d is None else format_skeleton(skeleton, d, locale=self.locale)

    def month_day(self, value: Any) -> str:
        """Axis ticks of charts: ``3月31日`` / ``31 Mar``."""
        return self._skeleton("MMMd", value)

    def month(self, value: Any) -> str:
        """``2026年3月`` / ``Mar 2026``."""
        return self._skeleton("yMMM", value)

    def month_name(self, value: Any) -> str:
        """A month alone, abbreviated: ``3月`` / ``Mar``."""
        return self._skeleton("MMM", value)

    def period(self, start: Any, finish: Any) -> str:
        a, b = self.date(start), self.date(finish)
        if a and b:
            return self.t("format.period", start=a, finish=b)
        return a or b

    def datetime(self, value: Any) -> str:
        """A moment in the language's time zone, named: ``2026年7月22日 10:30（北京时间）``."""
        from babel.dates import format_time

        if value is None or value == "":
            return ""
        try:
            dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        local = dt.astimezone(_zone(self.lang))
        hhmm = format_time(local.time(), "HH:mm", locale=self.locale)
        return self.t("format.datetime", date=self.date(local.date()), time=hhmm, zone=self.t("locale.timezone_name"))

    # ------------------------------------------------------------------ numbers
    def number(self, value: Any, places: int = 0) -> str:
        """A number rounded half up to ``places`` decimals, with the locale's separators."""
        d = _to_decimal(value)
        if d is None:
            return ""
        pattern = copy.copy(self.locale.decimal_formats[None])
        pattern.frac_prec = (places, places)
        return str(pattern.apply(_round(d, places), self.locale))

    def symbol(self, currency: str | None = None) -> str:
        """The currency's symbol in this locale (CLDR); a bare ``$`` becomes the international one (NT$)."""
        from babel.numbers import get_currency_symbol

        code = (currency or self.currency or "").upper()
        if not code:
            return ""
        sym = str(get_currency_symbol(code, locale=self.locale))
        return str(get_currency_symbol(code, locale=catalogs.cldr_locale(catalogs.SOURCE))) if sym == "$" else sym

    def money(self, value: Any, currency: str | None = None) -> str:
        """An amount with its currency, rounded half up to the currency's digits (CLDR): ``¥1,234,567.00``."""
        from babel.numbers import format_currency, get_currency_precision, get_currency_symbol

        d = _to_decimal(value)
        if d is None:
            return ""
        code = (currency or self.currency or "").upper()
        if not code:
            return self.number(d, 2)
        text = str(format_currency(_round(d, get_currency_precision(code)), code, locale=self.locale))
        local = str(get_currency_symbol(code, locale=self.locale))
        return text.replace(local, self.symbol(code), 1) if local == "$" else text

    def myriad(self) -> str:
        """The unit a locale counts large amounts in when it groups by 10,000 (万 / 萬), else ``""``."""
        formats = self.locale.compact_decimal_formats.get("short", {}).get("other", {})
        pattern = formats.get("10000") if hasattr(formats, "get") else None
        if pattern is None:
            return ""
        text = (pattern.prefix[0] + pattern.suffix[0]).strip()
        return text if pattern.int_prec[0] == 1 and text else ""

    def percent(self, value: Any, places: int = 0) -> str:
        """``42.4%`` from 42.35 (the value is already in percent), CLDR's percent pattern."""
        d = _to_decimal(value)
        if d is None:
            return ""
        pattern = copy.copy(self.locale.percent_formats[None])
        pattern.frac_prec = (places, places)
        return str(pattern.apply(_round(d, places) / 100, self.locale))

    def hours(self, value: Any) -> str:
        d = _to_decimal(value)
        if d is None:
            return ""
        text = self.number(d, 0 if d == d.to_integral_value() else 1)
        return self.t("unit.hours", n=text)

    def days(self, value: Any) -> str:
        d = _to_decimal(value)
        if d is None:
            return ""
        n = int(d)
        sign = "+" if n > 0 else ""
        return self.t("unit.days", n=f"{sign}{n}")

    def section(self, n: int) -> str:
        """Section numbers: 一、二、… in Chinese documents, 1 2 … in the others."""
        if not self.zh:
            return f"{n}"
        digits = "零一二三四五六七八九"
        if n < 10:
            text = digits[n]
        elif n < 20:
            text = "十" + (digits[n - 10] if n > 10 else "")
        else:
            text = digits[n // 10] + "十" + (digits[n % 10] if n % 10 else "")
        return text + "、"

    def join(self, items: Any) -> str:
        return self.t("format.list").join(str(i) for i in items if i)

    def page_css(self) -> Markup:
        """The stylesheet part a language sets: its font list and the page-number footer."""
        before, _, rest = self.t("format.page").partition("{page}")
        middle, _, after = rest.partition("{pages}")
        counter = f"{_css_text(before)} counter(page) {_css_text(middle)} counter(pages) {_css_text(after)}"
        font = f"font-family: {self.font};"
        css = (
            f"html {{ {font} }}\n"
            f"@page {{ @top-left {{ {font} }} @bottom-left {{ {font} }} "
            f"@bottom-right {{ {font} content: {counter}; }} }}"
        )
        if "<" in css:  # the text goes into a <style> element unescaped
            raise ConfigError(f"the '{self.lang}' catalog's locale.font or format.page contains '<'")
        return Markup(css)

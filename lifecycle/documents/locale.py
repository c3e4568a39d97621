"""Labels and value formatting for client documents, in Simplified Chinese and English.

Every word a document prints that is not project data comes from ``templates/labels.yaml``: one
entry per key with a ``zh-CN`` and an ``en`` text, so a translator edits one file and a test checks
that no key lacks a language. :class:`Formatter` is what templates and charts call to turn record
values (ISO date text, decimal text, enum words) into the locale's form:

* dates ``2026年3月31日`` / ``31 March 2026`` (short form ``31 Mar 2026`` for English tables);
* numbers with the locale's group and decimal separators, money with the currency's symbol
  (``¥1,234,567.00``, ``£1,234.50``);
* enum values (``pass``, ``accepted_with_conditions`` …) as words of the locale.

Nothing here reads the clock or the environment: a render is a pure function of its record.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lifecycle.errors import ConfigError, InvalidInput

LANGS = ("zh-CN", "en")

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True, slots=True)
class LocaleSpec:
    lang: str
    group: str
    decimal: str
    tz: timezone
    tz_label: str
    symbols: tuple[tuple[str, str], ...]


_ZH_SYMBOLS = (("CNY", "¥"), ("RMB", "¥"), ("USD", "US$"), ("EUR", "€"), ("GBP", "£"), ("HKD", "HK$"), ("JPY", "JP¥"))
_EN_SYMBOLS = (("GBP", "£"), ("USD", "$"), ("EUR", "€"), ("CNY", "¥"), ("RMB", "¥"), ("HKD", "HK$"), ("JPY", "JP¥"))

LOCALES: dict[str, LocaleSpec] = {
    # Chinese clients read times in Beijing time; English documents print UTC.
    "zh-CN": LocaleSpec("zh-CN", ",", ".", timezone(timedelta(hours=8)), "北京时间", _ZH_SYMBOLS),
    "en": LocaleSpec("en", ",", ".", timezone.utc, "UTC", _EN_SYMBOLS),
}


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
    if lang not in LOCALES:
        raise InvalidInput(f"unknown document language '{lang}' (use {' or '.join(LANGS)})")
    return lang


@functools.cache
def _labels(path: str) -> dict[str, dict[str, str]]:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read document labels {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: labels must be a mapping of key -> {{zh-CN: …, en: …}}")
    out: dict[str, dict[str, str]] = {}
    for key, texts in data.items():
        if not isinstance(texts, dict) or any(lang not in texts for lang in LANGS):
            raise ConfigError(f"{path}: label '{key}' needs a text for each of {', '.join(LANGS)}")
        out[str(key)] = {lang: str(texts[lang]) for lang in LANGS}
    return out


def labels_path() -> Path:
    from lifecycle.workspace import package_data_dir

    return package_data_dir("templates") / "labels.yaml"


def load_labels(path: Path | None = None) -> dict[str, dict[str, str]]:
    """Every label, ``{key: {"zh-CN": text, "en": text}}``."""
    return _labels(str(path or labels_path()))


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


class Formatter:
    """Labels and value formats of one locale; templates receive it as ``L``."""

    def __init__(
        self,
        lang: str,
        *,
        currency: str = "",
        labels: dict[str, dict[str, str]] | None = None,
        phases: Mapping[str, str] | None = None,
    ):
        self.lang = check_lang(lang)
        self.spec = LOCALES[lang]
        self.currency = currency
        self._labels = labels if labels is not None else load_labels()
        self._phases = dict(phases or {})

    @property
    def zh(self) -> bool:
        return self.lang == "zh-CN"

    # ------------------------------------------------------------------ words
    def t(self, key: str, **values: Any) -> str:
        """The label ``key`` in this language; ``{name}`` placeholders are filled from ``values``."""
        try:
            text = self._labels[key][self.lang]
        except KeyError:
            raise ConfigError(f"document label '{key}' is missing from labels.yaml") from None
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
        """An amount in words: 大写 in Chinese documents, English words in English ones."""
        if self.zh:
            return amount_in_words_zh(value)
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
        """``2026年3月31日`` / ``31 March 2026`` (``31 Mar 2026`` when ``short``)."""
        d = to_date(value)
        if d is None:
            return ""
        if self.zh:
            return f"{d.year}年{d.month}月{d.day}日"
        month = _MONTHS[d.month - 1]
        return f"{d.day} {month[:3] if short else month} {d.year}"

    def date_short(self, value: Any) -> str:
        """Dates in table cells: ``2026年3月31日`` / ``31 Mar 2026``."""
        return self.date(value, short=True)

    def month_day(self, value: Any) -> str:
        """Axis ticks of charts: ``3月31日`` / ``31 Mar``."""
        d = to_date(value)
        if d is None:
            return ""
        return f"{d.month}月{d.day}日" if self.zh else f"{d.day} {_MONTHS[d.month - 1][:3]}"

    def month(self, value: Any) -> str:
        d = to_date(value)
        if d is None:
            return ""
        return f"{d.year}年{d.month}月" if self.zh else f"{_MONTHS[d.month - 1][:3]} {d.year}"

    def period(self, start: Any, finish: Any) -> str:
        a, b = self.date(start), self.date(finish)
        if a and b:
            return f"{a} – {b}" if not self.zh else f"{a} 至 {b}"
        return a or b

    def datetime(self, value: Any) -> str:
        if value is None or value == "":
            return ""
        try:
            dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        local = dt.astimezone(self.spec.tz)
        hhmm = f"{local.hour:02d}:{local.minute:02d}"
        if self.zh:
            return f"{self.date(local.date())} {hhmm}（{self.spec.tz_label}）"
        return f"{self.date(local.date())}, {hhmm} {self.spec.tz_label}"

    # ------------------------------------------------------------------ numbers
    def number(self, value: Any, places: int = 0) -> str:
        d = _to_decimal(value)
        if d is None:
            return ""
        q = (
            d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
            if places
            else d.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        )
        sign = "-" if q < 0 else ""
        text = f"{abs(q):,.{places}f}"
        whole, _, frac = text.partition(".")
        whole = whole.replace(",", self.spec.group)
        return sign + whole + (self.spec.decimal + frac if frac else "")

    def symbol(self, currency: str | None = None) -> str:
        code = (currency or self.currency or "").upper()
        for c, sym in self.spec.symbols:
            if c == code:
                return sym
        return f"{code} " if code else ""

    def money(self, value: Any, currency: str | None = None) -> str:
        d = _to_decimal(value)
        if d is None:
            return ""
        text = self.number(abs(d), 2)
        return ("-" if d < 0 else "") + self.symbol(currency) + text

    def percent(self, value: Any, places: int = 0) -> str:
        text = self.number(value, places)
        return f"{text}%" if text else ""

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
        """Section numbers: 一、二、… in Chinese documents, 1 2 … in English ones."""
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
        sep = "、" if self.zh else ", "
        return sep.join(str(i) for i in items if i)

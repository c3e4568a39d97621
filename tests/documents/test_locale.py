"""Labels and formats: both languages complete, dates, numbers and money as each locale writes them."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from lifecycle.documents import catalogs
from lifecycle.documents.locale import Formatter
from lifecycle.documents.render import templates_dir
from lifecycle.errors import ConfigError, InvalidInput


def test_every_used_key_exists_in_the_documents_catalog():
    labels = catalogs.source("documents")
    used: set[str] = set()
    for path in templates_dir().glob("*.html"):
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'L\.t\("([a-z_.]+)"', text))
        used |= {f"sec.{k}" for k in re.findall(r'heading\(\d+, "sec\.([a-z_]+)"\)', text)}
        used |= set(re.findall(r'nothing\("([a-z_.]+)"\)', text))
    used = {k for k in used if not k.endswith(".")}
    assert not used - set(labels), f"labels missing from documents.pot: {sorted(used - set(labels))}"


def test_dates():
    zh, en = Formatter("zh-CN"), Formatter("en")
    assert zh.date(date(2026, 3, 31)) == "2026年3月31日"
    assert en.date("2026-03-31") == "31 March 2026"
    assert en.date_short("2026-03-31") == "31 Mar 2026"
    assert zh.date(None) == en.date("") == ""
    assert zh.period("2026-06-01", "2027-03-31") == "2026年6月1日 至 2027年3月31日"
    assert en.period("2026-06-01", "2027-03-31") == "1 June 2026 – 31 March 2027"


def test_datetimes_name_their_zone():
    at = datetime(2026, 7, 22, 2, 30, tzinfo=timezone.utc)
    assert Formatter("zh-CN").datetime(at) == "2026年7月22日 10:30（北京时间）"
    assert Formatter("en").datetime(at.isoformat()) == "22 July 2026, 02:30 UTC"


def test_numbers_and_money():
    zh, en = Formatter("zh-CN", currency="CNY"), Formatter("en", currency="GBP")
    assert zh.money(Decimal("1234567")) == "¥1,234,567.00"
    assert en.money("1234.5") == "£1,234.50"
    assert en.money("-0.005") == "-£0.01"
    assert en.money("1234.5", "USD") == "US$1,234.50"  # CLDR en_GB (was "$1,234.50" before Babel)
    assert en.money("1234.5", "CNY") == "CN¥1,234.50" and en.money("1234.4", "JPY") == "JP¥1,234"
    assert zh.money("10", "XYZ") == "XYZ10.00"  # CLDR: an unknown code as its symbol, no space
    assert en.number("1234567.891", 2) == "1,234,567.89"
    assert en.percent(42.35, 1) == "42.4%"
    assert zh.days(3) == "+3 天" and en.days(-2) == "-2 d"


def test_enums_sections_and_titles():
    zh, en = Formatter("zh-CN"), Formatter("en")
    assert zh.enum("verdict", "accepted_with_conditions") == "有条件通过"
    assert en.enum("verdict", "accepted_with_conditions") == "Accepted with conditions"
    assert en.enum("verdict", "something_new") == "something new"
    assert [zh.section(n) for n in (1, 10, 11, 20)] == ["一、", "十、", "十一、", "二十、"]
    assert en.section(3) == "3"
    assert zh.title({"zh": "所有任务都有责任人", "en": "Every task has an owner"}) == "所有任务都有责任人"
    assert en.title({"zh": "只有中文"}) == "只有中文"


def test_unknown_language_and_label_are_errors():
    with pytest.raises(InvalidInput):
        Formatter("fr")
    with pytest.raises(ConfigError):
        Formatter("en").t("no.such.label")

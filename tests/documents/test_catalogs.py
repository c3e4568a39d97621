"""The message catalogs: complete in every language, placeholders intact, gettext lookups, zh-TW forms."""

from __future__ import annotations

import re
import string
import typing
from datetime import date

import pytest
from babel.messages.pofile import read_po

from lifecycle.documents import catalogs
from lifecycle.documents.locale import LANGS, Formatter, amount_in_words_zh_hant
from lifecycle.domain.model import Locale
from lifecycle.web.i18n import lang_for, translator

PLACEHOLDER = string.Formatter()


def _fields(text: str) -> list[str]:
    return sorted(name for _, name, _, _ in PLACEHOLDER.parse(text) if name is not None)


def _catalog(domain: str, lang: str):  # type: ignore[no-untyped-def]
    with catalogs.catalog_path(domain, lang).open("rb") as fh:
        return read_po(fh)


def test_we_ship_english_simplified_and_traditional_chinese():
    assert LANGS == ("en", "zh-CN", "zh-TW")
    assert str(catalogs.cldr_locale("en")) == "en_GB" and str(catalogs.cldr_locale("zh-TW")) == "zh_Hant_TW"


@pytest.mark.parametrize("domain", catalogs.DOMAINS)
@pytest.mark.parametrize("lang", [lang for lang in LANGS if lang != catalogs.SOURCE])
def test_every_message_is_translated_with_the_same_placeholders(domain: str, lang: str):
    """Each key of the English source is in the language's catalog, translated, with the same ``{x}``."""
    source = catalogs.source(domain)
    found = {str(m.context): m for m in _catalog(domain, lang) if m.id}
    missing = sorted(set(source) - set(found))
    assert not missing, f"{lang} {domain}.po lacks {missing} (run pybabel update)"
    assert not sorted(set(found) - set(source)), f"{lang} {domain}.po has keys the source no longer has"
    for key, english in source.items():
        message = found[key]
        assert message.id == english, f"{lang} {key}: msgid differs from the source (run pybabel update)"
        assert message.string and not message.fuzzy, f"{lang} {domain}.po: '{key}' is not translated"
        assert _fields(message.string) == _fields(english), f"{lang} {key}: placeholders differ"
    problems = [(m.context, [str(e) for e in errors]) for m, errors in _catalog(domain, lang).check()]
    assert not problems, f"{lang} {domain}.po fails gettext's checks (pybabel compile would refuse): {problems}"


def test_a_lookup_goes_through_gettext_with_the_key_as_context():
    zh = catalogs.translations("documents", "zh-CN")
    assert zh.pgettext("doc.acceptance", "Acceptance Certificate") == "项目验收单"
    assert catalogs.messages("documents", "zh-TW")["doc.acceptance"] == "專案驗收證明"
    assert catalogs.messages("documents", "en")["doc.acceptance"] == "Acceptance Certificate"
    # one English text under two keys stays two messages
    assert catalogs.messages("web", "zh-TW")["login.title"] == catalogs.messages("web", "zh-TW")["login.submit"]


def test_traditional_chinese_is_taiwan_usage_not_a_character_swap():
    tw = Formatter("zh-TW")
    assert tw.t("doc.acceptance") == "專案驗收證明"
    assert tw.t("col.deliverable") == "交付項目"
    assert tw.t("status.pass") == "通過"  # not 透過 (by way of)
    texts = "".join(catalogs.messages("documents", "zh-TW").values()) + "".join(
        catalogs.messages("web", "zh-TW").values()
    )
    simplified = re.findall(r"[项这为们个发现过时对关说后实进开业么产经动]", texts)
    assert not simplified, f"simplified characters in the zh-TW catalogs: {sorted(set(simplified))}"
    for mainland in ("项目", "項目經理", "質量", "信息", "數據", "默認", "用戶", "軟件", "視頻", "透過驗收"):
        assert mainland not in texts, mainland


def test_zh_tw_dates_money_and_amounts_in_words():
    tw = Formatter("zh-TW", currency="TWD")
    assert tw.date("2026-03-31") == "2026年3月31日"
    assert tw.money("1234567") == "NT$1,234,567.00"
    assert tw.money("1234.5", "USD") == "US$1,234.50"
    assert amount_in_words_zh_hant(1014000) == "壹佰零壹萬肆仟元整"
    assert tw.amount_words("100010000.5") == "壹億零壹萬元伍角整"
    assert tw.amount_words(-23) == "負貳拾參元整"
    assert tw.datetime("2026-07-22T02:30:00Z") == "2026年7月22日 10:30（臺北時間）"
    assert tw.myriad() == "萬" and Formatter("zh-CN").myriad() == "万" and Formatter("en").myriad() == ""
    assert "Noto Sans CJK TC" in tw.font and '第 " counter(page) " 頁' in tw.page_css()


def test_web_language_follows_the_user_then_the_browser():
    assert lang_for("zh-TW") == "zh-TW" and lang_for("zh-CN") == "zh-CN" and lang_for("en") == "en"
    assert lang_for(None, "zh-Hant-HK,en;q=0.5") == "zh-TW"
    assert lang_for(None, "zh,en;q=0.5") == "zh-CN"
    assert lang_for(None, "fr-FR,en-US;q=0.8") == "en"
    assert lang_for(None, "fr-FR") == "en"
    assert translator("zh-TW")("portfolio.count", shown=2, total=5) == "共 5 個專案，顯示 2 個"


def test_a_zh_tw_document_embeds_the_traditional_chinese_face(tmp_path):
    """Font check: the Chinese sample issued in zh-TW (TWD) is set in Noto Sans CJK TC, not SC."""
    import subprocess

    from lifecycle.services.documents import issue_document
    from tests.documents.conftest import make_ctx, project_for

    today = date(2026, 11, 16)
    project = project_for("tw", "execution", today)
    milestone = next(m.id for m in project.milestones if m.kind == "acceptance")
    doc = issue_document(make_ctx(tmp_path, project, today=today), project.code, "acceptance", milestone=milestone)
    fonts = subprocess.run(["pdffonts", doc.path], capture_output=True, text=True, check=True).stdout
    assert "Noto-Sans-CJK-TC" in fonts and "Noto-Sans-CJK-SC" not in fonts, fonts
    text = subprocess.run(["pdftotext", "-layout", doc.path, "-"], capture_output=True, text=True, check=True).stdout
    assert "專案驗收證明" in text and "第1頁/共5頁" in text.replace(" ", "") and "臺北時間" in text


def test_project_files_and_users_accept_zh_tw(tmp_path):
    from lifecycle.errors import LifecycleError
    from lifecycle.load.projectfile import load_project_file
    from lifecycle.services.identity import LOCALES
    from tests.documents.samples import SAMPLES

    text = SAMPLES["zh"].read_text(encoding="utf-8")
    tw = tmp_path / "tw.yaml"
    tw.write_text(
        text.replace("  locale: zh-CN\n  currency: CNY", "  locale: zh-TW\n  currency: TWD"), encoding="utf-8"
    )
    assert load_project_file(tw).project.charter.locale == "zh-TW"
    hk = tmp_path / "hk.yaml"
    hk.write_text(text.replace("  locale: zh-CN", "  locale: zh-HK"), encoding="utf-8")
    with pytest.raises(LifecycleError, match="locale"):
        load_project_file(hk)
    # a new catalog folder is a new language everywhere: the project-file type names each one
    assert set(LOCALES) == set(LANGS) == set(typing.get_args(Locale))

"""Languages: every catalog complete and faithful to the source, plurals and dates per language."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from bot import PROJECT_ROOT
from bot.i18n import LANGUAGES, LOCALES_DIR, SOURCE_LANGUAGE, Catalogs, language_from_telegram

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
TAG = re.compile(r"</?[a-z]+[^>]*>")
TRANSLATED = [language for language in LANGUAGES if language != SOURCE_LANGUAGE]


@cache
def source_messages() -> frozenset[str | tuple[str, ...]]:
    """Every message the code asks for, extracted the way pybabel does."""
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found: set[str | tuple[str, ...]] = set()
    for package in ("bot", "handlers"):
        for _, _, message, _, _ in extract_from_dir(PROJECT_ROOT / package, keywords=keywords):
            found.add(message if isinstance(message, str) else tuple(message))
    return frozenset(found)


def catalog(language: str) -> Catalog:
    with (LOCALES_DIR / language / "LC_MESSAGES" / "bot.po").open("rb") as handle:
        return read_po(handle, locale=language)


def _key(message_id: str | tuple[str, ...] | list[str]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_has_every_message_of_the_code_and_no_stale_ones(language: str) -> None:
    ids = {_key(m.id) for m in catalog(language) if m.id}
    wanted = {_key(m) for m in source_messages()}
    assert sorted(wanted - ids) == [], f"{language}: missing from the catalog"
    assert sorted(ids - wanted) == [], f"{language}: no longer used by the code"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_faithfully(language: str) -> None:
    problems = []
    for message in catalog(language):
        if not message.id:
            continue
        sources = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = (
            [message.string] if isinstance(message.string, str) else list(message.string or ())
        )
        if not all(strings) or message.fuzzy:
            problems.append(f"untranslated: {sources[0]!r}")
            continue
        wanted = set(PLACEHOLDER.findall(sources[-1]))
        for string in strings:
            if set(PLACEHOLDER.findall(string)) != wanted:
                problems.append(f"placeholders differ: {sources[0]!r} -> {string!r}")
            if sorted(TAG.findall(string)) != sorted(TAG.findall(sources[0])):
                problems.append(f"HTML tags differ: {sources[0]!r} -> {string!r}")
            if string == sources[0] and len(string) > 12:
                problems.append(f"copied, not translated: {string!r}")
    assert problems == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_forms_are_the_languages_own(language: str) -> None:
    expected = get_plural(language)
    assert catalog(language).num_plurals == expected.num_plurals
    for message in catalog(language):
        if message.pluralizable and language != SOURCE_LANGUAGE:
            assert len(message.string or ()) == expected.num_plurals, message.id


def test_each_reader_gets_their_own_language() -> None:
    catalogs = Catalogs()
    welcome = "Welcome back!"
    texts = {language: catalogs.translator(language).gettext(welcome) for language in LANGUAGES}
    assert texts["en"] == welcome
    assert len(set(texts.values())) == len(LANGUAGES)  # five different languages
    assert catalogs.translator("fr").language == SOURCE_LANGUAGE
    assert catalogs.translator("ar").is_rtl and not catalogs.translator("sq").is_rtl


def test_dates_are_formatted_by_babel_in_the_readers_language_and_the_towns_clock() -> None:
    catalogs = Catalogs()
    moment = datetime(2026, 3, 29, 16, 30, tzinfo=UTC)  # after the spring change in Europe
    tirana = catalogs.translator("en").moment(moment, "Europe/Tirane")
    kyiv = catalogs.translator("uk").moment(moment, "Europe/Kyiv")
    assert "6:30" in tirana and "PM" in tirana  # UTC+2 in summer
    assert "19:30" in kyiv and "бер" in kyiv  # березня, UTC+3
    assert "29" in catalogs.translator("it").moment(moment, "Europe/Rome", "full")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("sq", "sq"),
        ("it-IT", "it"),
        ("uk", "uk"),
        ("ar-EG", "ar"),
        ("en_GB", "en"),
        ("fr", None),
        ("", None),
        (None, None),
        ("de-DE", None),
    ],
)
def test_telegram_language_codes_are_matched(code: str | None, expected: str | None) -> None:
    assert language_from_telegram(code) == expected

"""Languages: one Babel catalog per language, a translator per person, dates formatted by Babel."""

from __future__ import annotations

import gettext
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime, format_time, match_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from bot import PROJECT_ROOT

LOCALES_DIR = PROJECT_ROOT / "locales"
DOMAIN = "bot"
SOURCE_LANGUAGE = "en"
# The order is the order of the language buttons; each name is written in its own language.
LANGUAGE_NAMES: dict[str, str] = {
    "sq": "Shqip",
    "en": "English",
    "it": "Italiano",
    "uk": "Українська",
    "ar": "العربية",
}
LANGUAGES: tuple[str, ...] = tuple(LANGUAGE_NAMES)


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, when the reader is known."""
    return message


def language_from_telegram(code: str | None) -> str | None:
    """The supported language matching Telegram's ``language_code`` ("it-IT" -> "it"), if any."""
    if not code:
        return None
    base = code.replace("_", "-").split("-", 1)[0].lower()
    return base if base in LANGUAGE_NAMES else None


@dataclass(frozen=True)
class Translator:
    """Everything language-dependent for one reader: messages, plurals, dates."""

    language: str
    translations: gettext.NullTranslations
    locale: Locale

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    def decimal(self, value: float) -> str:
        """A figure with one decimal, as the reader writes it ("4.3", "4,3")."""
        return format_decimal(value, format="0.0", locale=self.locale)

    def moment(self, moment: datetime, timezone: str, fmt: str = "medium") -> str:
        """A moment as the reader says it, on the clock of ``timezone`` (an event's or town's)."""
        return format_datetime(moment, format=fmt, tzinfo=ZoneInfo(timezone), locale=self.locale)

    def when(self, start: datetime, end: datetime, timezone: str) -> str:
        """An event's date and times, e.g. "Sat, December 5, 2026, 18:00–20:00" in its own zone."""
        zone = ZoneInfo(timezone)
        day = format_datetime(
            start, _skeleton_pattern(self.language, "yMMMMEEEEd"), tzinfo=zone, locale=self.locale
        )
        starts = format_time(start, "short", tzinfo=zone, locale=self.locale)
        if start.astimezone(zone).date() == end.astimezone(zone).date():
            ends = format_time(end, "short", tzinfo=zone, locale=self.locale)
        else:
            ends = self.moment(end, timezone, "short")
        return f"{day}, {starts} – {ends}"

    @property
    def is_rtl(self) -> bool:
        return self.locale.character_order == "right-to-left"


@cache
def _skeleton_pattern(language: str, skeleton: str) -> str:
    """The locale's pattern for a skeleton; Babel would search all skeletons on every call."""
    skeletons = Locale.parse(language).datetime_skeletons
    if skeleton not in skeletons:
        skeleton = match_skeleton(skeleton, skeletons) or skeleton
    return str(skeletons[skeleton])


class Catalogs:
    """All translators, loaded once from the .po files at start."""

    def __init__(self, directory: Path = LOCALES_DIR, languages: Iterable[str] = LANGUAGES) -> None:
        self._translators: dict[str, Translator] = {}
        for language in languages:
            self._translators[language] = Translator(
                language=language,
                translations=_load(directory, language),
                locale=Locale.parse(language),
            )

    def translator(self, language: str | None, fallback: str = SOURCE_LANGUAGE) -> Translator:
        if language and language in self._translators:
            return self._translators[language]
        return self._translators[fallback]

    def __iter__(self) -> Iterator[Translator]:
        return iter(self._translators.values())

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._translators)


def _load(directory: Path, language: str) -> gettext.NullTranslations:
    po_path = directory / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.is_file():
        if language == SOURCE_LANGUAGE:
            return gettext.NullTranslations()
        raise FileNotFoundError(f"no catalog for {language!r} at {po_path}")
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    # Compiling in memory keeps the .po the single source: no stale .mo can be shipped.
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)

"""Text as Telegram counts it, and whole numbers as people type them."""

from __future__ import annotations

import re
from html import unescape

_TAG = re.compile(r"<[^>]*>")
_MAX_DIGITS = 18  # beyond any count the bot asks for, and within a 64-bit integer


def utf16_units(text: str) -> int:
    """Telegram's length of a text: UTF-16 code units (an emoji is often two)."""
    return len(text.encode("utf-16-le")) // 2


def visible_units(html: str) -> int:
    """Telegram's length of a message written in HTML: after the tags and the entities ("&" is
    written "&amp;" but counts one)."""
    return utf16_units(unescape(_TAG.sub("", html)))


def whole_number(text: str | None, low: int, high: int) -> int | None:
    """The whole number typed, if it lies from ``low`` to ``high``; None for anything else.

    Decimal digits of every script count ("٣" is 3); "²" is a digit but not a number.
    """
    value = (text or "").strip()
    if not value.isdecimal() or len(value) > _MAX_DIGITS:
        return None
    number = int(value)
    return number if low <= number <= high else None

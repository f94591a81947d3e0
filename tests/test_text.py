"""Text as Telegram counts it, and whole numbers as people type them."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInput
from bot.events import MAX_CAPACITY, check_capacity
from bot.text import utf16_units, visible_units, whole_number


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("12", 12),
        (" 7 ", 7),
        ("٣", 3),  # Arabic-Indic digits are digits people type
        ("²", None),  # a digit, not a number
        ("①", None),
        ("-3", None),
        ("3.5", None),
        ("", None),
        (None, None),
        ("0", None),  # below the range
        ("101", None),  # above it
        ("9" * 40, None),
    ],
)
def test_whole_number(typed: str | None, expected: int | None) -> None:
    assert whole_number(typed, 1, 100) == expected


def test_seats_as_typed() -> None:
    assert check_capacity(" 40 ") == 40
    for typed in ("0", "²", str(MAX_CAPACITY + 1), "many", "-"):
        with pytest.raises(InvalidInput) as caught:
            check_capacity(typed)
        assert caught.value.message.startswith("The number of seats must be a whole number")


def test_lengths_as_telegram_counts_them() -> None:
    assert utf16_units("😀a") == 3
    assert visible_units("<b>&amp;</b> 😀") == 4

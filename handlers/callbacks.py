"""The one codec for callback data: "action:arg:arg", checked against Telegram's 64-byte limit.

Callback data comes back from any client and can be forged: decoding only splits it; the
services decide whether what it asks for is allowed.
"""

from __future__ import annotations

import re

from telegram import Update

from bot.errors import InvalidInput

MAX_BYTES = 64
SEPARATOR = ":"
ACTION = re.compile(r"^[a-z][a-z_]{0,15}$")


def encode(action: str, *args: str | int) -> str:
    if not ACTION.match(action):
        raise ValueError(f"bad callback action {action!r}")
    parts = [action, *(str(arg) for arg in args)]
    if any(SEPARATOR in part for part in parts[1:]):
        raise ValueError("callback arguments must not contain the separator")
    data = SEPARATOR.join(parts)
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def pattern(action: str) -> re.Pattern[str]:
    """The CallbackQueryHandler pattern matching one action."""
    return re.compile(rf"^{re.escape(action)}(?:{SEPARATOR}|$)")


def args(update: Update, count: int) -> list[str]:
    """The arguments of the button press this update carries."""
    query = update.callback_query
    return decode(query.data if query is not None else None, count)


def int_args(update: Update, count: int) -> list[int]:
    """The arguments of the button press, each a whole number (else the press was forged)."""
    return [as_int(arg) for arg in args(update, count)]


def decode(data: str | None, count: int) -> list[str]:
    """The ``count`` arguments after the action; a forged shape is refused, not guessed at."""
    parts = (data or "").split(SEPARATOR)[1:]
    if len(parts) != count:
        raise InvalidInput()
    return parts


def as_int(arg: str) -> int:
    """A whole-number argument; anything else came from a forged or broken button."""
    if not re.fullmatch(r"[0-9]{1,18}", arg):
        raise InvalidInput()
    return int(arg)

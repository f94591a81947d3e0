"""The one codec for callback data: "action:arg:arg", checked against Telegram's 64-byte limit.

Callback data comes back from any client and can be forged: decoding only splits it; the
services decide whether what it asks for is allowed.
"""

from __future__ import annotations

import re

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


def decode(data: str | None) -> list[str]:
    """The arguments after the action."""
    if not data:
        return []
    return data.split(SEPARATOR)[1:]


def int_arg(args: list[str], index: int) -> int | None:
    """An integer argument, or None if missing or not a number (a forged or stale button)."""
    if index >= len(args) or not re.fullmatch(r"-?[0-9]{1,18}", args[index]):
        return None
    return int(args[index])

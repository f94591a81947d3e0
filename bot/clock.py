"""The bot's idea of now, in one place: tests move it forward instead of waiting for reminders."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.db import utcnow


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)

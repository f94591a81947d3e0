"""Logging for the process: one handler, other libraries kept above DEBUG, secrets redacted.

python-telegram-bot logs every update and every call's parameters at DEBUG (the text people
send, the button data of their votes), and every Bot API URL holds the token. So at any level
the libraries' loggers stay at INFO or above, and whatever is written passes a filter that
replaces the token, anything shaped like a bot token, and the webhook secret.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"
# The lowest level each library may log at, whatever --log-level says.
LIBRARY_LEVELS = {
    "telegram": logging.INFO,
    "telegram.ext": logging.INFO,
    # httpx logs every request's URL at INFO, and the URL carries the token.
    "httpx": logging.WARNING,
    "httpcore": logging.INFO,
    "aiosqlite": logging.INFO,
    "apscheduler": logging.INFO,
}
# Errors raised by the outside world rather than by the bot's code: logged in one line.
OUTSIDE_ERRORS = frozenset({"telegram", "httpx", "httpcore", "anyio", "ssl", "socket"})
TOKEN_SHAPE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{30,}")


class Redactor(logging.Filter):
    """Replaces the secrets, and anything shaped like a bot token, in a record's text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return TOKEN_SHAPE.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a log call whose arguments do not fit its message
            # logging's own fallback would print the raw arguments, secrets and all.
            message = f"{record.msg} (arguments that do not fit: {record.args!r})"
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and type(error).__module__.split(".")[0] in OUTSIDE_ERRORS:
            # Telegram or the network said no (a 401, a 409, no connection): what it said is
            # the news, on the same line; a traceback through the libraries says nothing more.
            message = f"{message} ({type(error).__name__}: {error})"
            record.exc_info = record.exc_text = None
        redacted = self.redact(message)
        if redacted != record.msg or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # A traceback can quote a URL (an httpx error): formatted and redacted here.
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        return True


def secrets_from_environment() -> list[str]:
    """The token (and its secret half) and the webhook secret, as the process was given them."""
    token = os.environ.get("BOT_TOKEN", "").strip()
    found = [token, token.partition(":")[2]]
    found.append(os.environ.get("BASHKE_WEBHOOK_SECRET", "").strip())
    return [s for s in found if s]


def handler(stream: TextIO | None = None) -> logging.Handler:
    """A handler that writes redacted lines (to stderr by default)."""
    written = logging.StreamHandler(stream)
    written.setFormatter(logging.Formatter(FORMAT))
    written.addFilter(Redactor(secrets_from_environment()))
    return written


def set_up(level: str, stream: TextIO | None = None) -> None:
    """The process's logging: ``level`` for the bot's own loggers (INFO if unknown)."""
    name = level.upper()
    chosen = logging.getLevelNamesMapping().get(name, logging.INFO)
    root = logging.getLogger()
    root.setLevel(chosen)
    # Set up again (the CLI run twice in one process, as tests do): one handler of ours, not two.
    for old in [
        h for h in root.handlers if isinstance(h.filters[0] if h.filters else None, Redactor)
    ]:
        root.removeHandler(old)
    root.addHandler(handler(stream))
    for library, lowest in LIBRARY_LEVELS.items():
        logging.getLogger(library).setLevel(max(lowest, chosen))


def redact(text: str) -> str:
    """``text`` with the process's secrets and anything shaped like a token replaced."""
    return Redactor(secrets_from_environment()).redact(text)

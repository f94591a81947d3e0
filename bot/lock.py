"""One bot per database: an exclusive lock held for the process's whole life.

Two bots on one database would both poll Telegram and send every outbox row twice. The lock is
``flock`` on ``<database>.lock``: the kernel releases it when the process ends, however it
ends (SIGKILL included), so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.db import PRIVATE, DatabaseFileError


class AlreadyRunning(Exception):
    """Another process holds the database's lock."""


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextmanager
def single_instance(database: Path) -> Iterator[None]:
    """Hold the database's lock until the block ends; refuse if someone else holds it."""
    path = lock_path(database)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, PRIVATE)
    except OSError as exc:
        raise DatabaseFileError(f"cannot open {path}: {exc.strerror or exc}") from None
    try:
        with contextlib.suppress(OSError):  # a lock file made before, wider: the bot's user only
            os.fchmod(descriptor, PRIVATE)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(
                f"a bot is already running on {database} (it holds {path}); stop it first"
            ) from None
        yield
    finally:
        os.close(descriptor)  # closing the last descriptor releases the lock

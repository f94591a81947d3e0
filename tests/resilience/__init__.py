"""The resilience suite: the bot killed with SIGKILL and restarted during an announcement
(test_broadcast), reminders (test_reminders), a story's submission and a moderation decision
(test_story); and every handler meeting Telegram's 429, 403, 5xx and time-outs (test_faults).

Starting and killing a bot process, and reading the database it leaves, is in tests/process.py;
the waits these tests share are here.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable

from tests.botapi import BotApiDouble


async def until_calls(
    double: BotApiDouble,
    done: Callable[[], bool],
    timeout: float,  # noqa: ASYNC109
) -> None:
    """Wait, call after call to the double, until ``done()``; fail after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not done():
            start = len(double.calls)
            # The double's own wait is bounded too; a quiet spell just checks again.
            with contextlib.suppress(TimeoutError):
                await double.wait_for(lambda _: True, timeout=1.0, start=start)


async def eventually(
    check: Callable[[], bool | Awaitable[bool]],
    timeout: float,  # noqa: ASYNC109
) -> None:
    """Wait until ``check()`` holds (a look at the database, which sends no signal)."""
    async with asyncio.timeout(timeout):
        while True:
            result = check()
            if await result if inspect.isawaitable(result) else result:
                return
            await asyncio.sleep(0.05)

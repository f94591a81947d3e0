"""Updates of different people run concurrently; one person's updates run in the order they came."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerPersonUpdateProcessor(BaseUpdateProcessor):
    """A lock per person, held only while that person has updates in flight.

    Without it a double tap could run twice in parallel; with one global order, one slow
    Telegram call would hold everyone up.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self._progress = asyncio.Condition()
        self.processed = 0

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _person_key(update)
        if key is None:
            try:
                await coroutine
            finally:
                await self._count_one()
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                # Forget idle people so the map holds only those with updates in flight.
                del self._waiting[key]
                del self._locks[key]
            await self._count_one()

    async def _count_one(self) -> None:
        async with self._progress:
            self.processed += 1
            self._progress.notify_all()

    async def wait_until_processed(self, count: int) -> None:
        """Wait until ``count`` updates have been handled (for tests and benchmarks)."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.processed >= count)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def _person_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None

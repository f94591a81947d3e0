"""Updates of different people run concurrently; one person's updates run in the order they came,
and one person's flood is cut short instead of slowing down everyone else."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeGuard

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor

from bot.i18n import N_
from handlers.context import BashkeApp, BashkeContext, load_reader

log = logging.getLogger(__name__)

# How many of one person's updates may wait behind the one running; the next are skipped.
# Telegram delivers an album as one message per item, up to 10: a whole album sent while an
# earlier message is still being answered fits. At 100-300 ms per answer the last of them is
# answered within 1-3 s; more than that is not a person typing but a script or a stuck key.
MAX_WAITING_PER_PERSON = 10

# What a flooding person is told: what became of their messages, and what to do.
SLOW_DOWN = N_(
    "You sent many messages very quickly, so I skipped some of them. "
    "Please wait a moment, then send your message again."
)

# Told once to a person whose updates are being skipped; sent in the order of their updates.
FloodNotice = Callable[[Update], Awaitable[None]]


class PerPersonUpdateProcessor(BaseUpdateProcessor):
    """A lock per person, held only while that person has updates in flight.

    Without it a double tap could run twice in parallel; with one global order, one slow
    Telegram call would hold everyone up. A person's turn comes before one of the
    ``max_concurrent_updates`` slots: updates waiting for their turn hold no slot, so a person
    with a long queue holds one slot, not all of them. Beyond ``max_waiting`` waiting updates,
    that person's messages and taps are skipped (not read, not stored): a skipped tap's spinner
    is stopped (one such answer at a time, in one slot shared by everyone's skipped taps), and
    ``flood_notice`` tells the person once, after the answers to what was kept. Once their
    queue is empty, a new flood is told again.
    """

    def __init__(
        self, max_concurrent_updates: int, max_waiting: int = MAX_WAITING_PER_PERSON
    ) -> None:
        super().__init__(max_concurrent_updates)
        self.max_waiting = max_waiting
        self.flood_notice: FloodNotice | None = None
        self._locks: dict[int, asyncio.Lock] = {}
        # Per person: updates taken in and not finished, the running one included.
        self._waiting: dict[int, int] = {}
        # People told about their flood since their queue was last empty.
        self._told: set[int] = set()
        # Skipped taps are answered one at a time, whoever sent them.
        self._skipped_taps = asyncio.Lock()
        self._progress = asyncio.Condition()
        self.processed = 0

    async def process_update(  # type: ignore[misc]  # the turn is taken before the slot
        self, update: object, coroutine: Awaitable[Any]
    ) -> None:
        """PTB's own takes a slot first and then calls ``do_process_update``: a person's
        waiting updates would each hold a slot, and one person's flood would hold them all."""
        key = _person_key(update)
        try:
            if key is None:
                await self.do_process_update(update, coroutine)
            elif self._waiting.get(key, 0) > self.max_waiting and _skippable(update):
                _discard(coroutine)
                await self._skip(key, update)
            else:
                await self._in_turn(key, self.do_process_update(update, coroutine))
        finally:
            await self._count_one()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Runs one update in one of the slots, once its person's turn has come."""
        async with self._semaphore:
            await coroutine

    async def _in_turn(self, key: int, work: Awaitable[None]) -> None:
        lock = self._enter(key)
        try:
            async with lock:
                await work
        finally:
            self._leave(key)

    def _enter(self, key: int) -> asyncio.Lock:
        """Take a place in the person's queue; no await, so places follow arrival."""
        self._waiting[key] = self._waiting.get(key, 0) + 1
        return self._locks.setdefault(key, asyncio.Lock())

    def _leave(self, key: int) -> None:
        self._waiting[key] -= 1
        if not self._waiting[key]:
            # Forget idle people so the maps hold only those with updates in flight.
            del self._waiting[key]
            del self._locks[key]
            self._told.discard(key)

    async def _skip(self, key: int, update: Update) -> None:
        log.debug(
            "update %s skipped: %s of its sender's are waiting", update.update_id, self.max_waiting
        )
        notice = self.flood_notice
        if key in self._told or notice is None:
            await self._stop_spinner(update)
            return
        log.info("update %s and more of its sender's skipped; they are told once", update.update_id)
        self._told.add(key)
        # The notice takes its place in the queue at once: the flood is remembered (and told
        # once) until the notice is sent, however long the skipped taps wait to be answered.
        lock = self._enter(key)
        try:
            await self._stop_spinner(update)
            async with lock, self._semaphore:
                await notice(update)
        except TelegramError as exc:
            log.warning("could not ask a person to slow down: %s", exc)
        finally:
            self._leave(key)

    async def _stop_spinner(self, update: Update) -> None:
        """A skipped tap is answered without a word, one at a time whoever tapped."""
        if update.callback_query is None:
            return
        async with self._skipped_taps, self._semaphore:
            try:
                await update.callback_query.answer()
            except TelegramError as exc:
                log.info("could not stop the spinner of a skipped tap: %s", exc)

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


async def ask_to_slow_down(app: BashkeApp, update: Update) -> None:
    """The flood notice: in the person's language, as every answer is."""
    chat = update.effective_chat
    if chat is None or chat.type != "private":
        return
    context = BashkeContext.from_update(update, app)
    await load_reader(update, context)
    await chat.send_message(context.tr.gettext(SLOW_DOWN))


def _person_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


def _skippable(update: object) -> TypeGuard[Update]:
    """What a person sends; a change of membership (blocking the bot) is always handled."""
    return isinstance(update, Update) and (
        update.message is not None or update.callback_query is not None
    )


def _discard(coroutine: Awaitable[Any]) -> None:
    if isinstance(coroutine, Coroutine):
        coroutine.close()  # never started: no "was never awaited" warning

"""The outbox: everything the bot sends that is not a direct reply, delivered by one paced sender.

Rows are the truth: a reminder is a row with a "not before" time, a restart picks up the
pending rows, and a row is rendered only when it is sent — in the reader's language of that
moment, from the current state of what it is about (a moved event, a cancelled one).

Delivery guarantee: a row is marked sent right after Telegram accepts it. A crash (SIGKILL)
between Telegram's answer and that mark can repeat only the messages in flight at that instant:
at most ``max_in_flight`` messages, each at most once. When the database cannot record an
outcome (a full disk), the sender keeps it in memory, skips the row, sends nothing new, and
writes it as soon as the database takes writes again: a message Telegram accepted is never
sent again because it could not be recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any, Protocol

from bot import people
from bot.clock import Clock
from bot.db import Database, Transaction, from_db_time, to_db_time
from bot.i18n import Catalogs, Translator

log = logging.getLogger(__name__)
# Calls are spaced 2 % wider than the rate asks: the network's jitter can bring two calls closer
# on arrival than they were at departure, and Telegram counts arrivals.
PACE_MARGIN = 1.02

Buttons = tuple[tuple[tuple[str, str], ...], ...]


@dataclass(frozen=True)
class OutgoingMessage:
    """What a renderer produces; the transport turns it into one Bot API call."""

    text: str
    buttons: Buttons = ()  # rows of (label, callback data)
    document: tuple[str, bytes] | None = None  # (file name, content)
    photo: bytes | None = None
    photo_id: str | None = None  # a photo Telegram already has, sent again by its file id


class RowStatus(StrEnum):
    """Where an outbox row stands (the column ``outbox.status``)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class DeliveryError(Exception):
    """The transport could not deliver; the kind says what the sender does next."""


class RetryLater(DeliveryError):
    """Telegram asked everyone to wait (429): the whole sender pauses."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class Blocked(DeliveryError):
    """The person blocked the bot (403): they are marked and skipped from now on."""


class Transient(DeliveryError):
    """A 5xx or a time-out: tried again later, with growing pauses."""


class Permanent(DeliveryError):
    """Telegram refused this message for good (e.g. the chat does not exist)."""


class Transport(Protocol):
    async def deliver(self, chat_id: int, message: OutgoingMessage) -> None: ...


ENQUEUE = (
    "INSERT OR IGNORE INTO outbox (chat_id, kind, params, subject, dedupe_key,"
    " not_before, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class Queued:
    """A message to queue: to whom, what (a kind its renderer knows), and when."""

    chat_id: int
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    not_before: datetime | None = None
    expires_at: datetime | None = None
    subject: str | None = None
    dedupe_key: str | None = None


@dataclass(frozen=True)
class OutboxRow:
    id: int
    chat_id: int
    kind: str
    params: dict[str, Any]
    subject: str | None
    attempts: int


Renderer = Callable[[OutboxRow, Translator], Awaitable[OutgoingMessage | None]]
# What a delivery leaves to write down (mark sent, postpone, ...), kept to retry if it fails.
Outcome = Callable[[], Awaitable[None]]


class Outbox:
    """Queue rows inside the caller's transaction; render them when the sender asks."""

    def __init__(
        self, db: Database, catalogs: Catalogs, default_language: str, clock: Clock
    ) -> None:
        self._db = db
        self.clock = clock
        self._catalogs = catalogs
        self._default_language = default_language
        self._renderers: dict[str, Renderer] = {}
        self._kinds: set[str] = set()
        self.wake = asyncio.Event()

    async def forget(self, tx: Transaction, telegram_id: int) -> bool:
        """/deleteme: everything queued for them, sent or not: its chat id, dedupe key and
        subject ("story:3") would link them to what stayed anonymous."""
        return bool(await tx.execute("DELETE FROM outbox WHERE chat_id = ?", (telegram_id,)))

    def declare(self, *kinds: str) -> None:
        """The kinds a service queues: each must have a renderer before the bot starts."""
        self._kinds.update(kinds)

    def missing_renderers(self) -> set[str]:
        """Declared kinds nobody renders: checked at start-up (handlers/application.py)."""
        return self._kinds - set(self._renderers)

    def register(self, kind: str, renderer: Renderer) -> None:
        if kind in self._renderers:
            raise ValueError(f"a renderer for {kind!r} is registered already")
        self._renderers[kind] = renderer

    def enqueue(
        self,
        tx: Transaction,
        chat_id: int,
        kind: str,
        params: dict[str, Any] | None = None,
        *,
        not_before: datetime | None = None,
        expires_at: datetime | None = None,
        subject: str | None = None,
        dedupe_key: str | None = None,
    ) -> None:
        """Queue one message as part of the caller's change (once per ``dedupe_key``)."""
        self.enqueue_all(
            tx, [Queued(chat_id, kind, params or {}, not_before, expires_at, subject, dedupe_key)]
        )

    def enqueue_all(self, tx: Transaction, messages: list[Queued]) -> None:
        """Queue several messages in one statement, sent with the caller's next one."""
        self._check_declared(m.kind for m in messages)
        now = self.clock()
        tx.defer_many(
            ENQUEUE,
            [
                (
                    m.chat_id,
                    m.kind,
                    json.dumps(m.params, ensure_ascii=False),
                    m.subject,
                    m.dedupe_key,
                    to_db_time(m.not_before or now),
                    to_db_time(m.expires_at) if m.expires_at else None,
                    to_db_time(now),
                )
                for m in messages
            ],
        )
        self._wake_if_due(min((m.not_before or now for m in messages), default=None), now)

    def enqueue_many(
        self,
        tx: Transaction,
        chat_ids: list[int],
        kind: str,
        params: dict[str, Any],
        *,
        not_before: datetime,
        subject: str,
    ) -> None:
        """One message to many people (an announcement), each row keyed to be queued once."""
        self._check_declared([kind])
        now = self.clock()
        text = json.dumps(params, ensure_ascii=False)
        created, at = to_db_time(now), to_db_time(not_before)
        tx.defer_many(
            ENQUEUE,
            [
                (chat_id, kind, text, subject, f"{subject}:{chat_id}", at, None, created)
                for chat_id in chat_ids
            ],
        )
        self._wake_if_due(not_before if chat_ids else None, now)

    def _check_declared(self, kinds: Iterable[str]) -> None:
        undeclared = set(kinds) - self._kinds
        if undeclared:
            raise ValueError(f"outbox kinds never declared: {sorted(undeclared)}")

    def _wake_if_due(self, earliest: datetime | None, now: datetime) -> None:
        # A row for later is found by the sender's regular poll; waking it now would cost a
        # pass over the table on every join (two reminders) for nothing.
        if earliest is not None and earliest <= now:
            self.wake.set()

    async def cancel(
        self, tx: Transaction, subject: str, *, kind: str | None = None, chat_id: int | None = None
    ) -> int:
        """Withdraw the pending rows about ``subject`` (of one kind, for one chat)."""
        return await tx.execute(
            "UPDATE outbox SET status = 'cancelled' WHERE subject = ? AND status = 'pending'"
            " AND (? IS NULL OR kind = ?) AND (? IS NULL OR chat_id = ?)",
            (subject, kind, kind, chat_id, chat_id),
        )

    async def due(self, now: datetime, limit: int, skip: set[int]) -> list[tuple[OutboxRow, Any]]:
        rows = await self._db.fetchall(
            "SELECT o.id, o.chat_id, o.kind, o.params, o.subject, o.attempts, o.expires_at,"
            " p.language, p.blocked_at FROM outbox o"
            " LEFT JOIN people p ON p.telegram_id = o.chat_id"
            # The oldest due row of each chat only: one busy chat (a channel, a long
            # announcement) cannot fill the pass and starve everyone else, and a chat's
            # messages keep their order.
            " WHERE o.id IN (SELECT MIN(id) FROM outbox WHERE status = 'pending'"
            "  AND not_before <= ? GROUP BY chat_id)"
            " ORDER BY o.not_before, o.id LIMIT ?",
            (to_db_time(now), limit + len(skip)),
        )
        return [
            (
                OutboxRow(
                    id=row["id"],
                    chat_id=row["chat_id"],
                    kind=row["kind"],
                    params=json.loads(row["params"]),
                    subject=row["subject"],
                    attempts=row["attempts"],
                ),
                row,
            )
            for row in rows
            if row["id"] not in skip
        ][:limit]

    async def render(self, row: OutboxRow, language: str | None) -> OutgoingMessage | None:
        translator = self._catalogs.translator(language or self._default_language)
        renderer = self._renderers.get(row.kind)
        if renderer is None:
            raise LookupError(f"no renderer for outbox kind {row.kind!r}")
        return await renderer(row, translator)

    async def mark(self, row_id: int, status: RowStatus, error: str | None = None) -> None:
        await self._db.execute(
            "UPDATE outbox SET status = ?, last_error = ?,"
            " sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
            (status, error, status, to_db_time(self.clock()), row_id),
        )

    async def postpone(self, row_id: int, until: datetime, error: str, count_attempt: bool) -> None:
        await self._db.execute(
            "UPDATE outbox SET not_before = ?, last_error = ?, attempts = attempts + ?"
            " WHERE id = ?",
            (to_db_time(until), error, int(count_attempt), row_id),
        )

    async def mark_blocked(self, chat_id: int) -> None:
        """The person blocked the bot: remember it, and drop what was waiting for them."""
        async with self._db.transaction() as tx:
            people.mark_blocked_in(tx, chat_id, to_db_time(self.clock()))
            await tx.execute(
                "UPDATE outbox SET status = 'blocked' WHERE chat_id = ? AND status = 'pending'",
                (chat_id,),
            )

    async def counts(self, subject: str | None = None) -> dict[str, int]:
        rows = await self._db.fetchall(
            "SELECT status, COUNT(*) AS n FROM outbox WHERE ? IS NULL OR subject = ?"
            " GROUP BY status",
            (subject, subject),
        )
        return {row["status"]: row["n"] for row in rows}


@dataclass
class Sender:
    """The one sender: paced overall, one message a second per chat, honours Telegram's waits."""

    outbox: Outbox
    transport: Transport
    rate_per_second: float = 25.0
    per_chat_interval: float = 1.0
    max_in_flight: int = 16
    max_attempts: int = 8
    poll_interval: float = 1.0
    _in_flight: dict[int, int] = field(default_factory=dict)  # row id -> chat id
    _last_to_chat: dict[int, float] = field(default_factory=dict)
    _next_slot: float = 0.0
    _paused_until: float = 0.0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    # Outcomes the database could not record yet, by row id: those rows are not sent again.
    _unrecorded: dict[int, Outcome] = field(default_factory=dict)
    _departures: deque[float] = field(init=False)  # the last rate_per_second calls' times

    def __post_init__(self) -> None:
        self._departures = deque(maxlen=max(1, int(self.rate_per_second)))

    async def run(self) -> None:
        """Deliver until cancelled; sleeps until woken by a new row or the next poll."""
        while True:
            # Cleared before the pass, so a row queued during it wakes the next one at once.
            self.outbox.wake.clear()
            try:
                deferred = await self.deliver_due()
            except Exception:
                log.exception("the outbox sender failed a pass; trying again")
                deferred = False
            timeout = 0.05 if deferred else self.poll_interval
            # asyncio.timeout, not wait_for: Python 3.11's wait_for swallows a cancellation
            # that arrives as the wake-up does, and the sender would never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self.outbox.wake.wait()

    async def drain(self) -> None:
        """Wait for the messages in flight (on shutdown, and in tests)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._unrecorded and not await self._record_kept():
            log.error(
                "the database could not record outbox rows %s; they may be sent again after"
                " a restart",
                sorted(self._unrecorded),
            )

    async def deliver_due(self) -> bool:
        """One pass over what is due; True if something due had to wait for its chat's turn."""
        if self._unrecorded and not await self._record_kept():
            return False  # paused: nothing new goes out while the database refuses writes
        now = self.outbox.clock()
        deferred = False
        rows = await self.outbox.due(
            now, limit=200, skip=set(self._in_flight) | set(self._unrecorded)
        )
        for row, extra in rows:
            if self._unrecorded:
                break  # a delivery of this pass could not be recorded: pause
            if extra["expires_at"] and from_db_time(extra["expires_at"]) <= now:
                await self.outbox.mark(row.id, RowStatus.EXPIRED)
                continue
            if extra["blocked_at"]:
                await self.outbox.mark(row.id, RowStatus.BLOCKED)
                continue
            busy_chats = set(self._in_flight.values())
            last = self._last_to_chat.get(row.chat_id, -1e9)
            if row.chat_id in busy_chats or time.monotonic() - last < self.per_chat_interval:
                deferred = True
                continue
            while len(self._in_flight) >= self.max_in_flight:
                await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
            message = await self._render(row, extra["language"])
            if message is None:
                continue
            # Paced after the render, right before the call: a render held up by a busy
            # database cannot bunch the calls up, nor slip one into a pause Telegram asked for.
            await self._pace()
            self._in_flight[row.id] = row.chat_id
            self._last_to_chat[row.chat_id] = time.monotonic()
            task = asyncio.create_task(self._deliver(row, message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self._forget_quiet_chats()
        return deferred

    async def _pace(self) -> None:
        # Calls on an evenly spaced grid never put more than rate_per_second of them in any one
        # second. A call a little late (a sleep overshoots, the loop was busy) keeps the grid, so
        # the lateness is not lost for good; one half a slot late or more, or after a pause,
        # starts a new grid: no two calls come closer than half a slot. And whatever the grid
        # does, no PACE_MARGIN seconds hold more than rate_per_second calls, so the network's
        # jitter cannot bring more than that into any one second on arrival.
        interval = PACE_MARGIN / self.rate_per_second
        departures = self._departures
        while True:
            now = time.monotonic()
            start = max(self._next_slot, self._paused_until)
            if len(departures) == departures.maxlen:
                start = max(start, departures[0] + PACE_MARGIN)
            if start <= now:
                departures.append(now)
                on_grid = (
                    self._next_slot >= self._paused_until and now - self._next_slot < interval / 2
                )
                self._next_slot = (self._next_slot if on_grid else now) + interval
                return
            await asyncio.sleep(start - now)

    async def _render(self, row: OutboxRow, language: str | None) -> OutgoingMessage | None:
        """The row's message as of now; None, and the row closed, when there is none."""
        try:
            message = await self.outbox.render(row, language)
        except Exception as exc:
            log.exception("outbox row %s could not be rendered", row.id)
            await self.outbox.mark(row.id, RowStatus.FAILED, type(exc).__name__)
            return None
        if message is None:
            await self.outbox.mark(row.id, RowStatus.CANCELLED)
        return message

    async def _deliver(self, row: OutboxRow, message: OutgoingMessage) -> None:
        try:
            outcome = await self._send(row, message)
            await self._record(row.id, outcome)
        finally:
            self._in_flight.pop(row.id, None)
            self.outbox.wake.set()

    async def _send(self, row: OutboxRow, message: OutgoingMessage) -> Outcome:
        """One call to Telegram; what it leaves to write down about the row."""
        outbox = self.outbox
        try:
            await self.transport.deliver(row.chat_id, message)
        except RetryLater as exc:
            self._paused_until = max(self._paused_until, time.monotonic() + exc.seconds)
            until = outbox.clock() + timedelta(seconds=exc.seconds)
            return partial(outbox.postpone, row.id, until, str(exc), count_attempt=False)
        except Blocked:

            async def blocked() -> None:
                await outbox.mark(row.id, RowStatus.BLOCKED)
                await outbox.mark_blocked(row.chat_id)

            return blocked
        except Transient as exc:
            if row.attempts + 1 >= self.max_attempts:
                return partial(outbox.mark, row.id, RowStatus.FAILED, str(exc))
            backoff = min(300.0, 2.0 ** (row.attempts + 1))
            until = outbox.clock() + timedelta(seconds=backoff)
            return partial(outbox.postpone, row.id, until, str(exc), count_attempt=True)
        except Permanent as exc:
            log.warning("outbox row %s refused for good: %s", row.id, exc)
            return partial(outbox.mark, row.id, RowStatus.FAILED, str(exc))
        except Exception as exc:
            log.exception("outbox row %s could not be sent", row.id)
            return partial(outbox.mark, row.id, RowStatus.FAILED, type(exc).__name__)
        return partial(outbox.mark, row.id, RowStatus.SENT)

    async def _record(self, row_id: int, outcome: Outcome) -> None:
        """Write the outcome down; if the database refuses, keep it to write later."""
        try:
            await outcome()
        except Exception as exc:
            if not self._unrecorded:
                log.error(
                    "the database cannot record deliveries (%s); sending paused until it can", exc
                )
            self._unrecorded[row_id] = outcome

    async def _record_kept(self) -> bool:
        """Write the kept outcomes; True once all are written (and sending may go on)."""
        for row_id, outcome in list(self._unrecorded.items()):
            try:
                await outcome()
            except Exception:
                return False
            del self._unrecorded[row_id]
        log.warning("the database records deliveries again; sending goes on")
        return True

    def _forget_quiet_chats(self) -> None:
        if len(self._last_to_chat) > 10_000:
            horizon = time.monotonic() - self.per_chat_interval
            self._last_to_chat = {c: t for c, t in self._last_to_chat.items() if t > horizon}

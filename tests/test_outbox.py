"""The outbox sender against a fake transport, over a real SQLite file: pace, order, failures."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.config import Config
from bot.db import Database, from_db_time, to_db_time, utcnow
from bot.i18n import Translator
from bot.outbox import (
    PACE_MARGIN,
    Blocked,
    DeliveryError,
    OutboxRow,
    OutgoingMessage,
    Permanent,
    RetryLater,
    Sender,
    Transient,
)
from bot.services import Services
from handlers.application import build_application

NOTE = "test_note"
# A rate so high that pacing never slows the tests that are not about pacing.
FAST = 1000.0


@dataclass(frozen=True)
class Sent:
    at: float  # time.monotonic() when the transport was asked
    chat_id: int
    text: str


@dataclass
class FakeTransport:
    """Records every call; raises the errors queued for a chat, one per call, in order."""

    calls: list[Sent] = field(default_factory=list)
    errors: dict[int, list[DeliveryError]] = field(default_factory=dict)
    always: dict[int, DeliveryError] = field(default_factory=dict)
    latency: float = 0.0
    # When each RetryLater was raised, i.e. when the sender learnt it had to wait.
    told_to_wait: list[float] = field(default_factory=list)
    _called: asyncio.Event = field(default_factory=asyncio.Event)

    async def deliver(self, chat_id: int, message: OutgoingMessage) -> None:
        self.calls.append(Sent(time.monotonic(), chat_id, message.text))
        self._called.set()
        if self.latency:
            await asyncio.sleep(self.latency)
        if chat_id in self.always:
            raise self.always[chat_id]
        queued = self.errors.get(chat_id)
        if queued:
            error = queued.pop(0)
            if isinstance(error, RetryLater):
                self.told_to_wait.append(time.monotonic())
            raise error

    async def wait_for_calls(self, count: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while len(self.calls) < count:
                self._called.clear()
                await self._called.wait()

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [c.text for c in self.calls if chat_id is None or c.chat_id == chat_id]


def use_notes(services: Services) -> None:
    """The test kind: its text from the row, read at send time from the database like the real
    renderers (which read the event), withdrawn when the row says so."""

    async def render(row: OutboxRow, tr: Translator) -> OutgoingMessage | None:
        await services.db.fetchval("SELECT status FROM outbox WHERE id = ?", (row.id,))
        if row.params.get("withdrawn"):
            return None
        return OutgoingMessage(str(row.params["text"]))

    services.outbox.declare(NOTE)
    services.outbox.register(NOTE, render)


@asynccontextmanager
async def busy_database(services: Services) -> AsyncIterator[None]:
    """Another part of the bot keeps the one connection busy: a change holding it for 150 ms,
    three times a second (a handler's transaction, a slow export)."""

    async def hold() -> None:
        while True:
            async with services.db.transaction() as tx:
                await tx.execute("UPDATE towns SET name = name")
                await asyncio.sleep(0.15)
            await asyncio.sleep(0.15)

    task = asyncio.create_task(hold())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def sender(services: Services, transport: FakeTransport, **options: Any) -> Sender:
    options.setdefault("rate_per_second", FAST)
    options.setdefault("per_chat_interval", 0.0)
    options.setdefault("poll_interval", 0.02)
    return Sender(services.outbox, transport, **options)


async def queue(
    services: Services,
    chat_id: int,
    text: str,
    *,
    not_before: datetime | None = None,
    expires_at: datetime | None = None,
    dedupe_key: str | None = None,
    withdrawn: bool = False,
) -> None:
    params: dict[str, Any] = {"text": text}
    if withdrawn:
        params["withdrawn"] = True
    async with services.db.transaction() as tx:
        services.outbox.enqueue(
            tx,
            chat_id,
            NOTE,
            params,
            not_before=not_before,
            expires_at=expires_at,
            dedupe_key=dedupe_key,
        )


async def queue_many(services: Services, items: Iterable[tuple[int, str]]) -> None:
    async with services.db.transaction() as tx:
        for chat_id, text in items:
            services.outbox.enqueue(tx, chat_id, NOTE, {"text": text})


async def rows(services: Services) -> dict[str, dict[str, Any]]:
    """Every outbox row by its text: status, attempts, last error, sent_at, not_before."""
    found = await services.db.fetchall(
        "SELECT json_extract(params, '$.text') AS text, * FROM outbox ORDER BY id"
    )
    return {row["text"]: dict(row) for row in found}


async def statuses(services: Services) -> dict[str, str]:
    return {text: row["status"] for text, row in (await rows(services)).items()}


async def pending_due(services: Services) -> int:
    return int(
        await services.db.fetchval(
            "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND not_before <= ?",
            (to_db_time(services.clock()),),
        )
    )


async def deliver_all(sender: Sender, services: Services, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Passes until nothing due is left pending (rows waiting for their chat's turn included)."""
    async with asyncio.timeout(timeout):
        while True:
            await sender.deliver_due()
            await sender.drain()
            if not await pending_due(services):
                return
            await asyncio.sleep(0.005)


async def stop(task: asyncio.Task[None], outbox_sender: Sender) -> None:
    """As Delivery.stop does: no new sends, and the ones in flight finish."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await outbox_sender.drain()


async def test_rows_go_out_in_order_of_their_time_then_of_queueing(services: Services) -> None:
    use_notes(services)
    now = services.clock()
    await queue(services, 1, "third", not_before=now - timedelta(seconds=10))
    await queue(services, 2, "first", not_before=now - timedelta(minutes=5))
    await queue(services, 3, "second", not_before=now - timedelta(minutes=1))
    await queue_many(services, [(4, "fourth"), (5, "fifth"), (6, "sixth")])
    transport = FakeTransport()

    await deliver_all(sender(services, transport), services)

    assert transport.texts() == ["first", "second", "third", "fourth", "fifth", "sixth"]
    found = await rows(services)
    assert {row["status"] for row in found.values()} == {"sent"}
    assert all(row["sent_at"] for row in found.values())


async def test_a_row_waits_for_its_time(services: Services) -> None:
    use_notes(services)
    await queue(services, 1, "later", not_before=services.clock() + timedelta(hours=2))
    await queue(services, 2, "now")
    transport = FakeTransport()
    outbox_sender = sender(services, transport)

    await deliver_all(outbox_sender, services)
    assert transport.texts() == ["now"]
    assert (await statuses(services))["later"] == "pending"

    services.clock.advance(hours=1, minutes=59)
    await deliver_all(outbox_sender, services)
    assert transport.texts() == ["now"]

    services.clock.advance(minutes=1)
    await deliver_all(outbox_sender, services)
    assert transport.texts() == ["now", "later"]
    assert await statuses(services) == {"now": "sent", "later": "sent"}


async def test_an_expired_row_is_never_sent(services: Services) -> None:
    use_notes(services)
    now = services.clock()
    await queue(
        services,
        1,
        "too late",
        not_before=now + timedelta(minutes=1),
        expires_at=now + timedelta(minutes=2),
    )
    await queue(services, 1, "in time", expires_at=now + timedelta(hours=1))
    services.clock.advance(minutes=2)
    transport = FakeTransport()

    await deliver_all(sender(services, transport), services)

    assert transport.texts() == ["in time"]
    assert await statuses(services) == {"too late": "expired", "in time": "sent"}


async def test_a_row_its_renderer_withdraws_is_cancelled_not_sent(services: Services) -> None:
    use_notes(services)
    await queue(services, 1, "withdrawn", withdrawn=True)
    await queue(services, 1, "kept")
    transport = FakeTransport()

    await deliver_all(sender(services, transport), services)

    assert transport.texts() == ["kept"]
    assert await statuses(services) == {"withdrawn": "cancelled", "kept": "sent"}


async def test_the_overall_pace_never_exceeds_the_rate(services: Services) -> None:
    use_notes(services)
    rate = 50
    await queue_many(services, [(1000 + n, f"note {n}") for n in range(100)])
    transport = FakeTransport()
    outbox_sender = sender(services, transport, rate_per_second=rate)

    # Renders wait for the database now and then; the sends must not bunch up after them.
    async with busy_database(services):
        await deliver_all(outbox_sender, services, timeout=10)

    times = sorted(call.at for call in transport.calls)
    assert len(times) == 100
    # Not more than the rate in any PACE_MARGIN seconds of departures: arrivals, however the
    # network's jitter moves them, keep within it in any one second.
    busiest = max(sum(1 for t in times if start <= t < start + PACE_MARGIN) for start in times)
    print(f"busiest {PACE_MARGIN}-second window: {busiest} messages (rate {rate}/s)")
    assert busiest <= rate
    # Evenly spaced: a render that waited for the database does not bunch the calls up.
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= 0.5 / rate  # (not 1 / rate: a GC pause may delay one measurement)
    # Paced, not throttled to a crawl, though the database is busy half of the time.
    assert times[-1] - times[0] < 5.0
    assert set((await statuses(services)).values()) == {"sent"}


async def test_one_chat_gets_one_message_per_interval(services: Services) -> None:
    use_notes(services)
    interval = 0.25
    await queue_many(services, [(chat, f"{chat}:{n}") for n in range(4) for chat in (1, 2, 3)])
    transport = FakeTransport(latency=0.01)
    outbox_sender = sender(services, transport, per_chat_interval=interval)

    task = asyncio.create_task(outbox_sender.run())
    try:
        async with busy_database(services):
            await transport.wait_for_calls(12)
    finally:
        await stop(task, outbox_sender)

    for chat in (1, 2, 3):
        assert transport.texts(chat) == [f"{chat}:{n}" for n in range(4)]
        times = [call.at for call in transport.calls if call.chat_id == chat]
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert min(gaps) >= interval, gaps
    # The chats were served side by side, not one after the other.
    first_round = {call.chat_id for call in transport.calls[:3]}
    assert first_round == {1, 2, 3}
    assert set((await statuses(services)).values()) == {"sent"}


async def test_retry_later_pauses_all_sending_then_sends_the_row(services: Services) -> None:
    use_notes(services)
    others = [f"other {n}" for n in range(30)]
    await queue_many(
        services, [(1, "asked to wait"), *((100 + n, t) for n, t in enumerate(others))]
    )
    # Several sends in flight at once, so some are underway when Telegram says "wait".
    transport = FakeTransport(errors={1: [RetryLater(1)]}, latency=0.03)
    outbox_sender = sender(services, transport, rate_per_second=200)

    task = asyncio.create_task(outbox_sender.run())
    try:
        async with busy_database(services):
            await transport.wait_for_calls(32)
    finally:
        await stop(task, outbox_sender)

    refused, *rest = transport.calls
    assert refused.text == "asked to wait"
    assert sorted(call.text for call in rest) == sorted(["asked to wait", *others])
    told = transport.told_to_wait[0]
    underway = [call for call in rest if call.at < told]
    after = [call for call in rest if call.at >= told]
    # Only what was already underway went on; nothing started during the second asked for.
    assert len(underway) < outbox_sender.max_in_flight
    assert after, "everything went out before Telegram's answer: the test proves nothing"
    assert min(call.at for call in after) - told >= 1.0
    assert "asked to wait" in [call.text for call in after]
    found = await rows(services)
    assert {row["status"] for row in found.values()} == {"sent"}
    assert found["asked to wait"]["attempts"] == 0  # a 429 is not the message's fault


async def test_stopping_during_a_pause_does_not_wait_it_out(services: Services) -> None:
    use_notes(services)
    await queue_many(services, [(1, "asked to wait"), (2, "b"), (3, "c")])
    transport = FakeTransport(errors={1: [RetryLater(30)]})
    outbox_sender = sender(services, transport)
    task = asyncio.create_task(outbox_sender.run())
    await transport.wait_for_calls(1)
    await asyncio.sleep(0.1)  # the sender is waiting out Telegram's 30 seconds now

    # Stopped as Delivery.stop does: cancel the loop, let what is in flight finish.
    stopped_at = time.monotonic()
    async with asyncio.timeout(5):
        await stop(task, outbox_sender)

    assert time.monotonic() - stopped_at < 1.0
    assert transport.texts() == ["asked to wait"]
    # Nothing was lost: all three wait for the next start.
    assert set((await statuses(services)).values()) == {"pending"}


async def test_a_stop_that_meets_a_wake_up_still_stops(services: Services) -> None:
    """Cancelled in the same instant a new row wakes it, the sender stops (it waits with
    asyncio.timeout: Python 3.11's wait_for can swallow a cancellation that meets a wake-up)."""
    use_notes(services)
    outbox_sender = sender(services, FakeTransport(), poll_interval=30)
    task = asyncio.create_task(outbox_sender.run())
    await asyncio.sleep(0.1)  # idle, waiting to be woken
    services.outbox.wake.set()
    task.cancel()
    async with asyncio.timeout(5):
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_person_who_blocked_the_bot_is_marked_and_skipped(services: Services) -> None:
    use_notes(services)
    blocker, other = 501, 502
    for person in (blocker, other):
        await services.people.give_consent(person, "en")
    await queue_many(
        services,
        [(blocker, "x1"), (other, "y1"), (blocker, "x2"), (other, "y2"), (blocker, "x3")],
    )
    transport = FakeTransport(always={blocker: Blocked("Forbidden: bot was blocked by the user")})
    outbox_sender = sender(services, transport)

    await deliver_all(outbox_sender, services)

    assert transport.texts(blocker) == ["x1"]  # one refusal, then no more tries
    assert transport.texts(other) == ["y1", "y2"]
    assert await statuses(services) == {
        "x1": "blocked",
        "x2": "blocked",
        "x3": "blocked",
        "y1": "sent",
        "y2": "sent",
    }
    blocked_at = await services.db.fetchval(
        "SELECT blocked_at FROM people WHERE telegram_id = ?", (blocker,)
    )
    assert blocked_at is not None
    assert (
        await services.db.fetchval("SELECT blocked_at FROM people WHERE telegram_id = ?", (other,))
        is None
    )

    # What is queued for them later is dropped without asking Telegram again.
    await queue(services, blocker, "x4")
    await deliver_all(outbox_sender, services)
    assert transport.texts(blocker) == ["x1"]
    assert (await statuses(services))["x4"] == "blocked"


async def test_a_transient_error_is_retried_with_growing_pauses_then_fails(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bot's clock stands still unless the test moves it, so the pauses read exactly.
    frozen = utcnow()
    monkeypatch.setattr("bot.clock.utcnow", lambda: frozen)
    use_notes(services)
    await queue(services, 1, "flaky")
    await queue(services, 2, "recovers")
    transport = FakeTransport(
        always={1: Transient("Bad Gateway")}, errors={2: [Transient("timed out")]}
    )
    outbox_sender = sender(services, transport, max_attempts=4)

    pauses = []
    for attempt in range(1, 4):
        before = services.clock()
        await deliver_all(outbox_sender, services)
        row = (await rows(services))["flaky"]
        assert (row["status"], row["attempts"]) == ("pending", attempt)
        pause = (from_db_time(row["not_before"]) - before).total_seconds()
        pauses.append(pause)
        # Not tried again before its pause is over.
        services.clock.advance(seconds=pause - 1)
        await deliver_all(outbox_sender, services)
        assert transport.texts(1) == ["flaky"] * attempt
        services.clock.advance(seconds=1)
    assert pauses == [2, 4, 8]

    await deliver_all(outbox_sender, services)
    assert transport.texts(1) == ["flaky"] * 4  # max_attempts tries in all
    flaky = (await rows(services))["flaky"]
    assert (flaky["status"], flaky["last_error"]) == ("failed", "Bad Gateway")
    assert transport.texts(2) == ["recovers", "recovers"]
    assert (await statuses(services))["recovers"] == "sent"


async def test_a_permanent_refusal_fails_at_once(services: Services) -> None:
    use_notes(services)
    await queue(services, 1, "refused")
    await queue(services, 2, "fine")
    transport = FakeTransport(errors={1: [Permanent("Bad Request: chat not found")]})

    await deliver_all(sender(services, transport), services)
    services.clock.advance(hours=1)
    await deliver_all(sender(services, transport), services)

    assert transport.texts() == ["refused", "fine"]
    found = await rows(services)
    assert found["refused"]["status"] == "failed"
    assert found["refused"]["last_error"] == "Bad Request: chat not found"
    assert found["fine"]["status"] == "sent"


async def test_a_dedupe_key_is_queued_once(services: Services) -> None:
    use_notes(services)
    await queue(services, 1, "once", dedupe_key="reminder:1:1:120")
    await queue(services, 1, "twice", dedupe_key="reminder:1:1:120")
    assert await statuses(services) == {"once": "pending"}
    transport = FakeTransport()

    await deliver_all(sender(services, transport), services)
    # Even once it was sent, the same key is not queued again.
    await queue(services, 1, "thrice", dedupe_key="reminder:1:1:120")
    await deliver_all(sender(services, transport), services)

    assert transport.texts() == ["once"]
    assert await statuses(services) == {"once": "sent"}


async def test_a_restarted_sender_delivers_the_rest_and_nothing_twice(
    services: Services, config: Config
) -> None:
    use_notes(services)
    texts = [f"note {n}" for n in range(30)]
    await queue_many(services, [(2000 + n, text) for n, text in enumerate(texts)])
    first = FakeTransport(latency=0.02)
    first_sender = sender(services, first, rate_per_second=40)
    task = asyncio.create_task(first_sender.run())
    await first.wait_for_calls(10)
    # Stopped as the bot stops: no new sends, the ones in flight finish.
    await stop(task, first_sender)
    await services.db.close()
    sent_first = first.texts()
    assert 10 <= len(sent_first) < 30

    restarted = Services.build(config, Database(config.database))
    await restarted.start()
    try:
        use_notes(restarted)
        assert (await statuses(restarted)) == {
            text: "sent" if text in sent_first else "pending" for text in texts
        }
        second = FakeTransport()
        await deliver_all(sender(restarted, second), restarted)
        assert sorted(sent_first + second.texts()) == sorted(texts)
        assert set((await statuses(restarted)).values()) == {"sent"}
    finally:
        await restarted.db.close()


@dataclass
class FullDisk:
    """The database's disk is full: every write to the outbox fails until ``full`` is False."""

    full: bool = True
    refused: int = 0


@pytest.fixture
def full_disk(services: Services, monkeypatch: pytest.MonkeyPatch) -> FullDisk:
    disk = FullDisk()
    real = services.db.execute

    async def execute(sql: str, params: Any = ()) -> int:
        if disk.full and sql.lstrip().upper().startswith("UPDATE OUTBOX"):
            disk.refused += 1
            raise sqlite3.OperationalError("database or disk is full")
        return await real(sql, params)

    monkeypatch.setattr(services.db, "execute", execute)
    return disk


async def test_a_sent_message_the_database_cannot_record_is_never_sent_again(
    services: Services, full_disk: FullDisk
) -> None:
    """With the database on a full disk, an announcement went out 5 times in 14 s: the row sent
    but not marked was picked up again. Telegram accepted it: it never goes out again."""
    use_notes(services)
    full_disk.full = False
    await queue_many(services, [(3000 + n, f"announcement to {n}") for n in range(6)])
    full_disk.full = True
    transport = FakeTransport()
    outbox_sender = sender(services, transport, max_in_flight=2)
    task = asyncio.create_task(outbox_sender.run())
    try:
        await transport.wait_for_calls(1)
        await asyncio.sleep(0.5)  # 25 polls of 20 ms while the disk stays full
        during = transport.texts()
        # Each message at most once, and the sender paused instead of going on regardless.
        assert len(during) == len(set(during)) <= 2
        assert full_disk.refused > 0
        full_disk.full = False  # space freed: the sender records what it sent, then goes on
        await transport.wait_for_calls(6)
        await asyncio.sleep(0.2)
    finally:
        await stop(task, outbox_sender)
    assert sorted(transport.texts()) == sorted(f"announcement to {n}" for n in range(6))
    assert set((await statuses(services)).values()) == {"sent"}


async def test_every_kind_queued_is_declared_and_rendered(services: Services) -> None:
    """A kind nobody declared cannot be queued; one declared without a renderer stops the
    bot at start-up instead of failing row by row when it is sent."""
    with pytest.raises(ValueError, match="never declared"):
        async with services.db.transaction() as tx:
            services.outbox.enqueue(tx, 1, "made_up_kind", {})
    assert await services.db.fetchval("SELECT COUNT(*) FROM outbox") == 0

    build_application(services)  # every kind of every service has its renderer
    assert services.outbox.missing_renderers() == set()
    newer = Services.build(services.config, services.db)
    newer.outbox.declare("kind_of_a_new_feature")
    with pytest.raises(RuntimeError, match="kind_of_a_new_feature"):
        build_application(newer)

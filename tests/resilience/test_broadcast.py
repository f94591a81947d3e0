"""Acceptance: an announcement survives a killed bot, and Telegram's 429 and 403 lose nothing.

The delivery bound (bot/outbox.py): a row is marked sent right after Telegram accepts it, so a
SIGKILL between Telegram's answer and that mark repeats only the messages in flight at that
instant — at most ``Sender.max_in_flight`` messages, each at most once.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from bot.broadcasts import Audience, AudienceKind, BroadcastDraft
from bot.config import Config
from bot.db import Database
from bot.outbox import Sender
from bot.services import Services
from tests.botapi import BotApiDouble, Call
from tests.conftest import ADMIN_ID, TOKEN, make_config
from tests.flows.harness import Bot, running_bot
from tests.process import bot_process, config_toml, sigkill

COORDINATOR = 901
TEXT = {
    "en": "Bashkë: the summer meeting is on 12 July.",
    "sq": "Bashkë: takimi veror më 12 korrik.",
}
LANGUAGES = tuple(TEXT)
EVERYONE = Audience(AudienceKind.EVERYONE)
# The bound of the design: what can repeat after a kill is what was in flight.
IN_FLIGHT_BOUND = Sender.max_in_flight
RATE = 200  # messages a second: fast, yet a thousand take seconds, so the kill lands mid-send
CONFIG_TOML = config_toml(outbox_rate=RATE)


async def announce(services: Services, people: list[int]) -> int:
    """People who agreed (alternating languages), a network coordinator, and an announcement
    to everyone; returns the broadcast's id."""
    for n, person in enumerate(people):
        await services.people.give_consent(person, LANGUAGES[n % len(LANGUAGES)])
    await services.staff.grant(ADMIN_ID, COORDINATOR, "coordinator")
    draft = BroadcastDraft(TEXT["en"], EVERYONE, versions={"sq": TEXT["sq"]})
    broadcast = await services.broadcasts.create(COORDINATOR, draft)
    assert broadcast.recipients == len(people)
    return broadcast.id


def announcement_to(call: Call) -> int | None:
    """The chat an accepted announcement went to, or None for any other call."""
    if call.method != "sendMessage" or not call.ok:
        return None
    if call.params.get("text") not in TEXT.values():
        return None
    return int(call.params["chat_id"])


def received(double: BotApiDouble) -> Counter[int]:
    return Counter(chat for call in double.calls if (chat := announcement_to(call)) is not None)


def row_statuses(database: Path, subject: str) -> dict[int, str]:
    with sqlite3.connect(database, timeout=10) as db:
        rows = db.execute(
            "SELECT chat_id, status FROM outbox WHERE subject = ?", (subject,)
        ).fetchall()
    db.close()
    return dict(rows)


async def until_calls(double: BotApiDouble, done: Callable[[], bool], timeout: float) -> None:  # noqa: ASYNC109
    """Wait, call after call, until ``done()``; fail after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not done():
            start = len(double.calls)
            # The double's own wait is bounded too; a quiet spell just checks again.
            with contextlib.suppress(TimeoutError):
                await double.wait_for(lambda _: True, timeout=1.0, start=start)


async def until_rows(database: Path, subject: str, done: set[str], timeout: float) -> None:  # noqa: ASYNC109
    """Wait until every row of ``subject`` has a status in ``done``."""
    async with asyncio.timeout(timeout):
        while True:
            if not set(row_statuses(database, subject).values()) - done:
                return
            await asyncio.sleep(0.1)


async def prepare(config: Config, people: list[int]) -> str:
    services = Services.build(config, Database(config.database))
    await services.start()
    try:
        return f"broadcast:{await announce(services, people)}"
    finally:
        await services.db.close()


async def test_a_broadcast_to_1000_survives_a_sigkill_half_way(tmp_path: Path) -> None:
    started = time.monotonic()
    config = make_config(tmp_path)
    people = list(range(100_000, 101_000))
    subject = await prepare(config, people)
    assert set(row_statuses(config.database, subject).values()) == {"pending"}

    async with BotApiDouble(token=TOKEN) as double:
        # Telegram takes its time, so several messages are underway at any moment.
        double.latency = 0.02
        async with bot_process(tmp_path, double, "first", CONFIG_TOML) as first:
            await until_calls(double, lambda: len(received(double)) >= len(people) // 2, 20)
            await sigkill(first)
        # Requests that reached Telegram before the kill are answered all the same.
        await asyncio.sleep(5 * double.latency)
        before = received(double)
        at_kill = row_statuses(config.database, subject)
        marked = {chat for chat, status in at_kill.items() if status == "sent"}
        assert set(at_kill.values()) <= {"sent", "pending"}
        assert 0 < len(marked) < len(people), "not killed in the middle of the broadcast"
        # Nothing is marked sent that Telegram did not accept; nothing accepted twice so far.
        assert marked <= set(before)
        assert max(before.values()) == 1
        in_flight = set(before) - marked
        assert len(in_flight) <= IN_FLIGHT_BOUND

        async with bot_process(tmp_path, double, "second", CONFIG_TOML) as second:
            await until_rows(config.database, subject, {"sent"}, 25)
        assert second.returncode == 0, (tmp_path / "second.log").read_text()

        after = received(double)
        twice = {chat for chat, n in after.items() if n == 2}
        print(
            f"\nkilled at {len(before)} of {len(people)} accepted, {len(marked)} marked sent;"
            f" {len(twice)} received twice (bound {IN_FLIGHT_BOUND});"
            f" {time.monotonic() - started:.1f} s"
        )
        # Everyone received it; only what was in flight at the kill came twice, never thrice.
        assert set(after) == set(people)
        assert len(twice) <= IN_FLIGHT_BOUND
        assert max(after.values()) <= 2
        assert twice == in_flight
        # Each in their language.
        for call in double.calls:
            if (chat := announcement_to(call)) is not None:
                language = LANGUAGES[(chat - people[0]) % len(LANGUAGES)]
                assert call.params["text"] == TEXT[language]
        assert double.violations == []

    with sqlite3.connect(config.database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()


# In process: Telegram's refusals ------------------------------------------------------------


@asynccontextmanager
async def delivering_bot(tmp_path: Path, outbox_rate: float) -> AsyncIterator[Bot]:
    """The in-process bot, its outbox sender stopped before the database closes: PTB runs
    ``post_stop`` only under ``run_polling``, so the harness alone would leave it running."""
    async with running_bot(tmp_path, outbox_rate=outbox_rate) as bot:
        try:
            yield bot
        finally:
            assert bot.app.post_stop is not None
            await bot.app.post_stop(bot.app)


async def statuses(bot: Bot, subject: str) -> dict[int, str]:
    rows = await bot.services.db.fetchall(
        "SELECT chat_id, status FROM outbox WHERE subject = ?", (subject,)
    )
    return {row["chat_id"]: row["status"] for row in rows}


async def test_a_429_pauses_the_broadcast_and_a_403_marks_only_that_person(
    tmp_path: Path,
) -> None:
    async with delivering_bot(tmp_path, outbox_rate=50) as bot:
        people = list(range(8001, 8031))
        blocker = people[7]
        bot.double.blocked_chats.add(blocker)
        bot.double.fail_next("sendMessage", status=429, retry_after=1)
        created_at = time.monotonic()
        broadcast_id = await announce(bot.services, people)
        subject = f"broadcast:{broadcast_id}"

        async with asyncio.timeout(15):
            while True:
                if "pending" not in (await statuses(bot, subject)).values():
                    break
                await asyncio.sleep(0.05)

        rows = await statuses(bot, subject)
        assert rows == {person: "blocked" if person == blocker else "sent" for person in people}
        got = received(bot.double)
        assert got == Counter({person: 1 for person in people if person != blocker})
        assert not await bot.services.db.fetchval(
            "SELECT COUNT(*) FROM outbox WHERE status = 'failed'"
        )
        assert await bot.services.db.fetchval(
            "SELECT blocked_at FROM people WHERE telegram_id = ?", (blocker,)
        )
        blocked_tries = [
            c.status for c in bot.double.calls_to("sendMessage") if c.params["chat_id"] == blocker
        ]
        assert blocked_tries == [403]

        # The 429: nothing at all was attempted during the second Telegram asked for.
        sends = [c for c in bot.double.calls_to("sendMessage") if c.at >= created_at]
        refused = [c for c in sends if c.status == 429]
        assert len(refused) == 1
        paused_from = refused[0].at
        assert all(c.at >= paused_from + 1.0 for c in sends if c.at > paused_from)

        # A second announcement leaves the blocked person out from the start.
        second = await bot.services.broadcasts.create(
            COORDINATOR, BroadcastDraft("And one more thing.", EVERYONE)
        )
        assert second.recipients == len(people) - 1
        assert blocker not in await statuses(bot, second.subject)

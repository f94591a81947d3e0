"""An announcement survives a killed bot, and Telegram's 429 and 403 lose nothing.

The delivery bound (bot/outbox.py): a row is marked sent right after Telegram accepts it, so a
SIGKILL between Telegram's answer and that mark repeats only the messages in flight at that
instant — at most ``Sender.max_in_flight`` (16) messages, each at most once. After the kill the
database passes SQLite's integrity check (tests/process.py ``sigkill``).
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from bot.broadcasts import Audience, AudienceKind, BroadcastDraft
from bot.config import Config
from bot.db import Database
from bot.outbox import Sender
from bot.services import Services
from tests.botapi import BotApiDouble, Call
from tests.conftest import ADMIN_ID, TOKEN, make_config
from tests.flows.harness import Bot, running_bot
from tests.process import bot_process, config_toml, integrity, query, sigkill
from tests.resilience import eventually, until_calls

COORDINATOR = 901
TEXT = {
    "en": "Bashkë: the summer meeting is on 12 July.",
    "sq": "Bashkë: takimi veror më 12 korrik.",
}
LANGUAGES = tuple(TEXT)
EVERYONE = Audience(AudienceKind.EVERYONE)
# The bound of the design: what can repeat after a kill is what was in flight.
IN_FLIGHT_BOUND = Sender.max_in_flight
RATE = 500  # messages a second: fast, yet a thousand take seconds, so the kill lands mid-send
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
    return dict(query(database, "SELECT chat_id, status FROM outbox WHERE subject = ?", (subject,)))


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
            await sigkill(first, config.database)
        # Requests that reached Telegram before the kill are answered all the same.
        await double.wait_until_answered()
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
            await eventually(
                lambda: set(row_statuses(config.database, subject).values()) == {"sent"}, 25
            )
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

    assert integrity(config.database) == "ok"  # and after the second bot's orderly stop


# In process: Telegram's refusals ------------------------------------------------------------


async def statuses(bot: Bot, subject: str) -> dict[int, str]:
    rows = await bot.services.db.fetchall(
        "SELECT chat_id, status FROM outbox WHERE subject = ?", (subject,)
    )
    return {row["chat_id"]: row["status"] for row in rows}


async def test_a_429_pauses_the_broadcast_and_a_403_marks_only_that_person(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, outbox_rate=50) as bot:
        people = list(range(8001, 8031))
        blocker = people[7]
        bot.double.blocked_chats.add(blocker)
        bot.double.fail_next("sendMessage", status=429, retry_after=1)
        created_at = time.monotonic()
        broadcast_id = await announce(bot.services, people)
        subject = f"broadcast:{broadcast_id}"

        async def delivered() -> bool:
            return "pending" not in (await statuses(bot, subject)).values()

        await eventually(delivered, 15)

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

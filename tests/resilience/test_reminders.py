"""Reminders survive a killed bot, and Telegram's 429, 403 and 5xx lose nothing.

The delivery guarantee (bot/outbox.py): a row is marked sent right after Telegram accepts it,
so a SIGKILL between Telegram's answer and that mark repeats only the messages in flight at
that instant — at most ``Sender.max_in_flight`` (16) messages, each at most once. Killed before
the first reminder is due, nothing is in flight and every reminder arrives exactly once. After
every kill the database passes SQLite's integrity check (tests/process.py ``sigkill``).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.db import Database
from bot.events import REMINDER, EventDraft, Scope
from bot.i18n import Catalogs
from bot.outbox import Sender
from bot.services import Services
from tests.botapi import BotApiDouble, Call
from tests.conftest import ADMIN_ID, TOKEN, make_config
from tests.flows.harness import Bot, running_bot
from tests.process import bot_process, query, sigkill
from tests.resilience import eventually, until_calls

CATALOGS = Catalogs()
LANGUAGES = ("en", "sq")
REMINDER_TEXT = {
    lang: CATALOGS.translator(lang).gettext("⏰ Reminder: you are registered for this event.")
    for lang in LANGUAGES
}
MOVED_TEXT = CATALOGS.translator("en").gettext("📣 This event has new times:")
# The bound of the design: what can repeat after a kill is what was in flight.
IN_FLIGHT_BOUND = Sender.max_in_flight

Pair = tuple[int, str]  # (person, event title)


def draft(title: str, starts_at: datetime, reminders: tuple[int, ...] = (120,)) -> EventDraft:
    return EventDraft(
        scope=Scope.INTERNATIONAL,
        town_id=None,
        title=title,
        description="",
        place="Online",
        timezone="Europe/Tirane",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        reminder_minutes=reminders,
    )


async def prepare(
    config: Config, people: int, titles: list[str], lead: float
) -> tuple[set[Pair], datetime]:
    """Events whose 2-hour reminders fall due ``lead`` seconds from now (one second apart),
    and people registered for all of them; the services are closed again afterwards."""
    services = Services.build(config, Database(config.database))
    await services.start()
    try:
        now = services.clock()
        first_due = now + timedelta(seconds=lead)
        expected: set[Pair] = set()
        event_ids = []
        for n, title in enumerate(titles):
            starts = first_due + timedelta(minutes=120, seconds=n)
            event_ids.append((await services.events.create(ADMIN_ID, draft(title, starts))).id)
        for n in range(people):
            person = 5000 + n
            await services.people.give_consent(person, LANGUAGES[n % len(LANGUAGES)])
            for event_id, title in zip(event_ids, titles, strict=True):
                await services.events.join(person, event_id, f"Person {n}")
                expected.add((person, title))
        pending = await services.db.fetchval(
            "SELECT COUNT(*) FROM outbox WHERE kind = ? AND status = 'pending'", (REMINDER,)
        )
        assert pending == len(expected) == people * len(titles)
        return expected, first_due
    finally:
        await services.db.close()


def reminder_pair(call: Call, titles: list[str]) -> Pair | None:
    """(person, event) of an accepted reminder, or None for any other call."""
    if call.method != "sendMessage" or not call.ok:
        return None
    text = str(call.params.get("text", ""))
    if not any(text.startswith(reminder) for reminder in REMINDER_TEXT.values()):
        return None
    found = [title for title in titles if f"<b>{title}</b>" in text]
    assert len(found) == 1, text
    return int(call.params["chat_id"]), found[0]


def reminders_received(double: BotApiDouble, titles: list[str]) -> Counter[Pair]:
    return Counter(
        pair for call in double.calls if (pair := reminder_pair(call, titles)) is not None
    )


def reminder_rows(database: Path) -> dict[Pair, str]:
    """The reminder rows as the database shows them: (person, event title) -> status."""
    rows = query(
        database,
        "SELECT o.chat_id, e.title, o.status FROM outbox o"
        " JOIN events e ON e.id = json_extract(o.params, '$.event_id') WHERE o.kind = ?",
        (REMINDER,),
    )
    return {(chat_id, title): status for chat_id, title, status in rows}


async def test_killed_before_any_reminder_is_due_each_arrives_exactly_once(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path)
    titles = ["Dinner", "Film night"]
    # Due a few seconds from now: time enough to start the bot and kill it first.
    expected, first_due = await prepare(config, people=12, titles=titles, lead=4)

    async with BotApiDouble(token=TOKEN) as double:
        async with bot_process(tmp_path, double, "first") as first:
            await sigkill(first, config.database)
        assert datetime.now(first_due.tzinfo) < first_due, "the bot took too long to start"
        assert not reminders_received(double, titles)
        assert set(reminder_rows(config.database).values()) == {"pending"}

        async with bot_process(tmp_path, double, "second") as second:
            await until_calls(
                double, lambda: set(reminders_received(double, titles)) >= expected, 20
            )
        assert second.returncode == 0, (tmp_path / "second.log").read_text()

        received = reminders_received(double, titles)
        # Every person got one reminder per event, and nobody anything twice.
        assert received == Counter(dict.fromkeys(expected, 1))
        assert double.violations == []
    assert reminder_rows(config.database) == dict.fromkeys(expected, "sent")


async def test_killed_mid_delivery_nothing_is_lost_and_only_in_flight_repeats(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path)
    titles = ["Dinner", "Film night"]
    expected, _ = await prepare(config, people=20, titles=titles, lead=3)

    async with BotApiDouble(token=TOKEN) as double:
        async with bot_process(tmp_path, double, "first") as first:
            # Telegram takes its time, so several reminders are underway at any moment.
            double.latency = 0.3
            await until_calls(
                double, lambda: sum(reminders_received(double, titles).values()) >= 8, 15
            )
            await sigkill(first, config.database)
        # Requests that reached Telegram before the kill are answered all the same.
        await double.wait_until_answered()
        double.latency = 0.0
        before = reminders_received(double, titles)
        at_kill = reminder_rows(config.database)
        marked = {pair for pair, status in at_kill.items() if status == "sent"}
        assert set(at_kill.values()) <= {"sent", "pending"}
        assert 0 < len(marked) < len(expected), "not killed in the middle of the delivery"
        # Nothing is marked sent that Telegram did not accept, nor accepted twice so far;
        # what Telegram accepted but the bot never marked was in flight at the kill.
        assert marked <= set(before)
        assert max(before.values()) == 1
        in_flight = set(before) - marked
        assert len(in_flight) <= IN_FLIGHT_BOUND
        print(f"killed with {len(marked)} marked sent, {len(in_flight)} in flight")

        async with bot_process(tmp_path, double, "second"):
            await until_calls(
                double, lambda: set(reminders_received(double, titles)) >= expected, 20
            )
            # The rows of what was in flight are sent once more; wait until they are.
            await until_calls(
                double,
                lambda: (
                    sum(reminders_received(double, titles).values())
                    >= len(expected) + len(in_flight)
                ),
                10,
            )

        received = reminders_received(double, titles)
        # None lost; repeated exactly what was in flight at the kill, once each.
        assert received == Counter({pair: 1 + (pair in in_flight) for pair in expected})
        assert double.violations == []
    assert reminder_rows(config.database) == dict.fromkeys(expected, "sent")


# In process: Telegram's refusals ------------------------------------------------------------


async def outbox_rows(bot: Bot, kind: str) -> dict[int, dict[str, Any]]:
    rows = await bot.services.db.fetchall(
        "SELECT chat_id, status, attempts, last_error FROM outbox WHERE kind = ?", (kind,)
    )
    return {row["chat_id"]: dict(row) for row in rows}


async def event_with_people(bot: Bot, people: list[int]) -> int:
    services = bot.services
    starts = services.clock() + timedelta(days=3)
    event = await services.events.create(ADMIN_ID, draft("Picnic", starts, reminders=(1440,)))
    for person in people:
        await services.people.give_consent(person, "en")
        await services.events.join(person, event.id, f"P{person}")
    return event.id


def is_moved_notice(call: Call, person: int) -> bool:
    return (
        call.method == "sendMessage"
        and call.params.get("chat_id") == person
        and MOVED_TEXT in str(call.params.get("text"))
    )


def moved_notices(bot: Bot, person: int) -> list[Call]:
    return [call for call in bot.double.calls if is_moved_notice(call, person)]


async def no_pending(bot: Bot, kind: str) -> bool:
    return all(row["status"] != "pending" for row in (await outbox_rows(bot, kind)).values())


async def test_a_429_and_a_block_lose_nothing(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        people = list(range(7001, 7009))
        blocker = people[3]
        event_id = await event_with_people(bot, people)
        bot.double.blocked_chats.add(blocker)
        bot.double.fail_next("sendMessage", status=429, retry_after=1)
        event = await bot.services.events.get(event_id)

        moved_at = time.monotonic()
        await bot.services.events.move(
            ADMIN_ID, event_id, event.starts_at + timedelta(hours=1), event.ends_at
        )
        await eventually(lambda: no_pending(bot, "event_moved"), timeout=10)

        moved = await outbox_rows(bot, "event_moved")
        assert {row["status"] for row in moved.values()} <= {"sent", "blocked"}
        for person in people:
            if person == blocker:
                continue
            # Everyone else was told once, accepted by Telegram once.
            assert [call.ok for call in moved_notices(bot, person)].count(True) == 1
            assert moved[person]["status"] == "sent"
        # The blocked person: one refused try, marked, their reminder dropped too.
        assert [call.status for call in moved_notices(bot, blocker)][-1:] == [403]
        assert not [call for call in moved_notices(bot, blocker) if call.ok]
        assert moved[blocker]["status"] == "blocked"
        assert (await outbox_rows(bot, REMINDER))[blocker]["status"] == "blocked"
        blocked_at = await bot.services.db.fetchval(
            "SELECT blocked_at FROM people WHERE telegram_id = ?", (blocker,)
        )
        assert blocked_at is not None
        assert not await bot.services.db.fetchval(
            "SELECT COUNT(*) FROM outbox WHERE status = 'failed'"
        )

        # The 429: nothing at all was sent during the second Telegram asked for.
        sends = [c for c in bot.double.calls_to("sendMessage") if c.at >= moved_at]
        refused = [c for c in sends if c.status == 429]
        assert len(refused) == 1
        paused_from = refused[0].at
        assert all(c.at >= paused_from + 1.0 for c in sends if c.at > paused_from)
        # It fell on the first person told, whose notice went out after the pause.
        assert [call.status for call in moved_notices(bot, people[0])] == [429, 200]
        assert moved[people[0]]["attempts"] == 0  # a 429 is not the message's fault


async def test_a_5xx_is_tried_again_after_its_pause(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        person = 7101
        event_id = await event_with_people(bot, [person])
        bot.double.fail_next("sendMessage", status=502)
        event = await bot.services.events.get(event_id)
        await bot.services.events.move(
            ADMIN_ID, event_id, event.starts_at + timedelta(hours=1), event.ends_at
        )

        async def tried_once() -> bool:
            return bool((await outbox_rows(bot, "event_moved"))[person]["attempts"] == 1)

        await eventually(tried_once, timeout=5)
        row = (await outbox_rows(bot, "event_moved"))[person]
        assert row["status"] == "pending"
        assert row["last_error"] == "Internal Server Error"  # Telegram's words, kept
        assert [call.status for call in moved_notices(bot, person)] == [502]

        # The pause after a first failure is 2 s; the bot's clock skips it.
        bot.services.clock.advance(seconds=3)
        bot.services.outbox.wake.set()
        await bot.double.wait_for(lambda c: c.ok and is_moved_notice(c, person), timeout=5)
        await eventually(lambda: no_pending(bot, "event_moved"), timeout=5)
        assert [call.status for call in moved_notices(bot, person)] == [502, 200]
        assert (await outbox_rows(bot, "event_moved"))[person]["status"] == "sent"

"""Every conversation survives the bot killed with SIGKILL in its middle: /newevent, moving an
event, editing one, /broadcast, the sentence after rating an event, and onboarding that came
through a link. After the restart the person goes on where they were — the next answer, or a
button from before the kill — and what they answered before the kill is what gets saved.
(The story's own kill tests are in tests/resilience/test_story.py.)"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.db import Database, utcnow
from bot.events import EventDraft, Scope
from bot.i18n import Catalogs
from bot.services import Services
from tests.botapi import BotApiDouble, Call
from tests.conftest import ADMIN_ID, TOKEN, make_config
from tests.process import bot_process, query, sigkill

EN = Catalogs().translator("en")
ADMIN: dict[str, Any] = {"id": ADMIN_ID, "first_name": "Drita", "language_code": "en"}
NEWCOMER_ID = 7001
NEWCOMER: dict[str, Any] = {"id": NEWCOMER_ID, "first_name": "Amal", "language_code": "en"}
TITLE = "Shared <b>dinner</b> & stories"
ANNOUNCEMENT = "The spring gathering is on Saturday!"


def shows(chat_id: int, text: str) -> Callable[[Call], bool]:
    """A message sent to the chat, or one of its messages edited, containing ``text``."""

    def matches(call: Call) -> bool:
        return (
            call.method in ("sendMessage", "editMessageText")
            and call.params.get("chat_id") == chat_id
            and text in str(call.params.get("text", ""))
        )

    return matches


async def say(double: BotApiDouble, user: dict[str, Any], text: str, answer: str) -> None:
    start = len(double.calls)
    double.send_text(user, text)
    await double.wait_for(shows(user["id"], answer), timeout=15, start=start)


async def tap(double: BotApiDouble, user: dict[str, Any], label: str, answer: str) -> None:
    message_id, data = double.find_button(user["id"], label)
    start = len(double.calls)
    double.tap(user, message_id, data)
    await double.wait_for(shows(user["id"], answer), timeout=15, start=start)


async def seed(tmp_path: Path, *, event: bool = False) -> tuple[Path, int]:
    """The admin onboarded (and their event in Bari, if ``event``); returns the database and
    the event's id (0 without one)."""
    config = make_config(tmp_path)
    services = Services.build(config, Database(config.database))
    await services.start()
    try:
        await services.people.give_consent(ADMIN_ID, "en")
        bari = next(t for t in await services.towns.list_towns() if t.name == "Bari")
        await services.people.set_town(ADMIN_ID, bari.id)
        await services.people.set_self_description(ADMIN_ID, "resident")
        event_id = 0
        if event:
            starts = utcnow().replace(second=0) + timedelta(days=10)
            made = await services.events.create(
                ADMIN_ID,
                EventDraft(
                    scope=Scope.LOCAL,
                    town_id=bari.id,
                    title="Language café",
                    description="",
                    place="Biblioteca",
                    timezone=bari.timezone,
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=2),
                ),
            )
            event_id = made.id
    finally:
        await services.db.close()
    return config.database, event_id


async def test_newevent_goes_on_after_a_sigkill(tmp_path: Path) -> None:
    database, _ = await seed(tmp_path)
    async with BotApiDouble(token=TOKEN) as double:
        async with bot_process(tmp_path, double, "first") as first:
            await say(double, ADMIN, "/newevent", EN.gettext("What is its title?"))
            await say(double, ADMIN, TITLE, EN.gettext("A short description?"))
            await sigkill(first, database)
        assert query(database, "SELECT kind, step FROM drafts") == [("newevent", "description")]

        async with bot_process(tmp_path, double, "second"):
            # No /newevent again: the description is the next answer, the title is kept.
            await say(double, ADMIN, "-", EN.gettext("Is it a local event of one town"))
            await tap(double, ADMIN, EN.gettext("Local"), EN.gettext("Which town is it in?"))
            await tap(double, ADMIN, "Bari", EN.gettext("When does it start?"))
            year = utcnow().year + 1
            await say(double, ADMIN, f"{year}-05-02 18:00", EN.gettext("When does it end?"))
            await say(double, ADMIN, "21:00", EN.gettext("Where is it?"))
            await say(double, ADMIN, "Sala comunale", EN.gettext("How many seats are there?"))
            await say(double, ADMIN, "30", EN.gettext("Until when can people register?"))
            await tap(
                double,
                ADMIN,
                EN.gettext("Until the start"),
                EN.gettext("When should people be reminded?"),
            )
            await tap(
                double,
                ADMIN,
                EN.gettext("24 h and 2 h before"),
                EN.gettext("This is how people will see it:"),
            )
            await tap(
                double, ADMIN, EN.gettext("Create the event"), EN.gettext("The event is created.")
            )
        assert double.violations == []
    assert query(database, "SELECT title, place, capacity FROM events") == [
        (TITLE, "Sala comunale", 30)
    ]
    assert query(database, "SELECT COUNT(*) FROM drafts") == [(0,)]


async def test_moving_an_event_goes_on_after_a_sigkill(tmp_path: Path) -> None:
    database, event_id = await seed(tmp_path, event=True)
    year = utcnow().year + 1
    async with BotApiDouble(token=TOKEN) as double:
        async with bot_process(tmp_path, double, "first") as first:
            await say(double, ADMIN, f"/start ev_{event_id}", "Language café")
            await tap(double, ADMIN, EN.gettext("Move"), EN.gettext("When does it start now?"))
            await say(double, ADMIN, f"{year}-06-01 10:00", EN.gettext("When does it end?"))
            await sigkill(first, database)

        async with bot_process(tmp_path, double, "second"):
            await say(
                double,
                ADMIN,
                "12:00",
                EN.gettext("The event has new times; everyone on it is being told."),
            )
        assert double.violations == []
    # 10:00 and 12:00 in Rome, in summer: 08:00 and 10:00 UTC.
    assert query(database, "SELECT starts_at, ends_at FROM events") == [
        (f"{year}-06-01T08:00:00Z", f"{year}-06-01T10:00:00Z")
    ]
    assert query(database, "SELECT COUNT(*) FROM drafts") == [(0,)]


async def test_editing_an_event_goes_on_after_a_sigkill(tmp_path: Path) -> None:
    database, event_id = await seed(tmp_path, event=True)
    async with BotApiDouble(token=TOKEN) as double:
        async with bot_process(tmp_path, double, "first") as first:
            await say(double, ADMIN, f"/start ev_{event_id}", "Language café")
            await tap(double, ADMIN, EN.gettext("Edit"), EN.gettext("What should change?"))
            await tap(double, ADMIN, EN.gettext("Title"), EN.gettext("The new title?"))
            await sigkill(first, database)

        async with bot_process(tmp_path, double, "second"):
            await say(
                double, ADMIN, TITLE, EN.gettext("Saved; everyone on the event is being told.")
            )
        assert double.violations == []
    assert query(database, "SELECT title FROM events") == [(TITLE,)]


async def test_broadcast_goes_on_after_a_sigkill(tmp_path: Path) -> None:
    database, _ = await seed(tmp_path)
    async with BotApiDouble(token=TOKEN) as double:
        async with bot_process(tmp_path, double, "first") as first:
            await say(double, ADMIN, "/broadcast", EN.gettext("Write the announcement"))
            await say(double, ADMIN, ANNOUNCEMENT, EN.gettext("Versions so far"))
            await sigkill(first, database)

        async with bot_process(tmp_path, double, "second"):
            # The buttons shown before the kill still work.
            await tap(double, ADMIN, EN.gettext("Continue"), EN.gettext("Who should get it?"))
            await tap(double, ADMIN, EN.gettext("A town"), EN.gettext("Which one?"))
            await tap(double, ADMIN, "Bari", EN.gettext("Send it?"))
            await tap(double, ADMIN, EN.gettext("Send now"), EN.gettext("Follow it with"))
        assert double.violations == []
    assert query(database, "SELECT text FROM broadcasts") == [(ANNOUNCEMENT,)]
    assert query(database, "SELECT COUNT(*) FROM drafts") == [(0,)]


async def test_the_sentence_after_a_rating_is_taken_after_a_sigkill(tmp_path: Path) -> None:
    database, event_id = await seed(tmp_path, event=True)
    # The admin came to the event and was asked to rate it (as the follow-up would have).
    with sqlite3.connect(database) as db:
        db.execute(
            "INSERT INTO ratings (event_id, telegram_id, asked_at) VALUES (?, ?, ?)",
            (event_id, ADMIN_ID, "2026-01-01T00:00:00Z"),
        )
    async with BotApiDouble(token=TOKEN) as double:
        async with bot_process(tmp_path, double, "first") as first:
            await say(double, ADMIN, "/help", "/events")
            last = double.last_message(ADMIN_ID)
            assert last is not None
            start = len(double.calls)
            double.tap(ADMIN, last["message_id"], f"rate:{event_id}:4", strict=False)
            await double.wait_for(shows(ADMIN_ID, EN.gettext("add one sentence")), 15, start=start)
            await sigkill(first, database)

        async with bot_process(tmp_path, double, "second"):
            await say(double, ADMIN, "Well run, warm people.", EN.gettext("it is noted"))
        assert double.violations == []
    assert query(database, "SELECT stars, comment FROM ratings") == [(4, "Well run, warm people.")]
    assert query(database, "SELECT COUNT(*) FROM drafts") == [(0,)]


async def test_the_link_that_brought_a_newcomer_opens_after_a_sigkill(tmp_path: Path) -> None:
    database, event_id = await seed(tmp_path, event=True)
    async with BotApiDouble(token=TOKEN) as double:
        async with bot_process(tmp_path, double, "first") as first:
            double.send_text(NEWCOMER, f"/start ev_{event_id}")
            await double.wait_for(lambda c: c.params.get("chat_id") == NEWCOMER_ID, timeout=15)
            await tap(double, NEWCOMER, "English", EN.gettext("Do you agree?"))
            await tap(double, NEWCOMER, EN.gettext("I agree"), EN.gettext("Thank you, welcome!"))
            await sigkill(first, database)
        assert query(database, "SELECT kind FROM drafts") == [("onboarding",)]

        async with bot_process(tmp_path, double, "second"):
            await tap(double, NEWCOMER, "Bari", EN.gettext("One last, optional question"))
            start = len(double.calls)
            message_id, data = double.find_button(NEWCOMER_ID, EN.gettext("Prefer not to say"))
            double.tap(NEWCOMER, message_id, data)
            # Onboarding ends, and the event the link pointed at opens.
            await double.wait_for(shows(NEWCOMER_ID, "Language café"), timeout=15, start=start)
        assert double.violations == []
    assert query(database, "SELECT COUNT(*) FROM drafts") == [(0,)]

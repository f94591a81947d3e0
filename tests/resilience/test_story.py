"""A story survives a restart: in the middle of the /story conversation, and before the
moderator acts (in process, over the same database); and the CLI killed with SIGKILL between
two taps, while the story is sent, and while a moderator approves it. After every kill the
database passes SQLite's integrity check (tests/process.py ``sigkill``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

import pytest

from bot import stories as st
from bot.db import Database
from bot.i18n import Catalogs
from bot.outbox import Sender
from bot.services import Services
from tests.botapi import BotApiDouble, Call
from tests.conftest import ADMIN_ID, TOKEN, make_config
from tests.flows.harness import Bot, Person, running_bot, sent_to
from tests.process import bot_process, config_toml, integrity, query, sigkill
from tests.resilience import eventually

CATALOGS = Catalogs()
EN = CATALOGS.translator("en")
UK = CATALOGS.translator("uk")
CHAPTER = "Fighting ethnic stigma"
STORY = "Сусіди <b>допомогли</b> нам & нашим дітям, коли ми приїхали до Барі. Дякуємо!"
AUTHOR_ID = 5001
MODERATOR_ID = 5002

ASK_ANONYMITY = "Should your story carry your first name, or be anonymous?"
PREVIEW = "This is how it will be published, if a moderator approves it:"
THANKS = "Thank you! Your story is with the moderators. I will tell you when they have read it."
SUBMITTED = "📝 A new story is waiting for review: /queue"
SUBMITTED_KIND, DECIDED_KIND, PUBLISHED_KIND = st.SUBMITTED, st.DECIDED, st.PUBLISHED
IN_FLIGHT_BOUND = Sender.max_in_flight
APPROVED = (
    "🎉 Your story for “{chapter}” was approved. Thank you for "
    "sharing it! Read it with the others: /stories"
)


def author(bot: Bot) -> Person:
    return bot.person("Olena", "uk", telegram_id=AUTHOR_ID)


def unfinished(answers: str) -> dict[str, Any]:
    """A draft's answers (the drafts table's JSON), "anonymous" as the stories table has it."""
    draft: dict[str, Any] = json.loads(answers)
    if draft["anonymous"] is not None:
        draft["anonymous"] = int(draft["anonymous"])
    return draft


async def story_rows(bot: Bot) -> list[tuple[Any, ...]]:
    """The unfinished story (from the drafts table, as "draft") and then the stories sent."""
    drafts = await bot.services.db.fetchall(
        "SELECT telegram_id, answers FROM drafts WHERE kind = 'story'"
    )
    rows = await bot.services.db.fetchall(
        "SELECT author_id, chapter_id IS NOT NULL, text, anonymous, signed_name, status"
        " FROM stories ORDER BY id"
    )
    return [
        (author, d["chapter_id"] is not None, d["text"], d["anonymous"], d["signed_name"], "draft")
        for author, d in ((row[0], unfinished(row[1])) for row in drafts)
    ] + [tuple(row) for row in rows]


def preview(name: str) -> str:
    return UK.gettext(PREVIEW) + f"\n\n{CHAPTER}\n\n{STORY}\n\n— {name}"


async def test_story_resumes_after_a_restart_with_the_text_kept(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        olena = author(bot)
        await olena.onboard("uk")
        await olena.send("/story")
        await olena.tap(CHAPTER)
        await olena.send(STORY)
        assert olena.last_text == UK.gettext(ASK_ANONYMITY)

    async with running_bot(tmp_path) as bot:
        olena = author(bot)
        assert await story_rows(bot) == [(AUTHOR_ID, 1, STORY, None, None, "draft")]
        await olena.send("/story")  # back at the step where it stopped, nothing asked twice
        assert olena.last_text == UK.gettext(ASK_ANONYMITY)
        await olena.tap(UK.gettext("Anonymous"))
        assert olena.last_text == preview(UK.gettext("anonymous"))
        await olena.tap(UK.gettext("Send"))
        assert olena.last_text == UK.gettext(THANKS)
        assert await story_rows(bot) == [(AUTHOR_ID, 1, STORY, 1, None, "pending")]


async def test_the_text_sent_after_a_restart_is_taken_as_the_story(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        olena = author(bot)
        await olena.onboard("uk")
        await olena.send("/story")
        await olena.tap(CHAPTER)

    async with running_bot(tmp_path) as bot:
        olena = author(bot)
        await olena.send(STORY)  # no /story first: the draft row says a text is awaited
        assert olena.last_text == UK.gettext(ASK_ANONYMITY)
        await olena.tap(UK.gettext("With my first name"))
        assert olena.last_text == preview("Olena")

    async with running_bot(tmp_path) as bot:
        olena = author(bot)
        await olena.send("/story")  # the preview again, as it was before the restart
        assert olena.last_text == preview("Olena")
        message_id, data = bot.double.find_button(AUTHOR_ID, UK.gettext("Send"))
        await olena.tap(UK.gettext("Send"))
        assert olena.last_text == UK.gettext(THANKS)
        assert await story_rows(bot) == [(AUTHOR_ID, 1, STORY, 0, "Olena", "pending")]
        start = len(bot.double.calls)
        # A second tap (the first answer lost, or a double tap) sends nothing twice, and says
        # again that the story is with the moderators: not "start one", which would make her
        # write it again.
        await olena.tap_data(message_id, data)
        answers = [
            c.params.get("text")
            for c in bot.double.calls[start:]
            if c.method == "editMessageText" or c.params.get("chat_id") == AUTHOR_ID
        ]
        assert answers == [UK.gettext(THANKS)]
        assert olena.alerts() == []
        assert await story_rows(bot) == [(AUTHOR_ID, 1, STORY, 0, "Olena", "pending")]
        notices = await bot.services.db.fetchval(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'story_submitted'"
        )
        assert notices == 1


async def test_approval_after_a_restart_reaches_the_author_exactly_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        mira = bot.person("Mira", "en", telegram_id=MODERATOR_ID)
        await mira.onboard("en")
        await bot.services.staff.grant(ADMIN_ID, MODERATOR_ID, "moderator")
        olena = author(bot)
        await olena.onboard("uk")
        await olena.send("/story")
        await olena.tap(CHAPTER)
        await olena.send(STORY)
        await olena.tap(UK.gettext("Anonymous"))
        await olena.tap(UK.gettext("Send"))
        await bot.double.wait_for(sent_to(MODERATOR_ID, EN.gettext(SUBMITTED)), timeout=10)

    approved = UK.gettext(APPROVED).format(chapter=CHAPTER)
    async with running_bot(tmp_path) as bot:
        mira = bot.person("Mira", "en", telegram_id=MODERATOR_ID)
        await mira.send("/queue")
        waiting = EN.ngettext("{count} story waiting.", "{count} stories waiting.", 1)
        assert mira.last_text == (
            waiting.format(count=1) + f"\n\n{CHAPTER}\n\n{STORY}\n\n— " + EN.gettext("anonymous")
        )
        await mira.tap(EN.gettext("Approve"))
        assert mira.last_text.startswith(EN.gettext("Approved."))
        await bot.double.wait_for(sent_to(AUTHOR_ID, approved), timeout=10)
        assert await story_rows(bot) == [(AUTHOR_ID, 1, STORY, 1, None, "approved")]
        # The notice to the moderators was sent before the restart: not again.
        assert not [c for c in bot.double.calls if sent_to(MODERATOR_ID, EN.gettext(SUBMITTED))(c)]

    async with running_bot(tmp_path) as bot:
        olena = author(bot)
        statuses = await bot.services.db.fetchall(
            "SELECT status, COUNT(*) FROM outbox WHERE chat_id = ? AND kind = 'story_decided'"
            " GROUP BY status",
            (AUTHOR_ID,),
        )
        assert [tuple(row) for row in statuses] == [("sent", 1)]
        await olena.send("/stories")  # a round trip, while the sender has had its first pass
        await olena.tap(CHAPTER)
        assert STORY in olena.last_text
        await asyncio.sleep(0.3)
        assert not [c for c in bot.double.calls if sent_to(AUTHOR_ID, approved)(c)]


# The CLI killed with SIGKILL: between two taps, while a story is sent, while one is decided -

AUTHOR: dict[str, Any] = {"id": AUTHOR_ID, "first_name": "Olena", "language_code": "uk"}
MODERATOR: dict[str, Any] = {"id": MODERATOR_ID, "first_name": "Mira", "language_code": "en"}
CHANNEL = -1001234567890  # bot.public_channel: approved stories are posted there
CLI_CONFIG = config_toml(public_channel=CHANNEL)
# Long enough to kill the bot while Telegram holds the call, short of the bot's 5 s time-out.
HELD = 1.0


async def seed(tmp_path: Path, *, submitted: bool) -> Path:
    """As a previous run would have left it: Olena's story with its chapter and text (sent to
    the moderators if ``submitted``), and Mira, a moderator. Returns the database."""
    config = make_config(tmp_path, public_channel=CHANNEL)
    services = Services.build(config, Database(config.database))
    await services.start()
    try:
        await services.people.give_consent(AUTHOR_ID, "uk")
        await services.people.give_consent(MODERATOR_ID, "en")
        await services.staff.grant(ADMIN_ID, MODERATOR_ID, "moderator")
        stories = services.stories
        await stories.start(AUTHOR_ID)
        first = int(await services.db.fetchval("SELECT id FROM chapters ORDER BY position"))
        await stories.set_chapter(AUTHOR_ID, first)
        await stories.set_text(AUTHOR_ID, STORY)
        if submitted:
            await stories.set_anonymous(AUTHOR_ID, True, "Olena")
            await stories.submit(AUTHOR_ID)
    finally:
        await services.db.close()
    return config.database


def stories_in(database: Path) -> list[tuple[Any, ...]]:
    """(text, anonymous, status) of the unfinished story ("draft") and of the stories sent."""
    drafts = [unfinished(answers) for (answers,) in query(database, "SELECT answers FROM drafts")]
    return [(d["text"], d["anonymous"], "draft") for d in drafts] + query(
        database, "SELECT text, anonymous, status FROM stories"
    )


def notices(database: Path, kind: str) -> dict[int, str]:
    """The outbox rows of one kind: chat -> status."""
    return dict(query(database, "SELECT chat_id, status FROM outbox WHERE kind = ?", (kind,)))


def accepted(double: BotApiDouble, chat_id: int, text: str) -> int:
    """How many messages to the chat containing ``text`` Telegram accepted."""
    return sum(1 for call in double.calls if call.ok and sent_to(chat_id, text)(call))


def edited(chat_id: int, text: str) -> Callable[[Call], bool]:
    def matches(call: Call) -> bool:
        return (
            call.method == "editMessageText"
            and call.params.get("chat_id") == chat_id
            and text in str(call.params.get("text", ""))
        )

    return matches


async def test_a_story_survives_the_cli_killed_between_taps_and_while_it_is_sent(
    tmp_path: Path,
) -> None:
    """Killed between two taps, the draft is kept; killed while the bot answers the Send tap,
    the story went to the moderators whole (pending, their notice queued) and only once. The
    notice repeats only if it was in flight at the kill: at most ``Sender.max_in_flight``
    messages can, here at most this one."""
    database = await seed(tmp_path, submitted=False)
    submitted = EN.gettext(SUBMITTED)
    async with BotApiDouble(token=TOKEN) as double:
        async with bot_process(tmp_path, double, "first", CLI_CONFIG) as first:
            double.send_text(AUTHOR, "/story")
            await double.wait_for(sent_to(AUTHOR_ID, UK.gettext(ASK_ANONYMITY)), timeout=15)
            message_id, data = double.find_button(AUTHOR_ID, UK.gettext("Anonymous"))
            double.tap(AUTHOR, message_id, data)
            await double.wait_for(edited(AUTHOR_ID, UK.gettext(PREVIEW)), timeout=15)
            await sigkill(first, database)
        assert stories_in(database) == [(STORY, 1, "draft")]
        assert notices(database, SUBMITTED_KIND) == {}

        async with bot_process(tmp_path, double, "second", CLI_CONFIG) as second:
            # The preview shown before the kill is still in the chat; its Send button works.
            message_id, data = double.find_button(AUTHOR_ID, UK.gettext("Send"))
            double.delay_next("answerCallbackQuery", HELD, chat_id=AUTHOR_ID)
            double.tap(AUTHOR, message_id, data)
            await double.wait_until_arrived(lambda c: c.method == "answerCallbackQuery")
            await sigkill(second, database)
        await double.wait_until_answered()
        assert stories_in(database) == [(STORY, 1, "pending")]
        at_kill = notices(database, SUBMITTED_KIND)
        assert set(at_kill) == {MODERATOR_ID}
        # Accepted by Telegram but never marked sent: it was in flight at the kill.
        in_flight = accepted(double, MODERATOR_ID, submitted) - (at_kill[MODERATOR_ID] == "sent")
        assert in_flight in (0, 1)

        async with bot_process(tmp_path, double, "third", CLI_CONFIG) as third:
            await eventually(
                lambda: notices(database, SUBMITTED_KIND) == {MODERATOR_ID: "sent"}, 15
            )
            # Olena never saw her thanks; she taps Send again: she sees them now, and nothing
            # is sent twice.
            start = len(double.calls)
            double.tap(AUTHOR, message_id, data)
            thanks = UK.gettext(THANKS)
            await double.wait_for(
                lambda c: c.params.get("chat_id") == AUTHOR_ID and c.params.get("text") == thanks,
                timeout=15,
                start=start,
            )
            # Mira finds it in her queue.
            double.send_text(MODERATOR, "/queue")
            await double.wait_for(sent_to(MODERATOR_ID, escape(STORY)), timeout=15, start=start)
        assert third.returncode == 0, (tmp_path / "third.log").read_text()
        assert accepted(double, MODERATOR_ID, submitted) == 1 + in_flight
        assert double.violations == []
    assert stories_in(database) == [(STORY, 1, "pending")]
    assert integrity(database) == "ok"


@pytest.mark.parametrize(
    "held",
    ["the moderator's answer", "the author's note and the channel's post"],
)
async def test_a_moderation_decision_survives_the_cli_being_killed(
    tmp_path: Path, held: str
) -> None:
    """Killed right after Mira taps Approve (while Telegram holds the answer to her tap), or
    while the approval's notices are being delivered: the decision is whole — the story
    approved, one line in the moderation log, one note to the author and one post to the
    channel queued — and after the restart each notice arrives; only those in flight at the
    kill arrive twice (the bound: ``Sender.max_in_flight`` messages; here at most these two).
    """
    database = await seed(tmp_path, submitted=True)
    approved = UK.gettext(APPROVED).format(chapter=CHAPTER)
    async with BotApiDouble(token=TOKEN) as double:
        async with bot_process(tmp_path, double, "first", CLI_CONFIG) as first:
            await double.wait_for(sent_to(MODERATOR_ID, EN.gettext(SUBMITTED)), timeout=15)
            double.send_text(MODERATOR, "/queue")
            await double.wait_for(sent_to(MODERATOR_ID, escape(STORY)), timeout=15)
            message_id, data = double.find_button(MODERATOR_ID, EN.gettext("Approve"))
            if held == "the moderator's answer":
                double.delay_next("answerCallbackQuery", HELD, chat_id=MODERATOR_ID)
                double.tap(MODERATOR, message_id, data)
                await double.wait_until_arrived(lambda c: c.method == "answerCallbackQuery")
            else:
                double.delay_next("sendMessage", HELD, chat_id=AUTHOR_ID)
                double.delay_next("sendMessage", HELD, chat_id=CHANNEL)
                double.tap(MODERATOR, message_id, data)
                await double.wait_until_arrived(sent_to(AUTHOR_ID, approved))
                await double.wait_until_arrived(sent_to(CHANNEL, escape(STORY)))
                # Mira saw her decision taken before the kill.
                await double.wait_for(edited(MODERATOR_ID, EN.gettext("Approved.")))
            await sigkill(first, database)
        await double.wait_until_answered()

        assert stories_in(database) == [(STORY, 1, "approved")]
        assert query(database, "SELECT moderator_id, action FROM moderation_log") == [
            (MODERATOR_ID, "approve")
        ]
        decided, published = notices(database, DECIDED_KIND), notices(database, PUBLISHED_KIND)
        assert set(decided) == {AUTHOR_ID} and set(published) == {CHANNEL}
        told = {
            AUTHOR_ID: (accepted(double, AUTHOR_ID, approved), decided[AUTHOR_ID]),
            CHANNEL: (accepted(double, CHANNEL, escape(STORY)), published[CHANNEL]),
        }
        # Accepted by Telegram but never marked sent: in flight at the kill.
        in_flight = {chat for chat, (n, status) in told.items() if n == 1 and status != "sent"}
        assert all(n <= 1 for n, _ in told.values())
        if held != "the moderator's answer":
            assert in_flight == {AUTHOR_ID, CHANNEL}
        assert len(in_flight) <= IN_FLIGHT_BOUND

        async with bot_process(tmp_path, double, "second", CLI_CONFIG) as second:
            await eventually(
                lambda: (
                    notices(database, DECIDED_KIND) == {AUTHOR_ID: "sent"}
                    and notices(database, PUBLISHED_KIND) == {CHANNEL: "sent"}
                ),
                15,
            )
            start = len(double.calls)
            if held == "the moderator's answer":
                # Mira never saw "Approved.": she taps again, and is told it is decided.
                double.tap(MODERATOR, message_id, data)
                taken = EN.gettext("Another moderator has already decided on this story.")
                await double.wait_for(
                    lambda c: c.method == "answerCallbackQuery" and c.params.get("text") == taken,
                    timeout=15,
                    start=start,
                )
            double.send_text(MODERATOR, "/queue")
            await double.wait_for(
                sent_to(MODERATOR_ID, EN.gettext("The queue is empty. Thank you!")),
                timeout=15,
                start=start,
            )
        assert second.returncode == 0, (tmp_path / "second.log").read_text()
        # Each notice arrived; only what was in flight at the kill arrived twice.
        assert accepted(double, AUTHOR_ID, approved) == 1 + (AUTHOR_ID in in_flight)
        assert accepted(double, CHANNEL, escape(STORY)) == 1 + (CHANNEL in in_flight)
        assert double.violations == []
    assert query(database, "SELECT COUNT(*) FROM moderation_log") == [(1,)]
    assert stories_in(database) == [(STORY, 1, "approved")]

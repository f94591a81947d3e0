"""A story survives a restart: in the middle of the /story conversation, and before the
moderator acts. In-process over the same database, and once with the CLI killed by SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

from bot import PROJECT_ROOT
from bot.config import load_config
from bot.db import Database
from bot.i18n import Catalogs
from bot.services import Services
from tests.botapi import BotApiDouble, Call
from tests.conftest import ADMIN_ID, TOKEN
from tests.flows.harness import Bot, Person, running_bot

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
APPROVED = (
    "🎉 Your story for “{chapter}” was approved. Thank you for "
    "sharing it! Read it with the others: /stories"
)


def sent(chat_id: int, text: str):  # type: ignore[no-untyped-def]
    def matches(call: Call) -> bool:
        return (
            call.method == "sendMessage"
            and str(call.params.get("chat_id")) == str(chat_id)
            and text in str(call.params.get("text", ""))
        )

    return matches


def author(bot: Bot) -> Person:
    return bot.person("Olena", "uk", telegram_id=AUTHOR_ID)


async def story_rows(bot: Bot) -> list[tuple[Any, ...]]:
    rows = await bot.services.db.fetchall(
        "SELECT author_id, chapter_id IS NOT NULL, text, anonymous, signed_name, status"
        " FROM stories ORDER BY id"
    )
    return [tuple(row) for row in rows]


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
        await olena.tap_data(message_id, data)  # a second tap sends nothing twice
        refusal = "There is no story waiting to be sent. Start one with /story."
        answers = [
            c.params.get("text")
            for c in bot.double.calls[start:]
            if c.method == "answerCallbackQuery" or c.params.get("chat_id") == AUTHOR_ID
        ]
        assert answers == [UK.gettext(refusal)]
        assert await story_rows(bot) == [(AUTHOR_ID, 1, STORY, 0, "Olena", "pending")]


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
        await bot.double.wait_for(sent(MODERATOR_ID, EN.gettext(SUBMITTED)), timeout=10)

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
        await bot.double.wait_for(sent(AUTHOR_ID, approved), timeout=10)
        assert await story_rows(bot) == [(AUTHOR_ID, 1, STORY, 1, None, "approved")]
        # The notice to the moderators was sent before the restart: not again.
        assert not [c for c in bot.double.calls if sent(MODERATOR_ID, EN.gettext(SUBMITTED))(c)]

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
        assert not [c for c in bot.double.calls if sent(AUTHOR_ID, approved)(c)]


# The CLI, killed with SIGKILL between two taps --------------------------------------------

CLI_ID = 4343
CLI_USER: dict[str, Any] = {
    "id": CLI_ID,
    "is_bot": False,
    "first_name": "Olena",
    "language_code": "uk",
}


async def _seed(database: Path) -> None:
    """A person whose draft has its chapter and text, as a previous run would have left it."""
    config = load_config(
        PROJECT_ROOT / "config.example.toml",
        {"BOT_TOKEN": TOKEN, "BASHKE_DATABASE": str(database)},
    )
    services = Services.build(config, Database(config.database))
    await services.start()
    try:
        await services.people.give_consent(CLI_ID, "uk")
        stories = services.stories
        await stories.start(CLI_ID)
        first = int(await services.db.fetchval("SELECT id FROM chapters ORDER BY position"))
        await stories.set_chapter(CLI_ID, first)
        await stories.set_text(CLI_ID, STORY)
    finally:
        await services.db.close()


async def _run_cli(double: BotApiDouble, tmp_path: Path, database: Path) -> Any:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "BASHKE_"))},
        "BOT_TOKEN": TOKEN,
        "BASHKE_CONFIG": str(PROJECT_ROOT / "config.example.toml"),
        "BASHKE_DATABASE": str(database),
        "BASHKE_API_BASE_URL": double.base_url,
        "BASHKE_API_BASE_FILE_URL": double.base_file_url,
    }
    start = len(double.calls)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    await double.wait_for(lambda c: c.method == "setMyCommands", timeout=30, start=start)
    return process


def _edited(text: str):  # type: ignore[no-untyped-def]
    def matches(call: Call) -> bool:
        return call.method == "editMessageText" and text in str(call.params.get("text", ""))

    return matches


async def test_a_story_survives_the_cli_being_killed(tmp_path: Path) -> None:
    database = tmp_path / "data" / "bashke.sqlite3"
    await _seed(database)
    async with BotApiDouble(token=TOKEN) as double:
        process = await _run_cli(double, tmp_path, database)
        try:
            double.send_text(CLI_USER, "/story")
            await double.wait_for(sent(CLI_ID, UK.gettext(ASK_ANONYMITY)), timeout=15)
            message_id, data = double.find_button(CLI_ID, UK.gettext("Anonymous"))
            double.tap(CLI_USER, message_id, data)
            await double.wait_for(_edited(UK.gettext(PREVIEW)), timeout=15)
        finally:
            process.kill()  # SIGKILL: no shutdown, no flush
            await process.communicate()
        assert process.returncode == -signal.SIGKILL
        with sqlite3.connect(database) as db:
            assert db.execute("SELECT text, anonymous, status FROM stories").fetchall() == [
                (STORY, 1, "draft")
            ]

        start = len(double.calls)
        process = await _run_cli(double, tmp_path, database)
        try:
            # The preview shown before the kill is still in the chat; its Send button works.
            message_id, data = double.find_button(CLI_ID, UK.gettext("Send"))
            double.tap(CLI_USER, message_id, data)
            await double.wait_for(_edited(UK.gettext(THANKS)), timeout=15, start=start)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                output, _ = await asyncio.wait_for(process.communicate(), timeout=20)
            except TimeoutError:
                process.kill()
                output, _ = await process.communicate()
        assert process.returncode == 0, output.decode()
        assert double.violations == []
        assert double.last_message(CLI_ID)["text"] == UK.gettext(THANKS)
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT text, anonymous, status FROM stories").fetchall() == [
            (STORY, 1, "pending")
        ]

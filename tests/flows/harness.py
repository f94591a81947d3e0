"""Drive the real Application through the Bot API double, as people tapping in Telegram would."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram.request import HTTPXRequest

from bot.db import Database
from bot.i18n import LANGUAGE_NAMES, Catalogs
from bot.services import Services
from handlers.application import ALLOWED_UPDATES, build_application
from handlers.context import BashkeApp
from handlers.delivery import Delivery
from handlers.processor import PerPersonUpdateProcessor
from tests.botapi import BotApiDouble, Call, visible_text
from tests.conftest import TOKEN, make_config

SETTLE_TIMEOUT = 10.0
CATALOGS = Catalogs()


def sent_to(chat: int | Person, text: str) -> Callable[[Call], bool]:
    """Matches a message the bot sent to a chat (or a person) whose HTML text contains text."""
    chat_id = chat.telegram_id if isinstance(chat, Person) else chat

    def matches(call: Call) -> bool:
        return (
            call.method == "sendMessage"
            and call.params.get("chat_id") == chat_id
            and text in str(call.params.get("text", ""))
        )

    return matches


def seen(html: str) -> str:
    """What a person sees of an HTML message: tags gone, entities unescaped."""
    return visible_text(html, "HTML")


@dataclass
class Bot:
    """A running bot and the double it talks to."""

    app: BashkeApp
    double: BotApiDouble
    services: Services
    pushed: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))

    @property
    def processor(self) -> PerPersonUpdateProcessor:
        processor = self.app.update_processor
        assert isinstance(processor, PerPersonUpdateProcessor)
        return processor

    def person(
        self,
        first_name: str = "Ana",
        language_code: str | None = "en",
        telegram_id: int | None = None,
    ) -> Person:
        return Person(self, telegram_id or next(self._ids), first_name, language_code)

    async def settle(self) -> None:
        """Wait until the bot has handled every update pushed so far."""
        async with asyncio.timeout(SETTLE_TIMEOUT):
            await self.processor.wait_until_processed(self.pushed)

    async def pause_delivery(self) -> None:
        """Stop the outbox sender and the due-work loop: what is queued stays in the table.

        For tests that read every reply as the direct answer to what a person sent.
        """
        delivery = self.app.bot_data.pop("delivery", None)
        if isinstance(delivery, Delivery):
            await delivery.stop()


@dataclass
class Person:
    bot: Bot
    telegram_id: int
    first_name: str
    language_code: str | None

    @property
    def user(self) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": self.telegram_id,
            "is_bot": False,
            "first_name": self.first_name,
        }
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    async def send(self, text: str) -> None:
        self.bot.double.send_text(self.user, text)
        self.bot.pushed += 1
        await self.bot.settle()

    async def onboard(self, language: str = "en", town: str = "Bari") -> None:
        """Go through /start as a person would: language, consent, town, no self-description."""
        tr = CATALOGS.translator(language)
        await self.send("/start")
        await self.tap(LANGUAGE_NAMES[language])
        await self.tap(tr.gettext("I agree"))
        await self.tap(town)
        await self.tap(tr.gettext("Prefer not to say"))

    async def tap(self, label: str) -> None:
        """Tap the button whose label contains ``label`` in the newest message that has it."""
        message_id, data = self.bot.double.find_button(self.telegram_id, label)
        self.bot.double.tap(self.user, message_id, data)
        self.bot.pushed += 1
        await self.bot.settle()

    async def tap_data(self, message_id: int, data: str) -> None:
        """Send any callback data, as a stale or forged button would."""
        self.bot.double.tap(self.user, message_id, data, strict=False)
        self.bot.pushed += 1
        await self.bot.settle()

    def messages(self) -> list[dict[str, Any]]:
        return list(self.bot.double.messages(self.telegram_id))

    @property
    def last_text(self) -> str:
        message = self.bot.double.last_message(self.telegram_id)
        assert message is not None, "the bot has sent this person nothing"
        return str(message.get("text") or message.get("caption") or "")

    def buttons(self) -> list[str]:
        message = self.bot.double.last_message(self.telegram_id)
        assert message is not None
        return [text for row in self.bot.double.buttons(message) for text, _ in row]

    def alerts(self) -> list[str]:
        """The texts of answered callback queries shown as alerts to this person."""
        return [
            str(call.params.get("text", ""))
            for call in self.bot.double.calls
            if call.method == "answerCallbackQuery" and call.params.get("text")
        ]


@asynccontextmanager
async def running_bot(
    tmp_path: Path, *, read_timeout: float | None = None, **bot_config: Any
) -> AsyncIterator[Bot]:
    """The bot over a database in ``tmp_path``; ``read_timeout`` (seconds) shortens how long
    it waits for the answer to each of its calls (python-telegram-bot's default: 5 s)."""
    async with BotApiDouble(token=TOKEN) as double:
        config = make_config(
            tmp_path,
            api_base_url=double.base_url,
            api_base_file_url=double.base_file_url,
            **bot_config,
        )
        services = Services.build(config, Database(config.database))
        app = build_application(services)
        if read_timeout is not None:
            await _shorten_read_timeout(app, read_timeout)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES)
        try:
            yield Bot(app, double, services)
        finally:
            await app.updater.stop()
            await app.stop()
            # run_polling would call these; the harness starts the bot piece by piece.
            assert app.post_stop is not None and app.post_shutdown is not None
            await app.post_stop(app)
            await app.post_shutdown(app)
            await app.shutdown()
        assert double.violations == [], "calls Telegram would refuse"


async def _shorten_read_timeout(app: BashkeApp, seconds: float) -> None:
    """A test of time-outs makes the bot less patient rather than sit out 5 s for each one.

    build_application leaves no way in, so the request object of the bot's calls (not the one
    of its long polling) is swapped before it is first used; it is built as the
    ApplicationBuilder builds it, with only the read time-out changed.
    """
    bot = app.bot
    polling, calls = bot._request
    bot._request = (polling, HTTPXRequest(connection_pool_size=256, read_timeout=seconds))
    await calls.shutdown()

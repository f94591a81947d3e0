"""The outbox's Telegram side: the transport that turns a row into one Bot API call, and the
sender running beside the bot."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.outbox import (
    Blocked,
    OutgoingMessage,
    Permanent,
    RetryLater,
    Sender,
    Transient,
)
from bot.services import Services
from handlers.render import keyboard

log = logging.getLogger(__name__)
STOP_WAIT = 10.0  # seconds for the loops to end on shutdown


class TelegramTransport:
    """One outbox row, one Bot API call; Telegram's answers become the sender's next step."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def deliver(self, chat_id: int, message: OutgoingMessage) -> None:
        markup = keyboard([list(row) for row in message.buttons]) if message.buttons else None
        try:
            if message.photo_id is not None:
                await self._bot.send_photo(
                    chat_id, message.photo_id, caption=message.text, reply_markup=markup
                )
            elif message.photo is not None:
                await self._bot.send_photo(
                    chat_id, InputFile(message.photo), caption=message.text, reply_markup=markup
                )
            elif message.document is not None:
                name, data = message.document
                await self._bot.send_document(
                    chat_id,
                    InputFile(data, filename=name),
                    caption=message.text,
                    reply_markup=markup,
                )
            else:
                await self._bot.send_message(chat_id, message.text, reply_markup=markup)
        except RetryAfter as exc:
            seconds = exc.retry_after
            raise RetryLater(
                seconds if isinstance(seconds, int | float) else seconds.total_seconds()
            ) from exc
        except Forbidden as exc:
            raise Blocked(exc.message) from exc
        except BadRequest as exc:  # before NetworkError: BadRequest is one of its kind
            raise Permanent(exc.message) from exc
        except (NetworkError, TelegramError) as exc:
            raise Transient(str(exc)) from exc


class Delivery:
    """Runs the sender beside the bot: started after the bot, stopped before it."""

    def __init__(self, services: Services, bot: Bot) -> None:
        self.sender = Sender(
            services.outbox, TelegramTransport(bot), rate_per_second=services.config.outbox_rate
        )
        self._services = services
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.sender.run(), name="outbox-sender"),
            asyncio.create_task(self._due_work(), name="due-work"),
        ]

    async def _due_work(self) -> None:
        """Every second: close the votes whose time is up, remind non-voters before that, offer
        the attitude pulse to those who attended an event that ended, and follow up on events
        that ended (the rating requests).

        What they queue goes out through the outbox; the rows, not this loop, are the truth,
        so a restart simply finds the same due rounds again.
        """
        while True:
            try:
                services = self._services
                voting = await services.votes.close_due() or await services.votes.remind_due()
                # Not behind the votes' `or`: a pass busy with votes still offers the pulse.
                offered = await services.pulse.due(services.clock())
                followed = await services.events.follow_up_due(services.clock())
                if voting or offered or followed:
                    services.outbox.wake.set()
            except Exception:
                log.exception("the due-work pass failed; trying again")
            await asyncio.sleep(1.0)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        # Bounded: a loop that missed its cancellation must not hold the shutdown for ever.
        if self._tasks:
            _, running = await asyncio.wait(self._tasks, timeout=STOP_WAIT)
            for task in running:
                log.error("%s did not stop within %s s", task.get_name(), STOP_WAIT)
        await self.sender.drain()

"""The outbox's Telegram side: the transport that sends a row, and the texts of event notices."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from html import escape

from telegram import Bot, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot import events as ev
from bot.errors import NotFound
from bot.i18n import Translator
from bot.outbox import (
    Blocked,
    OutboxRow,
    OutgoingMessage,
    Permanent,
    RetryLater,
    Sender,
    Transient,
)
from bot.services import Services
from handlers.render import keyboard

log = logging.getLogger(__name__)


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


def register_notices(services: Services) -> None:
    """The texts of what the events feature queues; rendered when sent, in today's language."""
    events = services.events

    async def event_or_none(row: OutboxRow) -> ev.Event | None:
        try:
            return await events.get(int(row.params["event_id"]))
        except NotFound:
            return None

    def heading(tr: Translator, event: ev.Event) -> str:
        return (
            f"<b>{escape(event.title)}</b>\n🗓 "
            + tr.when(event.starts_at, event.ends_at, event.timezone)
            + f" ({escape(event.timezone)})\n📍 {escape(event.place)}"
        )

    async def reminder(row: OutboxRow, tr: Translator) -> OutgoingMessage | None:
        event = await event_or_none(row)
        # Dropped, not sent, when the event is gone, moved past this reminder, or left.
        if event is None or event.cancelled or events.clock() >= event.starts_at:
            return None
        if await events.status_of(event.id, row.chat_id) != "registered":
            return None
        return OutgoingMessage(
            tr.gettext("⏰ Reminder: you are registered for this event.")
            + "\n\n"
            + heading(tr, event)
        )

    async def moved(row: OutboxRow, tr: Translator) -> OutgoingMessage | None:
        event = await event_or_none(row)
        if event is None or event.cancelled:
            return None
        return OutgoingMessage(
            tr.gettext("📣 This event has new times:") + "\n\n" + heading(tr, event)
        )

    async def changed(row: OutboxRow, tr: Translator) -> OutgoingMessage | None:
        event = await event_or_none(row)
        if event is None or event.cancelled:
            return None
        return OutgoingMessage(
            tr.gettext("📣 This event has changed:") + "\n\n" + heading(tr, event)
        )

    async def cancelled(row: OutboxRow, tr: Translator) -> OutgoingMessage | None:
        event = await event_or_none(row)
        if event is None:
            return None
        return OutgoingMessage(
            tr.gettext("❌ This event is cancelled. We are sorry.") + "\n\n" + heading(tr, event)
        )

    async def promoted(row: OutboxRow, tr: Translator) -> OutgoingMessage | None:
        event = await event_or_none(row)
        if event is None or event.cancelled:
            return None
        return OutgoingMessage(
            tr.gettext("🎉 A seat freed up and it is yours: you are now registered for this event.")
            + "\n\n"
            + heading(tr, event)
        )

    async def fill(row: OutboxRow, tr: Translator) -> OutgoingMessage | None:
        event = await event_or_none(row)
        if event is None or event.cancelled:
            return None
        percent = int(row.params["percent"])
        text = tr.gettext("📈 “{title}”: {registered} of {capacity} seats taken ({percent}%).")
        return OutgoingMessage(
            text.format(
                title=escape(event.title),
                percent=percent,
                registered=event.registered,
                capacity=event.capacity,
            )
        )

    for kind, renderer in (
        (ev.REMINDER, reminder),
        (ev.MOVED, moved),
        (ev.CHANGED, changed),
        (ev.CANCELLED, cancelled),
        (ev.PROMOTED, promoted),
        (ev.FILL_ALERT, fill),
    ):
        services.outbox.register(kind, renderer)


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
        """Every second: close the votes whose time is up and remind non-voters before that.

        What they queue goes out through the outbox; the rows, not this loop, are the truth,
        so a restart simply finds the same due rounds again.
        """
        while True:
            try:
                if (
                    await self._services.votes.close_due()
                    or await self._services.votes.remind_due()
                ):
                    self._services.outbox.wake.set()
            except Exception:
                log.exception("the due-work pass failed; trying again")
            await asyncio.sleep(1.0)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.sender.drain()

"""Moving an event (the card's Move button): a new start and end, on the event's own clock.

The answers are kept in the drafts table (handlers/conversation.py): a restart loses none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot import events as ev
from handlers import callbacks
from handlers.context import BashkeApp, BashkeContext
from handlers.conversation import END, Flow
from handlers.events import show_card
from handlers.render import show


@dataclass
class Moving:
    event_id: int
    timezone: str
    starts_at: datetime | None = None
    done: bool = False  # moved: a second message shows the card, moves nothing twice


flow = Flow("event_move", Moving)


def _text(update: Update) -> str:
    assert update.message is not None and update.message.text is not None
    return update.message.text


async def start(update: Update, context: BashkeContext) -> None:
    event = await context.services.events.managed_event(
        context.asker, callbacks.int_args(update, 1)[0]
    )
    await flow.begin(update, context, "start", Moving(event.id, event.timezone))


@flow.asks("start")
async def ask_start(update: Update, context: BashkeContext, answers: Moving) -> None:
    await show(
        update,
        context.tr.gettext(
            "When does it start now? Write the date and time in {timezone}, like this: {example}"
        ).format(timezone=answers.timezone, example=ev.DATE_TIME_EXAMPLE),
    )


@flow.on_text("start")
async def got_start(update: Update, context: BashkeContext, answers: Moving) -> str:
    starts = ev.parse_local_time(_text(update), answers.timezone)
    answers.starts_at = ev.check_start(starts, context.services.events.clock())
    return "end"


@flow.asks("end")
async def ask_end(update: Update, context: BashkeContext, answers: Moving) -> None:
    await show(
        update,
        context.tr.gettext("When does it end? Write the time (like 20:00), or a date and time."),
    )


@flow.on_text("end")
async def got_end(update: Update, context: BashkeContext, answers: Moving) -> None:
    assert answers.starts_at is not None
    if not answers.done:
        ends = ev.parse_local_time(_text(update), answers.timezone, day_of=answers.starts_at)
        await context.services.events.move(context.asker, answers.event_id, answers.starts_at, ends)
        answers.done = True
        # Kept until the card is shown: an answer Telegram lost is shown on the next message
        # instead of moving the event (and telling everyone) twice.
        await flow.save(context, "end", answers)
    await show_card(
        update,
        context,
        answers.event_id,
        note=context.tr.gettext("The event has new times; everyone on it is being told."),
    )
    return END


def register(app: BashkeApp) -> None:
    app.add_handler(CallbackQueryHandler(start, pattern=callbacks.pattern("evmove")))
    flow.register(app)

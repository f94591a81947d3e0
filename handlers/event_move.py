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
from handlers.event_new import ask_end, typed, typed_start
from handlers.events import change_once
from handlers.render import show


@dataclass
class Moving:
    event_id: int
    timezone: str
    starts_at: datetime | None = None
    done: bool = False  # moved: a second message shows the card, moves nothing twice


flow = Flow("event_move", Moving)


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
    answers.starts_at = typed_start(update, context, answers.timezone)
    return "end"


flow.asks("end")(ask_end)


@flow.on_text("end")
async def got_end(update: Update, context: BashkeContext, answers: Moving) -> None:
    starts = answers.starts_at
    assert starts is not None

    async def move() -> object:
        ends = ev.parse_local_time(typed(update), answers.timezone, day_of=starts)
        return await context.services.events.move(context.asker, answers.event_id, starts, ends)

    await change_once(
        update,
        context,
        flow,
        "end",
        answers,
        move,
        context.tr.gettext("The event has new times; everyone on it is being told."),
    )
    return END


def register(app: BashkeApp) -> None:
    app.add_handler(CallbackQueryHandler(start, pattern=callbacks.pattern("evmove")))
    flow.register(app)

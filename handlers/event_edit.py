"""Editing one field of an event (a field button of the card's Edit menu): ask, save, tell.

The field being edited is kept in the drafts table (handlers/conversation.py): a restart in
between loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.errors import InvalidInput
from bot.i18n import N_
from handlers import callbacks
from handlers.context import BashkeApp, BashkeContext
from handlers.conversation import END, Flow
from handlers.events import change_once
from handlers.render import show

FIELD_PROMPTS = {
    "title": N_("The new title?"),
    "description": N_("The new description? Send - to leave it empty."),
    "place": N_("The new place?"),
    "capacity": N_("How many seats now? Write a number, or - for no limit."),
}


@dataclass
class Editing:
    event_id: int
    field: str
    done: bool = False  # saved: a second message shows the card, tells nobody twice


flow = Flow("event_edit", Editing)


async def start(update: Update, context: BashkeContext) -> None:
    event_id, field = callbacks.args(update, 2)
    event = await context.services.events.managed_event(context.asker, callbacks.as_int(event_id))
    if field not in FIELD_PROMPTS:
        raise InvalidInput()
    await flow.begin(update, context, "value", Editing(event.id, field))


@flow.asks("value")
async def ask_value(update: Update, context: BashkeContext, answers: Editing) -> None:
    await show(update, context.tr.gettext(FIELD_PROMPTS[answers.field]))


@flow.on_text("value")
async def got_value(update: Update, context: BashkeContext, answers: Editing) -> None:
    assert update.message is not None and update.message.text is not None
    value = update.message.text
    await change_once(
        update,
        context,
        flow,
        "value",
        answers,
        lambda: context.services.events.edit(context.asker, answers.event_id, answers.field, value),
        context.tr.gettext("Saved; everyone on the event is being told."),
    )
    return END


def register(app: BashkeApp) -> None:
    app.add_handler(CallbackQueryHandler(start, pattern=callbacks.pattern("evfield")))
    flow.register(app)

"""/newevent: a short conversation for coordinators — answers checked one by one, then a preview.

Each answer is checked by the same rules the service applies on saving, so a wrong answer is
explained and asked again at once; ``/cancel`` leaves at any step without saving anything.
"""

from __future__ import annotations

import warnings
from typing import Any

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import events as ev
from bot.errors import InvalidInput
from bot.events import EventDraft, Scope
from bot.i18n import N_
from bot.roles import Permission
from bot.text import whole_number
from handlers import callbacks
from handlers.context import BashkeApp, BashkeContext
from handlers.events import event_text, show_card
from handlers.render import Button, keyboard, show
from handlers.steps import AN_ANSWER, expected_button, expected_text

(TITLE, DESCRIPTION, SCOPE, TOWN, START, END, PLACE, CAPACITY, DEADLINE, REMINDERS, PREVIEW) = (
    range(11)
)
MOVE_START, MOVE_END, EDIT_VALUE = range(11, 14)
EDITING = "event_editing"
FIELD_PROMPTS = {
    "title": N_("The new title?"),
    "description": N_("The new description? Send - to leave it empty."),
    "place": N_("The new place?"),
    "capacity": N_("How many seats now? Write a number, or - for no limit."),
}
DRAFT = "event_draft"
MOVING = "event_moving"
CONVERSATION_TIMEOUT = 30 * 60
TEXT = filters.TEXT & ~filters.COMMAND


def _draft(context: BashkeContext) -> dict[str, Any]:
    assert context.user_data is not None
    draft: dict[str, Any] = context.user_data.setdefault(DRAFT, {})
    return draft


def _text(update: Update) -> str:
    assert update.message is not None and update.message.text is not None
    return update.message.text


async def start(update: Update, context: BashkeContext) -> int:
    assert context.user_data is not None
    await context.services.authz.require_coordinator(context.asker)
    context.user_data[DRAFT] = {}
    await show(update, context.tr.gettext("A new event. What is its title? (/cancel to stop)"))
    return TITLE


async def got_title(update: Update, context: BashkeContext) -> int:
    _draft(context)["title"] = ev.check_title(_text(update))
    await show(update, context.tr.gettext("A short description? Send - to leave it empty."))
    return DESCRIPTION


async def got_description(update: Update, context: BashkeContext) -> int:
    text = _text(update).strip()
    _draft(context)["description"] = "" if text == "-" else ev.check_description(text)
    roles = await context.roles(context.asker)
    tr = context.tr
    if roles.sees_network:
        await show(
            update,
            tr.gettext("Is it a local event of one town, or international?"),
            keyboard(
                [
                    [
                        (tr.gettext("Local"), callbacks.encode("nescope", "local")),
                        (tr.gettext("International"), callbacks.encode("nescope", "international")),
                    ]
                ]
            ),
        )
        return SCOPE
    _draft(context)["scope"] = Scope.LOCAL.value
    return await _ask_town(update, context)


async def got_scope(update: Update, context: BashkeContext) -> int:
    (scope,) = callbacks.args(update, 1)
    if scope not in (Scope.LOCAL, Scope.INTERNATIONAL):
        raise InvalidInput()
    draft = _draft(context)
    draft["scope"] = scope
    if scope == Scope.INTERNATIONAL:
        draft["town_id"] = None
        draft["timezone"] = context.services.config.timezone
        return await _ask_start(update, context)
    return await _ask_town(update, context)


async def _ask_town(update: Update, context: BashkeContext) -> int:
    roles = await context.roles(context.asker)
    towns = [
        town
        for town in await context.services.towns.list_towns()
        if roles.sees_network or town.id in roles.coordinator_towns
    ]
    rows: list[list[Button]] = [
        [(town.name, callbacks.encode("netown", town.id))] for town in towns
    ]
    await show(update, context.tr.gettext("Which town is it in?"), keyboard(rows))
    return TOWN


async def got_town(update: Update, context: BashkeContext) -> int:
    town = await context.services.towns.get(callbacks.int_args(update, 1)[0])
    # Checked again on saving; refused here so the coordinator is not asked for more first.
    await context.services.authz.require(context.asker, Permission.COORDINATE, town.id)
    draft = _draft(context)
    draft["town_id"] = town.id
    draft["timezone"] = town.timezone
    return await _ask_start(update, context)


async def _ask_start(update: Update, context: BashkeContext) -> int:
    tz = _draft(context)["timezone"]
    await show(
        update,
        context.tr.gettext(
            "When does it start? Write the date and time in {timezone}, like this: {example}"
        ).format(timezone=tz, example=ev.DATE_TIME_EXAMPLE),
    )
    return START


async def got_start(update: Update, context: BashkeContext) -> int:
    draft = _draft(context)
    starts = ev.parse_local_time(_text(update), draft["timezone"])
    if starts <= context.services.events.clock():
        raise InvalidInput(N_("The start is in the past. Please give a future date and time."))
    draft["starts_at"] = starts
    await show(
        update,
        context.tr.gettext("When does it end? Write the time (like 20:00), or a date and time."),
    )
    return END


async def got_end(update: Update, context: BashkeContext) -> int:
    draft = _draft(context)
    ends = ev.parse_local_time(_text(update), draft["timezone"], day_of=draft["starts_at"])
    if ends <= draft["starts_at"]:
        raise InvalidInput(N_("The end must be after the start."))
    draft["ends_at"] = ends
    await show(update, context.tr.gettext("Where is it? (the address or the place's name)"))
    return PLACE


async def got_place(update: Update, context: BashkeContext) -> int:
    _draft(context)["place"] = ev.check_place(_text(update))
    tr = context.tr
    await show(
        update,
        tr.gettext("How many seats are there? Write a number."),
        keyboard([[(tr.gettext("No limit"), callbacks.encode("necap", "none"))]]),
    )
    return CAPACITY


async def got_capacity(update: Update, context: BashkeContext) -> int:
    if update.callback_query is not None:
        callbacks.args(update, 1)
        capacity = None
    else:
        capacity = ev.check_capacity(_text(update))
    _draft(context)["capacity"] = capacity
    tr = context.tr
    await show(
        update,
        tr.gettext(
            "Until when can people register? Write a date and time, like this: {example}"
        ).format(example=ev.DATE_TIME_EXAMPLE),
        keyboard([[(tr.gettext("Until the start"), callbacks.encode("nedeadline", "none"))]]),
    )
    return DEADLINE


async def got_deadline(update: Update, context: BashkeContext) -> int:
    draft = _draft(context)
    if update.callback_query is not None:
        callbacks.args(update, 1)
        draft["registration_deadline"] = None
    else:
        deadline = ev.parse_local_time(_text(update), draft["timezone"])
        if not context.services.events.clock() < deadline <= draft["starts_at"]:
            raise InvalidInput(
                N_("The registration deadline must be in the future and not after the start.")
            )
        draft["registration_deadline"] = deadline
    tr = context.tr
    await show(
        update,
        tr.gettext(
            "When should people be reminded? Write hours before the start, like 24, 2 — "
            "or keep the usual ones."
        ),
        keyboard([[(tr.gettext("24 h and 2 h before"), callbacks.encode("neremind", "default"))]]),
    )
    return REMINDERS


async def got_reminders(update: Update, context: BashkeContext) -> int:
    draft = _draft(context)
    if update.callback_query is not None:
        callbacks.args(update, 1)
        draft["reminder_minutes"] = ev.DEFAULT_REMINDERS
    else:
        parts = [p for p in _text(update).replace(";", ",").split(",") if p.strip()]
        # Their range is check_draft's to tell: "0" or "9999" gets its own answer there.
        hours = [whole_number(p, 0, 10**18) for p in parts]
        if not hours or len(hours) > 5 or None in hours:
            raise InvalidInput(N_("Please write up to five whole numbers of hours, like 24, 2."))
        draft["reminder_minutes"] = tuple(h * 60 for h in hours if h is not None)
    return await _preview(update, context)


def _as_draft(context: BashkeContext) -> EventDraft:
    d = _draft(context)
    return EventDraft(
        scope=Scope(d["scope"]),
        town_id=d.get("town_id"),
        title=d["title"],
        description=d["description"],
        place=d["place"],
        timezone=d["timezone"],
        starts_at=d["starts_at"],
        ends_at=d["ends_at"],
        capacity=d["capacity"],
        registration_deadline=d["registration_deadline"],
        reminder_minutes=tuple(d["reminder_minutes"]),
    )


async def _preview(update: Update, context: BashkeContext) -> int:
    draft = ev.check_draft(_as_draft(context), context.services.events.clock())
    town_name = None
    if draft.town_id is not None:
        town_name = (await context.services.towns.get(draft.town_id)).name
    preview = ev.Event.preview(draft, town_name)
    tr = context.tr
    await show(
        update,
        tr.gettext("This is how people will see it:") + "\n\n" + event_text(tr, preview, None),
        keyboard(
            [
                [
                    (tr.gettext("Create the event"), callbacks.encode("nesave", "yes")),
                    (tr.gettext("Cancel"), callbacks.encode("nesave", "no")),
                ]
            ]
        ),
    )
    return PREVIEW


async def save(update: Update, context: BashkeContext) -> int:
    assert context.user_data is not None
    (answer,) = callbacks.args(update, 1)
    if answer != "yes":
        return await cancel(update, context)
    draft = _draft(context)
    if "created" not in draft:
        draft["created"] = (
            await context.services.events.create(context.asker, _as_draft(context))
        ).id
    # Kept until the card is shown: a second tap, after an answer Telegram lost, shows the
    # event created by the first instead of failing on an empty draft.
    await show_card(
        update, context, draft["created"], note=context.tr.gettext("The event is created.")
    )
    context.user_data.pop(DRAFT, None)
    return ConversationHandler.END


async def cancel(update: Update, context: BashkeContext) -> int:
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)
        context.user_data.pop(MOVING, None)
        context.user_data.pop(EDITING, None)
    await show(update, context.tr.gettext("Stopped. Nothing was saved."))
    return ConversationHandler.END


async def timed_out(update: Update, context: BashkeContext) -> None:
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)
    chat = update.effective_chat
    if chat is not None:
        await chat.send_message(
            context.tr.gettext(
                "The new event was left unfinished for a while, so I put it aside. "
                "Send /newevent to start again."
            )
        )


async def start_move(update: Update, context: BashkeContext) -> int:
    """The card's Move button: new start and end, on the event's own clock."""
    assert context.user_data is not None
    event = await context.services.events.managed_event(
        context.asker, callbacks.int_args(update, 1)[0]
    )
    context.user_data[MOVING] = {"event_id": event.id, "timezone": event.timezone}
    await show(
        update,
        context.tr.gettext(
            "When does it start now? Write the date and time in {timezone}, like this: {example}"
        ).format(timezone=event.timezone, example=ev.DATE_TIME_EXAMPLE),
    )
    return MOVE_START


async def got_move_start(update: Update, context: BashkeContext) -> int:
    assert context.user_data is not None
    moving = context.user_data[MOVING]
    moving["starts_at"] = ev.parse_local_time(_text(update), moving["timezone"])
    if moving["starts_at"] <= context.services.events.clock():
        raise InvalidInput(N_("The start is in the past. Please give a future date and time."))
    await show(
        update,
        context.tr.gettext("When does it end? Write the time (like 20:00), or a date and time."),
    )
    return MOVE_END


async def got_move_end(update: Update, context: BashkeContext) -> int:
    assert context.user_data is not None
    moving = context.user_data[MOVING]
    if "done" not in moving:
        ends = ev.parse_local_time(_text(update), moving["timezone"], day_of=moving["starts_at"])
        await context.services.events.move(
            context.asker, moving["event_id"], moving["starts_at"], ends
        )
        moving["done"] = True
    # Kept until the card is shown, as in ``save``: an answer Telegram lost is shown on the next
    # message instead of moving the event (and telling everyone) twice.
    await show_card(
        update,
        context,
        moving["event_id"],
        note=context.tr.gettext("The event has new times; everyone on it is being told."),
    )
    context.user_data.pop(MOVING, None)
    return ConversationHandler.END


async def start_edit(update: Update, context: BashkeContext) -> int:
    """A field button of the card's Edit menu: ask for the new value."""
    assert context.user_data is not None
    event_id, field = callbacks.args(update, 2)
    event = await context.services.events.managed_event(context.asker, callbacks.as_int(event_id))
    if field not in FIELD_PROMPTS:
        raise InvalidInput()
    context.user_data[EDITING] = {"event_id": event.id, "field": field}
    await show(update, context.tr.gettext(FIELD_PROMPTS[field]))
    return EDIT_VALUE


async def got_edit_value(update: Update, context: BashkeContext) -> int:
    assert context.user_data is not None
    editing = context.user_data[EDITING]
    if "done" not in editing:
        await context.services.events.edit(
            context.asker, editing["event_id"], editing["field"], _text(update)
        )
        editing["done"] = True
    # Kept until the card is shown, as in ``save``.
    await show_card(
        update,
        context,
        editing["event_id"],
        note=context.tr.gettext("Saved; everyone on the event is being told."),
    )
    context.user_data.pop(EDITING, None)
    return ConversationHandler.END


def register(app: BashkeApp) -> None:
    def step(handler: Any, pattern: str | None = None) -> list[Any]:
        if pattern is None:
            return [MessageHandler(TEXT, handler)]
        return [CallbackQueryHandler(handler, pattern=callbacks.pattern(pattern))]

    # The conversation is tracked per chat and person, which is what a coordinator expects;
    # PTB's note about per-message tracking of buttons does not apply.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=PTBUserWarning)
        conversation = _conversation(step)
    app.add_handler(conversation)


def _conversation(step: Any) -> ConversationHandler[Any]:
    def buttons(handler: Any, pattern: str) -> list[Any]:
        """A step that takes only its buttons: typing gets told so."""
        return [*step(handler, pattern), MessageHandler(AN_ANSWER, expected_button)]

    return ConversationHandler(
        entry_points=[
            CommandHandler("newevent", start, filters=filters.ChatType.PRIVATE),
            CallbackQueryHandler(start_move, pattern=callbacks.pattern("evmove")),
            CallbackQueryHandler(start_edit, pattern=callbacks.pattern("evfield")),
        ],
        states={
            TITLE: step(got_title),
            DESCRIPTION: step(got_description),
            SCOPE: buttons(got_scope, "nescope"),
            TOWN: buttons(got_town, "netown"),
            START: step(got_start),
            END: step(got_end),
            PLACE: step(got_place),
            CAPACITY: step(got_capacity) + step(got_capacity, "necap"),
            DEADLINE: step(got_deadline) + step(got_deadline, "nedeadline"),
            REMINDERS: step(got_reminders) + step(got_reminders, "neremind"),
            PREVIEW: buttons(save, "nesave"),
            MOVE_START: step(got_move_start),
            MOVE_END: step(got_move_end),
            EDIT_VALUE: step(got_edit_value),
            ConversationHandler.TIMEOUT: [MessageHandler(filters.ALL, timed_out)],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            MessageHandler(AN_ANSWER, expected_text),
        ],
        conversation_timeout=CONVERSATION_TIMEOUT,
        # /newevent (or a card's Edit or Move) in the middle starts that afresh: without it the
        # command the help lists would be answered "not understood".
        allow_reentry=True,
    )

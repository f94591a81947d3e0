"""/newevent: a short conversation for coordinators — answers checked one by one, then a preview.

Each answer is checked by the service's own rules (bot/events.py), so a wrong answer is
explained and asked again at once; ``/cancel`` leaves at any step without saving anything. The
answers are kept in the drafts table (handlers/conversation.py): a restart loses none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from telegram import Update
from telegram.ext import CommandHandler, filters

from bot import events as ev
from bot.errors import InvalidInput
from bot.events import EventDraft, Scope
from bot.i18n import N_
from bot.roles import Permission
from bot.text import whole_number
from handlers import callbacks
from handlers.context import BashkeApp, BashkeContext
from handlers.conversation import END, STOPPED, Flow
from handlers.events import event_text, show_card
from handlers.render import Button, keyboard, show


@dataclass
class NewEvent:
    """The answers so far; each field is filled by its step."""

    title: str = ""
    description: str = ""
    scope: Scope = Scope.LOCAL
    town_id: int | None = None
    timezone: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    place: str = ""
    capacity: int | None = None
    registration_deadline: datetime | None = None
    reminder_minutes: tuple[int, ...] = ev.DEFAULT_REMINDERS
    created: int | None = None  # the event, once made: a second tap shows it, makes none

    def draft(self) -> EventDraft:
        assert self.starts_at is not None and self.ends_at is not None
        return EventDraft(
            scope=self.scope,
            town_id=self.town_id,
            title=self.title,
            description=self.description,
            place=self.place,
            timezone=self.timezone,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            capacity=self.capacity,
            registration_deadline=self.registration_deadline,
            reminder_minutes=self.reminder_minutes,
        )


flow = Flow(
    "newevent",
    NewEvent,
    put_aside=N_(
        "The new event was left unfinished for a while, so I put it aside. "
        "Send /newevent to start again."
    ),
)


def typed(update: Update) -> str:
    assert update.message is not None and update.message.text is not None
    return update.message.text


def typed_start(update: Update, context: BashkeContext, timezone: str) -> datetime:
    """A start typed on ``timezone``'s clock, checked by the service's rule."""
    starts = ev.parse_local_time(typed(update), timezone)
    return ev.check_start(starts, context.services.events.clock())


async def start(update: Update, context: BashkeContext) -> None:
    await context.services.authz.require_coordinator(context.asker)
    await flow.begin(update, context, "title", NewEvent())


@flow.asks("title")
async def ask_title(update: Update, context: BashkeContext, answers: NewEvent) -> None:
    await show(update, context.tr.gettext("A new event. What is its title? (/cancel to stop)"))


@flow.on_text("title")
async def got_title(update: Update, context: BashkeContext, answers: NewEvent) -> str:
    answers.title = ev.check_title(typed(update))
    return "description"


@flow.asks("description")
async def ask_description(update: Update, context: BashkeContext, answers: NewEvent) -> None:
    await show(update, context.tr.gettext("A short description? Send - to leave it empty."))


@flow.on_text("description")
async def got_description(update: Update, context: BashkeContext, answers: NewEvent) -> str:
    text = typed(update).strip()
    answers.description = "" if text == "-" else ev.check_description(text)
    if (await context.roles(context.asker)).sees_network:
        return "scope"
    answers.scope = Scope.LOCAL
    return "town"


@flow.asks("scope")
async def ask_scope(update: Update, context: BashkeContext, answers: NewEvent) -> None:
    tr = context.tr
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


@flow.on_button("nescope", "scope")
async def got_scope(update: Update, context: BashkeContext, answers: NewEvent) -> str:
    (scope,) = callbacks.args(update, 1)
    if scope not in (Scope.LOCAL, Scope.INTERNATIONAL):
        raise InvalidInput()
    answers.scope = Scope(scope)
    if answers.scope is Scope.INTERNATIONAL:
        answers.town_id = None
        answers.timezone = context.services.config.timezone
        return "start"
    return "town"


@flow.asks("town")
async def ask_town(update: Update, context: BashkeContext, answers: NewEvent) -> None:
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


@flow.on_button("netown", "town")
async def got_town(update: Update, context: BashkeContext, answers: NewEvent) -> str:
    town = await context.services.towns.get(callbacks.int_args(update, 1)[0])
    # Checked again on saving; refused here so the coordinator is not asked for more first.
    await context.services.authz.require(context.asker, Permission.COORDINATE, town.id)
    answers.town_id = town.id
    answers.timezone = town.timezone
    return "start"


@flow.asks("start")
async def ask_start(update: Update, context: BashkeContext, answers: NewEvent) -> None:
    await show(
        update,
        context.tr.gettext(
            "When does it start? Write the date and time in {timezone}, like this: {example}"
        ).format(timezone=answers.timezone, example=ev.DATE_TIME_EXAMPLE),
    )


@flow.on_text("start")
async def got_start(update: Update, context: BashkeContext, answers: NewEvent) -> str:
    answers.starts_at = typed_start(update, context, answers.timezone)
    return "end"


async def ask_end(update: Update, context: BashkeContext, answers: object) -> None:
    await show(
        update,
        context.tr.gettext("When does it end? Write the time (like 20:00), or a date and time."),
    )


flow.asks("end")(ask_end)


@flow.on_text("end")
async def got_end(update: Update, context: BashkeContext, answers: NewEvent) -> str:
    assert answers.starts_at is not None
    ends = ev.parse_local_time(typed(update), answers.timezone, day_of=answers.starts_at)
    answers.ends_at = ev.check_end(answers.starts_at, ends)
    return "place"


@flow.asks("place")
async def ask_place(update: Update, context: BashkeContext, answers: NewEvent) -> None:
    await show(update, context.tr.gettext("Where is it? (the address or the place's name)"))


@flow.on_text("place")
async def got_place(update: Update, context: BashkeContext, answers: NewEvent) -> str:
    answers.place = ev.check_place(typed(update))
    return "capacity"


@flow.asks("capacity")
async def ask_capacity(update: Update, context: BashkeContext, answers: NewEvent) -> None:
    tr = context.tr
    await show(
        update,
        tr.gettext("How many seats are there? Write a number."),
        keyboard([[(tr.gettext("No limit"), callbacks.encode("necap", "none"))]]),
    )


@flow.on_text("capacity")
@flow.on_button("necap", "capacity")
async def got_capacity(update: Update, context: BashkeContext, answers: NewEvent) -> str:
    if update.callback_query is not None:
        callbacks.args(update, 1)
        answers.capacity = None
    else:
        answers.capacity = ev.check_capacity(typed(update))
    return "deadline"


@flow.asks("deadline")
async def ask_deadline(update: Update, context: BashkeContext, answers: NewEvent) -> None:
    tr = context.tr
    await show(
        update,
        tr.gettext(
            "Until when can people register? Write a date and time, like this: {example}"
        ).format(example=ev.DATE_TIME_EXAMPLE),
        keyboard([[(tr.gettext("Until the start"), callbacks.encode("nedeadline", "none"))]]),
    )


@flow.on_text("deadline")
@flow.on_button("nedeadline", "deadline")
async def got_deadline(update: Update, context: BashkeContext, answers: NewEvent) -> str:
    if update.callback_query is not None:
        callbacks.args(update, 1)
        answers.registration_deadline = None
    else:
        assert answers.starts_at is not None
        deadline = ev.parse_local_time(typed(update), answers.timezone)
        answers.registration_deadline = ev.check_deadline(
            deadline, answers.starts_at, context.services.events.clock()
        )
    return "reminders"


@flow.asks("reminders")
async def ask_reminders(update: Update, context: BashkeContext, answers: NewEvent) -> None:
    tr = context.tr
    await show(
        update,
        tr.gettext(
            "When should people be reminded? Write hours before the start, like 24, 2 — "
            "or keep the usual ones."
        ),
        keyboard([[(tr.gettext("24 h and 2 h before"), callbacks.encode("neremind", "default"))]]),
    )


@flow.on_text("reminders")
@flow.on_button("neremind", "reminders")
async def got_reminders(update: Update, context: BashkeContext, answers: NewEvent) -> str:
    if update.callback_query is not None:
        callbacks.args(update, 1)
        answers.reminder_minutes = ev.DEFAULT_REMINDERS
    else:
        parts = [p for p in typed(update).replace(";", ",").split(",") if p.strip()]
        # Their range is check_draft's to tell: "0" or "9999" gets its own answer there.
        hours = [whole_number(p, 0, 10**18) for p in parts]
        if not hours or len(hours) > 5 or None in hours:
            raise InvalidInput(N_("Please write up to five whole numbers of hours, like 24, 2."))
        answers.reminder_minutes = tuple(h * 60 for h in hours if h is not None)
    # Every rule at once, as on saving: the preview is of an event that can be created.
    ev.check_draft(answers.draft(), context.services.events.clock())
    return "preview"


@flow.asks("preview")
async def ask_preview(update: Update, context: BashkeContext, answers: NewEvent) -> None:
    draft = ev.check_draft(answers.draft(), context.services.events.clock())
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


@flow.on_button("nesave", "preview")
async def save(update: Update, context: BashkeContext, answers: NewEvent) -> None:
    (answer,) = callbacks.args(update, 1)
    if answer != "yes":
        await show(update, context.tr.gettext(STOPPED))
        return END
    if answers.created is None:
        answers.created = (await context.services.events.create(context.asker, answers.draft())).id
        # Kept until the card is shown: a second tap, after an answer Telegram lost, shows the
        # event created by the first instead of creating another.
        await flow.save(context, "preview", answers)
    await show_card(
        update, context, answers.created, note=context.tr.gettext("The event is created.")
    )
    return END


def register(app: BashkeApp) -> None:
    app.add_handler(CommandHandler("newevent", start, filters=filters.ChatType.PRIVATE))
    flow.register(app)

"""Events for participants and their coordinators: list, card, join/leave, calendar, check-in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape
from io import BytesIO
from typing import Any, Protocol

import segno
from icalendar import Calendar
from icalendar import Event as CalendarEvent
from telegram import InputFile, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import deeplinks
from bot import events as ev
from bot.deeplinks import DeepLink
from bot.errors import InvalidInput, NotRegistered
from bot.events import Event, Outcome, RegistrationStatus, Scope
from bot.i18n import N_, Translator
from bot.outbox import OutboxRow, OutgoingMessage, Renderer
from bot.people import DESCRIPTION_OF_ONE
from bot.services import Services
from handlers import callbacks
from handlers.context import BashkeApp, BashkeContext
from handlers.conversation import Flow
from handlers.links import opens
from handlers.render import Button, keyboard, show

EVENTS_PER_PAGE = 5
OUTCOME_TEXT: dict[Outcome, str] = {
    Outcome.REGISTERED: N_("You are registered. See you there!"),
    Outcome.WAITLISTED: N_(
        "The event is full, so you are on the waitlist. "
        "If a seat frees up, it is yours and I will tell you."
    ),
    Outcome.ALREADY_REGISTERED: N_("You are already registered."),
    Outcome.ALREADY_WAITLISTED: N_("You are already on the waitlist."),
    Outcome.FULL: N_("Sorry, the event is full. You can join the waitlist."),
    Outcome.CLOSED: N_("Registration for this event is closed."),
    Outcome.CHECKED_IN: N_("Welcome! You are checked in."),
    Outcome.ALREADY_CHECKED_IN: N_("You are already checked in. Enjoy!"),
}

# How a person's place on an event is shown: its icon, and what it says on the card.
REGISTRATION_LABELS: dict[RegistrationStatus, tuple[str, str]] = {
    RegistrationStatus.REGISTERED: ("✅", N_("You are registered.")),
    RegistrationStatus.WAITLISTED: ("⏳", N_("You are on the waitlist.")),
}

# More about a past event from other features (its ratings): lines under the attendance.
ATTENDANCE_SECTIONS: list[Callable[[BashkeContext, Event], Awaitable[list[str]]]] = []


def event_text(tr: Translator, event: Event, status: str | None) -> str:
    """The card: what, when (in the event's own time zone), where, seats, my place on it."""
    lines = [f"<b>{escape(event.title)}</b>"]
    if event.cancelled:
        lines.append(tr.gettext("❌ This event was cancelled."))
    lines.append(
        "🗓 "
        + tr.when(event.starts_at, event.ends_at, event.timezone)
        + f" ({escape(event.timezone)})"
    )
    where = escape(event.place)
    if event.scope is Scope.INTERNATIONAL:
        where += " · " + tr.gettext("international event")
    elif event.town_name:
        where += " · " + escape(event.town_name)
    lines.append("📍 " + where)
    if event.capacity is not None:
        left = event.seats_left or 0
        seats = tr.ngettext("{count} seat left", "{count} seats left", left).format(count=left)
        if event.waitlisted:
            seats += " · " + tr.ngettext(
                "{count} on the waitlist", "{count} on the waitlist", event.waitlisted
            ).format(count=event.waitlisted)
        lines.append("🪑 " + seats)
    if event.registration_deadline is not None and not event.cancelled:
        lines.append(
            tr.gettext("Registration closes: {moment}").format(
                moment=tr.moment(event.registration_closes_at, event.timezone, "short")
            )
        )
    if event.description:
        lines.append("")
        lines.append(escape(event.description))
    if status in REGISTRATION_LABELS:
        icon, label = REGISTRATION_LABELS[RegistrationStatus(status)]
        lines.append(f"\n{icon} " + tr.gettext(label))
    return "\n".join(lines)


class OneChange(Protocol):
    """The answers of a flow that changes one event once (moving it, editing a field)."""

    event_id: int
    done: bool


async def change_once(
    update: Update,
    context: BashkeContext,
    flow: Flow[Any],
    step: str,
    answers: OneChange,
    change: Callable[[], Awaitable[object]],
    note: str,
) -> None:
    """Change the event, then show its card. Marked done before the card: an answer Telegram
    lost is shown again on the next message instead of changing the event (and telling
    everyone on it) twice."""
    if not answers.done:
        await change()
        answers.done = True
        await flow.save(context, step, answers)
    await show_card(update, context, answers.event_id, note=note)


async def show_card(
    update: Update,
    context: BashkeContext,
    event_id: int,
    note: str = "",
    known: tuple[Event, str | None] | None = None,
) -> None:
    """The event's card; ``known`` is the event and the person's status when just read."""
    if context.person is None:
        raise NotRegistered()
    services = context.services
    tr = context.tr
    if known is None:
        event = await services.events.get(event_id)
        status = await services.events.status_of(event_id, context.asker)
    else:
        event, status = known
    rows: list[list[Button]] = []
    if status is not None:
        rows.append([(tr.gettext("Leave"), callbacks.encode("leave", event.id))])
    elif event.is_open(services.events.clock()):
        if event.seats_left is None or event.seats_left > 0:
            rows.append([(tr.gettext("Join"), callbacks.encode("join", event.id))])
        else:
            rows.append([(tr.gettext("Join the waitlist"), callbacks.encode("wait", event.id))])
    if not event.cancelled:
        rows.append([(tr.gettext("Add to calendar"), callbacks.encode("ics", event.id))])
    roles = await context.roles(context.asker)
    if await services.events.may_manage(roles, event) and not event.cancelled:
        rows.append(
            [
                (tr.gettext("Check-in QR code"), callbacks.encode("qr", event.id)),
                (tr.gettext("Attendance"), callbacks.encode("att", event.id)),
            ]
        )
        rows.append(
            [
                (tr.gettext("Edit"), callbacks.encode("evedit", event.id)),
                (tr.gettext("Move"), callbacks.encode("evmove", event.id)),
                (tr.gettext("Cancel the event"), callbacks.encode("evcancel", event.id, "ask")),
            ]
        )
    rows.append([(tr.gettext("All events"), callbacks.encode("events", 0))])
    text = (note + "\n\n" if note else "") + event_text(tr, event, status)
    await show(update, text, keyboard(rows))


async def events_command(update: Update, context: BashkeContext) -> None:
    await list_events(update, context, 0)


async def events_page(update: Update, context: BashkeContext) -> None:
    (page,) = callbacks.args(update, 1)
    await list_events(update, context, callbacks.as_int(page))


async def list_events(update: Update, context: BashkeContext, page: int) -> None:
    if context.person is None:
        raise NotRegistered()
    tr = context.tr
    events, total = await context.services.events.upcoming(
        context.asker, page * EVENTS_PER_PAGE, EVENTS_PER_PAGE
    )
    if not events and total:
        # Past the end (a stale ▶ after events ended, or a forged page): the last page.
        page = (total - 1) // EVENTS_PER_PAGE
        events, total = await context.services.events.upcoming(
            context.asker, page * EVENTS_PER_PAGE, EVENTS_PER_PAGE
        )
    if not events:
        await show(update, tr.gettext("There are no upcoming events yet. Check again soon!"))
        return
    rows: list[list[Button]] = [
        [(_event_button(tr, event), callbacks.encode("event", event.id))] for event in events
    ]
    pages = -(-total // EVENTS_PER_PAGE)
    nav: list[Button] = []
    if page > 0:
        nav.append(("◀", callbacks.encode("events", page - 1)))
    if page < pages - 1:
        nav.append(("▶", callbacks.encode("events", page + 1)))
    if nav:
        rows.append(nav)
    await show(
        update,
        tr.gettext("Upcoming events (page {page} of {pages}):").format(page=page + 1, pages=pages),
        keyboard(rows),
    )


def _event_button(tr: Translator, event: Event) -> str:
    day = tr.moment(event.starts_at, event.timezone, "short").split(",")[0]
    label = f"{day} · {event.title}"
    return label if len(label) <= 60 else label[:59] + "…"


async def myevents_command(update: Update, context: BashkeContext) -> None:
    if context.person is None:
        raise NotRegistered()
    tr = context.tr
    mine = await context.services.events.mine(context.asker)
    if not mine:
        await show(update, tr.gettext("You have not joined any upcoming event. See /events."))
        return
    rows = [
        [
            (
                (
                    REGISTRATION_LABELS[RegistrationStatus(status)][0]
                    + " "
                    + _event_button(tr, event)
                ),
                callbacks.encode("event", event.id),
            )
        ]
        for event, status in mine
    ]
    await show(update, tr.gettext("Your events:"), keyboard(rows))


async def open_card(update: Update, context: BashkeContext) -> None:
    (event_id,) = callbacks.args(update, 1)
    await show_card(update, context, callbacks.as_int(event_id))


async def join(update: Update, context: BashkeContext) -> None:
    await _register(update, context, waitlist=False)


async def join_waitlist(update: Update, context: BashkeContext) -> None:
    await _register(update, context, waitlist=True)


async def _register(update: Update, context: BashkeContext, waitlist: bool) -> None:
    user = update.effective_user
    assert user is not None
    event_id = callbacks.int_args(update, 1)[0]
    joined = await context.services.events.join(user.id, event_id, user.first_name, waitlist)
    note = context.tr.gettext(OUTCOME_TEXT[joined.outcome])
    await show_card(update, context, event_id, note=note, known=(joined.event, joined.status))


async def leave(update: Update, context: BashkeContext) -> None:
    event_id = callbacks.int_args(update, 1)[0]
    left = await context.services.events.leave(context.asker, event_id)
    tr = context.tr
    note = tr.gettext("You left the event.") if left else tr.gettext("You were not on this event.")
    await show_card(update, context, event_id, note=note)


async def calendar_file(update: Update, context: BashkeContext) -> None:
    chat = update.effective_chat
    assert chat is not None
    event_id = callbacks.int_args(update, 1)[0]
    event = await context.services.events.get(event_id)
    if update.callback_query:
        await update.callback_query.answer()
    await chat.send_document(
        InputFile(ics_file(event), filename=f"bashke-event-{event.id}.ics"),
        caption=context.tr.gettext("Open this file to add the event to your calendar."),
    )


def ics_file(event: Event) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Bashkë//bashke//")
    calendar.add("version", "2.0")
    entry = CalendarEvent()
    entry.add("uid", f"event-{event.id}@bashke")
    entry.add("summary", event.title)
    entry.add("dtstart", event.starts_at)
    entry.add("dtend", event.ends_at)
    entry.add("dtstamp", event.starts_at)
    entry.add("location", event.place)
    if event.description:
        entry.add("description", event.description)
    calendar.add_component(entry)
    return bytes(calendar.to_ical())


async def checkin_qr(update: Update, context: BashkeContext) -> None:
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    event_id = callbacks.int_args(update, 1)[0]
    services = context.services
    event = await services.events.managed_event(user.id, event_id)
    link = DeepLink(deeplinks.CHECK_IN, event.id, event.checkin_code).payload()
    url = f"https://t.me/{context.bot.username}?start={link}"
    image = segno.make(url, error="m")
    buffer = _png(image)
    if update.callback_query:
        await update.callback_query.answer()
    await chat.send_photo(
        InputFile(buffer, filename=f"checkin-{event.id}.png"),
        caption=context.tr.gettext(
            "Show this code at the entrance of “{title}”: scanning it checks people in."
        ).format(title=escape(event.title)),
    )


def _png(image: Any) -> bytes:
    out = BytesIO()
    image.save(out, kind="png", scale=8, border=4)
    return out.getvalue()


async def attendance(update: Update, context: BashkeContext) -> None:
    event_id = callbacks.int_args(update, 1)[0]
    services = context.services
    report = await services.events.attendance(context.asker, event_id)
    event = await services.events.get(event_id)
    tr = context.tr
    lines = [
        f"<b>{escape(event.title)}</b>",
        tr.gettext("{present} of {registered} registered people came.").format(
            present=report.present, registered=report.registered
        ),
    ]
    if report.by_town:
        lines.append("\n" + tr.gettext("By town:"))
        lines += [
            f"• {escape(town or tr.gettext('Another town / none of these'))}: {n}"
            for town, n in sorted(report.by_town.items())
        ]
        lines.append("\n" + tr.gettext("By self-description:"))
        lines += [
            f"• {tr.gettext(DESCRIPTION_OF_ONE.get(key, key))}: {n}"
            for key, n in sorted(report.by_description.items())
        ]
        lines.append("\n" + tr.gettext("Who came:") + " " + escape(", ".join(report.names)))
    for section in ATTENDANCE_SECTIONS:
        more = await section(context, event)
        if more:
            lines += ["", *more]
    await show(
        update,
        "\n".join(lines),
        keyboard([[(tr.gettext("Back to the event"), callbacks.encode("event", event.id))]]),
    )


async def attendance_command(update: Update, context: BashkeContext) -> None:
    """The events this coordinator manages, to pick one for its attendance."""
    roles = await context.services.authz.require_coordinator(context.asker)
    services = context.services
    events = await services.events.managed(roles)
    tr = context.tr
    if not events:
        await show(update, tr.gettext("You have no events yet. Create one with /newevent."))
        return
    await show(
        update,
        tr.gettext("Attendance of which event?"),
        keyboard(
            [[(_event_button(tr, event), callbacks.encode("att", event.id))] for event in events]
        ),
    )


async def cancel_event(update: Update, context: BashkeContext) -> None:
    event_id, step = callbacks.args(update, 2)
    event = await context.services.events.managed_event(context.asker, callbacks.as_int(event_id))
    tr = context.tr
    if step == "ask":
        await show(
            update,
            tr.gettext("Cancel “{title}”? Everyone registered will be told.").format(
                title=escape(event.title)
            ),
            keyboard(
                [
                    [
                        (
                            tr.gettext("Yes, cancel the event"),
                            callbacks.encode("evcancel", event.id, "yes"),
                        )
                    ],
                    [(tr.gettext("No, keep it"), callbacks.encode("event", event.id))],
                ]
            ),
        )
        return
    if step != "yes":
        raise InvalidInput()  # a forged step: the coordinator may cancel, the button is wrong
    await context.services.events.cancel(context.asker, event.id)
    await show_card(
        update,
        context,
        event.id,
        note=tr.gettext("The event is cancelled; everyone on it is being told."),
    )


async def edit_menu(update: Update, context: BashkeContext) -> None:
    event = await context.services.events.managed_event(
        context.asker, callbacks.int_args(update, 1)[0]
    )
    tr = context.tr
    await show(
        update,
        tr.gettext("What should change?"),
        keyboard(
            [
                [
                    (tr.gettext("Title"), callbacks.encode("evfield", event.id, "title")),
                    (
                        tr.gettext("Description"),
                        callbacks.encode("evfield", event.id, "description"),
                    ),
                ],
                [
                    (tr.gettext("Place"), callbacks.encode("evfield", event.id, "place")),
                    (tr.gettext("Seats"), callbacks.encode("evfield", event.id, "capacity")),
                ],
                [(tr.gettext("Back to the event"), callbacks.encode("event", event.id))],
            ]
        ),
    )


# Notices ----------------------------------------------------------------------------------


def register_notices(services: Services) -> None:
    """The texts of what the events feature queues; rendered when sent, in today's language."""
    events = services.events

    async def subject(row: OutboxRow) -> ev.Event | None:
        return await events.notice_about(row.kind, int(row.params["event_id"]), row.chat_id)

    def heading(tr: Translator, event: ev.Event) -> str:
        return (
            f"<b>{escape(event.title)}</b>\n🗓 "
            + tr.when(event.starts_at, event.ends_at, event.timezone)
            + f" ({escape(event.timezone)})\n📍 {escape(event.place)}"
        )

    async def reminder(row: OutboxRow, tr: Translator) -> OutgoingMessage | None:
        event = await subject(row)
        if event is None:
            return None
        return OutgoingMessage(
            tr.gettext("⏰ Reminder: you are registered for this event.")
            + "\n\n"
            + heading(tr, event)
        )

    def about_the_event(intro: str) -> Renderer:
        """A notice that is an intro line above the event's heading, while the event stands."""

        async def render(row: OutboxRow, tr: Translator) -> OutgoingMessage | None:
            event = await subject(row)
            if event is None:
                return None
            return OutgoingMessage(tr.gettext(intro) + "\n\n" + heading(tr, event))

        return render

    async def cancelled(row: OutboxRow, tr: Translator) -> OutgoingMessage | None:
        event = await subject(row)
        if event is None:
            return None
        return OutgoingMessage(
            tr.gettext("❌ This event is cancelled. We are sorry.") + "\n\n" + heading(tr, event)
        )

    async def fill(row: OutboxRow, tr: Translator) -> OutgoingMessage | None:
        event = await subject(row)
        if event is None:
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
        (ev.MOVED, about_the_event(N_("📣 This event has new times:"))),
        (ev.CHANGED, about_the_event(N_("📣 This event has changed:"))),
        (ev.CANCELLED, cancelled),
        (
            ev.PROMOTED,
            about_the_event(
                N_("🎉 A seat freed up and it is yours: you are now registered for this event.")
            ),
        ),
        (ev.FILL_ALERT, fill),
    ):
        services.outbox.register(kind, renderer)


@opens(deeplinks.EVENT)
async def open_event_link(update: Update, context: BashkeContext, link: DeepLink) -> None:
    await show_card(update, context, link.target_id)


@opens(deeplinks.CHECK_IN)
async def open_checkin_link(update: Update, context: BashkeContext, link: DeepLink) -> None:
    user = update.effective_user
    assert user is not None
    outcome = await context.services.events.check_in(
        user.id, link.target_id, link.code or "", user.first_name
    )
    await show_card(update, context, link.target_id, note=context.tr.gettext(OUTCOME_TEXT[outcome]))


def register(app: BashkeApp) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("events", events_command, filters=private))
    app.add_handler(CommandHandler("myevents", myevents_command, filters=private))
    app.add_handler(CommandHandler("attendance", attendance_command, filters=private))
    for action, callback in (
        ("events", events_page),
        ("event", open_card),
        ("join", join),
        ("wait", join_waitlist),
        ("leave", leave),
        ("ics", calendar_file),
        ("qr", checkin_qr),
        ("att", attendance),
        ("evcancel", cancel_event),
        ("evedit", edit_menu),
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=callbacks.pattern(action)))

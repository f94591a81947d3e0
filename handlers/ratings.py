"""Rating an event: the request after it (1–5 stars), one optional sentence, and the figures
coordinators see in the attendance view and in /stats."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.disclosure import SMALL_GROUP
from bot.events import Event
from bot.i18n import N_, Translator
from bot.outbox import OutboxRow, OutgoingMessage
from bot.ratings import REQUEST, Summary
from bot.services import Services
from handlers import callbacks, events, stats
from handlers.context import BashkeApp, BashkeContext
from handlers.conversation import END, Flow
from handlers.render import keyboard, show


@dataclass
class Rating:
    event_id: int


# After the stars, the person may add one sentence (or skip): kept in the drafts table.
flow = Flow("rating", Rating)
NOTED = N_("Thank you, it is noted.")


def summary_line(tr: Translator, summary: Summary) -> str:
    if summary.average is None:
        return tr.ngettext(
            "{count} rating so far; the average shows from {least} ratings on.",
            "{count} ratings so far; the average shows from {least} ratings on.",
            summary.count,
        ).format(count=summary.count, least=SMALL_GROUP)
    return tr.ngettext(
        "Rated {average} of 5 by {count} person.",
        "Rated {average} of 5 by {count} people.",
        summary.count,
    ).format(average=tr.decimal(summary.average), count=summary.count)


async def rate(update: Update, context: BashkeContext) -> None:
    event_id, stars = callbacks.int_args(update, 2)
    await context.services.ratings.rate(context.asker, event_id, stars)
    await flow.begin(update, context, "comment", Rating(event_id))


@flow.asks("comment")
async def ask_comment(update: Update, context: BashkeContext, answers: Rating) -> None:
    tr = context.tr
    await show(
        update,
        tr.gettext(
            "Thank you! If you like, add one sentence about it: what was good, or what could "
            "be better."
        ),
        keyboard([[(tr.gettext("Skip"), callbacks.encode("rateskip"))]]),
    )


@flow.on_text("comment")
async def got_comment(update: Update, context: BashkeContext, answers: Rating) -> None:
    assert update.message is not None and update.message.text is not None
    await context.services.ratings.comment(context.asker, answers.event_id, update.message.text)
    await show(update, context.tr.gettext(NOTED))
    return END


@flow.on_button("rateskip", "comment")
async def skip(update: Update, context: BashkeContext, answers: Rating) -> None:
    await show(update, context.tr.gettext(NOTED))
    return END


async def attendance_lines(context: BashkeContext, event: Event) -> list[str]:
    summary, comments = await context.services.ratings.of_event(context.asker, event.id)
    if not summary.count:
        return []
    return [summary_line(context.tr, summary)] + [f"• “{escape(c)}”" for c in comments]


async def stats_lines(context: BashkeContext) -> list[str]:
    summary = await context.services.ratings.overall(context.asker)
    if not summary.count:
        return []
    return [
        context.tr.gettext("Events, as rated by those who came:")
        + " "
        + summary_line(context.tr, summary)
    ]


def register_notices(services: Services) -> None:
    ratings = services.ratings

    async def request(row: OutboxRow, tr: Translator) -> OutgoingMessage | None:
        event = await ratings.wanted(row.chat_id, int(row.params["event_id"]))
        if event is None:
            return None
        return OutgoingMessage(
            tr.gettext("How was “{title}”? Tap from 1 (poor) to 5 (very good).").format(
                title=escape(event.title)
            ),
            buttons=(
                tuple((f"{n} ⭐", callbacks.encode("rate", event.id, n)) for n in range(1, 6)),
            ),
        )

    services.outbox.register(REQUEST, request)


def register(app: BashkeApp) -> None:
    app.add_handler(CallbackQueryHandler(rate, pattern=callbacks.pattern("rate")))
    flow.register(app)
    events.ATTENDANCE_SECTIONS.append(attendance_lines)
    stats.STATS_SECTIONS.append(stats_lines)

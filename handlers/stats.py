"""/stats and /export for coordinators: the network's figures as text, a chart and CSV files."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from html import escape

from telegram import InputFile, InputMediaDocument, Update
from telegram.ext import CommandHandler, filters

from bot import charts
from bot.i18n import N_, Translator
from bot.people import DESCRIPTION_OF_GROUP
from bot.stats import DESCRIPTIONS, Figures
from bot.stories import StoryStatus
from handlers.context import BashkeApp, BashkeContext
from handlers.render import show

# More figures from other features (ratings): lines under the others, within the asker's scope.
STATS_SECTIONS: list[Callable[[BashkeContext], Awaitable[list[str]]]] = []

STORY_STATES: dict[str, str] = {
    StoryStatus.PENDING: N_("waiting for review"),
    StoryStatus.APPROVED: N_("approved"),
    StoryStatus.REJECTED: N_("rejected"),
}


def stats_text(tr: Translator, figures: Figures) -> str:
    total = sum(t.total for t in figures.towns)
    lines = [
        "<b>"
        + (tr.gettext("The whole network") if figures.network else tr.gettext("Your towns"))
        + "</b>",
        tr.ngettext("{count} participant", "{count} participants", total).format(count=total),
    ]
    for town in figures.towns:
        parts = ", ".join(
            f"{tr.gettext(DESCRIPTION_OF_GROUP[d])}: {town.by_description[d]}"
            for d in DESCRIPTIONS
            if town.by_description[d]
        )
        name = escape(town.town) if town.town else tr.gettext("Another town / none of these")
        lines.append(f"• {name}: {town.total} ({parts})")
    if figures.new_per_week:
        lines.append("\n" + tr.gettext("New people per week:"))
        lines += [f"• {week}: {n}" for week, n in figures.new_per_week[-8:]]
    if figures.events:
        lines.append("\n" + tr.gettext("Events (registered / came):"))
        lines += [
            f"• {escape(e.title[:60])}: {e.registered} / {e.present}" for e in figures.events[-15:]
        ]
    if figures.stories:
        lines.append(
            "\n"
            + tr.gettext("Stories:")
            + " "
            + ", ".join(
                f"{tr.gettext(STORY_STATES.get(state, state))}: {n}"
                for state, n in sorted(figures.stories.items())
            )
        )
    if figures.votes:
        lines.append("\n" + tr.gettext("Votes per round:"))
        lines += [f"• {escape(title[:60])}: {n}" for title, n in figures.votes]
    return "\n".join(lines)


async def stats_command(update: Update, context: BashkeContext) -> None:
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    tr = context.tr
    figures = await context.services.stats.figures(user.id)
    text = stats_text(tr, figures)
    for section in STATS_SECTIONS:
        lines = await section(context)
        if lines:
            text += "\n\n" + "\n".join(lines)
    await show(update, text)
    if figures.towns:
        image = charts.stacked_bars(
            tr,
            tr.gettext("Participants by town"),
            [t.town or "—" for t in figures.towns],
            [
                (tr.gettext(DESCRIPTION_OF_GROUP[d]), [t.by_description[d] for t in figures.towns])
                for d in DESCRIPTIONS
            ],
        )
        await chat.send_photo(
            InputFile(image, filename="participants.png"),
            caption=tr.gettext("Participants by town"),
        )


async def export_command(update: Update, context: BashkeContext) -> None:
    """The funder's CSV files and the moderation log, within the coordinator's scope."""
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    services = context.services
    files = await services.stats.export(user.id)
    log = await services.stories.moderation_log(user.id)
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=["at", "moderator_id", "story_id", "action", "reason"]
    )
    writer.writeheader()
    writer.writerows(log)
    files["moderation-log.csv"] = buffer.getvalue().encode()
    names = list(files)
    media = [
        # Raw bytes with a file name: python-telegram-bot attaches each part by name.
        InputMediaDocument(
            files[name],
            filename=f"bashke-{name}",
            caption=context.tr.gettext("Figures for the report, and the moderation log.")
            if name == names[-1]
            else None,
        )
        for name in names
    ]
    await chat.send_media_group(media)


def register(app: BashkeApp) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("stats", stats_command, filters=private))
    app.add_handler(CommandHandler("export", export_command, filters=private))

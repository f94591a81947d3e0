"""/report FROM TO: the funder's report for a period, as one PDF and a zip of CSV files.

The figures are read in a few short queries; the charts and the PDF are made in a worker
process (``bot.reports.Worker``), so the bot keeps answering everyone else meanwhile. One
message shows the progress and is edited at each step. One report is made at a time; a second
coordinator's waits its turn (the machine has few cores, and a report is rare).
"""

from __future__ import annotations

import asyncio
import logging

from telegram import InputFile, Message, Update
from telegram.error import TelegramError
from telegram.ext import CommandHandler, filters

from bot.errors import UserFacingError
from bot.i18n import N_, Translator
from bot.reports import Worker, draw_charts, write_files
from handlers.context import BashkeApp, BashkeContext

log = logging.getLogger(__name__)

PROGRESS = N_("Preparing the report… {step}/{steps}")
STEPS = 4
LOCK = "report_lock"


async def _progress(message: Message, tr: Translator, step: int) -> None:
    try:
        await message.edit_text(tr.gettext(PROGRESS).format(step=step, steps=STEPS))
    except TelegramError as exc:  # the note is a courtesy: the report goes on without it
        log.warning("could not show the report's progress: %s", exc)


async def report_command(update: Update, context: BashkeContext) -> None:
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    tr = context.tr
    reports = context.services.reports
    # Anyone but a coordinator is refused before their arguments are read.
    await reports.scope(user.id)
    period = reports.period(context.args or [])
    progress = await chat.send_message(tr.gettext(PROGRESS).format(step=1, steps=STEPS))
    lock = context.application.bot_data.setdefault(LOCK, asyncio.Lock())
    try:
        async with lock:
            doc = await reports.document(user.id, period, tr)
            await _progress(progress, tr, 2)
            async with Worker() as worker:
                images = await worker.run(draw_charts, [s.chart for s in doc.sections])
                await _progress(progress, tr, 3)
                pdf, csvs = await worker.run(write_files, doc, images)
            await _progress(progress, tr, 4)
            await chat.send_document(
                InputFile(pdf, filename=f"{doc.file_stem}.pdf"), caption=doc.title
            )
            await chat.send_document(
                InputFile(csvs, filename=f"{doc.file_stem}-csv.zip"),
                caption=tr.gettext("The report's figures as CSV files, one per section."),
            )
    except UserFacingError as refusal:  # e.g. the role was taken away meanwhile
        await progress.edit_text(tr.gettext(refusal.message).format(**refusal.params))
        return
    except Exception:
        log.exception("the report for %s to %s failed", period.first, period.last)
        await progress.edit_text(
            tr.gettext("Sorry, something went wrong on my side. Please try again in a moment.")
        )
        return
    await progress.edit_text(tr.gettext("The report is ready."))


def register(app: BashkeApp) -> None:
    app.add_handler(CommandHandler("report", report_command, filters=filters.ChatType.PRIVATE))

"""The one error handler: refusals told in the person's language, failures logged."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Conflict, NetworkError, TelegramError

from bot.errors import UserFacingError
from handlers.context import BashkeContext, load_reader

log = logging.getLogger(__name__)
# Why the bot stopped on its own (in bot_data), for the process's last line and exit code.
STOPPED_BECAUSE = "stopped_because"


async def on_error(update: object, context: BashkeContext) -> None:
    error = context.error
    if update is None and isinstance(error, Conflict):
        # Another process polls with this token: two bots would answer everyone twice.
        if STOPPED_BECAUSE not in context.application.bot_data:
            context.application.bot_data[STOPPED_BECAUSE] = (
                f"another bot is polling Telegram with this token (409 Conflict: {error.message});"
                " this one stops"
            )
            context.application.stop_running()
        return
    if update is None and isinstance(error, NetworkError):
        # Polling could not reach Telegram; python-telegram-bot tries again by itself.
        log.warning("cannot reach the Bot API (%s); retrying", error)
        return
    # The error handler gets a fresh context: find out again whom to answer, and in which language.
    await load_reader(update, context)
    tr = context.tr
    if isinstance(error, UserFacingError):
        # An expected refusal (no role, bad input): no traceback, and no message text in the log.
        log.info("refused %s: %s", _update_id(update), type(error).__name__)
        text = tr.gettext(error.message).format(**error.params)
    else:
        log.error("update %s failed", _update_id(update), exc_info=error)
        text = tr.gettext("Sorry, something went wrong on my side. Please try again in a moment.")
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query is not None:
            # Alerts hold 200 characters; the refusals are written to fit.
            await update.callback_query.answer(text[:200], show_alert=True)
        elif update.effective_chat is not None and update.effective_chat.type == "private":
            await update.effective_chat.send_message(text)
    except TelegramError as exc:
        log.warning("could not tell the person about the error: %s", exc)


def _update_id(update: object) -> str:
    return str(update.update_id) if isinstance(update, Update) else "(not an update)"

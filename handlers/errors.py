"""The one error handler: refusals told in the person's language, failures logged."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError
from telegram.ext import Application

from bot.errors import UserFacingError
from handlers.context import BashkeContext, load_reader

log = logging.getLogger(__name__)
# Why the bot stopped on its own (in bot_data), for the process's last line and exit code.
STOPPED_BECAUSE = "stopped_because"
REFUSED_TOKEN = (
    "the Bot API refused the token (401 Unauthorized): it was revoked or is wrong;"
    " get a new one from @BotFather"
)


def stop_because(app: Application[Any, Any, Any, Any, Any, Any], reason: str) -> None:
    """Stop the bot, and say why in the process's last line (the first reason counts)."""
    if STOPPED_BECAUSE not in app.bot_data:
        app.bot_data[STOPPED_BECAUSE] = reason
        app.stop_running()


async def on_error(update: object, context: BashkeContext) -> None:
    error = context.error
    if update is None and isinstance(error, Conflict):
        # Another process polls with this token: two bots would answer everyone twice.
        stop_because(
            context.application,
            f"another bot is polling Telegram with this token (409 Conflict: {error.message});"
            " this one stops",
        )
        return
    if isinstance(error, InvalidToken):
        # The token was revoked while running: nothing the bot sends or fetches can work now.
        stop_because(context.application, REFUSED_TOKEN)
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
    if not isinstance(update, Update) or not context.application.running:
        # Stopping (SIGTERM): a notice could wait out another time-out and hold the exit.
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

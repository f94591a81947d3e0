"""The smallest python-telegram-bot bot, polling: the baseline for memory and start-up time.

Run by ``bench.scale`` as ``python -m bench._bare_bot`` with BOT_TOKEN and BASHKE_API_BASE_URL /
BASHKE_API_BASE_FILE_URL set, exactly as it runs ``python -m bot run``.
"""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_chat is not None:
        await update.effective_chat.send_message("Hello")


def main() -> None:
    app = (
        Application.builder()
        .token(os.environ["BOT_TOKEN"])
        .base_url(os.environ["BASHKE_API_BASE_URL"])
        .base_file_url(os.environ["BASHKE_API_BASE_FILE_URL"])
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.run_polling()


if __name__ == "__main__":
    main()

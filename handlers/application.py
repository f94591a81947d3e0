"""Builds the python-telegram-bot Application around the services, and runs it."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application, ContextTypes, Defaults, TypeHandler

from bot.config import Config
from bot.db import Database
from bot.services import Services
from handlers import (
    broadcasts,
    certificates,
    events,
    fallbacks,
    menus,
    newevent,
    onboarding,
    pulse,
    reports,
    staff,
    stats,
    stories,
    votes,
)
from handlers.context import BashkeApp, BashkeContext, load_reader
from handlers.delivery import Delivery
from handlers.errors import STOPPED_BECAUSE, on_error
from handlers.processor import PerPersonUpdateProcessor, ask_to_slow_down

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]


def build_application(services: Services) -> BashkeApp:
    config = services.config
    processor = PerPersonUpdateProcessor(config.max_concurrent_updates)
    app: BashkeApp = (
        Application.builder()
        .token(config.token)
        .base_url(config.api_base_url)
        .base_file_url(config.api_base_file_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
            )
        )
        .context_types(ContextTypes(context=BashkeContext))
        .concurrent_updates(processor)
        .post_init(_on_start)
        .post_stop(_stop_delivery)
        .post_shutdown(_on_stop)
        .build()
    )
    app.bot_data["services"] = services
    processor.flood_notice = partial(ask_to_slow_down, app)
    # Group -1 runs before every feature and finds out who is asking and in which language.
    app.add_handler(TypeHandler(Update, load_reader), group=-1)
    events.register_notices(services)
    stories.register_notices(services)
    broadcasts.register_notices(services)
    votes.register_notices(services)
    pulse.register_notices(services)
    newevent.register(app)
    broadcasts.register(app)
    onboarding.register(app)
    staff.register(app)
    events.register(app)
    stories.register(app)
    stats.register(app)
    reports.register(app)
    certificates.register(app)
    pulse.register(app)
    votes.register(app)
    fallbacks.register(app)
    app.add_error_handler(on_error)
    # A kind queued with no renderer would fail row by row at send time: fail at start instead.
    missing = services.outbox.missing_renderers()
    if missing:
        raise RuntimeError(f"outbox kinds without a renderer: {sorted(missing)}")
    return app


async def _on_start(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    services: Services = app.bot_data["services"]
    await services.start()
    await menus.set_default_menus(app.bot, services)
    delivery = Delivery(services, app.bot)
    app.bot_data["delivery"] = delivery
    delivery.start()


async def _stop_delivery(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    delivery = app.bot_data.pop("delivery", None)
    if isinstance(delivery, Delivery):
        await delivery.stop()


async def _on_stop(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # Whoever skipped post_stop: the sender never outlives the database it reads.
    await _stop_delivery(app)
    services: Services = app.bot_data["services"]
    await services.db.close()


BOTFATHER = (
    "the Bot API refused the token (401 Unauthorized): it was revoked or is wrong;"
    " get a new one from @BotFather"
)


def run(config: Config) -> str | None:
    """Run until interrupted: long polling, or a webhook when the configuration has one.

    Returns None after an ordinary stop (SIGINT, SIGTERM), or the one line that says why the
    bot could not go on: the token refused, another bot polling with it, no Bot API at the
    start (the process then exits non-zero and its supervisor decides when to try again).
    """
    services = Services.build(config, Database(config.database))
    app = build_application(services)
    try:
        if config.webhook is None:
            app.run_polling(allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
        else:
            webhook = config.webhook
            app.run_webhook(
                listen=webhook.listen,
                port=webhook.port,
                url_path=urlsplit(webhook.url).path.lstrip("/"),
                webhook_url=webhook.url,
                secret_token=webhook.secret_token,
                allowed_updates=ALLOWED_UPDATES,
            )
    except InvalidToken:
        return BOTFATHER
    except NetworkError as exc:
        return f"cannot reach the Bot API at {config.api_base_url}: {exc.message}"
    finally:
        # Whatever way it ended, aiosqlite's thread must not keep the process alive.
        if services.db.is_open:
            asyncio.run(services.db.close())
    reason: str | None = app.bot_data.get(STOPPED_BECAUSE)
    return reason

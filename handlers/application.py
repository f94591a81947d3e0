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
    event_edit,
    event_move,
    event_new,
    events,
    fallbacks,
    menus,
    onboarding,
    pulse,
    ratings,
    reports,
    staff,
    stats,
    stories,
    votes,
)
from handlers.context import BashkeApp, BashkeContext, load_reader
from handlers.delivery import Delivery
from handlers.errors import REFUSED_TOKEN, STOPPED_BECAUSE, on_error, stop_because
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
    ratings.register_notices(services)
    event_new.register(app)
    event_move.register(app)
    event_edit.register(app)
    broadcasts.register(app)
    onboarding.register(app)
    staff.register(app)
    events.register(app)
    stories.register(app)
    stats.register(app)
    reports.register(app)
    certificates.register(app)
    pulse.register(app)
    ratings.register(app)
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
    if services.config.webhook is None:
        app.bot_data[WATCH] = asyncio.create_task(_stop_if_polling_gives_up(app), name=WATCH)


async def _stop_delivery(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    delivery = app.bot_data.pop("delivery", None)
    if isinstance(delivery, Delivery):
        await delivery.stop()


async def _on_stop(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # Whoever skipped post_stop: the sender never outlives the database it reads.
    await _stop_delivery(app)
    watch = app.bot_data.pop(WATCH, None)
    if isinstance(watch, asyncio.Task):
        watch.cancel()
        await asyncio.wait([watch])
    services: Services = app.bot_data["services"]
    await services.db.close()


# python-telegram-bot's polling task, by the name it gives it.
POLLING_TASK = "Updater:start_polling:polling_task"
WATCH = "polling-watch"


async def _stop_if_polling_gives_up(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Polling ends for good on a 401 (a token revoked while running) and tells nobody: the
    process would stay up doing nothing. Stop the bot instead, saying why."""
    polling: asyncio.Task[Any] | None = None
    while polling is None:  # it starts just after post_init
        await asyncio.sleep(0.2)
        polling = next((t for t in asyncio.all_tasks() if t.get_name() == POLLING_TASK), None)
    await asyncio.wait([polling])
    error = None if polling.cancelled() else polling.exception()
    if isinstance(error, InvalidToken):
        stop_because(app, REFUSED_TOKEN)
    elif error is not None:
        stop_because(app, f"polling Telegram failed: {type(error).__name__}: {error}")


def run(config: Config) -> str | None:
    """Run until interrupted: long polling, or a webhook when the configuration has one.

    Returns None after an ordinary stop (SIGINT, SIGTERM), or the one line that says why the
    bot could not go on: the token refused, another bot polling with it, no Bot API at the
    start (the process then exits non-zero and its supervisor decides when to try again).
    """
    services = Services.build(config, Database(config.database))
    app = build_application(services)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        try:
            if config.webhook is None:
                app.run_polling(
                    allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False, close_loop=False
                )
            else:
                webhook = config.webhook
                app.run_webhook(
                    listen=webhook.listen,
                    port=webhook.port,
                    url_path=urlsplit(webhook.url).path.lstrip("/"),
                    webhook_url=webhook.url,
                    secret_token=webhook.secret_token,
                    allowed_updates=ALLOWED_UPDATES,
                    close_loop=False,
                )
        except InvalidToken:
            app.bot_data.setdefault(STOPPED_BECAUSE, REFUSED_TOKEN)
        except NetworkError as exc:
            # The configured address: the URL the library calls holds the token.
            unreachable = f"cannot reach the Bot API at {config.api_base_url}: {exc.message}"
            app.bot_data.setdefault(STOPPED_BECAUSE, unreachable)
        # When polling ended in a 401, stopping it raises that again and python-telegram-bot's
        # shutdown stops half way (the updates, the sender and the database still running).
        loop.run_until_complete(_finish_shutdown(app))
    finally:
        # Whatever way it ended, aiosqlite's thread (not a daemon) must not keep the process up.
        if services.db.is_open:
            loop.run_until_complete(services.db.close())
        loop.close()
    reason: str | None = app.bot_data.get(STOPPED_BECAUSE)
    return reason


async def _finish_shutdown(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    if not app.running:
        return  # python-telegram-bot went all the way
    await app.stop()
    if app.post_stop is not None:
        await app.post_stop(app)
    await app.shutdown()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)

"""One bot (Bashkë or a bare python-telegram-bot replay) in its own process, for CPU accounting.

The benchmark starts this module as a child process so that ``time.process_time()`` here counts
the bot's CPU only (every thread of the process, aiosqlite's included) and never the Bot API
double's, which runs in the parent. The parent drives it with one JSON object per line on stdin;
each answer is one JSON line on the original stdout (stdout itself is pointed at stderr, so that
a stray print cannot corrupt the protocol).

    python -m bench._bot_process {bashke|bare} BASE_URL BASE_FILE_URL TOKEN DATABASE \
        MAX_CONCURRENT_UPDATES [REPLAY]
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import sys
import time
from collections.abc import Awaitable
from typing import Any, Protocol, TextIO

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    SimpleUpdateProcessor,
    filters,
)

from bot.config import Config, parse_config
from bot.db import Database
from bot.services import Services
from handlers.application import ALLOWED_UPDATES, build_application
from handlers.processor import PerPersonUpdateProcessor

# The towns of the flow tests (tests/conftest.py), so the keyboards are the ones tests check.
ADMIN_ID = 900
RAW_CONFIG: dict[str, Any] = {
    "bot": {"default_language": "en", "timezone": "Europe/Tirane", "admins": [ADMIN_ID]},
    "towns": [
        {"slug": "shkoder", "name": "Shkodër", "timezone": "Europe/Tirane"},
        {"slug": "bari", "name": "Bari", "timezone": "Europe/Rome"},
    ],
    "chapters": [{"slug": "stigma", "title": {"en": "Fighting ethnic stigma"}}],
}
# Long enough that idle polling costs next to nothing between phases.
POLL_TIMEOUT = 5

AnyApp = Application[Any, Any, Any, Any, Any, Any]
# What the bare bot replays: per "user_id update_key", the (method, params) Bashkë sent.
Script = dict[str, list[tuple[str, dict[str, Any]]]]


class Counter(Protocol):
    async def wait_until_processed(self, count: int) -> None: ...


def update_key(update: Update) -> str:
    """Which of a person's updates this is: the command text or the tapped button's data."""
    user = update.effective_user
    assert user is not None
    if update.callback_query is not None:
        return f"{user.id} {update.callback_query.data}"
    message = update.effective_message
    assert message is not None
    return f"{user.id} {message.text}"


class CountingProcessor(SimpleUpdateProcessor):
    """PTB's default concurrent processor plus a count, so the bare bot can be waited for too."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self.processed = 0
        self._target = 0
        self._done = asyncio.Event()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await coroutine
        finally:
            self.processed += 1
            if self.processed >= self._target:
                self._done.set()

    async def wait_until_processed(self, count: int) -> None:
        while self.processed < count:
            self._target = count
            self._done.clear()
            await self._done.wait()


def _markup(params: dict[str, Any]) -> InlineKeyboardMarkup | None:
    # Built per update from plain data, as a hand-written handler builds its keyboard.
    markup = params.get("reply_markup")
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
            for row in markup["inline_keyboard"]
        ]
    )


def build_bare(
    token: str, base_url: str, base_file_url: str, script: Script, concurrency: int
) -> AnyApp:
    """The baseline: no database, no i18n, no per-person lock; it replays Bashkë's calls."""

    async def replay(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        for method, params in script[update_key(update)]:
            if method == "sendMessage":
                chat = update.effective_chat
                assert chat is not None
                await chat.send_message(params["text"], reply_markup=_markup(params))
            elif method == "answerCallbackQuery":
                assert query is not None
                await query.answer(params.get("text"), show_alert=params.get("show_alert"))
            elif method == "editMessageText":
                assert query is not None and isinstance(query.message, Message)
                await query.message.edit_text(params["text"], reply_markup=_markup(params))
            else:  # Not reached by onboarding; kept so any recorded call is replayed.
                await context.bot.do_api_request(method, api_kwargs=params)

    app: AnyApp = (
        Application.builder()
        .token(token)
        .base_url(base_url)
        .base_file_url(base_file_url)
        # The same defaults as Bashkë, so the requests are byte for byte the same.
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
            )
        )
        .concurrent_updates(CountingProcessor(concurrency))
        .build()
    )
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler(["start", "events", "story"], replay, filters=private))
    app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, replay))
    app.add_handler(CallbackQueryHandler(replay))
    return app


def bashke_config(
    token: str, base_url: str, base_file_url: str, database: str, concurrency: int
) -> Config:
    """Bashkë's config in the bot process; a benchmark preparing its database uses it too."""
    env = {
        "BOT_TOKEN": token,
        "BASHKE_DATABASE": database,
        "BASHKE_API_BASE_URL": base_url,
        "BASHKE_API_BASE_FILE_URL": base_file_url,
    }
    raw = {**RAW_CONFIG, "bot": {**RAW_CONFIG["bot"], "max_concurrent_updates": concurrency}}
    return parse_config(raw, env)


def load_script(path: str) -> Script:
    with open(path, encoding="utf-8") as handle:
        raw: dict[str, list[list[Any]]] = json.load(handle)
    return {key: [(str(m), dict(p)) for m, p in calls] for key, calls in raw.items()}


def _pool_size(app: AnyApp) -> int | None:
    # Private httpx/httpcore attributes: only read for the report, never relied on.
    client: Any = getattr(app.bot.request, "_client", None)
    pool: Any = getattr(getattr(client, "_transport", None), "_pool", None)
    size = getattr(pool, "_max_connections", None)
    return size if isinstance(size, int) else None


class Child:
    def __init__(self, app: AnyApp, counter: Counter, out: TextIO) -> None:
        self.app = app
        self.counter = counter
        self.out = out
        self.profile: cProfile.Profile | None = None

    def reply(self, **answer: Any) -> None:
        # process_time counts every thread; thread_time only this one, the event loop's.
        answer.setdefault("cpu", time.process_time())
        answer.setdefault("loop_cpu", time.thread_time())
        self.out.write(json.dumps(answer) + "\n")
        self.out.flush()

    async def serve(self, commands: asyncio.StreamReader) -> None:
        timeout: Any = self.app.bot.request._client.timeout
        self.reply(
            ready=True,
            max_concurrent_updates=self.app.update_processor.max_concurrent_updates,
            pool_size=_pool_size(self.app),
            pool_timeout=timeout.pool,
        )
        while line := await commands.readline():
            command = json.loads(line)
            op = command["op"]
            if op == "cpu":
                self.reply()
            elif op == "wait":
                await self.counter.wait_until_processed(int(command["count"]))
                self.reply()
            elif op == "profile_on":
                self.profile = cProfile.Profile()
                self.profile.enable()
                self.reply()
            elif op == "profile_off":
                assert self.profile is not None
                self.profile.disable()
                self.profile.dump_stats(command["path"])
                self.reply()
            elif op == "quit":
                return
            else:
                raise ValueError(f"unknown command {op!r}")


async def main(argv: list[str]) -> None:
    kind, base_url, base_file_url, token, database, concurrency, *rest = argv
    # Answers go to a private copy of stdout; anything printed or logged lands in stderr.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    counter: Counter
    if kind == "bashke":
        config = bashke_config(token, base_url, base_file_url, database, int(concurrency))
        app: AnyApp = build_application(Services.build(config, Database(config.database)))
        processor = app.update_processor
        assert isinstance(processor, PerPersonUpdateProcessor)
        counter = processor
    elif kind == "bare":
        app = build_bare(token, base_url, base_file_url, load_script(rest[0]), int(concurrency))
        bare = app.update_processor
        assert isinstance(bare, CountingProcessor)
        counter = bare
    else:
        raise SystemExit(f"unknown bot kind {kind!r}")

    # Started as tests/flows/harness.py starts it, so the same code paths run.
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(
        poll_interval=0, timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES
    )
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    child = Child(app, counter, out)
    try:
        await child.serve(commands)
    finally:
        await app.updater.stop()
        await app.stop()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
        await app.shutdown()
    child.reply(bye=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))

"""A fake Telegram Bot API server on loopback HTTP that checks every call against api.json."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import mimetypes
import re
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

from .spec import ApiSpec, parse_html, utf16_len

__all__ = ["DEFAULT_TOKEN", "BotApiDouble", "Call", "UploadedFile"]

JsonDict = dict[str, Any]
DEFAULT_TOKEN = "123456:TEST-token"

_MEDIA_KEYS = (
    "photo",
    "document",
    "audio",
    "video",
    "animation",
    "voice",
    "video_note",
    "sticker",
    "caption",
    "caption_entities",
    "show_caption_above_media",
)
# Message keys that describe where and when a message is, not what it says (for copies).
_META_KEYS = frozenset(
    {"message_id", "from", "chat", "date", "edit_date", "reply_markup", "reply_to_message"}
)
COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_BLOCKED = "Forbidden: bot was blocked by the user"
# Methods that put something in front of the person, which a block refuses.
_REACHES_USER = ("send", "copy", "forward", "edit")
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: _BLOCKED,
    404: "Not Found",
    409: "Conflict",
}
# The update types Telegram sends when allowed_updates was never set or set to [].
_NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_SCALARS: dict[str, type | tuple[type, ...]] = {
    "String": str,
    "Integer": int,
    "Float": (int, float),
    "Boolean": bool,
}
_FAKE_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00fake-photo\xff\xd9"


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """One multipart file part of a request."""

    filename: str
    content_type: str
    data: bytes


@dataclass(slots=True)
class Call:
    """One request the bot made (every method but getUpdates), as the server decoded it."""

    method: str
    params: JsonDict
    files: dict[str, UploadedFile]
    at: float  # time.monotonic() when the request arrived
    status: int = 200
    response: JsonDict = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def result(self) -> Any:
        return self.response.get("result")

    @property
    def description(self) -> str | None:
        value = self.response.get("description")
        return value if isinstance(value, str) else None


class _ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass(slots=True)
class _Fault:
    method: str  # lower-case, or "*"
    error: _ApiError | None  # None: answered as usual, only late
    remaining: int
    chat_id: int | str | None
    delay: float = 0.0  # seconds before the answer


@dataclass(slots=True)
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    filename: str | None
    mime_type: str | None
    data: bytes

    def describe(self) -> JsonDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }


@dataclass(slots=True)
class _Chat:
    chat: JsonDict
    next_id: int = 1  # one counter for both directions, as in a real private chat
    sent: dict[int, JsonDict] = field(default_factory=dict)
    incoming: dict[int, JsonDict] = field(default_factory=dict)
    reply_keyboard: JsonDict | None = None

    def take_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


class _Signal:
    """Wakes everyone waiting now; whoever waits later waits for the next pulse."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def pulse(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        """Returns on the next pulse or after `seconds`, whichever comes first."""
        event = self._event
        if seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class BotApiDouble:
    """A Bot API server for tests: python-telegram-bot talks to it over real HTTP.

    Every request is decoded as Telegram decodes it and checked with ApiSpec; a violation is
    recorded in `violations` and answered 400 like Telegram. Updates are served by real long
    polling. Bot-sent messages are kept per chat (edits applied) so tests can read and tap
    what a person would see.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_id: int = 123456,
        username: str = "bashke_test_bot",
        first_name: str = "Bashkë",
        spec: ApiSpec | None = None,
        host: str = "127.0.0.1",
        latency: float = 0.0,
    ) -> None:
        self.token = token
        self.spec = spec or ApiSpec.default()
        self.host = host
        self.latency = latency
        self.calls: list[Call] = []
        # Calls that have arrived and wait for their answer (held by `latency` or `delay_next`).
        self.in_progress: list[Call] = []
        self.violations: list[str] = []
        self.blocked_chats: set[int] = set()
        self.webhook_url = ""
        user_fields = self.spec.types["User"].fields
        bot_user: JsonDict = self.spec.build("User")
        bot_user.update(id=bot_id, is_bot=True, first_name=first_name, username=username)
        for key, value in {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }.items():
            if key in user_fields:
                bot_user[key] = value
        self.bot_user = bot_user

        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._closing = False
        self._chats: dict[int | str, _Chat] = {}
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._file_seq = itertools.count(1)
        self._query_seq = itertools.count(1)
        self._callback_answered: dict[str, bool] = {}
        self._query_chat: dict[str, int] = {}  # callback query id -> the chat it came from
        self._commands: dict[tuple[str, str], list[JsonDict]] = {}
        self._menu_buttons: dict[int | str | None, JsonDict] = {}
        self._profile: dict[tuple[str, str], str] = {}
        self._faults: list[_Fault] = []

        self._queue: deque[JsonDict] = deque()
        self._next_update_id = 1
        self._confirmed_offset = 0
        self._fetched_update_id = 0
        self._poll_generation = 0
        self._waiting_polls = 0
        update_fields = [n for n in self.spec.types["Update"].fields if n != "update_id"]
        self._default_allowed = frozenset(n for n in update_fields if n not in _NOT_BY_DEFAULT)
        self._allowed_updates: frozenset[str] = self._default_allowed
        self.dropped_update_ids: list[int] = []
        self._new_updates = _Signal()
        self._changed = _Signal()

        message_fields = self.spec.types["Message"].fields
        # For each send method, the parameter carrying its file and the Message field showing it.
        self._media_param: dict[str, str] = {}
        for name, method in self.spec.methods.items():
            if not name.startswith("send"):
                continue
            for f in method.fields.values():
                if f.accepts_file and f.name in message_fields and f.name != "thumbnail":
                    self._media_param[name] = f.name
                    break
        self._handlers: dict[str, Callable[[JsonDict, dict[str, UploadedFile]], Any]] = {
            "getMe": lambda p, f: dict(self.bot_user),
            "sendMessage": self._send_message,
            "sendMediaGroup": self._send_media_group,
            "editMessageText": self._edit_text,
            "editMessageCaption": self._edit_caption,
            "editMessageReplyMarkup": self._edit_reply_markup,
            "editMessageMedia": self._edit_media,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getFile": self._get_file,
            "setChatMenuButton": self._set_menu_button,
            "getChatMenuButton": self._get_menu_button,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
        }
        for what, key in (
            ("Name", "name"),
            ("Description", "description"),
            ("ShortDescription", "short_description"),
        ):
            self._handlers[f"setMy{what}"] = self._profile_setter(key)
            self._handlers[f"getMy{what}"] = self._profile_getter(key)

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)  # Telegram takes 50 MB uploads
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        # A short shutdown_timeout: stop() must not wait out a long poll of a vanished client.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._closing = False

    async def stop(self) -> None:
        self._closing = True
        self._new_updates.pulse()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiDouble:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("BotApiDouble is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """For Bot(base_url=...): python-telegram-bot appends the token."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    # ---- fault injection -----------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        count: int = 1,
        chat_id: int | str | None = None,
    ) -> None:
        """Answer the next `count` calls of `method` ("*" for any) with a Telegram error.

        With `chat_id`, only calls about that chat count: sent to it, or answering a button
        tapped in it.
        """
        if status == 429:
            retry_after = 1 if retry_after is None else retry_after
            text = description or f"Too Many Requests: retry after {retry_after}"
        elif status >= 500:
            text = description or "Internal Server Error"
        else:
            text = description or _DEFAULT_DESCRIPTIONS.get(status, "Bad Request")
        key = "*" if method == "*" else method.lower()
        self._faults.append(_Fault(key, _ApiError(status, text, retry_after), count, chat_id))

    def delay_next(
        self,
        method: str,
        seconds: float,
        *,
        count: int = 1,
        chat_id: int | str | None = None,
    ) -> None:
        """Answer the next `count` calls of `method` ("*" for any) as usual, `seconds` late.

        Longer than the bot's read time-out, this is a time-out as the bot meets it: the bot
        gives up waiting, while Telegram still does what it was asked (the message is sent).
        `chat_id` as for `fail_next`.
        """
        key = "*" if method == "*" else method.lower()
        self._faults.append(_Fault(key, None, count, chat_id, delay=seconds))

    @property
    def unused_faults(self) -> int:
        """How many injected failures and delays have not met their call yet."""
        return sum(fault.remaining for fault in self._faults)

    def _take_fault(self, method: str, params: JsonDict) -> _Fault | None:
        for fault in self._faults:
            # A "*" fault is meant for the bot's own calls, not for its background polling.
            wildcard = fault.method == "*" and method != "getUpdates"
            if not wildcard and fault.method != method.lower():
                continue
            if fault.chat_id is not None and self._chat_of(method, params) != fault.chat_id:
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            return fault
        return None

    def _chat_of(self, method: str, params: JsonDict) -> Any:
        if method == "answerCallbackQuery":
            return self._query_chat.get(str(params.get("callback_query_id")))
        return params.get("chat_id")

    # ---- updates -------------------------------------------------------------------------

    def push_update(self, update: JsonDict) -> int:
        """Queue an update (without update_id) for getUpdates; returns its update_id.

        The update is checked against the spec's Update type, so fabricated updates stay
        realistic. As on Telegram, an update of a type the bot excluded via allowed_updates is
        never delivered (its id lands in `dropped_update_ids`).
        """
        body = {k: v for k, v in update.items() if k != "update_id"}
        if len(body) != 1:
            raise ValueError(f"an Update carries exactly one kind of content, got {list(body)}")
        update_id = self._next_update_id
        full = {"update_id": update_id, **body}
        errors = self.spec.check_object("Update", full, "update")
        if errors:
            raise ValueError("not a valid Update: " + "; ".join(errors))
        self._next_update_id += 1
        if next(iter(body)) not in self._allowed_updates:
            self.dropped_update_ids.append(update_id)
            return update_id
        self._queue.append(full)
        self._new_updates.pulse()
        return update_id

    @property
    def confirmed_offset(self) -> int:
        """The highest offset the bot has passed: updates below it are confirmed."""
        return self._confirmed_offset

    @property
    def fetched_update_id(self) -> int:
        """The highest update_id handed out by getUpdates so far (0 before any)."""
        return self._fetched_update_id

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates queued and not yet confirmed by the bot."""
        return list(self._queue)

    @property
    def polling(self) -> bool:
        """Whether a getUpdates long poll is waiting for an update right now."""
        return self._waiting_polls > 0

    # The `timeout` parameters of the wait_* helpers are the documented test API.
    async def wait_until_polling(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Returns once the bot is inside a long poll, so a push now wakes it up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.polling:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"nobody called getUpdates with a timeout within {timeout}s")
            await self._changed.wait(remaining)

    async def wait_until_fetched(self, update_id: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._fetched_update_id < update_id:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"update {update_id} not fetched within {timeout}s "
                    f"(fetched up to {self._fetched_update_id})"
                )
            await self._changed.wait(remaining)

    def _user(self, user: JsonDict) -> JsonDict:
        normalized = {"is_bot": False, **user}
        chat = self._chat(normalized["id"])
        chat.chat = {"id": normalized["id"], "type": "private"}
        for key in ("first_name", "last_name", "username"):
            if key in normalized:
                chat.chat[key] = normalized[key]
        return normalized

    def _incoming(self, user: JsonDict, content: JsonDict) -> int:
        u = self._user(user)
        chat = self._chat(u["id"])
        message = {
            "message_id": chat.take_id(),
            "from": u,
            "chat": chat.chat,
            "date": int(time.time()),
            **content,
        }
        chat.incoming[message["message_id"]] = message
        return self.push_update({"message": message})

    def send_text(self, user: JsonDict, text: str) -> int:
        """The user writes `text` to the bot in private; commands get bot_command entities."""
        content: JsonDict = {"text": text}
        entities = [
            {
                "type": "bot_command",
                "offset": utf16_len(text[: m.start()]),
                "length": utf16_len(m.group()),
            }
            for m in COMMAND.finditer(text)
        ]
        if entities:
            content["entities"] = entities
        return self._incoming(user, content)

    def send_document(
        self,
        user: JsonDict,
        filename: str,
        data: bytes,
        caption: str | None = None,
        mime_type: str | None = None,
    ) -> int:
        """The user sends a file; getFile and the file URL then serve `data`."""
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = self._store_file(data, "document", filename, mime)
        document = {**stored.describe(), "file_name": filename, "mime_type": mime}
        content: JsonDict = {"document": document}
        if caption is not None:
            content["caption"] = caption
        return self._incoming(user, content)

    def send_photo(
        self, user: JsonDict, caption: str | None = None, data: bytes = _FAKE_JPEG
    ) -> int:
        content: JsonDict = {"photo": self._photo_sizes(self._store_file(data, "photo"))}
        if caption is not None:
            content["caption"] = caption
        return self._incoming(user, content)

    def tap(
        self, user: JsonDict, message_id: int, callback_data: str, *, strict: bool = True
    ) -> int:
        """The user taps an inline button of a message the bot sent to them.

        With strict=True (the default) the message must still exist and show a button with
        exactly this callback_data, as it must for a real person to tap it.
        """
        u = self._user(user)
        chat = self._chat(u["id"])
        message = chat.sent.get(message_id)
        if strict:
            if message is None:
                raise LookupError(f"the bot has no message {message_id} in chat {u['id']}")
            shown = [data for row in self.buttons(message) for _, data in row]
            if callback_data not in shown:
                raise LookupError(
                    f"message {message_id} shows no button with callback_data "
                    f"{callback_data!r}; it shows {self.buttons(message)}"
                )
        query_id = str(4_000_000_000_000_000 + next(self._query_seq))
        self._callback_answered[query_id] = False
        self._query_chat[query_id] = u["id"]
        # A message gone from the chat arrives as an InaccessibleMessage (date 0).
        shown_message = (
            dict(message)
            if message is not None
            else {"chat": chat.chat, "message_id": message_id, "date": 0}
        )
        return self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": u,
                    "message": shown_message,
                    "chat_instance": str(-7_000_000_000_000_000_000 - u["id"]),
                    "data": callback_data,
                }
            }
        )

    def my_chat_member(self, user: JsonDict, status: str) -> int:
        """The user changes the bot's membership in their private chat.

        "kicked" is how Telegram reports that a person blocked the bot: the chat joins
        `blocked_chats` (sends there answer 403); "member" (unblocked) takes it out again.
        """
        u = self._user(user)
        chat = self._chat(u["id"])

        def member(state: str) -> JsonDict:
            value: JsonDict = {"status": state, "user": self.bot_user}
            if state == "kicked":
                value["until_date"] = 0
            return value

        old = "kicked" if status == "member" else "member"
        if status == "kicked":
            self.blocked_chats.add(u["id"])
        elif status == "member":
            self.blocked_chats.discard(u["id"])
        return self.push_update(
            {
                "my_chat_member": {
                    "chat": chat.chat,
                    "from": u,
                    "date": int(time.time()),
                    "old_chat_member": member(old),
                    "new_chat_member": member(status),
                }
            }
        )

    # ---- inspection ----------------------------------------------------------------------

    def messages(self, chat_id: int | str) -> list[JsonDict]:
        """Every message the bot sent to the chat and has not deleted, edits applied."""
        chat = self._chats.get(chat_id)
        return [dict(m) for m in chat.sent.values()] if chat else []

    def last_message(self, chat_id: int | str) -> JsonDict:
        messages = self.messages(chat_id)
        if not messages:
            raise LookupError(f"the bot has sent nothing to chat {chat_id}")
        return messages[-1]

    @staticmethod
    def buttons(message: JsonDict) -> list[list[tuple[str, str | None]]]:
        """The inline keyboard as rows of (label, callback_data or url)."""
        markup = message.get("reply_markup") or {}
        return [
            [(b["text"], b.get("callback_data") or b.get("url")) for b in row]
            for row in markup.get("inline_keyboard", [])
        ]

    def find_button(self, chat_id: int | str, text: str) -> tuple[int, str]:
        """(message_id, callback_data or url) of the newest button whose label contains text."""
        wanted = text.casefold()
        for message in reversed(self.messages(chat_id)):
            for row in self.buttons(message):
                for label, data in row:
                    if wanted in label.casefold() and data is not None:
                        return message["message_id"], data
        seen = [label for m in self.messages(chat_id) for r in self.buttons(m) for label, _ in r]
        raise LookupError(f"no button containing {text!r} in chat {chat_id}; buttons: {seen}")

    def reply_keyboard(self, chat_id: int | str) -> list[list[str]] | None:
        """Labels of the custom reply keyboard the chat currently shows, if any."""
        chat = self._chats.get(chat_id)
        if chat is None or chat.reply_keyboard is None:
            return None
        return [
            [b if isinstance(b, str) else b["text"] for b in row]
            for row in chat.reply_keyboard.get("keyboard", [])
        ]

    def commands(self, scope: JsonDict | None = None, language_code: str = "") -> list[JsonDict]:
        """The command list last set with setMyCommands for this scope and language."""
        return list(self._commands.get((self._scope_key(scope), language_code), []))

    @property
    def unanswered_callback_queries(self) -> list[str]:
        """Ids of taps the bot never answered (the person would see a spinner)."""
        return [qid for qid, done in self._callback_answered.items() if not done]

    def file_bytes(self, file_id: str) -> bytes:
        return self._files[file_id].data

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(
        self,
        predicate: Callable[[Call], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        start: int = 0,
    ) -> Call:
        """The first call from index `start` on that matches, waiting for it if needed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        index = start
        while True:
            while index < len(self.calls):
                call = self.calls[index]
                index += 1
                if predicate(call):
                    return call
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = [f"{c.method}({c.status})" for c in self.calls[-10:]]
                raise TimeoutError(f"no matching call within {timeout}s; last calls: {recent}")
            await self._changed.wait(remaining)

    async def wait_until_arrived(
        self,
        predicate: Callable[[Call], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Call:
        """A matching call that has arrived and waits for its answer (see `in_progress`):
        the moment to kill the bot with that request in flight."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for call in self.in_progress:
                if predicate(call):
                    return call
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no matching call arrived within {timeout}s")
            await self._changed.wait(remaining)

    async def wait_until_answered(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Until every call that has arrived has its answer, late ones included."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.in_progress:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"{len(self.in_progress)} calls still unanswered after {timeout}s"
                )
            await self._changed.wait(remaining)

    # ---- HTTP ----------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        if request.match_info["token"] != self.token:
            return web.json_response(_ApiError(401, "Unauthorized").body(), status=401)
        try:
            raw, files = await self._read_params(request)
        except _ApiError as exc:
            return web.json_response(exc.body(), status=exc.status)
        asked = request.match_info["method"]
        method = self.spec.method_name(asked)
        if method is None:
            call = Call(asked, raw, files, arrived, violations=[f"unknown method {asked!r}"])
            return self._finish(call, _ApiError(404, "Not Found"))
        params, violations = self.spec.parse(method, raw, files)
        call = Call(method, params, files, arrived, violations=violations)
        if violations:
            error = _ApiError(400, "Bad Request: " + "; ".join(violations))
            return self._finish(call, error, record=method != "getUpdates")
        if method == "getUpdates":
            fault = self._take_fault(method, params)
            if fault is not None and fault.error is not None:
                return web.json_response(fault.error.body(), status=fault.error.status)
            status, body = await self._get_updates(params)
            return web.json_response(body, status=status)
        # Until its answer is made (which pulses `_changed`), the call is in progress; those
        # waiting for an arrival are woken only when the answer is held up.
        self.in_progress.append(call)
        try:
            if self.latency > 0:
                self._changed.pulse()
                await asyncio.sleep(self.latency)
            fault = self._take_fault(method, params)
            if fault is not None and fault.delay > 0:
                self._changed.pulse()
                await asyncio.sleep(fault.delay)
            return self._answer(call, method, params, files, fault)
        finally:
            self.in_progress.remove(call)

    def _answer(
        self,
        call: Call,
        method: str,
        params: JsonDict,
        files: dict[str, UploadedFile],
        fault: _Fault | None,
    ) -> web.Response:
        try:
            if fault is not None and fault.error is not None:
                raise fault.error
            if method.startswith(_REACHES_USER) and params.get("chat_id") in self.blocked_chats:
                raise _ApiError(403, _BLOCKED)
            handler = self._handlers.get(method)
            if handler is None:
                handler = self._handlers[method] = self._default_handler(method)
            result = handler(params, files)
        except _ApiError as exc:
            return self._finish(call, exc)
        call.response = {"ok": True, "result": result}
        return self._finish(call, None)

    def _finish(self, call: Call, error: _ApiError | None, record: bool = True) -> web.Response:
        if error is not None:
            call.status = error.status
            call.response = error.body()
        for violation in call.violations:
            self.violations.append(f"{call.method}: {violation}")
        if record:
            self.calls.append(call)
            self._changed.pulse()
        return web.json_response(call.response, status=call.status)

    async def _read_params(self, request: web.Request) -> tuple[JsonDict, dict[str, UploadedFile]]:
        raw: JsonDict = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.method != "POST" or not request.body_exists:
            return raw, files
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise _ApiError(400, "Bad Request: can't parse JSON request body") from None
            if not isinstance(body, dict):
                raise _ApiError(400, "Bad Request: JSON request body must be an object")
            raw.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = UploadedFile(value.filename, value.content_type, value.file.read())
                elif isinstance(value, bytes | bytearray):
                    raw[key] = bytes(value).decode("utf-8")
                else:
                    raw[key] = value
        return raw, files

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(_ApiError(401, "Unauthorized").body(), status=401)
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None:
            return web.json_response(_ApiError(404, "Not Found").body(), status=404)
        content_type = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.data, headers={"Content-Type": content_type})

    async def _get_updates(self, params: JsonDict) -> tuple[int, JsonDict]:
        if self.webhook_url:
            return 409, _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            ).body()
        # Like Telegram, a new getUpdates ends any older one still waiting (with 409).
        self._poll_generation += 1
        generation = self._poll_generation
        self._new_updates.pulse()
        offset = params.get("offset")
        if isinstance(offset, int) and offset > 0:
            while self._queue and self._queue[0]["update_id"] < offset:
                self._queue.popleft()
            self._confirmed_offset = max(self._confirmed_offset, offset)
        elif isinstance(offset, int) and offset < 0:
            while len(self._queue) > -offset:
                self._queue.popleft()
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else self._default_allowed
        limit = params.get("limit") or 100
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(params.get("timeout") or 0)
        while True:
            if generation != self._poll_generation:
                return 409, _ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                ).body()
            if self._queue or self._closing:
                break
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._waiting_polls += 1
            self._changed.pulse()
            try:
                await self._new_updates.wait(remaining)
            finally:
                self._waiting_polls -= 1
        batch = list(itertools.islice(self._queue, limit))
        if batch:
            self._fetched_update_id = max(self._fetched_update_id, batch[-1]["update_id"])
            self._changed.pulse()
        return 200, {"ok": True, "result": batch}

    # ---- state helpers -------------------------------------------------------------------

    def _chat(self, chat_id: int | str) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = _Chat(self._chat_object(chat_id))
            self._chats[chat_id] = chat
        return chat

    @staticmethod
    def _chat_object(chat_id: int | str) -> JsonDict:
        if isinstance(chat_id, str):
            fake_id = -1_000_000_000_000 - zlib.crc32(chat_id.encode())
            return {"id": fake_id, "type": "channel", "title": chat_id, "username": chat_id[1:]}
        if chat_id < 0:
            kind = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
            return {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}
        return {"id": chat_id, "type": "private"}

    def _store_file(
        self, data: bytes, kind: str, filename: str | None = None, mime: str | None = None
    ) -> _StoredFile:
        n = next(self._file_seq)
        suffix = ""
        if filename and "." in filename:
            suffix = "." + filename.rsplit(".", 1)[1]
        elif kind == "photo":
            suffix = ".jpg"
        stored = _StoredFile(
            file_id=f"BQACAgI-{kind}-{n:06d}",
            file_unique_id=f"AgAD{n:06d}",
            file_path=f"{kind}s/file_{n}{suffix}",
            filename=filename,
            mime_type=mime,
            data=data,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _photo_sizes(self, stored: _StoredFile) -> list[JsonDict]:
        thumb = self._store_file(stored.data, "photo")
        return [
            {**thumb.describe(), "width": 90, "height": 90},
            {**stored.describe(), "width": 800, "height": 800},
        ]

    def _resolve_file(
        self, ref: Any, files: dict[str, UploadedFile], param: str, kind: str
    ) -> _StoredFile:
        """The file a send refers to: an upload, attach://name, a known file_id or a URL."""
        upload = files.get(param)
        if isinstance(ref, str) and ref.startswith("attach://"):
            upload = files.get(ref[len("attach://") :])
        if upload is not None:
            return self._store_file(upload.data, kind, upload.filename, upload.content_type)
        if isinstance(ref, str):
            if ref in self._files:
                return self._files[ref]
            if ref.startswith(("http://", "https://")):
                name = ref.rsplit("/", 1)[-1] or None
                return self._store_file(b"", kind, name, mimetypes.guess_type(ref)[0])
        raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _media_object(self, field_name: str, stored: _StoredFile) -> Any:
        message_field = self.spec.types["Message"].fields[field_name]
        type_name = message_field.types[0]
        if type_name == "Array of PhotoSize":
            return self._photo_sizes(stored)
        obj = self.spec.build(type_name)
        type_fields = self.spec.types[type_name].fields if type_name in self.spec.types else {}
        obj.update(stored.describe())
        if stored.filename and "file_name" in type_fields:
            obj["file_name"] = stored.filename
        if stored.mime_type and "mime_type" in type_fields:
            obj["mime_type"] = stored.mime_type
        return obj

    def _formatted(
        self, value: str, params: JsonDict, text_key: str, entities_key: str, mode_key: str
    ) -> JsonDict:
        """What Telegram stores for a text: visible text plus entities (HTML is parsed)."""
        mode = params.get(mode_key)
        if isinstance(mode, str) and mode.lower() == "html":
            parsed = parse_html(value, date_time=self.spec.date_time_entities)
            out: JsonDict = {text_key: parsed.text}
            if parsed.entities:
                out[entities_key] = parsed.entities
            return out
        out = {text_key: value}
        if params.get(entities_key):
            out[entities_key] = params[entities_key]
        return out

    def _new_message(self, chat_id: int | str, content: JsonDict, params: JsonDict) -> JsonDict:
        chat = self._chat(chat_id)
        message: JsonDict = {
            "message_id": chat.take_id(),
            "from": self.bot_user,
            "chat": chat.chat,
            "date": int(time.time()),
            **content,
        }
        markup = params.get("reply_markup")
        if isinstance(markup, dict):
            # Only inline keyboards belong to a message; reply keyboards belong to the chat.
            if markup.get("inline_keyboard"):
                message["reply_markup"] = markup
            elif "keyboard" in markup:
                chat.reply_keyboard = markup
            elif markup.get("remove_keyboard"):
                chat.reply_keyboard = None
        reply = params.get("reply_parameters")
        reply_to = reply.get("message_id") if isinstance(reply, dict) else None
        if reply_to is not None:
            original = chat.sent.get(reply_to) or chat.incoming.get(reply_to)
            if original is not None:
                message["reply_to_message"] = {
                    k: v for k, v in original.items() if k != "reply_to_message"
                }
        chat.sent[message["message_id"]] = message
        return dict(message)

    def _target(self, params: JsonDict) -> tuple[_Chat, JsonDict] | None:
        """The bot message an edit refers to; None for inline messages."""
        if params.get("inline_message_id"):
            return None
        chat = self._chats.get(params["chat_id"])
        message_id = params["message_id"]
        message = chat.sent.get(message_id) if chat else None
        if message is None:
            if chat is not None and message_id in chat.incoming:
                raise _ApiError(400, "Bad Request: message can't be edited")
            raise _ApiError(400, "Bad Request: message to edit not found")
        assert chat is not None
        return chat, message

    @staticmethod
    def _inline_markup(params: JsonDict) -> JsonDict | None:
        markup = params.get("reply_markup")
        return markup if isinstance(markup, dict) and markup.get("inline_keyboard") else None

    @staticmethod
    def _replace(chat: _Chat, message: JsonDict, drop: tuple[str, ...], new: JsonDict) -> JsonDict:
        # Edits build a new dict so that results handed out earlier keep their old state.
        updated = {k: v for k, v in message.items() if k not in drop}
        updated.update(new)
        updated["edit_date"] = int(time.time())
        chat.sent[updated["message_id"]] = updated
        return dict(updated)

    # ---- method handlers -----------------------------------------------------------------

    def _default_handler(self, method: str) -> Callable[[JsonDict, dict[str, UploadedFile]], Any]:
        returns = self.spec.methods[method].returns
        if "Message" in returns and method.startswith("send"):
            return lambda params, files: self._send_generic(method, params, files)
        if "Message" in returns and "chat_id" in self.spec.methods[method].fields:

            def existing_or_new(params: JsonDict, files: dict[str, UploadedFile]) -> Any:
                chat = self._chats.get(params.get("chat_id", 0))
                found = chat.sent.get(params.get("message_id", 0)) if chat else None
                if found is not None:
                    return dict(found)
                if "chat_id" in params:
                    return self._new_message(params["chat_id"], {}, {})
                return True

            return existing_or_new
        return lambda params, files: self.spec.build_result(method)

    def _send_message(self, params: JsonDict, files: dict[str, UploadedFile]) -> JsonDict:
        content = self._formatted(params["text"], params, "text", "entities", "parse_mode")
        return self._new_message(params["chat_id"], content, params)

    def _send_generic(
        self, method: str, params: JsonDict, files: dict[str, UploadedFile]
    ) -> JsonDict:
        """Any other send*: the message shows the upload, or a minimal object of its kind."""
        content: JsonDict = {}
        media = self._media_param.get(method)
        if media is not None:
            stored = self._resolve_file(params.get(media), files, media, media)
            content[media] = self._media_object(media, stored)
        else:
            name = _snake(method[len("send") :])
            message_field = self.spec.types["Message"].fields.get(name)
            if message_field is not None:
                type_name = message_field.types[0]
                value = self.spec.build(type_name)
                type_spec = self.spec.types.get(type_name)
                if isinstance(value, dict) and type_spec is not None:
                    # Echo the scalar parameters that the shown object also has (question...).
                    for key, v in params.items():
                        f = type_spec.fields.get(key)
                        if f is not None and isinstance(v, _SCALARS.get(f.types[0], ())):
                            value[key] = v
                    if name == "dice":
                        value.setdefault("emoji", "🎲")
                        value["emoji"] = value["emoji"] or "🎲"
                        value["value"] = 1
                content[name] = value
        if isinstance(params.get("caption"), str) and params["caption"]:
            content.update(
                self._formatted(
                    params["caption"], params, "caption", "caption_entities", "parse_mode"
                )
            )
        return self._new_message(params["chat_id"], content, params)

    def _send_media_group(self, params: JsonDict, files: dict[str, UploadedFile]) -> list[Any]:
        group_id = str(next(self._file_seq) + 10_000_000)
        sent = []
        for item in params["media"]:
            kind = item["type"]
            stored = self._resolve_file(item["media"], files, "", kind)
            content: JsonDict = {kind: self._media_object(kind, stored), "media_group_id": group_id}
            if item.get("caption"):
                content.update(
                    self._formatted(
                        item["caption"], item, "caption", "caption_entities", "parse_mode"
                    )
                )
            sent.append(self._new_message(params["chat_id"], content, params))
        return sent

    def _edit_text(self, params: JsonDict, files: dict[str, UploadedFile]) -> Any:
        target = self._target(params)
        if target is None:
            return True
        chat, message = target
        if "text" not in message:
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        new = self._formatted(params["text"], params, "text", "entities", "parse_mode")
        markup = self._inline_markup(params)
        if (
            new.get("text") == message.get("text")
            and new.get("entities") == message.get("entities")
            and markup == message.get("reply_markup")
        ):
            raise _ApiError(400, _NOT_MODIFIED)
        if markup is not None:
            new["reply_markup"] = markup
        return self._replace(chat, message, ("text", "entities", "reply_markup"), new)

    def _edit_caption(self, params: JsonDict, files: dict[str, UploadedFile]) -> Any:
        target = self._target(params)
        if target is None:
            return True
        chat, message = target
        if "text" in message:
            raise _ApiError(400, "Bad Request: there is no caption in the message to edit")
        new = self._formatted(
            params.get("caption") or "", params, "caption", "caption_entities", "parse_mode"
        )
        if not new["caption"]:
            del new["caption"]
        markup = self._inline_markup(params)
        if (
            new.get("caption") == message.get("caption")
            and new.get("caption_entities") == message.get("caption_entities")
            and markup == message.get("reply_markup")
        ):
            raise _ApiError(400, _NOT_MODIFIED)
        if markup is not None:
            new["reply_markup"] = markup
        return self._replace(chat, message, ("caption", "caption_entities", "reply_markup"), new)

    def _edit_reply_markup(self, params: JsonDict, files: dict[str, UploadedFile]) -> Any:
        target = self._target(params)
        if target is None:
            return True
        chat, message = target
        markup = self._inline_markup(params)
        if markup == message.get("reply_markup"):
            raise _ApiError(400, _NOT_MODIFIED)
        new = {} if markup is None else {"reply_markup": markup}
        return self._replace(chat, message, ("reply_markup",), new)

    def _edit_media(self, params: JsonDict, files: dict[str, UploadedFile]) -> Any:
        target = self._target(params)
        if target is None:
            return True
        chat, message = target
        media = params["media"]
        kind = media["type"]
        stored = self._resolve_file(media["media"], files, "", kind)
        new: JsonDict = {kind: self._media_object(kind, stored)}
        if media.get("caption"):
            new.update(
                self._formatted(
                    media["caption"], media, "caption", "caption_entities", "parse_mode"
                )
            )
        markup = self._inline_markup(params)
        if markup is not None:
            new["reply_markup"] = markup
        return self._replace(chat, message, (*_MEDIA_KEYS, "reply_markup"), new)

    def _delete_message(self, params: JsonDict, files: dict[str, UploadedFile]) -> bool:
        chat = self._chats.get(params["chat_id"])
        message_id = params["message_id"]
        if chat is None or (
            chat.sent.pop(message_id, None) is None and chat.incoming.pop(message_id, None) is None
        ):
            raise _ApiError(400, "Bad Request: message to delete not found")
        return True

    def _delete_messages(self, params: JsonDict, files: dict[str, UploadedFile]) -> bool:
        chat = self._chats.get(params["chat_id"])
        if chat is not None:
            for message_id in params["message_ids"]:
                chat.sent.pop(message_id, None)
                chat.incoming.pop(message_id, None)
        return True

    def _source_message(self, params: JsonDict, what: str) -> JsonDict:
        chat = self._chats.get(params["from_chat_id"])
        message_id = params["message_id"]
        source = (chat.sent.get(message_id) or chat.incoming.get(message_id)) if chat else None
        if source is None:
            raise _ApiError(400, f"Bad Request: message to {what} not found")
        return source

    def _copy_message(self, params: JsonDict, files: dict[str, UploadedFile]) -> JsonDict:
        source = self._source_message(params, "copy")
        content = {k: v for k, v in source.items() if k not in _META_KEYS}
        if "caption" in params:
            content.pop("caption_entities", None)
            content.update(
                self._formatted(
                    params["caption"], params, "caption", "caption_entities", "parse_mode"
                )
            )
        message = self._new_message(params["chat_id"], content, params)
        return {"message_id": message["message_id"]}

    def _forward_message(self, params: JsonDict, files: dict[str, UploadedFile]) -> JsonDict:
        source = self._source_message(params, "forward")
        content = {k: v for k, v in source.items() if k not in _META_KEYS}
        content["forward_origin"] = {
            "type": "user",
            "sender_user": source["from"],
            "date": source["date"],
        }
        return self._new_message(params["chat_id"], content, {})

    def _answer_callback_query(self, params: JsonDict, files: dict[str, UploadedFile]) -> bool:
        query_id = params["callback_query_id"]
        if query_id not in self._callback_answered:
            raise _ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._callback_answered[query_id] = True
        return True

    @staticmethod
    def _scope_key(scope: Any) -> str:
        return json.dumps(scope or {"type": "default"}, sort_keys=True)

    def _commands_key(self, params: JsonDict) -> tuple[str, str]:
        return self._scope_key(params.get("scope")), params.get("language_code") or ""

    def _set_my_commands(self, params: JsonDict, files: dict[str, UploadedFile]) -> bool:
        self._commands[self._commands_key(params)] = list(params["commands"])
        return True

    def _get_my_commands(self, params: JsonDict, files: dict[str, UploadedFile]) -> list[JsonDict]:
        return list(self._commands.get(self._commands_key(params), []))

    def _delete_my_commands(self, params: JsonDict, files: dict[str, UploadedFile]) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _set_webhook(self, params: JsonDict, files: dict[str, UploadedFile]) -> bool:
        self.webhook_url = params["url"]
        return True

    def _delete_webhook(self, params: JsonDict, files: dict[str, UploadedFile]) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    def _get_webhook_info(self, params: JsonDict, files: dict[str, UploadedFile]) -> JsonDict:
        info: JsonDict = self.spec.build("WebhookInfo")
        info.update(url=self.webhook_url, pending_update_count=len(self._queue))
        return info

    def _get_file(self, params: JsonDict, files: dict[str, UploadedFile]) -> JsonDict:
        stored = self._files.get(params["file_id"])
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {**stored.describe(), "file_path": stored.file_path}

    def _set_menu_button(self, params: JsonDict, files: dict[str, UploadedFile]) -> bool:
        self._menu_buttons[params.get("chat_id")] = params.get("menu_button") or {"type": "default"}
        return True

    def _get_menu_button(self, params: JsonDict, files: dict[str, UploadedFile]) -> JsonDict:
        return self._menu_buttons.get(params.get("chat_id"), {"type": "default"})

    def _get_chat(self, params: JsonDict, files: dict[str, UploadedFile]) -> JsonDict:
        info: JsonDict = self.spec.build("ChatFullInfo")
        info.update(self._chat(params["chat_id"]).chat)
        return info

    def _get_chat_member(self, params: JsonDict, files: dict[str, UploadedFile]) -> JsonDict:
        user_id = params["user_id"]
        if user_id == self.bot_user["id"]:
            user = self.bot_user
        else:
            chat = self._chats.get(user_id)
            known = chat.chat if chat and chat.chat.get("type") == "private" else {}
            user = {"id": user_id, "is_bot": False, "first_name": known.get("first_name", "User")}
        return {"status": "member", "user": user}

    def _profile_setter(self, key: str) -> Callable[[JsonDict, dict[str, UploadedFile]], bool]:
        def setter(params: JsonDict, files: dict[str, UploadedFile]) -> bool:
            self._profile[(key, params.get("language_code") or "")] = params.get(key) or ""
            return True

        return setter

    def _profile_getter(self, key: str) -> Callable[[JsonDict, dict[str, UploadedFile]], JsonDict]:
        def getter(params: JsonDict, files: dict[str, UploadedFile]) -> JsonDict:
            language = params.get("language_code") or ""
            value = self._profile.get((key, language), self._profile.get((key, ""), ""))
            if key == "name" and not value:
                value = self.bot_user["first_name"]
            return {key: value}

        return getter

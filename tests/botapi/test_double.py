"""BotApiDouble over real HTTP: raw requests, long polling, chat state, faults, and real PTB."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from .double import BotApiDouble, Call

pytestmark = pytest.mark.asyncio

ANA: dict[str, Any] = {"id": 1001, "first_name": "Ana", "language_code": "sq", "is_bot": False}
BEN: dict[str, Any] = {"id": 1002, "first_name": "Ben", "username": "ben", "language_code": "en"}


@pytest_asyncio.fixture
async def double() -> AsyncIterator[BotApiDouble]:
    async with BotApiDouble() as d:
        yield d


@pytest_asyncio.fixture
async def bot(double: BotApiDouble) -> AsyncIterator[Bot]:
    async with Bot(double.token, base_url=double.base_url, base_file_url=double.base_file_url) as b:
        yield b


@pytest_asyncio.fixture
async def http(double: BotApiDouble) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(f"http://127.0.0.1:{double.port}") as session:
        yield session


def api(double: BotApiDouble, method: str) -> str:
    return f"/bot{double.token}/{method}"


def menu() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Shqip 🇦🇱", callback_data="lang:sq")],
            [InlineKeyboardButton("English", callback_data="lang:en")],
            [InlineKeyboardButton("Faqja", url="https://example.org")],
        ]
    )


# ---- raw HTTP ---------------------------------------------------------------------------------


async def test_urls_and_identity(double: BotApiDouble, bot: Bot) -> None:
    assert double.base_url == f"http://127.0.0.1:{double.port}/bot"
    assert double.base_file_url == f"http://127.0.0.1:{double.port}/file/bot"
    me = await bot.get_me()
    assert (me.id, me.username, me.first_name, me.is_bot) == (
        123456,
        "bashke_test_bot",
        "Bashkë",
        True,
    )
    assert me.can_join_groups is True
    assert double.calls[0].method == "getMe" and double.violations == []


async def test_json_form_and_get_requests(
    double: BotApiDouble, http: aiohttp.ClientSession
) -> None:
    async with http.post(api(double, "sendMessage"), json={"chat_id": 1001, "text": "json"}) as r:
        body = await r.json()
        assert r.status == 200 and body["ok"] is True
        assert body["result"]["text"] == "json" and body["result"]["chat"]["id"] == 1001
    async with http.post(api(double, "sendMessage"), data={"chat_id": "1001", "text": "form"}) as r:
        assert r.status == 200
    async with http.get(api(double, "sendMessage"), params={"chat_id": "1001", "text": "get"}) as r:
        assert r.status == 200
    assert [c.params for c in double.calls] == [
        {"chat_id": 1001, "text": "json"},
        {"chat_id": 1001, "text": "form"},
        {"chat_id": 1001, "text": "get"},
    ]
    assert [m["message_id"] for m in double.messages(1001)] == [1, 2, 3]


async def test_multipart_upload_and_download(double: BotApiDouble, bot: Bot) -> None:
    sent = await bot.send_document(
        1001, b"%PDF-1.4 raport", filename="raport.pdf", caption="<b>Raporti</b>", parse_mode="HTML"
    )
    call = double.calls[-1]
    assert call.method == "sendDocument" and call.params["chat_id"] == 1001
    assert call.files["document"].filename == "raport.pdf"
    assert call.files["document"].data == b"%PDF-1.4 raport"
    assert sent.document is not None and sent.document.file_name == "raport.pdf"
    assert sent.caption == "Raporti" and sent.caption_entities[0].type == "bold"
    file = await bot.get_file(sent.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"%PDF-1.4 raport"
    assert double.violations == []


async def test_unauthorized_token(double: BotApiDouble, http: aiohttp.ClientSession) -> None:
    async with http.post("/bot999:wrong/getMe") as r:
        assert r.status == 401
        assert await r.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_unknown_method_is_a_recorded_violation(
    double: BotApiDouble, http: aiohttp.ClientSession
) -> None:
    async with http.post(api(double, "sendMesage"), json={"chat_id": 1, "text": "x"}) as r:
        assert r.status == 404
    assert double.calls[-1].status == 404
    assert double.violations == ["sendMesage: unknown method 'sendMesage'"]


async def test_violation_answers_400_like_telegram(
    double: BotApiDouble, http: aiohttp.ClientSession
) -> None:
    async with http.post(api(double, "sendMessage"), json={"chat_id": 1, "text": "x" * 4097}) as r:
        body = await r.json()
    assert r.status == 400 and body["ok"] is False and body["error_code"] == 400
    assert body["description"].startswith("Bad Request: text: too long")
    assert double.violations and double.violations[0].startswith("sendMessage: text: too long")
    assert double.calls[-1].status == 400 and double.messages(1) == []


async def test_violations_surface_as_bad_request_in_ptb(double: BotApiDouble, bot: Bot) -> None:
    bad = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(1001, "hi", reply_markup=bad)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(1001, "1 < 2", parse_mode="HTML")
    assert len(double.violations) == 2


# ---- long polling -----------------------------------------------------------------------------


async def get_updates(
    http: aiohttp.ClientSession, double: BotApiDouble, **params: Any
) -> tuple[int, Any]:
    async with http.post(api(double, "getUpdates"), json=params) as r:
        return r.status, await r.json()


async def test_get_updates_offset_limit_and_confirmation(
    double: BotApiDouble, http: aiohttp.ClientSession
) -> None:
    ids = [double.send_text(ANA, f"m{i}") for i in range(3)]
    assert ids == [1, 2, 3]
    _, body = await get_updates(http, double)
    assert [u["update_id"] for u in body["result"]] == ids
    assert double.fetched_update_id == 3 and double.confirmed_offset == 0
    _, body = await get_updates(http, double, offset=2, limit=1)
    assert [u["update_id"] for u in body["result"]] == [2]
    assert double.confirmed_offset == 2 and len(double.pending_updates) == 2
    _, body = await get_updates(http, double, offset=4)
    assert body["result"] == [] and double.pending_updates == []
    assert not any(c.method == "getUpdates" for c in double.calls)


async def test_long_poll_wakes_on_push_and_times_out(
    double: BotApiDouble, http: aiohttp.ClientSession
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(get_updates(http, double, timeout=5))
    await double.wait_until_polling(timeout=2)
    assert not poll.done()
    update_id = double.send_text(ANA, "hello")
    await double.wait_until_fetched(update_id, timeout=2)
    _, body = await poll
    assert time.monotonic() - started < 1.5
    assert body["result"][0]["message"]["text"] == "hello"

    started = time.monotonic()
    _, body = await get_updates(http, double, offset=update_id + 1, timeout=1)
    assert body["result"] == []
    assert 0.9 <= time.monotonic() - started < 2


async def test_allowed_updates_filters_new_updates(
    double: BotApiDouble, http: aiohttp.ClientSession
) -> None:
    await get_updates(http, double, allowed_updates=["callback_query"])
    dropped = double.send_text(ANA, "ignored")
    assert double.dropped_update_ids == [dropped] and double.pending_updates == []
    await get_updates(http, double, allowed_updates=[])  # [] restores the default set
    kept = double.send_text(ANA, "kept")
    _, body = await get_updates(http, double)
    assert [u["update_id"] for u in body["result"]] == [kept]


async def test_second_poller_and_webhook_conflict(
    double: BotApiDouble, http: aiohttp.ClientSession
) -> None:
    first = asyncio.create_task(get_updates(http, double, timeout=5))
    await double.wait_until_polling(timeout=2)
    second = asyncio.create_task(get_updates(http, double, timeout=0))
    status, body = await first
    assert status == 409 and "terminated by other getUpdates request" in body["description"]
    assert (await second)[0] == 200
    async with http.post(api(double, "setWebhook"), json={"url": "https://x.org/hook"}) as r:
        assert r.status == 200
    status, body = await get_updates(http, double)
    assert status == 409 and "webhook is active" in body["description"]


async def test_pushed_updates_are_checked_against_the_spec(double: BotApiDouble) -> None:
    with pytest.raises(ValueError, match="unknown field"):
        double.push_update({"message": {"message_id": 1, "date": 0, "chat": {}, "colour": 1}})
    with pytest.raises(ValueError, match="exactly one"):
        double.push_update({})


async def test_command_entities(double: BotApiDouble) -> None:
    double.send_text(ANA, "/start@bashke_test_bot ref_42 then /help")
    message = double.pending_updates[-1]["message"]
    assert message["entities"] == [
        {"type": "bot_command", "offset": 0, "length": 22},
        {"type": "bot_command", "offset": 35, "length": 5},
    ]
    assert message["chat"] == {"id": 1001, "type": "private", "first_name": "Ana"}
    double.send_text(ANA, "no command / here")
    assert "entities" not in double.pending_updates[-1]["message"]


# ---- chat state, taps, edits ------------------------------------------------------------------


async def test_keyboard_find_button_tap_and_edit(double: BotApiDouble, bot: Bot) -> None:
    sent = await bot.send_message(1001, "Zgjidh gjuhën:", reply_markup=menu())
    assert double.buttons(double.last_message(1001)) == [
        [("Shqip 🇦🇱", "lang:sq")],
        [("English", "lang:en")],
        [("Faqja", "https://example.org")],
    ]
    message_id, data = double.find_button(1001, "shqip")
    assert (message_id, data) == (sent.message_id, "lang:sq")

    update_id = double.tap(ANA, message_id, data)
    query = double.pending_updates[-1]["callback_query"]
    assert double.pending_updates[-1]["update_id"] == update_id
    assert query["data"] == "lang:sq" and sent.reply_markup is not None
    assert query["message"]["reply_markup"] == sent.reply_markup.to_dict()
    parsed = Update.de_json(double.pending_updates[-1], bot)
    assert parsed.callback_query is not None and parsed.callback_query.message == sent
    assert double.unanswered_callback_queries == [query["id"]]
    await bot.answer_callback_query(query["id"], text="OK")
    assert double.unanswered_callback_queries == []
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query("nonsense")

    await bot.edit_message_text("Gjuha: shqip", chat_id=1001, message_id=message_id)
    assert double.messages(1001)[-1]["text"] == "Gjuha: shqip"
    assert "reply_markup" not in double.messages(1001)[-1]  # an edit without markup drops it
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Gjuha: shqip", chat_id=1001, message_id=message_id)
    with pytest.raises(LookupError):
        double.tap(ANA, message_id, "lang:en")  # the button is gone
    double.tap(ANA, message_id, "lang:en", strict=False)


async def test_edit_markup_delete_and_missing_messages(double: BotApiDouble, bot: Bot) -> None:
    sent = await bot.send_message(1001, "x", reply_markup=menu())
    await bot.edit_message_reply_markup(1001, sent.message_id, reply_markup=None)
    assert double.buttons(double.last_message(1001)) == []
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("y", chat_id=1001, message_id=999)
    assert await bot.delete_message(1001, sent.message_id) is True
    assert double.messages(1001) == []
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(1001, sent.message_id)
    with pytest.raises(LookupError):
        double.last_message(1001)


async def test_incoming_files_and_reply_keyboard(double: BotApiDouble, bot: Bot) -> None:
    double.send_document(ANA, "ftese.pdf", b"%PDF", caption="Ftesa")
    document = double.pending_updates[-1]["message"]["document"]
    assert document["mime_type"] == "application/pdf"
    assert bytes(await (await bot.get_file(document["file_id"])).download_as_bytearray()) == b"%PDF"
    double.send_photo(ANA, caption="foto")
    photo = double.pending_updates[-1]["message"]["photo"]
    assert len(photo) == 2 and photo[-1]["width"] == 800

    await bot.send_message(1001, "?", reply_markup=ReplyKeyboardMarkup([["Po", "Jo"]]))
    assert double.reply_keyboard(1001) == [["Po", "Jo"]]
    copied = await bot.copy_message(1002, from_chat_id=1001, message_id=1)
    assert double.messages(1002)[0]["document"] == document and copied.message_id == 1
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_document(1001, "no-such-file-id")


async def test_media_group_upload(double: BotApiDouble, bot: Bot) -> None:
    sent = await bot.send_media_group(
        1001,
        [
            InputMediaPhoto(b"\xff\xd8one", caption="<i>një</i>", parse_mode="HTML"),
            InputMediaPhoto(b"\xff\xd8two"),
        ],
    )
    assert len(sent) == 2 and sent[0].caption == "një"
    assert len(double.calls[-1].files) == 2 and double.violations == []


async def test_commands_menu_webhook_and_generic_methods(double: BotApiDouble, bot: Bot) -> None:
    await bot.set_my_commands([("start", "Fillo"), ("help", "Ndihmë")], language_code="sq")
    assert [c.command for c in await bot.get_my_commands(language_code="sq")] == ["start", "help"]
    assert await bot.get_my_commands() == ()
    assert double.commands(language_code="sq")[0] == {"command": "start", "description": "Fillo"}
    await bot.delete_my_commands(language_code="sq")
    assert double.commands(language_code="sq") == []
    assert await bot.delete_webhook(drop_pending_updates=True) is True
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.send_chat_action(1001, "typing") is True
    location = await bot.send_location(1001, latitude=41.33, longitude=19.82)
    assert location.location is not None and location.location.latitude == 41.33
    member = await bot.get_chat_member(1001, 1001)
    assert member.status == "member"
    assert (await bot.get_my_name()).name == "Bashkë"
    assert double.violations == []


async def test_every_message_result_is_a_valid_message(double: BotApiDouble, bot: Bot) -> None:
    await bot.send_message(1001, "<b>a</b>", parse_mode="HTML", reply_markup=menu())
    await bot.send_document(1001, b"x", filename="a.txt")
    await bot.send_photo(1001, b"\xff\xd8", caption="c")
    await bot.send_dice(1001)
    results = [c.result for c in double.calls if c.method.startswith("send")]
    assert len(results) == 4
    for result in results:
        assert double.spec.check_object("Message", result) == []


# ---- faults and timing ------------------------------------------------------------------------


async def test_injected_errors_map_to_ptb_exceptions(double: BotApiDouble, bot: Bot) -> None:
    double.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1001, "x")
    # A timedelta: the bot (and tests/conftest.py) opts in to PTB's coming time periods.
    assert caught.value.retry_after == timedelta(seconds=7)
    assert double.calls[-1].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    double.fail_next("sendMessage", status=403)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(1001, "x")
    double.fail_next("*", status=500)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.get_me()
    double.fail_next("getUpdates", status=502)
    with pytest.raises(NetworkError):
        await bot.get_updates()
    await bot.send_message(1001, "fine again")
    assert [c.status for c in double.calls[1:]] == [429, 403, 500, 200]  # [0] is getMe
    assert double.violations == []


async def test_fault_count_and_chat_filter(double: BotApiDouble, bot: Bot) -> None:
    double.fail_next("sendMessage", status=403, count=2, chat_id=1002)
    await bot.send_message(1001, "ana is fine")
    for _ in range(2):
        with pytest.raises(Forbidden):
            await bot.send_message(1002, "ben blocked us")
    await bot.send_message(1002, "ben is back")
    assert [c.status for c in double.calls[1:]] == [200, 403, 403, 200]


async def test_blocking_via_my_chat_member(double: BotApiDouble, bot: Bot) -> None:
    double.my_chat_member(BEN, "kicked")
    update = double.pending_updates[-1]["my_chat_member"]
    assert update["new_chat_member"]["status"] == "kicked"
    assert 1002 in double.blocked_chats
    with pytest.raises(Forbidden):
        await bot.send_message(1002, "x")
    double.my_chat_member(BEN, "member")
    await bot.send_message(1002, "x")


async def test_latency_overlaps_concurrent_calls(double: BotApiDouble, bot: Bot) -> None:
    double.latency = 0.2
    started = time.monotonic()
    await asyncio.gather(*(bot.send_message(1001, f"m{i}") for i in range(5)))
    elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 0.9  # one after another would take 1 s
    assert len(double.messages(1001)) == 5


async def test_wait_for(double: BotApiDouble, bot: Bot) -> None:
    task = asyncio.create_task(
        double.wait_for(lambda c: c.method == "sendMessage" and c.params["text"] == "b")
    )
    await bot.send_message(1001, "a")
    await bot.send_message(1001, "b")
    call: Call = await task
    assert call.params["text"] == "b" and call.ok
    with pytest.raises(TimeoutError, match="no matching call"):
        await double.wait_for(lambda c: c.method == "sendPhoto", timeout=0.05)
    # `start` skips what already happened.
    with pytest.raises(TimeoutError):
        await double.wait_for(lambda c: True, timeout=0.05, start=len(double.calls))


# ---- a real Application with long polling -----------------------------------------------------


async def test_application_long_polling_end_to_end(double: BotApiDouble) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            "<b>Mirë se erdhe!</b> Zgjidh gjuhën:", parse_mode="HTML", reply_markup=menu()
        )

    async def chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.data is not None
        await query.answer()
        await query.edit_message_text(f"Zgjodhe: {query.data.split(':')[1]}")

    app = (
        Application.builder()
        .token(double.token)
        .base_url(double.base_url)
        .base_file_url(double.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(chosen))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        double.send_text(ANA, "/start")
        reply = await double.wait_for(lambda c: c.method == "sendMessage")
        assert reply.params["chat_id"] == 1001 and reply.ok
        assert double.last_message(1001)["text"] == "Mirë se erdhe! Zgjidh gjuhën:"

        message_id, data = double.find_button(1001, "English")
        tap_id = double.tap(ANA, message_id, data)
        await double.wait_for(lambda c: c.method == "editMessageText")
        assert double.last_message(1001)["text"] == "Zgjodhe: en"
        await double.wait_until_fetched(tap_id)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert double.confirmed_offset > tap_id  # the final getUpdates confirmed everything
    assert double.unanswered_callback_queries == []
    assert double.violations == []
    assert [c.method for c in double.calls] == [
        "getMe",
        "deleteWebhook",
        "sendMessage",
        "answerCallbackQuery",
        "editMessageText",
    ]

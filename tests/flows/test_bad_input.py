"""Bad input of every kind gets a clear answer in the person's language and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.i18n import Catalogs
from tests.flows.harness import running_bot

CATALOGS = Catalogs()


@pytest.mark.parametrize(
    "payload",
    ["garbage", "evt_99999", "x" * 64, "%3Cscript%3E", "ev_1_" + "a" * 80, "..", "__init__"],
)
async def test_an_unrecognised_deep_link_starts_normally(tmp_path: Path, payload: str) -> None:
    sq = CATALOGS.translator("sq")
    async with running_bot(tmp_path) as bot:
        ana = bot.person("Ana", language_code="sq")
        await ana.send(f"/start {payload}")
        assert ana.last_text.startswith(
            sq.gettext("I did not recognise that link, so let us start from the beginning.")
        )
        assert sq.gettext("Welcome to Bashkë! Choose your language:") in ana.last_text


async def test_forged_and_stale_buttons_are_refused(tmp_path: Path) -> None:
    en = CATALOGS.translator("en")
    async with running_bot(tmp_path) as bot:
        eve = bot.person("Eve", language_code="en")
        await eve.send("/start")
        message_id = bot.double.last_message(eve.telegram_id)["message_id"]
        # Before consent, every later step is refused: nothing may be stored.
        for data in ("town:1", "desc:resident", "towns:2", "erase:yes"):
            await eve.tap_data(message_id, data)
        assert await bot.services.db.fetchval("SELECT COUNT(*) FROM people") == 0
        assert await bot.services.db.fetchval("SELECT COUNT(*) FROM staff_roles") == 0
        await eve.onboard("en")
        person_before = await bot.services.people.get(eve.telegram_id)
        for data in (
            "lang:xx:",
            "lang:xx",
            "lang:",
            "consent:klingon",
            "town:99999",
            "town:abc",
            "town:-1",
            "desc:admin",
            "desc:",
            "garbage",
            "grant:1:moderator",
            "",
            "town:1:2:3:4",
        ):
            await eve.tap_data(message_id, data)
        assert await bot.services.people.get(eve.telegram_id) == person_before
        alerts = eve.alerts()
        assert en.gettext("I do not know that language.") in alerts
        assert en.gettext("That partner town does not exist (any more).") in alerts
        assert en.gettext("I did not understand that. Nothing was changed.") in alerts
        assert (
            en.gettext("This button is no longer valid. Send /help to see what you can do.")
            in alerts
        )
        assert all(len(alert) <= 200 for alert in alerts)


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "<b>bold</b> <a href='javascript:alert(1)'>x</a> & <script>",
        "x" * 10_000,
        "\u202egnp.exe",
        "\u200b\u200b\u200b",
        "😀" * 4000,
        "/nosuchcommand",
        "/start@other_bot",
    ],
)
async def test_text_the_bot_did_not_ask_for(tmp_path: Path, text: str) -> None:
    ua = CATALOGS.translator("uk")
    async with running_bot(tmp_path) as bot:
        olena = bot.person("Olena", language_code="uk")
        await olena.onboard("uk")
        await olena.send(text)
        assert olena.last_text.startswith(ua.gettext("Sorry, I did not understand that."))
        assert "/help" in olena.last_text


async def test_someone_unknown_is_told_to_start(tmp_path: Path) -> None:
    it = CATALOGS.translator("it")
    async with running_bot(tmp_path) as bot:
        luca = bot.person("Luca", language_code="it")
        await luca.send("ciao")
        assert luca.last_text == it.gettext("Hello! Send /start to begin.")
        for command in ("/town", "/help", "/mydata", "/deleteme", "/privacy", "/language"):
            await luca.send(command)
        assert await bot.services.db.fetchval("SELECT COUNT(*) FROM people") == 0
        texts = [m.get("text") for m in luca.messages()]
        assert it.gettext("Please send /start first: I do not know you yet.") in texts
        assert it.gettext("I store nothing about you.") in texts


async def test_photos_documents_and_blocking(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        ana = bot.person("Ana", language_code="en")
        await ana.onboard("en")
        bot.double.send_photo(ana.user, caption="<b>me</b>")
        bot.double.send_document(ana.user, "cv.pdf", b"%PDF-1.4", caption=None)
        bot.pushed += 2
        await bot.settle()
        assert ana.last_text.startswith("Sorry, I did not understand that.")
        bot.double.my_chat_member(ana.user, "kicked")
        bot.pushed += 1
        await bot.settle()
        assert (
            await bot.services.db.fetchval(
                "SELECT blocked_at IS NOT NULL FROM people WHERE telegram_id = ?",
                (ana.telegram_id,),
            )
            == 1
        )
        bot.double.my_chat_member(ana.user, "member")
        bot.pushed += 1
        await bot.settle()
        assert (
            await bot.services.db.fetchval(
                "SELECT blocked_at IS NULL FROM people WHERE telegram_id = ?", (ana.telegram_id,)
            )
            == 1
        )

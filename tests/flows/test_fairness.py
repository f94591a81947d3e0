"""One person flooding the bot slows down no one else, and is told once, kindly, to slow down."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.i18n import Catalogs
from handlers.processor import MAX_WAITING_PER_PERSON
from tests.botapi import Call
from tests.flows.harness import Bot, Person, running_bot, sent_to

CATALOGS = Catalogs()
SLOW_DOWN = (
    "You sent many messages very quickly, so I skipped some of them. "
    "Please wait a moment, then send your message again."
)
NOT_UNDERSTOOD = "Sorry, I did not understand that."
# A person whose updates are all answered one by one at this Bot API latency would keep the
# bot busy for FLOOD × LATENCY seconds: long enough for any ordering mistake to show.
LATENCY = 0.05
FLOOD = 200
# The old processor answers every message of the flood, one at a time: give it the time to do
# so, so that it fails on what people see rather than on a time-out.
FLOOD_SETTLE_TIMEOUT = 120.0


async def settle_flood(bot: Bot) -> None:
    async with asyncio.timeout(FLOOD_SETTLE_TIMEOUT):
        await bot.processor.wait_until_processed(bot.pushed)


def replies_to(bot: Bot, person: Person, since: int) -> list[Call]:
    return [
        call
        for call in bot.double.calls[since:]
        if call.method == "sendMessage" and call.params.get("chat_id") == person.telegram_id
    ]


def flood(bot: Bot, person: Person, count: int) -> None:
    """The person sends ``count`` messages at once, as a script or a stuck key would."""
    for i in range(count):
        bot.double.send_text(person.user, f"mesazh {i}")
    bot.pushed += count


async def test_another_persons_help_is_answered_before_a_flood_is_worked_through(
    tmp_path: Path,
) -> None:
    sq, en = CATALOGS.translator("sq"), CATALOGS.translator("en")
    assert sq.gettext(SLOW_DOWN) != SLOW_DOWN
    async with running_bot(tmp_path) as bot:
        await bot.pause_delivery()
        besa = bot.person("Besa", language_code="sq")
        ana = bot.person("Ana", language_code="en")
        await besa.onboard("sq")
        await ana.onboard("en")
        bot.double.latency = LATENCY
        since = len(bot.double.calls)

        flood(bot, besa, FLOOD)
        bot.double.send_text(ana.user, "/help")
        bot.pushed += 1
        await settle_flood(bot)

        help_answer = await bot.double.wait_for(
            sent_to(ana, en.gettext("Here is what you can do:")), start=since
        )
        besas = replies_to(bot, besa, since)
        texts = [str(call.params["text"]) for call in besas]
        notices = [text for text in texts if text == sq.gettext(SLOW_DOWN)]
        assert len(notices) == 1, texts[-3:]
        answered = [text for text in texts if text.startswith(sq.gettext(NOT_UNDERSTOOD))]
        # Every message kept is answered in Albanian; the rest were skipped, as the notice says.
        assert len(answered) + len(notices) == len(texts)
        assert MAX_WAITING_PER_PERSON < len(answered) < FLOOD // 2
        # Ana did not wait for Besa's backlog: her answer came before the notice that ends it.
        notice_at = next(i for i, call in enumerate(besas) if call.params["text"] == notices[0])
        assert help_answer.at < besas[notice_at].at
        answered_before = [call for call in besas if call.at < help_answer.at]
        assert len(answered_before) < MAX_WAITING_PER_PERSON

        # Once the backlog is worked through, a new flood gets its own notice, only one.
        since = len(bot.double.calls)
        flood(bot, besa, 3 * MAX_WAITING_PER_PERSON)
        await settle_flood(bot)
        texts = [str(call.params["text"]) for call in replies_to(bot, besa, since)]
        assert texts.count(sq.gettext(SLOW_DOWN)) == 1
        assert len(texts) < 3 * MAX_WAITING_PER_PERSON


async def test_a_burst_within_the_backlog_is_answered_in_full_without_a_notice(
    tmp_path: Path,
) -> None:
    it = CATALOGS.translator("it")
    async with running_bot(tmp_path) as bot:
        await bot.pause_delivery()
        gino = bot.person("Gino", language_code="it")
        await gino.onboard("it")
        bot.double.latency = LATENCY
        since = len(bot.double.calls)
        # One update running and a full backlog behind it: an album of ten photos fits.
        burst = MAX_WAITING_PER_PERSON + 1
        flood(bot, gino, burst)
        await settle_flood(bot)
        texts = [str(call.params["text"]) for call in replies_to(bot, gino, since)]
        assert len(texts) == burst
        assert all(text.startswith(it.gettext(NOT_UNDERSTOOD)) for text in texts)
        assert it.gettext(SLOW_DOWN) not in texts


async def test_a_flood_of_taps_leaves_no_spinner_and_one_notice_in_the_persons_language(
    tmp_path: Path,
) -> None:
    uk = CATALOGS.translator("uk")
    taps = 4 * MAX_WAITING_PER_PERSON
    async with running_bot(tmp_path) as bot:
        await bot.pause_delivery()
        # Not onboarded: the language comes from Telegram's language_code.
        oksana = bot.person("Oksana", language_code="uk")
        await oksana.send("/start")
        message_id = bot.double.last_message(oksana.telegram_id)["message_id"]
        since = len(bot.double.calls)
        for _ in range(taps):
            bot.double.tap(oksana.user, message_id, "stale:button", strict=False)
        bot.pushed += taps
        await settle_flood(bot)

        assert bot.double.unanswered_callback_queries == []
        answers = [c for c in bot.double.calls[since:] if c.method == "answerCallbackQuery"]
        assert len(answers) == taps
        stale = uk.gettext("This button is no longer valid. Send /help to see what you can do.")
        alerts = [c for c in answers if c.params.get("text") == stale]
        # The taps that were run got their alert; the skipped ones only stop the spinner.
        assert MAX_WAITING_PER_PERSON < len(alerts) < taps
        assert all(c.params.get("text") in (None, stale) for c in answers)
        texts = [str(call.params["text"]) for call in replies_to(bot, oksana, since)]
        assert texts == [uk.gettext(SLOW_DOWN)]

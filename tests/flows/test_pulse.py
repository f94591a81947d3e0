"""The attitude pulse through the Bot API double: a network coordinator writes it in English,
an Arabic and an Italian participant answer when joining and after an event, a Ukrainian one
skips, a forged answer is refused, and the coordinator sees the results."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.events import EventDraft, Scope
from bot.i18n import Catalogs
from bot.roles import Role
from bot.text import visible_units
from handlers.pulse import INVITATION, MESSAGE_LENGTH, messages_of
from tests.conftest import ADMIN_ID
from tests.flows.harness import running_bot, sent_to

CATALOGS = Catalogs()
AR, IT, UK, EN = (CATALOGS.translator(lang) for lang in ("ar", "it", "uk", "en"))
STATEMENTS = [
    {
        "sq": "Fqinjët më përshëndesin.",
        "en": "My neighbours greet me.",
        "it": "I vicini mi salutano.",
        "ar": "جيراني يحيّونني.",
        "uk": "Сусіди вітаються зі мною.",
    },
    {
        "sq": "Ndihem i mirëpritur.",
        "en": "I feel welcome here.",
        "it": "Qui mi sento accolto.",
        "ar": "أشعر بالترحيب هنا.",
        "uk": "Я почуваюся тут бажаним.",
    },
    {
        "sq": "Kam miq nga prejardhje të tjera.",
        "en": "I have friends of other backgrounds.",
        "it": "Ho amici di altre origini.",
        "ar": "لدي أصدقاء من خلفيات أخرى.",
        "uk": "Маю друзів іншого походження.",
    },
]


async def test_the_pulse_from_writing_it_to_its_results(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        services = bot.services
        nora = bot.person("Nora", "en")
        await nora.onboard("en")
        await services.staff.grant(ADMIN_ID, nora.telegram_id, Role.COORDINATOR)
        await nora.send("/pulse add\nsq: only one language")
        assert nora.last_text.startswith(
            "Nothing was added: the statement has no line for en, it, uk, ar."
        )
        await nora.send("/pulse add\nen: " + "x" * 201)
        assert nora.last_text == "Each statement must be 1 to 200 characters (en)."
        for versions in STATEMENTS:
            lines = "\n".join(f"{code}: {text}" for code, text in versions.items())
            await nora.send(f"/pulse add\n{lines}")
        assert "3. I have friends of other backgrounds." in nora.last_text
        await nora.send("/pulse done")
        assert nora.last_text.startswith(EN.gettext("Published. From now on people are asked:"))
        survey_id = await services.db.fetchval("SELECT id FROM pulse_surveys WHERE status = 'live'")

        # Joining: the offer comes after the last onboarding question, in each one's language.
        layla, marco = bot.person("Layla", "ar"), bot.person("Marco", "it")
        olena = bot.person("Olena", "uk")
        await layla.onboard("ar")
        assert layla.last_text == AR.gettext(INVITATION)
        await layla.tap(AR.gettext("Start"))
        assert STATEMENTS[0]["ar"] in layla.last_text
        assert AR.gettext("Statement {number} of {total}").format(number=1, total=3) in (
            layla.last_text
        )
        await layla.tap("2")
        await layla.tap(AR.gettext("Prefer not to say"))
        await layla.tap("1")
        assert layla.last_text == AR.gettext("Thank you! Your answers are saved.")
        await marco.onboard("it")
        await marco.tap(IT.gettext("Start"))
        assert STATEMENTS[0]["it"] in marco.last_text
        for value in ("3", "3", "3"):
            await marco.tap(value)
        assert marco.last_text == IT.gettext("Thank you! Your answers are saved.")
        # Skipping: at the offer, or half-way.
        await olena.onboard("uk")
        await olena.tap(UK.gettext("Not now"))
        assert olena.last_text == UK.gettext("All right. Thank you!")

        # After an event they attended: one offer each, through the outbox, in their language.
        bari = (await services.towns.by_slug("bari")).id
        start = services.clock() + timedelta(hours=1)
        event = await services.events.create(
            nora.telegram_id,
            EventDraft(
                Scope.LOCAL,
                bari,
                "عشاء الجيران",
                "",
                "Piazza",
                "Europe/Rome",
                start,
                start + timedelta(hours=2),
            ),
        )
        for person in (layla, marco):
            await services.events.check_in(
                person.telegram_id, event.id, event.checkin_code, person.first_name
            )
        # Three more people answered both times, so that five make a figure.
        now = services.clock()
        for n, other in enumerate((7001, 7002, 7003)):
            await services.people.give_consent(other, "sq")
            await services.people.set_town(other, bari)
            await services.events.check_in(other, event.id, event.checkin_code, f"P{n}")
            for occasion, score in ((None, 2), (event.id, 4)):
                question = await services.pulse.begin(other, survey_id, occasion, now, "sq")
                while question is not None:
                    question = await services.pulse.answer(
                        other, question.ask_id, question.position, score, now, "sq"
                    )
        services.clock.advance(hours=4, minutes=5)
        thanks_ar = AR.gettext("Thank you for coming to “{title}”!").format(title="عشاء الجيران")
        thanks_it = IT.gettext("Thank you for coming to “{title}”!").format(title="عشاء الجيران")
        await bot.double.wait_for(sent_to(layla.telegram_id, thanks_ar), timeout=10)
        await bot.double.wait_for(sent_to(marco.telegram_id, thanks_it), timeout=10)
        await layla.tap(AR.gettext("Start"))
        for value in ("4", "5", "4"):
            await layla.tap(value)
        assert layla.last_text == AR.gettext("Thank you! Your answers are saved.")
        await marco.tap(IT.gettext("Start"))
        await marco.tap("5")
        await marco.tap(IT.gettext("Stop here"))
        assert marco.last_text == IT.gettext("All right. Thank you!")
        # Olena was not there: nothing for her; nobody is offered it twice.
        await bot.settle()
        offer = f"pls:{survey_id}:{event.id}"
        offered = [
            c.params["chat_id"]
            for c in bot.double.calls_to("sendMessage")
            if offer in str(c.params.get("reply_markup"))
        ]
        assert sorted(offered) == sorted([layla.telegram_id, marco.telegram_id])

        # A forged answer to someone else's questions is refused and changes nothing.
        answers = await services.db.fetchval("SELECT COUNT(*) FROM pulse_answers")
        layla_ask = await services.db.fetchval(
            "SELECT MAX(id) FROM pulse_asks WHERE telegram_id = ?", (layla.telegram_id,)
        )
        message_id = bot.double.last_message(olena.telegram_id)["message_id"]
        await olena.tap_data(message_id, f"pla:{layla_ask}:1:5")
        assert UK.gettext("This question is no longer open. Thank you all the same!") in (
            olena.alerts()
        )
        assert await services.db.fetchval("SELECT COUNT(*) FROM pulse_answers") == answers

        # The results, in English: statement 1 has five people before and after; statement 2
        # only four before (Layla preferred not to say), so it is not shown.
        await nora.send("/pulse")
        text = "\n".join(str(m.get("text")) for m in nora.messages()[-2:])
        assert "1. My neighbours greet me." in text
        before = EN.gettext("{mean} ({people} people, {agree}% agree)").format(
            mean="2.2", people=5, agree=0
        )
        after = EN.gettext("{mean} ({people} people, {agree}% agree)").format(
            mean="4.2", people=5, agree=100
        )
        assert f"{EN.gettext('Everyone')}: {before} → {after} (+2.0)" in text
        assert f"{EN.gettext('Everyone')}: {EN.gettext('not shown')} → " in text
        assert bot.double.calls_to("sendPhoto")[-1].files["photo"].data.startswith(b"\x89PNG")
        # A participant may not see them.
        await marco.send("/pulse")
        assert marco.last_text == IT.gettext(
            "Sorry, that is only for staff with the right role. Nothing was changed."
        )


def test_long_results_are_split_within_telegrams_length() -> None:
    lines = [f"<b>Town {n}</b> 🌍: 3.0 (12 people, 40% agree) → 3.4 (9 people)" for n in range(200)]
    messages = messages_of(lines)
    assert len(messages) > 1
    assert all(visible_units(message) <= MESSAGE_LENGTH for message in messages)
    assert "\n".join(messages) == "\n".join(lines)

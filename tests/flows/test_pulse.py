"""The attitude pulse through the Bot API double: a network coordinator writes it in English,
an Arabic participant answers when joining and after an event, an Italian one skips, and the
coordinator sees the results."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.events import EventDraft, Scope
from bot.i18n import Catalogs
from bot.roles import Role
from handlers.pulse import INVITATION
from tests.conftest import ADMIN_ID
from tests.flows.harness import running_bot, sent_to

CATALOGS = Catalogs()
AR, IT, EN = (CATALOGS.translator(lang) for lang in ("ar", "it", "en"))
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
        assert nora.last_text.startswith("Send /pulse add with the statement in every language")
        for versions in STATEMENTS:
            lines = "\n".join(f"{code}: {text}" for code, text in versions.items())
            await nora.send(f"/pulse add\n{lines}")
        assert "3. I have friends of other backgrounds." in nora.last_text
        await nora.send("/pulse done")
        assert nora.last_text.startswith(EN.gettext("Published. From now on people are asked:"))

        # Joining: the offer comes after the last onboarding question; in Arabic.
        layla, marco = bot.person("Layla", "ar"), bot.person("Marco", "it")
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
        await marco.tap(IT.gettext("Not now"))
        assert marco.last_text == IT.gettext("All right. Thank you!")

        # After an event Layla attended: one offer, through the outbox, in Arabic.
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
        await services.events.check_in(layla.telegram_id, event.id, event.checkin_code, "Layla")
        services.clock.advance(hours=4, minutes=5)
        thanks = AR.gettext("Thank you for coming to “{title}”!").format(title="عشاء الجيران")
        await bot.double.wait_for(sent_to(layla.telegram_id, thanks), timeout=10)
        await layla.tap(AR.gettext("Start"))
        for value in ("4", "5", "4"):
            await layla.tap(value)
        assert layla.last_text == AR.gettext("Thank you! Your answers are saved.")
        # Marco was not there: nothing for him.
        assert not [m for m in marco.messages() if thanks in str(m.get("text"))]

        # A forged answer to someone else's questions is refused and changes nothing.
        answers = await services.db.fetchval("SELECT COUNT(*) FROM pulse_answers")
        message_id = bot.double.last_message(marco.telegram_id)["message_id"]
        await marco.tap_data(message_id, "pla:1:1:5")
        assert IT.gettext("This question is no longer open. Thank you all the same!") in (
            marco.alerts()
        )
        assert await services.db.fetchval("SELECT COUNT(*) FROM pulse_answers") == answers

        # The results: one person is too few to show anything but the questions.
        await nora.send("/pulse")
        text = "\n".join(str(m.get("text")) for m in nora.messages()[-2:])
        assert "1. My neighbours greet me." in text
        assert EN.gettext("Everyone") + ": " + EN.gettext("not shown") in text
        assert bot.double.calls_to("sendPhoto")[-1].files["photo"].data.startswith(b"\x89PNG")
        # A participant may not see them.
        await marco.send("/pulse")
        assert marco.last_text == IT.gettext(
            "Sorry, that is only for staff with the right role. Nothing was changed."
        )

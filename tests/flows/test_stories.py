"""Stories through the Bot API double: submit → moderators told → approve and reject with a
reason → author told → /stories → public channel, with an author in Ukrainian and in English."""

from __future__ import annotations

from pathlib import Path

from bot.i18n import Catalogs, Translator
from tests.conftest import ADMIN_ID
from tests.flows.harness import Person, running_bot
from tests.flows.harness import sent_to as sent

CATALOGS = Catalogs()
EN = CATALOGS.translator("en")
UK = CATALOGS.translator("uk")
CHANNEL = -1001234567890


async def write_story(person: Person, tr: Translator, text: str, anonymous: bool) -> None:
    await person.send("/story")
    await person.tap("Fighting ethnic stigma")
    await person.send(text)
    await person.tap(tr.gettext("Anonymous") if anonymous else tr.gettext("With my first name"))


async def test_a_story_from_submission_to_the_channel(tmp_path: Path) -> None:
    async with running_bot(tmp_path, public_channel=CHANNEL) as bot:
        services = bot.services
        moderator = bot.person("Mira", "en")
        await moderator.onboard("en")
        await services.staff.grant(ADMIN_ID, moderator.telegram_id, "moderator")
        olena = bot.person("Olena", "uk")
        await olena.onboard("uk")

        story = "Сусіди <b>допомогли</b> мені & моїй доньці знайти школу. Дякую!"
        await write_story(olena, UK, story, anonymous=False)
        preview = olena.last_text
        assert UK.gettext("This is how it will be published, if a moderator approves it:") in (
            preview
        )
        assert story in preview and "— Olena" in preview  # shown exactly as written
        await olena.tap(UK.gettext("Send"))
        assert olena.last_text == UK.gettext(
            "Thank you! Your story is with the moderators. I will tell you when they have read it."
        )
        await bot.double.wait_for(
            sent(moderator.telegram_id, EN.gettext("📝 A new story is waiting for review: /queue")),
            timeout=10,
        )

        await moderator.send("/queue")
        assert (
            EN.ngettext("{count} story waiting.", "{count} stories waiting.", 1).format(count=1)
            in moderator.last_text
        )
        assert story in moderator.last_text
        await moderator.tap(EN.gettext("Approve"))
        assert moderator.last_text.startswith(EN.gettext("Approved."))
        assert EN.gettext("The queue is empty. Thank you!") in moderator.last_text

        await bot.double.wait_for(sent(olena.telegram_id, "/stories"), timeout=10)
        channel_post = await bot.double.wait_for(sent(CHANNEL, "допомогли"), timeout=10)
        assert "Olena" in str(channel_post.params["text"])

        await olena.send("/stories")
        await olena.tap(services.config.chapters[0].titles["en"])  # no Ukrainian title: English
        assert story in olena.last_text

        # An anonymous one in English, rejected with a reason: the author learns why.
        ben = bot.person("Ben", "en")
        await ben.onboard("en")
        await write_story(
            ben, EN, "A story that should not be here, with my phone 555-1234.", anonymous=True
        )
        assert "Ben" not in ben.last_text and EN.gettext("anonymous") in ben.last_text
        await ben.tap(EN.gettext("Send"))
        await moderator.send("/queue")
        await moderator.tap(EN.gettext("Reject…"))
        await moderator.tap(EN.gettext("Contains personal data"))
        told = await bot.double.wait_for(
            sent(ben.telegram_id, EN.gettext("Contains personal data")), timeout=10
        )
        assert "/story" in str(told.params["text"])
        log = await services.db.fetchall(
            "SELECT moderator_id, action, reason FROM moderation_log ORDER BY id"
        )
        assert [tuple(r) for r in log] == [
            (moderator.telegram_id, "approve", None),
            (moderator.telegram_id, "reject", "personal_data"),
        ]

        # Coordinators get the moderation log as CSV; a participant does not.
        await services.staff.grant(ADMIN_ID, 700, "coordinator")
        coordinator = bot.person("Cora", "en", telegram_id=700)
        await coordinator.onboard("en")
        await coordinator.send("/export")
        files = bot.double.calls_to("sendMediaGroup")[-1].files.values()
        csv_file = next(f for f in files if f.filename == "bashke-moderation-log.csv").data.decode()
        assert csv_file.splitlines()[0] == "at,moderator_id,story_id,action,reason"
        assert csv_file.count("\n") == 3 and "personal_data" in csv_file
        assert "555-1234" not in csv_file
        await ben.send("/export")
        assert ben.last_text == EN.gettext(
            "Sorry, that is only for staff with the right role. Nothing was changed."
        )

"""Announcements, figures and exports through the Bot API double, in English and Albanian."""

from __future__ import annotations

from datetime import timedelta
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.i18n import Catalogs
from bot.roles import Role
from tests.conftest import ADMIN_ID
from tests.flows.harness import running_bot, sent_to

CATALOGS = Catalogs()
EN = CATALOGS.translator("en")
SQ = CATALOGS.translator("sq")
IT = CATALOGS.translator("it")
ENGLISH = "The spring gathering is on Saturday! Bring <3 & friends"
ALBANIAN = "Takimi i pranverës është të shtunën! Sillni <3 & miq"


async def test_compose_in_two_languages_schedule_and_deliver(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        services = bot.services
        coordinator = bot.person("Nora", "en")
        await coordinator.onboard("en")
        await services.staff.grant(ADMIN_ID, coordinator.telegram_id, Role.COORDINATOR)
        people = [
            bot.person(f"P{i}", language) for i, language in enumerate(("sq", "sq", "it", "en"))
        ]
        for person in people:
            await person.onboard(person.language_code or "en")

        await coordinator.send("/broadcast")
        await coordinator.send(ENGLISH)
        # The preview is the message itself, exactly as people will get it.
        assert ENGLISH in [m.get("text") for m in coordinator.messages()]
        await coordinator.tap(EN.gettext("Add a version in {language}").format(language="Shqip"))
        await coordinator.send(ALBANIAN)
        await coordinator.tap(EN.gettext("Continue"))
        await coordinator.tap(EN.gettext("Everyone"))
        # Everyone who agreed: the four participants and the coordinator.
        assert coordinator.last_text == EN.ngettext(
            "It will reach {count} person. Send it?", "It will reach {count} people. Send it?", 5
        ).format(count=5)
        await coordinator.tap(EN.gettext("Send later"))
        await coordinator.send("tomorrow")
        assert coordinator.last_text == EN.gettext(
            "Please write the date and time like this: {example}"
        ).format(example="2026-12-05 18:30")
        when = services.clock() + timedelta(days=1)
        local = when.astimezone(ZoneInfo("Europe/Tirane"))
        await coordinator.send(local.strftime("%Y-%m-%d %H:%M"))
        assert "/broadcasts" in coordinator.last_text

        await coordinator.send("/broadcasts")
        assert EN.gettext(
            "#{id} “{preview}”: {queued} queued, {sent} sent, {failed} failed, {blocked} blocked"
        ).format(id=1, preview=ENGLISH[:39] + "…", queued=5, sent=0, failed=0, blocked=0) in (
            coordinator.last_text
        )
        assert not any(
            sent_to(p.telegram_id, "gathering")(c) or sent_to(p.telegram_id, "pranverës")(c)
            for p in people
            for c in bot.double.calls
        )

        services.clock.advance(days=1, minutes=1)
        services.outbox.wake.set()
        for person in people:
            expected = ALBANIAN if person.language_code == "sq" else ENGLISH
            await bot.double.wait_for(sent_to(person.telegram_id, escape(expected)), timeout=10)
        await bot.double.wait_for(sent_to(coordinator.telegram_id, escape(ENGLISH)), timeout=10)
        for person in people:  # each got exactly one version
            got = [
                c
                for c in bot.double.calls
                if c.method == "sendMessage"
                and c.params.get("chat_id") == person.telegram_id
                and ("gathering" in str(c.params["text"]) or "pranverës" in str(c.params["text"]))
            ]
            assert len(got) == 1
        await coordinator.send("/broadcasts")
        assert "5 sent" in coordinator.last_text.replace("\u200f", "")


async def test_out_of_scope_and_forged_broadcasts_are_refused(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        services = bot.services
        refusal = SQ.gettext(
            "Sorry, that is only for staff with the right role. Nothing was changed."
        )
        drita = bot.person("Drita", "sq")
        await drita.onboard("sq")
        await drita.send("/broadcast")
        assert drita.last_text == refusal
        await drita.send("/broadcasts")
        assert drita.last_text == refusal
        await drita.send("/stats")
        assert drita.last_text == refusal
        await drita.send("/export")
        assert drita.last_text == refusal
        message_id = bot.double.last_message(drita.telegram_id)["message_id"]
        for data in ("bccancel:1", "bcsend:now", "bcaud:everyone"):
            await drita.tap_data(message_id, data)
        # A town coordinator is offered no "everyone" and no staff role.
        await services.staff.grant(ADMIN_ID, drita.telegram_id, Role.COORDINATOR, "bari")
        await drita.send("/broadcast")
        await drita.send("Përshëndetje Bari!")
        await drita.tap(SQ.gettext("Continue"))
        assert SQ.gettext("Everyone") not in drita.buttons()
        assert SQ.gettext("A staff role") not in drita.buttons()
        await drita.tap_data(
            bot.double.last_message(drita.telegram_id)["message_id"], "bcaud:everyone"
        )
        assert refusal in drita.alerts()
        await drita.tap(SQ.gettext("A town"))
        assert drita.buttons() == ["Bari"]
        shkoder = (await services.towns.by_slug("shkoder")).id
        await drita.tap_data(
            bot.double.last_message(drita.telegram_id)["message_id"], f"bcval:{shkoder}"
        )
        await drita.send("/cancel")
        assert await services.db.fetchval("SELECT COUNT(*) FROM broadcasts") == 0
        assert await services.db.fetchval("SELECT COUNT(*) FROM outbox") == 0


async def test_stats_and_export_for_a_coordinator(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        services = bot.services
        giulia = bot.person("Giulia", "it")
        await giulia.onboard("it")
        await services.staff.grant(ADMIN_ID, giulia.telegram_id, Role.COORDINATOR)
        for i in range(3):
            await bot.person(f"P{i}", "sq").onboard("sq")
        await giulia.send("/stats")
        texts = [m.get("text") or m.get("caption") for m in giulia.messages()]
        assert any(
            IT.ngettext("{count} participant", "{count} participants", 4).format(count=4)
            in (t or "")
            for t in texts
        )
        photo = bot.double.calls_to("sendPhoto")[-1]
        assert photo.files["photo"].data.startswith(b"\x89PNG")
        await giulia.send("/export")
        group = bot.double.calls_to("sendMediaGroup")[-1]
        names = sorted(f.filename for f in group.files.values())
        assert names == [
            "bashke-attendance-by-event.csv",
            "bashke-events-held.csv",
            "bashke-moderation-log.csv",
            "bashke-participants-by-town.csv",
        ]
        participants = next(
            f for f in group.files.values() if f.filename == "bashke-participants-by-town.csv"
        ).data.decode()
        assert "Bari,0,0,4,0,4" in participants

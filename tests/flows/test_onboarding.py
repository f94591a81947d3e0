"""Onboarding and the person's rights, through the Bot API double, in every language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.i18n import LANGUAGE_NAMES, LANGUAGES, Catalogs
from bot.people import SelfDescription
from handlers.onboarding import privacy_notice
from tests.flows.harness import running_bot, seen

CATALOGS = Catalogs()


@pytest.mark.parametrize("language", LANGUAGES)
async def test_onboarding_in_every_language(tmp_path: Path, language: str) -> None:
    tr = CATALOGS.translator(language)
    async with running_bot(tmp_path) as bot:
        ana = bot.person("Ana", language_code=language)
        await ana.send("/start")
        # Telegram said which language the phone uses: the first words are already in it.
        assert tr.gettext("Welcome to Bashkë! Choose your language:") in ana.last_text
        assert ana.buttons() == list(LANGUAGE_NAMES.values())

        await ana.tap(LANGUAGE_NAMES[language])
        assert seen(privacy_notice(tr)) in ana.last_text
        assert "/deleteme" in ana.last_text
        assert ana.buttons() == [tr.gettext("I agree"), tr.gettext("No, thank you")]
        assert await bot.services.people.get(ana.telegram_id) is None  # nothing before consent

        await ana.tap(tr.gettext("I agree"))
        assert tr.gettext("Which partner town are you part of?") in ana.last_text
        assert ana.buttons() == ["Bari", "Shkodër", tr.gettext("Another town / none of these")]

        await ana.tap("Shkodër")
        assert tr.gettext("Your partner town: {town}.").format(town="Shkodër") in ana.last_text
        await ana.tap(tr.gettext("Newcomer or migrant"))
        assert tr.gettext("All set!") in ana.last_text
        assert "/mydata" in ana.last_text and "/grant" not in ana.last_text

        person = await bot.services.people.get(ana.telegram_id)
        assert person is not None
        assert person.language == language
        assert person.self_description is SelfDescription.NEWCOMER
        assert person.town_id == (await bot.services.towns.by_slug("shkoder")).id
        # The whole onboarding happened in one message, edited step by step.
        assert len(ana.messages()) == 1


async def test_the_command_menu_is_set_per_language(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        menus = {
            call.params.get("language_code"): call.params["commands"]
            for call in bot.double.calls
            if call.method == "setMyCommands"
            and call.params.get("scope", {"type": "default"})["type"] == "default"
        }
        assert set(menus) == {None, *LANGUAGES}
        for language in LANGUAGES:
            tr = CATALOGS.translator(language)
            commands = {c["command"]: c["description"] for c in menus[language]}
            assert commands["language"] == tr.gettext("Change your language")
            assert "grant" not in commands


async def test_an_unknown_telegram_language_gets_the_default(tmp_path: Path) -> None:
    async with running_bot(tmp_path, default_language="sq") as bot:
        jean = bot.person("Jean", language_code="fr")
        await jean.send("/start")
        assert CATALOGS.translator("sq").gettext("Welcome to Bashkë! Choose your language:") in (
            jean.last_text
        )


async def test_declining_stores_nothing_and_one_can_start_again(tmp_path: Path) -> None:
    tr = CATALOGS.translator("it")
    async with running_bot(tmp_path) as bot:
        marco = bot.person("Marco", language_code="it")
        await marco.send("/start")
        await marco.tap("Italiano")
        await marco.tap(tr.gettext("No, thank you"))
        assert (
            tr.gettext(
                "No problem: nothing about you has been stored. "
                "If you change your mind, just send /start."
            )
            == marco.last_text
        )
        assert await bot.services.db.fetchval("SELECT COUNT(*) FROM people") == 0
        await marco.send("/start")
        await marco.tap("Italiano")
        await marco.tap(tr.gettext("I agree"))
        assert await bot.services.people.get(marco.telegram_id) is not None


async def test_a_different_language_than_the_phones(tmp_path: Path) -> None:
    uk = CATALOGS.translator("uk")
    async with running_bot(tmp_path) as bot:
        olena = bot.person("Olena", language_code="en")
        await olena.send("/start")
        await olena.tap("Українська")
        assert uk.gettext("Do you agree?") in olena.last_text
        await olena.tap(uk.gettext("I agree"))
        await olena.tap(uk.gettext("Another town / none of these"))
        assert uk.gettext("Noted: no partner town.") in olena.last_text
        person = await bot.services.people.get(olena.telegram_id)
        assert person is not None and person.other_town and person.language == "uk"


async def test_language_town_and_help_later(tmp_path: Path) -> None:
    sq = CATALOGS.translator("sq")
    async with running_bot(tmp_path) as bot:
        ana = bot.person("Ana", language_code="en")
        await ana.onboard()
        await ana.send("/language")
        await ana.tap("Shqip")
        assert (
            sq.gettext("I will speak {language} with you from now on.").format(language="Shqip")
            == ana.last_text
        )
        await ana.send("/help")
        assert ana.last_text.startswith(sq.gettext("Here is what you can do:"))
        await ana.send("/town")
        await ana.tap("Shkodër")
        # The self-description was answered at onboarding: it is not asked again.
        assert ana.last_text == sq.gettext("Your partner town: {town}.").format(town="Shkodër")
        await ana.send("/privacy")
        assert seen(privacy_notice(sq)) in ana.last_text
        await ana.send("/start")
        assert sq.gettext("Welcome back!") in ana.last_text


async def test_mydata_sends_everything_and_deleteme_erases_it(tmp_path: Path) -> None:
    ar = CATALOGS.translator("ar")
    async with running_bot(tmp_path) as bot:
        sara = bot.person("Sara", language_code="ar")
        await sara.onboard("ar")
        await sara.send("/mydata")
        sent = [c for c in bot.double.calls if c.method == "sendDocument"]
        assert len(sent) == 1
        document = json.loads(sent[0].files["document"].data)
        assert document["telegram_id"] == sara.telegram_id
        assert document["profile"]["language"] == "ar"
        assert document["profile"]["town"] == "Bari"
        assert document["profile"]["self_description"] == "unsaid"
        assert sent[0].params["caption"] == ar.gettext("Everything Bashkë stores about you.")

        await sara.send("/deleteme")
        assert ar.gettext("No, keep it") in sara.buttons()
        await sara.tap(ar.gettext("No, keep it"))
        assert await bot.services.people.get(sara.telegram_id) is not None
        await sara.send("/deleteme")
        await sara.tap(ar.gettext("Yes, erase my data"))
        assert sara.last_text == ar.gettext(
            "Done: everything stored about you has been erased. "
            "If you ever want to come back, send /start."
        )
        assert await bot.services.people.get(sara.telegram_id) is None
        assert (
            await bot.services.db.fetchval(
                "SELECT COUNT(*) FROM people WHERE telegram_id = ?", (sara.telegram_id,)
            )
            == 0
        )
        await sara.send("/mydata")
        assert sara.last_text == ar.gettext("I store nothing about you.")

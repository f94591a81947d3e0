"""Votes through the Bot API double: open a round → vote, change a vote → reminder to
non-voters → close → results and chart → /manual, with voters in Arabic and Italian."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from pypdf import PdfReader

from bot.i18n import Catalogs
from bot.roles import Role
from tests.conftest import ADMIN_ID
from tests.flows.harness import running_bot
from tests.flows.harness import sent_to as to

CATALOGS = Catalogs()
AR = CATALOGS.translator("ar")
IT = CATALOGS.translator("it")
EN = CATALOGS.translator("en")


async def test_a_vote_from_opening_to_the_manual(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        services = bot.services
        nora = bot.person("Nora", "en")
        await nora.onboard("en")
        await services.staff.grant(ADMIN_ID, nora.telegram_id, Role.COORDINATOR)
        await nora.send(
            "/addproposal 1 Shared meals | Every month, a dinner where each family "
            "brings a dish from home."
        )
        assert nora.last_text.startswith(EN.gettext("The proposal is added."))
        await nora.send("/addproposal 9 Nope | Out of range")
        assert nora.last_text.startswith("Usage: /addproposal")
        await nora.send("/chapter add welcome Welcoming newcomers")
        assert "2. Welcoming newcomers" in nora.last_text
        await nora.send("/chapter title 2 it Accogliere chi arriva")
        await nora.send("/chapter title 9 it Nope")
        assert nora.last_text.startswith("Usage: /chapter")
        await nora.send("/newround 48 Spring vote")
        assert "?start=vote_1" in nora.last_text

        layla, marco, sara = (
            bot.person("Layla", "ar"),
            bot.person("Marco", "it"),
            bot.person("Sara", "it"),
        )
        for person in (layla, marco, sara):
            await person.onboard(person.language_code or "en")
        await layla.send("/start vote_1")
        assert "Shared meals" in layla.last_text
        await layla.tap(AR.gettext("👍 Support"))
        assert layla.last_text.startswith(
            AR.gettext("Your vote is saved. You can change it until the vote closes.")
        )
        await layla.tap(AR.gettext("👎 Oppose"))
        await layla.tap(AR.gettext("👍 Support"))
        assert "✓ " + AR.gettext("👍 Support") in layla.buttons()
        await marco.send("/vote")
        await marco.tap("Spring vote")
        await marco.tap(IT.gettext("👍 Support"))
        # Results stay hidden while the vote is open.
        await marco.send("/results")
        assert marco.last_text == IT.gettext("No vote has closed yet.")

        # A day before the close, those who have not voted are reminded once.
        services.clock.advance(hours=25)
        await bot.double.wait_for(to(sara.telegram_id, "/vote"), timeout=10)
        assert not [
            c
            for c in bot.double.calls
            if to(layla.telegram_id, "/vote")(c) and "🗳" in str(c.params.get("text"))
        ]

        # At the close: results to the voters, in their language.
        services.clock.advance(hours=24)
        await bot.double.wait_for(to(layla.telegram_id, "Shared meals"), timeout=10)
        await bot.double.wait_for(to(marco.telegram_id, "Shared meals"), timeout=10)
        message_id = bot.double.last_message(layla.telegram_id)["message_id"]
        await layla.send("/start vote_1")
        await layla.tap_data(message_id, "vt:1:1:oppose")  # a late, stale tap
        assert (
            AR.gettext("This vote is closed; your choice was not recorded. See /results.")
            in layla.alerts()
        )

        await marco.send("/results")
        await marco.tap("Spring vote")
        assert IT.gettext(
            "{support} support, {oppose} oppose, {abstain} abstain — {share} support"
        ).format(support=2, oppose=0, abstain=0, share="100%") in "\n".join(
            str(m.get("text")) for m in marco.messages()
        )
        assert bot.double.calls_to("sendPhoto")[-1].files["photo"].data.startswith(b"\x89PNG")

        await nora.send("/stats")
        stats = "\n".join(str(m.get("text")) for m in nora.messages())
        assert EN.gettext("Votes per round:") in stats and "• Spring vote: 2" in stats
        await marco.send("/manual")
        documents = bot.double.calls_to("sendDocument")[-3:]
        names = [next(iter(c.files.values())).filename for c in documents]
        assert names == ["bashke-manual-it.md", "bashke-manual-it.html", "bashke-manual-it.pdf"]
        pdf = PdfReader(io.BytesIO(next(iter(documents[2].files.values())).data))
        text = " ".join(" ".join(page.extract_text() for page in pdf.pages).split())
        assert "Shared meals" in text and "Accogliere chi arriva" in text
        assert IT.gettext("Manual on fighting ethnic stigma and racism") in text
        assert IT.gettext("Nothing adopted in this chapter yet.") in text
        # In Arabic, the same manual is set right to left.
        await layla.send("/manual")
        arabic = bot.double.calls_to("sendDocument")[-1]
        assert next(iter(arabic.files.values())).filename == "bashke-manual-ar.pdf"
        data = next(iter(arabic.files.values())).data
        arabic_text = " ".join(PdfReader(io.BytesIO(data)).pages[0].extract_text().split())
        # (pypdf puts a right-to-left line's final full stop first, where it is seen: left)
        assert AR.gettext("Nothing adopted in this chapter yet.").rstrip(".") in arabic_text
        html = next(iter(documents[1].files.values())).data.decode()
        assert "<h3>Shared meals</h3>" in html and 'lang="it"' in html
        assert "Accogliere chi arriva" in html  # the chapter added at run time, in Italian
        markdown = next(iter(documents[0].files.values())).data.decode()
        assert "### Shared meals" in markdown
        assert IT.gettext("Support: {share}%, {votes} votes.").format(
            share=100, votes=2
        ) in markdown.replace("\\", "")


async def test_forged_vote_taps_are_refused(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        services = bot.services
        await services.staff.grant(ADMIN_ID, 701, "coordinator")
        chapter = int(await services.db.fetchval("SELECT id FROM chapters LIMIT 1"))
        first = await services.votes.add_proposal(701, chapter, "One", "Text one")
        other = await services.votes.add_proposal(701, chapter, "Other", "Text other")
        voting_round = await services.votes.open_round(
            701, "Vote", [first], services.clock() + timedelta(days=1)
        )
        eve = bot.person("Eve", "en")
        await eve.onboard("en")
        message_id = bot.double.last_message(eve.telegram_id)["message_id"]
        for data in (
            f"vt:{voting_round.id}:{other}:support",
            f"vt:{voting_round.id}:{first}:max",
            f"vt:999:{first}:support",
            "vt:1:1",
            "vt:a:b:c",
            f"res:{voting_round.id}",
            "rd:1:-5",
        ):
            await eve.tap_data(message_id, data)
        assert await services.db.fetchval("SELECT COUNT(*) FROM ballots") == 0
        alerts = eve.alerts()
        assert EN.gettext("That proposal is not part of this vote.") in alerts
        assert EN.gettext("The results stay hidden until the vote closes.") in alerts
        stranger = bot.person("Stranger", "en")
        await stranger.send(f"/start vote_{voting_round.id}")  # not registered: onboarding first
        assert await services.db.fetchval("SELECT COUNT(*) FROM ballots") == 0


async def test_a_participants_proposal_goes_through_moderation_into_a_vote(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        services = bot.services
        nora = bot.person("Nora", "en")
        await nora.onboard("en")
        await services.staff.grant(ADMIN_ID, nora.telegram_id, Role.COORDINATOR)
        await services.staff.grant(ADMIN_ID, nora.telegram_id, Role.MODERATOR)
        marco = bot.person("Marco", "it")
        await marco.onboard("it")
        await marco.send("/propose")
        assert marco.last_text == IT.gettext(
            "Proposals are not being collected right now. You can share an experience with "
            "/story, and vote with /vote."
        )
        await nora.send("/proposals open")
        assert nora.last_text == EN.gettext("Participants can now propose with /propose.")

        await marco.send("/propose")
        await marco.tap("Fighting ethnic stigma")
        await marco.send("Tandem linguistici")
        await marco.send("Coppie di vicini che si insegnano a vicenda la propria lingua.")
        assert "Tandem linguistici" in marco.last_text
        await marco.tap(IT.gettext("Send"))
        await bot.double.wait_for(
            to(nora.telegram_id, EN.gettext("📝 A new proposal is waiting for review: /queue")),
            timeout=10,
        )
        await nora.send("/queue")
        assert "Tandem linguistici" in nora.last_text
        await nora.tap(EN.gettext("Approve"))
        await bot.double.wait_for(to(marco.telegram_id, "/"), timeout=10)

        await nora.send("/newround 24 Autumn vote")
        voting_round = (await services.votes.rounds(closed=False))[0]
        assert [p.title for p in voting_round.proposals] == ["Tandem linguistici"]
        # Proposals never show up among the stories.
        await marco.send("/stories")
        await marco.tap("Fighting ethnic stigma")
        assert "Tandem" not in marco.last_text


async def test_coming_back_after_deleteme_does_not_give_a_second_vote(tmp_path: Path) -> None:
    """Vote, /deleteme, /start, vote again: the old vote stays the only one, and the person is
    told why in their language."""
    async with running_bot(tmp_path) as bot:
        services = bot.services
        await services.staff.grant(ADMIN_ID, 701, "coordinator")
        chapter = int(await services.db.fetchval("SELECT id FROM chapters LIMIT 1"))
        meals = await services.votes.add_proposal(701, chapter, "Shared meals", "Every month")
        voting_round = await services.votes.open_round(
            701, "Spring vote", [meals], services.clock() + timedelta(days=1)
        )
        layla = bot.person("Layla", "ar")
        await layla.onboard("ar")
        await layla.send(f"/start vote_{voting_round.id}")
        await layla.tap(AR.gettext("👍 Support"))
        await layla.send("/deleteme")
        await layla.tap(AR.gettext("Yes, erase my data"))
        await layla.onboard("ar")
        await layla.send(f"/start vote_{voting_round.id}")
        assert "✓ " + AR.gettext("👍 Support") not in layla.buttons()
        await layla.tap(AR.gettext("👎 Oppose"))
        assert (
            AR.gettext(
                "You voted on this proposal before you erased your data. That vote still"
                " counts, and nobody can change it any more, not even you."
            )
            in layla.alerts()
        )
        counts = await services.db.fetchall(
            "SELECT choice, n FROM ballot_counts WHERE n > 0 AND round_id = ?",
            (voting_round.id,),
        )
        assert [tuple(c) for c in counts] == [("support", 1)]

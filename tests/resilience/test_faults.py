"""Every handler survives Telegram refusing or timing out its call: 429, 403, 5xx, time-outs.

Each main interaction runs while the Bot API double spoils the bot's next call about that
person: a 429 with ``retry_after``, a 403 "bot was blocked", a 500, a 502 that refuses the
bot's apology too, or a time-out (Telegram does what it was asked, but answers after the bot
stopped waiting). Afterwards the bot must still be alive and honest:

- the update did not get stuck (the harness settles), and the error handler logged what
  python-telegram-bot made of the refusal without failing itself;
- the person was told, in their language, unless that call was refused as well;
- what the interaction writes is there whole or not at all, and what the person sees next
  agrees with it;
- the same person's next try, and then another person's turn, get the usual answer: nobody's
  lane of updates is wedged;
- the double saw no call that Telegram would refuse.

One bot per kind of fault serves every interaction, each with new people, so the suite stays
fast; the bot meeting time-outs waits ``READ_TIMEOUT`` for an answer instead of
python-telegram-bot's 5 s.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot import charts
from bot import events as ev
from bot import stories as st
from bot.events import EventDraft, Scope
from bot.i18n import LANGUAGE_NAMES, Catalogs, Translator
from bot.roles import Role
from bot.votes import Choice
from handlers.onboarding import help_text
from tests.botapi import BotApiDouble, Call
from tests.conftest import ADMIN_ID
from tests.flows.harness import Bot, Person, running_bot, seen, sent_to
from tests.resilience import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

CATALOGS = Catalogs()
READ_TIMEOUT = 0.5  # seconds the bot meeting time-outs waits for an answer
LATE = READ_TIMEOUT + 0.1  # seconds after which the double answers its spoilt call
APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."
CHANNEL = -1001234567890
CHAPTER = "Fighting ethnic stigma"  # its title in English, shown where a language has none
STORY = "Our neighbours helped us find a school for the children when we arrived in Bari."
ANNOUNCEMENT = "The spring gathering is on Saturday: bring friends & family!"


@dataclass(frozen=True)
class Fault:
    name: str
    status: int | None  # None: no error, only an answer later than the bot waits
    raised: type[TelegramError]  # what python-telegram-bot raises in the handler
    count: int = 1  # the person's calls it spoils in a row; 2 spoils the apology too

    def inject(self, double: BotApiDouble, chat_id: int) -> None:
        """Spoil the bot's next call(s) about this chat: to it, or answering a tap in it."""
        if self.status is None:
            double.delay_next("*", LATE, count=self.count, chat_id=chat_id)
        else:
            retry_after = 3 if self.status == 429 else None
            double.fail_next(
                "*", status=self.status, retry_after=retry_after, count=self.count, chat_id=chat_id
            )


FAULTS = (
    Fault("429", 429, RetryAfter),
    Fault("403", 403, Forbidden),
    Fault("500", 500, NetworkError),
    Fault("502-apology-too", 502, NetworkError, count=2),
    Fault("time-out", None, TimedOut),
)


@dataclass(frozen=True)
class World:
    """One running bot and what the interactions need: towns, an event, a closed vote with
    results, an open vote, a moderator told of every story, a public channel."""

    bot: Bot
    fault: Fault
    bari: int
    event_id: int
    open_round: int
    proposal: int  # the open round's

    async def sign_up(self, person: Person) -> None:
        await sign_up(self.bot, self.bari, person)


async def sign_up(bot: Bot, bari: int, person: Person) -> None:
    """Consent, town and self-description, as onboarding leaves them."""
    people = bot.services.people
    await people.give_consent(person.telegram_id, person.language_code or "en")
    await people.set_town(person.telegram_id, bari)
    await people.set_self_description(person.telegram_id, "resident")


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=FAULTS, ids=lambda f: f.name)
async def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    fault: Fault = request.param
    folder: Path = tmp_path_factory.mktemp(fault.name)
    read_timeout = READ_TIMEOUT if fault.status is None else None
    async with running_bot(folder, read_timeout=read_timeout, public_channel=CHANNEL) as bot:
        services = bot.services
        bari = next(t.id for t in await services.towns.list_towns() if t.name == "Bari")
        chapter = int(await services.db.fetchval("SELECT id FROM chapters ORDER BY position"))

        mira = bot.person("Mira")  # told of every story sent; never acts
        await sign_up(bot, bari, mira)
        await services.staff.grant(ADMIN_ID, mira.telegram_id, Role.MODERATOR)

        # "Spring vote", closed with two voters: /results has something to show.
        meals = await services.votes.add_proposal(ADMIN_ID, chapter, "Shared meals", "Monthly.")
        spring = await services.votes.open_round(
            ADMIN_ID, "Spring vote", [meals], services.clock() + timedelta(hours=1)
        )
        for name in ("Vera", "Luan"):
            voter = bot.person(name)
            await sign_up(bot, bari, voter)
            await services.votes.vote(voter.telegram_id, spring.id, meals, Choice.SUPPORT)
        services.clock.advance(hours=2)
        await services.votes.close_due()
        services.outbox.wake.set()

        async def results_told() -> bool:
            pending = await services.db.fetchval(
                "SELECT COUNT(*) FROM outbox WHERE status = 'pending'"
            )
            return bool(pending == 0)

        await eventually(results_told, 10)

        # "Autumn vote", open for ten days: /vote has something to tap.
        tandems = await services.votes.add_proposal(
            ADMIN_ID, chapter, "Language tandems", "Neighbours teach each other."
        )
        autumn = await services.votes.open_round(
            ADMIN_ID, "Autumn vote", [tandems], services.clock() + timedelta(days=10)
        )
        starts = services.clock() + timedelta(days=5)
        picnic = await services.events.create(
            ADMIN_ID,
            EventDraft(
                scope=Scope.INTERNATIONAL,
                town_id=None,
                title="Picnic",
                description="",
                place="Parco 2 Giugno",
                timezone="Europe/Rome",
                starts_at=starts,
                ends_at=starts + timedelta(hours=3),
                capacity=100,
                reminder_minutes=(1440, 120),
            ),
        )
        # matplotlib's first import stalls the event loop for a second: not during a case.
        charts.grouped_bars("warm-up", ["a"], [("b", [50.0])])
        yield World(bot, fault, bari, picnic.id, autumn.id, tandems)


@dataclass
class Turn:
    """One person's go at an interaction, and where in the double's record it began."""

    world: World
    person: Person
    tr: Translator
    start: int = 0
    author: Person | None = None  # of the story a moderator decides on
    story_id: int = 0
    subject: str = ""  # what an interaction changed, as the audit log names it

    @property
    def bot(self) -> Bot:
        return self.world.bot

    def since_start(self) -> list[Call]:
        return self.bot.double.calls[self.start :]

    def answers(self) -> list[str]:
        """What the person was shown since the turn began: messages sent and edited."""
        return [
            seen(str(call.params.get("text", "")))
            for call in self.since_start()
            if call.ok
            and call.method in ("sendMessage", "editMessageText")
            and call.params.get("chat_id") == self.person.telegram_id
        ]

    def alerts(self) -> list[str]:
        """Alerts shown on the person's taps since the turn began (one person acts at once)."""
        return [
            str(call.params.get("text"))
            for call in self.since_start()
            if call.ok and call.method == "answerCallbackQuery" and call.params.get("text")
        ]

    def uploads(self, method: str) -> list[Call]:
        return [
            call
            for call in self.since_start()
            if call.ok
            and call.method == method
            and call.params.get("chat_id") == self.person.telegram_id
        ]

    async def row(self, sql: str, *params: object) -> tuple[object, ...] | None:
        found = await self.bot.services.db.fetchone(sql, params)
        return None if found is None else tuple(found)


# The interactions -------------------------------------------------------------------------


class Interaction:
    """One thing a person does: ``act`` is the update the fault meets; ``answered`` checks
    the usual answer; ``whole`` checks, after a spoilt answer, that what the interaction
    writes is all there or not at all."""

    name = ""
    language = "en"

    async def prepare(self, turn: Turn) -> None:
        await turn.world.sign_up(turn.person)

    async def act(self, turn: Turn) -> None:
        raise NotImplementedError

    async def whole(self, turn: Turn) -> None:
        """Read-only interactions write nothing."""

    async def retry(self, turn: Turn) -> None:
        """What the person does after the apology: the same again."""
        await self.act(turn)

    async def answered(self, turn: Turn) -> None:
        raise NotImplementedError


class Start(Interaction):
    """Nothing about a person is stored before they agree, spoilt answer or not."""

    name, language = "start", "ar"

    async def prepare(self, turn: Turn) -> None:
        """A newcomer: nothing to prepare."""

    async def act(self, turn: Turn) -> None:
        await turn.person.send("/start")

    async def whole(self, turn: Turn) -> None:
        assert await turn.bot.services.people.get(turn.person.telegram_id) is None

    async def answered(self, turn: Turn) -> None:
        assert turn.answers()[-1] == turn.tr.gettext("Welcome to Bashkë! Choose your language:")
        assert turn.person.buttons() == list(LANGUAGE_NAMES.values())
        assert await turn.bot.services.people.get(turn.person.telegram_id) is None


class Consent(Interaction):
    name, language = "onboarding-consent", "sq"

    async def prepare(self, turn: Turn) -> None:
        await turn.person.send("/start")
        await turn.person.tap(LANGUAGE_NAMES[self.language])

    async def act(self, turn: Turn) -> None:
        await turn.person.tap(turn.tr.gettext("I agree"))

    async def whole(self, turn: Turn) -> None:
        person = await turn.bot.services.people.get(turn.person.telegram_id)
        assert person is None or person.language == self.language

    async def answered(self, turn: Turn) -> None:
        tr = turn.tr
        assert turn.answers()[-1] == (
            tr.gettext("Thank you, welcome!")
            + "\n\n"
            + tr.gettext("Which partner town are you part of?")
        )
        assert "Bari" in turn.person.buttons()
        person = await turn.bot.services.people.get(turn.person.telegram_id)
        assert person is not None and person.language == self.language


class Town(Interaction):
    name, language = "onboarding-town", "it"

    async def prepare(self, turn: Turn) -> None:
        await turn.person.send("/start")
        await turn.person.tap(LANGUAGE_NAMES[self.language])
        await turn.person.tap(turn.tr.gettext("I agree"))

    async def act(self, turn: Turn) -> None:
        await turn.person.tap("Bari")

    async def whole(self, turn: Turn) -> None:
        person = await turn.bot.services.people.get(turn.person.telegram_id)
        assert person is not None and person.town_id in (None, turn.world.bari)

    async def answered(self, turn: Turn) -> None:
        assert turn.answers()[-1].startswith(
            turn.tr.gettext("Your partner town: {town}.").format(town="Bari")
        )
        person = await turn.bot.services.people.get(turn.person.telegram_id)
        assert person is not None and person.town_id == turn.world.bari


class SelfDescription(Interaction):
    name, language = "onboarding-self-description", "uk"

    async def prepare(self, turn: Turn) -> None:
        await turn.person.send("/start")
        await turn.person.tap(LANGUAGE_NAMES[self.language])
        await turn.person.tap(turn.tr.gettext("I agree"))
        await turn.person.tap("Bari")

    async def act(self, turn: Turn) -> None:
        await turn.person.tap(turn.tr.gettext("Newcomer or migrant"))

    async def whole(self, turn: Turn) -> None:
        person = await turn.bot.services.people.get(turn.person.telegram_id)
        assert person is not None and person.self_description in (None, "newcomer")

    async def answered(self, turn: Turn) -> None:
        assert turn.answers()[-1].startswith(turn.tr.gettext("All set!"))
        person = await turn.bot.services.people.get(turn.person.telegram_id)
        assert person is not None and person.self_description == "newcomer"


class Events(Interaction):
    name, language = "events", "ar"

    async def act(self, turn: Turn) -> None:
        await turn.person.send("/events")

    async def answered(self, turn: Turn) -> None:
        heading = turn.tr.gettext("Upcoming events (page {page} of {pages}):")
        assert turn.answers()[-1] == heading.format(page=1, pages=1)
        assert any("Picnic" in label for label in turn.person.buttons())


class Join(Interaction):
    """The seat is taken (with its reminders) and shown on /myevents, or not taken at all."""

    name, language = "join", "sq"

    async def prepare(self, turn: Turn) -> None:
        await super().prepare(turn)
        await turn.person.send("/events")
        await turn.person.tap("Picnic")

    async def act(self, turn: Turn) -> None:
        await turn.person.tap(turn.tr.gettext("Join"))

    async def seat(self, turn: Turn) -> tuple[str | None, int]:
        """The person's place on the event, and how many reminders wait for them."""
        services = turn.bot.services
        status = await services.events.status_of(turn.world.event_id, turn.person.telegram_id)
        reminders = await services.db.fetchval(
            "SELECT COUNT(*) FROM outbox WHERE chat_id = ? AND kind = ?",
            (turn.person.telegram_id, ev.REMINDER),
        )
        return status, int(reminders)

    async def myevents(self, turn: Turn) -> bool:
        """Whether /myevents shows the person registered for the picnic."""
        await turn.person.send("/myevents")
        if turn.person.last_text == turn.tr.gettext(
            "You have not joined any upcoming event. See /events."
        ):
            return False
        assert turn.person.last_text == turn.tr.gettext("Your events:")
        (label,) = turn.person.buttons()
        assert label.startswith("✅ ") and label.endswith("Picnic")
        return True

    async def whole(self, turn: Turn) -> None:
        status, reminders = await self.seat(turn)
        assert (status, reminders) in ((None, 0), ("registered", 2))
        assert await self.myevents(turn) == (status == "registered")

    async def answered(self, turn: Turn) -> None:
        tr = turn.tr
        card = [text for text in turn.answers() if "Picnic" in text][-1]
        assert card.startswith(
            (
                tr.gettext("You are registered. See you there!"),
                tr.gettext("You are already registered."),
            )
        )
        assert await self.seat(turn) == ("registered", 2)  # one seat, its reminders once
        assert await self.myevents(turn)


class MyEvents(Interaction):
    name, language = "myevents", "it"

    async def prepare(self, turn: Turn) -> None:
        await super().prepare(turn)
        await turn.bot.services.events.join(turn.person.telegram_id, turn.world.event_id, "Ana")

    async def act(self, turn: Turn) -> None:
        await turn.person.send("/myevents")

    async def answered(self, turn: Turn) -> None:
        assert turn.answers()[-1] == turn.tr.gettext("Your events:")
        assert [label.endswith("Picnic") for label in turn.person.buttons()] == [True]


async def drafts(turn: Turn) -> list[tuple[object, ...]]:
    """The person's story: (None, "draft", text) while unfinished (in the drafts table), and
    (id, status, text) for each one sent."""
    services = turn.bot.services
    draft = await services.stories.draft(turn.person.telegram_id)
    rows = await services.db.fetchall(
        "SELECT id, status, text FROM stories WHERE author_id = ? ORDER BY id",
        (turn.person.telegram_id,),
    )
    return ([(None, "draft", draft.text)] if draft else []) + [tuple(row) for row in rows]


class StoryText(Interaction):
    """The draft holds the text or not; /story goes on from where it is."""

    name, language = "story-text", "uk"
    ask_anonymity = "Should your story carry your first name, or be anonymous?"

    async def prepare(self, turn: Turn) -> None:
        await super().prepare(turn)
        await turn.person.send("/story")
        await turn.person.tap(CHAPTER)

    async def act(self, turn: Turn) -> None:
        await turn.person.send(STORY)

    async def whole(self, turn: Turn) -> None:
        ((_, status, text),) = await drafts(turn)
        assert status == "draft" and text in (None, STORY)

    async def retry(self, turn: Turn) -> None:
        await turn.person.send("/story")  # back at the step the draft is at
        if turn.answers()[-1] != turn.tr.gettext(self.ask_anonymity):
            await turn.person.send(STORY)

    async def answered(self, turn: Turn) -> None:
        assert turn.answers()[-1] == turn.tr.gettext(self.ask_anonymity)
        assert [(status, text) for _, status, text in await drafts(turn)] == [("draft", STORY)]


class StorySend(Interaction):
    """The story went to the moderators (pending, their notice queued) or is still a draft."""

    name = "story-send"
    thanks = "Thank you! Your story is with the moderators. I will tell you when they have read it."

    async def prepare(self, turn: Turn) -> None:
        await super().prepare(turn)
        services, author = turn.bot.services, turn.person.telegram_id
        chapter = int(await services.db.fetchval("SELECT id FROM chapters ORDER BY position"))
        await services.stories.start(author)
        await services.stories.set_chapter(author, chapter)
        await services.stories.set_text(author, STORY)
        await services.stories.set_anonymous(author, True, "Ana")
        await turn.person.send("/story")  # the preview, with its Send button

    async def act(self, turn: Turn) -> None:
        await turn.person.tap(turn.tr.gettext("Send"))

    async def whole(self, turn: Turn) -> None:
        ((story_id, status, _),) = await drafts(turn)
        told = await turn.bot.services.db.fetchval(
            "SELECT COUNT(*) FROM outbox WHERE kind = ? AND subject = ?",
            (st.SUBMITTED, f"story:{story_id}"),
        )
        assert (status, bool(told)) in (("draft", False), ("pending", True))

    async def retry(self, turn: Turn) -> None:
        went = [status for _, status, _ in await drafts(turn)] == ["pending"]
        await self.act(turn)
        if went:
            # The story went with the first tap, whose answer was lost: the second shows the
            # thanks the first could not, and queues nothing more.
            assert turn.alerts() == []
            assert turn.tr.gettext(self.thanks) in turn.answers()

    async def answered(self, turn: Turn) -> None:
        assert turn.tr.gettext(self.thanks) in turn.answers()
        assert [status for _, status, _ in await drafts(turn)] == ["pending"]


class Approve(Interaction):
    """The decision is whole: approved, logged once, the author's note and the channel's post
    queued once each — or nothing of it."""

    name = "queue-approve"

    async def prepare(self, turn: Turn) -> None:
        services = turn.bot.services
        await super().prepare(turn)
        # The queue shows the oldest story first: decide what earlier turns left in it.
        for (story_id,) in await services.db.fetchall(
            "SELECT id FROM stories WHERE status = 'pending'"
        ):
            await services.stories.reject(ADMIN_ID, story_id, "other")
        turn.author = author = turn.bot.person("Olena", "uk")
        await turn.world.sign_up(author)
        chapter = int(await services.db.fetchval("SELECT id FROM chapters ORDER BY position"))
        await services.stories.start(author.telegram_id)
        await services.stories.set_chapter(author.telegram_id, chapter)
        await services.stories.set_text(author.telegram_id, STORY)
        await services.stories.set_anonymous(author.telegram_id, True, "Olena")
        turn.story_id = (await services.stories.submit(author.telegram_id)).id
        await services.staff.grant(ADMIN_ID, turn.person.telegram_id, Role.MODERATOR)
        await turn.person.send("/queue")
        assert STORY in turn.person.last_text

    async def act(self, turn: Turn) -> None:
        await turn.person.tap(turn.tr.gettext("Approve"))

    async def decision(self, turn: Turn) -> tuple[object, ...]:
        """The story's status, its lines in the moderation log, its notices queued."""
        found = await turn.row(
            "SELECT s.status,"
            " (SELECT COUNT(*) FROM moderation_log WHERE story_id = s.id),"
            " (SELECT COUNT(*) FROM outbox WHERE subject = ? AND kind = ? AND chat_id = ?),"
            " (SELECT COUNT(*) FROM outbox WHERE subject = ? AND kind = ? AND chat_id = ?)"
            " FROM stories s WHERE s.id = ?",
            f"story:{turn.story_id}",
            st.DECIDED,
            turn.author.telegram_id if turn.author else 0,
            f"story:{turn.story_id}",
            st.PUBLISHED,
            CHANNEL,
            turn.story_id,
        )
        assert found is not None
        return found

    async def whole(self, turn: Turn) -> None:
        assert await self.decision(turn) in (("pending", 0, 0, 0), ("approved", 1, 1, 1))

    async def retry(self, turn: Turn) -> None:
        await turn.person.send("/queue")  # a moderator looks again
        if turn.tr.gettext("Approve") in turn.person.buttons():
            await self.act(turn)

    async def answered(self, turn: Turn) -> None:
        assert turn.tr.gettext("The queue is empty. Thank you!") in turn.answers()[-1]
        assert await self.decision(turn) == ("approved", 1, 1, 1)
        assert turn.author is not None
        approved = CATALOGS.translator("uk").gettext(
            "🎉 Your story for “{chapter}” was approved. Thank you for "
            "sharing it! Read it with the others: /stories"
        )
        # The outbox tells the author (in Ukrainian) and posts the story to the channel.
        double = turn.bot.double
        await double.wait_for(sent_to(turn.author, approved.format(chapter=CHAPTER)), timeout=5)
        await double.wait_for(sent_to(CHANNEL, STORY), timeout=5)


class Vote(Interaction):
    """The vote is saved or not; tapping again saves it once."""

    name, language = "vote", "ar"

    async def prepare(self, turn: Turn) -> None:
        await super().prepare(turn)
        await turn.person.send("/vote")
        await turn.person.tap("Autumn vote")

    async def act(self, turn: Turn) -> None:
        await turn.person.tap(turn.tr.gettext("👍 Support"))

    async def choices(self, turn: Turn) -> dict[int, Choice]:
        votes = turn.bot.services.votes
        return await votes.my_choices(turn.person.telegram_id, turn.world.open_round)

    async def whole(self, turn: Turn) -> None:
        assert await self.choices(turn) in ({}, {turn.world.proposal: Choice.SUPPORT})

    async def answered(self, turn: Turn) -> None:
        tr = turn.tr
        assert turn.answers()[-1].startswith(
            tr.gettext("Your vote is saved. You can change it until the vote closes.")
        )
        assert "✓ " + tr.gettext("👍 Support") in turn.person.buttons()
        assert await self.choices(turn) == {turn.world.proposal: Choice.SUPPORT}


class Results(Interaction):
    name, language = "results", "it"

    async def prepare(self, turn: Turn) -> None:
        await super().prepare(turn)
        await turn.person.send("/results")

    async def act(self, turn: Turn) -> None:
        await turn.person.tap("Spring vote")

    async def answered(self, turn: Turn) -> None:
        note = turn.tr.gettext(
            "A group is shown separately only when it has at least {count} voters and the voters"
            " not shown are none or at least {count} too, so that no one's vote can be guessed,"
            " not even by subtraction."
        ).format(count=5)
        (text,) = [text for text in turn.answers() if text.startswith("Spring vote")]
        assert "Shared meals" in text and text.endswith(note)
        (chart,) = turn.uploads("sendPhoto")
        assert chart.params["caption"] == "Spring vote"
        assert chart.files["photo"].data.startswith(b"\x89PNG")


class Manual(Interaction):
    name, language = "manual", "sq"

    async def act(self, turn: Turn) -> None:
        await turn.person.send("/manual")

    async def answered(self, turn: Turn) -> None:
        documents = turn.uploads("sendDocument")
        names = [call.files["document"].filename for call in documents]
        assert names == ["bashke-manual-sq.md", "bashke-manual-sq.html", "bashke-manual-sq.pdf"]
        assert documents[-1].params["caption"] == turn.tr.gettext(
            "The current draft of the manual, as Markdown, as a web page and as a PDF."
        )


class Coordinating(Interaction):
    """Interactions of a network coordinator."""

    async def prepare(self, turn: Turn) -> None:
        await super().prepare(turn)
        await turn.bot.services.staff.grant(ADMIN_ID, turn.person.telegram_id, Role.COORDINATOR)


class BroadcastPreview(Coordinating):
    """The preview is the first answer; the conversation stays where it was, and nothing is
    created before the coordinator confirms."""

    name = "broadcast-preview"

    async def prepare(self, turn: Turn) -> None:
        await super().prepare(turn)
        await turn.person.send("/broadcast")

    async def act(self, turn: Turn) -> None:
        await turn.person.send(ANNOUNCEMENT)

    async def created(self, turn: Turn) -> int:
        return int(
            await turn.bot.services.db.fetchval(
                "SELECT COUNT(*) FROM broadcasts WHERE created_by = ?", (turn.person.telegram_id,)
            )
        )

    async def whole(self, turn: Turn) -> None:
        assert await self.created(turn) == 0

    async def answered(self, turn: Turn) -> None:
        shown = turn.answers()
        assert shown[-2] == ANNOUNCEMENT  # exactly as people will get it
        assert shown[-1] == turn.tr.gettext(
            "Above is how it looks. People get the version in their language, if you add one; "
            "the others get this one. Versions so far: {languages}"
        ).format(languages="—")
        assert turn.tr.gettext("Continue") in turn.person.buttons()
        assert await self.created(turn) == 0


class BroadcastSendNow(Coordinating):
    """The announcement is queued once, or not at all; tapping Send now again after a lost
    answer queues nothing more and tells what was queued."""

    name = "broadcast-send-now"

    async def prepare(self, turn: Turn) -> None:
        await super().prepare(turn)
        person, tr = turn.person, turn.tr
        # The audience: the people on the picnic (not the coordinator, whose chat must see
        # only the answers to her taps).
        guest = turn.bot.person("Guest")
        await turn.world.sign_up(guest)
        await turn.bot.services.events.join(guest.telegram_id, turn.world.event_id, "Guest")
        await person.send("/broadcast")
        await person.send(ANNOUNCEMENT)
        await person.tap(tr.gettext("Continue"))
        await person.tap(tr.gettext("The people registered for an event"))
        await person.tap("Picnic")

    async def act(self, turn: Turn) -> None:
        await turn.person.tap(turn.tr.gettext("Send now"))

    async def created(self, turn: Turn) -> list[tuple[int, int, int]]:
        """Each announcement of this coordinator: id, recipients, messages queued."""
        rows = await turn.bot.services.db.fetchall(
            "SELECT b.id, b.recipients, (SELECT COUNT(*) FROM outbox o WHERE o.subject ="
            " 'broadcast:' || b.id) FROM broadcasts b WHERE b.created_by = ?",
            (turn.person.telegram_id,),
        )
        return [(row[0], row[1], row[2]) for row in rows]

    async def whole(self, turn: Turn) -> None:
        created = await self.created(turn)
        assert created == [] or [queued == recipients for _, recipients, queued in created] == [
            True
        ]

    async def answered(self, turn: Turn) -> None:
        ((broadcast_id, recipients, queued),) = await self.created(turn)
        assert queued == recipients
        services, tr = turn.bot.services, turn.tr
        broadcast = await services.broadcasts.get(broadcast_id)
        assert turn.answers()[-1] == tr.ngettext(
            "Queued for {count} person, from {moment}. Follow it with /broadcasts.",
            "Queued for {count} people, from {moment}. Follow it with /broadcasts.",
            recipients,
        ).format(
            count=recipients,
            moment=tr.moment(broadcast.send_at, services.config.timezone, "short"),
        )


class NewEventSave(Interaction):
    """The event is created once, or not at all; tapping Create again after a lost answer
    creates nothing more and shows the event."""

    name, language = "newevent-save", "it"

    def title(self, turn: Turn) -> str:
        return f"Supper club {turn.person.telegram_id}"

    async def prepare(self, turn: Turn) -> None:
        await super().prepare(turn)
        services, person, tr = turn.bot.services, turn.person, turn.tr
        await services.staff.grant(ADMIN_ID, person.telegram_id, Role.COORDINATOR, "bari")
        day = (services.clock() + timedelta(days=6)).strftime("%Y-%m-%d")
        await person.send("/newevent")
        for answer in (self.title(turn), "-"):
            await person.send(answer)
        await person.tap("Bari")
        for answer in (f"{day} 18:00", "21:00", "Sala comunale", "20"):
            await person.send(answer)
        await person.tap(tr.gettext("Until the start"))
        await person.tap(tr.gettext("24 h and 2 h before"))
        assert person.last_text.startswith(tr.gettext("This is how people will see it:"))

    async def act(self, turn: Turn) -> None:
        await turn.person.tap(turn.tr.gettext("Create the event"))

    async def created(self, turn: Turn) -> int:
        return int(
            await turn.bot.services.db.fetchval(
                "SELECT COUNT(*) FROM events WHERE title = ?", (self.title(turn),)
            )
        )

    async def whole(self, turn: Turn) -> None:
        assert await self.created(turn) in (0, 1)

    async def answered(self, turn: Turn) -> None:
        card = turn.answers()[-1]
        assert card.startswith(turn.tr.gettext("The event is created.") + "\n\n" + self.title(turn))
        assert await self.created(turn) == 1


class EventMove(Coordinating):
    """The event moves once, or not at all; sending the end time again after a lost answer
    shows the card instead of moving it (and telling everyone) a second time."""

    name = "event-move"

    async def prepare(self, turn: Turn) -> None:
        await super().prepare(turn)
        services, person = turn.bot.services, turn.person
        starts = services.clock() + timedelta(days=8)
        event = await services.events.create(
            person.telegram_id,
            EventDraft(
                scope=Scope.INTERNATIONAL,
                town_id=None,
                title=f"Walk {person.telegram_id}",
                description="",
                place="Rruga Kolë Idromeno",
                timezone="Europe/Tirane",
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
            ),
        )
        turn.subject = event.subject
        day = (starts + timedelta(days=1)).strftime("%Y-%m-%d")
        await person.send(f"/start ev_{event.id}")
        await person.tap(turn.tr.gettext("Move"))
        await person.send(f"{day} 17:00")

    async def act(self, turn: Turn) -> None:
        await turn.person.send("19:30")

    async def moves(self, turn: Turn) -> int:
        return int(
            await turn.bot.services.db.fetchval(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'move_event' AND subject = ?",
                (turn.subject,),
            )
        )

    async def whole(self, turn: Turn) -> None:
        assert await self.moves(turn) in (0, 1)

    async def answered(self, turn: Turn) -> None:
        note = turn.tr.gettext("The event has new times; everyone on it is being told.")
        assert turn.answers()[-1].startswith(note)
        assert await self.moves(turn) == 1


class Stats(Coordinating):
    name, language = "stats", "uk"

    async def act(self, turn: Turn) -> None:
        await turn.person.send("/stats")

    async def answered(self, turn: Turn) -> None:
        assert turn.answers()[-1].startswith(turn.tr.gettext("The whole network") + "\n")
        (chart,) = turn.uploads("sendPhoto")
        assert chart.params["caption"] == turn.tr.gettext("Participants by town")


class Export(Coordinating):
    name, language = "export", "ar"

    async def act(self, turn: Turn) -> None:
        await turn.person.send("/export")

    async def answered(self, turn: Turn) -> None:
        (album,) = turn.uploads("sendMediaGroup")
        names = [upload.filename for upload in album.files.values()]
        assert "bashke-moderation-log.csv" in names
        assert all(name.startswith("bashke-") and name.endswith(".csv") for name in names)
        assert album.params["media"][-1]["caption"] == turn.tr.gettext(
            "Figures for the report, and the moderation log."
        )


class MyData(Interaction):
    name, language = "mydata", "it"

    async def act(self, turn: Turn) -> None:
        await turn.person.send("/mydata")

    async def answered(self, turn: Turn) -> None:
        (document,) = turn.uploads("sendDocument")
        upload = document.files["document"]
        assert upload.filename == "bashke-my-data.json"
        assert json.loads(upload.data)["telegram_id"] == turn.person.telegram_id
        assert document.params["caption"] == turn.tr.gettext("Everything Bashkë stores about you.")


class DeleteMe(Interaction):
    """Erased whole (profile, seat, the link to their votes) or not at all."""

    name, language = "deleteme-confirm", "uk"

    async def prepare(self, turn: Turn) -> None:
        await super().prepare(turn)
        services, world, me = turn.bot.services, turn.world, turn.person.telegram_id
        await services.events.join(me, world.event_id, "Ana")
        await services.votes.vote(me, world.open_round, world.proposal, Choice.OPPOSE)
        await turn.person.send("/deleteme")

    async def act(self, turn: Turn) -> None:
        await turn.person.tap(turn.tr.gettext("Yes, erase my data"))

    async def stored(self, turn: Turn) -> tuple[bool, bool, bool]:
        """Whether the profile, the seat and the votes linked to the person are there."""
        services, world, me = turn.bot.services, turn.world, turn.person.telegram_id
        return (
            await services.people.get(me) is not None,
            await services.events.status_of(world.event_id, me) is not None,
            bool(await services.votes.my_choices(me, world.open_round)),
        )

    async def whole(self, turn: Turn) -> None:
        assert await self.stored(turn) in ((True, True, True), (False, False, False))

    async def answered(self, turn: Turn) -> None:
        tr = turn.tr
        assert turn.answers()[-1] == tr.gettext(
            "Done: everything stored about you has been erased. "
            "If you ever want to come back, send /start."
        )
        assert await self.stored(turn) == (False, False, False)
        await turn.person.send("/mydata")
        assert turn.person.last_text == tr.gettext("I store nothing about you.")


class Help(Interaction):
    name, language = "help", "sq"

    async def act(self, turn: Turn) -> None:
        await turn.person.send("/help")

    async def answered(self, turn: Turn) -> None:
        expected = seen(help_text(turn.tr, frozenset({Role.PARTICIPANT})))
        assert turn.answers()[-1] == expected


INTERACTIONS: tuple[Interaction, ...] = (
    Start(),
    Consent(),
    Town(),
    SelfDescription(),
    Events(),
    Join(),
    MyEvents(),
    StoryText(),
    StorySend(),
    Approve(),
    Vote(),
    Results(),
    Manual(),
    BroadcastPreview(),
    BroadcastSendNow(),
    NewEventSave(),
    EventMove(),
    Stats(),
    Export(),
    MyData(),
    DeleteMe(),
    Help(),
)


async def new_turn(world: World, interaction: Interaction) -> Turn:
    person = world.bot.person("Ana", interaction.language)
    turn = Turn(world, person, CATALOGS.translator(interaction.language))
    await interaction.prepare(turn)
    turn.start = len(world.bot.double.calls)
    return turn


def errors_of(caplog: pytest.LogCaptureFixture, logger: str) -> list[BaseException | None]:
    return [
        record.exc_info[1] if record.exc_info else None
        for record in caplog.records
        if record.name.startswith(logger) and record.levelno >= logging.ERROR
    ]


@pytest.mark.parametrize("interaction", INTERACTIONS, ids=lambda i: i.name)
async def test_a_spoilt_call_leaves_the_bot_alive_and_the_data_whole(
    world: World, interaction: Interaction, caplog: pytest.LogCaptureFixture
) -> None:
    bot, fault = world.bot, world.fault
    turn = await new_turn(world, interaction)
    caplog.clear()
    caplog.set_level(logging.WARNING)

    fault.inject(bot.double, turn.person.telegram_id)
    await interaction.act(turn)  # the harness settles: the update did not get stuck
    await bot.double.wait_until_answered()  # a late answer lands before anything is read
    assert bot.double.unused_faults == 0, "the fault never met the interaction"

    # Logged once, as what python-telegram-bot made of it; the error handler did not fail.
    assert [type(error) for error in errors_of(caplog, "handlers.errors")] == [fault.raised]
    assert errors_of(caplog, "telegram") == []
    # Told in their language, unless that call was spoilt too (which is logged).
    told = turn.tr.gettext(APOLOGY) in turn.answers() + turn.alerts()
    untold = [r for r in caplog.records if r.getMessage().startswith("could not tell the person")]
    assert (told, len(untold)) == ((True, 0) if fault.count == 1 else (False, 1))

    await interaction.whole(turn)
    turn.start = len(bot.double.calls)
    await interaction.retry(turn)
    await interaction.answered(turn)

    other = await new_turn(world, interaction)
    await interaction.act(other)
    await interaction.answered(other)

    assert len(errors_of(caplog, "")) == 1  # the spoilt call's, and nothing else since
    assert bot.double.violations == []

"""What the hostile tests run against: a bot with towns, events, stories, a vote and people in
every role, set up through the services (no updates), and lanes of people ready to be fed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from bot.events import EventDraft, Scope
from bot.services import Services
from tests.conftest import ADMIN_ID
from tests.flows.harness import Bot, running_bot
from tests.hostile.corpus import CALLBACKS, TEXTS
from tests.hostile.driver import (
    ADMIN_IDS,
    FIRST_ID,
    LANGUAGE,
    Input,
    Known,
    Lane,
    LogRecords,
    Session,
    Tap,
    Text,
)
from tests.hostile.expect import CATALOGS
from tests.hostile.states import STATES, State

APPROVED_STORY = "An approved story with <tags> & &amp; entities, shown exactly as it was written."
PENDING_STORY = "A story waiting for the moderators, with <b>tags</b> & more words in it."
ROUND_TITLE = "Spring <vote> & more"
PROPOSAL_TITLE = "Shared <meals>"
EVENT_TITLE = "Bari <dinner> & music"
FIRST_NAME = "Ana <b>&</b> Co"


@asynccontextmanager
async def hostile_bot(tmp_path: Path) -> AsyncIterator[Bot]:
    """A running bot whose admins include a range of ids, with delivery paused: every message
    a person gets is then the direct answer to what they sent."""
    async with running_bot(tmp_path, admins=[ADMIN_ID, *ADMIN_IDS]) as bot:
        await bot.pause_delivery()
        yield bot


async def build_world(services: Services) -> dict[str, int | str]:
    """Towns, a chapter, a vote, stories waiting and approved, events of each kind."""
    towns = {t.slug: t.id for t in await services.towns.list_towns()}
    chapter = int(await services.db.fetchval("SELECT id FROM chapters ORDER BY position LIMIT 1"))
    author = 1_000
    await services.people.give_consent(author, "en")
    await services.people.set_town(author, towns["bari"])
    stories = services.stories
    ids: list[int] = []
    for text in (APPROVED_STORY, PENDING_STORY):
        await stories.start(author)
        await stories.set_chapter(author, chapter)
        await stories.set_text(author, text)
        await stories.set_anonymous(author, True, "Ana")
        ids.append((await stories.submit(author)).id)
    await stories.approve(ADMIN_ID, ids[0])
    proposal = await services.votes.add_proposal(
        ADMIN_ID, chapter, PROPOSAL_TITLE, "Each month, a dinner <3 & more."
    )
    voting = await services.votes.open_round(
        ADMIN_ID, ROUND_TITLE, [proposal], services.clock() + timedelta(hours=72)
    )
    await stories.set_proposals_phase(ADMIN_ID, True)
    event = await make_event(services, ADMIN_ID, "local", towns["bari"], EVENT_TITLE)
    other = await make_event(services, ADMIN_ID, "local", towns["shkoder"], "Shkodër & co")
    cancelled = await make_event(services, ADMIN_ID, "international", None, "Gone <event>")
    await services.events.cancel(ADMIN_ID, cancelled)
    return {
        "bari": towns["bari"],
        "shkoder": towns["shkoder"],
        "chapter": chapter,
        "story": ids[1],
        "approved": ids[0],
        "round": voting.id,
        "proposal": proposal,
        "event": event,
        "other_event": other,
        "cancelled": cancelled,
        # Texts the bot shows back, for the answers that must show them exactly.
        "approved_text": APPROVED_STORY,
        "round_title": ROUND_TITLE,
        "event_title": EVENT_TITLE,
    }


async def make_event(
    services: Services, actor: int, scope: str, town_id: int | None, title: str
) -> int:
    starts = services.clock() + timedelta(days=30)
    draft = EventDraft(
        scope=Scope(scope),
        town_id=town_id,
        title=title,
        description="Come <all> & bring friends",
        place="Piazza <Grande> & co",
        timezone="Europe/Rome",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        capacity=50,
    )
    return (await services.events.create(actor, draft)).id


class People:
    """Hands out people in roles: registered through the services, or not known at all."""

    def __init__(self, bot: Bot, world: dict[str, int | str]) -> None:
        self.bot = bot
        self.world = world
        self._next = dict(FIRST_ID)

    async def lane(self, role: str, state: State) -> Lane:
        services = self.bot.services
        telegram_id = self._next[role]
        self._next[role] += 1
        language = LANGUAGE[role]
        person = self.bot.person(FIRST_NAME, language, telegram_id=telegram_id)
        ids = dict(self.world)
        ids["lang"] = language
        if role == "moderator":
            await services.staff.grant(ADMIN_ID, telegram_id, "moderator")
        elif role == "town":
            await services.staff.grant(ADMIN_ID, telegram_id, "coordinator", "bari")
        elif role == "network":
            await services.staff.grant(ADMIN_ID, telegram_id, "coordinator")
        if state.registered and not state.fresh:
            await services.people.give_consent(telegram_id, language)
            await services.people.set_town(telegram_id, int(self.world["bari"]))
            await services.people.set_self_description(telegram_id, "resident")
        if state.flow == "rating":
            # Checked in at the world's event, and asked to rate it afterwards.
            await services.db.execute(
                "INSERT INTO ratings (event_id, telegram_id, asked_at) VALUES (?, ?, ?)",
                (int(self.world["event"]), telegram_id, "2026-01-01T00:00:00Z"),
            )
        if role in ("town", "network", "admin"):
            scope, town = {
                "town": ("local", self.world["bari"]),
                "network": ("international", None),
                "admin": ("local", self.world["shkoder"]),
            }[role]
            ids["mine"] = await make_event(
                services, telegram_id, scope, None if town is None else int(town), "Mine <3"
            )
        return Lane(role, state, person, CATALOGS.translator(language), ids)


# Buttons whose answer depends on the step a person is at, by flow: every state of the flow
# gets them all. Empty data goes to whichever button handler the step has, so everywhere.
STEP_CALLBACKS: dict[str, frozenset[str]] = {
    "newevent": frozenset(
        {
            "cb-scope",
            "cb-scope-moon",
            "cb-town-other",
            "cb-town-missing",
            "cb-no-limit-arity",
            "cb-deadline-arity",
            "cb-reminders-no-arg",
            "cb-save-maybe",
            "cb-edit-field",
            "cb-move-abc",
        }
    ),
    "broadcast": frozenset(
        {
            "cb-version-unknown",
            "cb-audience-everyone",
            "cb-audience-nobody",
            "cb-audience-value",
            "cb-send-maybe",
        }
    ),
    "rating": frozenset({"cb-rate-skip"}),
    "stories": frozenset(
        {
            "cb-chapter",
            "cb-chapter-gone",
            "cb-anonymous",
            "cb-anonymous-bad",
            "cb-rewrite",
            "cb-send-arity",
            "cb-drop-arity",
        }
    ),
}


def spread(lanes: list[Lane]) -> None:
    """Give each lane its inputs.

    A state that reads typed text gets every text; every state gets every button whose answer
    depends on the step. What meets the same code wherever it lands (any text where only
    buttons are read; a button handled the same in every step) is spread over the states of
    one flow, so each role meets each of them in each flow; the states marked ``full`` (someone
    unknown, and someone known with nothing going on) get the whole corpus.
    """
    shares: dict[tuple[str, str], list[Lane]] = {}
    for lane in lanes:
        if not lane.state.full:
            shares.setdefault((lane.role, lane.state.flow), []).append(lane)
    for lane in lanes:
        state = lane.state
        mates = shares.get((lane.role, state.flow), [lane])
        mine, share = (mates.index(lane) if lane in mates else 0), len(mates)
        for i, case in enumerate(TEXTS):
            if state.full or state.takes_text or i % share == mine:
                lane.inputs.append(Input(case, Text(case.value)))
        for i, case in enumerate(CALLBACKS, start=len(TEXTS)):
            step_specific = case.id in STEP_CALLBACKS.get(state.flow, ()) or case.id == "cb-empty"
            if state.full or step_specific or i % share == mine:
                lane.inputs.append(Input(case, Tap(lane.fill(case.value), strict=False)))


def known_bugs(steps: Iterable[str]) -> dict[tuple[str, str], Known]:
    """Bugs in code this suite may not change, each expected exactly where it happens (of
    ``steps``); the suite fails as soon as one stops happening, so the entry goes with the fix.
    None now: year 1 dates and "²" as seats are refused in words."""
    bugs: dict[tuple[str, str], Known] = {}
    wanted = set(steps)
    return {key: bug for key, bug in bugs.items() if key[0] in wanted}


async def feed_states(bot: Bot, group: str, records: LogRecords) -> Session:
    """Every state of a group in each of its roles, a lane each, fed the corpus (``spread``).

    The session's failures say what went wrong; states never reached and known bugs that did
    not happen are among them.
    """
    states = [state for state in STATES if state.group == group]
    world = await build_world(bot.services)
    people = People(bot, world)
    session = Session(bot, records, known_bugs(state.name for state in states))
    lanes = [await people.lane(role, state) for state in states for role in state.roles]
    for lane in lanes:
        lane.pending.extend(lane.state.path(lane.role))
        if not lane.pending:
            lane.where, lane.entered = lane.state.name, True
    spread(lanes)
    await session.run(lanes)
    session.failures += [f"{lane}: never reached its state" for lane in lanes if not lane.entered]
    session.failures += session.final_failures()
    return session

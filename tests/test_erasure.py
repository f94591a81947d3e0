"""/deleteme erases: after it, no row anywhere holds the person's id, name or text, and neither
do the bytes of the database file and its WAL."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from bot.broadcasts import Audience, AudienceKind, BroadcastDraft
from bot.events import EventDraft, Scope
from bot.services import Services
from tests.conftest import ADMIN_ID

# A distinctive id, name and texts: any trace of them in the file is a trace of this person.
LEAVING = 987654321012
NAME = "Zanzibarina"
STORY = "Quxwell market taught me the greetings of my neighbours."
SIGNED = "Signed by hand: the Vrellë choir welcomed me."
OTHER = 5500  # someone who stays
MODERATOR = 5501


def traces(services: Services) -> list[str]:
    """What of the person is left in the raw bytes of the database and its WAL."""
    path = services.config.database
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        data += wal.read_bytes()
    # SQLite keeps an integer in 6 bytes, big-endian, when it needs 48 bits.
    needles = {
        "id as text": str(LEAVING).encode(),
        "id as integer": LEAVING.to_bytes(6, "big"),
        "name": NAME.encode(),
        "signed story": SIGNED.encode(),
    }
    return [what for what, needle in needles.items() if needle in data]


async def rows_naming(services: Services, telegram_id: int) -> list[str]:
    """Every (table, column) whose value is the id or contains it as text."""
    found = []
    tables = await services.db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    for (table,) in tables:
        for column in await services.db.fetchall(f"PRAGMA table_info({table})"):
            name = column["name"]
            hits = await services.db.fetchval(
                f"SELECT COUNT(*) FROM {table} WHERE {name} = ? OR CAST({name} AS TEXT) LIKE ?",
                (telegram_id, f"%{telegram_id}%"),
            )
            if hits:
                found.append(f"{table}.{name}")
    return found


async def a_full_life(services: Services) -> None:
    """The person takes part in everything, as participant and as staff."""
    bari = (await services.towns.by_slug("bari")).id
    chapter = int(await services.db.fetchval("SELECT id FROM chapters LIMIT 1"))
    for person in (LEAVING, OTHER, MODERATOR):
        await services.people.give_consent(person, "it")
        await services.people.set_town(person, bari)
    await services.people.set_self_description(LEAVING, "newcomer")
    await services.staff.grant(ADMIN_ID, MODERATOR, "moderator")
    await services.staff.grant(ADMIN_ID, LEAVING, "coordinator", "bari")
    await services.staff.grant(ADMIN_ID, LEAVING, "moderator")
    # As a coordinator: an event and an announcement.
    start = services.clock() + timedelta(days=2)
    event = await services.events.create(
        LEAVING,
        EventDraft(
            scope=Scope.LOCAL,
            town_id=bari,
            title="Supper of the neighbours",
            description="Everyone brings a dish",
            place="Piazza",
            timezone="Europe/Rome",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
        ),
    )
    await services.broadcasts.create(
        LEAVING, BroadcastDraft("See you at the supper", Audience(AudienceKind.TOWN, str(bari)))
    )
    # As a participant: the event, with the name Telegram gave, and reminders queued for it.
    await services.events.join(LEAVING, event.id, NAME)
    await services.events.join(OTHER, event.id, "Other")
    # An anonymous story that is published and stays, and a signed one that goes.
    for text, anonymous in ((STORY, True), (SIGNED, False)):
        await services.stories.start(LEAVING)
        await services.stories.set_chapter(LEAVING, chapter)
        await services.stories.set_text(LEAVING, text)
        await services.stories.set_anonymous(LEAVING, anonymous, NAME)
        story = await services.stories.submit(LEAVING)
        await services.stories.approve(MODERATOR, story.id)
    # As a moderator: someone else's story.
    await services.stories.start(OTHER)
    await services.stories.set_chapter(OTHER, chapter)
    await services.stories.set_text(OTHER, "The bus driver now waits for me.")
    await services.stories.set_anonymous(OTHER, True, "Other")
    story = await services.stories.submit(OTHER)
    await services.stories.approve(LEAVING, story.id)
    # A vote.
    network = 5502
    await services.staff.grant(ADMIN_ID, network, "coordinator")
    proposal = await services.votes.add_proposal(network, chapter, "Greeters", "At each station")
    voting = await services.votes.open_round(
        network, "Spring", [proposal], services.clock() + timedelta(days=3)
    )
    await services.votes.vote(LEAVING, voting.id, proposal, "support")
    # The attitude pulse, answered when joining.
    now = services.clock()
    for n in range(3):
        lines = "\n".join(
            f"{code}: Neighbours greet me {n}" for code in ("sq", "en", "it", "ar", "uk")
        )
        await services.pulse.add_statement(network, lines, now)
    survey = await services.pulse.publish(network, now)
    question = await services.pulse.begin(LEAVING, survey.id, None, now, "it")
    while question is not None:
        question = await services.pulse.answer(
            LEAVING, question.ask_id, question.position, 4, now, "it"
        )


async def test_after_erasure_no_row_and_no_byte_holds_the_person(services: Services) -> None:
    await a_full_life(services)
    assert await rows_naming(services, LEAVING)
    published_before = await services.db.fetchval(
        "SELECT COUNT(*) FROM stories WHERE status = 'approved'"
    )

    assert await services.erase_person(LEAVING) is True

    assert await rows_naming(services, LEAVING) == []
    assert traces(services) == []
    # What stays is what the privacy notice promises: the anonymous story, unnamed, and the
    # vote as a count; the person's staff actions stay in the record without their name.
    stories = [tuple(s) for s in await services.db.fetchall("SELECT text, author_id FROM stories")]
    assert (STORY, None) in stories  # published anonymously: stays, with no author
    assert ("The bus driver now waits for me.", OTHER) in stories
    assert published_before - 1 == await services.db.fetchval(
        "SELECT COUNT(*) FROM stories WHERE status = 'approved'"
    )
    assert await services.db.fetchval("SELECT SUM(n) FROM ballot_counts") == 1
    actions = await services.db.fetchall(
        "SELECT action, actor_id, subject FROM audit_log WHERE action = 'create_event'"
    )
    assert [tuple(a) for a in actions] == [("create_event", None, "event:1")]
    # Someone who stays keeps everything.
    assert await services.events.status_of(1, OTHER) == "registered"
    assert (await services.export_person(OTHER))["profile"] is not None


async def test_erasure_is_one_transaction(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure half-way leaves everything as it was: the vote still theirs, the profile there."""
    await a_full_life(services)
    voting_round = int(await services.db.fetchval("SELECT id FROM rounds"))
    before = await services.votes.my_choices(LEAVING, voting_round)
    assert before

    async def failing(*args: object) -> bool:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(services.people, "forget", failing)
    with pytest.raises(sqlite3.OperationalError):
        await services.erase_person(LEAVING)
    assert await services.people.get(LEAVING) is not None
    assert await services.votes.my_choices(LEAVING, voting_round) == before

"""Upgrades that move people's data: unfinished stories to the drafts table (migration 0013),
at the step they were at; proposals to their own table (migration 0014), with their ids, their
rounds and their ballots."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.db import MIGRATIONS_DIR, Database
from bot.services import Services
from bot.stories import Kind, Step
from tests.conftest import ADMIN_ID, make_config

WRITER, PROPOSER, SENDER = 4101, 4102, 4103
STORY = "Our neighbours helped us find a flat, and taught us the bus routes."


async def database_before(tmp_path: Path, version: int) -> Database:
    """A database brought only up to ``version``, as an older release left it."""
    config = make_config(tmp_path)
    before = tmp_path / f"before-{version}"
    before.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if int(path.name[:4]) <= version:
            shutil.copy(path, before)
    db = Database(config.database)
    await db.open()
    await db.migrate(before)
    return db


async def test_drafts_written_before_the_upgrade_are_kept(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    db = await database_before(tmp_path, 12)
    now = "2026-11-30T10:00:00Z"
    for person in (WRITER, PROPOSER, SENDER):
        await db.execute(
            "INSERT INTO people (telegram_id, language, consented_at) VALUES (?, 'uk', ?)",
            (person, now),
        )
    await db.execute(
        "INSERT INTO chapters (slug, position, created_at) VALUES ('stigma', 1, ?)", (now,)
    )
    chapter = await db.fetchval("SELECT id FROM chapters")
    rows = [
        (WRITER, "story", chapter, None, STORY, None, None, "draft"),
        (PROPOSER, "proposal", chapter, None, None, 1, None, "draft"),
        (SENDER, "story", chapter, None, STORY, 0, "Ana", "pending"),
    ]
    for author, kind, chapter_id, title, text, anonymous, name, status in rows:
        await db.execute(
            "INSERT INTO stories (author_id, kind, chapter_id, title, text, anonymous,"
            " signed_name, status, created_at, updated_at, submitted_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                author,
                kind,
                chapter_id,
                title,
                text,
                anonymous,
                name,
                status,
                now,
                now,
                now if status == "pending" else None,
            ),
        )
    await db.close()

    services = Services.build(config, Database(config.database))
    await services.start()
    try:
        written = await services.stories.draft(WRITER)
        assert written is not None
        assert (written.kind, written.text, written.anonymous, written.step) == (
            Kind.STORY,
            STORY,
            None,
            Step.ANONYMITY,
        )
        proposed = await services.stories.draft(PROPOSER)
        assert proposed is not None
        assert (proposed.kind, proposed.anonymous, proposed.step) == (
            Kind.PROPOSAL,
            True,
            Step.TITLE,
        )
        assert await services.stories.draft(SENDER) is None
        steps = await services.db.fetchall("SELECT telegram_id, step FROM drafts ORDER BY 1")
        assert [tuple(row) for row in steps] == [(WRITER, "anonymity"), (PROPOSER, "title")]
        statuses = await services.db.fetchall("SELECT author_id, status FROM stories")
        assert [tuple(row) for row in statuses] == [(SENDER, "pending")]
        # The writer goes on where they were, and sends it.
        await services.stories.set_anonymous(WRITER, True, "Olena")
        sent = await services.stories.submit(WRITER)
        assert (sent.text, sent.anonymous, sent.status) == (STORY, True, "pending")
    finally:
        await services.db.close()


async def test_proposals_move_to_their_own_table_with_their_rounds(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    db = await database_before(tmp_path, 13)
    now = "2026-11-30T10:00:00Z"
    for person in (PROPOSER, SENDER):
        await db.execute(
            "INSERT INTO people (telegram_id, language, consented_at) VALUES (?, 'it', ?)",
            (person, now),
        )
    await db.execute(
        "INSERT INTO chapters (slug, position, created_at) VALUES ('stigma', 1, ?)", (now,)
    )
    chapter = await db.fetchval("SELECT id FROM chapters")
    for row in (
        (1, None, "proposal", "Shared meals", "A dinner each month.", "approved", None, now),
        (2, SENDER, "story", None, STORY, "approved", 1, now),
        (3, PROPOSER, "proposal", "Language café", "Every week.", "pending", None, now),
    ):
        await db.execute(
            "INSERT INTO stories (id, author_id, kind, title, text, status, anonymous,"
            " submitted_at, chapter_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?)",
            (*row, chapter, now, now),
        )
    await db.execute(
        "INSERT INTO rounds (id, title, opens_at, closes_at, created_by, created_at)"
        " VALUES (1, 'Spring vote', ?, '2026-12-30T10:00:00Z', 0, ?)",
        (now, now),
    )
    await db.execute("INSERT INTO round_proposals VALUES (1, 1, 0)")
    await db.close()

    services = Services.build(config, Database(config.database))
    await services.start()
    try:
        moved = await services.db.fetchall("SELECT id, title, status FROM proposals ORDER BY id")
        assert [tuple(row) for row in moved] == [
            (1, "Shared meals", "approved"),
            (3, "Language café", "pending"),
        ]
        assert [row[0] for row in await services.db.fetchall("SELECT id FROM stories")] == [2]
        voting = await services.votes.get_round(1)
        assert [p.title for p in voting.proposals] == ["Shared meals"]
        # Still one queue: the pending proposal waits for a moderator, under its old number.
        queued, waiting = await services.stories.queue(ADMIN_ID)
        assert queued is not None and (queued.id, queued.kind, waiting) == (3, Kind.PROPOSAL, 1)
        # New submissions are numbered after every old one, whichever table holds it.
        adopted = await services.votes.add_proposal(ADMIN_ID, chapter, "Buddies", "Pairs.")
        assert adopted == 4
    finally:
        await services.db.close()

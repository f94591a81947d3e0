"""Unfinished stories move to the drafts table on upgrade (migration 0013): what people had
written before the upgrade is where they left it, at the step it was at."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.db import MIGRATIONS_DIR, Database
from bot.services import Services
from bot.stories import Kind, Step
from tests.conftest import make_config

WRITER, PROPOSER, SENDER = 4101, 4102, 4103
STORY = "Our neighbours helped us find a flat, and taught us the bus routes."


async def test_drafts_written_before_the_upgrade_are_kept(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    before = tmp_path / "before"
    before.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if int(path.name[:4]) < 13:
            shutil.copy(path, before)
    db = Database(config.database)
    await db.open()
    await db.migrate(before)
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

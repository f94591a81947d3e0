"""Partner towns and manual chapters: seeded from the configuration, grown at run time."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import audit
from bot.config import SLUG_PATTERN, ChapterConfig, TownConfig
from bot.db import Database, Transaction, now_text
from bot.errors import InvalidInput, NotFound
from bot.i18n import LANGUAGES, N_
from bot.roles import Authorizer, Permission

MAX_TOWN_NAME = 64
MAX_CHAPTER_TITLE = 80


@dataclass(frozen=True)
class Town:
    id: int
    slug: str
    name: str
    timezone: str


class TownService:
    def __init__(self, db: Database, authz: Authorizer) -> None:
        self._db = db
        self._authz = authz

    async def forget(self, tx: Transaction, telegram_id: int) -> bool:
        """/deleteme: the towns they added stay, the adder unnamed."""
        tx.defer("UPDATE towns SET added_by = NULL WHERE added_by = ?", (telegram_id,))
        return False

    async def seed(
        self, towns: tuple[TownConfig, ...], chapters: tuple[ChapterConfig, ...]
    ) -> None:
        """Add the configured towns and chapters that the database does not have yet.

        Existing rows are left alone: after the first start, the people entitled to change them
        do so at run time, and a restart must not undo their work.
        """
        now = now_text()
        async with self._db.transaction() as tx:
            for town in towns:
                await tx.execute(
                    "INSERT OR IGNORE INTO towns (slug, name, timezone, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (town.slug, town.name, town.timezone, now),
                )
            position = int(await tx.fetchval("SELECT IFNULL(MAX(position), 0) FROM chapters"))
            for chapter in chapters:
                exists = await tx.fetchval("SELECT 1 FROM chapters WHERE slug = ?", (chapter.slug,))
                if exists:
                    continue
                position += 1
                chapter_id = await tx.insert(
                    "INSERT INTO chapters (slug, position, created_at) VALUES (?, ?, ?)",
                    (chapter.slug, position, now),
                )
                await tx.executemany(
                    "INSERT INTO chapter_titles (chapter_id, language, title) VALUES (?, ?, ?)",
                    [(chapter_id, lang, title) for lang, title in chapter.titles.items()],
                )

    async def list_towns(self) -> list[Town]:
        rows = await self._db.fetchall("SELECT id, slug, name, timezone FROM towns ORDER BY name")
        return [Town(**dict(row)) for row in rows]

    async def get(self, town_id: int) -> Town:
        row = await self._db.fetchone(
            "SELECT id, slug, name, timezone FROM towns WHERE id = ?", (town_id,)
        )
        if row is None:
            raise NotFound(N_("That partner town does not exist (any more)."))
        return Town(**dict(row))

    async def by_slug(self, slug: str) -> Town:
        row = await self._db.fetchone(
            "SELECT id, slug, name, timezone FROM towns WHERE slug = ?", (slug.lower(),)
        )
        if row is None:
            # What was typed goes back as written: escaped, for the message is HTML.
            raise NotFound(N_("There is no partner town called “{slug}”."), slug=escape(slug))
        return Town(**dict(row))

    async def add_town(self, actor_id: int, slug: str, timezone: str, name: str) -> Town:
        await self._authz.require(actor_id, Permission.MANAGE_TOWNS)
        slug = slug.strip().lower()
        name = " ".join(name.split())
        if not SLUG_PATTERN.match(slug):
            raise InvalidInput(
                N_("The short name must be lowercase letters, digits, - or _ (at most 32).")
            )
        if not name or len(name) > MAX_TOWN_NAME:
            raise InvalidInput(
                N_("The town's name must be 1 to {limit} characters."), limit=MAX_TOWN_NAME
            )
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(
                N_("“{timezone}” is not a time zone I know. Use a name like Europe/Rome."),
                timezone=escape(timezone),
            ) from None
        async with self._db.transaction() as tx:
            if await tx.fetchval("SELECT 1 FROM towns WHERE slug = ?", (slug,)):
                raise InvalidInput(N_("A partner town called “{slug}” exists already."), slug=slug)
            town_id = await tx.insert(
                "INSERT INTO towns (slug, name, timezone, added_by, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (slug, name, timezone, actor_id, now_text()),
            )
            audit.record(tx, actor_id, "add_town", slug, timezone)
        return Town(id=town_id, slug=slug, name=name, timezone=timezone)

    async def add_chapter(self, actor_id: int, slug: str, language: str, title: str) -> int:
        """A new chapter of the manual, at the end; network coordinators only."""
        async with self._db.transaction() as tx:
            await self._authz.require(actor_id, Permission.COORDINATE, None, tx)
            slug = slug.strip().lower()
            if not SLUG_PATTERN.match(slug):
                raise InvalidInput(
                    N_("The short name must be lowercase letters, digits, - or _ (at most 32).")
                )
            title = _chapter_title(language, title)
            if await tx.fetchval("SELECT 1 FROM chapters WHERE slug = ?", (slug,)):
                raise InvalidInput(N_("A chapter called “{slug}” exists already."), slug=slug)
            position = int(await tx.fetchval("SELECT IFNULL(MAX(position), 0) + 1 FROM chapters"))
            chapter_id = await tx.insert(
                "INSERT INTO chapters (slug, position, created_at) VALUES (?, ?, ?)",
                (slug, position, now_text()),
            )
            await tx.execute(
                "INSERT INTO chapter_titles (chapter_id, language, title) VALUES (?, ?, ?)",
                (chapter_id, language, title),
            )
            audit.record(tx, actor_id, "add_chapter", slug)
        return chapter_id

    async def set_chapter_title(
        self, actor_id: int, chapter_id: int, language: str, title: str
    ) -> None:
        """A chapter's title in one language (a translation, or a better wording)."""
        async with self._db.transaction() as tx:
            await self._authz.require(actor_id, Permission.COORDINATE, None, tx)
            title = _chapter_title(language, title)
            if not await tx.fetchval("SELECT 1 FROM chapters WHERE id = ?", (chapter_id,)):
                raise NotFound(N_("That chapter does not exist (any more)."))
            await tx.execute(
                "INSERT INTO chapter_titles (chapter_id, language, title) VALUES (?, ?, ?)"
                " ON CONFLICT (chapter_id, language) DO UPDATE SET title = excluded.title",
                (chapter_id, language, title),
            )
            audit.record(tx, actor_id, "chapter_title", str(chapter_id), language)


def _chapter_title(language: str, title: str) -> str:
    if language not in LANGUAGES:
        raise InvalidInput(N_("I do not know that language."))
    title = " ".join(title.split())
    if not title or len(title) > MAX_CHAPTER_TITLE:
        raise InvalidInput(
            N_("The title must be 1 to {limit} characters."), limit=MAX_CHAPTER_TITLE
        )
    return title

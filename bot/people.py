"""Participants: consent, language, town, self-description, and their right to see and erase it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.db import Database, Transaction, now_text
from bot.errors import InvalidInput, NotRegistered
from bot.i18n import LANGUAGES, N_
from bot.towns import TownService


# Columns that name who did something: kept, with the actor unnamed (NOT NULL ones get 0).
class SelfDescription(StrEnum):
    RESIDENT = "resident"
    NEWCOMER = "newcomer"
    UNSAID = "unsaid"


# The self-descriptions as figures count them: "" for people who did not answer.
DESCRIPTIONS_IN_FIGURES: tuple[str, ...] = (*SelfDescription, "")
# The words for the enum, once: one person's answer, and a group of people in a figure
# ("" for people who did not answer). Translated where shown.
DESCRIPTION_OF_ONE: dict[str, str] = {
    SelfDescription.RESIDENT: N_("Resident"),
    SelfDescription.NEWCOMER: N_("Newcomer or migrant"),
    SelfDescription.UNSAID: N_("Prefer not to say"),
    "": N_("Not answered"),
}
DESCRIPTION_OF_GROUP: dict[str, str] = {
    SelfDescription.RESIDENT: N_("Residents"),
    SelfDescription.NEWCOMER: N_("Newcomers or migrants"),
    SelfDescription.UNSAID: N_("Prefer not to say"),
    "": N_("Not answered"),
}


@dataclass(frozen=True)
class Person:
    telegram_id: int
    language: str
    town_id: int | None
    other_town: bool
    self_description: SelfDescription | None
    consented_at: str

    @property
    def has_answered_town(self) -> bool:
        return self.town_id is not None or self.other_town


def _person(row: Any) -> Person:
    return Person(
        telegram_id=row["telegram_id"],
        language=row["language"],
        town_id=row["town_id"],
        other_town=bool(row["other_town"]),
        self_description=(
            SelfDescription(row["self_description"]) if row["self_description"] else None
        ),
        consented_at=row["consented_at"],
    )


# For other owners' changes: the people table's part of them, in their transaction ------------


async def require_known(tx: Transaction, telegram_id: int) -> None:
    """The person has joined (given consent); anyone else is asked to /start first."""
    if not await tx.fetchval("SELECT 1 FROM people WHERE telegram_id = ?", (telegram_id,)):
        raise NotRegistered()


async def reachable(
    reader: Database | Transaction,
    *,
    town_ids: Iterable[int] | None = None,
    language: str | None = None,
    among: Iterable[int] | None = None,
) -> list[int]:
    """Who the bot may write to (not blocked), narrowed to some towns, a language or a list."""
    sql = "SELECT telegram_id FROM people WHERE blocked_at IS NULL"
    params: list[Any] = []
    for column, values in (("town_id", town_ids), ("telegram_id", among)):
        if values is not None:
            chosen = sorted(set(values))
            sql += f" AND {column} IN ({', '.join('?' * len(chosen))})"
            params += chosen
    if language is not None:
        sql += " AND language = ?"
        params.append(language)
    rows = await reader.fetchall(sql + " ORDER BY telegram_id", params)
    return [row[0] for row in rows]


# Since when the person has blocked the bot: the first time it was found out.
_BLOCKED = "UPDATE people SET blocked_at = ? WHERE telegram_id = ? AND blocked_at IS NULL"


def mark_blocked_in(tx: Transaction, telegram_id: int, at: str) -> None:
    """The person blocked the bot (found when a message to them is refused)."""
    tx.defer(_BLOCKED, (at, telegram_id))


class PeopleService:
    def __init__(self, db: Database, towns: TownService) -> None:
        self._db = db
        self._towns = towns

    async def get(self, telegram_id: int) -> Person | None:
        row = await self._db.fetchone("SELECT * FROM people WHERE telegram_id = ?", (telegram_id,))
        return None if row is None else _person(row)

    async def require(self, telegram_id: int) -> Person:
        person = await self.get(telegram_id)
        if person is None:
            raise NotRegistered()
        return person

    async def give_consent(self, telegram_id: int, language: str) -> Person:
        """The first row about a person: written only when they agree to the privacy notice."""
        _check_language(language)
        await self._db.execute(
            "INSERT INTO people (telegram_id, language, consented_at) VALUES (?, ?, ?)"
            " ON CONFLICT (telegram_id) DO UPDATE SET language = excluded.language,"
            " blocked_at = NULL",
            (telegram_id, language, now_text()),
        )
        return await self.require(telegram_id)

    async def set_language(self, telegram_id: int, language: str) -> Person:
        _check_language(language)
        await self._update(
            telegram_id,
            "UPDATE people SET language = ? WHERE telegram_id = ?",
            (language, telegram_id),
        )
        return await self.require(telegram_id)

    async def set_town(self, telegram_id: int, town_id: int | None) -> Person:
        """Choose a partner town, or ``None`` for "other / none of these"."""
        if town_id is not None:
            await self._towns.get(town_id)
        await self._update(
            telegram_id,
            "UPDATE people SET town_id = ?, other_town = ? WHERE telegram_id = ?",
            (town_id, int(town_id is None), telegram_id),
        )
        return await self.require(telegram_id)

    async def set_self_description(self, telegram_id: int, value: str) -> Person:
        try:
            description = SelfDescription(value)
        except ValueError:
            raise InvalidInput() from None
        await self._update(
            telegram_id,
            "UPDATE people SET self_description = ? WHERE telegram_id = ?",
            (description.value, telegram_id),
        )
        return await self.require(telegram_id)

    async def mark_blocked(self, telegram_id: int, blocked: bool) -> None:
        if blocked:
            await self._db.execute(_BLOCKED, (now_text(), telegram_id))
        else:
            await self._db.execute(
                "UPDATE people SET blocked_at = NULL WHERE telegram_id = ?", (telegram_id,)
            )

    async def export(self, telegram_id: int) -> dict[str, Any]:
        """The person's profile, for /mydata (``Services.export_person`` adds the rest)."""
        person = await self._db.fetchone(
            "SELECT * FROM people WHERE telegram_id = ?",
            (telegram_id,),
        )
        town = None
        if person is not None and person["town_id"] is not None:
            town = (await self._towns.get(person["town_id"])).name
        return {
            "telegram_id": telegram_id,
            "profile": None
            if person is None
            else {
                "language": person["language"],
                "town": town,
                "other_town": bool(person["other_town"]),
                "self_description": person["self_description"],
                "consented_at": person["consented_at"],
                "blocked_the_bot_at": person["blocked_at"],
            },
        }

    async def forget(self, tx: Transaction, telegram_id: int) -> bool:
        """/deleteme, last of the owners (``Services.erase_person``): the profile itself."""
        return bool(await tx.execute("DELETE FROM people WHERE telegram_id = ?", (telegram_id,)))

    async def _update(self, telegram_id: int, sql: str, params: tuple[Any, ...]) -> None:
        if not await self._db.execute(sql, params):
            raise NotRegistered()


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise InvalidInput(N_("I do not know that language."))

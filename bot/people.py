"""Participants: consent, language, town, self-description, and their right to see and erase it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.db import Database, Transaction, now_text
from bot.errors import InvalidInput, NotRegistered
from bot.i18n import LANGUAGES, N_
from bot.towns import TownService

# Columns that name who did something: kept, with the actor unnamed (NOT NULL ones get 0).
ERASED_ACTORS = (
    ("audit_log", "actor_id", "NULL"),
    ("moderation_log", "moderator_id", "0"),
    ("stories", "decided_by", "NULL"),
    ("staff_roles", "granted_by", "0"),
    ("towns", "added_by", "NULL"),
    ("events", "created_by", "0"),
    ("broadcasts", "created_by", "0"),
    ("rounds", "created_by", "0"),
    ("pulse_surveys", "created_by", "0"),
)


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
        await self._db.execute(
            "UPDATE people SET blocked_at = ? WHERE telegram_id = ?",
            (now_text() if blocked else None, telegram_id),
        )

    async def export(self, telegram_id: int) -> dict[str, Any]:
        """Everything stored about one person, as they are entitled to see it."""
        person = await self._db.fetchone(
            "SELECT p.*, t.name AS town_name FROM people p LEFT JOIN towns t ON t.id = p.town_id"
            " WHERE p.telegram_id = ?",
            (telegram_id,),
        )
        roles = await self._db.fetchall(
            "SELECT r.role, t.name AS town, r.granted_at FROM staff_roles r"
            " LEFT JOIN towns t ON t.id = r.town_id WHERE r.telegram_id = ? ORDER BY r.id",
            (telegram_id,),
        )
        actions = await self._db.fetchall(
            "SELECT at, action, subject FROM audit_log WHERE actor_id = ? ORDER BY id",
            (telegram_id,),
        )
        events = await self._db.fetchall(
            "SELECT e.title, e.starts_at, r.status, r.display_name, r.joined_at, r.checked_in_at"
            " FROM registrations r JOIN events e ON e.id = r.event_id WHERE r.telegram_id = ?"
            " ORDER BY e.starts_at",
            (telegram_id,),
        )
        stories = await self._db.fetchall(
            "SELECT id, status, text, anonymous, signed_name, created_at, submitted_at,"
            " decided_at, reject_reason FROM stories WHERE author_id = ? ORDER BY id",
            (telegram_id,),
        )
        pulse = await self._db.fetchall(
            "SELECT a.survey_id AS survey_version, e.title AS after_event, x.position AS statement,"
            " x.answer, x.answered_at FROM pulse_answers x JOIN pulse_asks a ON a.id = x.ask_id"
            " LEFT JOIN events e ON e.id = a.event_id WHERE a.telegram_id = ?"
            " ORDER BY x.answered_at",
            (telegram_id,),
        )
        return {
            "telegram_id": telegram_id,
            "profile": None
            if person is None
            else {
                "language": person["language"],
                "town": person["town_name"],
                "other_town": bool(person["other_town"]),
                "self_description": person["self_description"],
                "consented_at": person["consented_at"],
                "blocked_the_bot_at": person["blocked_at"],
            },
            "events": [dict(row) for row in events],
            "stories": [dict(row) for row in stories],
            "staff_roles": [dict(row) for row in roles],
            "staff_actions": [dict(row) for row in actions],
            # The attitude pulse: answer 1-5, null for "prefer not to say".
            "pulse": [dict(row) for row in pulse],
        }

    async def erase(self, telegram_id: int, tx: Transaction | None = None) -> bool:
        """Delete the person and every trace of their id; return whether anything was stored.

        In the caller's transaction when given (``Services.erase_person`` erases the ballots'
        link in the same one). What stays holds no id, name or text of theirs: their approved
        anonymous stories, and the record of their staff actions with the actor unnamed (the
        privacy notice says so). With ``secure_delete`` on, the deleted bytes are zeroed.
        """
        if tx is None:
            async with self._db.transaction() as own:
                return await self.erase(telegram_id, own)
        person = (telegram_id,)
        # Approved anonymous stories stay, with no link to the person; the rest goes.
        tx.defer(
            "DELETE FROM stories WHERE author_id = ?"
            " AND NOT (status = 'approved' AND anonymous = 1)",
            person,
        )
        # Everything queued for them, sent or not: its chat id, dedupe key and subject
        # ("story:3") would link them to what stayed anonymous.
        tx.defer("DELETE FROM outbox WHERE chat_id = ?", person)
        # Where they acted as staff, the action stays and the actor goes.
        for table, column, unnamed in ERASED_ACTORS:
            tx.defer(f"UPDATE {table} SET {column} = {unnamed} WHERE {column} = ?", person)
        tx.defer(
            "UPDATE audit_log SET subject = NULL WHERE action IN ('grant', 'revoke')"
            " AND subject = ?",
            (str(telegram_id),),
        )
        roles = await tx.execute("DELETE FROM staff_roles WHERE telegram_id = ?", person)
        # Their attitude pulse: every time they were asked, and their answers (cascading).
        tx.defer("DELETE FROM pulse_asks WHERE telegram_id = ?", person)
        # Their registrations go with them (ON DELETE CASCADE), the kept stories lose the author.
        removed = await tx.execute("DELETE FROM people WHERE telegram_id = ?", person)
        return bool(removed or roles)

    async def _update(self, telegram_id: int, sql: str, params: tuple[Any, ...]) -> None:
        if not await self._db.execute(sql, params):
            raise NotRegistered()


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise InvalidInput(N_("I do not know that language."))

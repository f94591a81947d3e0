"""Unfinished conversations: the one place a flow keeps where a person is and what they answered.

Every answer is written before the next question is asked, so a restart (or a SIGKILL) in the
middle of /newevent or /broadcast loses nothing: the person's next message or tap continues
where they were. The answers are a flow's own typed record (a dataclass), stored as JSON by
msgspec and read back into the same type; a record that no longer fits its type (after an
upgrade changed it) is dropped rather than guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from bot.clock import Clock
from bot.db import Database, Transaction, from_db_time, to_db_time

A = TypeVar("A")


@dataclass(frozen=True)
class Draft:
    """Where one person is in one flow."""

    kind: str
    step: str
    updated_at: datetime
    answers: str  # the flow's typed answers as JSON; ``Drafts.typed`` reads them


class Drafts:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def current(self, telegram_id: int) -> Draft | None:
        """The flow the person touched last: the one their next typed message answers."""
        row = await self._db.fetchone(
            "SELECT kind, step, updated_at, answers FROM drafts WHERE telegram_id = ?"
            " ORDER BY turn DESC LIMIT 1",
            (telegram_id,),
        )
        return None if row is None else Draft(row[0], row[1], from_db_time(row[2]), row[3])

    async def load(
        self, telegram_id: int, kind: str, answers: type[A], tx: Transaction | None = None
    ) -> tuple[Draft, A] | None:
        """Where the person is in one flow and its typed answers, or None when there is none
        (or it no longer reads as ``answers``: then it is dropped)."""
        row = await (tx or self._db).fetchone(
            "SELECT step, updated_at, answers FROM drafts WHERE telegram_id = ? AND kind = ?",
            (telegram_id, kind),
        )
        if row is None:
            return None
        draft = Draft(kind, row[0], from_db_time(row[1]), row[2])
        typed = await self.typed(telegram_id, draft, answers, tx)
        return None if typed is None else (draft, typed)

    async def typed(
        self, telegram_id: int, draft: Draft, answers: type[A], tx: Transaction | None = None
    ) -> A | None:
        """The draft's answers as ``answers``; None (and the draft dropped) when they no longer
        read as that type, after an upgrade changed it."""
        try:
            return msgspec.json.decode(draft.answers, type=answers)
        except msgspec.ValidationError:
            await self.drop(telegram_id, draft.kind, tx)
            return None

    async def save(
        self, telegram_id: int, kind: str, step: str, answers: Any, tx: Transaction | None = None
    ) -> None:
        """Write the flow's place and answers (the first write starts it)."""
        await (tx or self._db).execute(
            "INSERT INTO drafts (telegram_id, kind, step, answers, updated_at, turn)"
            " VALUES (?, ?, ?, ?, ?,"
            " (SELECT IFNULL(MAX(turn), 0) + 1 FROM drafts WHERE telegram_id = ?))"
            " ON CONFLICT (telegram_id, kind) DO UPDATE SET step = excluded.step,"
            " answers = excluded.answers, updated_at = excluded.updated_at, turn = excluded.turn",
            (
                telegram_id,
                kind,
                step,
                msgspec.json.encode(answers).decode(),
                to_db_time(self._clock()),
                telegram_id,
            ),
        )

    async def drop(self, telegram_id: int, kind: str, tx: Transaction | None = None) -> bool:
        return bool(
            await (tx or self._db).execute(
                "DELETE FROM drafts WHERE telegram_id = ? AND kind = ?", (telegram_id, kind)
            )
        )

    async def export(self, telegram_id: int) -> dict[str, Any]:
        """/mydata: what the person was in the middle of, with what they had written."""
        rows = await self._db.fetchall(
            "SELECT kind, step, answers, updated_at FROM drafts WHERE telegram_id = ?"
            " ORDER BY turn",
            (telegram_id,),
        )
        return {
            "unfinished": [
                {
                    "what": row["kind"],
                    "step": row["step"],
                    "answers": msgspec.json.decode(row["answers"]),
                    "updated_at": row["updated_at"],
                }
                for row in rows
            ]
        }

    async def forget(self, tx: Transaction, telegram_id: int) -> bool:
        """/deleteme: whatever the person was in the middle of goes with them."""
        return bool(await tx.execute("DELETE FROM drafts WHERE telegram_id = ?", (telegram_id,)))

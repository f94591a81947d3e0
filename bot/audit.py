"""The audit log: who did what and when, written inside the change it describes."""

from __future__ import annotations

from typing import Any

from bot.db import Database, Transaction, now_text


def record(
    tx: Transaction, actor_id: int | None, action: str, subject: str, detail: str | None = None
) -> None:
    tx.defer(
        "INSERT INTO audit_log (at, actor_id, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
        (now_text(), actor_id, action, subject, detail),
    )


class AuditLog:
    """The log's reads and its part of an erasure (``record`` writes inside other changes)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def export(self, telegram_id: int) -> dict[str, Any]:
        rows = await self._db.fetchall(
            "SELECT at, action, subject FROM audit_log WHERE actor_id = ? ORDER BY id",
            (telegram_id,),
        )
        return {"staff_actions": [dict(row) for row in rows]}

    async def forget(self, tx: Transaction, telegram_id: int) -> bool:
        """/deleteme: where they acted as staff the action stays and the actor goes; a grant
        or revoke naming them loses its subject."""
        tx.defer("UPDATE audit_log SET actor_id = NULL WHERE actor_id = ?", (telegram_id,))
        tx.defer(
            "UPDATE audit_log SET subject = NULL WHERE action IN ('grant', 'revoke')"
            " AND subject = ?",
            (str(telegram_id),),
        )
        return False

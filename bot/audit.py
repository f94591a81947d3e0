"""The audit log: who did what and when, written inside the change it describes."""

from __future__ import annotations

from bot.db import Transaction, now_text


def record(
    tx: Transaction, actor_id: int | None, action: str, subject: str, detail: str | None = None
) -> None:
    tx.defer(
        "INSERT INTO audit_log (at, actor_id, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
        (now_text(), actor_id, action, subject, detail),
    )

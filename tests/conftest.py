"""Shared fixtures: a configuration, and services over a real SQLite file in a temporary folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import handlers  # noqa: F401  the running bot's python-telegram-bot settings (its __init__)
from bot.config import Config, parse_config
from bot.db import Database
from bot.services import Services

TOKEN = "123456:AAtest-token-for-the-bot-api-double"
ADMIN_ID = 900
RAW_CONFIG: dict[str, Any] = {
    "bot": {"default_language": "en", "timezone": "Europe/Tirane", "admins": [ADMIN_ID]},
    "towns": [
        {"slug": "shkoder", "name": "Shkodër", "timezone": "Europe/Tirane"},
        {"slug": "bari", "name": "Bari", "timezone": "Europe/Rome"},
    ],
    "chapters": [
        {"slug": "stigma", "title": {"en": "Fighting ethnic stigma", "sq": "Luftimi i stigmës"}},
    ],
}


def make_config(tmp_path: Path, **bot: Any) -> Config:
    raw = {**RAW_CONFIG, "bot": {**RAW_CONFIG["bot"], **bot}}
    env = {"BOT_TOKEN": TOKEN, "BASHKE_DATABASE": str(tmp_path / "bashke.sqlite3")}
    return parse_config(raw, env)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
async def services(config: Config) -> AsyncIterator[Services]:
    services = Services.build(config, Database(config.database))
    await services.start()
    try:
        yield services
    finally:
        await services.db.close()


class Statements:
    """The statements the database runs, as SQLite traces them (aiosqlite's public
    ``set_trace_callback``); ``executemany`` shows each row."""

    def __init__(self) -> None:
        self.run: list[str] = []
        self.recording = False

    def __call__(self, sql: str) -> None:
        if self.recording:
            self.run.append(" ".join(sql.split()))

    async def watch(self, db: Database) -> None:
        self.run.clear()
        self.recording = True
        await db.conn.set_trace_callback(self)

    def stop(self) -> list[str]:
        self.recording = False
        return list(self.run)


@pytest.fixture
def statements() -> Statements:
    return Statements()

"""Shared fixtures: a configuration, and services over a real SQLite file in a temporary folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
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


class Trips:
    """Counts the trips to aiosqlite's thread (every call reaches it through ``_execute``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = aiosqlite.Connection._execute

        async def counted(conn: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await real(conn, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Trips:
    return Trips(monkeypatch)

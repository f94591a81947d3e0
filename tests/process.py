"""The bot as its own process (``python -m bot run``) against the Bot API double, for kill tests:
start it, kill it with SIGKILL, and check the database it leaves behind."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.botapi import BotApiDouble
from tests.conftest import ADMIN_ID, TOKEN

DATABASE = "bashke.sqlite3"  # in the test's folder, where tests/conftest.py's make_config puts it


def config_toml(**bot: int | float | str) -> str:
    """The configuration of tests/conftest.py as a file, with extra [bot] settings."""
    extra = "".join(f"{key} = {json.dumps(value)}\n" for key, value in bot.items())
    return f"""[bot]
default_language = "en"
timezone = "Europe/Tirane"
admins = [{ADMIN_ID}]
{extra}
[[towns]]
slug = "shkoder"
name = "Shkodër"
timezone = "Europe/Tirane"

[[towns]]
slug = "bari"
name = "Bari"
timezone = "Europe/Rome"

[[chapters]]
slug = "stigma"
[chapters.title]
en = "Fighting ethnic stigma"
sq = "Luftimi i stigmës"
"""


def bot_environment(
    tmp_path: Path, double: BotApiDouble, config: str | None = None, **extra: str
) -> dict[str, str]:
    """The environment of a bot process over ``tmp_path``, talking to ``double``."""
    config_file = tmp_path / "config.toml"
    config_file.write_text(config or config_toml(), encoding="utf-8")
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "BASHKE_"))},
        "BOT_TOKEN": TOKEN,
        "BASHKE_CONFIG": str(config_file),
        "BASHKE_DATABASE": str(tmp_path / DATABASE),
        "BASHKE_API_BASE_URL": double.base_url,
        "BASHKE_API_BASE_FILE_URL": double.base_file_url,
        **extra,
    }


async def spawn(
    tmp_path: Path, env: dict[str, str], name: str, *args: str
) -> asyncio.subprocess.Process:
    """``python -m bot <args>`` (``run`` by default), its output kept in ``<name>.log``."""
    with (tmp_path / f"{name}.log").open("wb") as output:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *(args or ("run",)),
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=output,
        )


async def stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, as systemd would; SIGKILL if it is still there after 15 s."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=15)
        except TimeoutError:
            process.kill()
            await process.wait()


@asynccontextmanager
async def bot_process(
    tmp_path: Path,
    double: BotApiDouble,
    name: str,
    config: str | None = None,
    env: dict[str, str] | None = None,
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Yields once the bot is up. Whoever leaves the block alive is stopped with SIGTERM, as
    systemd would; the bot's output is kept in ``<name>.log`` to explain a failure."""
    start = len(double.calls)
    process = await spawn(tmp_path, bot_environment(tmp_path, double, config, **(env or {})), name)
    try:
        try:
            await double.wait_for(lambda c: c.method == "setMyCommands", timeout=20, start=start)
        except TimeoutError:
            log = (tmp_path / f"{name}.log").read_text()
            raise AssertionError(f"the bot did not start:\n{log}") from None
        yield process
    finally:
        await stop(process)


async def sigkill(process: asyncio.subprocess.Process, database: Path) -> None:
    """Kill the bot with SIGKILL (no shutdown, nothing flushed); the database it leaves behind
    must pass SQLite's integrity check."""
    process.kill()
    await process.wait()
    assert process.returncode == -signal.SIGKILL
    assert integrity(database) == "ok"


def integrity(database: Path) -> str:
    """What ``PRAGMA integrity_check`` finds: "ok", or one line per problem."""
    return "\n".join(str(row[0]) for row in query(database, "PRAGMA integrity_check"))


def query(database: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of a bot process's database, read beside it or after its death.

    Read-only, so the write-ahead log a killed bot left behind stays for the next start to
    recover, as it would in production.
    """
    uri = f"{database.as_uri()}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=10)) as db:
        return [tuple(row) for row in db.execute(sql, params)]

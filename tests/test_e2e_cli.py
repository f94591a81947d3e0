"""End to end: the bot started by its own CLI as a process, onboarding a person via the double."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot import PROJECT_ROOT
from bot.i18n import Catalogs
from tests.botapi import BotApiDouble, Call
from tests.conftest import TOKEN

SQ = Catalogs().translator("sq")
USER_ID = 4242
USER = {"id": USER_ID, "is_bot": False, "first_name": "Drita", "language_code": "sq"}


def _sent_to_user(method: str, text: str | None = None):  # type: ignore[no-untyped-def]
    def matches(call: Call) -> bool:
        if call.method != method or call.params.get("chat_id") not in (USER["id"], str(USER["id"])):
            return False
        return text is None or text in str(call.params.get("text", ""))

    return matches


async def test_the_cli_runs_the_bot_and_creates_the_database(tmp_path: Path) -> None:
    database = tmp_path / "data" / "bashke.sqlite3"
    async with BotApiDouble(token=TOKEN) as double:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "BASHKE_"))},
            "BOT_TOKEN": TOKEN,
            "BASHKE_CONFIG": str(PROJECT_ROOT / "config.example.toml"),
            "BASHKE_DATABASE": str(database),
            "BASHKE_API_BASE_URL": double.base_url,
            "BASHKE_API_BASE_FILE_URL": double.base_file_url,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await double.wait_for(lambda c: c.method == "setMyCommands", timeout=30)
            double.send_text(USER, "/start")
            await double.wait_for(_sent_to_user("sendMessage"), timeout=15)
            message_id, data = double.find_button(USER_ID, "Shqip")
            double.tap(USER, message_id, data)
            await double.wait_for(
                lambda c: (
                    c.method == "editMessageText"
                    and SQ.gettext("Do you agree?") in str(c.params.get("text"))
                ),
                timeout=15,
            )
            message_id, data = double.find_button(USER_ID, SQ.gettext("I agree"))
            double.tap(USER, message_id, data)
            await double.wait_for(
                lambda c: (
                    SQ.gettext("Which partner town are you part of?")
                    in str(c.params.get("text", ""))
                ),
                timeout=15,
            )
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                output, _ = await asyncio.wait_for(process.communicate(), timeout=20)
            except TimeoutError:
                process.kill()
                output, _ = await process.communicate()
        log = output.decode()
        assert process.returncode == 0, log
        assert TOKEN not in log  # the token never reaches the log
        assert double.violations == []
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT language FROM people WHERE telegram_id = 4242").fetchone() == (
            "sq",
        )
        assert db.execute("SELECT COUNT(*) FROM towns").fetchone() == (4,)


@pytest.mark.parametrize(
    "argv",
    [
        ["--config", "{path}", "check-config"],
        ["check-config", "--config", "{path}"],
        ["--log-level", "WARNING", "check-config", "--config", "{path}"],
        ["--config", "{path}", "check-config", "--log-level", "DEBUG"],
    ],
)
def test_the_global_options_go_before_or_after_the_command(argv: list[str], tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text((PROJECT_ROOT / "config.example.toml").read_text(encoding="utf-8"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "BASHKE_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot", *(arg.format(path=path) for arg in argv)],
        cwd=tmp_path,  # no config.toml here: only --config names the file
        env={**env, "BOT_TOKEN": TOKEN},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"{path}: the configuration is valid\n"

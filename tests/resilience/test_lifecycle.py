"""The process's life: one bot per database, and a clear end instead of a hang or a traceback
when Telegram says another bot polls (409), the token is revoked (401), the network is not
there at the start, or systemd asks it to stop (SIGTERM)."""

from __future__ import annotations

import asyncio
import socket
import stat
import time
from pathlib import Path

import pytest

from bot.db import DatabaseFileError
from bot.lock import AlreadyRunning, single_instance
from tests.botapi import BotApiDouble
from tests.conftest import TOKEN
from tests.flows.harness import sent_to
from tests.process import DATABASE, bot_environment, bot_process, spawn, stop

USER = {"id": 4343, "is_bot": False, "first_name": "Ilir", "language_code": "en"}


async def ended(process: asyncio.subprocess.Process, within: float) -> int:
    """The exit code, once the process ends by itself within ``within`` seconds."""
    try:
        return await asyncio.wait_for(process.wait(), timeout=within)
    except TimeoutError:
        await stop(process)
        raise AssertionError(f"still running after {within} s") from None


def last_words(tmp_path: Path, name: str) -> list[str]:
    """What the process wrote that is not an ordinary log line: what an operator must read."""
    lines = (tmp_path / f"{name}.log").read_text().splitlines()
    return [line for line in lines if not line[:4].isdigit()]


async def test_a_second_bot_on_the_same_database_refuses_to_start(tmp_path: Path) -> None:
    async with (
        BotApiDouble(token=TOKEN) as double,
        bot_process(tmp_path, double, "first") as first,
    ):
        second = await spawn(tmp_path, bot_environment(tmp_path, double), "second")
        assert await ended(second, within=15) != 0
        (line,) = last_words(tmp_path, "second")
        assert str(tmp_path / DATABASE) in line and "already running" in line
        lock = tmp_path / f"{DATABASE}.lock"
        assert stat.S_IMODE(lock.stat().st_mode) == 0o600
        # The first one goes on as before, alone.
        assert first.returncode is None
        double.send_text(USER, "/start")
        await double.wait_for(sent_to(4343, ""), timeout=15)
        polls = [c for c in double.calls if c.method == "getUpdates"]
        assert all(c.status == 200 for c in polls)


async def test_a_conflict_with_another_bot_stops_this_one_with_one_line(tmp_path: Path) -> None:
    async with BotApiDouble(token=TOKEN) as double, bot_process(tmp_path, double, "bot") as bot:
        double.fail_next(
            "getUpdates",
            status=409,
            description="Conflict: terminated by other getUpdates request; make sure that"
            " only one bot instance is running",
            count=1000,
        )
        assert await ended(bot, within=20) != 0
    (line,) = last_words(tmp_path, "bot")
    assert "another bot" in line and "409 Conflict" in line
    assert "Traceback" not in (tmp_path / "bot.log").read_text()


async def test_a_revoked_token_ends_the_process_with_one_line(tmp_path: Path) -> None:
    async with BotApiDouble(token=TOKEN) as double, bot_process(tmp_path, double, "bot") as bot:
        double.token = "123456:revoked-by-botfather-just-now"
        assert await ended(bot, within=20) != 0
    (line,) = last_words(tmp_path, "bot")
    assert "token" in line and "BotFather" in line
    log = (tmp_path / "bot.log").read_text()
    assert "Traceback" not in log and TOKEN.split(":")[1] not in log


async def test_a_token_revoked_while_polling_ends_the_process_with_one_line(
    tmp_path: Path,
) -> None:
    async with BotApiDouble(token=TOKEN) as double, bot_process(tmp_path, double, "bot") as bot:
        # Polling is under way: the bot has answered someone.
        double.send_text(USER, "/start")
        await double.wait_for(sent_to(4343, ""), timeout=15)
        double.token = "123456:revoked-by-botfather-just-now"
        # The long poll under way ends within its 10 s; the next one meets the 401.
        assert await ended(bot, within=20) != 0
    (line,) = last_words(tmp_path, "bot")
    assert "token" in line and "BotFather" in line
    log = (tmp_path / "bot.log").read_text()
    assert "Traceback" not in log and TOKEN.split(":")[1] not in log
    assert "Task was destroyed" not in log  # the shutdown went all the way


async def test_a_token_revoked_while_handling_an_update_ends_the_process_with_one_line(
    tmp_path: Path,
) -> None:
    async with BotApiDouble(token=TOKEN) as double, bot_process(tmp_path, double, "bot") as bot:
        double.send_text(USER, "/start")
        await double.wait_for(sent_to(4343, ""), timeout=15)
        double.fail_next("sendMessage", status=401, count=1000)
        double.send_text(USER, "/help")  # its answer meets the 401 before polling does
        assert await ended(bot, within=8) != 0
    (line,) = last_words(tmp_path, "bot")
    assert "token" in line and "BotFather" in line
    log = (tmp_path / "bot.log").read_text()
    assert "Traceback" not in log and "failed" not in log


async def test_a_token_refused_at_the_start_ends_the_process_with_one_line(tmp_path: Path) -> None:
    async with BotApiDouble(token="999:not-the-token-the-bot-was-given") as double:
        process = await spawn(tmp_path, bot_environment(tmp_path, double), "bot")
        assert await ended(process, within=20) != 0
    (line,) = last_words(tmp_path, "bot")
    assert "token" in line and "BotFather" in line
    assert "Traceback" not in (tmp_path / "bot.log").read_text()


async def test_sigterm_ends_the_bot_within_seconds(tmp_path: Path) -> None:
    async with BotApiDouble(token=TOKEN) as double, bot_process(tmp_path, double, "bot") as bot:
        asked = time.monotonic()
        await stop(bot)
        assert time.monotonic() - asked < 5
        assert bot.returncode == 0


async def test_sigterm_while_the_bot_api_is_slow_ends_the_bot_within_seconds(
    tmp_path: Path,
) -> None:
    async with BotApiDouble(token=TOKEN) as double, bot_process(tmp_path, double, "bot") as bot:
        double.delay_next("sendMessage", 60, count=100)
        double.send_text(USER, "/start")
        for _ in range(150):  # until the answer is held there
            if any(c.method == "sendMessage" for c in double.in_progress):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the bot did not answer")
        asked = time.monotonic()
        await stop(bot)
        assert time.monotonic() - asked < 8
        assert bot.returncode == 0


async def test_sigterm_after_the_bot_api_went_away_ends_the_bot_within_seconds(
    tmp_path: Path,
) -> None:
    async with BotApiDouble(token=TOKEN) as double, bot_process(tmp_path, double, "bot") as bot:
        double.send_text(USER, "/start")
        await double.wait_for(sent_to(4343, ""), timeout=15)  # polling is under way
        await double.stop()
        await asyncio.sleep(3)  # polling fails and retries
        asked = time.monotonic()
        await stop(bot)
        assert time.monotonic() - asked < 5
        assert bot.returncode == 0


async def test_no_network_at_the_start_is_one_line_naming_the_address(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    address = f"http://127.0.0.1:{port}/bot"
    async with BotApiDouble(token=TOKEN) as double:
        env = bot_environment(tmp_path, double, BASHKE_API_BASE_URL=address)
    process = await spawn(tmp_path, env, "bot")
    assert await ended(process, within=30) != 0
    (line,) = last_words(tmp_path, "bot")
    assert address in line
    log = (tmp_path / "bot.log").read_text()
    assert "Traceback" not in log and TOKEN.split(":")[1] not in log


def test_the_lock_is_not_taken_through_a_symlink(tmp_path: Path) -> None:
    elsewhere = tmp_path / "someone-elses-file"
    elsewhere.write_text("keep me")
    elsewhere.chmod(0o644)
    (tmp_path / f"{DATABASE}.lock").symlink_to(elsewhere)
    with pytest.raises(DatabaseFileError, match="lock"), single_instance(tmp_path / DATABASE):
        pass
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o644


def test_the_lock_is_given_back_when_the_bot_ends(tmp_path: Path) -> None:
    with (
        single_instance(tmp_path / DATABASE),
        pytest.raises(AlreadyRunning),
        single_instance(tmp_path / DATABASE),
    ):
        pass
    with single_instance(tmp_path / DATABASE):
        pass

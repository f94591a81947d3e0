"""Logs never hold the token, the webhook secret, the button data of votes or text people send,
at any level: the bot run as a process with DEBUG logging, and the redaction on its own."""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from bot import logs
from bot.db import Database
from bot.i18n import Catalogs
from bot.services import Services
from tests.botapi import BotApiDouble
from tests.conftest import ADMIN_ID, TOKEN, make_config
from tests.flows.harness import sent_to
from tests.process import bot_process, config_toml

EN = Catalogs().translator("en")
VOTER_ID = 6101
VOTER = {"id": VOTER_ID, "is_bot": False, "first_name": "Arta", "language_code": "en"}
STORY = "On the night bus a stranger lent me her phone to call home."
SECRET = "webhook-secret_Xy7"
NETWORK = 6102


async def seed(tmp_path: Path) -> None:
    """A participant and an open vote, in the database the process will use."""
    config = make_config(tmp_path)
    services = Services.build(config, Database(config.database))
    await services.start()
    try:
        await services.people.give_consent(VOTER_ID, "en")
        await services.people.set_self_description(VOTER_ID, "unsaid")
        await services.staff.grant(ADMIN_ID, NETWORK, "coordinator")
        chapter = int(await services.db.fetchval("SELECT id FROM chapters LIMIT 1"))
        proposal = await services.votes.add_proposal(NETWORK, chapter, "Greeters", "At stations")
        await services.votes.open_round(
            NETWORK, "Spring vote", [proposal], services.clock() + timedelta(days=2)
        )
    finally:
        await services.db.close()


async def test_debug_logging_leaks_no_token_no_vote_and_no_text(tmp_path: Path) -> None:
    await seed(tmp_path)
    async with BotApiDouble(token=TOKEN) as double:
        env = {"BASHKE_LOG_LEVEL": "DEBUG", "BASHKE_WEBHOOK_SECRET": SECRET}
        async with bot_process(tmp_path, double, "debug", config_toml(), env) as process:
            double.send_text(VOTER, "/start vote_1")
            await double.wait_for(sent_to(VOTER_ID, "Greeters"), timeout=15)
            message_id, vote = double.find_button(VOTER_ID, EN.gettext("👍 Support"))
            double.tap(VOTER, message_id, vote)
            await double.wait_for(lambda c: c.method == "answerCallbackQuery", timeout=15)
            double.send_text(VOTER, "/story")
            await double.wait_for(sent_to(VOTER_ID, "Which chapter"), timeout=15)
            message_id, chapter = double.find_button(VOTER_ID, "Fighting ethnic stigma")
            start = len(double.calls)
            double.tap(VOTER, message_id, chapter)
            await double.wait_for(lambda c: c.method == "answerCallbackQuery", 15, start=start)
            start = len(double.calls)
            double.send_text(VOTER, STORY)
            await double.wait_for(sent_to(VOTER_ID, "anonymous"), timeout=15, start=start)
        assert process.returncode is not None
    log = (tmp_path / "debug.log").read_text()
    assert "DEBUG" in log  # the level was honoured: this is a debug log
    secret_of_token = TOKEN.split(":")[1]
    assert secret_of_token not in log
    assert SECRET not in log
    assert vote not in log
    assert STORY not in log


@pytest.mark.parametrize(
    "message",
    [
        f"POST http://127.0.0.1:1/bot{TOKEN}/getUpdates",
        f"token={TOKEN}",
        f"secret {SECRET} in a header",
        "a token of another shape 98765:AAH7hjk_lkjhgfdsaqwertyuiopzxcvbnm12345",
    ],
)
def test_the_redaction_hides_tokens_and_the_secret(
    message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("BASHKE_WEBHOOK_SECRET", SECRET)
    stream = io.StringIO()
    handler = logs.handler(stream)
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("%s", message)  # as an argument
        logger.warning(message.replace("%", "%%"))  # as the message itself
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "[redacted]" in written
    for secret in (TOKEN.split(":")[1], SECRET, "AAH7hjk_lkjhgfdsaqwertyuiopzxcvbnm12345"):
        assert secret not in written


def test_third_party_loggers_stay_above_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    logs.set_up("DEBUG")
    assert root.level == logging.DEBUG
    for name in ("telegram", "telegram.ext", "httpx", "httpcore", "aiosqlite", "apscheduler"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.INFO, name
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING


def test_a_log_call_with_wrong_arguments_neither_fails_nor_leaks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A library's log call whose arguments do not fit its message is still written, redacted,
    and the code that made it goes on (logging's own fallback would print the arguments)."""
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    stream = io.StringIO()
    handler = logs.handler(stream)
    logger = logging.getLogger("tests.redaction.unfit")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("calling %s with %s", f"http://127.0.0.1:1/bot{TOKEN}/getMe")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue() + capsys.readouterr().err
    assert "calling" in written and "[redacted]" in written
    assert TOKEN.split(":")[1] not in written

"""The suite reaches everything the bot has: a new conversation step, command or button that no
hostile lane meets fails here, and so does a corpus missing a category."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.db import Database
from bot.services import Services
from handlers import conversation
from handlers.application import build_application
from tests.conftest import make_config
from tests.hostile import corpus
from tests.hostile.commands import COMMAND_NAMES
from tests.hostile.driver import ROLES
from tests.hostile.states import STATES

ACTION = re.compile(r"^\^([a-z_]+)\(")


def handlers_of(tmp_path: Path) -> list[Any]:
    """Every handler of the application."""
    app = build_application(Services.build(make_config(tmp_path), Database(tmp_path / "x.db")))
    return [handler for group in app.handlers.values() for handler in group]


def test_every_conversation_state_is_reached(tmp_path: Path) -> None:
    handlers_of(tmp_path)  # every flow is declared by the time the application is built
    states = {(kind, step) for kind, flow in conversation.FLOWS.items() for step in flow.steps}
    reached = {state.conversation for state in STATES if state.conversation is not None}
    assert states, "no conversations found"
    assert sorted(states - reached, key=str) == [], "conversation states the suite never enters"
    assert sorted(reached - states, key=str) == [], "states the suite names that do not exist"


def test_every_command_is_sent(tmp_path: Path) -> None:
    commands = {
        command
        for handler in handlers_of(tmp_path)
        if isinstance(handler, CommandHandler)
        for command in handler.commands
    }
    assert commands - set(COMMAND_NAMES) == set()


def test_every_button_action_is_forged(tmp_path: Path) -> None:
    actions = set()
    for handler in handlers_of(tmp_path):
        if isinstance(handler, CallbackQueryHandler) and handler.pattern is not None:
            match = ACTION.match(getattr(handler.pattern, "pattern", ""))
            assert match, f"a button pattern the suite cannot read: {handler.pattern}"
            actions.add(match.group(1))
    forged = {case.value.split(":")[0] for case in corpus.CALLBACKS}
    assert actions and actions - forged == set(), "button actions no forged press reaches"


def test_every_role_meets_states_and_every_state_a_role() -> None:
    assert all(state.roles for state in STATES)
    assert {role for state in STATES for role in state.roles} == set(ROLES)


def test_the_corpus() -> None:
    ids = [case.id for case in corpus.CORPUS]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert len(corpus.CORPUS) >= 100
    categories = Counter(case.category for case in corpus.CORPUS)
    for category in (
        corpus.HTML,
        corpus.MARKDOWN,
        corpus.LENGTH,
        corpus.BIDI,
        corpus.INVISIBLE,
        corpus.COMBINING,
        corpus.EMOJI,
        corpus.CONTROL,
        corpus.PLANES,
        corpus.WHITESPACE,
        corpus.SQL,
        corpus.FORMAT,
        corpus.LONG_WORD,
        corpus.NEWLINES,
        corpus.CALLBACK,
        corpus.DEEP_LINK,
        corpus.ARGUMENTS,
        corpus.COMMAND_LINE,
    ):
        assert categories[category], f"no case of {category}"
    # Telegram's limit, in UTF-16 units, on both sides of it.
    lengths = {case.id: len(case.value.encode("utf-16-le")) // 2 for case in corpus.TEXTS}
    assert lengths["len-4096"] == lengths["len-emoji-4096-units"] == 4096
    assert lengths["len-4097"] == lengths["len-emoji-4097-units"] == 4097
    assert all(len(case.value.encode()) <= 64 for case in corpus.CALLBACKS)

"""Every command with the corpus's odd arguments, and every deep link, in every role."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.commands import (
    COMMAND_NAMES,
    CommandState,
    command_inputs,
    known_lines,
    link_inputs,
)
from tests.hostile.driver import ROLES, Session, report
from tests.hostile.world import People, build_world, hostile_bot


async def test_every_command_and_link_in_every_role(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with hostile_bot(tmp_path) as bot:
        people = People(bot, await build_world(bot.services))
        session = Session(bot, caplog, known_lines())
        lanes = []
        for role in ROLES:
            registered = role != "unknown"
            for command in (*COMMAND_NAMES, "start"):
                state = CommandState(
                    f"/{command}", (role,), "commands", registered, command=command
                )
                lane = await people.lane(role, state)
                lane.inputs.extend(
                    link_inputs(lane) if command == "start" else command_inputs(command)
                )
                lanes.append(lane)
        for lane in lanes:
            lane.where, lane.entered = lane.state.name, True
        await session.run(lanes)
        session.failures += session.final_failures()
        print(f"commands: {session.updates} updates in {session.rounds} rounds")
        assert not session.failures, report(session.failures)

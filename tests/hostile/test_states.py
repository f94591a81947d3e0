"""The corpus, typed and tapped, in every state of every role: onboarding, nothing going on,
moderation, stories and proposals, /newevent and editing or moving an event, /broadcast."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.conftest import Background
from tests.hostile.driver import report
from tests.hostile.world import feed_states, hostile_bot


@pytest.mark.parametrize("group", ["onboarding", "stories", "events", "broadcasts"])
async def test_every_state_in_every_role(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, background: Background, group: str
) -> None:
    if group in background.groups:
        result = await background.result(group)
        failures: list[str] = result["failures"]
        updates = result.get("updates")
    else:
        async with hostile_bot(tmp_path) as bot:
            session = await feed_states(bot, group, caplog)
            failures, updates = session.failures, session.updates
    print(f"{group}: {updates} updates")
    assert not failures, report(failures)

"""Groups of lanes run in a second process, so the suite uses both cores of the machine.

``python -m tests.hostile.background FOLDER GROUP...`` runs each group on a bot of its own,
one after the other, and writes ``FOLDER/GROUP.json``: the failures (error log records
included, caught as caplog catches them in the main process) and how many updates it took.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import traceback
from pathlib import Path
from typing import Any

from tests.hostile.driver import RecordList
from tests.hostile.world import feed_states, hostile_bot


async def run(group: str, folder: Path) -> dict[str, Any]:
    records = RecordList()
    logging.getLogger().addHandler(records)
    try:
        async with hostile_bot(folder) as bot:
            session = await feed_states(bot, group, records)
        return {"failures": session.failures, "updates": session.updates}
    finally:
        logging.getLogger().removeHandler(records)


def main(argv: list[str]) -> None:
    out = Path(argv[0])
    for group in argv[1:]:
        folder = out / group
        folder.mkdir()
        try:
            result = asyncio.run(run(group, folder))
        except BaseException:
            result = {"failures": [f"the {group} group did not run:\n{traceback.format_exc()}"]}
        (out / f"{group}.json.part").write_text(json.dumps(result))
        (out / f"{group}.json.part").rename(out / f"{group}.json")


if __name__ == "__main__":
    main(sys.argv[1:])

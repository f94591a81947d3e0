"""The second process of the hostile suite: started with the first hostile test, it runs the
groups in ``BACKGROUND`` while this process runs the others; their tests wait for it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot import PROJECT_ROOT

# The two heaviest groups; the commands and the other groups run meanwhile in this process.
BACKGROUND = ("events", "broadcasts")
WAIT_SECONDS = 600


@dataclass
class Background:
    folder: Path
    process: subprocess.Popen[bytes] | None
    groups: tuple[str, ...]

    async def result(self, group: str) -> dict[str, Any]:
        """The group's result, once the second process has written it."""
        path = self.folder / f"{group}.json"
        assert self.process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_SECONDS
        while not path.exists():
            if self.process.poll() is not None and not path.exists():
                log = (self.folder / "output.log").read_text(errors="replace")
                raise AssertionError(f"the second process ended without {group}:\n{log[-3000:]}")
            if loop.time() > deadline:
                raise AssertionError(f"no result for {group} within {WAIT_SECONDS} s")
            await asyncio.sleep(0.2)
        result: dict[str, Any] = json.loads(path.read_text())
        return result


@pytest.fixture(scope="session", autouse=True)
def background(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Background]:
    selected = {item.nodeid for item in request.session.items}
    groups = tuple(g for g in BACKGROUND if any(f"[{g}]" in nodeid for nodeid in selected))
    folder = tmp_path_factory.mktemp("background")
    process = None
    if groups:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), *sys.path])}
        with (folder / "output.log").open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.hostile.background", str(folder), *groups],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
    yield Background(folder, process, groups)
    if process is not None and process.poll() is None:
        process.kill()
        process.wait()

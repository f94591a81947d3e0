"""The Bot API double in a process of its own, for ``bench.outbox_rate``.

Run as ``python -m bench._double_process LATENCY``: it prints one JSON line with its URLs, serves
until a line arrives on stdin, then prints one JSON line with the arrival times
(``time.monotonic``, the same clock in every process) of the sendMessage calls and any calls
Telegram would have refused. Apart, the double's own work does not slow the sender it measures.
"""

from __future__ import annotations

import asyncio
import json
import sys

from tests.botapi import BotApiDouble
from tests.conftest import TOKEN


async def serve(latency: float) -> None:
    async with BotApiDouble(token=TOKEN) as double:
        double.latency = latency
        urls = {"base_url": double.base_url, "base_file_url": double.base_file_url}
        print(json.dumps(urls), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        sends = [call.at for call in double.calls_to("sendMessage") if call.ok]
        print(json.dumps({"sends": sends, "violations": double.violations}), flush=True)


if __name__ == "__main__":
    asyncio.run(serve(float(sys.argv[1])))

"""Update order: one person's updates in sequence, different people's at the same time."""

from __future__ import annotations

import asyncio

from telegram import CallbackQuery, Update, User

from handlers.processor import PerPersonUpdateProcessor


def _update(update_id: int, user_id: int) -> Update:
    user = User(user_id, "P", is_bot=False)
    return Update(update_id, callback_query=CallbackQuery(str(update_id), user, "chat"))


async def test_one_persons_updates_run_in_order_and_people_run_concurrently() -> None:
    processor = PerPersonUpdateProcessor(64)
    events: list[tuple[str, int, int]] = []
    running = 0
    most_at_once = 0

    async def handle(update_id: int, user_id: int) -> None:
        nonlocal running, most_at_once
        running += 1
        most_at_once = max(most_at_once, running)
        events.append(("start", user_id, update_id))
        await asyncio.sleep(0.02)
        events.append(("end", user_id, update_id))
        running -= 1

    jobs = []
    update_id = 0
    for _round in range(3):
        for user_id in (1, 2, 3, 4):
            update_id += 1
            jobs.append(
                processor.process_update(_update(update_id, user_id), handle(update_id, user_id))
            )
    await asyncio.gather(*jobs)

    for user_id in (1, 2, 3, 4):
        mine = [(kind, uid) for kind, who, uid in events if who == user_id]
        # start/end strictly alternate and ids rise: never two of one person's updates at once.
        assert [kind for kind, _ in mine] == ["start", "end"] * 3
        ids = [uid for kind, uid in mine if kind == "start"]
        assert ids == sorted(ids)
    assert most_at_once == 4
    assert processor.processed == 12
    assert processor._locks == {}  # idle people are forgotten

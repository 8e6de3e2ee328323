"""Gold items mixed into a trainer's stream end to end through the fake Bot API server: at a
gold rate of 0.5 (a seeded draw) gold items come among the ordinary ones, each once, and once
the trainer is paused in the batch (a live `gold_pauses` row) /next gives them nothing more
from it."""

from __future__ import annotations

import json
from pathlib import Path

from bot.clock import stamp
from storage.assignment import GOLD_DRAW
from tests.e2e import RunningBot, assignment_of
from tests.fakebot import FakeBotApi
from tests.test_e2e_undo import score_all, submit

ORDINARY, GOLD = 8, 4


def write_batch(tmp_path: Path) -> Path:
    path = tmp_path / "batch.jsonl"
    records = [
        {"id": f"o{n}", "prompt": f"Prompt {n}", "response": f"Answer {n}"}
        for n in range(1, ORDINARY + 1)
    ] + [
        {"id": f"g{n}", "prompt": f"Gold {n}", "response": "A", "gold": {"accuracy": [4, 5]}}
        for n in range(1, GOLD + 1)
    ]
    path.write_text("\n".join(json.dumps(r) for r in records), "utf-8")
    return path


async def test_gold_items_come_mixed_in_each_once_until_a_pause(
    api: FakeBotApi, nilai: RunningBot, tmp_path: Path
) -> None:
    await nilai.import_file(write_batch(tmp_path), overlap=1)
    await nilai.database.execute("UPDATE batches SET gold_rate = 0.5")
    user = api.user(2001, "Ayu", language_code="id")
    await nilai.onboard(user)
    GOLD_DRAW.seed(3)
    got: list[str] = []
    for _ in range(8):
        panel = await nilai.next_item(user)
        got.append(
            await nilai.database.fetchval(
                "SELECT i.external_id FROM assignments a JOIN items i ON i.id = a.item_id"
                " WHERE a.id = ?",
                (assignment_of(panel),),
            )
        )
        await score_all(api, user, panel, score=4)  # inside every gold range: never paused
        await submit(api, user, panel)
    gold = [external for external in got if external.startswith("g")]
    ordinary = [external for external in got if external.startswith("o")]
    assert gold and ordinary, got  # mixed: both kinds came
    assert len(set(got)) == len(got)  # never the same item twice
    assert ordinary == [f"o{n}" for n in range(1, len(ordinary) + 1)]  # in queue order
    assert gold == [f"g{n}" for n in range(1, len(gold) + 1)]

    batch_id = await nilai.count("SELECT id FROM batches")
    await nilai.database.execute(
        "INSERT INTO gold_pauses (trainer_id, batch_id, paused_at) VALUES (?, ?, ?)",
        (user.user_id, batch_id, stamp(nilai.clock.now)),
    )
    if await nilai.count("SELECT COUNT(*) FROM assignments WHERE status = 'active'"):
        panel = await nilai.next_item(user)  # the item sent after the last Submit: finished
        await score_all(api, user, panel, score=4)
        await submit(api, user, panel)
    assignments = await nilai.count("SELECT COUNT(*) FROM assignments")
    since = api.mark()
    await user.send("/next")
    reply = await user.wait_bot_message(since=since)
    await api.wait_idle(quiet=0.2)
    data = [button.get("callback_data", "") for row in reply.buttons() for button in row]
    assert not any(item.startswith("1s:") for item in data), reply.plain_text()  # no item
    assert await nilai.count("SELECT COUNT(*) FROM assignments") == assignments
    left = await nilai.count(
        "SELECT COUNT(*) FROM items i WHERE NOT EXISTS"
        " (SELECT 1 FROM assignments a WHERE a.item_id = i.id)"
    )
    assert left > 0  # items were left (ordinary or gold): the pause stopped them

"""The shared paced sender (handlers/paced_sends.py): every claimed row is delivered once and
every outcome reaches a claim or `take_finished` exactly once, however the sends interleave."""

from __future__ import annotations

import asyncio
import random
from types import SimpleNamespace
from typing import Any

import pytest

from handlers.paced_sends import PacedSends


async def leading() -> bool:
    return True  # one process: always the leader


async def test_every_outcome_is_recorded_once_while_sends_overlap_the_claims() -> None:
    rows = list(range(300))
    recorded: list[int] = []
    delivered: list[int] = []
    chance = random.Random(8)

    async def deliver(row: int) -> int:
        await asyncio.sleep(chance.random() / 200)  # slow sends still in flight at a claim
        delivered.append(row)
        return row

    sends: PacedSends[int, int] = PacedSends(SimpleNamespace(running=True), 1000, deliver, leading)
    pages = iter(rows[i : i + sends.page_size] for i in range(0, len(rows), sends.page_size))

    async def claim(finished: list[int]) -> list[int]:
        recorded.extend(finished)
        return next(pages, [])

    unsent = await sends.run(claim)
    recorded.extend(sends.take_finished())
    assert unsent == []
    assert sorted(delivered) == rows
    assert sorted(recorded) == rows  # none lost, none twice


async def test_a_stopping_bot_gets_back_the_rows_not_handed_out() -> None:
    app: Any = SimpleNamespace(running=True)
    sent: list[int] = []

    async def deliver(row: int) -> int:
        sent.append(row)
        if row == 2:
            app.running = False  # the bot is told to stop during the third send
        return row

    sends: PacedSends[int, int] = PacedSends(app, 1000, deliver, leading)
    pages = iter([[0, 1, 2, 3, 4, 5]])

    async def claim(finished: list[int]) -> list[int]:
        return next(pages, [])

    unsent = await sends.run(claim)
    assert set(unsent) | set(sent) == set(range(6))
    assert not set(unsent) & set(sent)
    assert unsent  # some rows were never handed out: they go back to due/pending


async def test_a_failed_claim_lets_the_sends_in_flight_finish_and_keeps_the_rest_unsent() -> None:
    """A claim that fails (the database, say) must not leave rows claimed forever: the sends
    already handed out finish and are kept, the outcomes handed to the failed claim are kept
    too (it recorded nothing), and the rows not handed out are returned."""
    app: Any = SimpleNamespace(running=True)
    delivered: list[int] = []

    async def deliver(row: int) -> int:
        if row:  # row 0 is done at once: its outcome is handed to the claim that fails
            await asyncio.sleep(0.01)
        delivered.append(row)
        return row

    sends: PacedSends[int, int] = PacedSends(app, 1000, deliver, leading)
    calls = 0

    async def claim(finished: list[int]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("database is locked")
        return list(range(sends.page_size))

    with pytest.raises(RuntimeError):
        await sends.run(claim)
    assert sorted(delivered + sends.unsent()) == list(range(sends.page_size))
    assert sorted(sends.take_finished()) == sorted(delivered)


async def test_a_process_that_no_longer_leads_claims_no_more_and_keeps_every_claimed_row() -> None:
    """Once another process leads (this one's lock lost while it lives), the feed stops before
    its next claim: what it claimed is sent or returned, and the outcomes wait to be recorded."""
    app: Any = SimpleNamespace(running=True)
    still_leading = iter([True, True])  # then, from the third claim on, no longer

    async def leads() -> bool:
        return next(still_leading, False)

    async def deliver(row: int) -> int:
        return row

    sends: PacedSends[int, int] = PacedSends(app, 1000, deliver, leads)
    claimed: list[int] = []
    recorded: list[int] = []

    async def claim(finished: list[int]) -> list[int]:
        recorded.extend(finished)
        page = list(range(len(claimed), len(claimed) + sends.page_size))
        claimed.extend(page)
        return page

    unsent = await sends.run(claim)
    recorded.extend(sends.take_finished())
    assert len(claimed) == 2 * sends.page_size  # no third claim
    assert sends.lost_leadership
    assert sorted(recorded + unsent) == claimed

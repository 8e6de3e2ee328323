"""Killed with SIGKILL again and again while trainers review: nothing acknowledged is lost.

The bot runs as an operator runs it (`python -m bot run`, seeded with the CLI) against the fake
Bot API. Trainers keep reviewing while the process is killed at random moments and started
again; what the fake server saw acknowledged is then held against the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from pathlib import Path

import pytest

from tests.crash_load import (
    BotProcess,
    Ledger,
    check_database,
    crowd_of,
    every_trainer_continues,
    promises,
    seed_with_cli,
)
from tests.fakebot import FakeBotApi


async def crash_while_reviewing(
    api: FakeBotApi, workdir: Path, *, trainers: int, kills: int, seed: int
) -> None:
    rng = random.Random(seed)
    code = seed_with_cli(workdir, 150, overlap=2, invites=trainers)
    bot = BotProcess(api, workdir, DAILY_QUOTA="1000")
    await bot.start()
    ledger = Ledger()
    crowd = crowd_of(api, ledger, rng, trainers, patience=3.0)
    working: list[asyncio.Task[None]] = []
    try:
        await bot.wait_polling()
        for trainer in crowd:
            await trainer.register(code)
        stop = asyncio.Event()
        working = [asyncio.create_task(trainer.work(stop)) for trainer in crowd]
        for kill in range(kills):
            await asyncio.sleep(rng.uniform(0.3, 2.0))  # somewhere in the middle of taps
            if kill % 3:  # or right at the riskiest moments: a tap committed, not answered;
                # an item leased (or a rewrite saved), its message not sent yet
                method = ("answerCallbackQuery", "sendMessage")[kill % 3 - 1]
                held = api.delay_next(method, 60)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(held.wait(), timeout=10)
            await bot.kill()
            api.clear_faults()
            await bot.start()
            await bot.wait_polling()
        await asyncio.sleep(1.0)  # a calm moment: everyone catches up
        stop.set()
        await asyncio.wait_for(asyncio.gather(*working), timeout=120)
        await api.wait_idle(quiet=0.3, timeout=30)

        await every_trainer_continues(crowd, bot.database)
        assert await bot.stop() == 0
    finally:
        for task in working:
            task.cancel()
        await asyncio.gather(*working, return_exceptions=True)
        await bot.close()

    promised = promises(api, ledger)
    counts = await check_database(bot.database, ledger, promised)
    assert counts["submitted"] > 0 and promised.scores, "the load did not get going"
    assert [trainer.misled for trainer in crowd] == [0] * trainers  # no "item above" toasts
    log = bot.log_text()
    assert api.token not in log and api.token.split(":", 1)[1] not in log
    assert bot.kills == kills and log.count("running as @") == kills + 1
    assert "Traceback" not in log and " ERROR " not in log  # a restart finds nothing wrong
    retries = sum(trainer.retries for trainer in crowd)
    held = sum(1 for call in api.calls if call.description == "client gave up")
    print(
        f"\n{kills} kills ({held} holding a request): {counts} stored; "
        f"{len(promised.scores)} scores and {len(promised.submits)} submits acknowledged; "
        f"{promised.answered_duplicates} taps answered 'already done' after a restart; "
        f"{retries} trainer retries"
    )


async def test_kill_9_a_few_times_while_trainers_review(api: FakeBotApi, tmp_path: Path) -> None:
    await crash_while_reviewing(api, tmp_path, trainers=3, kills=3, seed=6)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("seed", [1, 2])
async def test_kill_9_many_times_while_trainers_review(
    api: FakeBotApi, tmp_path: Path, seed: int
) -> None:
    await crash_while_reviewing(api, tmp_path, trainers=6, kills=20, seed=seed)

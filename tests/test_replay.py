"""Telegram delivers every update twice: the database ends as if each came once.

Three trainers go through the same kind of conversation (/next, scores, a changed score, flags
on and off, a rewrite and its edit, a note, Submit, Skip through its menu, an item left open).
Once delivered plainly, trainer after trainer; then with every update delivered again, the
copy right after the first or after later updates of others (some after a restart of the bot),
and the trainers' updates interleaved in a seeded random order. The review tables must end
identical.
"""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from handlers.callback_data import Action, encode
from tests.conftest import FakeClock
from tests.crash_load import panel_assignment
from tests.e2e import RunningBot
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser

TRAINERS = (2101, 2102, 2103)
ITEMS = [{"id": f"r-{n}", "prompt": f"Soal {n}?", "response": f"Jawab {n}."} for n in range(5)]

Step = Callable[[], Awaitable[dict[str, Any]]]


@dataclass
class Conversation:
    """One trainer's side of the chat: sends updates and finds the bot's messages they need."""

    api: FakeBotApi
    user: FakeUser
    panel_since: int = 0
    prompt_since: int = 0
    _panel: FakeMessage | None = None
    assignment: int | None = None
    rewrite: FakeMessage | None = None

    async def panel(self) -> FakeMessage:
        """The panel of the item shown since the last /next, Submit or Skip."""
        if self._panel is None:
            self._panel = await self.user.wait_bot_message(
                lambda m: panel_assignment(m) is not None, since=self.panel_since
            )
            self.assignment = panel_assignment(self._panel)
        return self._panel

    def expect_panel(self) -> None:
        self.panel_since, self._panel = self.api.mark(), None

    async def command(self, text: str) -> dict[str, Any]:
        self.expect_panel()
        message = await self.user.send(text)
        return await self.update_of("message", message)

    async def tap(self, action: Action, *args: int, new_panel: bool = False) -> dict[str, Any]:
        panel = await self.panel()
        assignment = self.assignment  # the skip menu's buttons have no Submit
        assert assignment is not None
        if new_panel:
            self.expect_panel()
        if action is Action.NOTE:
            self.prompt_since = self.api.mark()
        return await self.user.tap(panel, data=encode(action, assignment, *args))

    async def reply_rewrite(self, text: str) -> dict[str, Any]:
        self.rewrite = await self.user.reply(await self.panel(), text)
        return await self.update_of("message", self.rewrite)

    async def edit_rewrite(self, text: str) -> dict[str, Any]:
        assert self.rewrite is not None
        await self.user.edit(self.rewrite, text)
        return await self.update_of("edited_message", self.rewrite)

    async def reply_note(self, text: str) -> dict[str, Any]:
        prompt = await self.user.wait_bot_message(
            lambda m: bool(m.reply_markup and m.reply_markup.get("force_reply")),
            since=self.prompt_since,
        )
        return await self.update_of("message", await self.user.reply(prompt, text))

    async def update_of(self, kind: str, message: FakeMessage) -> dict[str, Any]:
        """The update carrying this message, as the bot fetched it (to deliver it again)."""

        def carries(update: dict[str, Any]) -> bool:
            body = update.get(kind) or {}
            return body.get("message_id") == message.message_id and (
                body.get("chat", {}).get("id") == message.chat_id
            )

        call = await self.api.wait_for_call(
            "getUpdates", lambda c: c.ok and any(carries(u) for u in c.result or [])
        )
        return next(u for u in call.result if carries(u))


def script(talk: Conversation, n: int) -> list[Step]:
    """The trainer's updates in their order; `n` varies the scores between trainers."""
    s = 1 + n  # 1..3
    return [
        lambda: talk.command("/next"),
        lambda: talk.tap(Action.SCORE, 0, s),
        lambda: talk.tap(Action.SCORE, 1, s + 1),
        lambda: talk.tap(Action.CRITERION, 0),
        lambda: talk.tap(Action.SCORE, 0, s + 2),  # a changed score
        lambda: talk.tap(Action.SCORE, 2, 5),
        lambda: talk.tap(Action.SCORE, 3, s),
        lambda: talk.tap(Action.FLAG, 0, 1),
        lambda: talk.tap(Action.FLAG, n + 1, 1),
        lambda: talk.tap(Action.FLAG, 0, 0),  # and one taken back
        lambda: talk.reply_rewrite(f"Jawaban lebih baik dari trainer {n}."),
        lambda: talk.edit_rewrite(f"Jawaban jauh lebih baik dari trainer {n}."),
        lambda: talk.tap(Action.NOTE),
        lambda: talk.reply_note(f"Catatan {n}: terlalu singkat."),
        lambda: talk.tap(Action.SUBMIT, new_panel=True),
        # the second item: scored, then skipped through the menu (with a change of mind)
        lambda: talk.tap(Action.SCORE, 0, 4),
        lambda: talk.tap(Action.SKIP_MENU),
        lambda: talk.tap(Action.BACK),
        lambda: talk.tap(Action.SKIP_MENU),
        lambda: talk.tap(Action.SKIP, n % 4, new_panel=True),
        # the third item stays open: two scores, /next shows it again, one more score
        lambda: talk.tap(Action.SCORE, 0, s),
        lambda: talk.tap(Action.SCORE, 1, 5 - n),
        lambda: talk.command("/next"),
        lambda: talk.tap(Action.SCORE, 2, 2),
        lambda: talk.tap(Action.SUBMIT),  # incomplete: asks for the missing score
    ]


async def run_conversations(
    tmp_path: Path, settings: Settings, name: str, *, seed: int | None
) -> dict[str, Any]:
    """Play every trainer's script; with a seed, interleaved at random and each update twice.
    Returns the canonical dump of the review tables."""
    rng = random.Random(seed)
    async with FakeBotApi() as api:
        own = replace(settings, database_path=tmp_path / f"{name}.db", default_overlap=3)
        nilai = RunningBot(api, own, FakeClock())
        await nilai.start()
        try:
            batch = tmp_path / "replay.jsonl"
            batch.write_text("\n".join(json.dumps(i) for i in ITEMS), "utf-8")
            await nilai.import_file(batch, name="replay", overlap=3)
            talks = []
            for n, user_id in enumerate(TRAINERS):
                user = api.user(user_id, f"Trainer {n}", language_code="en")
                await nilai.onboard(user)
                talks.append(Conversation(api, user))
            steps = {n: script(talk, n) for n, talk in enumerate(talks)}
            later: list[tuple[int, dict[str, Any]]] = []  # copies waiting for their turn
            # Once, midway, the bot restarts and Telegram resends everything so far (as after a
            # crash before confirming): the new process remembers nothing of it, only the
            # database does.
            restart_after = rng.randrange(10, sum(map(len, steps.values())) - 10)
            sent: list[dict[str, Any]] = []
            while any(steps.values()):
                if seed is not None and restart_after == 0:
                    await api.wait_idle(quiet=0.05)
                    await nilai.restart()
                    for update in sent:
                        api.redeliver(update)
                restart_after -= 1
                if seed is None:
                    n = next(n for n, todo in steps.items() if todo)
                else:
                    n = rng.choice([n for n, todo in steps.items() if todo])
                update = await steps[n].pop(0)()
                sent.append(update)
                if seed is None:
                    continue
                await delivered(api, update)
                if rng.random() < 0.5:
                    api.redeliver(update)  # the copy right after
                else:
                    later.append((rng.randint(1, 6), update))
                for index, (wait, copy) in enumerate(later):
                    later[index] = (wait - 1, copy)
                for _, copy in [entry for entry in later if entry[0] <= 0]:
                    api.redeliver(copy)
                later = [entry for entry in later if entry[0] > 0]
            for _, copy in later:
                api.redeliver(copy)
            await api.wait_idle(quiet=0.2, timeout=30)
            return await canonical_dump(nilai)
        finally:
            await nilai.stop()


async def delivered(api: FakeBotApi, update: dict[str, Any]) -> None:
    """Wait until the bot fetched the update: Telegram redelivers only what it handed out."""
    await api.wait_for_call(
        "getUpdates",
        lambda c: c.ok and any(u["update_id"] == update["update_id"] for u in c.result or []),
    )


async def canonical_dump(nilai: RunningBot) -> dict[str, Any]:
    """The review tables keyed by trainer and item instead of row ids (which follow the order
    trainers happened to ask in). Times come from the test's standing clock, so they are
    compared too; message ids are not, since a user's message can overtake a bot's."""
    db = nilai.database
    key = "a.trainer_id, i.external_id"
    join = "FROM assignments a JOIN items i ON i.id = a.item_id"

    async def rows(sql: str) -> list[tuple[Any, ...]]:
        return sorted(tuple(row) for row in await db.fetchall(sql))

    return {
        "assignments": await rows(
            f"SELECT {key}, a.status, a.assigned_at, a.lease_expires_at, a.submitted_at,"
            f" a.late, a.skip_reason, a.criterion {join}"
        ),
        "scores": await rows(
            f"SELECT {key}, s.criterion, s.score, s.updated_at {join}"
            " JOIN scores s ON s.assignment_id = a.id"
        ),
        "flags": await rows(f"SELECT {key}, f.flag {join} JOIN flags f ON f.assignment_id = a.id"),
        "judgments": await rows(
            f"SELECT {key}, j.note, j.rewrite, j.updated_at {join}"
            " JOIN judgments j ON j.assignment_id = a.id"
        ),
        "messages": await rows(
            f"SELECT {key}, m.chat_id, m.kind {join}"
            " JOIN assignment_messages m ON m.assignment_id = a.id"
        ),
        "items": await rows("SELECT external_id, done_count, complete FROM items"),
        "trainers": await rows(
            "SELECT user_id, role, status, language, daily_quota, reachable, created_at,"
            " last_seen_at FROM trainers"
        ),
        "handled updates": await db.fetchval("SELECT COUNT(*) FROM processed_updates"),
    }


async def replays_match_single_delivery(tmp_path: Path, settings: Settings, seeds: range) -> None:
    once = await run_conversations(tmp_path, settings, "once", seed=None)
    assert len(once["assignments"]) == 9 and once["items"][0][1:] == (3, 1)  # the script ran
    assert {row[2] for row in once["assignments"]} == {"submitted", "skipped", "active"}
    for seed in seeds:
        twice = await run_conversations(tmp_path, settings, f"twice-{seed}", seed=seed)
        for table, content in once.items():
            assert twice[table] == content, f"seed {seed}: {table} differs"


async def test_every_update_delivered_twice_changes_nothing(
    tmp_path: Path, settings: Settings
) -> None:
    await replays_match_single_delivery(tmp_path, settings, range(2))


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_every_update_delivered_twice_in_many_orders(
    tmp_path: Path, settings: Settings
) -> None:
    await replays_match_single_delivery(tmp_path, settings, range(2, 27))

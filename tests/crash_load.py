"""Scripted trainers that keep reviewing while the bot crashes, and what they were promised.

Shared by the crash test (the bot as a subprocess, SIGKILLed) and the fault tests. A trainer
behaves as a person on a phone would: /next, score the criterion the panel asks for, now and
then a flag or a rewrite, Submit; when a tap stays unanswered they tap again or send /next.
Every tap and reply is noted with the effect the trainer meant, so a test can hold the
database to what the fake server shows was acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bot.texts import JOIN_SECONDS
from handlers.callback_data import Action, InvalidCallbackData, decode, encode
from storage.database import Database
from tests.cli_runner import run_cli
from tests.e2e import agree_under
from tests.fakebot import FakeBotApi, FakeMessage, FakeUser

CRITERIA = ("accuracy", "language", "safety", "helpfulness")  # the default rubric, in order
FLAGS = ("factual_error", "unsafe", "biased", "personal_data", "other")

# Answers (English catalog) that say a tap's effect is stored: its own toast, or "Already
# done" for a tap that was handled before a crash and is now delivered again.
DUPLICATE = "Already done ✓"
SUBMITTED = ("Submitted, thank you! 🙌", "This item is already submitted ✓", DUPLICATE)
SAVED_REPLY = ("✅ Rewrite saved", "✅ Rewrite updated")
ITEM_OPEN = "Your open item is just above"
REPLY_REFUSED = ("💡", "ℹ️")  # not linked to an item (yet), or the item is finished


# -- the bot as an operator runs it ----------------------------------------------------------


class BotProcess:
    """`python -m bot run` against the fake server, started again after each kill.

    stdout and stderr of every run go to one log file, so nothing is lost with the process.
    """

    def __init__(self, api: FakeBotApi, workdir: Path, **settings: str) -> None:
        self.api = api
        self.workdir = workdir
        self.log_path = workdir / "bot.log"
        self.settings = settings
        self.process: asyncio.subprocess.Process | None = None
        self.started_at_call = 0
        self.starts = 0
        self.kills = 0
        self._log: IO[bytes] | None = None

    @property
    def database(self) -> Path:
        return self.workdir / "data" / "nilai.db"

    def environment(self) -> dict[str, str]:
        return self.api.bot_environment(self.database, DEFAULT_LANGUAGE="en", **self.settings)

    async def start(self) -> None:
        if self._log is None:
            self._log = open(self.log_path, "ab")  # noqa: ASYNC230, SIM115 - kept across restarts
        self.started_at_call = self.api.mark()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=self.workdir,
            env=self.environment(),
            stdout=self._log,
            stderr=self._log,
        )
        self.starts += 1

    async def wait_polling(self, timeout: float = 60.0) -> None:  # noqa: ASYNC109
        """Until this run asks for updates (deleteWebhook comes right before the first poll)."""
        await self.api.wait_for_call("deleteWebhook", since=self.started_at_call, timeout=timeout)

    async def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as in a power cut of the process."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.kills += 1

    async def stop(self) -> int:
        """SIGTERM, as an operator stops it; the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout=30)
        finally:
            await self.close()

    async def close(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")


async def wait_serving(port: int, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    """Until something accepts connections on 127.0.0.1:`port` (a bot's webhook server)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"no bot serves on port {port}") from None
            await asyncio.sleep(0.1)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return


def seed_with_cli(workdir: Path, items: int, *, overlap: int, invites: int, **env: str) -> str:
    """A batch and an invite made with the CLI, as an operator does before the first start
    (with `env`, e.g. DATABASE_URL); returns the invite code."""
    batch = workdir / "crash.jsonl"
    lines = [
        json.dumps({"id": f"q-{n}", "prompt": f"Pertanyaan {n}?", "response": f"Jawaban {n}."})
        for n in range(1, items + 1)
    ]
    batch.write_text("\n".join(lines) + "\n", "utf-8")
    imported = run_cli(
        workdir, "import", str(batch), "--batch", "crash", "--overlap", str(overlap), **env
    )
    assert imported.returncode == 0, imported.stderr
    invite = run_cli(workdir, "invite", "--uses", str(invites), "--days", "1", **env)
    assert invite.returncode == 0, invite.stderr
    return invite.stdout.split()[-1]


# -- what the trainers did ---------------------------------------------------------------------


@dataclass
class Reply:
    """A rewrite sent as a reply to an item message."""

    chat_id: int
    message_id: int
    assignment_id: int
    text: str


@dataclass
class Ledger:
    """What every trainer meant: one score per (assignment, criterion), flags only turned on,
    one rewrite text per assignment. Which of it was acknowledged is read from the fake."""

    scores: dict[tuple[int, int], int] = field(default_factory=dict)
    flags: dict[int, set[int]] = field(default_factory=dict)
    rewrites: dict[int, str] = field(default_factory=dict)
    taps: dict[str, tuple[Action, int, tuple[int, ...]]] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)


@dataclass
class Promises:
    """Everything the fake server saw acknowledged, by kind."""

    scores: dict[tuple[int, int], int]
    flags: set[tuple[int, int]]
    rewrites: dict[int, str]
    submits: set[int]
    submit_taps: set[int]
    answered_duplicates: int


def promises(api: FakeBotApi, ledger: Ledger) -> Promises:
    """Read the acknowledgements from the fake's records of answers and replies."""
    scores: dict[tuple[int, int], int] = {}
    flags: set[tuple[int, int]] = set()
    submits: set[int] = set()
    duplicates = 0
    for query_id, (action, assignment, args) in ledger.taps.items():
        answer = api.callback(query_id).answer
        toast = "" if answer is None else str(answer.params.get("text") or "")
        duplicates += toast == DUPLICATE
        if action is Action.SCORE and (toast == DUPLICATE or toast.endswith(f": {args[1]}")):
            scores[(assignment, args[0])] = args[1]
        elif action is Action.FLAG and (toast == DUPLICATE or toast.startswith("Flag on")):
            flags.add((assignment, args[0]))
        elif action is Action.SUBMIT and toast in SUBMITTED:
            submits.add(assignment)
    # A confirmation is not a quoted reply (private chat): it answers the newest reply before
    # it in the chat, which is for the same item as any unconfirmed one before (see rewrite()).
    rewrites: dict[int, str] = {}
    for reply in ledger.replies:
        later = [
            m
            for m in api.chat_messages(reply.chat_id)
            if m.from_bot and m.message_id > reply.message_id
        ]
        confirm = next((m for m in later if _is_rewrite_answer(m)), None)
        if confirm is not None and confirm.plain_text().startswith(SAVED_REPLY):
            rewrites[reply.assignment_id] = reply.text
    submit_taps = {aid for action, aid, _ in ledger.taps.values() if action is Action.SUBMIT}
    return Promises(scores, flags, rewrites, submits, submit_taps, duplicates)


# -- a trainer ---------------------------------------------------------------------------------


def _callbacks(message: FakeMessage) -> list[tuple[str, Any]]:
    found = []
    for row in message.buttons():
        for button in row:
            data = button.get("callback_data")
            with contextlib.suppress(InvalidCallbackData):
                found.append((data, decode(data)))
    return found


def panel_assignment(message: FakeMessage) -> int | None:
    """The assignment behind a message's rating buttons; None if it has none."""
    for _, callback in _callbacks(message):
        if callback.action is Action.SUBMIT:
            return callback.assignment_id
    return None


def shown_scores(panel: FakeMessage) -> dict[int, int]:
    """criterion index -> score, as the panel's criterion buttons show them ("Accuracy 4")."""
    shown = {}
    for row in panel.buttons():
        for button in row:
            with contextlib.suppress(InvalidCallbackData):
                callback = decode(button.get("callback_data"))
                last = button["text"].rsplit(" ", 1)[-1]
                if callback.action is Action.CRITERION and last.isdigit():
                    shown[callback.args[0]] = int(last)
    return shown


class ScriptedTrainer:
    """One trainer with a phone and some patience (seconds before tapping again)."""

    def __init__(
        self, api: FakeBotApi, user: FakeUser, ledger: Ledger, rng: random.Random, patience: float
    ) -> None:
        self.api = api
        self.user = user
        self.ledger = ledger
        self.rng = rng
        self.patience = patience
        self.finished: set[int] = set()  # assignments this trainer knows are done
        self.flagged: dict[int, set[int]] = {}  # flags the bot confirmed, by assignment
        self.rewritten: set[int] = set()  # assignments whose rewrite the bot confirmed
        self.all_done = False
        self.retries = 0
        self.misled = 0
        self._last_reply = -1e9  # loop time of this trainer's last rewrite reply

    def current_panel(self) -> FakeMessage | None:
        """The newest rating panel in the chat whose item is not known to be finished."""
        for message in reversed(self.user.bot_messages()):
            assignment = panel_assignment(message)
            if assignment is not None:
                return None if assignment in self.finished else message
        return None

    async def register(self, code: str) -> None:
        since = self.api.mark()
        await self.user.send(f"/start {code}")
        welcome = await self.user.wait_bot_message(since=since, timeout=60)
        await agree_under(self.api, self.user, welcome, timeout=60)

    async def work(self, stop: asyncio.Event) -> None:
        """Review until told to stop (finishing the action in hand) or no items are left."""
        while not stop.is_set() and not self.all_done:
            panel = self.current_panel()
            if panel is None:
                await self.tap_next_button() or await self.ask_for_item()
            else:
                await self.act_on(panel)

    async def tap_next_button(self) -> bool:
        """Sometimes a person taps Next (under the welcome) instead of sending /next; True
        if that brought the item. No item is open on screen here, so a toast pointing to one
        "just above" would send them looking for nothing: counted in `misled`."""
        buttons = [
            message
            for message in self.user.bot_messages()
            if any(cb.action is Action.NEXT for _, cb in _callbacks(message))
        ]
        if not buttons or self.rng.random() < 0.5:
            return False
        since = self.api.mark()
        update = await self.user.tap(buttons[-1], data=encode(Action.NEXT))
        toast = await self._wait_answer(update["callback_query"]["id"])
        if toast is not None and toast.startswith(ITEM_OPEN):
            # one's own earlier updates are all handled by now, so their item would show
            self.misled += self.current_panel() is None
            return False
        message = await self._wait_bot_message(since, _is_panel_or_all_done)
        return message is not None and panel_assignment(message) is not None

    async def ask_for_item(self) -> bool:
        """/next until a panel or 'all done' arrives; True if a panel did."""
        while True:
            since = self.api.mark()
            await self.user.send("/next")
            message = await self._wait_bot_message(since, _is_panel_or_all_done)
            if message is None:
                self.retries += 1
                continue
            if panel_assignment(message) is None:
                self.all_done = True
                return False
            return True

    async def act_on(self, panel: FakeMessage) -> None:
        assignment = panel_assignment(panel)
        assert assignment is not None
        if assignment not in self.ledger.flags:  # what this trainer will think of the item
            wanted = self.rng.choice((0, 0, 0, 1, 2))
            self.ledger.flags[assignment] = set(self.rng.sample(range(len(FLAGS)), wanted))
            if self.rng.random() < 0.3:
                self.ledger.rewrites[assignment] = f"Jawaban yang lebih baik ({assignment})."
        scoring = [cb for _, cb in _callbacks(panel) if cb.action is Action.SCORE]
        flags = self.ledger.flags[assignment] - self.flagged.setdefault(assignment, set())
        if scoring:
            criterion = scoring[0].args[0]
            score = self.ledger.scores.setdefault((assignment, criterion), self.rng.randint(1, 5))
            await self.tap(panel, Action.SCORE, assignment, criterion, score)
        elif assignment in self.ledger.rewrites and assignment not in self.rewritten:
            await self.rewrite(panel, assignment)
        elif flags:
            flag = min(flags)
            if (await self.tap(panel, Action.FLAG, assignment, flag, 1)).startswith("Flag on"):
                self.flagged[assignment].add(flag)
        else:
            toast = await self.tap(panel, Action.SUBMIT, assignment)
            if toast in SUBMITTED:
                self.finished.add(assignment)

    async def tap(self, panel: FakeMessage, action: Action, assignment: int, *args: int) -> str:
        """Tap until answered; an unanswered tap is repeated, or the trainer sends /next."""
        data = encode(action, assignment, *args)
        while True:
            since = self.api.mark()
            update = await self.user.tap(panel, data=data)
            query_id = update["callback_query"]["id"]
            self.ledger.taps[query_id] = (action, assignment, args)
            toast = await self._wait_answer(query_id)
            if toast is not None:
                if action is Action.SUBMIT and toast in SUBMITTED:
                    await self._wait_next_item(since)
                else:  # a person looks at the panel before the next tap
                    await self._wait_panel_edit(panel, since)
                return toast
            self.retries += 1
            if self.rng.random() < 0.5:
                await self.ask_for_item()  # the item comes again, with what was saved
                return ""

    async def rewrite(self, panel: FakeMessage, assignment: int) -> None:
        """Reply to the item with a better answer; sent again if not confirmed."""
        text = self.ledger.rewrites[assignment]
        # Sent again only after a pause longer than JOIN_SECONDS: a reply within it is, by
        # design, the next part of the same text (a long text split by the app), which a
        # person re-sending an unconfirmed rewrite does not mean (and this ledger would not
        # know). On a loaded machine the wait for the first answer can end inside that window.
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, self._last_reply + JOIN_SECONDS + 1.0 - loop.time()))
        since = self.api.mark()
        self._last_reply = loop.time()
        reply = await self.user.reply(panel, text)
        self.ledger.replies.append(Reply(self.user.chat_id, reply.message_id, assignment, text))
        confirm = await self._wait_bot_message(since, _is_rewrite_answer)
        if confirm is not None and confirm.plain_text().startswith(SAVED_REPLY):
            self.rewritten.add(assignment)
            await self._wait_panel_edit(panel, since)
            return
        # unanswered (the bot was down) or not linked to the item: /next, then reply again
        self.retries += 1
        await self.ask_for_item()

    async def _wait_next_item(self, since: int) -> None:
        """After Submit the next item comes by itself; if not (a crash), /next."""
        if await self._wait_bot_message(since, _is_panel_or_all_done) is None:
            await self.ask_for_item()

    async def _wait_panel_edit(self, panel: FakeMessage, since: int) -> None:
        with contextlib.suppress(TimeoutError):
            await self.api.wait_for_call(
                "editMessageText",
                lambda c: (
                    c.chat_id == panel.chat_id and c.params.get("message_id") == panel.message_id
                ),
                since=since,
                timeout=min(self.patience, 1.0),  # none comes when nothing changed
            )

    async def _wait_answer(self, query_id: str) -> str | None:
        try:
            call = await self.api.wait_for_call(
                "answerCallbackQuery",
                lambda c: c.ok and c.params.get("callback_query_id") == query_id,
                timeout=self.patience,
            )
        except TimeoutError:
            return None
        return str(call.params.get("text") or "")

    async def _wait_bot_message(self, since: int, predicate: Any) -> FakeMessage | None:
        try:
            return await self.user.wait_bot_message(predicate, since=since, timeout=self.patience)
        except TimeoutError:
            return None


def _is_rewrite_answer(message: FakeMessage) -> bool:
    return message.plain_text().startswith((*SAVED_REPLY, *REPLY_REFUSED))


def _is_panel_or_all_done(message: FakeMessage) -> bool:
    return panel_assignment(message) is not None or message.plain_text().startswith("🎉")


def crowd_of(
    api: FakeBotApi, ledger: Ledger, rng: random.Random, count: int, *, patience: float
) -> list[ScriptedTrainer]:
    """`count` English-speaking trainers (users 3000, 3001, ...) sharing one ledger, each with
    a random generator of their own drawn from `rng`."""
    return [
        ScriptedTrainer(
            api,
            api.user(3000 + n, f"Trainer {n}", language_code="en"),
            ledger,
            random.Random(rng.random()),
            patience=patience,
        )
        for n in range(count)
    ]


async def every_trainer_continues(crowd: list[ScriptedTrainer], target: Path | str) -> None:
    """Every trainer continues where they were: /next shows their open item with the scores
    stored (which include every acknowledged one: check_database)."""
    for trainer in crowd:
        open_id, stored = await active_assignment(target, trainer.user.user_id)
        if open_id is None:
            continue
        assert await trainer.ask_for_item(), "an open item did not come back"
        panel = trainer.current_panel()
        assert panel is not None and panel_assignment(panel) == open_id
        assert shown_scores(panel) == stored


# -- what the database must hold ---------------------------------------------------------------


async def check_database(target: Path | str, ledger: Ledger, promised: Promises) -> dict[str, int]:
    """Assert every acknowledged effect is stored and nothing is doubled; some counts.

    `target` is the SQLite file (whose integrity is checked first) or a PostgreSQL address."""
    if isinstance(target, Path):
        with contextlib.closing(sqlite3.connect(target)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    db = await Database.open(target, migrate=False)
    try:
        return await _check_stored(db, ledger, promised)
    finally:
        await db.close()


async def _check_stored(db: Database, ledger: Ledger, promised: Promises) -> dict[str, int]:
    stored_scores = {
        (aid, CRITERIA.index(key)): score
        for aid, key, score in await db.fetchall(
            "SELECT assignment_id, criterion, score FROM scores"
        )
    }
    for key, score in promised.scores.items():
        assert stored_scores.get(key) == score, f"acknowledged score {key}={score} lost"
    for key, score in stored_scores.items():
        assert ledger.scores.get(key) == score, f"score {key}={score} nobody gave"
    stored_flags = {
        (aid, FLAGS.index(flag))
        for aid, flag in await db.fetchall("SELECT assignment_id, flag FROM flags")
    }
    assert promised.flags <= stored_flags, "an acknowledged flag was lost"
    rewrites = {
        aid: text
        for aid, text in await db.fetchall(
            "SELECT assignment_id, rewrite FROM judgments WHERE rewrite IS NOT NULL"
        )
    }
    for aid, text in promised.rewrites.items():
        assert rewrites.get(aid) == text, f"acknowledged rewrite of {aid} lost"
    submitted = {
        row[0] for row in await db.fetchall("SELECT id FROM assignments WHERE status = 'submitted'")
    }
    assert promised.submits <= submitted, "an acknowledged submit was lost"
    assert submitted <= promised.submit_taps, "a submit nobody tapped"
    # every submitted judgment is complete, once, and counted once for its item
    for aid in submitted:
        scored = {c for (a, c) in stored_scores if a == aid}
        assert scored == set(range(len(CRITERIA))), f"assignment {aid} submitted unscored"
    judged = await db.fetchval(
        "SELECT COUNT(*) FROM judgments j JOIN assignments a ON a.id = j.assignment_id"
        " WHERE a.status = 'submitted'"
    )
    assert judged == len(submitted)
    twice = await db.fetchall(
        "SELECT item_id, trainer_id FROM assignments GROUP BY item_id, trainer_id"
        " HAVING COUNT(*) > 1"
    )
    assert twice == [], f"an item assigned twice to one trainer: {[tuple(r) for r in twice]}"
    miscounted = await db.fetchall(
        "SELECT i.id, i.done_count, COUNT(a.id) FROM items i LEFT JOIN assignments a"
        " ON a.item_id = i.id AND a.status = 'submitted' GROUP BY i.id, i.done_count"
        " HAVING i.done_count <> COUNT(a.id)"
    )
    assert miscounted == [], f"items whose count disagrees with their reviews: {miscounted}"
    over = await db.fetchall(
        "SELECT i.id, COUNT(*) FROM items i JOIN batches b ON b.id = i.batch_id"
        " JOIN assignments a ON a.item_id = i.id AND a.status = 'submitted' AND a.late = 0"
        " GROUP BY i.id, b.overlap HAVING COUNT(*) > b.overlap"
    )
    assert over == [], f"items with more reviews than their overlap: {over}"
    held = await db.fetchall(
        "SELECT trainer_id FROM assignments WHERE status = 'active'"
        " GROUP BY trainer_id HAVING COUNT(*) > 1"
    )
    assert held == [], f"trainers holding two items: {held}"
    return {
        "submitted": len(submitted),
        "scores": len(stored_scores),
        "flags": len(stored_flags),
        "rewrites": len(rewrites),
    }


async def active_assignment(
    target: Path | str, trainer_id: int
) -> tuple[int | None, dict[int, int]]:
    """The trainer's open assignment and its stored scores (criterion index -> score)."""
    db = await Database.open(target, migrate=False)
    try:
        open_id = await db.fetchval(
            "SELECT id FROM assignments WHERE trainer_id = ? AND status = 'active'", (trainer_id,)
        )
        if open_id is None:
            return None, {}
        rows = await db.fetchall(
            "SELECT criterion, score FROM scores WHERE assignment_id = ?", (open_id,)
        )
        return open_id, {CRITERIA.index(key): score for key, score in rows}
    finally:
        await db.close()

"""Small builders for test data, going through the same storage calls the bot uses."""

from __future__ import annotations

from collections.abc import AsyncIterator

from bot.config import Settings
from bot.review import ReviewService
from bot.rubric import DEFAULT_RUBRIC
from storage import batches, privacy, trainers
from storage.batches import ItemRow
from storage.database import Database
from storage.privacy import BUILTIN_VERSION
from storage.records import Trainer

NOW = "2026-11-25T03:00:00.000000+00:00"


async def make_trainer(
    db: Database,
    user_id: int,
    *,
    language: str = "en",
    role: str = "trainer",
    agreed: bool = True,
) -> Trainer:
    """A registered trainer who (unless `agreed` is False) agreed to the privacy notice."""
    await trainers.insert_trainer(
        db,
        user_id=user_id,
        chat_id=user_id,
        name=f"Trainer {user_id}",
        username=None,
        language=language,
        role=role,
        invite_code=None,
        now=NOW,
    )
    if agreed:
        await privacy.record_consent(db, user_id, BUILTIN_VERSION, now=NOW)
    trainer = await trainers.get_trainer(db, user_id)
    assert trainer is not None
    return trainer


async def make_batch(
    db: Database,
    name: str = "batch",
    *,
    items: int = 3,
    overlap: int = 2,
    priority: int = 0,
    texts: tuple[str, str] = ("Prompt {n}", "Answer {n}"),
) -> int:
    rows = [
        (f"item-{n}", texts[0].format(n=n), texts[1].format(n=n), None, 0, None, None)
        for n in range(1, items + 1)
    ]
    batch_id, _ = await batches.create_batch_with_items(
        db,
        name=name,
        rubric_json=DEFAULT_RUBRIC.to_json(),
        overlap=overlap,
        priority=priority,
        chunks=one_chunk(rows),
        now=NOW,
    )
    return batch_id


async def one_chunk(rows: list[ItemRow]) -> AsyncIterator[list[ItemRow]]:
    yield rows


async def review_fully(review: ReviewService, trainer: Trainer, assignment_id: int) -> None:
    """Score every criterion with 4 and submit."""
    for index, _ in enumerate(DEFAULT_RUBRIC.criteria):
        await review.score(trainer, assignment_id, index, 4)
    _, missing = await review.submit(trainer, assignment_id)
    assert missing is None


def external_id(view) -> str:
    return view.item.external_id


__all__ = ["Settings", "make_batch", "make_trainer", "review_fully"]

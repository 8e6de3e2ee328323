"""Time zones (bot/timezones.py): names a trainer may type, and "today" in their own zone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.review import ReviewService
from bot.timezones import Zone, zone_named
from storage import trainers
from storage.database import Database
from tests.factories import make_batch, make_trainer, review_fully


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Asia/Makassar", Zone("Asia/Makassar", "WITA")),
        ("asia/jayapura", Zone("Asia/Jayapura", "WIT")),
        ("wib", Zone("Asia/Jakarta", "WIB")),
        (" Europe/Amsterdam ", Zone("Europe/Amsterdam", None)),
        ("Mars/Olympus", None),
        ("Asia", None),  # a folder of zones, not a zone
        ("../../etc/passwd", None),
        ("", None),
    ],
)
def test_a_typed_zone_is_an_iana_name_or_nothing(typed: str, zone: Zone | None) -> None:
    assert zone_named(typed) == zone


async def test_today_is_the_trainers_own_local_day(db: Database, settings, clock) -> None:
    """At 14:30 UTC a review is today for both; an hour later it is already tomorrow in
    Jayapura (WIT, UTC+9: 00:30) and still today in Jakarta (WIB, UTC+7: 22:30)."""
    clock.now = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
    review = ReviewService(db, settings, clock)
    await make_batch(db, items=4, overlap=2)
    counts = {}
    for user_id, zone in ((1, "Asia/Jakarta"), (2, "Asia/Jayapura")):
        trainer = await make_trainer(db, user_id)
        await trainers.set_timezone(db, user_id, zone)
        trainer = replace(trainer, timezone=zone)
        view, _ = await review.next_item(trainer)
        assert view is not None
        await review_fully(review, trainer, view.assignment.id)
        counts[zone] = trainer
    clock.now += timedelta(hours=1)
    fresh = ReviewService(db, settings, clock)  # nothing cached: counted from the database
    assert (await fresh.stats(counts["Asia/Jakarta"])).today == 1
    assert (await fresh.stats(counts["Asia/Jayapura"])).today == 0
    assert (await review.stats(counts["Asia/Jayapura"])).today == 0  # the cache knows too

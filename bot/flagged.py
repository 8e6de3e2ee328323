"""The answers trainers flagged (unsafe, biased, personal data, ...), for coordinators' /flagged:
the items most trainers raised a flag on first, so a coordinator can filter harmful or biased
answers out of a dataset. Plain values in, plain dataclasses out (storage/flagged.py counts)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.rubric import Rubric
from storage import flagged
from storage.database import Database
from storage.flagged import FlaggedItem, ItemFlags

__all__ = ["FlaggedItem", "FlaggedList", "FlaggedService", "ItemFlags", "UnknownBatch"]

MAX_LISTED = 10  # one button each: a keyboard a phone still shows whole


class UnknownBatch(LookupError):
    """No batch has that name."""


@dataclass(frozen=True, slots=True)
class FlaggedList:
    batch_name: str | None  # None: every open batch
    items: tuple[FlaggedItem, ...]
    total: int  # flagged items in all, listed or not
    rubrics: dict[int, Rubric]  # by batch id, for the flags' labels
    batch_names: dict[int, str]  # by batch id


class FlaggedService:
    def __init__(self, db: Database):
        self.db = db

    async def listing(
        self, batch_name: str | None = None, *, limit: int = MAX_LISTED
    ) -> FlaggedList:
        """The named batch's flagged items (UnknownBatch if none has that name), or those of
        every open batch; most raisers first, at most `limit`."""
        if batch_name is not None:
            batch = await flagged.batch_named(self.db, batch_name.strip())
            if batch is None:
                raise UnknownBatch(batch_name)
            batches = [batch]
        else:
            batches = await flagged.open_batches(self.db)
        page = await flagged.flagged_items(self.db, [b.id for b in batches], limit=limit)
        return FlaggedList(
            batch_name=batches[0].name if batch_name is not None else None,
            items=page.items,
            total=page.total,
            rubrics={b.id: rubric_of(b.rubric_json) for b in batches},
            batch_names={b.id: b.name for b in batches},
        )

    async def item(self, item_id: int) -> tuple[ItemFlags, Rubric] | None:
        """One item with its flags and the flaggers' notes; None if there is no such item."""
        found = await flagged.item_flags(self.db, item_id)
        if found is None:
            return None
        return found, rubric_of(found.rubric_json)


def rubric_of(rubric_json: str) -> Rubric:
    return Rubric.from_dict(json.loads(rubric_json))

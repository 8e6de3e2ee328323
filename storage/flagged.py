"""What trainers flagged, for coordinators' /flagged: flags of submitted reviews only (a flag
on a lease still open, skipped or expired is a trainer's draft, not their judgment).

Each assignment is one trainer on one item (`UNIQUE (item_id, trainer_id)`), so counting
assignments counts trainers.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Database

PROMPT_START = 200  # characters of a prompt the list reads; it shows fewer


@dataclass(frozen=True, slots=True)
class FlaggedBatch:
    id: int
    name: str
    rubric_json: str


@dataclass(frozen=True, slots=True)
class FlaggedItem:
    item_id: int
    batch_id: int
    external_id: str
    prompt_start: str
    raisers: int  # trainers who raised any flag on it
    flags: tuple[tuple[str, int], ...] = ()  # (flag, trainers who raised it), most first


@dataclass(frozen=True, slots=True)
class FlaggedPage:
    items: tuple[FlaggedItem, ...]
    total: int  # flagged items in those batches, listed or not


@dataclass(frozen=True, slots=True)
class ItemFlags:
    item_id: int
    batch_id: int
    batch_name: str
    rubric_json: str
    external_id: str
    prompt: str
    response: str
    flags: tuple[tuple[str, int], ...]  # (flag, trainers who raised it), most first
    notes: tuple[str, ...]  # the notes of the trainers who flagged it, oldest review first


_BATCHES = "SELECT id, name, rubric FROM batches"


async def batch_named(db: Database, name: str) -> FlaggedBatch | None:
    row = await db.fetchone(f"{_BATCHES} WHERE name = ?", (name,))
    return None if row is None else FlaggedBatch(*row)


async def open_batches(db: Database) -> list[FlaggedBatch]:
    rows = await db.fetchall(f"{_BATCHES} WHERE status = 'open' ORDER BY priority DESC, id")
    return [FlaggedBatch(*row) for row in rows]


_FLAGGED = (
    " FROM flags f JOIN assignments a ON a.id = f.assignment_id"
    " JOIN items i ON i.id = a.item_id"
    " WHERE a.status = 'submitted' AND i.batch_id IN ({marks})"
)


async def flagged_items(db: Database, batch_ids: list[int], *, limit: int) -> FlaggedPage:
    """The flagged items of those batches, most raisers first (ties by item id), at most
    `limit` of them with their counts per flag, and how many there are in all."""
    if not batch_ids:
        return FlaggedPage((), 0)
    where = _FLAGGED.format(marks=", ".join("?" * len(batch_ids)))
    params = tuple(batch_ids)
    total = await db.fetchval(f"SELECT COUNT(DISTINCT i.id){where}", params, default=0)
    rows = await db.fetchall(
        "SELECT i.id, i.batch_id, i.external_id, substr(i.prompt, 1, ?),"
        f" COUNT(DISTINCT a.id) AS raisers{where}"
        " GROUP BY i.id, i.batch_id, i.external_id, i.prompt"
        " ORDER BY raisers DESC, i.id LIMIT ?",
        (PROMPT_START, *params, limit),
    )
    counts = await _flag_counts(db, [row[0] for row in rows])
    items = tuple(
        FlaggedItem(
            item_id=row[0],
            batch_id=row[1],
            external_id=row[2],
            prompt_start=row[3],
            raisers=row[4],
            flags=counts.get(row[0], ()),
        )
        for row in rows
    )
    return FlaggedPage(items, total)


async def _flag_counts(db: Database, item_ids: list[int]) -> dict[int, tuple[tuple[str, int], ...]]:
    """Per item: (flag, trainers who raised it), most first, ties in the flag's name order."""
    if not item_ids:
        return {}
    marks = ", ".join("?" * len(item_ids))
    rows = await db.fetchall(
        "SELECT a.item_id, f.flag, COUNT(*) AS raised"
        " FROM flags f JOIN assignments a ON a.id = f.assignment_id"
        f" WHERE a.status = 'submitted' AND a.item_id IN ({marks})"
        " GROUP BY a.item_id, f.flag ORDER BY a.item_id, raised DESC, f.flag",
        tuple(item_ids),
    )
    counts: dict[int, list[tuple[str, int]]] = {}
    for item_id, flag, raised in rows:
        counts.setdefault(item_id, []).append((flag, raised))
    return {item_id: tuple(flags) for item_id, flags in counts.items()}


async def item_flags(db: Database, item_id: int) -> ItemFlags | None:
    """One item with its flags and the flaggers' notes; None if there is no such item."""
    row = await db.fetchone(
        "SELECT i.id, i.batch_id, b.name, b.rubric, i.external_id, i.prompt, i.response"
        " FROM items i JOIN batches b ON b.id = i.batch_id WHERE i.id = ?",
        (item_id,),
    )
    if row is None:
        return None
    counts = await _flag_counts(db, [item_id])
    notes = await db.fetchall(
        "SELECT j.note FROM judgments j JOIN assignments a ON a.id = j.assignment_id"
        " WHERE a.item_id = ? AND a.status = 'submitted'"
        " AND j.note IS NOT NULL AND j.note <> ''"
        " AND EXISTS (SELECT 1 FROM flags f WHERE f.assignment_id = a.id)"
        " ORDER BY a.submitted_at, a.id",
        (item_id,),
    )
    return ItemFlags(
        item_id=row[0],
        batch_id=row[1],
        batch_name=row[2],
        rubric_json=row[3],
        external_id=row[4],
        prompt=row[5],
        response=row[6],
        flags=counts.get(item_id, ()),
        notes=tuple(note for (note,) in notes),
    )

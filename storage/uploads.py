"""Batch files uploaded in chat, waiting for the coordinator's decision."""

from __future__ import annotations

from typing import Any

from storage.database import Database, Transaction


async def create_upload(
    db: Database,
    *,
    coordinator_id: int,
    file_path: str,
    file_name: str,
    batch_name: str,
    overlap: int | None,
    priority: int,
    deadline: str | None = None,
    gold_rate: float = 0.1,
    extra_reviews: int = 0,
    disagreement: int | None = None,
    rubric_json: str | None,
    item_count: int,
    now: str,
) -> int:
    """Record a checked upload with its options (kept until the batch is opened); its id."""
    upload_id = await db.write(
        _insert_upload,
        (
            coordinator_id,
            file_path,
            file_name,
            batch_name,
            overlap,
            priority,
            deadline,
            rubric_json,
            item_count,
            now,
            gold_rate,
            extra_reviews,
            disagreement,
        ),
    )
    assert upload_id is not None
    return upload_id


async def _insert_upload(conn: Transaction, values: tuple) -> int | None:
    return await conn.fetchval(
        "INSERT INTO uploads (coordinator_id, file_path, file_name, batch_name, overlap,"
        " priority, deadline, rubric, item_count, created_at, gold_rate, extra_reviews,"
        " disagreement) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        values,
    )


async def get_upload(db: Database, upload_id: int) -> dict[str, Any] | None:
    row = await db.fetchone("SELECT * FROM uploads WHERE id = ?", (upload_id,))
    return None if row is None else dict(row)


async def claim_upload(db: Database, upload_id: int, coordinator_id: int, status: str) -> bool:
    """Move a pending upload on; False if it was decided already (a double tap) or not theirs."""
    changed = await db.execute(
        "UPDATE uploads SET status = ? WHERE id = ? AND coordinator_id = ? AND status = 'pending'",
        (status, upload_id, coordinator_id),
    )
    return changed == 1


async def finish_upload(db: Database, upload_id: int, status: str, batch_id: int | None) -> None:
    await db.execute(
        "UPDATE uploads SET status = ?, batch_id = ? WHERE id = ?", (status, batch_id, upload_id)
    )


async def abandoned_imports(db: Database) -> list[dict[str, Any]]:
    """Uploads whose import a crash interrupted (the transaction rolled back: nothing stored)."""
    rows = await db.fetchall("SELECT * FROM uploads WHERE status = 'importing'")
    return [dict(row) for row in rows]


async def attach_rubric(
    db: Database, coordinator_id: int, rubric_json: str, *, widest: int
) -> tuple[bool, int | None]:
    """Give the coordinator's newest pending upload this rubric, unless the upload's
    dynamic-overlap disagreement is more than `widest` points (the rubric's scale span: such
    a spread could never happen under it). (attached, the upload's disagreement); (False,
    None) when they have no pending upload."""
    return await db.write(_attach_rubric, coordinator_id, rubric_json, widest)


async def _attach_rubric(
    conn: Transaction, coordinator_id: int, rubric_json: str, widest: int
) -> tuple[bool, int | None]:
    row = await conn.fetchone(
        "SELECT id, disagreement FROM uploads WHERE coordinator_id = ? AND status = 'pending'"
        " ORDER BY id DESC LIMIT 1",
        (coordinator_id,),
    )
    if row is None:
        return False, None
    upload_id, disagreement = row[0], row[1]
    if disagreement is not None and disagreement > widest:
        return False, disagreement
    await conn.execute("UPDATE uploads SET rubric = ? WHERE id = ?", (rubric_json, upload_id))
    return True, disagreement

"""Queries on daily sends: one row per (kind, recipient, local date), decided and recorded at once.

A row goes `due` (decided) -> `sending` (claimed by the sender with a small page of others) ->
`sent` / `skipped` / `blocked` / `failed`; a row a crash left `sending` becomes `lost` at the next
start and is never resent. Deciding is `INSERT ... SELECT ... ON CONFLICT DO NOTHING`: a recipient
who already has a row for that kind and local date gets nothing new, whatever happened since.
Large decisions go in chunks of recipients by id, so the write lock is held briefly each time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.database import Connection, Database
from storage.records import Trainer

CHECKED_AT = "daily_sends_checked_at"  # bot_facts: the end of the last check's window
CHUNK = 500  # recipients decided per transaction

FINAL_STATUSES = ("sent", "skipped", "blocked", "failed")
# The condition of the partial index `daily_sends_open`, said in every query of open rows:
# SQLite uses a partial index only when the query repeats its condition (`status = 'due'`
# alone would scan every row ever decided, 20,000 more each day at 10,000 trainers).
_OPEN = "status IN ('due', 'sending')"
HAS_DUE = f"SELECT 1 FROM daily_sends WHERE {_OPEN} AND status = 'due' LIMIT 1"
_CLAIM_COLUMNS = (
    "SELECT d.kind AS send_kind, d.local_date, d.decided_at, t.* FROM daily_sends d"
    " JOIN trainers t ON t.user_id = d.trainer_id"
)
# Reports are claimed first, so at REPORT_TIME the coordinators' report does not wait behind
# minutes of summaries decided with it. They are few (one per coordinator a day, and finished
# rows are pruned), so they are read by the primary key's `kind` (not the partial index, which
# would walk every due summary to find them); the rest keep the partial index's order.
CLAIM_REPORTS = (
    f"{_CLAIM_COLUMNS} WHERE d.kind = 'report' AND d.status = 'due' ORDER BY d.decided_at LIMIT ?"
)
CLAIM = f"{_CLAIM_COLUMNS} WHERE d.{_OPEN} AND d.status = 'due' ORDER BY d.decided_at LIMIT ?"
KEEP_DAYS = 8  # finished rows kept: enough for "once a day" in every zone, and for a look back

# Who gets each kind, as SQL on `trainers` with its parameters (after the zone's): created
# before the scheduled moment (`:moment`), never a deleted identity (negative id).
_WHO = {
    "reminder": "status = 'active' AND reachable = 1 AND reminders = 1 AND role = 'trainer'"
    " AND user_id > 0 AND created_at < :moment",
    "summary": "status = 'active' AND reachable = 1 AND user_id > 0 AND created_at < :moment"
    " AND EXISTS (SELECT 1 FROM assignments a WHERE a.trainer_id = trainers.user_id"
    " AND a.status = 'submitted' AND a.submitted_at >= :day_start"
    " AND a.submitted_at < :day_end)",
    "report": "status = 'active' AND reachable = 1 AND role = 'coordinator' AND user_id > 0"
    " AND created_at < :moment",
}
_IN_ZONE = " AND COALESCE(timezone, :default_zone) = :zone"


@dataclass(frozen=True, slots=True)
class Decision:
    """One kind due for everyone it goes to in one zone (None: whatever their zone)."""

    kind: str
    zone: str | None
    local_date: str  # ISO date
    moment: str  # stamp of the scheduled moment
    day_start: str  # stamps of the local day, for "reviewed today"
    day_end: str

    def where(self) -> str:
        return _WHO[self.kind] + ("" if self.zone is None else _IN_ZONE)

    def params(self, default_zone: str) -> dict[str, str | None]:
        return {
            "moment": self.moment,
            "day_start": self.day_start,
            "day_end": self.day_end,
            "zone": self.zone,
            "default_zone": default_zone,
        }


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed send and its recipient as they are now."""

    kind: str
    local_date: str
    decided_at: str
    trainer: Trainer


Outcome = tuple[str, int, str, str]
"""kind, trainer id, local date, final status (one of FINAL_STATUSES)."""

Key = tuple[str, int, str]
"""kind, trainer id, local date."""


async def checked_at(db: Database) -> str | None:
    return await db.fetchval("SELECT value FROM bot_facts WHERE name = ?", (CHECKED_AT,))


async def start_window(db: Database, now: str) -> None:
    """Set the last check to `now` unless one is stored."""
    await db.execute(
        "INSERT INTO bot_facts (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        (CHECKED_AT, now),
    )


async def _move_checked(conn: Connection, now: str) -> None:
    """The last check moves forward only (an overlapping, older run never moves it back)."""
    await conn.execute(
        "INSERT INTO bot_facts (name, value) VALUES (?, ?) ON CONFLICT (name)"
        " DO UPDATE SET value = excluded.value WHERE bot_facts.value < excluded.value",
        (CHECKED_AT, now),
    )


async def zones_in_use(db: Database, default_zone: str) -> list[str]:
    """Every trainer's zone (the default for those without one), from the `trainers_zone`
    index."""
    rows = await db.fetchall("SELECT DISTINCT timezone FROM trainers")
    return sorted({row[0] or default_zone for row in rows})


async def decide(
    db: Database,
    decisions: Sequence[Decision],
    *,
    default_zone: str,
    checked_at: str,
    chunk: int = CHUNK,
) -> int:
    """Record each decision's sends as `due` (none twice), then the last check; how many new.

    The recipients are read first, outside the write lock, and inserted `chunk` ids at a time,
    each chunk re-checking who qualifies inside its transaction; the last check is written with
    the last chunk. A crash between chunks leaves the last check where it was, so the next run
    decides the rest (what is recorded already is not recorded again).
    """
    steps: list[tuple[Decision, int, int]] = []
    for decision in decisions:
        params = decision.params(default_zone)
        rows = await db.fetchall(
            f"SELECT user_id FROM trainers WHERE {decision.where()} ORDER BY user_id", params
        )
        ids = [row[0] for row in rows]
        steps += [
            (decision, ids[first], ids[min(first + chunk, len(ids)) - 1])
            for first in range(0, len(ids), chunk)
        ]
    if not steps:
        await db.write(_move_checked, checked_at)
        return 0
    added = 0
    for index, (decision, low, high) in enumerate(steps):
        last = index == len(steps) - 1
        added += await db.write(
            _insert_chunk, decision, default_zone, (low, high), checked_at, last
        )
    return added


async def _insert_chunk(
    conn: Connection,
    decision: Decision,
    default_zone: str,
    ids: tuple[int, int],
    now: str,
    last: bool,
) -> int:
    """One chunk of a decision (recipients with ids in `ids`, both ends included), decided at
    `now`; the last chunk of a run also moves the last check to `now`."""
    params = {
        **decision.params(default_zone),
        "kind": decision.kind,
        "local_date": decision.local_date,
        "decided_at": now,
        "low": ids[0],
        "high": ids[1],
    }
    added = await conn.execute(
        "INSERT INTO daily_sends (kind, trainer_id, local_date, status, decided_at)"
        " SELECT CAST(:kind AS TEXT), user_id, CAST(:local_date AS TEXT), 'due',"
        " CAST(:decided_at AS TEXT) FROM trainers"
        f" WHERE user_id >= :low AND user_id <= :high AND {decision.where()}"
        " ON CONFLICT DO NOTHING",
        params,
    )
    if last:
        await _move_checked(conn, now)
    return added


async def has_due(db: Database) -> bool:
    """Whether any decided send waits (read through the partial index of open rows)."""
    return await db.fetchone(HAS_DUE) is not None


async def record_and_claim(
    db: Database,
    *,
    outcomes: Sequence[Outcome] = (),
    release: Sequence[Key] = (),
    claim: int = 0,
    now: str,
) -> list[Claimed]:
    """In one transaction: record finished sends (a `blocked` one also marks its recipient
    unreachable), put claimed but unsent ones back to `due`, and claim up to `claim` due ones,
    reports first, then the oldest decision first, with their recipients as they are now."""
    return await db.write(_record_and_claim, outcomes, release, claim, now)


async def _record_and_claim(
    conn: Connection,
    outcomes: Sequence[Outcome],
    release: Sequence[Key],
    claim: int,
    now: str,
) -> list[Claimed]:
    await conn.executemany(
        "UPDATE daily_sends SET status = ?, updated_at = ?"
        " WHERE kind = ? AND trainer_id = ? AND local_date = ? AND status = 'sending'",
        [(status, now, kind, trainer_id, day) for kind, trainer_id, day, status in outcomes],
    )
    await conn.executemany(
        "UPDATE trainers SET reachable = 0 WHERE user_id = ?",
        [(trainer_id,) for _, trainer_id, _, status in outcomes if status == "blocked"],
    )
    await conn.executemany(
        "UPDATE daily_sends SET status = 'due', updated_at = ?"
        " WHERE kind = ? AND trainer_id = ? AND local_date = ? AND status = 'sending'",
        [(now, *key) for key in release],
    )
    if claim <= 0:
        return []
    page = await _claim(conn, CLAIM_REPORTS, claim, now)
    if len(page) < claim:
        page += await _claim(conn, CLAIM, claim - len(page), now)
    return page


async def _claim(conn: Connection, sql: str, limit: int, now: str) -> list[Claimed]:
    """Up to `limit` due rows read by `sql`, marked `sending`."""
    page = [
        Claimed(row["send_kind"], row["local_date"], row["decided_at"], Trainer.from_row(row))
        for row in await conn.fetchall(sql, (limit,))
    ]
    await conn.executemany(
        "UPDATE daily_sends SET status = 'sending', updated_at = ?"
        " WHERE kind = ? AND trainer_id = ? AND local_date = ? AND status = 'due'",
        [(now, c.kind, c.trainer.user_id, c.local_date) for c in page],
    )
    return page


async def lose_unconfirmed(db: Database, now: str) -> dict[str, int]:
    """Rows a crash left `sending` become `lost` (sent or not: never resent); how many of
    each kind."""

    async def work(conn: Connection) -> dict[str, int]:
        rows = await conn.fetchall(
            f"SELECT kind, COUNT(*) FROM daily_sends WHERE {_OPEN} AND status = 'sending'"
            " GROUP BY kind"
        )
        await conn.execute(
            f"UPDATE daily_sends SET status = 'lost', updated_at = ? WHERE {_OPEN}"
            " AND status = 'sending'",
            (now,),
        )
        return {row[0]: row[1] for row in rows}

    return await db.write(work)


async def counts_by_status(db: Database, kind: str, local_date: str) -> dict[str, int]:
    """Sends of one kind and day per status (for logs and tests)."""
    rows = await db.fetchall(
        "SELECT status, COUNT(*) FROM daily_sends WHERE kind = ? AND local_date = ?"
        " GROUP BY status",
        (kind, local_date),
    )
    return {row[0]: row[1] for row in rows}


async def forget_finished_before(db: Database, before: str, chunk: int = 5000) -> int:
    """Drop finished rows (neither `due` nor `sending`) decided before `before`, `chunk` at a
    time so the write lock is held briefly; how many. Only the recent days' rows are needed to
    send each message once a day; without this the table grows by two rows per trainer a day."""

    async def work(conn: Connection) -> int:
        return await conn.execute(
            # By the key, not SQLite's rowid: the same statement runs on PostgreSQL.
            "DELETE FROM daily_sends WHERE (kind, trainer_id, local_date) IN"
            " (SELECT kind, trainer_id, local_date FROM daily_sends"
            " WHERE decided_at < ? AND status NOT IN ('due', 'sending') LIMIT ?)",
            (before, chunk),
        )

    removed = 0
    while (step := await db.write(work)) > 0:
        removed += step
    return removed

"""Backups into BACKUP_DIR: named by their UTC time, the newest BACKUP_KEEP kept. The CLI's
`backup` without a file and the daily job at BACKUP_TIME both make them this way."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.clock import Clock, utc_now
from bot.config import Settings
from storage.sqlite_backup import backup, keep_newest

PREFIX = "nilai-"  # nilai-YYYYmmdd-HHMMSS.db (UTC), so the names sort by time


@dataclass(frozen=True, slots=True)
class Made:
    path: Path
    size: int
    removed: list[Path]


def name_at(moment: datetime) -> str:
    return f"{PREFIX}{moment.strftime('%Y%m%d-%H%M%S')}.db"


async def make_backup(settings: Settings, clock: Clock = utc_now) -> Made:
    """A backup of the running database into BACKUP_DIR (the copy runs on a thread, so the
    bot keeps answering), then only the newest BACKUP_KEEP are kept."""
    target = settings.backup_dir / name_at(clock())
    size = await asyncio.to_thread(backup, settings.database_path, target)
    removed = await asyncio.to_thread(
        keep_newest, settings.backup_dir, f"{PREFIX}*.db", settings.backup_keep
    )
    return Made(target, size, removed)

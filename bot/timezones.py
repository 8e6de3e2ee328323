"""A trainer's time zone: their "today" (quota, /stats, reminders, summaries, reports) is the
local date there. Indonesia has three, offered as buttons; any IANA name can be typed."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.config import Settings
from storage import trainers
from storage.database import Database
from storage.records import Trainer

# (zone, the name Indonesians use): the order of the buttons, and their index in callback data
INDONESIAN_ZONES = (("Asia/Jakarta", "WIB"), ("Asia/Makassar", "WITA"), ("Asia/Jayapura", "WIT"))
_SHORT = dict(INDONESIAN_ZONES)


@dataclass(frozen=True, slots=True)
class Zone:
    name: str  # the IANA name, e.g. Asia/Makassar
    short: str | None  # WIB, WITA or WIT for Indonesia's zones


def zone_named(typed: str) -> Zone | None:
    """The IANA zone a trainer typed (any case), or None if there is no such zone."""
    wanted = typed.strip()
    for name, short in INDONESIAN_ZONES:  # "wita" works too
        if wanted.upper() == short:
            return Zone(name, short)
    name = _zone_names().get(wanted.lower())
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return Zone(name, _SHORT.get(name))


@cache
def _zone_names() -> dict[str, str]:
    """Every IANA zone by its lower-case name (available_timezones reads the zone files)."""
    return {name.lower(): name for name in available_timezones()}


class Timezones:
    """Reading and setting trainers' time zones."""

    def __init__(self, db: Database, settings: Settings):
        self.db, self.settings = db, settings

    def zone_of(self, trainer: Trainer) -> Zone:
        name = trainer.timezone or self.settings.timezone
        return Zone(name, _SHORT.get(name))

    async def set(self, trainer: Trainer, zone: Zone) -> None:
        await trainers.set_timezone(self.db, trainer.user_id, zone.name)

"""What the item panel needs beside the review loop itself, built once per running bot."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock, utc_now
from bot.guidance import Guidance
from bot.live_panels import LivePanels
from bot.sittings import Sittings
from storage.database import Database


@dataclass(frozen=True)
class Panels:
    live: LivePanels  # one live panel per open item
    sittings: Sittings  # the summary at the end of a sitting
    guidance: Guidance  # a batch's guidelines, once before its first item

    @classmethod
    def build(cls, db: Database, clock: Clock = utc_now) -> Panels:
        return cls(live=LivePanels(db), sittings=Sittings(clock, db), guidance=Guidance(db, clock))

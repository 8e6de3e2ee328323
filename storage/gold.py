"""Queries of gold (control) items: which items are gold, and (issue 9) each trainer's gold
answers and pauses.

A gold item is stored with `items.complete = GOLD_ITEM` (migration 0016): it never enters the
ordinary queue (which reads `complete = 0`), never becomes complete, and is not part of a
batch's progress. Every trainer may be given each gold item once.
"""

from __future__ import annotations

GOLD_ITEM = 2  # items.complete of a gold item (0: open, 1: complete)

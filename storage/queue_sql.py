"""SQL fragments of the queue's rules, shared by every statement that asks them (the pick,
lease take-ups, work left, corrections), so each rule is written once.

This module imports nothing from storage, so storage/gold.py and storage/assignment.py can both
use it without importing each other in a cycle.
"""

from __future__ import annotations

GOLD_ITEM = 2  # items.complete of a gold item (0: open, 1: complete); storage/gold.py re-exports

# Whether trainer `{trainer}` is paused in batch `{batch}` for failing its gold items (a live
# row in gold_pauses, written and lifted by storage/gold.py): then they get nothing from it.
PAUSED_IN_BATCH = (
    "EXISTS (SELECT 1 FROM gold_pauses gp WHERE gp.trainer_id = {trainer}"
    " AND gp.batch_id = {batch} AND gp.lifted_at IS NULL)"
)

# The reviews item `{item}` of batch `{batch}` wants: the overlap, plus the extra reviews
# dynamic overlap gave it. `items.extra` is read only in a batch with extra reviews (the CASE
# is lazy), so an ordinary batch reads nothing new from the row.
WANTED_REVIEWS = (
    "({batch}.overlap + CASE WHEN {batch}.extra_reviews > 0 THEN {item}.extra ELSE 0 END)"
)

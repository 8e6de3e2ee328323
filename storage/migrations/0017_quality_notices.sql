-- Version 17: quality-control notices that survive a crash (issue 9).

-- A gold pause tells the trainer (at once, as the answer to their Submit) and the coordinators
-- (their evidence, paced): each is stamped when it is claimed for sending, so a restart sends
-- what was never claimed and nothing twice. Pauses from before this version were told already.
ALTER TABLE gold_pauses ADD COLUMN trainer_told_at TEXT;
ALTER TABLE gold_pauses ADD COLUMN coordinators_told_at TEXT;
UPDATE gold_pauses SET trainer_told_at = paused_at, coordinators_told_at = paused_at;
CREATE INDEX gold_pauses_untold ON gold_pauses (paused_at)
    WHERE trainer_told_at IS NULL OR coordinators_told_at IS NULL;

-- Decisions whose writer was not told yet (rewrite_reviews.notified_at is the claim).
CREATE INDEX rewrite_reviews_untold ON rewrite_reviews (decided_at)
    WHERE notified_at IS NULL AND status IN ('accepted', 'rejected');

-- A rewrite blank to Python's str.strip() is no rewrite: exports skipped such rows already;
-- review and the figures now simply read `rewrite IS NOT NULL` (the intake refuses blanks).
-- The characters are those of storage/sqlite_json.WHITESPACE, by code point.
UPDATE judgments SET rewrite = NULL WHERE rewrite IS NOT NULL AND trim(rewrite, char(
    9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 133, 160, 5760, 8192, 8193, 8194, 8195, 8196, 8197,
    8198, 8199, 8200, 8201, 8202, 8232, 8233, 8239, 8287, 12288
)) = '';

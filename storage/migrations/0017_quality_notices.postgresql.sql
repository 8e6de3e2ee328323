-- Version 17 on PostgreSQL: as 0017_quality_notices.sql, but SQLite's char(a, b, ...) is
-- chr(a) || chr(b) || ... here (one code point per chr).

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
UPDATE judgments SET rewrite = NULL WHERE rewrite IS NOT NULL AND btrim(rewrite,
    chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || chr(28) || chr(29) || chr(30) ||
    chr(31) || chr(32) || chr(133) || chr(160) || chr(5760) || chr(8192) || chr(8193) ||
    chr(8194) || chr(8195) || chr(8196) || chr(8197) || chr(8198) || chr(8199) || chr(8200) ||
    chr(8201) || chr(8202) || chr(8232) || chr(8233) || chr(8239) || chr(8287) || chr(12288)
) = '';

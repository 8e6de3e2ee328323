-- Version 12: the pick and /progress read items' languages from indexes, never from the rows.
-- `items.lang` (migration 0007) is the rows' last column, after the prompt and the answer: for a
-- long item it sits in SQLite's overflow pages, so reading it from the row would cost a pick
-- several page reads per candidate.
--
-- items_open: the language goes before the id, so a pick reads, for each language the trainer
-- reviews (and for items without one), a short id range after their queue position. With the
-- language after the id a Javanese reviewer would step over every Indonesian item in the queue.
DROP INDEX items_open;
CREATE INDEX items_open ON items (batch_id, complete, full_until, lang, id)
    WHERE complete = 0 AND full_until IS NULL;
-- items_reopened: complete, full_until and lang as columns make the read of the items that came
-- back covering (the language is checked on the index entry). They follow reopened_seq: before
-- it, SQLite (no ANALYZE here) would rather walk items_queue in id order and read every row.
DROP INDEX items_reopened;
CREATE INDEX items_reopened ON items (batch_id, reopened_seq, complete, full_until, lang)
    WHERE complete = 0 AND full_until IS NULL AND reopened_seq IS NOT NULL;
-- items_progress (migration 0003): /progress counts a batch's open items per language in the
-- same covering scan that sums its reviews.
DROP INDEX items_progress;
CREATE INDEX items_progress ON items (batch_id, complete, lang, done_count);

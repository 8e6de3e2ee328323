-- Version 5: the next item is found through indexes, not by sorting every open item
-- (storage/assignment.py says how the pick uses them).
--
-- full_until: set when an item has as many reviews and live leases as its batch's overlap, to
-- the earliest end of those leases. Such an item leaves `items_open`, so a pick does not walk
-- past the leased items at the head of the queue; when that time comes the next pick looks at
-- it again through `items_blocked`. NULL (every item at import) means "may take a review".
ALTER TABLE items ADD COLUMN full_until TEXT;
-- reopened_seq: the assignment sequence (largest assignments.id) when a full item came back
-- into `items_open`, so a trainer who passed it while it was full finds it again.
ALTER TABLE items ADD COLUMN reopened_seq INTEGER;

-- complete and full_until are constant in items_open (a byte each); as columns they make SQLite,
-- which never runs ANALYZE here, prefer it to items_queue for the pick.
CREATE INDEX items_open ON items (batch_id, complete, full_until, id)
    WHERE complete = 0 AND full_until IS NULL;
CREATE INDEX items_reopened ON items (batch_id, reopened_seq)
    WHERE complete = 0 AND full_until IS NULL AND reopened_seq IS NOT NULL;
CREATE INDEX items_blocked ON items (full_until) WHERE complete = 0 AND full_until IS NOT NULL;

-- Where each trainer is in each batch's queue: every item up to item_id that is in
-- `items_open` is one the trainer already had, unless its reopened_seq >= seq. A batch is
-- never deleted once trainers work on it, so there is no foreign key to hold it back.
CREATE TABLE queue_positions (
    trainer_id INTEGER NOT NULL REFERENCES trainers (user_id),
    batch_id   INTEGER NOT NULL,
    item_id    INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (trainer_id, batch_id)
);

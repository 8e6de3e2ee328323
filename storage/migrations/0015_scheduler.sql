-- Version 15: the scheduler (issue 8).

-- Every daily message decided (kind, recipient, the recipient's local date), written in the
-- same transaction that decides to send it, so a restart, a crash or two overlapping runs never
-- send one twice. `due` is decided and not yet tried; `sending` is claimed by the sender (a crash
-- there may have lost it, never doubled: it becomes `lost` at the next start and is counted in
-- the log); the rest say how it ended.
CREATE TABLE daily_sends (
    kind       TEXT NOT NULL CHECK (kind IN ('reminder', 'summary', 'report')),
    trainer_id INTEGER NOT NULL REFERENCES trainers (user_id),
    local_date TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'due'
               CHECK (status IN ('due', 'sending', 'sent', 'skipped', 'blocked', 'failed', 'lost')),
    decided_at TEXT NOT NULL,
    updated_at TEXT,
    PRIMARY KEY (kind, trainer_id, local_date)
);
CREATE INDEX daily_sends_open ON daily_sends (status, decided_at)
    WHERE status IN ('due', 'sending');

-- /reminders off and on (1: reminders wanted).
ALTER TABLE trainers ADD COLUMN reminders INTEGER NOT NULL DEFAULT 1;
-- The per-minute check reads the time zones in use from this index, not from the rows.
CREATE INDEX trainers_zone ON trainers (timezone);

-- Batch deadlines, given at upload (caption deadline=YYYY-MM-DD) and kept until it is opened.
ALTER TABLE uploads ADD COLUMN deadline TEXT;
-- When the "batch complete" message was decided: once per batch, whatever happens after.
ALTER TABLE batches ADD COLUMN completed_at TEXT;
-- Batches complete before this version were never announced, and are not now.
UPDATE batches SET completed_at = created_at
WHERE item_count > 0
  AND NOT EXISTS (SELECT 1 FROM items WHERE items.batch_id = batches.id AND items.complete = 0);

-- The lease sweeper's per-minute look at live leases that ended. The status leads, although the
-- index holds only active rows, so that SQLite (which has no statistics without ANALYZE) prefers
-- it to assignments_submitted (status, ...), which would walk every active row.
CREATE INDEX assignments_leases ON assignments (status, lease_expires_at) WHERE status = 'active';

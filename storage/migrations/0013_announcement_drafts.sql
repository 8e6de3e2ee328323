-- Version 13: /announce shows a preview with Send / Cancel before anything goes out. The draft
-- is stored, so a tap after a restart still finds it; its status moves once, from 'draft' to
-- 'sent' (together with the broadcast it became, in one transaction) or to 'cancelled', so a
-- second tap or a redelivered one changes nothing.
CREATE TABLE announcement_drafts (
    id           INTEGER PRIMARY KEY,
    created_by   INTEGER NOT NULL,
    chat_id      INTEGER NOT NULL,
    text         TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'sent', 'cancelled')),
    broadcast_id INTEGER REFERENCES broadcasts (id),
    created_at   TEXT NOT NULL,
    decided_at   TEXT
);

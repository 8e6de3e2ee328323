-- Version 18: what decides the next part of a text is in the database, so parts join alike
-- whichever bot process handles each message (webhook mode, one PostgreSQL database).

-- When Telegram got the part (`Message.date`; NULL when not given): a backlog handled at once
-- after a restart is not one text because it was handled at once.
ALTER TABLE text_parts ADD COLUMN sent_at TEXT;

-- A trainer's text refused a moment ago (at most one per trainer): its later parts, arriving
-- within JOIN_SECONDS of `refused_at`, are refused too (one answer per text, never a part
-- stored after a gap). `reason` is a storage.texts.Refused value or 'too_long'; `chars`,
-- `kept` and `in_parts` are the too-long text's figures. Renewed by each part it refuses,
-- dropped by the trainer's next message that is no part of it.
CREATE TABLE text_refusals (
    trainer_id    INTEGER PRIMARY KEY,
    assignment_id INTEGER NOT NULL,
    field         TEXT NOT NULL CHECK (field IN ('rewrite', 'note')),
    reason        TEXT NOT NULL,
    chars         INTEGER NOT NULL DEFAULT 0,
    kept          INTEGER NOT NULL DEFAULT 0,
    in_parts      INTEGER NOT NULL DEFAULT 0,
    refused_at    TEXT NOT NULL
);

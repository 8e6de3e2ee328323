-- Version 19: an "Include unreviewed" button (under an sft/dpo export) runs its export once for
-- the whole bot. A tap claims its button (the message it sits on) with this row before the export
-- starts, so a double tap or a redelivered update reaching another process finds it taken; a
-- failed export deletes the row, so the button may be used again. The rows are tiny and stay.
CREATE TABLE export_claims (
    chat_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    claimed_at TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);

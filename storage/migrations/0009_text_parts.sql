-- Version 9: a rewrite or note can arrive as several messages (a trainer's app splits a long
-- text at 4096 characters). Each message is one part, stored as it arrives; the judgment's
-- text is the parts joined in message order, so editing one part later re-joins them.
CREATE TABLE text_parts (
    assignment_id INTEGER NOT NULL REFERENCES assignments (id),
    field         TEXT NOT NULL CHECK (field IN ('rewrite', 'note')),
    chat_id       INTEGER NOT NULL,
    message_id    INTEGER NOT NULL,
    -- whose part it is (the assignment's trainer), so their latest part is one index probe
    trainer_id    INTEGER NOT NULL,
    text          TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    PRIMARY KEY (assignment_id, field, message_id)
);
CREATE INDEX text_parts_trainer ON text_parts (trainer_id, received_at);
CREATE UNIQUE INDEX text_parts_message ON text_parts (chat_id, message_id);

-- Version 11: guidance while reviewing. A batch's guidelines are shown once, before a trainer's
-- first item of that batch: this remembers that they were shown (later they are one tap away,
-- behind the panel's Guidelines button).
CREATE TABLE guidelines_shown (
    trainer_id INTEGER NOT NULL REFERENCES trainers (user_id),
    batch_id   INTEGER NOT NULL REFERENCES batches (id),
    shown_at   TEXT NOT NULL,
    PRIMARY KEY (trainer_id, batch_id)
);

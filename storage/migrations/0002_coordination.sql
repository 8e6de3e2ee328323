-- Version 2: what coordinators run from Telegram: uploads waiting for a decision, broadcasts
-- with one delivery row per recipient (so a broadcast resumes after a crash and never sends
-- twice), and an audit log of changes to trainers and batches.

CREATE TABLE uploads (
    id             INTEGER PRIMARY KEY,
    coordinator_id INTEGER NOT NULL,
    file_path      TEXT NOT NULL,
    file_name      TEXT NOT NULL,
    batch_name     TEXT NOT NULL,
    overlap        INTEGER,
    priority       INTEGER NOT NULL DEFAULT 0,
    rubric         TEXT,
    item_count     INTEGER NOT NULL,
    status         TEXT NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'importing', 'imported', 'discarded', 'failed')),
    batch_id       INTEGER REFERENCES batches (id),
    created_at     TEXT NOT NULL
);

CREATE TABLE broadcasts (
    id                  INTEGER PRIMARY KEY,
    kind                TEXT NOT NULL CHECK (kind IN ('batch', 'announcement')),
    batch_id            INTEGER REFERENCES batches (id),
    text                TEXT,
    created_by          INTEGER NOT NULL,
    report_chat_id      INTEGER NOT NULL,
    report_message_id   INTEGER,
    status              TEXT NOT NULL DEFAULT 'sending' CHECK (status IN ('sending', 'done')),
    created_at          TEXT NOT NULL,
    finished_at         TEXT
);

CREATE TABLE deliveries (
    broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id),
    trainer_id   INTEGER NOT NULL REFERENCES trainers (user_id),
    status       TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'sending', 'sent', 'blocked', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    message_id   INTEGER,
    updated_at   TEXT,
    PRIMARY KEY (broadcast_id, trainer_id)
);
CREATE INDEX deliveries_status ON deliveries (broadcast_id, status);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    actor_id   INTEGER NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT,
    detail     TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX audit_log_target ON audit_log (target, created_at);

-- Progress and export queries aggregate by batch and time.
CREATE INDEX assignments_submitted ON assignments (status, submitted_at);

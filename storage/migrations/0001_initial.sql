-- Nilai schema, version 1. Times are ISO-8601 UTC text ("2026-11-25T03:10:00.000000+00:00"),
-- which sorts correctly as text in SQLite and PostgreSQL alike.

CREATE TABLE trainers (
    user_id      INTEGER PRIMARY KEY,
    chat_id      INTEGER NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    username     TEXT,
    language     TEXT NOT NULL CHECK (language IN ('id', 'en')),
    timezone     TEXT,
    daily_quota  INTEGER CHECK (daily_quota IS NULL OR daily_quota > 0),
    role         TEXT NOT NULL CHECK (role IN ('trainer', 'coordinator')),
    status       TEXT NOT NULL DEFAULT 'active'
                 CHECK (status IN ('pending', 'active', 'paused', 'blocked')),
    reachable    INTEGER NOT NULL DEFAULT 1,
    invite_code  TEXT,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT
);
CREATE INDEX trainers_username ON trainers (username);

CREATE TABLE invites (
    code       TEXT PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('trainer', 'coordinator')),
    uses_left  INTEGER NOT NULL CHECK (uses_left >= 0),
    expires_at TEXT,
    created_by INTEGER,
    created_at TEXT NOT NULL
);

CREATE TABLE batches (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    rubric     TEXT NOT NULL,
    overlap    INTEGER NOT NULL CHECK (overlap >= 1),
    status     TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paused', 'closed')),
    priority   INTEGER NOT NULL DEFAULT 0,
    deadline   TEXT,
    item_count INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE items (
    id          INTEGER PRIMARY KEY,
    batch_id    INTEGER NOT NULL REFERENCES batches (id),
    external_id TEXT NOT NULL,
    prompt      TEXT NOT NULL,
    response    TEXT NOT NULL,
    context     TEXT,
    chat_form   INTEGER NOT NULL DEFAULT 0,
    metadata    TEXT,
    gold        TEXT,
    done_count  INTEGER NOT NULL DEFAULT 0,
    complete    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (batch_id, external_id)
);
-- The queue: incomplete items of a batch in order, so picking the next item skips finished ones.
CREATE INDEX items_queue ON items (batch_id, complete, id);

CREATE TABLE assignments (
    id               INTEGER PRIMARY KEY,
    item_id          INTEGER NOT NULL REFERENCES items (id),
    trainer_id       INTEGER NOT NULL REFERENCES trainers (user_id),
    status           TEXT NOT NULL DEFAULT 'active'
                     CHECK (status IN ('active', 'submitted', 'skipped', 'expired')),
    assigned_at      TEXT NOT NULL,
    lease_expires_at TEXT NOT NULL,
    submitted_at     TEXT,
    late             INTEGER NOT NULL DEFAULT 0,
    skip_reason      TEXT,
    criterion        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (item_id, trainer_id)
);
CREATE INDEX assignments_trainer ON assignments (trainer_id, status, submitted_at);
CREATE INDEX assignments_item ON assignments (item_id, status, lease_expires_at);

-- The text parts of a judgment; scores and flags live in their own rows so a tap is one upsert.
CREATE TABLE judgments (
    assignment_id      INTEGER PRIMARY KEY REFERENCES assignments (id),
    note               TEXT,
    rewrite            TEXT,
    updated_at         TEXT NOT NULL
);

CREATE TABLE scores (
    assignment_id INTEGER NOT NULL REFERENCES assignments (id),
    criterion     TEXT NOT NULL,
    score         INTEGER NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (assignment_id, criterion)
);

CREATE TABLE flags (
    assignment_id INTEGER NOT NULL REFERENCES assignments (id),
    flag          TEXT NOT NULL,
    PRIMARY KEY (assignment_id, flag)
);

-- Which chat messages belong to which assignment: the item's parts (a reply to any of them is a
-- rewrite), the force-reply prompts, and the trainer's own rewrite/note messages (for edits).
CREATE TABLE assignment_messages (
    chat_id       INTEGER NOT NULL,
    message_id    INTEGER NOT NULL,
    assignment_id INTEGER NOT NULL REFERENCES assignments (id),
    kind          TEXT NOT NULL CHECK (kind IN ('item', 'panel', 'rewrite_prompt', 'note_prompt',
                                                'rewrite', 'note')),
    PRIMARY KEY (chat_id, message_id)
);
CREATE INDEX assignment_messages_assignment ON assignment_messages (assignment_id, kind);

-- Update ids already handled, so a redelivered update changes nothing.
CREATE TABLE processed_updates (
    update_id    INTEGER PRIMARY KEY,
    processed_at TEXT NOT NULL
);

-- Small facts the bot learns at run time (its @username, for invite links printed by the CLI).
CREATE TABLE bot_facts (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

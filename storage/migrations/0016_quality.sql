-- Version 16: quality control (issue 9): gold (control) items, dynamic overlap, rewrite review
-- and the provenance of each judgment.

-- Gold items: `items.complete = 2` (storage/gold.py GOLD_ITEM). They never enter the ordinary
-- queue (the pick and `items_open` read `complete = 0`), never become complete, and are not part
-- of a batch's progress: each trainer may get each one once, mixed in at the batch's gold rate.
UPDATE items SET complete = 2 WHERE gold IS NOT NULL;

-- The batch's options: the chance that a trainer's next item is a gold item (while they have
-- unseen gold items left), and dynamic overlap: an item whose scores on some criterion are
-- `disagreement` or more points apart gets one more review, up to `extra_reviews` more
-- (off while `disagreement` is NULL). Uploads keep them until the batch is opened.
ALTER TABLE batches ADD COLUMN gold_rate REAL NOT NULL DEFAULT 0.1;
ALTER TABLE batches ADD COLUMN extra_reviews INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN disagreement INTEGER;
ALTER TABLE uploads ADD COLUMN gold_rate REAL NOT NULL DEFAULT 0.1;
ALTER TABLE uploads ADD COLUMN extra_reviews INTEGER NOT NULL DEFAULT 0;
ALTER TABLE uploads ADD COLUMN disagreement INTEGER;
-- How many extra reviews this item was given for disagreement: it wants overlap + extra.
ALTER TABLE items ADD COLUMN extra INTEGER NOT NULL DEFAULT 0;

-- Each gold answer, judged when it is first submitted (the first answer counts: an Undo and a
-- new answer do not change it). `detail` is JSON: criterion -> [given, low, high]. `counted` is
-- 0 once /resume started the trainer's tally in that batch afresh.
CREATE TABLE gold_answers (
    assignment_id INTEGER PRIMARY KEY REFERENCES assignments (id),
    trainer_id    INTEGER NOT NULL REFERENCES trainers (user_id),
    batch_id      INTEGER NOT NULL REFERENCES batches (id),
    correct       INTEGER NOT NULL,
    detail        TEXT NOT NULL,
    counted       INTEGER NOT NULL DEFAULT 1,
    answered_at   TEXT NOT NULL
);
CREATE INDEX gold_answers_tally ON gold_answers (trainer_id, batch_id, counted);

-- A trainer paused in a batch for failing its gold items; `lifted_at` set by /resume. At most
-- one live pause per trainer and batch.
CREATE TABLE gold_pauses (
    id         INTEGER PRIMARY KEY,
    trainer_id INTEGER NOT NULL REFERENCES trainers (user_id),
    batch_id   INTEGER NOT NULL REFERENCES batches (id),
    paused_at  TEXT NOT NULL,
    lifted_at  TEXT,
    lifted_by  INTEGER
);
CREATE UNIQUE INDEX gold_pauses_live ON gold_pauses (trainer_id, batch_id)
    WHERE lifted_at IS NULL;

-- Rewrite review. A trainer a coordinator made a reviewer (/reviewer @name on).
ALTER TABLE trainers ADD COLUMN reviewer INTEGER NOT NULL DEFAULT 0;
-- One row per rewrite (its assignment) once a reviewer opened it. `open`: shown in the
-- reviewer's chat (locked for others until `locked_until`); `reason`: Reject tapped, a reason
-- being chosen; `comment`: reason chosen, a comment or "No comment" awaited; `accepted` and
-- `rejected` are the decisions. A skip deletes the row (and is remembered in rewrite_skips).
-- `comment_prompt`: the message id (in the reviewer's chat) of the question a comment replies to.
-- `notified_at`: when the writer was told the outcome.
CREATE TABLE rewrite_reviews (
    assignment_id INTEGER PRIMARY KEY REFERENCES assignments (id),
    status        TEXT NOT NULL
                  CHECK (status IN ('open', 'reason', 'comment', 'accepted', 'rejected')),
    reviewer_id   INTEGER NOT NULL REFERENCES trainers (user_id),
    opened_at     TEXT NOT NULL,
    locked_until  TEXT NOT NULL,
    reason        TEXT,
    comment       TEXT,
    comment_prompt INTEGER,
    decided_at    TEXT,
    notified_at   TEXT
);
CREATE INDEX rewrite_reviews_reviewer ON rewrite_reviews (reviewer_id, status);
CREATE TABLE rewrite_skips (
    assignment_id INTEGER NOT NULL REFERENCES assignments (id),
    reviewer_id   INTEGER NOT NULL REFERENCES trainers (user_id),
    skipped_at    TEXT NOT NULL,
    PRIMARY KEY (assignment_id, reviewer_id)
);
-- The rewrites there are: a short index instead of reading every judgment.
CREATE INDEX judgments_rewrites ON judgments (assignment_id) WHERE rewrite IS NOT NULL;

-- Provenance: every rubric (with its guidelines) a batch had, numbered; a judgment records the
-- version it was submitted under (exports show the SHA-256 of its criteria and guidelines).
CREATE TABLE rubric_versions (
    id         INTEGER PRIMARY KEY,
    batch_id   INTEGER NOT NULL REFERENCES batches (id),
    rubric     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX rubric_versions_batch ON rubric_versions (batch_id, id);
INSERT INTO rubric_versions (batch_id, rubric, created_at)
    SELECT id, rubric, created_at FROM batches ORDER BY id;
ALTER TABLE batches ADD COLUMN rubric_version INTEGER REFERENCES rubric_versions (id);
UPDATE batches SET rubric_version =
    (SELECT MAX(v.id) FROM rubric_versions v WHERE v.batch_id = batches.id);
ALTER TABLE assignments ADD COLUMN rubric_version INTEGER REFERENCES rubric_versions (id);
UPDATE assignments SET rubric_version =
    (SELECT b.rubric_version FROM items i JOIN batches b ON b.id = i.batch_id
     WHERE i.id = assignments.item_id)
    WHERE status = 'submitted';

-- Version 8: corrections after Submit. A submitted judgment can be corrected for
-- EDIT_WINDOW_MINUTES (an edited rewrite or note message, a fresh reply, Undo); every correction
-- keeps what it replaced as a revision, so nothing a trainer once submitted is lost, and exports
-- can say that a judgment was revised and when.
CREATE TABLE judgment_revisions (
    id            INTEGER PRIMARY KEY,
    assignment_id INTEGER NOT NULL REFERENCES assignments (id),
    -- what the correction changed: 'rewrite' or 'note' (a text), or 'judgment' (Undo: all of it)
    field         TEXT NOT NULL CHECK (field IN ('rewrite', 'note', 'judgment')),
    -- what it replaced: the text, or for 'judgment' a JSON object of scores, flags and texts
    replaced      TEXT,
    created_at    TEXT NOT NULL
);
CREATE INDEX judgment_revisions_assignment ON judgment_revisions (assignment_id, id);
-- The last correction after Submit (NULL: never revised).
ALTER TABLE judgments ADD COLUMN revised_at TEXT;
-- When the judgment's rewrite was reviewed (quality control sets it); from then on it is closed.
ALTER TABLE judgments ADD COLUMN reviewed_at TEXT;

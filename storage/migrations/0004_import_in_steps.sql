-- Version 4: a batch is imported in steps (one transaction per chunk), so a large import does
-- not hold the database's single write lock for minutes and trainers' taps go on meanwhile.
-- While `importing` is 1 the batch is paused and hidden; a failed import is deleted.
ALTER TABLE batches ADD COLUMN importing INTEGER NOT NULL DEFAULT 0;

-- Version 10: Undo after Submit (storage/corrections.py). While a submitted judgment is reopened
-- as its trainer's draft, `reopened_at` says since when: its assignment is active again, with a
-- lease that does not end, so it keeps its slot until the trainer submits it again (or skips it).
-- NULL: not reopened (never, or submitted again since).
ALTER TABLE assignments ADD COLUMN reopened_at TEXT;

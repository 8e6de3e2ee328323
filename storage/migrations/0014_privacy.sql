-- Version 14: privacy (Indonesia's personal data protection law, UU PDP No. 27/2022).
-- Which version of the privacy notice a trainer agreed to, and when (NULL: not yet). Version 1 is
-- the catalog's text; each notice a coordinator sets or resets is a new, higher version.
ALTER TABLE trainers ADD COLUMN privacy_version INTEGER;
ALTER TABLE trainers ADD COLUMN privacy_agreed_at TEXT;
-- A trainer who deleted their identity (/deleteme) keeps a row under a fresh negative id, so
-- their past judgments stay in the datasets; the row keeps the pseudonym those judgments were
-- exported under (derived from the Telegram id, which is no longer stored anywhere).
ALTER TABLE trainers ADD COLUMN pseudonym TEXT;
ALTER TABLE trainers ADD COLUMN deleted_at TEXT;

-- The organisation's own notices, newest version last. `text` is Telegram HTML, one text for
-- both languages; NULL means "back to the catalog's text" (a reset, which is a new version too).
CREATE TABLE privacy_notices (
    version    INTEGER PRIMARY KEY,
    text       TEXT,
    set_by     INTEGER NOT NULL,
    created_at TEXT NOT NULL
);

-- Version 21: when a trainer's last sitting was summed up (bot/sittings.py), for the whole bot.
-- With several processes on one database a trainer's next ask may reach another process: what
-- came before this moment belongs to the sitting already summed up, so its summary is not said
-- twice. One row per trainer, written whenever a sitting is ended (with a summary or without
-- one); PostgreSQL only reads it.
CREATE TABLE sitting_ends (
    trainer_id INTEGER PRIMARY KEY,
    ended_at   TEXT NOT NULL
);

-- Version 20: the bot's confirmation of a text is kept with the text, so a later part edits it
-- whichever bot process handles that part (webhook mode, one PostgreSQL database), instead of
-- each process remembering the confirmations it sent.

-- On the part the confirmation answered: the confirmation's message id (in the part's chat)
-- and the catalog key of its line saying why the text went where it went (NULL: none). NULL
-- on every other part, and on parts stored before version 20 (a next part of one gets a new
-- confirmation, as before).
ALTER TABLE text_parts ADD COLUMN confirmation_id INTEGER;
ALTER TABLE text_parts ADD COLUMN confirmation_reason TEXT;

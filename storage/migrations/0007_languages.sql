-- Version 7: languages of items and trainers. An item may say which language it is in
-- (`metadata.lang` in the batch file, stored as an ISO 639-1 code such as 'id' or 'jv'; NULL when
-- not given: anyone may review it). A trainer reviews in one or more languages, stored as
-- space-separated codes; NULL means "my interface language".
ALTER TABLE items ADD COLUMN lang TEXT;
ALTER TABLE trainers ADD COLUMN review_languages TEXT;

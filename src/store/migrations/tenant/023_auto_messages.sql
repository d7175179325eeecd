-- Automatic entries in a chat (the site's greeting after the opt-in, the message with the
-- visitor's place in the queue and the usual wait): author 'auto', so every transcript marks
-- them as automatic. SQLite cannot change a CHECK, so the column is replaced by one with the
-- wider check (its place in the row moves to the end; every query names its columns).
ALTER TABLE messages ADD COLUMN author_kind TEXT NOT NULL DEFAULT 'system'
    CHECK (author_kind IN ('visitor', 'agent', 'system', 'auto'));
UPDATE messages SET author_kind = author;
ALTER TABLE messages DROP COLUMN author;
ALTER TABLE messages RENAME COLUMN author_kind TO author;

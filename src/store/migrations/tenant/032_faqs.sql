-- A site's questions and answers, shown in the chat frame before a chat starts (plain text in
-- German and English; either language may be empty, not both). The site's row is in system.db.
CREATE TABLE faqs (
    id          INTEGER PRIMARY KEY,
    site_key    TEXT NOT NULL,
    position    INTEGER NOT NULL DEFAULT 0,
    question_de TEXT NOT NULL DEFAULT '',
    answer_de   TEXT NOT NULL DEFAULT '',
    question_en TEXT NOT NULL DEFAULT '',
    answer_en   TEXT NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL
);
CREATE INDEX faqs_site ON faqs (site_key, position, id);

-- How often an answer was opened per UTC day (`day`: Unix seconds of its start). Only the
-- count: no visitor, address, page or time of day.
CREATE TABLE faq_views (
    day    INTEGER NOT NULL,
    faq_id INTEGER NOT NULL,
    views  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, faq_id)
) WITHOUT ROWID;

-- Chats started per UTC day and site from a chat frame in which an answer had been opened.
-- Only the count: which chat it was is not stored.
CREATE TABLE faq_chats (
    day      INTEGER NOT NULL,
    site_key TEXT NOT NULL,
    chats    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, site_key)
) WITHOUT ROWID;

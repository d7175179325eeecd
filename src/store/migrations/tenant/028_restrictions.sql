-- Restriction of processing (GDPR Art. 18): a person's chats, offline messages and visitor
-- records stay stored but are hidden from agents without the data-subject-requests permission
-- and kept out of the retention purge until the restriction is lifted.
CREATE TABLE restrictions (
    id         INTEGER PRIMARY KEY,
    subject    TEXT NOT NULL,
    reason     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    lifted_at  INTEGER,
    lifted_by  TEXT
) STRICT;

CREATE TABLE restricted_rows (
    restriction_id INTEGER NOT NULL REFERENCES restrictions(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('conversation', 'offline', 'visitor')),
    row_id         INTEGER NOT NULL,
    PRIMARY KEY (kind, row_id, restriction_id)
) STRICT;

-- Rows deleted anyway (an erasure) take their marks along.
CREATE TRIGGER restricted_conversation_gone AFTER DELETE ON conversations
BEGIN
    DELETE FROM restricted_rows WHERE kind = 'conversation' AND row_id = old.id;
END;
CREATE TRIGGER restricted_offline_gone AFTER DELETE ON offline_messages
BEGIN
    DELETE FROM restricted_rows WHERE kind = 'offline' AND row_id = old.id;
END;
CREATE TRIGGER restricted_visitor_gone AFTER DELETE ON visitors
BEGIN
    DELETE FROM restricted_rows WHERE kind = 'visitor' AND row_id = old.id;
END;

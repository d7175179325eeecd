-- Messages in the order they were written instead of clustered by conversation. In the
-- clustered table (WITHOUT ROWID, keyed by conversation and seq) every message of a busy host
-- landed on its own conversation's page, which had to be read, decrypted and verified before
-- the insert, and encrypted and authenticated again at commit. Now rows append to the last
-- pages of the table; the primary key becomes an index of small entries (conversation, seq,
-- row) that stays in the page cache. Same columns, same order, same constraints.
CREATE TABLE messages_in_order (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    agent_id        INTEGER,
    body            TEXT NOT NULL,
    client_id       TEXT,
    file_id         INTEGER,
    created_at      INTEGER NOT NULL,
    author          TEXT NOT NULL DEFAULT 'system'
        CHECK (author IN ('visitor', 'agent', 'system', 'auto')),
    PRIMARY KEY (conversation_id, seq)
) STRICT;
INSERT INTO messages_in_order
    (conversation_id, seq, agent_id, body, client_id, file_id, created_at, author)
SELECT conversation_id, seq, agent_id, body, client_id, file_id, created_at, author
FROM messages ORDER BY created_at, conversation_id, seq;
DROP TABLE messages;
ALTER TABLE messages_in_order RENAME TO messages;
CREATE INDEX messages_agent_at ON messages(created_at, agent_id) WHERE author = 'agent';

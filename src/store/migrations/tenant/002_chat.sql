-- Live chat: conversations, their gap-free message log, files, offline messages.

-- How many chats an agent takes at once; admins set it.
ALTER TABLE agents ADD COLUMN capacity INTEGER NOT NULL DEFAULT 3;

CREATE TABLE departments (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
) STRICT;

CREATE TABLE agent_departments (
    agent_id      INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    department_id INTEGER NOT NULL REFERENCES departments(id) ON DELETE CASCADE,
    PRIMARY KEY (agent_id, department_id)
) STRICT;

CREATE TABLE conversations (
    id                 INTEGER PRIMARY KEY,
    site_key           TEXT NOT NULL,
    -- waiting: in the queue; open: an agent has it; closed: ended by either side.
    status             TEXT NOT NULL CHECK (status IN ('waiting', 'open', 'closed')),
    -- SHA-256 of the visitor's token; the token itself is only in the visitor's widget.
    visitor_token_hash BLOB NOT NULL UNIQUE,
    visitor_name       TEXT NOT NULL DEFAULT '',
    visitor_email      TEXT NOT NULL DEFAULT '',
    lang               TEXT NOT NULL DEFAULT 'en',
    consent_at         INTEGER NOT NULL,
    consent_version    TEXT NOT NULL,
    department_id      INTEGER REFERENCES departments(id) ON DELETE SET NULL,
    agent_id           INTEGER REFERENCES agents(id) ON DELETE SET NULL,
    created_at         INTEGER NOT NULL,
    accepted_at        INTEGER,
    closed_at          INTEGER,
    rating             INTEGER CHECK (rating BETWEEN 1 AND 5),
    rating_comment     TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX conversations_status ON conversations(status) WHERE status <> 'closed';
CREATE INDEX conversations_created ON conversations(created_at);

-- One row per event a participant sees, numbered 1, 2, 3 … without gaps per conversation.
-- Clustered by (conversation, seq), so a conversation's messages share pages.
CREATE TABLE messages (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    -- visitor, agent or system (joined, transferred, closed …)
    author          TEXT NOT NULL CHECK (author IN ('visitor', 'agent', 'system')),
    agent_id        INTEGER,
    body            TEXT NOT NULL,
    -- The sender's own id, so a retried send is stored once.
    client_id       TEXT,
    file_id         INTEGER,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX messages_client_id ON messages(conversation_id, client_id)
    WHERE client_id IS NOT NULL;

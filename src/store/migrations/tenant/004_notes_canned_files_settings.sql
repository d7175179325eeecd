-- Internal notes (agents only; outside the visitor-visible sequence), canned responses,
-- uploaded files (stored encrypted like everything else), tenant settings.
CREATE TABLE notes (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    agent_id        INTEGER,
    body            TEXT NOT NULL,
    client_id       TEXT,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX notes_conversation ON notes(conversation_id);
CREATE UNIQUE INDEX notes_client_id ON notes(conversation_id, client_id) WHERE client_id IS NOT NULL;

-- agent_id NULL: shared by the whole tenant.
CREATE TABLE canned_responses (
    id         INTEGER PRIMARY KEY,
    agent_id   INTEGER REFERENCES agents(id) ON DELETE CASCADE,
    shortcut   TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX canned_shortcut ON canned_responses(coalesce(agent_id, 0), shortcut);

CREATE TABLE files (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    mime            TEXT NOT NULL,
    size            INTEGER NOT NULL,
    data            BLOB NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX files_conversation ON files(conversation_id);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

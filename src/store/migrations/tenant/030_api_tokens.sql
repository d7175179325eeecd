-- API tokens: an integration (shop, CRM, ticket tool) calls /api/v1/ with a bearer token that
-- acts for the agent who made it, with a chosen subset of that agent's permissions. Only the
-- token's hash is stored; it is shown once.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    agent_id     INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    permissions  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    revoked_by   TEXT,
    last_used_at INTEGER,
    last_used_ip TEXT
) STRICT;

-- Single-use links on which an agent chooses a password: the invitation of a new agent and
-- a password reset. Only the SHA-256 of the link's random token is kept, like sessions.
CREATE TABLE agent_links (
    token_hash BLOB PRIMARY KEY,
    agent_id   INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    -- invite: the agent is disabled until they set a password; reset: a new password only.
    purpose    TEXT NOT NULL CHECK (purpose IN ('invite', 'reset')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    -- Set when the link was used; a used link is dead.
    used_at    INTEGER
) STRICT;
CREATE INDEX agent_links_agent ON agent_links(agent_id);

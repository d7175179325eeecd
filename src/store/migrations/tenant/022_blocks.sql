-- Visitors an agent blocked from chatting, for a while: by the visitor's anonymous daily key
-- (or the consented visitor's record) and optionally their truncated address. A block ends by
-- itself at expires_at, or earlier when an agent lifts it; the rows go with retention.
CREATE TABLE blocks (
    id          INTEGER PRIMARY KEY,
    -- The anonymous daily key of the visitor's browser (it changes with the day), if known.
    visitor_key BLOB,
    -- The truncated address (/24, /48), when the agent chose to block it too.
    address     TEXT,
    -- The chat it was made from, if any (kept as a number: the chat may be purged first).
    conversation_id INTEGER,
    reason      TEXT NOT NULL DEFAULT '',
    created_by  INTEGER,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    lifted_at   INTEGER,
    lifted_by   INTEGER,
    CHECK (visitor_key IS NOT NULL OR address IS NOT NULL)
) STRICT;
CREATE INDEX blocks_expires ON blocks(expires_at);

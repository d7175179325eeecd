-- Visitor relevance: each site's weights of the signals (no row: the defaults), and each
-- agent's alarm threshold (none: no alarm).
CREATE TABLE relevance_weights (
    site_key  TEXT PRIMARY KEY,
    pages     INTEGER NOT NULL,
    time      INTEGER NOT NULL,
    campaign  INTEGER NOT NULL,
    goal      INTEGER NOT NULL,
    visits    INTEGER NOT NULL,
    chats     INTEGER NOT NULL
) STRICT;

ALTER TABLE agents ADD COLUMN relevance_alarm INTEGER;

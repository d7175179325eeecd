-- Agents' work time (docs/statistics.md, "Work time"): each agent's presence as intervals
-- written by the hub, and the figures of each aggregated UTC day per agent. Personal data of
-- employees: see docs/data-protection.md, "Agents' work time".

-- Signed in with one status from `since` to `until`. While open (`ended` = 0) `until` is the
-- hub's last sign of life for it (renewed every minute), so a row a crash or a stop left open
-- ends there and never runs through the downtime.
CREATE TABLE agent_presence (
    id       INTEGER PRIMARY KEY,
    agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    status   TEXT NOT NULL CHECK (status IN ('online', 'away', 'offline')),
    since    INTEGER NOT NULL,
    until    INTEGER NOT NULL,
    ended    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX agent_presence_open ON agent_presence(agent_id) WHERE ended = 0;
CREATE INDEX agent_presence_until ON agent_presence(until);

-- One agent's day (`day`: Unix seconds of its UTC start) once the statistics job aggregated
-- it: seconds signed in, online, away and in at least one chat while signed in, and messages
-- sent. Chats, first responses and ratings are in `stat_days`.
CREATE TABLE agent_days (
    day       INTEGER NOT NULL,
    agent_id  INTEGER NOT NULL,
    signed_in INTEGER NOT NULL,
    online    INTEGER NOT NULL,
    away      INTEGER NOT NULL,
    in_chat   INTEGER NOT NULL,
    messages  INTEGER NOT NULL,
    PRIMARY KEY (day, agent_id)
) STRICT, WITHOUT ROWID;

-- Agents' messages of one day, and the chats that ended on one day, are found without
-- reading them all.
CREATE INDEX messages_agent_at ON messages(created_at, agent_id) WHERE author = 'agent';
CREATE INDEX conversations_closed ON conversations(closed_at) WHERE closed_at IS NOT NULL;

-- Days aggregated before this migration get their messages; their presence was never
-- recorded.
INSERT INTO agent_days (day, agent_id, signed_in, online, away, in_chat, messages)
SELECT created_at - created_at % 86400, agent_id, 0, 0, 0, 0, count(*)
FROM messages
WHERE author = 'agent' AND agent_id IS NOT NULL
  AND created_at < coalesce((SELECT through FROM stat_state WHERE id = 1), 0)
GROUP BY 1, 2;

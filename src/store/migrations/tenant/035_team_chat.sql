-- Team chat: agents talking to each other (src/model/team.rs names the rooms). Each room's
-- messages are numbered gap-free from 1 like a chat's log; a retried message (same author and
-- client id in the same room) is stored once. Each agent's read position per room gives the
-- unread badges on every device.
CREATE TABLE team_messages (
    id         INTEGER PRIMARY KEY,
    room       TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    agent_id   INTEGER NOT NULL REFERENCES agents(id),
    body       TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    at         INTEGER NOT NULL,
    UNIQUE (room, seq),
    UNIQUE (room, agent_id, client_id)
) STRICT;

CREATE INDEX team_messages_at ON team_messages (at);

-- Each room's last seq, kept when retention deletes its messages, so numbers never restart.
CREATE TABLE team_rooms (
    room      TEXT PRIMARY KEY,
    last_seq  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE team_reads (
    agent_id  INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    room      TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    PRIMARY KEY (agent_id, room)
) STRICT, WITHOUT ROWID;

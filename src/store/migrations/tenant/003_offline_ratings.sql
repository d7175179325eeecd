-- Messages left through the widget's offline form while no agent was available.
CREATE TABLE offline_messages (
    id         INTEGER PRIMARY KEY,
    site_key   TEXT NOT NULL,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    message    TEXT NOT NULL,
    consent_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    handled_at INTEGER
) STRICT;
CREATE INDEX offline_messages_created ON offline_messages(created_at);

-- Who read what and when (a conversation, a visitor's details, the offline inbox, a file, a
-- data-subject export, a statistics CSV, a history search): kept apart from the audit chain so
-- that it has its own retention period.
CREATE TABLE read_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    role       TEXT NOT NULL,
    what       TEXT NOT NULL,
    object     TEXT NOT NULL,
    ip         TEXT NOT NULL,
    request_id TEXT NOT NULL
) STRICT;
CREATE INDEX read_log_at ON read_log(at);

-- The operator's outbox (alerts about backups, integrity and disk space): the same shape as a
-- tenant's outbox, which holds the mails about that tenant's visitors and agents.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,
    recipient     TEXT NOT NULL,
    subject       TEXT NOT NULL,
    person        TEXT NOT NULL DEFAULT '',
    about         TEXT NOT NULL DEFAULT '',
    envelope_from TEXT NOT NULL,
    message       BLOB NOT NULL,
    state         TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    done_at       INTEGER,
    answer        TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX outbox_due ON outbox(state, next_at);

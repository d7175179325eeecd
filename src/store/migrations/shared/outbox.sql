-- The durable outbox: the same table in system.db (operator alerts) and in every tenant's
-- database (the mails about its visitors and agents). A mail is queued here in the same
-- transaction as the event that causes it, and the sender delivers it later. The message is
-- kept exactly as it will be sent (RFC 5322 bytes, Message-ID included), so a retry after a
-- crash sends the same mail.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    -- offline, reply, transcript, missed, invite, reset, alert, test
    kind          TEXT NOT NULL,
    recipient     TEXT NOT NULL,
    subject       TEXT NOT NULL,
    -- The visitor's address the mail is about (for data-subject requests), or ''.
    person        TEXT NOT NULL DEFAULT '',
    -- What it belongs to, e.g. 'offline:12' or 'conversation:7', or ''.
    about         TEXT NOT NULL DEFAULT '',
    envelope_from TEXT NOT NULL,
    message       BLOB NOT NULL,
    state         TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    done_at       INTEGER,
    -- The server's last answer (or why it could not be reached).
    answer        TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX outbox_due ON outbox(state, next_at);

-- Signed webhooks: the business's endpoints and the durable queue of deliveries to them. A
-- delivery is queued in the same transaction as the event that causes it (one row per
-- endpoint that chose the event) and sent later by the webhook sender, which records each
-- answer before the next. The payload is kept as it will be sent and msg_id (the
-- Webhook-Id header) stays the same over retries, so receivers can drop duplicates.
CREATE TABLE webhook_endpoints (
    id          INTEGER PRIMARY KEY,
    url         TEXT NOT NULL,
    -- The chosen event names, separated by spaces.
    events      TEXT NOT NULL,
    -- 'whsec_' and the base64 of 32 random bytes (Standard Webhooks).
    secret      TEXT NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE webhook_deliveries (
    id          INTEGER PRIMARY KEY,
    endpoint_id INTEGER NOT NULL,
    event       TEXT NOT NULL,
    msg_id      TEXT NOT NULL,
    payload     TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    done_at     INTEGER,
    -- The receiver's last HTTP status, if it answered.
    status      INTEGER,
    -- The start of its last answer, or why it could not be reached.
    answer      TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, id);

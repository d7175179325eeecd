-- Advertising campaigns, goals and the conversions that reach them. Money is kept in cents.
CREATE TABLE campaigns (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE,
    channel              TEXT NOT NULL DEFAULT '',
    utm_source           TEXT NOT NULL DEFAULT '',
    utm_medium           TEXT NOT NULL DEFAULT '',
    utm_campaign         TEXT NOT NULL DEFAULT '',
    -- First and last day (unix seconds of the day's start, UTC); no last day: open.
    starts_on            INTEGER NOT NULL,
    ends_on              INTEGER,
    cost_cents           INTEGER NOT NULL DEFAULT 0,
    cost_per_visit_cents INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL
) STRICT;

CREATE TABLE goals (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    url_pattern TEXT NOT NULL DEFAULT '',
    value_cents INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
) STRICT;

-- A goal reached in a visit, at most once per visit and goal.
CREATE TABLE conversions (
    id          INTEGER PRIMARY KEY,
    visit_id    INTEGER NOT NULL REFERENCES visits(id) ON DELETE CASCADE,
    goal_id     INTEGER NOT NULL REFERENCES goals(id) ON DELETE CASCADE,
    value_cents INTEGER NOT NULL DEFAULT 0,
    at          INTEGER NOT NULL,
    UNIQUE (visit_id, goal_id)
) STRICT;

-- The campaign that started the visit (attribution), and the visit a chat started in.
ALTER TABLE visits ADD COLUMN campaign_id INTEGER REFERENCES campaigns(id) ON DELETE SET NULL;
CREATE INDEX visits_campaign ON visits(campaign_id) WHERE campaign_id IS NOT NULL;
ALTER TABLE conversations ADD COLUMN visit_id INTEGER REFERENCES visits(id) ON DELETE SET NULL;
CREATE INDEX conversations_visit ON conversations(visit_id) WHERE visit_id IS NOT NULL;

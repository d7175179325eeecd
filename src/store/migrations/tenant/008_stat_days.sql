-- Daily statistics aggregates (no personal data; they outlive the raw events) and how far the
-- aggregation job has come. Page views get a time index so one day's views are found fast.

CREATE TABLE stat_days (
    -- Unix seconds of the UTC day's start.
    day     INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    -- The day's figures, serialized (src/store/aggregates).
    data    BLOB NOT NULL
) STRICT;

CREATE TABLE stat_state (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    -- The first day not aggregated yet.
    through INTEGER NOT NULL
) STRICT;

CREATE INDEX page_views_at ON page_views(at);

-- Visitor monitoring per site: the tracking mode and the query parameters stripped from URLs
-- (comma-separated names, or `*` for every parameter except utm_*).
ALTER TABLE sites ADD COLUMN tracking TEXT NOT NULL DEFAULT 'anonymous'
    CHECK (tracking IN ('off', 'anonymous', 'consented'));
ALTER TABLE sites ADD COLUMN strip_params TEXT NOT NULL DEFAULT '*';

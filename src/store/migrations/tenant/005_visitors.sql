-- Visitor monitoring: who visited, each visit, the pages read, and proactive invitations.
-- Nothing here holds a full IP address: `ip` is truncated (IPv4 /24, IPv6 /48) before it
-- reaches the database. Anonymous visitors have no stored identifier at all; consented ones
-- are found again by the SHA-256 of the random id their browser keeps.

CREATE TABLE visitors (
    id         INTEGER PRIMARY KEY,
    site_key   TEXT NOT NULL,
    mode       TEXT NOT NULL CHECK (mode IN ('anonymous', 'consented')),
    vid_hash   BLOB UNIQUE,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    visits     INTEGER NOT NULL DEFAULT 1
) STRICT;

CREATE TABLE visits (
    id            INTEGER PRIMARY KEY,
    visitor_id    INTEGER NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
    site_key      TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL,
    ip            TEXT NOT NULL DEFAULT '',
    browser       TEXT NOT NULL DEFAULT '',
    os            TEXT NOT NULL DEFAULT '',
    device        TEXT NOT NULL DEFAULT '',
    lang          TEXT NOT NULL DEFAULT '',
    screen        TEXT NOT NULL DEFAULT '',
    country       TEXT NOT NULL DEFAULT '',
    referrer      TEXT NOT NULL DEFAULT '',
    referrer_kind TEXT NOT NULL DEFAULT 'direct'
        CHECK (referrer_kind IN ('search', 'social', 'site', 'direct')),
    utm_source    TEXT NOT NULL DEFAULT '',
    utm_medium    TEXT NOT NULL DEFAULT '',
    utm_campaign  TEXT NOT NULL DEFAULT '',
    utm_term      TEXT NOT NULL DEFAULT '',
    utm_content   TEXT NOT NULL DEFAULT '',
    pages         INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX visits_visitor ON visits(visitor_id);
CREATE INDEX visits_started ON visits(started_at);

-- Each distinct address once, so a page view costs a few integers on disk.
CREATE TABLE pages (
    id    INTEGER PRIMARY KEY,
    url   TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE page_views (
    id       INTEGER PRIMARY KEY,
    visit_id INTEGER NOT NULL REFERENCES visits(id) ON DELETE CASCADE,
    page_id  INTEGER NOT NULL REFERENCES pages(id),
    at       INTEGER NOT NULL,
    -- Time on the page, known once the visitor moved on or left.
    seconds  INTEGER
) STRICT;
CREATE INDEX page_views_visit ON page_views(visit_id);

ALTER TABLE conversations ADD COLUMN visitor_id INTEGER REFERENCES visitors(id) ON DELETE SET NULL;
CREATE INDEX conversations_visitor ON conversations(visitor_id) WHERE visitor_id IS NOT NULL;

-- Automatic invitations, per site. `conditions` is a JSON object (see docs/http-api.md).
CREATE TABLE invite_rules (
    id             INTEGER PRIMARY KEY,
    site_key       TEXT NOT NULL,
    name           TEXT NOT NULL,
    enabled        INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    conditions     TEXT NOT NULL DEFAULT '{}',
    text           TEXT NOT NULL,
    delay_seconds  INTEGER NOT NULL DEFAULT 0,
    once_per_visit INTEGER NOT NULL DEFAULT 1 CHECK (once_per_visit IN (0, 1)),
    created_at     INTEGER NOT NULL
) STRICT;

-- Every invitation shown, and what the visitor did with it.
CREATE TABLE invitations (
    id         INTEGER PRIMARY KEY,
    visit_id   INTEGER NOT NULL REFERENCES visits(id) ON DELETE CASCADE,
    agent_id   INTEGER REFERENCES agents(id) ON DELETE SET NULL,
    rule_id    INTEGER REFERENCES invite_rules(id) ON DELETE SET NULL,
    text       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    state      TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'shown', 'accepted', 'dismissed', 'expired'))
) STRICT;
CREATE INDEX invitations_visit ON invitations(visit_id);

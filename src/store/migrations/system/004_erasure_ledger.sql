-- The erasure ledger: one row per data-subject erasure, kept here because restores replace
-- tenant files but never this one. Identifiers are salted SHA-256 hashes; no content.
CREATE TABLE erasures (
    id          INTEGER PRIMARY KEY,
    tenant_uuid TEXT NOT NULL,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    -- JSON array of hex hashes (src/store/gdpr.rs, identifier_hash).
    identifiers TEXT NOT NULL,
    -- JSON object: kind -> count deleted.
    deleted     TEXT NOT NULL
) STRICT;
CREATE INDEX erasures_tenant ON erasures(tenant_uuid);

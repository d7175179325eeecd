-- Deletion certificates of tenants deleted at contract end (src/store/certificate.rs): what was
-- destroyed, when, and that the key went with it. No content.
CREATE TABLE deletion_certificates (
    id          INTEGER PRIMARY KEY,
    tenant_uuid TEXT NOT NULL,
    slug        TEXT NOT NULL,
    at          INTEGER NOT NULL,
    -- The certificate as JSON.
    body        TEXT NOT NULL
) STRICT;

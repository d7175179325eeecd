-- Tenants, their wrapped keys, and the sites (widget keys, allowed origins) that route to them.
CREATE TABLE tenants (
    uuid        TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    -- nonce || AES-256-GCM(tenant key) || tag, bound to uuid; deleting it shreds the tenant.
    wrapped_key BLOB NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE sites (
    site_key    TEXT PRIMARY KEY,
    tenant_uuid TEXT NOT NULL REFERENCES tenants(uuid) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX sites_tenant ON sites(tenant_uuid);

CREATE TABLE site_origins (
    site_key TEXT NOT NULL REFERENCES sites(site_key) ON DELETE CASCADE,
    origin   TEXT NOT NULL,
    PRIMARY KEY (site_key, origin)
) STRICT;

-- What the operator did through the CLI; never any tenant content.
CREATE TABLE operator_audit (
    id     INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    result TEXT NOT NULL
) STRICT;

-- Support access: the business grants the operator's support staff a time-limited, read-only
-- login that never reaches chat content (role 4, fixed in the code like the other built-in
-- roles), through one agent account the grants open and close.
INSERT INTO roles (id, name, permissions, builtin, created_at) VALUES
  (4, 'support', 'stats.view campaigns.manage agents.manage sites.manage settings.manage', 1, 0);

CREATE TABLE support_grants (
    id         INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    revoked_at INTEGER,
    revoked_by TEXT
) STRICT;

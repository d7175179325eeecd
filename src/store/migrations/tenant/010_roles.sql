-- Roles: named sets of permissions (src/domain/rights.rs). Rows 1 to 3 are the built-in
-- Admin, Supervisor and Agent, whose permissions the code defines; others are the tenant's.
CREATE TABLE roles (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    -- Space-separated permission names (informative only for built-in roles).
    permissions TEXT NOT NULL,
    builtin     INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1)),
    created_at  INTEGER NOT NULL
) STRICT;
INSERT INTO roles (id, name, permissions, builtin, created_at) VALUES
  (1, 'admin', 'visitors.view chat chats.all stats.view campaigns.manage agents.manage sites.manage settings.manage gdpr.handle audit.read', 1, 0),
  (2, 'supervisor', 'visitors.view chat chats.all stats.view campaigns.manage audit.read', 1, 0),
  (3, 'agent', 'visitors.view chat', 1, 0);

-- The role an agent has; the old admin/agent column stays for older readers.
ALTER TABLE agents ADD COLUMN role_id INTEGER REFERENCES roles(id);
UPDATE agents SET role_id = CASE role WHEN 'admin' THEN 1 ELSE 3 END;

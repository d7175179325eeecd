-- Tenants drained for a move to another host (`kontor tenant move-out`): while a row is here
-- this server opens no database of the tenant for anyone (sockets, requests, jobs), so nothing
-- is written after the final export. `kontor tenant move-cancel` removes the row; deleting the
-- tenant (once it runs on the target) removes it with the tenant.
CREATE TABLE tenant_moves (
    tenant_uuid TEXT PRIMARY KEY REFERENCES tenants(uuid) ON DELETE CASCADE,
    since       INTEGER NOT NULL
) STRICT;

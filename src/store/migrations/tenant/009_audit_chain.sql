-- The audit trail becomes a hash chain (src/store/audit.rs), and entries name the actor's role.

ALTER TABLE audit_log ADD COLUMN role TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN hash BLOB;

CREATE TABLE audit_chain (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    -- The hash before the first kept entry (zeros until retention removes the oldest).
    start_prev BLOB NOT NULL,
    -- The last chained entry and its hash.
    head_id    INTEGER NOT NULL,
    head_hash  BLOB NOT NULL
) STRICT;
INSERT INTO audit_chain (id, start_prev, head_id, head_hash) VALUES (1, zeroblob(32), 0, zeroblob(32));

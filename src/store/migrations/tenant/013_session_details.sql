-- What an agent sees of their own sign-ins: an opaque public id (never the token or its
-- hash), the browser and system at sign-in ("Chrome 120 on Windows 10", parsed, never the raw
-- User-Agent) and the truncated address (IPv4 /24, IPv6 /48).
ALTER TABLE sessions ADD COLUMN public_id TEXT;
ALTER TABLE sessions ADD COLUMN device TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';
UPDATE sessions SET public_id = lower(hex(randomblob(12)));
CREATE UNIQUE INDEX sessions_public_id ON sessions(public_id);

-- Two-factor sign-in (src/domain/two_factor.rs). The tenant file is encrypted, so a TOTP
-- secret is kept as is (the server must compute codes from it); recovery codes only as
-- SHA-256 hashes.
CREATE TABLE agent_totp (
    agent_id    INTEGER PRIMARY KEY REFERENCES agents(id),
    secret      BLOB NOT NULL,
    enrolled_at INTEGER NOT NULL,
    -- The last time step whose code was taken: each code is good once (RFC 6238, 5.2).
    last_step   INTEGER NOT NULL DEFAULT 0
) STRICT;

-- A secret shown for enrolment but not yet confirmed with a code from the app.
CREATE TABLE totp_pending (
    agent_id   INTEGER PRIMARY KEY REFERENCES agents(id),
    secret     BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE recovery_codes (
    agent_id  INTEGER NOT NULL REFERENCES agents(id),
    code_hash BLOB NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (agent_id, code_hash)
) STRICT;

-- Half-done sign-ins: the password was right, the second factor is still owed. Keyed by the
-- hash of the token in the browser's challenge cookie, like sessions.
CREATE TABLE sign_in_challenges (
    token_hash BLOB PRIMARY KEY,
    agent_id   INTEGER NOT NULL REFERENCES agents(id),
    created_at INTEGER NOT NULL,
    failures   INTEGER NOT NULL DEFAULT 0,
    device     TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT ''
) STRICT;

-- The policy: agents of a role with this set must use a second factor (and enrol at their
-- next sign-in if they have none).
ALTER TABLE roles ADD COLUMN two_factor INTEGER NOT NULL DEFAULT 0 CHECK (two_factor IN (0, 1));

-- Online look-up: per site, the one address of the business's own system that kontor asks
-- about a pre-chat field's value (or a value an agent types), and the secret kontor sends
-- with every call (the Kontor-Lookup-Secret header) so that the system knows the call is
-- kontor's. The answers are never stored (they stay in the server's memory for a while).
CREATE TABLE site_lookups (
    site_key   TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    -- 'klk_' and the base64url of 32 random bytes.
    secret     TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

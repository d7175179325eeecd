-- Versioned privacy notices per site, shown at the chat opt-in (src/store/notices.rs). Version 1
-- is kontor's built-in text; a site's own notices are 2, 3, … and never change once written.
CREATE TABLE privacy_notices (
    site_key   TEXT NOT NULL REFERENCES sites(site_key) ON DELETE CASCADE,
    version    INTEGER NOT NULL CHECK (version >= 2),
    text_de    TEXT NOT NULL,
    text_en    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (site_key, version)
) STRICT;

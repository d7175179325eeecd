-- A site's logo for the chat frame's header: a sniffed PNG, JPEG, WebP or GIF image.
-- It stays with the tenant's data (backups, moves); the site's row is in system.db.
CREATE TABLE site_logos (
    site_key   TEXT PRIMARY KEY,
    mime       TEXT NOT NULL CHECK (mime IN ('image/png', 'image/jpeg', 'image/webp', 'image/gif')),
    data       BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);

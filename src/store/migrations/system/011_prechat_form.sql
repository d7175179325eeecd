-- A site's pre-chat form (model::forms::Form as JSON, checked when saved); none: no form.
CREATE TABLE site_forms (
    site_key   TEXT PRIMARY KEY REFERENCES sites(site_key) ON DELETE CASCADE,
    definition TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

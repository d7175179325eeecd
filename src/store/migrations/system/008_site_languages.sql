-- A site's default widget language may be any of the widget's seven languages. SQLite cannot
-- change a column's CHECK, so the column is replaced by one with the wider check.
ALTER TABLE sites ADD COLUMN widget_lang TEXT NOT NULL DEFAULT 'en'
    CHECK (widget_lang IN ('en', 'de', 'fr', 'es', 'it', 'nl', 'pl'));
UPDATE sites SET widget_lang = lang;
ALTER TABLE sites DROP COLUMN lang;
ALTER TABLE sites RENAME COLUMN widget_lang TO lang;

-- The words a site's widget shows (German and English, empty: kontor's own wording) and
-- whether visitors see the agents' names. The logo lives in the tenant's database.
ALTER TABLE sites ADD COLUMN launcher_label_de TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN launcher_label_en TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN title_de TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN title_en TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN greeting_de TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN greeting_en TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN offline_de TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN offline_en TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN show_agent_names INTEGER NOT NULL DEFAULT 1
    CHECK (show_agent_names IN (0, 1));

-- How a site's widget looks and which notice it links to.
ALTER TABLE sites ADD COLUMN position TEXT NOT NULL DEFAULT 'bottom-right'
    CHECK (position IN ('bottom-right', 'bottom-left'));
ALTER TABLE sites ADD COLUMN color TEXT NOT NULL DEFAULT '#0a5bd3';
ALTER TABLE sites ADD COLUMN privacy_url TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN lang TEXT NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'de'));

-- Each agent's own profile choices (src/store/profile.rs): the dashboard's language (NULL:
-- follow the browser) and whether a newly waiting chat chimes and raises a desktop
-- notification.
ALTER TABLE agents ADD COLUMN lang TEXT;
ALTER TABLE agents ADD COLUMN notify_sound INTEGER NOT NULL DEFAULT 1;
ALTER TABLE agents ADD COLUMN notify_desktop INTEGER NOT NULL DEFAULT 1;

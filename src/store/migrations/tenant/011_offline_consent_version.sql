-- Offline messages record which notice their consent was given to (the form's built-in
-- offline notice: "offline-1"); messages from before this record none.
ALTER TABLE offline_messages ADD COLUMN consent_version TEXT NOT NULL DEFAULT '';

-- An offline message answered by email: who answered and what (handled_at exists already).
ALTER TABLE offline_messages ADD COLUMN handled_by INTEGER;
ALTER TABLE offline_messages ADD COLUMN reply TEXT NOT NULL DEFAULT '';
-- The visitor's language (the answer is written in it where it is German or English).
ALTER TABLE offline_messages ADD COLUMN lang TEXT NOT NULL DEFAULT 'en';

-- The visitor asked in the widget for the transcript by email, to this address.
ALTER TABLE conversations ADD COLUMN transcript_to TEXT NOT NULL DEFAULT '';

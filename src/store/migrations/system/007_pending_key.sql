-- A tenant key being replaced (src/store/rekey.rs): the new wrapped key is stored here first,
-- so whichever file is on disk after a crash, one of the two keys opens it.
ALTER TABLE tenants ADD COLUMN pending_key BLOB;

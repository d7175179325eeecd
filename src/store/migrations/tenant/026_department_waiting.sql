-- A department may set its own times for alerting agents again about a waiting chat and for
-- offering the visitor to leave a message (seconds, 0 off); NULL follows the tenant's times.
ALTER TABLE departments ADD COLUMN queue_alert_secs INTEGER CHECK (queue_alert_secs >= 0);
ALTER TABLE departments ADD COLUMN offline_offer_secs INTEGER CHECK (offline_offer_secs >= 0);

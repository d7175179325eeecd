-- Retried messages are recognised by the hub, which keeps the latest client ids of every open
-- conversation in memory (read back from `messages.client_id` when it starts). This index put
-- a second randomly placed page into every message's commit; each such page costs an AES
-- encryption and an HMAC.
DROP INDEX IF EXISTS messages_client_id;

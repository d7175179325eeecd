-- The identity of the chat log (its epoch). Clients remember it with the sequence numbers
-- they hold; a restore that replaces the log gives it a new one, so a client that saw entries
-- the restore dropped is told to start over instead of trusting numbers that are reused.
CREATE TABLE log_identity (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    epoch TEXT NOT NULL
);
INSERT INTO log_identity (id, epoch) VALUES (1, lower(hex(randomblob(16))));

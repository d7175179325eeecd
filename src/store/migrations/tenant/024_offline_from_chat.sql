-- A waiting chat nobody took can become an offline message (the visitor's words so far, and
-- their address), linked to the chat; one per chat.
ALTER TABLE offline_messages ADD COLUMN conversation_id INTEGER;
CREATE UNIQUE INDEX offline_messages_conversation ON offline_messages(conversation_id)
    WHERE conversation_id IS NOT NULL;

-- The usual wait a queued visitor is told is the median over the chats accepted in the last
-- hour: found through this index, not by reading every chat the tenant ever had.
CREATE INDEX conversations_accepted ON conversations(accepted_at) WHERE accepted_at IS NOT NULL;

-- What a visitor filled in the site's pre-chat form, with the labels they were asked with,
-- so that a later change of the form leaves the chat as it was. Goes with its chat.
CREATE TABLE conversation_fields (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    label_de        TEXT NOT NULL,
    label_en        TEXT NOT NULL,
    value           TEXT NOT NULL,
    option_de       TEXT NOT NULL DEFAULT '',
    option_en       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX conversation_fields_by_chat ON conversation_fields (conversation_id);

//! Queries on conversations and their message log, and on what the chat around them needs:
//! offline messages, canned responses, the agents and departments routing looks at, and the
//! tenant's settings. Callers use the items through this module (`store::chat::…`); the
//! files split them by concern.

mod canned;
mod conversations;
mod fields;
mod messages;
mod offline;
mod routing;
mod settings;

pub use canned::{CannedRow, delete_canned, insert_canned, list_canned};
pub use conversations::{
    ConversationRow, HistoryRow, ListedConversation, NewConversation, PageFilter, accept,
    active_conversations, close, conversation, conversation_by_token, insert_conversation, listed,
    page, rate, reassign, release, requeue, search, set_department,
};
pub use fields::{fields, insert_fields};
pub use messages::{
    Inserted, MessageRow, NewMessage, NoteRow, all_messages, file, files_bytes, files_since,
    insert_file, insert_message, insert_note, last_seq, last_seqs, log_epoch, messages_after,
    notes, recent_client_ids, renew_log_epoch,
};
pub use offline::{
    NewOffline, OFFLINE_NOTICE_VERSION, OfflineRow, insert_offline, list_offline, mark_handled,
    offline_exists, offline_page,
};
pub use routing::{agent_capacity, agent_departments, agent_name, department_exists, median_wait};
pub use settings::{
    ChatSettings, ChatSettingsChange, change_chat_settings, chat_settings, set_setting, setting,
    waiting_times,
};

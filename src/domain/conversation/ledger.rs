//! The rows the conversation rules write and the few they read, as one trait: the hub's
//! shell implements it over the batch's transaction ([`Tx`]), unit tests over memory. The
//! rules themselves never touch a connection.
//!
//! [`Tx`] also queues the webhook events of what it writes (chat started, accepted, closed,
//! message, rating) in the same transaction: an event is queued exactly when its row is
//! stored.

use crate::domain::protocol::AgentStatus;
use crate::domain::webhooks;
use crate::error::Result;
use crate::model::attachment::FileRef;
use crate::model::forms::Filled;
use crate::model::uploads::Usage;
use crate::store::audit::{self, AuditEntry};
use crate::store::chat::{self, NewConversation, NewMessage};
use crate::store::tenant;
use rusqlite::Connection;
use serde_json::json;

/// What the conversation rules store and look up.
pub trait Ledger {
    /// Appends an audit entry (a refused frame).
    fn audit(&mut self, at: i64, actor: &str, action: &str, object: &str) -> Result<()>;
    /// Appends an audit entry for an action carried out (a supervisor's watch, whisper or
    /// take-over).
    fn audit_done(&mut self, at: i64, actor: &str, action: &str, object: &str) -> Result<()>;
    /// A conversation's id and site, by the hash of its visitor token.
    fn conversation_by_token(&mut self, token_hash: &[u8]) -> Result<Option<(i64, String)>>;
    /// The last seq of a conversation (closed ones too).
    fn last_seq(&mut self, id: i64) -> Result<i64>;
    /// Whether a department exists.
    fn department_exists(&mut self, id: i64) -> Result<bool>;
    /// The median wait of the chats accepted since `since` (seconds), if any was.
    fn median_wait(&mut self, since: i64) -> Result<Option<i64>>;
    /// A new waiting conversation; its id.
    fn open_chat(&mut self, n: &NewConversation<'_>, dep: Option<i64>) -> Result<i64>;
    /// The pre-chat form values of a new conversation.
    fn form_values(&mut self, id: i64, values: &[Filled]) -> Result<()>;
    /// Counts a chat of a site started after an answer of its FAQ was opened (only the
    /// count per day and site).
    fn faq_chat(&mut self, site_key: &str, at: i64) -> Result<()>;
    /// A log entry.
    fn insert_message(&mut self, m: &NewMessage<'_>) -> Result<()>;
    /// An internal note (once per client id): its id, and whether it is new.
    fn note(&mut self, id: i64, agent: i64, text: &str, cid: &str, at: i64) -> Result<(i64, bool)>;
    /// How many files a conversation received at or after `since`, and their bytes.
    fn files_since(&mut self, id: i64, since: i64) -> Result<Usage>;
    /// The bytes of every stored file of the tenant.
    fn files_bytes(&mut self) -> Result<u64>;
    /// An uploaded file of a conversation.
    fn file(&mut self, id: i64, name: &str, mime: &str, data: &[u8], at: i64) -> Result<FileRef>;
    /// The file of the entry stored under `seq`, if it has one.
    fn file_at(&mut self, id: i64, seq: i64) -> Result<Option<FileRef>>;
    /// An agent took a waiting chat.
    fn accept(&mut self, id: i64, agent_id: i64, at: i64) -> Result<()>;
    /// An open chat goes to another agent.
    fn reassign(&mut self, id: i64, agent_id: i64) -> Result<()>;
    /// An open chat goes back to the queue, for a department.
    fn requeue(&mut self, id: i64, department_id: i64) -> Result<()>;
    /// An open chat goes back to the queue, its department kept.
    fn release(&mut self, id: i64) -> Result<()>;
    /// The chat ended.
    fn close(&mut self, id: i64, at: i64) -> Result<()>;
    /// The visitor's rating.
    fn rate(&mut self, id: i64, score: i64, comment: &str, at: i64) -> Result<()>;
    /// An agent's display name.
    fn agent_name(&mut self, agent_id: i64) -> Result<String>;
    /// An agent's capacity and departments.
    fn agent_load(&mut self, agent_id: i64) -> Result<(usize, Vec<i64>)>;
    /// Whether an agent may still hold chats (exists, enabled, allowed to chat).
    fn agent_may_chat(&mut self, agent_id: i64) -> Result<bool>;
    /// An agent's presence from `at` on: signed in with a status (the same again renews
    /// it), or signed out (`None`).
    fn agent_presence(&mut self, agent_id: i64, status: Option<AgentStatus>, at: i64)
    -> Result<()>;
}

/// The ledger over a tenant's connection (the hub's open transaction).
pub struct Tx<'a>(pub &'a Connection);

impl Ledger for Tx<'_> {
    fn audit(&mut self, at: i64, actor: &str, action: &str, object: &str) -> Result<()> {
        let entry = AuditEntry {
            actor,
            action,
            object,
            result: "authz denied",
            ..Default::default()
        };
        audit::append(self.0, at, &entry)
    }

    fn audit_done(&mut self, at: i64, actor: &str, action: &str, object: &str) -> Result<()> {
        let entry = AuditEntry {
            actor,
            action,
            object,
            result: "success",
            ..Default::default()
        };
        audit::append(self.0, at, &entry)
    }

    fn conversation_by_token(&mut self, token_hash: &[u8]) -> Result<Option<(i64, String)>> {
        Ok(chat::conversation_by_token(self.0, token_hash)?.map(|r| (r.id, r.site_key)))
    }

    fn last_seq(&mut self, id: i64) -> Result<i64> {
        chat::last_seq(self.0, id)
    }

    fn department_exists(&mut self, id: i64) -> Result<bool> {
        chat::department_exists(self.0, id)
    }

    fn median_wait(&mut self, since: i64) -> Result<Option<i64>> {
        chat::median_wait(self.0, since)
    }

    fn open_chat(&mut self, n: &NewConversation<'_>, dep: Option<i64>) -> Result<i64> {
        let id = chat::insert_conversation(self.0, n)?;
        if let Some(d) = dep {
            chat::set_department(self.0, id, d)?;
        }
        let data = || {
            json!({
                "conversation_id": id,
                "site": n.site_key,
                "department_id": dep,
                "visitor": {"name": n.name, "email": n.email},
                "lang": n.lang,
            })
        };
        webhooks::emit(self.0, "chat.started", data, n.at)?;
        Ok(id)
    }

    fn insert_message(&mut self, m: &NewMessage<'_>) -> Result<()> {
        chat::insert_message(self.0, m)?;
        crate::metrics::stage_message();
        // What people wrote; kontor's own lines (system entries, the greeting and the queue
        // message) are not events.
        if matches!(m.author, "visitor" | "agent") {
            let data = || {
                json!({
                    "conversation_id": m.conversation_id,
                    "seq": m.seq,
                    "author": m.author,
                    "agent_id": m.agent_id,
                    "text": m.body,
                    "file_id": m.file_id,
                })
            };
            webhooks::emit(self.0, "message.created", data, m.at)?;
        }
        Ok(())
    }

    fn form_values(&mut self, id: i64, values: &[Filled]) -> Result<()> {
        chat::insert_fields(self.0, id, values)
    }

    fn faq_chat(&mut self, site_key: &str, at: i64) -> Result<()> {
        crate::store::faqs::count_chat(self.0, site_key, at)
    }

    fn note(&mut self, id: i64, agent: i64, text: &str, cid: &str, at: i64) -> Result<(i64, bool)> {
        chat::insert_note(self.0, id, agent, text, cid, at)
    }

    fn files_since(&mut self, id: i64, since: i64) -> Result<Usage> {
        let (files, bytes) = chat::files_since(self.0, id, since)?;
        Ok(Usage { files, bytes })
    }

    fn files_bytes(&mut self) -> Result<u64> {
        chat::files_bytes(self.0)
    }

    fn file(&mut self, id: i64, name: &str, mime: &str, data: &[u8], at: i64) -> Result<FileRef> {
        chat::insert_file(self.0, id, name, mime, data, at)
    }

    fn file_at(&mut self, id: i64, seq: i64) -> Result<Option<FileRef>> {
        let entry = chat::messages_after(self.0, id, seq - 1, 1)?
            .into_iter()
            .next();
        Ok(entry.filter(|m| m.seq == seq).and_then(|m| m.file))
    }

    fn accept(&mut self, id: i64, agent_id: i64, at: i64) -> Result<()> {
        chat::accept(self.0, id, agent_id, at)?;
        let data = || json!({"conversation_id": id, "agent_id": agent_id});
        webhooks::emit(self.0, "chat.accepted", data, at)?;
        Ok(())
    }

    fn reassign(&mut self, id: i64, agent_id: i64) -> Result<()> {
        chat::reassign(self.0, id, agent_id)
    }

    fn requeue(&mut self, id: i64, department_id: i64) -> Result<()> {
        chat::requeue(self.0, id, department_id)
    }

    fn release(&mut self, id: i64) -> Result<()> {
        chat::release(self.0, id)
    }

    fn close(&mut self, id: i64, at: i64) -> Result<()> {
        chat::close(self.0, id, at)?;
        webhooks::emit(self.0, "chat.closed", || json!({"conversation_id": id}), at)?;
        Ok(())
    }

    fn rate(&mut self, id: i64, score: i64, comment: &str, at: i64) -> Result<()> {
        chat::rate(self.0, id, score, comment)?;
        let data = || json!({"conversation_id": id, "score": score, "comment": comment});
        webhooks::emit(self.0, "visitor.rated", data, at)?;
        Ok(())
    }

    fn agent_name(&mut self, agent_id: i64) -> Result<String> {
        chat::agent_name(self.0, agent_id)
    }

    fn agent_load(&mut self, agent_id: i64) -> Result<(usize, Vec<i64>)> {
        // An agent whose row cannot be read takes no chats rather than failing the batch.
        let capacity = chat::agent_capacity(self.0, agent_id).unwrap_or(0).max(0) as usize;
        let departments = chat::agent_departments(self.0, agent_id).unwrap_or_default();
        Ok((capacity, departments))
    }

    fn agent_may_chat(&mut self, agent_id: i64) -> Result<bool> {
        Ok(tenant::agent_by_id(self.0, agent_id)?
            .is_some_and(|a| !a.disabled && a.may(crate::model::rights::Permission::Chat)))
    }

    fn agent_presence(
        &mut self,
        agent_id: i64,
        status: Option<AgentStatus>,
        at: i64,
    ) -> Result<()> {
        let status = status.map(super::presence::status_name);
        crate::store::presence::record(self.0, agent_id, status, at)
    }
}

//! Wire frames of the visitor and agent sockets: JSON objects tagged by `type`, strictly typed
//! (unknown fields and wrong types are refused). `docs/protocol.md` describes the same frames.

use crate::error::Code;
use crate::model::attachment::FileRef;
use serde::{Deserialize, Serialize};

/// Largest frame a client may send.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Longest chat message, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;
/// Longest client message id.
pub const MAX_CLIENT_ID: usize = 64;

/// What a visitor's widget sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum VisitorIn {
    /// Opens a conversation; only after the visitor ticked the opt-in box.
    Start {
        /// Must be `true`: the visitor accepted the privacy notice.
        consent: bool,
        /// Which version of the notice was shown.
        notice_version: String,
        /// Optional name.
        #[serde(default)]
        name: String,
        /// Optional email.
        #[serde(default)]
        email: String,
        /// UI language.
        #[serde(default)]
        lang: String,
        /// The department the visitor chose, if the site offers a choice.
        #[serde(default)]
        department: Option<i64>,
        /// The values of the site's pre-chat form, by field name.
        #[serde(default)]
        fields: std::collections::BTreeMap<String, crate::model::forms::Value>,
        /// The widget's own token (`SITE_KEY.` and 64 hex digits), so that a retried start
        /// is idempotent; the server makes one when absent.
        #[serde(default)]
        token: Option<String>,
        /// The visitor opened an answer of the site's FAQ in this frame before starting:
        /// counted per day and site (not stored with the chat).
        #[serde(default)]
        after_faq: bool,
    },
    /// Reattaches to a conversation after a reconnect and asks for what was missed.
    Resume {
        /// The token `welcome` gave.
        token: String,
        /// The last `seq` up to which the widget holds every entry.
        last_seq: i64,
        /// The log identity from the last `welcome`, if the widget has one.
        #[serde(default)]
        epoch: Option<String>,
    },
    /// A chat message.
    Message {
        /// The widget's own id for this message (retries reuse it).
        client_id: String,
        /// The text.
        text: String,
    },
    /// The visitor is typing; `text` is the draft, sent only when the tenant enabled the
    /// typing preview and the visitor was told so.
    Typing {
        /// The draft (at most 4000 characters), or nothing.
        #[serde(default)]
        text: Option<String>,
    },
    /// The visitor ends the chat.
    End {},
    /// The visitor rates the chat (while open or after the end).
    Rate {
        /// 1 to 5.
        score: i64,
        /// Optional comment.
        #[serde(default)]
        comment: String,
    },
    /// Keep-alive.
    Ping {},
}

/// What an agent's dashboard sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AgentIn {
    /// First frame: the conversations the dashboard has, with the last `seq` it saw of each.
    Hello {
        /// `[conversation_id, last_seq]` pairs.
        #[serde(default)]
        seen: Vec<(i64, i64)>,
        /// The log identity from the last `ready`, if the dashboard has one.
        #[serde(default)]
        epoch: Option<String>,
    },
    /// Online, away or offline.
    Status {
        /// The new status.
        status: AgentStatus,
    },
    /// Takes a waiting chat.
    Accept {
        /// The conversation.
        conversation_id: i64,
    },
    /// A reply.
    Message {
        /// The conversation.
        conversation_id: i64,
        /// The dashboard's own id for this message.
        client_id: String,
        /// The text.
        text: String,
    },
    /// The agent is typing.
    Typing {
        /// The conversation.
        conversation_id: i64,
    },
    /// Ends a chat.
    Close {
        /// The conversation.
        conversation_id: i64,
    },
    /// An internal note on a chat; the visitor never sees it.
    Note {
        /// The conversation.
        conversation_id: i64,
        /// The dashboard's own id for this note.
        client_id: String,
        /// The text.
        text: String,
    },
    /// Hands a chat to another agent, or back to the queue of a department.
    Transfer {
        /// The conversation.
        conversation_id: i64,
        /// The agent to take it.
        #[serde(default)]
        to_agent: Option<i64>,
        /// The department whose agents should take it.
        #[serde(default)]
        to_department: Option<i64>,
    },
    /// Invites a visitor on the site to chat.
    Invite {
        /// The visitor.
        visitor_id: i64,
        /// The invitation's text; the site's default when absent.
        #[serde(default)]
        text: Option<String>,
    },
    /// A supervisor watches another agent's chat as it happens (read-only).
    Watch {
        /// The conversation.
        conversation_id: i64,
    },
    /// The supervisor stops watching.
    Unwatch {
        /// The conversation.
        conversation_id: i64,
    },
    /// A watching supervisor's note to the chat's agent; the visitor never sees it.
    Whisper {
        /// The conversation.
        conversation_id: i64,
        /// The dashboard's own id for it.
        client_id: String,
        /// The text.
        text: String,
    },
    /// A supervisor takes another agent's open chat (a transfer to themselves).
    TakeOver {
        /// The conversation.
        conversation_id: i64,
    },
    /// A message to the team: a whole-team, department or one-to-one room
    /// (`model::team::Room`).
    TeamMessage {
        /// The room's name.
        room: String,
        /// The dashboard's own id for this message.
        client_id: String,
        /// The text.
        text: String,
    },
    /// The agent has read a team room up to `seq` (clears its badge on every device).
    TeamRead {
        /// The room's name.
        room: String,
        /// The last seq read.
        seq: i64,
    },
    /// Keep-alive.
    Ping {},
}

impl AgentIn {
    /// Whether the frame belongs to the team chat (`domain::team_chat`).
    pub fn is_team(&self) -> bool {
        matches!(self, AgentIn::TeamMessage { .. } | AgentIn::TeamRead { .. })
    }

    /// The conversation the frame is about, if any.
    pub fn conversation_id(&self) -> Option<i64> {
        match self {
            AgentIn::Accept { conversation_id }
            | AgentIn::Message {
                conversation_id, ..
            }
            | AgentIn::Typing { conversation_id }
            | AgentIn::Close { conversation_id }
            | AgentIn::Note {
                conversation_id, ..
            }
            | AgentIn::Transfer {
                conversation_id, ..
            }
            | AgentIn::Watch { conversation_id }
            | AgentIn::Unwatch { conversation_id }
            | AgentIn::Whisper {
                conversation_id, ..
            }
            | AgentIn::TakeOver { conversation_id } => Some(*conversation_id),
            _ => None,
        }
    }
}

/// A page of a visit, as agents see it.
#[derive(Debug, Clone, Serialize)]
pub struct PageOut {
    /// Address (query stripped by the site's rules).
    pub url: String,
    /// Title.
    pub title: String,
    /// Unix seconds.
    pub at: i64,
    /// Time on the page; `None` while the visitor is on it.
    pub seconds: Option<i64>,
}

/// What agents see of a chat a visitor has.
#[derive(Debug, Clone, Serialize)]
pub struct VisitorChat {
    /// The conversation.
    pub conversation_id: i64,
    /// waiting, open or closed.
    pub status: &'static str,
}

/// An invitation as agents see it.
#[derive(Debug, Clone, Serialize)]
pub struct InviteOut {
    /// Id.
    pub id: i64,
    /// pending, shown, accepted or dismissed.
    pub state: &'static str,
    /// Who invites (the inviting agent, or an online agent for a rule).
    pub agent_name: String,
    /// The text.
    pub text: String,
    /// The rule that fired, if a rule did.
    pub rule_id: Option<i64>,
}

/// A live visitor, as agents see them (`docs/protocol.md`, "Visitors").
#[derive(Debug, Clone, Serialize)]
pub struct VisitorOut {
    /// Id.
    pub visitor_id: i64,
    /// The site.
    pub site_key: String,
    /// anonymous or consented.
    pub mode: &'static str,
    /// Start of this visit.
    pub started_at: i64,
    /// Last heartbeat or page view.
    pub last_seen: i64,
    /// The page they are on.
    pub page: Option<PageOut>,
    /// This visit's pages, oldest first (the latest 50).
    pub pages: Vec<PageOut>,
    /// The first page of this visit.
    pub entry: String,
    /// Referring address ("" when direct).
    pub referrer: String,
    /// search, social, site or direct.
    pub referrer_kind: &'static str,
    /// Referring host.
    pub referrer_host: String,
    /// The visit's `utm_*`, if any.
    pub campaign: Option<crate::model::tracking::Campaign>,
    /// "Chrome 120".
    pub browser: String,
    /// "Windows 10".
    pub os: String,
    /// desktop, smartphone, tablet or other.
    pub device: &'static str,
    /// Browser language.
    pub lang: String,
    /// "1920x1080".
    pub screen: String,
    /// ISO country code, only with a configured offline GeoIP database.
    pub country: Option<String>,
    /// Visits so far.
    pub visits: i64,
    /// How promising the visit looks, 0-10 (see `model::relevance`).
    pub relevance: u8,
    /// The signals that count for it, largest first (`pages`, `time`, `campaign`, `goal`,
    /// `returning`, `chats`).
    pub relevance_why: Vec<&'static str>,
    /// Their chat, if any.
    pub chat: Option<VisitorChat>,
    /// The latest invitation, if any.
    pub invite: Option<InviteOut>,
}

/// An agent's availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// Takes new chats.
    Online,
    /// Keeps open chats, takes no new ones.
    Away,
    /// Takes nothing.
    Offline,
}

/// One entry of a conversation's log as clients see it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MessageOut {
    /// The conversation.
    pub conversation_id: i64,
    /// Position in the conversation, gap-free from 1.
    pub seq: i64,
    /// `visitor`, `agent` or `system`.
    pub author: String,
    /// The agent's display name for agent messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    /// The text (for system entries: an event code such as `accepted` or `closed`; for
    /// files: the file's name).
    pub text: String,
    /// An attached file, downloadable by id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<FileRef>,
    /// Unix seconds.
    pub at: i64,
}

/// A waiting chat as the queue shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct QueueEntry {
    /// The conversation.
    pub conversation_id: i64,
    /// Visitor's name, possibly empty.
    pub visitor_name: String,
    /// Unix seconds when it started.
    pub since: i64,
    /// The agent routing picked, if any.
    pub offered_to: Option<i64>,
    /// The department it was asked for, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department_id: Option<i64>,
}

/// A conversation as an agent's dashboard lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationOut {
    /// The conversation.
    pub conversation_id: i64,
    /// waiting, open or closed.
    pub status: String,
    /// Visitor's name.
    pub visitor_name: String,
    /// Visitor's email.
    pub visitor_email: String,
    /// The agent who has it.
    pub agent_id: Option<i64>,
    /// Sent to a supervisor watching it: the chat is another agent's, shown read-only.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub watching: bool,
    /// What the visitor filled in the site's pre-chat form, with the labels asked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<crate::model::forms::Filled>,
}

/// A team chat room as the dashboard lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TeamRoomOut {
    /// The room's name (`all`, `d<id>`, `a<id>-<id>`).
    pub room: String,
    /// `all`, `department` or `direct`.
    pub kind: &'static str,
    /// The department's name, or the other agent's; empty for the whole team.
    pub name: String,
    /// For a one-to-one room, the other agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<i64>,
    /// The room's last seq (0: no message yet).
    pub last_seq: i64,
    /// Where this agent has read up to.
    pub read_seq: i64,
}

/// An agent as the dashboard's presence list shows them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AgentPresence {
    /// Agent id.
    pub agent_id: i64,
    /// Display name.
    pub name: String,
    /// online, away or offline.
    pub status: AgentStatus,
    /// Open chats.
    pub open: usize,
    /// Chats they take at once.
    pub capacity: usize,
    /// Their departments.
    pub departments: Vec<i64>,
}

/// Everything the server sends, to either side.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Out {
    /// Answer to `start`/`resume`.
    Welcome {
        /// The conversation.
        conversation_id: i64,
        /// The visitor's secret for `resume` (only sent on `start`).
        #[serde(skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        /// waiting, open or closed.
        status: String,
        /// Position in the queue while waiting (1 = next).
        #[serde(skip_serializing_if = "Option::is_none")]
        queue_position: Option<usize>,
        /// The identity of the log the sequence numbers belong to.
        epoch: String,
    },
    /// Answer to an agent's `hello`.
    Ready {
        /// The agent's id.
        agent_id: i64,
        /// The agent's current status (shared by all their sockets).
        status: AgentStatus,
        /// Open conversations of this agent.
        conversations: Vec<ConversationOut>,
        /// The identity of the log the sequence numbers belong to.
        epoch: String,
    },
    /// Forget every entry held of this conversation: its whole log follows from seq 1 (the
    /// client's numbers are from another log, or beyond this one's end).
    Reset {
        /// The conversation.
        conversation_id: i64,
    },
    /// A stored message was accepted: `seq` is its place in the conversation.
    Ack {
        /// The sender's id for it.
        client_id: String,
        /// The conversation.
        conversation_id: i64,
        /// Its sequence number.
        seq: i64,
    },
    /// A log entry (new, or replayed after resume).
    Message(Box<MessageOut>),
    /// The other side is typing.
    Typing {
        /// The conversation.
        conversation_id: i64,
        /// `visitor` or `agent`.
        who: String,
        /// The visitor's draft, when the typing preview is on (agents only).
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// The waiting chats (agents).
    Queue {
        /// In order of arrival.
        waiting: Vec<QueueEntry>,
    },
    /// A chat has waited longer than the tenant's offer time (to its visitor, once): they may
    /// leave what they wrote as a message instead, while the chat goes on waiting.
    OfflineOffer {
        /// The waiting chat.
        conversation_id: i64,
    },
    /// A chat ended because its visitor's data is being erased on a data-subject request
    /// (to the agent who had it, and to agents who may take it while it waited).
    ChatErased {
        /// The chat, closed now.
        conversation_id: i64,
    },
    /// A chat has waited longer than the tenant's alert time (agents who may take it, once).
    QueueAlert {
        /// The waiting chat.
        conversation_id: i64,
        /// The visitor's name, if given.
        visitor_name: String,
        /// Seconds it has waited.
        waiting_secs: i64,
    },
    /// What changed in the queue since the last `queue` or `queue_update` (agents): entries
    /// to add or replace (by conversation id), and conversations that left the queue.
    QueueUpdate {
        /// New or changed entries.
        upsert: Vec<QueueEntry>,
        /// Conversations no longer waiting.
        remove: Vec<i64>,
    },
    /// What changed in the presence list since the last `agents` or `agents_update`.
    AgentsUpdate {
        /// New or changed agents.
        upsert: Vec<AgentPresence>,
        /// Agents who went offline (their last socket closed).
        remove: Vec<i64>,
    },
    /// The visitor's place in the queue changed.
    QueuePosition {
        /// 1 = next.
        position: usize,
    },
    /// A conversation changed state (accepted, closed).
    Conversation(Box<ConversationOut>),
    /// Who is answering (visitors).
    Agent {
        /// The agent's display name.
        name: String,
    },
    /// The rating was stored.
    Rated {
        /// The conversation.
        conversation_id: i64,
    },
    /// A note was stored.
    Noted {
        /// The dashboard's id for it.
        client_id: String,
        /// The conversation.
        conversation_id: i64,
        /// The note's id.
        id: i64,
    },
    /// An internal note (agents only).
    Note {
        /// The conversation.
        conversation_id: i64,
        /// The note's id.
        id: i64,
        /// Who wrote it.
        author_name: String,
        /// The text.
        text: String,
        /// Unix seconds.
        at: i64,
    },
    /// The agents who are connected, with their status and load (agents only).
    Agents {
        /// The list.
        agents: Vec<AgentPresence>,
    },
    /// The visitors on the tenant's sites now, first part (agents only, after `hello`).
    Visitors {
        /// Server time, unix seconds.
        now: i64,
        /// The list, or its first part.
        visitors: Vec<VisitorOut>,
        /// More parts follow (`visitors_more`).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        more: bool,
    },
    /// A further part of the list `visitors` began.
    VisitorsMore {
        /// Server time, unix seconds.
        now: i64,
        /// Visitors to add.
        visitors: Vec<VisitorOut>,
        /// More parts follow.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        more: bool,
    },
    /// A visitor appeared or changed: replaces the one with this id.
    Visitor {
        /// Server time, unix seconds.
        now: i64,
        /// The visitor.
        visitor: Box<VisitorOut>,
    },
    /// A visitor left (no heartbeat within the grace period).
    VisitorLeft {
        /// Which.
        visitor_id: i64,
    },
    /// A supervisor began or stopped watching a chat, or took it over (to the chat's agent,
    /// and to the supervisor as the answer).
    Supervision {
        /// The conversation.
        conversation_id: i64,
        /// `watching`, `stopped` or `took_over`.
        action: &'static str,
        /// The supervisor.
        supervisor_id: i64,
        /// Their display name.
        supervisor_name: String,
    },
    /// The team rooms the agent belongs to, after `ready` (agents who may chat).
    TeamRooms {
        /// Whole team first, then departments, then one-to-one rooms by name.
        rooms: Vec<TeamRoomOut>,
    },
    /// A team message (new; older ones are read over HTTP).
    TeamMessage(crate::store::team::TeamMessage),
    /// The sender's team message is stored under `seq`.
    TeamAck {
        /// The room.
        room: String,
        /// The sender's id for it.
        client_id: String,
        /// Its place in the room.
        seq: i64,
    },
    /// The sender's team message was refused (stored nowhere); the dashboard drops it.
    TeamRefused {
        /// The room.
        room: String,
        /// The sender's id for it.
        client_id: String,
        /// Stable code, from the registry.
        code: Code,
        /// Human-readable.
        message: String,
    },
    /// The agent read a room up to `seq` (on another device or tab).
    TeamRead {
        /// The room.
        room: String,
        /// The last seq read.
        seq: i64,
    },
    /// Keep-alive answer.
    Pong {},
    /// A frame was refused; the socket stays open.
    Error {
        /// Stable code, from the registry (its string on the wire).
        code: Code,
        /// Human-readable.
        message: String,
        /// The conversation the refused frame was about, if it named one.
        #[serde(skip_serializing_if = "Option::is_none")]
        conversation_id: Option<i64>,
        /// Per refused field of a pre-chat form, why (`invalid_form`).
        #[serde(skip_serializing_if = "Option::is_none")]
        fields: Option<std::collections::BTreeMap<String, String>>,
    },
}

impl Out {
    /// An error frame.
    pub fn error(code: Code, message: impl Into<String>) -> Out {
        Out::Error {
            code,
            message: message.into(),
            conversation_id: None,
            fields: None,
        }
    }

    /// The frame as JSON text.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            format!(
                r#"{{"type":"error","code":"{}","message":"encoding failed"}}"#,
                Code::InternalError
            )
        })
    }
}

/// Checks a client message id and a text body.
pub fn check_message(client_id: &str, text: &str) -> Result<(), Out> {
    if client_id.is_empty()
        || client_id.len() > MAX_CLIENT_ID
        || !client_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Out::error(
            Code::InvalidClientId,
            "client_id must be 1-64 characters of A-Z, a-z, 0-9, - and _",
        ));
    }
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Out::error(Code::EmptyMessage, "the message is empty"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Out::error(
            Code::MessageTooLong,
            format!("a message may have at most {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_strict() {
        let ok: VisitorIn =
            serde_json::from_str(r#"{"type":"message","client_id":"a1","text":"hi"}"#).unwrap();
        assert!(matches!(ok, VisitorIn::Message { .. }));
        for bad in [
            r#"{"type":"message","client_id":{"$regex":".*"},"text":"hi"}"#,
            r#"{"type":"message","client_id":"a","text":"hi","admin":true}"#,
            r#"{"type":"resume","token":"t","last_seq":"1 OR 1=1"}"#,
            r#"{"type":"resume","token":"t","last_seq":1e309}"#,
            r#"true"#,
            r#"{"type":"nope"}"#,
        ] {
            assert!(serde_json::from_str::<VisitorIn>(bad).is_err(), "{bad}");
        }
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(serde_json::from_str::<AgentIn>(&deep).is_err());
    }

    #[test]
    fn message_checks() {
        assert!(check_message("m-1", "hello").is_ok());
        assert!(check_message("", "hello").is_err());
        assert!(check_message("a b", "hello").is_err());
        assert!(check_message("m", "   ").is_err());
        assert!(check_message("m", &"x".repeat(MAX_TEXT_CHARS + 1)).is_err());
    }

    #[test]
    fn out_frames_have_a_type_tag() {
        let s = Out::Pong {}.encode();
        assert_eq!(s, r#"{"type":"pong"}"#);
        let s = Out::Message(Box::new(MessageOut {
            conversation_id: 1,
            seq: 2,
            author: "visitor".into(),
            author_name: None,
            text: "<b>".into(),
            file: None,
            at: 3,
        }))
        .encode();
        assert!(
            s.starts_with(r#"{"type":"message","conversation_id":1,"seq":2"#),
            "{s}"
        );
    }
}

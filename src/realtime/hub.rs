//! The hub of one tenant: a thread that owns presence (who is connected, agent status, open
//! conversations) and is the only writer of chat data. It takes commands in batches and runs
//! each batch in one transaction (group commit); only after COMMIT does it acknowledge and fan
//! out, so nothing is acknowledged that a crash could lose.

use super::protocol::{
    AgentIn, AgentStatus, ConversationOut, MessageOut, Out, QueueEntry, VisitorIn, check_message,
};
use crate::clock::now;
use crate::config::SessionConfig;
use crate::crypto;
use crate::domain::{agents, routing, tenants};
use crate::error::Result;
use crate::store::TenantDb;
use crate::store::chat::{self as cstore, Inserted, NewConversation};
use crate::store::tenant as tstore;
use rusqlite::Connection;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Commands a hub accepts at most in one batch (one transaction).
const MAX_BATCH: usize = 512;
/// Commands queued at most; beyond this senders are told to retry.
pub const COMMAND_QUEUE: usize = 8192;
/// Frames queued at most per connection; a connection that falls further behind is dropped
/// and resumes from its last sequence number.
pub const OUTBOX: usize = 1024;
/// How often agent sessions are re-checked, so logout or disabling ends sockets within 1 s.
const SESSION_CHECK: Duration = Duration::from_millis(500);
/// Replayed messages per query.
const REPLAY_PAGE: i64 = 500;

/// Identifies one socket.
pub type ConnId = u64;

/// A frame ready to send, shared between recipients.
pub type Frame = Arc<str>;

/// Who a socket belongs to.
#[derive(Debug, Clone)]
pub enum Peer {
    /// A visitor's widget on one of the tenant's sites.
    Visitor {
        /// The site it was embedded in.
        site_key: String,
    },
    /// A signed-in agent.
    Agent {
        /// Agent id.
        agent_id: i64,
        /// Display name.
        name: String,
        /// Their session, re-checked periodically.
        token_hash: Vec<u8>,
    },
}

/// What sockets tell the hub.
pub enum Command {
    /// A socket opened.
    Join {
        /// Its id.
        conn: ConnId,
        /// Whose it is.
        peer: Peer,
        /// Where the hub sends its frames.
        out: mpsc::Sender<Frame>,
    },
    /// A visitor frame.
    Visitor(ConnId, VisitorIn),
    /// An agent frame.
    Agent(ConnId, AgentIn),
    /// A socket closed.
    Leave(ConnId),
    /// Is any agent online? (The widget shows the offline form when not.)
    Available(tokio::sync::oneshot::Sender<bool>),
    /// Stop the hub (server shutdown, tenant deleted).
    Stop,
}

/// A cheap handle to a running hub.
#[derive(Clone)]
pub struct HubHandle {
    tx: SyncSender<Command>,
}

impl HubHandle {
    /// Queues a command; `false` when the hub is overloaded or gone (the caller tells the
    /// client to retry; client ids make the retry safe).
    pub fn send(&self, cmd: Command) -> bool {
        match self.tx.try_send(cmd) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

/// Starts the hub thread of a tenant.
pub fn spawn(db: Arc<TenantDb>, sessions: SessionConfig) -> HubHandle {
    let (tx, rx) = std::sync::mpsc::sync_channel(COMMAND_QUEUE);
    let name = format!("hub-{}", &db.uuid[..8]);
    let hub = Hub {
        db,
        sessions,
        conns: HashMap::new(),
        agents: BTreeMap::new(),
        convs: BTreeMap::new(),
        loaded: false,
    };
    std::thread::Builder::new()
        .name(name)
        .spawn(move || hub.run(rx))
        .expect("spawning a hub thread");
    HubHandle { tx }
}

struct Conn {
    out: mpsc::Sender<Frame>,
    peer: Peer,
    /// The visitor's conversation, once started or resumed.
    conversation: Option<i64>,
}

struct AgentState {
    name: String,
    status: AgentStatus,
    capacity: usize,
    conns: HashSet<ConnId>,
}

struct Conv {
    status: Status,
    agent_id: Option<i64>,
    visitor_name: String,
    visitor_email: String,
    created_at: i64,
    last_seq: i64,
    offered_to: Option<i64>,
    visitors: HashSet<ConnId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Waiting,
    Open,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Waiting => "waiting",
            Status::Open => "open",
        }
    }
}

/// Frames to send once the batch is committed.
#[derive(Default)]
struct Outbox {
    frames: Vec<(ConnId, Frame)>,
    /// Senders of frames in this batch, told to retry if the commit fails.
    senders: Vec<ConnId>,
}

impl Outbox {
    fn send(&mut self, conn: ConnId, out: &Out) {
        self.frames.push((conn, out.encode().into()));
    }

    fn send_all(&mut self, conns: impl IntoIterator<Item = ConnId>, out: &Out) {
        let frame: Frame = out.encode().into();
        for c in conns {
            self.frames.push((c, frame.clone()));
        }
    }
}

struct Hub {
    db: Arc<TenantDb>,
    sessions: SessionConfig,
    conns: HashMap<ConnId, Conn>,
    agents: BTreeMap<i64, AgentState>,
    convs: BTreeMap<i64, Conv>,
    loaded: bool,
}

impl Hub {
    fn run(mut self, rx: Receiver<Command>) {
        let mut last_check = Instant::now();
        loop {
            let first = match rx.recv_timeout(SESSION_CHECK) {
                Ok(cmd) => Some(cmd),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let mut batch: Vec<Command> = first.into_iter().collect();
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(cmd) => batch.push(cmd),
                    Err(_) => break,
                }
            }
            if batch.iter().any(|c| matches!(c, Command::Stop)) {
                tracing::info!(tenant = %self.db.uuid, "hub stopping");
                return;
            }
            if !batch.is_empty() {
                self.process(batch);
            }
            if last_check.elapsed() >= SESSION_CHECK {
                self.check_agent_sessions();
                last_check = Instant::now();
            }
        }
    }

    /// Runs a batch in one transaction; sends its frames only after COMMIT.
    fn process(&mut self, batch: Vec<Command>) {
        let db = self.db.clone();
        let mut outbox = Outbox::default();
        let result = db.with(|c| {
            if !self.loaded {
                self.load(c)?;
            }
            let tx = c.transaction()?;
            for cmd in batch {
                self.handle(&tx, cmd, &mut outbox);
            }
            tx.commit()?;
            Ok(())
        });
        match result {
            Ok(()) => self.flush(outbox),
            Err(e) => {
                tracing::error!(tenant = %self.db.uuid, error = %e, "chat batch not stored");
                let retry = Out::error("not_stored", "the server could not store this; retry");
                let mut failed = Outbox::default();
                failed.send_all(outbox.senders, &retry);
                self.flush(failed);
                // In-memory state may be ahead of the database now: reload it.
                self.loaded = false;
                for conv in self.convs.values_mut() {
                    conv.visitors.clear();
                }
            }
        }
    }

    /// Loads the conversations that are not closed (after start, or after a failed commit).
    fn load(&mut self, c: &Connection) -> Result<()> {
        let mut convs = BTreeMap::new();
        for row in cstore::active_conversations(c)? {
            let last_seq = cstore::last_seq(c, row.id)?;
            let visitors = self
                .convs
                .get(&row.id)
                .map(|v| v.visitors.clone())
                .unwrap_or_default();
            convs.insert(
                row.id,
                Conv {
                    status: if row.status == "open" {
                        Status::Open
                    } else {
                        Status::Waiting
                    },
                    agent_id: row.agent_id,
                    visitor_name: row.visitor_name,
                    visitor_email: row.visitor_email,
                    created_at: row.created_at,
                    last_seq,
                    offered_to: None,
                    visitors,
                },
            );
        }
        self.convs = convs;
        let visitor_links: Vec<(ConnId, i64)> = self
            .conns
            .iter()
            .filter_map(|(id, c)| c.conversation.map(|cv| (*id, cv)))
            .collect();
        for (conn, cv) in visitor_links {
            if let Some(conv) = self.convs.get_mut(&cv) {
                conv.visitors.insert(conn);
            }
        }
        self.loaded = true;
        Ok(())
    }

    fn flush(&mut self, outbox: Outbox) {
        let mut slow = Vec::new();
        for (conn, frame) in outbox.frames {
            if let Some(c) = self.conns.get(&conn) {
                match c.out.try_send(frame) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => slow.push(conn),
                    Err(mpsc::error::TrySendError::Closed(_)) => slow.push(conn),
                }
            }
        }
        for conn in slow {
            // Dropping our sender closes the socket's queue; the socket closes and the client
            // resumes from its last sequence number.
            tracing::info!(conn, "dropping a connection that fell behind");
            self.leave(conn, &mut Outbox::default());
        }
    }

    fn handle(&mut self, c: &Connection, cmd: Command, out: &mut Outbox) {
        match cmd {
            Command::Join {
                conn,
                peer,
                out: tx,
            } => self.join(c, conn, peer, tx, out),
            Command::Visitor(conn, frame) => {
                out.senders.push(conn);
                if let Err(e) = self.visitor_frame(c, conn, frame, out) {
                    self.internal(conn, e, out);
                }
            }
            Command::Agent(conn, frame) => {
                out.senders.push(conn);
                if let Err(e) = self.agent_frame(c, conn, frame, out) {
                    self.internal(conn, e, out);
                }
            }
            Command::Leave(conn) => self.leave(conn, out),
            Command::Available(reply) => {
                let online = self
                    .agents
                    .values()
                    .any(|a| a.status == AgentStatus::Online);
                let _ = reply.send(online);
            }
            Command::Stop => {}
        }
    }

    fn internal(&self, conn: ConnId, e: crate::error::Error, out: &mut Outbox) {
        tracing::error!(conn, error = %e, "chat frame failed");
        out.send(conn, &Out::error("internal_error", "internal error; retry"));
    }

    fn join(
        &mut self,
        c: &Connection,
        conn: ConnId,
        peer: Peer,
        tx: mpsc::Sender<Frame>,
        out: &mut Outbox,
    ) {
        if let Peer::Agent { agent_id, name, .. } = &peer {
            let capacity = cstore::agent_capacity(c, *agent_id).unwrap_or(0).max(0) as usize;
            let state = self.agents.entry(*agent_id).or_insert_with(|| AgentState {
                name: name.clone(),
                status: AgentStatus::Online,
                capacity,
                conns: HashSet::new(),
            });
            state.capacity = capacity;
            state.conns.insert(conn);
        }
        let is_agent = matches!(peer, Peer::Agent { .. });
        self.conns.insert(
            conn,
            Conn {
                out: tx,
                peer,
                conversation: None,
            },
        );
        if is_agent {
            // A new agent may take a waiting chat nobody could take before.
            self.reroute(out);
        }
    }

    fn leave(&mut self, conn: ConnId, out: &mut Outbox) {
        let Some(gone) = self.conns.remove(&conn) else {
            return;
        };
        match gone.peer {
            Peer::Visitor { .. } => {
                if let Some(conv) = gone.conversation.and_then(|id| self.convs.get_mut(&id)) {
                    conv.visitors.remove(&conn);
                }
            }
            Peer::Agent { agent_id, .. } => {
                let empty = self.agents.get_mut(&agent_id).is_some_and(|a| {
                    a.conns.remove(&conn);
                    a.conns.is_empty()
                });
                if empty {
                    self.agents.remove(&agent_id);
                    self.reroute(out);
                }
            }
        }
    }

    // ----- visitors -----

    fn visitor_frame(
        &mut self,
        c: &Connection,
        conn: ConnId,
        frame: VisitorIn,
        out: &mut Outbox,
    ) -> Result<()> {
        let Some(state) = self.conns.get(&conn) else {
            return Ok(());
        };
        let Peer::Visitor { site_key } = &state.peer else {
            return Ok(());
        };
        let site_key = site_key.clone();
        let current = state.conversation;
        match frame {
            VisitorIn::Ping {} => out.send(conn, &Out::Pong {}),
            VisitorIn::Start {
                consent,
                notice_version,
                name,
                email,
                lang,
            } => {
                if current.is_some() {
                    out.send(
                        conn,
                        &Out::error("already_started", "this socket has a chat already"),
                    );
                    return Ok(());
                }
                if !consent {
                    out.send(
                        conn,
                        &Out::error(
                            "consent_required",
                            "the privacy notice must be accepted first",
                        ),
                    );
                    return Ok(());
                }
                let name = match name.trim() {
                    "" => String::new(),
                    n => match tenants::clean_name("name", n, 100) {
                        Ok(n) => n,
                        Err(e) => return invalid(conn, e, out),
                    },
                };
                let email = match email.trim() {
                    "" => String::new(),
                    e => match agents::normalize_email(e) {
                        Ok(e) => e,
                        Err(e) => return invalid(conn, e, out),
                    },
                };
                let lang = crate::i18n::Lang::parse(&lang).unwrap_or(crate::i18n::Lang::En);
                let notice_version: String = notice_version.chars().take(32).collect();
                // The site key in front lets the transcript endpoint find the tenant.
                let token = format!("{site_key}.{}", crypto::random_token());
                let at = now();
                let id = cstore::insert_conversation(
                    c,
                    &NewConversation {
                        site_key: &site_key,
                        token_hash: &crypto::token_hash(&token),
                        name: &name,
                        email: &email,
                        lang: lang.code(),
                        consent_version: &notice_version,
                        at,
                    },
                )?;
                self.convs.insert(
                    id,
                    Conv {
                        status: Status::Waiting,
                        agent_id: None,
                        visitor_name: name,
                        visitor_email: email,
                        created_at: at,
                        last_seq: 0,
                        offered_to: None,
                        visitors: HashSet::from([conn]),
                    },
                );
                if let Some(s) = self.conns.get_mut(&conn) {
                    s.conversation = Some(id);
                }
                out.send(
                    conn,
                    &Out::Welcome {
                        conversation_id: id,
                        token: Some(token),
                        status: "waiting".into(),
                        queue_position: self.queue_position(id),
                    },
                );
                self.reroute(out);
            }
            VisitorIn::Resume { token, last_seq } => {
                if current.is_some() {
                    out.send(
                        conn,
                        &Out::error("already_started", "this socket has a chat already"),
                    );
                    return Ok(());
                }
                let row = cstore::conversation_by_token(c, &crypto::token_hash(&token))?;
                let Some(row) = row.filter(|r| r.site_key == site_key) else {
                    // Same answer for a wrong token and a token of another site or tenant.
                    out.send(
                        conn,
                        &Out::error("unknown_conversation", "no such conversation"),
                    );
                    return Ok(());
                };
                if let Some(s) = self.conns.get_mut(&conn) {
                    s.conversation = Some(row.id);
                }
                let (status, position) = match self.convs.get_mut(&row.id) {
                    Some(conv) => {
                        conv.visitors.insert(conn);
                        (conv.status.as_str(), self.queue_position(row.id))
                    }
                    None => ("closed", None),
                };
                out.send(
                    conn,
                    &Out::Welcome {
                        conversation_id: row.id,
                        token: None,
                        status: status.into(),
                        queue_position: position,
                    },
                );
                if let Some(name) = self.agent_name_of(row.id) {
                    out.send(conn, &Out::Agent { name });
                }
                self.replay(c, conn, row.id, last_seq, out)?;
            }
            VisitorIn::Message { client_id, text } => {
                let Some(id) = self.open_conversation_of(conn, out) else {
                    return Ok(());
                };
                if let Err(e) = check_message(&client_id, &text) {
                    out.send(conn, &e);
                    return Ok(());
                }
                self.append(c, id, conn, "visitor", None, &text, Some(&client_id), out)?;
            }
            VisitorIn::Typing {} => {
                if let Some(id) = current
                    && let Some(agent) = self.convs.get(&id).and_then(|cv| cv.agent_id)
                {
                    let conns = self.agent_conns(agent);
                    out.send_all(
                        conns,
                        &Out::Typing {
                            conversation_id: id,
                            who: "visitor".into(),
                        },
                    );
                }
            }
            VisitorIn::Rate { score, comment } => {
                let Some(id) = current else {
                    out.send(
                        conn,
                        &Out::error("no_conversation", "send start or resume first"),
                    );
                    return Ok(());
                };
                if !(1..=5).contains(&score) || comment.chars().count() > 1000 {
                    out.send(
                        conn,
                        &Out::error(
                            "invalid_rating",
                            "score 1 to 5, comment up to 1000 characters",
                        ),
                    );
                    return Ok(());
                }
                cstore::rate(c, id, score, comment.trim())?;
                out.send(
                    conn,
                    &Out::Rated {
                        conversation_id: id,
                    },
                );
            }
            VisitorIn::End {} => {
                if let Some(id) = self.open_conversation_of(conn, out) {
                    self.close(c, id, out)?;
                }
            }
        }
        Ok(())
    }

    /// The visitor's conversation if it is still running; an error frame otherwise.
    fn open_conversation_of(&self, conn: ConnId, out: &mut Outbox) -> Option<i64> {
        let id = self.conns.get(&conn).and_then(|c| c.conversation);
        match id {
            Some(id) if self.convs.contains_key(&id) => Some(id),
            Some(_) => {
                out.send(
                    conn,
                    &Out::error("conversation_closed", "this chat has ended"),
                );
                None
            }
            None => {
                out.send(
                    conn,
                    &Out::error("no_conversation", "send start or resume first"),
                );
                None
            }
        }
    }

    // ----- agents -----

    fn agent_frame(
        &mut self,
        c: &Connection,
        conn: ConnId,
        frame: AgentIn,
        out: &mut Outbox,
    ) -> Result<()> {
        let Some(Peer::Agent { agent_id, .. }) = self.conns.get(&conn).map(|c| c.peer.clone())
        else {
            return Ok(());
        };
        match frame {
            AgentIn::Ping {} => out.send(conn, &Out::Pong {}),
            AgentIn::Hello { seen } => {
                let seen: HashMap<i64, i64> = seen.into_iter().collect();
                let mine: Vec<i64> = self
                    .convs
                    .iter()
                    .filter(|(_, cv)| cv.agent_id == Some(agent_id) && cv.status == Status::Open)
                    .map(|(id, _)| *id)
                    .collect();
                out.send(
                    conn,
                    &Out::Ready {
                        agent_id,
                        conversations: mine
                            .iter()
                            .filter_map(|id| self.conversation_out(*id))
                            .collect(),
                    },
                );
                for id in mine {
                    let after = seen.get(&id).copied().unwrap_or(0);
                    self.replay(c, conn, id, after, out)?;
                }
                out.send(conn, &self.queue_frame());
            }
            AgentIn::Status { status } => {
                if let Some(a) = self.agents.get_mut(&agent_id) {
                    a.status = status;
                }
                self.reroute(out);
            }
            AgentIn::Accept { conversation_id } => {
                let capacity = self.agents.get(&agent_id).map(|a| a.capacity).unwrap_or(0);
                let open = self.open_count(agent_id);
                match self.convs.get(&conversation_id).map(|cv| cv.status) {
                    Some(Status::Waiting) => {}
                    Some(Status::Open) => {
                        out.send(
                            conn,
                            &Out::error("already_taken", "another agent has this chat"),
                        );
                        return Ok(());
                    }
                    None => {
                        out.send(conn, &not_found());
                        return Ok(());
                    }
                }
                if open >= capacity {
                    out.send(
                        conn,
                        &Out::error("at_capacity", "you have as many chats as you can take"),
                    );
                    return Ok(());
                }
                cstore::accept(c, conversation_id, agent_id, now())?;
                if let Some(cv) = self.convs.get_mut(&conversation_id) {
                    cv.status = Status::Open;
                    cv.agent_id = Some(agent_id);
                    cv.offered_to = None;
                }
                let name = self
                    .agents
                    .get(&agent_id)
                    .map(|a| a.name.clone())
                    .unwrap_or_default();
                let visitors = self.visitor_conns(conversation_id);
                out.send_all(visitors, &Out::Agent { name });
                let changed = self.conversation_out(conversation_id);
                if let Some(cv) = changed {
                    out.send_all(self.agent_conns(agent_id), &Out::Conversation(cv.clone()));
                    out.send_all(self.visitor_conns(conversation_id), &Out::Conversation(cv));
                }
                // The agent's other sockets and this one get the whole history.
                for a in self.agent_conns(agent_id) {
                    self.replay(c, a, conversation_id, 0, out)?;
                }
                self.append(
                    c,
                    conversation_id,
                    conn,
                    "system",
                    Some(agent_id),
                    "accepted",
                    None,
                    out,
                )?;
                self.reroute(out);
            }
            AgentIn::Message {
                conversation_id,
                client_id,
                text,
            } => {
                if !self.owns(agent_id, conversation_id) {
                    out.send(conn, &not_found());
                    return Ok(());
                }
                if let Err(e) = check_message(&client_id, &text) {
                    out.send(conn, &e);
                    return Ok(());
                }
                self.append(
                    c,
                    conversation_id,
                    conn,
                    "agent",
                    Some(agent_id),
                    &text,
                    Some(&client_id),
                    out,
                )?;
            }
            AgentIn::Typing { conversation_id } => {
                if self.owns(agent_id, conversation_id) {
                    out.send_all(
                        self.visitor_conns(conversation_id),
                        &Out::Typing {
                            conversation_id,
                            who: "agent".into(),
                        },
                    );
                }
            }
            AgentIn::Close { conversation_id } => {
                if !self.owns(agent_id, conversation_id) {
                    out.send(conn, &not_found());
                    return Ok(());
                }
                self.close(c, conversation_id, out)?;
            }
        }
        Ok(())
    }

    fn owns(&self, agent_id: i64, conversation_id: i64) -> bool {
        self.convs
            .get(&conversation_id)
            .is_some_and(|cv| cv.status == Status::Open && cv.agent_id == Some(agent_id))
    }

    // ----- shared -----

    /// Stores a log entry, acknowledges it to the sender (when it has a client id) and sends it
    /// to everyone else in the conversation.
    #[allow(clippy::too_many_arguments)]
    fn append(
        &mut self,
        c: &Connection,
        conversation_id: i64,
        sender: ConnId,
        author: &str,
        agent_id: Option<i64>,
        text: &str,
        client_id: Option<&str>,
        out: &mut Outbox,
    ) -> Result<()> {
        let Some(conv) = self.convs.get_mut(&conversation_id) else {
            return Ok(());
        };
        let at = now();
        let seq = conv.last_seq + 1;
        let entry = cstore::NewMessage {
            conversation_id,
            seq,
            author,
            agent_id,
            body: text,
            client_id,
            at,
        };
        match cstore::insert_message(c, &entry)? {
            Inserted::Duplicate(existing) => {
                if let Some(cid) = client_id {
                    out.send(
                        sender,
                        &Out::Ack {
                            client_id: cid.into(),
                            conversation_id,
                            seq: existing,
                        },
                    );
                }
                return Ok(());
            }
            Inserted::New(_) => conv.last_seq = seq,
        }
        let agent_of_conv = conv.agent_id;
        if let Some(cid) = client_id {
            out.send(
                sender,
                &Out::Ack {
                    client_id: cid.into(),
                    conversation_id,
                    seq,
                },
            );
        }
        let msg = Out::Message(MessageOut {
            conversation_id,
            seq,
            author: author.into(),
            author_name: agent_id.and_then(|a| self.agents.get(&a).map(|s| s.name.clone())),
            text: text.into(),
            at,
        });
        let mut recipients = self.visitor_conns(conversation_id);
        if let Some(a) = agent_of_conv {
            recipients.extend(self.agent_conns(a));
        }
        // The sender knows its own message from the ack.
        let skip = if client_id.is_some() {
            Some(sender)
        } else {
            None
        };
        out.send_all(recipients.into_iter().filter(|r| Some(*r) != skip), &msg);
        Ok(())
    }

    fn close(&mut self, c: &Connection, id: i64, out: &mut Outbox) -> Result<()> {
        let Some(conv) = self.convs.get(&id) else {
            return Ok(());
        };
        let agent = conv.agent_id;
        let was_waiting = conv.status == Status::Waiting;
        self.append(c, id, 0, "system", None, "closed", None, out)?;
        cstore::close(c, id, now())?;
        let closed = ConversationOut {
            conversation_id: id,
            status: "closed".into(),
            visitor_name: conv_name(self.convs.get(&id)),
            visitor_email: self
                .convs
                .get(&id)
                .map(|c| c.visitor_email.clone())
                .unwrap_or_default(),
            agent_id: agent,
        };
        let mut recipients = self.visitor_conns(id);
        if let Some(a) = agent {
            recipients.extend(self.agent_conns(a));
        }
        out.send_all(recipients, &Out::Conversation(closed));
        self.convs.remove(&id);
        if was_waiting {
            self.reroute(out);
        }
        Ok(())
    }

    /// Sends a connection the entries of a conversation after `after`.
    fn replay(
        &self,
        c: &Connection,
        conn: ConnId,
        id: i64,
        after: i64,
        out: &mut Outbox,
    ) -> Result<()> {
        let mut after = after.max(0);
        loop {
            let page = cstore::messages_after(c, id, after, REPLAY_PAGE)?;
            let n = page.len() as i64;
            for m in page {
                after = m.seq;
                out.send(
                    conn,
                    &Out::Message(MessageOut {
                        conversation_id: id,
                        seq: m.seq,
                        author_name: match (m.author.as_str(), m.agent_id) {
                            ("agent", Some(a)) => Some(self.agent_name(c, a)?),
                            _ => None,
                        },
                        author: m.author,
                        text: m.body,
                        at: m.created_at,
                    }),
                );
            }
            if n < REPLAY_PAGE {
                return Ok(());
            }
        }
    }

    /// Offers waiting chats to agents (routing) and tells everyone about the queue.
    fn reroute(&mut self, out: &mut Outbox) {
        let mut candidates: Vec<routing::Candidate> = self
            .agents
            .iter()
            .map(|(id, a)| routing::Candidate {
                agent_id: *id,
                online: a.status == AgentStatus::Online,
                open: 0,
                capacity: a.capacity,
                departments: Vec::new(),
            })
            .collect();
        for cand in &mut candidates {
            cand.open = self.open_count(cand.agent_id);
        }
        let waiting: Vec<i64> = self.waiting_ids();
        for id in &waiting {
            let pick = routing::pick(&candidates, None);
            if let Some(a) = pick
                && let Some(cand) = candidates.iter_mut().find(|c| c.agent_id == a)
            {
                // Count the offer so the next waiting chat goes to someone else.
                cand.open += 1;
            }
            if let Some(cv) = self.convs.get_mut(id) {
                cv.offered_to = pick;
            }
        }
        let all_agents: Vec<ConnId> = self
            .agents
            .values()
            .flat_map(|a| a.conns.iter().copied())
            .collect();
        out.send_all(all_agents, &self.queue_frame());
        for (pos, id) in waiting.iter().enumerate() {
            let conns = self.visitor_conns(*id);
            out.send_all(conns, &Out::QueuePosition { position: pos + 1 });
        }
    }

    fn check_agent_sessions(&mut self) {
        let checks: Vec<(ConnId, Vec<u8>)> = self
            .conns
            .iter()
            .filter_map(|(id, c)| match &c.peer {
                Peer::Agent { token_hash, .. } => Some((*id, token_hash.clone())),
                _ => None,
            })
            .collect();
        if checks.is_empty() {
            return;
        }
        let t = now();
        let (idle, absolute) = (
            (self.sessions.idle_minutes * 60) as i64,
            (self.sessions.absolute_hours * 3600) as i64,
        );
        let dead: Vec<ConnId> = match self.db.with(|c| {
            let mut dead = Vec::new();
            for (conn, hash) in &checks {
                match tstore::session(c, hash)? {
                    Some(s) if t - s.created_at <= absolute && t - s.last_seen_at <= idle => {
                        // An open dashboard socket is activity: keep the session from idling out.
                        if t - s.last_seen_at >= 60 {
                            tstore::touch_session(c, hash)?;
                        }
                    }
                    _ => dead.push(*conn),
                }
            }
            Ok(dead)
        }) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "checking agent sessions failed");
                return;
            }
        };
        if !dead.is_empty() {
            let mut out = Outbox::default();
            for conn in dead {
                tracing::info!(conn, "closing an agent socket whose session ended");
                self.leave(conn, &mut out);
            }
            self.flush(out);
        }
    }

    fn waiting_ids(&self) -> Vec<i64> {
        self.convs
            .iter()
            .filter(|(_, c)| c.status == Status::Waiting)
            .map(|(id, _)| *id)
            .collect()
    }

    fn queue_position(&self, id: i64) -> Option<usize> {
        self.waiting_ids()
            .iter()
            .position(|w| *w == id)
            .map(|p| p + 1)
    }

    fn queue_frame(&self) -> Out {
        Out::Queue {
            waiting: self
                .convs
                .iter()
                .filter(|(_, c)| c.status == Status::Waiting)
                .map(|(id, c)| QueueEntry {
                    conversation_id: *id,
                    visitor_name: c.visitor_name.clone(),
                    since: c.created_at,
                    offered_to: c.offered_to,
                })
                .collect(),
        }
    }

    fn conversation_out(&self, id: i64) -> Option<ConversationOut> {
        self.convs.get(&id).map(|c| ConversationOut {
            conversation_id: id,
            status: c.status.as_str().into(),
            visitor_name: c.visitor_name.clone(),
            visitor_email: c.visitor_email.clone(),
            agent_id: c.agent_id,
        })
    }

    fn open_count(&self, agent_id: i64) -> usize {
        self.convs
            .values()
            .filter(|c| c.status == Status::Open && c.agent_id == Some(agent_id))
            .count()
    }

    fn visitor_conns(&self, id: i64) -> Vec<ConnId> {
        self.convs
            .get(&id)
            .map(|c| c.visitors.iter().copied().collect())
            .unwrap_or_default()
    }

    fn agent_conns(&self, agent_id: i64) -> Vec<ConnId> {
        self.agents
            .get(&agent_id)
            .map(|a| a.conns.iter().copied().collect())
            .unwrap_or_default()
    }

    /// An agent's display name, from presence or else from the database.
    fn agent_name(&self, c: &Connection, agent_id: i64) -> Result<String> {
        match self.agents.get(&agent_id) {
            Some(a) => Ok(a.name.clone()),
            None => cstore::agent_name(c, agent_id),
        }
    }

    fn agent_name_of(&self, conv: i64) -> Option<String> {
        let a = self.convs.get(&conv)?.agent_id?;
        self.agents.get(&a).map(|s| s.name.clone())
    }
}

fn conv_name(c: Option<&Conv>) -> String {
    c.map(|c| c.visitor_name.clone()).unwrap_or_default()
}

fn not_found() -> Out {
    Out::error("not_found", "no such conversation")
}

fn invalid(conn: ConnId, e: crate::error::Error, out: &mut Outbox) -> Result<()> {
    out.send(conn, &Out::error("invalid_input", e.to_string()));
    Ok(())
}

//! The hub of one tenant: a thread that owns presence (who is connected, agent status, open
//! conversations) and is the only writer of chat data. It takes commands in batches and runs
//! each batch in one transaction (group commit); only after COMMIT does it acknowledge and fan
//! out, so nothing is acknowledged that a crash could lose.

mod agent;
mod backlog;
mod tracking;
mod visitor;

pub use tracking::{MAX_INVITE_TEXT, Offer, PageView, TrackEvent, TrackKind, TrackReply};

use super::protocol::{
    AgentIn, AgentPresence, AgentStatus, ConversationOut, MessageOut, Out, QueueEntry, VisitorIn,
};
use crate::clock::Clock;
use crate::config::SessionConfig;
use crate::domain::conversation::{self, CLIENT_IDS, ClientIds, Status};
use crate::error::{Code, Result};
use crate::model::attachment::FileRef;
use crate::model::rights::Permission;
use crate::model::routing;
use crate::store::TenantDb;
use crate::store::chat::{self as cstore};
use rusqlite::Connection;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::Duration;
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

/// Identifies one socket.
pub type ConnId = u64;

/// A frame ready to send, shared between recipients.
pub type Frame = Arc<str>;

/// What the hub puts into a socket's queue.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// A frame for the client.
    Frame(Frame),
    /// The end of a page of catching up: the socket asks for the next with
    /// [`Command::More`] once it got here (see `backlog.rs`).
    PageEnd,
}

/// Who a socket belongs to.
#[derive(Debug, Clone)]
pub enum Peer {
    /// A visitor's widget on one of the tenant's sites.
    Visitor {
        /// The site it was embedded in.
        site_key: String,
        /// The visitor's anonymous daily key (not when the site's tracking is off), to link
        /// a chat to the visitor's pages.
        visitor_key: Option<[u8; 16]>,
        /// The site's newest privacy-notice version when the socket opened (1: built in); a
        /// consent may name it or an older one (a page loaded before a change).
        notice_current: i64,
    },
    /// A signed-in agent.
    Agent {
        /// Agent id.
        agent_id: i64,
        /// Display name.
        name: String,
        /// Their session, re-checked periodically.
        token_hash: Vec<u8>,
        /// What their role allows (frames needing more are refused).
        permissions: crate::model::rights::Permissions,
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
        out: mpsc::Sender<Outgoing>,
    },
    /// A visitor frame.
    Visitor(ConnId, VisitorIn),
    /// An agent frame.
    Agent(ConnId, AgentIn),
    /// A socket took the last page of its catching up: send the next.
    More(ConnId),
    /// A socket closed.
    Leave(ConnId),
    /// Is any agent online? (The widget shows the offline form when not.)
    Available(tokio::sync::oneshot::Sender<bool>),
    /// An admin changed an agent (capacity, departments, name, role, state): reload them, and
    /// give back the chats of agents who may no longer have them.
    AgentChanged(i64),
    /// An admin changed a role's permissions: give back the chats of agents who lost `chat`.
    RolesChanged,
    /// A file uploaded over HTTP, to be stored and posted into its conversation.
    PostFile(FileUpload),
    /// An admin changed the tenant's chat settings: reload them.
    SettingsChanged,
    /// A page view, heartbeat or invitation answer from a visitor's browser.
    Track(TrackEvent, tokio::sync::oneshot::Sender<TrackReply>),
    /// An admin changed the invitation rules, campaigns or goals: reload them.
    RulesChanged,
    /// Time passed: visitors without a heartbeat leave (sent by the hub itself).
    Sweep,
    /// Stop the hub (server shutdown, tenant deleted).
    Stop,
}

/// Who uploads a file, and into which conversation.
pub enum Uploader {
    /// The visitor holding this token (on this site).
    Visitor {
        /// SHA-256 of the visitor token.
        token_hash: Vec<u8>,
        /// The site the upload came through.
        site_key: String,
    },
    /// An agent, into one of their open conversations.
    Agent {
        /// The agent.
        agent_id: i64,
        /// The conversation.
        conversation_id: i64,
    },
}

/// What an upload became: its place in the conversation and the stored file.
pub type Posted = std::result::Result<(i64, FileRef), Out>;

/// A file to store and post.
pub struct FileUpload {
    /// Who, where.
    pub from: Uploader,
    /// Cleaned display name.
    pub name: String,
    /// Sniffed type.
    pub mime: &'static str,
    /// The bytes.
    pub data: Vec<u8>,
    /// The uploader's id for it (retries are stored once).
    pub client_id: String,
    /// Answered after the commit.
    pub reply: tokio::sync::oneshot::Sender<Posted>,
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
pub fn spawn(
    db: Arc<TenantDb>,
    sessions: SessionConfig,
    grace: Duration,
    clock: Clock,
) -> HubHandle {
    let (tx, rx) = std::sync::mpsc::sync_channel(COMMAND_QUEUE);
    let name = format!("hub-{}", &db.uuid[..8]);
    let hub = Hub {
        db,
        sessions,
        clock,
        conns: HashMap::new(),
        agents: BTreeMap::new(),
        convs: BTreeMap::new(),
        loaded: false,
        typing_preview: false,
        queue_dirty: false,
        visitors: tracking::Visitors::new(grace),
        sent_queue: BTreeMap::new(),
        sent_agents: BTreeMap::new(),
        sent_positions: HashMap::new(),
        fresh_agents: Vec::new(),
        epoch: String::new(),
    };
    std::thread::Builder::new()
        .name(name)
        .spawn(move || hub.run(rx))
        .expect("spawning a hub thread");
    HubHandle { tx }
}

struct Conn {
    out: mpsc::Sender<Outgoing>,
    peer: Peer,
    /// The visitor's conversation, once started or resumed.
    conversation: Option<i64>,
    /// What the socket still has to catch up on.
    backlog: backlog::Backlog,
}

struct AgentState {
    name: String,
    status: AgentStatus,
    capacity: usize,
    departments: Vec<i64>,
    conns: HashSet<ConnId>,
    permissions: crate::model::rights::Permissions,
}

/// Which waiting chats an agent sees: all of them (`None`: the permission to see all chats), or
/// those without a department and those of their departments (sorted ids).
type View = Option<Vec<i64>>;

impl AgentState {
    /// The agent's view of the queue.
    fn view(&self) -> View {
        if self.may(Permission::ChatsAll) {
            None
        } else {
            let mut d = self.departments.clone();
            d.sort_unstable();
            Some(d)
        }
    }

    /// Whether a waiting chat of this department is in the agent's view.
    fn sees(&self, department: Option<i64>) -> bool {
        self.may(Permission::ChatsAll) || department.is_none_or(|d| self.departments.contains(&d))
    }

    /// Online and allowed to chat: counts for routing and for "someone is there".
    fn takes_chats(&self) -> bool {
        self.status == AgentStatus::Online && self.may(Permission::Chat)
    }

    fn may(&self, p: Permission) -> bool {
        self.permissions.has(p)
    }
}

struct Conv {
    status: Status,
    /// The visitor was told that agents may see their draft (notice version `…+preview`).
    preview_told: bool,
    agent_id: Option<i64>,
    department_id: Option<i64>,
    visitor_name: String,
    visitor_email: String,
    created_at: i64,
    last_seq: i64,
    offered_to: Option<i64>,
    visitors: HashSet<ConnId>,
    /// The latest client ids and their `seq`: a retried message is recognised here.
    client_ids: ClientIds,
}

/// One log entry to append.
struct Entry<'a> {
    author: &'a str,
    agent_id: Option<i64>,
    text: &'a str,
    client_id: Option<&'a str>,
    file: Option<FileRef>,
}

/// Frames to send once the batch is committed.
#[derive(Default)]
struct Outbox {
    frames: Vec<(ConnId, Outgoing)>,
    /// Sockets that got catching-up frames (of committed entries) in this batch: if the
    /// batch fails they are closed and resume, or they would miss those entries.
    paged: Vec<ConnId>,
    /// Senders of frames in this batch, told to retry if the commit fails.
    senders: Vec<ConnId>,
    /// Answers to HTTP callers, given once the batch's fate is known (`true`: committed).
    after_commit: Vec<Box<dyn FnOnce(bool) + Send>>,
    /// The socket and conversation of the frame being handled: its error answers name it.
    about: Option<(ConnId, i64)>,
}

impl Outbox {
    fn send(&mut self, conn: ConnId, out: &Out) {
        if let (
            Some((to, id)),
            Out::Error {
                code,
                message,
                conversation_id: None,
            },
        ) = (self.about, out)
            && to == conn
        {
            let named = Out::Error {
                code: *code,
                message: message.clone(),
                conversation_id: Some(id),
            };
            self.frames
                .push((conn, Outgoing::Frame(named.encode().into())));
            return;
        }
        self.frames
            .push((conn, Outgoing::Frame(out.encode().into())));
    }

    fn send_all(&mut self, conns: impl IntoIterator<Item = ConnId>, out: &Out) {
        let frame: Frame = out.encode().into();
        for c in conns {
            self.frames.push((c, Outgoing::Frame(frame.clone())));
        }
    }

    /// Notes that a socket got catching-up frames (or an ack kept for its replay) in this
    /// batch, once per socket.
    fn mark_paged(&mut self, conn: ConnId) {
        if !self.paged.contains(&conn) {
            self.paged.push(conn);
        }
    }

    /// Marks the end of a page of catching up for a socket.
    fn page_end(&mut self, conn: ConnId) {
        self.frames.push((conn, Outgoing::PageEnd));
    }
}

struct Hub {
    db: Arc<TenantDb>,
    sessions: SessionConfig,
    /// Every time the hub reads: message and visit times, session ages, heartbeats.
    clock: Clock,
    conns: HashMap<ConnId, Conn>,
    agents: BTreeMap<i64, AgentState>,
    convs: BTreeMap<i64, Conv>,
    loaded: bool,
    /// Whether agents see the visitor's draft.
    typing_preview: bool,
    /// The queue or presence changed in this batch.
    queue_dirty: bool,
    /// Who is on the tenant's sites.
    visitors: tracking::Visitors,
    /// The queue, presence and queue positions as agents and visitors last heard them: each
    /// batch sends only what changed (a full list per batch to every agent would grow with
    /// agents × waiting chats).
    /// Per queue view (see [`AgentState::view`]).
    sent_queue: BTreeMap<View, BTreeMap<i64, QueueEntry>>,
    sent_agents: BTreeMap<i64, AgentPresence>,
    sent_positions: HashMap<i64, usize>,
    /// Agent sockets that said hello in this batch: they get the whole queue and presence.
    fresh_agents: Vec<ConnId>,
    /// The identity of the tenant's chat log (`docs/protocol.md`, "Log identity").
    epoch: String,
}

impl Hub {
    fn run(mut self, rx: Receiver<Command>) {
        let mut last_check = self.clock.instant();
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
            if self.clock.instant() >= last_check + SESSION_CHECK {
                self.check_agent_sessions();
                if self.visitors.any() {
                    self.process(vec![Command::Sweep]);
                }
                last_check = self.clock.instant();
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
            if self.queue_dirty {
                self.broadcast_queue(&mut outbox);
            }
            self.broadcast_visitors(&mut outbox);
            tx.commit()?;
            Ok(())
        });
        let callbacks = std::mem::take(&mut outbox.after_commit);
        let committed = result.is_ok();
        match result {
            Ok(()) => self.flush(outbox),
            Err(e) => {
                tracing::error!(tenant = %self.db.uuid, error = %e, "chat batch not stored");
                let retry = Out::error(Code::NotStored, "the server could not store this; retry");
                let mut failed = Outbox::default();
                failed.send_all(outbox.senders, &retry);
                self.flush(failed);
                // Catching up sent in this batch was lost with it: those sockets close and
                // resume from what they have.
                for conn in outbox.paged {
                    self.leave(conn, &mut Outbox::default());
                }
                // In-memory state may be ahead of the database now: reload it.
                self.loaded = false;
                for conv in self.convs.values_mut() {
                    conv.visitors.clear();
                }
                // Live visitors too: their next heartbeat is answered "again" and re-reported.
                // Agents get the (now empty) list, so nobody stays shown who is not tracked.
                self.visitors.reset();
                let mut cleared = Outbox::default();
                let watchers = self.conns_that_may(Permission::VisitorsView);
                cleared.send_all(watchers, &self.visitors_frame());
                self.flush(cleared);
                // What this batch would have told agents and visitors was not sent: next time
                // every agent gets the whole queue and presence, every visitor their place.
                self.sent_queue.clear();
                self.sent_agents.clear();
                self.sent_positions.clear();
                self.fresh_agents = self
                    .agents
                    .values()
                    .flat_map(|a| a.conns.iter().copied())
                    .collect();
                self.queue_dirty = true;
            }
        }
        for answer in callbacks {
            answer(committed);
        }
    }

    /// Loads the conversations that are not closed (after start, or after a failed commit).
    fn load(&mut self, c: &Connection) -> Result<()> {
        let mut convs = BTreeMap::new();
        for row in cstore::active_conversations(c)? {
            let last_seq = cstore::last_seq(c, row.id)?;
            let mut client_ids = ClientIds::default();
            for (id, seq) in cstore::recent_client_ids(c, row.id, CLIENT_IDS)?
                .into_iter()
                .rev()
            {
                client_ids.insert(&id, seq);
            }
            let visitors = self
                .convs
                .get(&row.id)
                .map(|v| v.visitors.clone())
                .unwrap_or_default();
            convs.insert(
                row.id,
                Conv {
                    preview_told: preview_told(&row.consent_version),
                    status: if row.status == "open" {
                        Status::Open
                    } else {
                        Status::Waiting
                    },
                    agent_id: row.agent_id,
                    department_id: row.department_id,
                    visitor_name: row.visitor_name,
                    visitor_email: row.visitor_email,
                    created_at: row.created_at,
                    last_seq,
                    offered_to: None,
                    visitors,
                    client_ids,
                },
            );
        }
        self.convs = convs;
        self.typing_preview = cstore::chat_settings(c)?.typing_preview;
        self.epoch = cstore::log_epoch(c)?;
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
        let mut slow: Vec<ConnId> = Vec::new();
        for (conn, frame) in outbox.frames {
            // Once a socket missed a frame it gets nothing more: what it has stays a gap-free
            // prefix, and it resumes from there.
            if slow.contains(&conn) {
                continue;
            }
            if let Some(c) = self.conns.get(&conn)
                && c.out.try_send(frame).is_err()
            {
                slow.push(conn);
            }
        }
        for conn in slow {
            // Dropping our sender closes the socket's queue: the socket sends what is queued,
            // closes with 1013, and the client resumes from its last sequence number.
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
            } => self.join(conn, peer, tx),
            Command::Visitor(conn, frame) => {
                out.senders.push(conn);
                if let Err(e) = self.visitor_frame(c, conn, frame, out) {
                    self.internal(conn, e, out);
                }
            }
            Command::Agent(conn, frame) => {
                out.senders.push(conn);
                out.about = frame.conversation_id().map(|id| (conn, id));
                if let Err(e) = self.agent_frame(c, conn, frame, out) {
                    self.internal(conn, e, out);
                }
                out.about = None;
            }
            Command::More(conn) => {
                if let Some(s) = self.conns.get_mut(&conn) {
                    s.backlog.taken();
                }
                if let Err(e) = self.pump(c, conn, out) {
                    self.internal(conn, e, out);
                }
            }
            Command::Leave(conn) => self.leave(conn, out),
            Command::AgentChanged(agent_id) => {
                if let Some(a) = self.agents.get_mut(&agent_id) {
                    a.capacity = cstore::agent_capacity(c, agent_id).unwrap_or(0).max(0) as usize;
                    a.departments = cstore::agent_departments(c, agent_id).unwrap_or_default();
                    if let Ok(name) = cstore::agent_name(c, agent_id) {
                        a.name = name;
                    }
                    // Their view of the queue may have changed: they get it whole again.
                    self.fresh_agents.extend(a.conns.iter().copied());
                }
                if let Err(e) = self.release_lost_chats(c, out) {
                    tracing::error!(error = %e, "giving back chats failed");
                }
                self.reroute(out);
            }
            Command::RolesChanged => {
                if let Err(e) = self.release_lost_chats(c, out) {
                    tracing::error!(error = %e, "giving back chats failed");
                }
            }
            Command::PostFile(upload) => self.post_file(c, upload, out),
            Command::SettingsChanged => match cstore::chat_settings(c) {
                Ok(v) => self.typing_preview = v.typing_preview,
                Err(e) => tracing::error!(error = %e, "reading settings failed"),
            },
            Command::Available(reply) => {
                let online = self.agents.values().any(AgentState::takes_chats);
                let _ = reply.send(online);
            }
            Command::Track(ev, reply) => self.track(c, ev, reply, out),
            Command::RulesChanged => self.visitors.rules_changed(),
            Command::Sweep => {
                if let Err(e) = self.sweep(c) {
                    tracing::error!(error = %e, "ending silent visits failed");
                }
            }
            Command::Stop => {}
        }
    }

    fn internal(&self, conn: ConnId, e: crate::error::Error, out: &mut Outbox) {
        tracing::error!(conn, error = %e, "chat frame failed");
        out.send(
            conn,
            &Out::error(Code::InternalError, "internal error; retry"),
        );
    }

    /// A socket opened. An agent's socket gets nothing until its `hello` (see `enlist`):
    /// live frames before it would arrive again, out of order, in its replay.
    fn join(&mut self, conn: ConnId, peer: Peer, tx: mpsc::Sender<Outgoing>) {
        self.conns.insert(
            conn,
            Conn {
                out: tx,
                peer,
                conversation: None,
                backlog: Default::default(),
            },
        );
    }

    /// An agent's socket said hello: from now on it counts for presence and routing and gets
    /// the frames of the agent's chats, the queue and the visitors.
    fn enlist(&mut self, c: &Connection, conn: ConnId, out: &mut Outbox) {
        let Some(Peer::Agent {
            agent_id,
            name,
            permissions,
            ..
        }) = self.conns.get(&conn).map(|s| s.peer.clone())
        else {
            return;
        };
        let capacity = cstore::agent_capacity(c, agent_id).unwrap_or(0).max(0) as usize;
        let departments = cstore::agent_departments(c, agent_id).unwrap_or_default();
        let state = self.agents.entry(agent_id).or_insert_with(|| AgentState {
            name,
            status: AgentStatus::Online,
            capacity,
            departments: Vec::new(),
            conns: HashSet::new(),
            permissions,
        });
        state.permissions = permissions;
        state.capacity = capacity;
        state.departments = departments;
        state.conns.insert(conn);
        // A new agent may take a waiting chat nobody could take before.
        self.reroute(out);
    }

    /// Queues a conversation's entries after `after` for a socket (with its notes for
    /// agents) and sends what fits now; live entries of it follow the replay.
    fn catch_up(
        &mut self,
        c: &Connection,
        conn: ConnId,
        id: i64,
        after: i64,
        out: &mut Outbox,
    ) -> Result<()> {
        let notes = matches!(
            self.conns.get(&conn).map(|s| &s.peer),
            Some(Peer::Agent { .. })
        );
        if let Some(s) = self.conns.get_mut(&conn) {
            s.backlog.log(id, after, notes);
        }
        self.pump(c, conn, out)
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
        let entry = Entry {
            author,
            agent_id,
            text,
            client_id,
            file: None,
        };
        self.append_entry(c, conversation_id, sender, entry, out)
            .map(|_| ())
    }

    /// Stores a log entry, acknowledges it to the sender (when it has a client id) and sends
    /// it to everyone else in the conversation. Returns its sequence number.
    fn append_entry(
        &mut self,
        c: &Connection,
        conversation_id: i64,
        sender: ConnId,
        e: Entry<'_>,
        out: &mut Outbox,
    ) -> Result<Option<i64>> {
        let Some(conv) = self.convs.get_mut(&conversation_id) else {
            return Ok(None);
        };
        let at = self.clock.now();
        let seq = conv.last_seq + 1;
        let row = cstore::NewMessage {
            conversation_id,
            seq,
            author: e.author,
            agent_id: e.agent_id,
            body: e.text,
            client_id: e.client_id,
            file_id: e.file.as_ref().map(|f| f.id),
            at,
        };
        if let Some(cid) = e.client_id
            && let Some(existing) = conv.client_ids.get(cid)
        {
            self.ack(sender, conversation_id, cid, existing, out);
            return Ok(Some(existing));
        }
        cstore::insert_message(c, &row)?;
        conv.last_seq = seq;
        if let Some(cid) = e.client_id {
            conv.client_ids.insert(cid, seq);
        }
        let agent_of_conv = conv.agent_id;
        if let Some(cid) = e.client_id {
            self.ack(sender, conversation_id, cid, seq, out);
        }
        let msg = Out::Message(Box::new(MessageOut {
            conversation_id,
            seq,
            author: e.author.into(),
            author_name: e
                .agent_id
                .and_then(|a| self.agents.get(&a).map(|s| s.name.clone())),
            text: e.text.into(),
            file: e.file,
            at,
        }));
        let mut recipients = self.visitor_conns(conversation_id);
        if let Some(a) = agent_of_conv {
            recipients.extend(self.agent_conns(a));
        }
        // The sender knows its own message from the ack; a socket still catching up on this
        // conversation gets the entry with its replay.
        let skip = e.client_id.map(|_| sender);
        recipients.retain(|r| Some(*r) != skip && !self.behind(*r, conversation_id));
        out.send_all(recipients, &msg);
        Ok(Some(seq))
    }

    /// Acknowledges a stored message to its sender: at once, or, while the sender's replay of
    /// the conversation has yet to reach the entry, at its place in the replay.
    fn ack(
        &mut self,
        sender: ConnId,
        conversation_id: i64,
        client_id: &str,
        seq: i64,
        out: &mut Outbox,
    ) {
        let deferred = self
            .conns
            .get_mut(&sender)
            .is_some_and(|s| s.backlog.defer_ack(conversation_id, seq, client_id));
        if deferred {
            // If this batch fails, the entry is not stored: the socket must not keep waiting
            // for it.
            out.mark_paged(sender);
        } else {
            out.send(
                sender,
                &Out::Ack {
                    client_id: client_id.into(),
                    conversation_id,
                    seq,
                },
            );
        }
    }

    /// Stores an uploaded file and posts it into its conversation; the uploader hears back
    /// only after the commit.
    fn post_file(&mut self, c: &Connection, up: FileUpload, out: &mut Outbox) {
        let FileUpload {
            from,
            name,
            mime,
            data,
            client_id,
            reply,
        } = up;
        let result: std::result::Result<(i64, FileRef), Out> = (|| {
            let (conversation_id, author, agent_id) = match &from {
                Uploader::Visitor {
                    token_hash,
                    site_key,
                } => {
                    let row = cstore::conversation_by_token(c, token_hash)
                        .map_err(internal_out)?
                        .filter(|r| &r.site_key == site_key)
                        .ok_or_else(|| {
                            Out::error(Code::UnknownConversation, "no such conversation")
                        })?;
                    (row.id, "visitor", None)
                }
                Uploader::Agent {
                    agent_id,
                    conversation_id,
                } => {
                    let owns = self.convs.get(conversation_id).is_some_and(|cv| {
                        cv.status == Status::Open && cv.agent_id == Some(*agent_id)
                    });
                    if !owns {
                        return Err(not_found());
                    }
                    (*conversation_id, "agent", Some(*agent_id))
                }
            };
            if !self.convs.contains_key(&conversation_id) {
                return Err(Out::error(Code::ConversationClosed, "this chat has ended"));
            }
            let file =
                cstore::insert_file(c, conversation_id, &name, mime, &data, self.clock.now())
                    .map_err(internal_out)?;
            let entry = Entry {
                author,
                agent_id,
                text: &name,
                client_id: Some(&client_id),
                file: Some(file.clone()),
            };
            // Sender 0 is no socket: every socket of the conversation gets the message.
            let seq = self
                .append_entry(c, conversation_id, 0, entry, out)
                .map_err(internal_out)?
                .ok_or_else(|| Out::error(Code::ConversationClosed, "this chat has ended"))?;
            Ok((seq, file))
        })();
        out.after_commit.push(Box::new(move |committed| {
            let answer = match result {
                Ok(v) if committed => Ok(v),
                Ok(_) => Err(Out::error(
                    Code::NotStored,
                    "the server could not store this; retry",
                )),
                Err(e) => Err(e),
            };
            let _ = reply.send(answer);
        }));
    }

    fn close(&mut self, c: &Connection, id: i64, out: &mut Outbox) -> Result<()> {
        if !self.convs.contains_key(&id) {
            return Ok(());
        }
        self.append(c, id, 0, "system", None, "closed", None, out)?;
        cstore::close(c, id, self.clock.now())?;
        let Some(mut closed) = self.conversation_out(id) else {
            return Ok(());
        };
        closed.status = "closed".into();
        let mut recipients = self.visitor_conns(id);
        if let Some(a) = closed.agent_id {
            recipients.extend(self.agent_conns(a));
        }
        out.send_all(recipients, &Out::Conversation(closed));
        self.convs.remove(&id);
        // The queue (if it waited) and the agent's load changed.
        self.reroute(out);
        Ok(())
    }

    /// Offers waiting chats to agents (routing) and tells everyone about the queue.
    /// Marks the queue and presence as changed. They are computed and sent once per batch
    /// (see `process`): per change, a queue frame to every agent would grow with the square
    /// of the waiting chats when many visitors arrive at once.
    fn reroute(&mut self, _out: &mut Outbox) {
        self.queue_dirty = true;
    }

    /// Offers waiting chats to agents (routing) and sends the queue, presence and positions.
    fn broadcast_queue(&mut self, out: &mut Outbox) {
        self.queue_dirty = false;
        let candidates: Vec<routing::Candidate> = self
            .agents
            .iter()
            .map(|(id, a)| routing::Candidate {
                agent_id: *id,
                online: a.takes_chats(),
                open: self.open_count(*id),
                capacity: a.capacity,
                departments: a.departments.clone(),
            })
            .collect();
        let waiting: Vec<i64> = self.waiting_ids();
        let chats: Vec<(i64, Option<i64>)> = waiting
            .iter()
            .map(|id| (*id, self.convs.get(id).and_then(|c| c.department_id)))
            .collect();
        for (id, pick) in conversation::offers(candidates, &chats) {
            if let Some(cv) = self.convs.get_mut(&id) {
                cv.offered_to = pick;
            }
        }
        // A socket that said hello gets the queue and presence once its replay is through (the
        // dashboard takes what comes after `queue` as live); until then it gets neither whole
        // lists nor changes.
        let (fresh, waiting_replay): (HashSet<ConnId>, HashSet<ConnId>) =
            std::mem::take(&mut self.fresh_agents)
                .into_iter()
                .partition(|c| !self.conns.get(c).is_some_and(|s| s.backlog.replaying()));
        self.fresh_agents = waiting_replay.iter().copied().collect();
        let not_yet = |c: &ConnId| fresh.contains(c) || waiting_replay.contains(c);
        let others: Vec<ConnId> = self
            .agents
            .values()
            .flat_map(|a| a.conns.iter().copied())
            .filter(|c| !not_yet(c))
            .collect();
        // The queue is for agents who may chat, each view (departments) with its own part;
        // presence is for every agent.
        let mut views: BTreeMap<View, Vec<ConnId>> = BTreeMap::new();
        for a in self.agents.values().filter(|a| a.may(Permission::Chat)) {
            views
                .entry(a.view())
                .or_default()
                .extend(a.conns.iter().copied());
        }
        let all_waiting = self.queue_entries();
        let mut queues: BTreeMap<View, BTreeMap<i64, QueueEntry>> = BTreeMap::new();
        for (view, conns) in &views {
            let queue: BTreeMap<i64, QueueEntry> = all_waiting
                .iter()
                .filter(|e| match view {
                    None => true,
                    Some(deps) => e.department_id.is_none_or(|d| deps.contains(&d)),
                })
                .map(|e| (e.conversation_id, e.clone()))
                .collect();
            let empty = BTreeMap::new();
            let (upsert, remove) = diff(self.sent_queue.get(view).unwrap_or(&empty), &queue);
            if !upsert.is_empty() || !remove.is_empty() {
                let targets = conns.iter().copied().filter(|c| !not_yet(c));
                out.send_all(targets, &Out::QueueUpdate { upsert, remove });
            }
            queues.insert(view.clone(), queue);
        }
        let agents: BTreeMap<i64, AgentPresence> = self
            .presence_entries()
            .into_iter()
            .map(|a| (a.agent_id, a))
            .collect();
        let (upsert, remove) = diff(&self.sent_agents, &agents);
        if !upsert.is_empty() || !remove.is_empty() {
            out.send_all(
                others.iter().copied(),
                &Out::AgentsUpdate { upsert, remove },
            );
        }
        if !fresh.is_empty() {
            let live = |c: &ConnId| self.conns.contains_key(c);
            let fresh: Vec<ConnId> = fresh.into_iter().filter(live).collect();
            for (view, conns) in &views {
                let waiting: Vec<QueueEntry> = queues[view].values().cloned().collect();
                out.send_all(
                    conns.iter().copied().filter(|c| fresh.contains(c)),
                    &Out::Queue { waiting },
                );
            }
            out.send_all(
                fresh,
                &Out::Agents {
                    agents: agents.values().cloned().collect(),
                },
            );
        }
        self.sent_queue = queues;
        self.sent_agents = agents;
        // Visitors hear their place only when it changed.
        let mut positions = HashMap::new();
        for (pos, id) in waiting.iter().enumerate() {
            let position = pos + 1;
            positions.insert(*id, position);
            if self.sent_positions.get(id) != Some(&position) {
                let conns = self.visitor_conns(*id);
                out.send_all(conns, &Out::QueuePosition { position });
            }
        }
        self.sent_positions = positions;
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

    fn presence_entries(&self) -> Vec<AgentPresence> {
        self.agents
            .iter()
            .map(|(id, a)| AgentPresence {
                agent_id: *id,
                name: a.name.clone(),
                status: a.status,
                open: self.open_count(*id),
                capacity: a.capacity,
                departments: a.departments.clone(),
            })
            .collect()
    }

    /// Sends an agent socket every note of a conversation.
    fn replay_notes(&self, c: &Connection, conn: ConnId, id: i64, out: &mut Outbox) -> Result<()> {
        for n in cstore::notes(c, id)? {
            let author_name = match n.agent_id {
                Some(a) => self.agent_name(c, a)?,
                None => String::new(),
            };
            out.send(
                conn,
                &Out::Note {
                    conversation_id: id,
                    id: n.id,
                    author_name,
                    text: n.body,
                    at: n.created_at,
                },
            );
        }
        Ok(())
    }

    fn queue_entries(&self) -> Vec<QueueEntry> {
        self.convs
            .iter()
            .filter(|(_, c)| c.status == Status::Waiting)
            .map(|(id, c)| QueueEntry {
                conversation_id: *id,
                visitor_name: c.visitor_name.clone(),
                since: c.created_at,
                offered_to: c.offered_to,
                department_id: c.department_id,
            })
            .collect()
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

    /// The sockets of agents whose role allows `p`.
    fn conns_that_may(&self, p: Permission) -> Vec<ConnId> {
        self.agents
            .values()
            .filter(|a| a.may(p))
            .flat_map(|a| a.conns.iter().copied())
            .collect()
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

/// What changed from `before` to `now`: entries new or different, and keys gone.
fn diff<T: Clone + PartialEq>(
    before: &BTreeMap<i64, T>,
    now: &BTreeMap<i64, T>,
) -> (Vec<T>, Vec<i64>) {
    let upsert = now
        .iter()
        .filter(|(k, v)| before.get(k) != Some(v))
        .map(|(_, v)| v.clone())
        .collect();
    let remove = before
        .keys()
        .filter(|k| !now.contains_key(k))
        .copied()
        .collect();
    (upsert, remove)
}

fn internal_out(e: crate::error::Error) -> Out {
    tracing::error!(error = %e, "storing a file failed");
    Out::error(Code::InternalError, "internal error; retry")
}

/// Whether the accepted notice told the visitor about the typing preview.
fn preview_told(consent_version: &str) -> bool {
    consent_version.ends_with("+preview")
}

fn not_found() -> Out {
    Out::error(Code::NotFound, "no such conversation")
}

fn invalid(conn: ConnId, e: crate::error::Error, out: &mut Outbox) -> Result<()> {
    out.send(conn, &Out::error(Code::InvalidInput, e.to_string()));
    Ok(())
}

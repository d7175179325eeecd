//! The hub of one tenant, the shell around the conversation and live-visitor rules
//! (`domain::conversation`, `domain::live_visitors`): a thread that owns the tenant's sockets
//! and is the only writer of chat data. It takes commands in batches, runs each batch in one
//! transaction (group commit) in which the rules handle the events and write their rows, and
//! only after COMMIT sends the frames they asked for, so nothing is acknowledged that a crash
//! could lose. `apply.rs` turns the rules' audiences into sockets; `backlog.rs` pages replays.

mod apply;
mod backlog;
pub mod blocks;
mod life;

pub use crate::domain::conversation::{Posted, Uploader};
pub use crate::domain::live_visitors::{
    MAX_INVITE_TEXT, Offer, PageView, TrackEvent, TrackKind, TrackReply,
};

use super::protocol::{AgentIn, Out, VisitorIn};
use crate::clock::Clock;
use crate::config::SessionConfig;
use crate::domain::conversation::ledger::Tx;
use crate::domain::conversation::{CLIENT_IDS, Conversations, Effects, Stored};
use crate::domain::live_visitors::Visitors;
use crate::error::{Code, Result};
use crate::model::forms::Form;
use crate::model::rights::Permission;
use crate::store::TenantDb;
use crate::store::chat as cstore;
use rusqlite::Connection;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
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
/// A hub that took no command for this long gives back its database's cache (see
/// `TenantDb::release_memory`); the next command reads its pages from the file again.
const QUIET: Duration = Duration::from_secs(10);
/// The queue, presence and visitors' places go out at most this often: after a quiet spell a
/// change goes out with its batch, but when thousands of chats start at once the changes of
/// many batches go out together, instead of a queue update to every agent (and a new place
/// to every waiting visitor) per batch.
const QUEUE_EVERY: Duration = Duration::from_millis(100);

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
        /// The visitor's truncated address (what a block by address matches).
        address: String,
        /// The site's greeting (the chat's first, automatic entry).
        greeting: Arc<crate::domain::conversation::Greeting>,
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
    /// Which departments have an agent online? (The pre-chat form marks them open.)
    OpenDepartments(tokio::sync::oneshot::Sender<Vec<i64>>),
    /// How many agents take chats, in all and per department? (The public status.)
    Online(tokio::sync::oneshot::Sender<crate::domain::conversation::Online>),
    /// An admin changed an agent (capacity, departments, name, role, state): reload them, and
    /// give back the chats of agents who may no longer have them.
    AgentChanged(i64),
    /// An admin changed a role's permissions: give back the chats of agents who lost `chat`.
    RolesChanged,
    /// An admin deleted a department: its waiting chats join the general queue.
    DepartmentDeleted(i64),
    /// A file uploaded over HTTP, to be stored and posted into its conversation.
    PostFile(FileUpload),
    /// An admin changed the tenant's chat settings: reload them.
    SettingsChanged,
    /// A page view, heartbeat or invitation answer from a visitor's browser.
    Track(TrackEvent, tokio::sync::oneshot::Sender<TrackReply>),
    /// An admin changed the invitation rules, campaigns or goals: reload them.
    RulesChanged,
    /// An agent blocks the visitor of a chat or of the visitor list (answered after commit).
    Block(blocks::BlockRequest),
    /// A block was lifted: read the blocks in force again.
    BlocksChanged,
    /// A person's data is about to be erased: end their chats, let go of their live presence,
    /// and answer whether that committed.
    Forget(Forget),
    /// An agent's chat frame sent over the HTTP API (no socket): answered after the commit
    /// with what the frame's sender would have been told.
    AgentCall(AgentCall),
    /// Every live visitor, as the visitor list shows them.
    LiveVisitors(tokio::sync::oneshot::Sender<Out>),
    /// Waiting chats past the alert time: alert their agents again (sent by the hub itself).
    QueueCheck,
    /// Time passed: visitors without a heartbeat leave (sent by the hub itself).
    Sweep,
    /// Stop the hub (server shutdown, tenant deleted).
    Stop,
}

/// A file to store and post.
pub struct FileUpload {
    /// Who, where.
    pub from: Uploader,
    /// Cleaned display name.
    pub name: String,
    /// Sniffed type.
    pub mime: &'static str,
    /// The per-chat and per-tenant limits it must fit.
    pub limits: crate::model::uploads::FileLimits,
    /// The bytes.
    pub data: Vec<u8>,
    /// The uploader's id for it (retries are stored once).
    pub client_id: String,
    /// Answered after the commit.
    pub reply: tokio::sync::oneshot::Sender<Posted>,
}

/// An agent's frame from the HTTP API.
pub struct AgentCall {
    /// The agent, with the permissions of the call (a token's may be fewer than the role's).
    pub ctx: crate::domain::conversation::AgentCtx,
    /// The frame.
    pub frame: AgentIn,
    /// The frames the sender gets (its ack, or the refusal), once committed; `Err` when the
    /// batch was not stored.
    pub reply: tokio::sync::oneshot::Sender<std::result::Result<Vec<Out>, Out>>,
}

/// Whom the hub lets go of before an erasure (as the data-subject request resolved them).
pub struct Forget {
    /// Their chats (those not closed end).
    pub conversations: Vec<i64>,
    /// Their visitor records (those live leave the visitor list).
    pub visitors: Vec<i64>,
    /// `true` once it committed.
    pub reply: tokio::sync::oneshot::Sender<bool>,
}

/// A cheap handle to a running hub.
#[derive(Clone)]
pub struct HubHandle {
    /// Unbounded as a channel, bounded by `life`'s count: a bounded std channel allocates
    /// and touches all its slots up front (about 1.5 MB per hub at 8,192 commands), which
    /// a thousand mostly idle tenants cannot afford.
    tx: Sender<Command>,
    /// Shared with the hub's thread; every handle is a clone of it, so its count tells
    /// whether anyone besides the hubs' map holds the hub.
    life: Arc<life::Life>,
}

impl HubHandle {
    /// Queues a command; `false` when the hub is overloaded or gone (the caller tells the
    /// client to retry; client ids make the retry safe).
    pub fn send(&self, cmd: Command) -> bool {
        if !self.life.enqueue(COMMAND_QUEUE) {
            return false;
        }
        match self.tx.send(cmd) {
            Ok(()) => {
                crate::metrics::get().hub_queue.inc();
                true
            }
            Err(_) => {
                self.life.dequeued(1);
                false
            }
        }
    }

    /// Whether the hub may be stopped: idle for at least `idle`, and this is the only handle
    /// (the caller's map holds it; the hub's thread holds the other count). Ask under the lock
    /// that hands out clones, so none is made between this answer and the stop.
    pub fn retirable(&self, idle: Duration) -> bool {
        Arc::strong_count(&self.life) <= 2 && self.life.idle_for().is_some_and(|d| d >= idle)
    }
}

/// Reads a site's current pre-chat form (from `system.db`, which the hub does not hold).
pub type FormSource = Arc<dyn Fn(&str) -> Result<Form> + Send + Sync>;

/// Who hears of a batch's events after its commit: the mail sender (when email is on) and
/// the webhook sender, and the online look-up.
#[derive(Clone, Default)]
pub struct Senders {
    /// Email, when configured.
    pub mail: Option<Arc<crate::domain::email::Mail>>,
    /// Webhooks.
    pub hooks: Option<Arc<crate::domain::webhooks::Hooks>>,
    /// The online look-up: told of the chats a batch started.
    pub lookups: Option<Arc<crate::domain::lookup::Lookups>>,
}

/// Starts the hub thread of a tenant.
pub fn spawn(
    db: Arc<TenantDb>,
    sessions: SessionConfig,
    grace: Duration,
    clock: Clock,
    max_waiting: u32,
    senders: Senders,
    forms: FormSource,
) -> HubHandle {
    let Senders {
        mail,
        hooks,
        lookups,
    } = senders;
    let (tx, rx) = std::sync::mpsc::channel();
    let name = format!("hub-{}", &db.uuid[..8]);
    let life = Arc::new(life::Life::default());
    let hub = Hub {
        life: life.clone(),
        db,
        sessions,
        conns: HashMap::new(),
        agent_socks: BTreeMap::new(),
        attached: HashMap::new(),
        chats: Conversations::with_max_waiting(max_waiting as usize),
        visitors: Visitors::new(grace, clock.clone()),
        clock,
        loaded: false,
        fresh_agents: Vec::new(),
        mail,
        hooks,
        lookups,
        started: Vec::new(),
        forms,
        start_forms: HashMap::new(),
        reported: (0, 0),
        queue_sent: None,
    };
    std::thread::Builder::new()
        .name(name)
        .spawn(move || hub.run(rx))
        .expect("spawning a hub thread");
    HubHandle { tx, life }
}

struct Conn {
    out: mpsc::Sender<Outgoing>,
    peer: Peer,
    /// The visitor's conversation, once started or resumed.
    conversation: Option<i64>,
    /// What the socket still has to catch up on.
    backlog: backlog::Backlog,
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
    pub(super) after_commit: Vec<Box<dyn FnOnce(bool) + Send>>,
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
                fields,
            },
        ) = (self.about, out)
            && to == conn
        {
            let named = Out::Error {
                code: *code,
                message: message.clone(),
                conversation_id: Some(id),
                fields: fields.clone(),
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
    /// Where the hub says whether it is idle.
    life: Arc<life::Life>,
    db: Arc<TenantDb>,
    sessions: SessionConfig,
    /// Every time the hub reads: message and visit times, session ages, heartbeats.
    clock: Clock,
    conns: HashMap<ConnId, Conn>,
    /// The sockets of each agent that said hello.
    agent_socks: BTreeMap<i64, HashSet<ConnId>>,
    /// The visitor sockets of each conversation that is not closed.
    attached: HashMap<i64, HashSet<ConnId>>,
    /// The conversation rules and state.
    chats: Conversations,
    /// Who is on the tenant's sites.
    visitors: Visitors,
    loaded: bool,
    /// Agent sockets that said hello and have not had the whole queue and presence yet.
    fresh_agents: Vec<ConnId>,
    /// Email, when configured.
    mail: Option<Arc<crate::domain::email::Mail>>,
    /// Webhooks: woken after a batch that queued deliveries.
    hooks: Option<Arc<crate::domain::webhooks::Hooks>>,
    /// The online look-up: told of the chats a batch started, after its commit.
    lookups: Option<Arc<crate::domain::lookup::Lookups>>,
    /// The chats started in this batch.
    started: Vec<i64>,
    /// Where the current pre-chat forms are read.
    forms: FormSource,
    /// The forms of the sites whose visitors start a chat in this batch.
    start_forms: HashMap<String, Arc<Form>>,
    /// Waiting and open chats as last added to the process's metrics.
    reported: (i64, i64),
    /// When the queue, presence and places last went out (see `QUEUE_EVERY`).
    queue_sent: Option<std::time::Instant>,
}

impl Hub {
    fn run(mut self, rx: Receiver<Command>) {
        let mut last_check = self.clock.instant();
        // When the last command came, and whether the cache was given back since.
        let (mut last_command, mut released) = (self.clock.instant(), false);
        loop {
            let wait = match self.chats.queue_dirty() {
                true => self.queue_wait().min(SESSION_CHECK),
                false => SESSION_CHECK,
            };
            let first = match rx.recv_timeout(wait) {
                Ok(cmd) => Some(cmd),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => {
                    crate::metrics::chats_changed(-self.reported.0, -self.reported.1);
                    return;
                }
            };
            let mut batch: Vec<Command> = first.into_iter().collect();
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(cmd) => batch.push(cmd),
                    Err(_) => break,
                }
            }
            crate::metrics::get().hub_queue.dec_by(batch.len() as i64);
            self.life.dequeued(batch.len());
            if batch.iter().any(|c| matches!(c, Command::Stop)) {
                tracing::debug!(tenant = %self.db.uuid, "hub stopping");
                // What is still queued is dropped with the queue; it leaves the metrics too.
                crate::metrics::get()
                    .hub_queue
                    .dec_by(rx.try_iter().count() as i64);
                crate::metrics::chats_changed(-self.reported.0, -self.reported.1);
                return;
            }
            if !batch.is_empty() {
                (last_command, released) = (self.clock.instant(), false);
                self.process(batch);
            }
            // Queue changes held back by `QUEUE_EVERY` go out once it is time, batch or not.
            if self.chats.queue_dirty() && self.queue_wait().is_zero() {
                let mut out = Outbox::default();
                self.broadcast_queue(&mut out);
                self.flush(out);
            }
            if self.clock.instant() >= last_check + SESSION_CHECK {
                self.check_agent_sessions();
                // Sign-outs outside a batch (an ended session) and renewals are written now.
                if self.chats.presence_due(self.clock.now()) {
                    self.process(Vec::new());
                }
                if self.chats.queue_alert_due(self.clock.now()) {
                    self.process(vec![Command::QueueCheck]);
                }
                if self.visitors.any() {
                    self.process(vec![Command::Sweep]);
                }
                last_check = self.clock.instant();
                if !released && self.clock.instant() >= last_command + QUIET {
                    self.db.release_memory();
                    released = true;
                }
            }
            self.life.mark(self.idle());
        }
    }

    /// Nothing to do but wait: no socket, no waiting or open chat, no visit in progress (a
    /// visitor stays in memory until their visit ends, so a return continues it).
    fn idle(&self) -> bool {
        self.conns.is_empty() && self.reported == (0, 0) && !self.visitors.any()
    }

    /// Reads the current pre-chat form of each site a `start` in the batch came from, before
    /// the tenant's transaction opens (`system.db` is never locked while it is held).
    fn read_forms(&mut self, batch: &[Command]) {
        self.start_forms.clear();
        let conns = &self.conns;
        for site_key in start_sites(batch, |id| conns.get(&id).map(|c| &c.peer)) {
            // A form that cannot be read asks nothing rather than refusing every chat.
            let form = (self.forms)(&site_key).unwrap_or_else(|e| {
                tracing::error!(site = %site_key, error = %e, "pre-chat form not read");
                Default::default()
            });
            self.start_forms.insert(site_key, Arc::new(form));
        }
    }

    /// Runs a batch in one transaction; sends its frames only after COMMIT.
    fn process(&mut self, batch: Vec<Command>) {
        self.read_forms(&batch);
        let db = self.db.clone();
        let mut outbox = Outbox::default();
        let metrics = crate::metrics::get();
        if !batch.is_empty() {
            metrics.batch_size.observe(batch.len() as f64);
        }
        let result = db.with(|c| {
            if !self.loaded {
                self.load(c)?;
            }
            let began = std::time::Instant::now();
            let tx = c.transaction()?;
            for cmd in batch {
                self.handle(&tx, cmd, &mut outbox);
            }
            let presence = self.chats.record_presence(&mut Tx(&tx), self.clock.now());
            if let Err(e) = presence {
                tracing::error!(error = %e, "recording agents' presence failed");
            }
            self.broadcast(&mut outbox);
            tx.commit()?;
            metrics
                .commit_seconds
                .observe(began.elapsed().as_secs_f64());
            Ok(())
        });
        let callbacks = std::mem::take(&mut outbox.after_commit);
        let committed = result.is_ok();
        crate::metrics::commit_staged(committed);
        let counts = self.chats.counts();
        crate::metrics::chats_changed(counts.0 - self.reported.0, counts.1 - self.reported.1);
        self.reported = counts;
        // Deliveries queued by the batch (in its transaction) are there once it committed.
        if crate::domain::webhooks::take_queued()
            && committed
            && let Some(h) = &self.hooks
        {
            h.wake(&self.db.uuid);
        }
        // The look-up runs on its own thread, never in the hub's batch.
        let started = std::mem::take(&mut self.started);
        if committed
            && !started.is_empty()
            && let Some(l) = &self.lookups
        {
            l.started(&self.db.uuid, &started);
        }
        match result {
            Ok(()) => self.flush(outbox),
            Err(e) => {
                tracing::error!(tenant = %self.db.uuid, error = %e, "chat batch not stored");
                self.recover(outbox);
            }
        }
        for answer in callbacks {
            answer(committed);
        }
    }

    /// After a failed batch: its senders are told to retry, sockets that got catching up in
    /// it close and resume, and the state in memory (which may be ahead of the database) is
    /// read again.
    fn recover(&mut self, outbox: Outbox) {
        let retry = Out::error(Code::NotStored, "the server could not store this; retry");
        let mut failed = Outbox::default();
        failed.send_all(outbox.senders, &retry);
        self.flush(failed);
        for conn in outbox.paged {
            self.leave(conn);
        }
        self.loaded = false;
        // Live visitors too: their next heartbeat is answered "again" and re-reported.
        // Agents get the (now empty) list, so nobody stays shown who is not tracked.
        self.visitors.reset();
        let mut cleared = Outbox::default();
        let watchers = self.conns_that_may(Permission::VisitorsView);
        cleared.send_all(watchers, &self.visitors.visitors_frame());
        self.flush(cleared);
        // What this batch would have told agents and visitors was not sent: next time every
        // agent gets the whole queue and presence, every visitor their place.
        self.chats.forget_sent();
        self.fresh_agents = self.agent_socks.values().flatten().copied().collect();
    }

    /// Loads the conversations that are not closed (after start, or after a failed commit).
    fn load(&mut self, c: &Connection) -> Result<()> {
        let mut rows = Vec::new();
        for row in cstore::active_conversations(c)? {
            let last_seq = cstore::last_seq(c, row.id)?;
            let mut recent = cstore::recent_client_ids(c, row.id, CLIENT_IDS)?;
            recent.reverse();
            let fields = cstore::fields(c, row.id)?;
            rows.push(Stored {
                row,
                last_seq,
                recent,
                fields,
            });
        }
        self.chats.load(rows, cstore::log_epoch(c)?);
        // Presence left open by a stop, a crash or a failed batch ends at its last sign of
        // life; who is here gets new rows (`store::presence`).
        crate::store::presence::close_open(c)?;
        self.chats.presence_reloaded();
        self.chats
            .set_blocks(crate::store::blocks::active(c, self.clock.now())?);
        let settings = cstore::chat_settings(c)?;
        self.chats.set_typing_preview(settings.typing_preview);
        self.chats.set_waiting_times(cstore::waiting_times(c)?);
        self.chats
            .set_accept_message(settings.accept_message_de, settings.accept_message_en);
        // Visitor sockets rejoin the conversations that are (again) not closed.
        self.attached.clear();
        for (id, s) in &self.conns {
            if let Some(cv) = s.conversation.filter(|cv| self.chats.status(*cv).is_some()) {
                self.attached.entry(cv).or_default().insert(*id);
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
            self.leave(conn);
        }
    }

    fn handle(&mut self, c: &Connection, cmd: Command, out: &mut Outbox) {
        let sender = match &cmd {
            Command::Visitor(conn, _) | Command::Agent(conn, _) | Command::More(conn) => {
                Some(*conn)
            }
            _ => None,
        };
        if let Err(e) = self.handle_inner(c, cmd, out) {
            match sender {
                Some(conn) => self.internal(conn, e, out),
                None => tracing::error!(error = %e, "hub command failed"),
            }
        }
    }

    fn handle_inner(&mut self, c: &Connection, cmd: Command, out: &mut Outbox) -> Result<()> {
        let ledger = &mut Tx(c);
        match cmd {
            Command::Join {
                conn,
                peer,
                out: tx,
            } => self.join(conn, peer, tx),
            Command::Visitor(conn, frame) => {
                out.senders.push(conn);
                let Some(ctx) = self.visitor_ctx(conn) else {
                    return Ok(());
                };
                // Hours are read at decision time (a few rows, only on `start`), so changes
                // from the dashboard or the CLI count at once.
                if let VisitorIn::Start { department, .. } = &frame
                    && ctx.current.is_none()
                    && !crate::domain::hours::open_for(c, *department, ctx.at)?
                {
                    // A page loaded during the day may still offer the chat at night.
                    out.send(
                        conn,
                        &Out::error(Code::Closed, "we are closed now; leave a message instead"),
                    );
                    return Ok(());
                }
                let fx = self.chats.visitor_frame(ledger, &ctx, frame)?;
                self.apply(c, Some(conn), fx, out)?;
            }
            Command::Agent(conn, frame) => {
                out.senders.push(conn);
                out.about = frame.conversation_id().map(|id| (conn, id));
                let result = self.agent(c, conn, frame, out);
                out.about = None;
                result?;
            }
            Command::More(conn) => {
                if let Some(s) = self.conns.get_mut(&conn) {
                    s.backlog.taken();
                }
                self.pump(c, conn, out)?;
            }
            Command::Leave(conn) => self.leave(conn),
            Command::AgentChanged(agent_id) => {
                // Their view of the queue may have changed: they get it whole again.
                let socks = self.agent_socks.get(&agent_id).into_iter().flatten();
                self.fresh_agents.extend(socks.copied());
                let fx = self.chats.agent_changed(ledger, agent_id, self.clock.now());
                self.apply_logged(c, fx, out, "giving back chats failed");
                // Their departments (so their team rooms) may have changed too.
                self.resend_team_rooms(c, agent_id, out);
            }
            Command::RolesChanged => {
                let fx = self.chats.release_lost_chats(ledger, self.clock.now());
                self.apply_logged(c, fx, out, "giving back chats failed");
            }
            Command::DepartmentDeleted(id) => {
                // Every agent's view of the queue may have changed.
                let socks: Vec<_> = self.agent_socks.values().flatten().copied().collect();
                self.fresh_agents.extend(socks);
                self.chats.department_deleted(id);
            }
            Command::PostFile(upload) => self.post_file(c, upload, out),
            Command::SettingsChanged => {
                match (cstore::chat_settings(c), cstore::waiting_times(c)) {
                    (Ok(v), Ok(times)) => {
                        self.chats.set_typing_preview(v.typing_preview);
                        self.chats.set_waiting_times(times);
                        self.chats
                            .set_accept_message(v.accept_message_de, v.accept_message_en);
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        tracing::error!(error = %e, "reading settings failed")
                    }
                }
            }
            Command::Available(reply) => {
                let _ = reply.send(self.chats.anyone_online());
            }
            Command::OpenDepartments(reply) => {
                let _ = reply.send(self.chats.open_departments());
            }
            Command::Online(reply) => {
                let _ = reply.send(self.chats.online());
            }
            Command::Track(ev, reply) => self.track(c, ev, reply, out),
            Command::RulesChanged => self.visitors.rules_changed(),
            Command::Block(req) => self.block(c, req, out),
            Command::Forget(f) => {
                let fx =
                    self.chats
                        .end_for_erasure(&mut Tx(c), &f.conversations, self.clock.now())?;
                self.apply(c, None, fx, out)?;
                let mut visitors = f.visitors;
                visitors.extend(
                    f.conversations
                        .iter()
                        .filter_map(|id| self.visitors.in_chat(*id)),
                );
                self.visitors.forget_for_erasure(&visitors);
                let reply = f.reply;
                out.after_commit.push(Box::new(move |committed| {
                    let _ = reply.send(committed);
                }));
            }
            Command::AgentCall(call) => self.agent_call(c, call, out),
            Command::LiveVisitors(reply) => {
                let _ = reply.send(self.visitors.visitors_frame());
            }
            Command::QueueCheck => {
                let fx = self.chats.queue_alerts(self.clock.now());
                self.apply(c, None, fx, out)?;
            }
            Command::BlocksChanged => match crate::store::blocks::active(c, self.clock.now()) {
                Ok(b) => self.chats.set_blocks(b),
                Err(e) => tracing::error!(error = %e, "reading the blocks failed"),
            },
            Command::Sweep => {
                if let Err(e) = self.visitors.sweep(ledger) {
                    tracing::error!(error = %e, "ending silent visits failed");
                }
            }
            Command::Stop => {}
        }
        Ok(())
    }

    /// An agent frame: `hello` enlists the socket first, so it counts for the agent's
    /// audiences from its own answer on.
    fn agent(
        &mut self,
        c: &Connection,
        conn: ConnId,
        frame: AgentIn,
        out: &mut Outbox,
    ) -> Result<()> {
        let Some(Peer::Agent {
            agent_id,
            name,
            permissions,
            ..
        }) = self.conns.get(&conn).map(|s| s.peer.clone())
        else {
            return Ok(());
        };
        let hello = matches!(frame, AgentIn::Hello { .. });
        if hello {
            self.agent_socks.entry(agent_id).or_default().insert(conn);
        }
        let ctx = crate::domain::conversation::AgentCtx {
            agent_id,
            name,
            permissions,
            at: self.clock.now(),
        };
        let mut fx = if !frame.is_team() {
            self.chats.agent_frame(&mut Tx(c), &ctx, frame)?
        } else if let Some(refused) =
            crate::domain::conversation::forbidden(&mut Tx(c), &ctx, &frame)?
        {
            refused
        } else {
            crate::domain::team_chat::frame(c, &self.chats, &ctx, frame)?
        };
        if hello && permissions.has(Permission::Chat) {
            let rooms = crate::domain::team_chat::rooms(c, agent_id, permissions)?;
            fx.0.push(crate::domain::conversation::Effect::Send(
                crate::domain::conversation::To::Sender,
                Out::TeamRooms { rooms },
            ));
        }
        self.apply(c, Some(conn), fx, out)
    }

    /// The agent's team rooms again, to each of their sockets (after a change of the agent).
    fn resend_team_rooms(&self, c: &Connection, agent_id: i64, out: &mut Outbox) {
        let socks: Vec<ConnId> = self
            .agent_socks
            .get(&agent_id)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        let Some(Peer::Agent { permissions, .. }) = socks
            .first()
            .and_then(|s| self.conns.get(s))
            .map(|s| &s.peer)
        else {
            return;
        };
        if !permissions.has(Permission::Chat) {
            return;
        }
        match crate::domain::team_chat::rooms(c, agent_id, *permissions) {
            Ok(rooms) => out.send_all(socks, &Out::TeamRooms { rooms }),
            Err(e) => tracing::error!(error = %e, "reading team rooms failed"),
        }
    }

    /// What the rules need to know of a visitor socket.
    fn visitor_ctx(&self, conn: ConnId) -> Option<crate::domain::conversation::VisitorCtx> {
        let s = self.conns.get(&conn)?;
        let Peer::Visitor {
            site_key,
            visitor_key,
            notice_current,
            address,
            greeting,
        } = &s.peer
        else {
            return None;
        };
        Some(crate::domain::conversation::VisitorCtx {
            site_key: site_key.clone(),
            visitor_key: *visitor_key,
            notice_current: *notice_current,
            address: address.clone(),
            greeting: greeting.clone(),
            current: s.conversation,
            form: self.start_forms.get(site_key).cloned().unwrap_or_default(),
            at: self.clock.now(),
        })
    }

    /// Applies effects of a change not caused by a socket; a failure is logged.
    fn apply_logged(&mut self, c: &Connection, fx: Result<Effects>, out: &mut Outbox, what: &str) {
        if let Err(e) = fx.and_then(|fx| self.apply(c, None, fx, out)) {
            tracing::error!(error = %e, "{what}");
        }
    }

    fn internal(&self, conn: ConnId, e: crate::error::Error, out: &mut Outbox) {
        tracing::error!(conn, error = %e, "chat frame failed");
        out.send(
            conn,
            &Out::error(Code::InternalError, "internal error; retry"),
        );
    }

    /// A socket opened. An agent's socket gets nothing until its `hello`: live frames before
    /// it would arrive again, out of order, in its replay.
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

    fn leave(&mut self, conn: ConnId) {
        let Some(gone) = self.conns.remove(&conn) else {
            return;
        };
        match gone.peer {
            Peer::Visitor { .. } => {
                if let Some(socks) = gone.conversation.and_then(|id| self.attached.get_mut(&id)) {
                    socks.remove(&conn);
                }
            }
            Peer::Agent { agent_id, .. } => {
                let empty = self.agent_socks.get_mut(&agent_id).is_some_and(|s| {
                    s.remove(&conn);
                    s.is_empty()
                });
                if empty {
                    self.agent_socks.remove(&agent_id);
                    self.chats.agent_left(agent_id);
                }
            }
        }
    }
}

/// The sites whose visitors start a chat in this batch. A socket that opened in the same batch
/// is not among the known ones yet: its `Join` names its site.
fn start_sites<'a>(
    batch: &'a [Command],
    known: impl Fn(ConnId) -> Option<&'a Peer>,
) -> std::collections::BTreeSet<String> {
    let mut sites = std::collections::BTreeSet::new();
    for cmd in batch {
        let Command::Visitor(conn, VisitorIn::Start { .. }) = cmd else {
            continue;
        };
        let joined = batch.iter().find_map(|c| match c {
            Command::Join { conn: j, peer, .. } if j == conn => Some(peer),
            _ => None,
        });
        if let Some(Peer::Visitor { site_key, .. }) = known(*conn).or(joined) {
            sites.insert(site_key.clone());
        }
    }
    sites
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visitor(site_key: &str) -> Peer {
        Peer::Visitor {
            site_key: site_key.into(),
            visitor_key: None,
            notice_current: 1,
            address: String::new(),
            greeting: Default::default(),
        }
    }

    fn start(conn: ConnId) -> Command {
        let frame = serde_json::json!({"type": "start", "consent": true, "notice_version": "1"});
        Command::Visitor(conn, serde_json::from_value(frame).unwrap())
    }

    #[test]
    fn a_start_in_the_batch_its_socket_opened_in_reads_its_sites_form() {
        let (out, _rx) = mpsc::channel(1);
        let known = visitor("known");
        let batch = vec![
            Command::Join {
                conn: 2,
                peer: visitor("fresh"),
                out,
            },
            start(2),
            start(1),
            start(3),
        ];
        let sites = start_sites(&batch, |id| (id == 1).then_some(&known));
        assert_eq!(sites.into_iter().collect::<Vec<_>>(), ["fresh", "known"]);
    }
}

//! From the rules' effects to sockets: audiences become sockets, replays go into backlogs,
//! acks wait for their place in a replay; after each batch the queue, presence and live
//! visitors that changed go to the agents who may see them.

use super::{ConnId, FileUpload, Hub, Outbox, Peer, Posted, TrackEvent, TrackReply};
use crate::domain::conversation::ledger::Tx;
use crate::domain::conversation::{Effect, Effects, To};
use crate::domain::protocol::Out;
use crate::error::{Code, Result};
use crate::model::rights::Permission;
use crate::store::chat as cstore;
use rusqlite::Connection;
use std::collections::HashSet;

impl Hub {
    /// Carries out the effects of one event from `sender` (none: an HTTP caller or the hub
    /// itself). Replays queued by them start once all effects are applied, so an entry
    /// stored by the same event reaches a replaying socket once, in its replay.
    pub(super) fn apply(
        &mut self,
        c: &Connection,
        sender: Option<ConnId>,
        fx: Effects,
        out: &mut Outbox,
    ) -> Result<()> {
        let mut replaying: Vec<ConnId> = Vec::new();
        for effect in fx.0 {
            match effect {
                Effect::Send(To::Sender, frame) => {
                    if let Some(s) = sender {
                        out.send(s, &frame);
                    }
                }
                Effect::Send(to, frame) => out.send_all(self.resolve(to), &frame),
                Effect::Entry {
                    conversation_id,
                    to,
                    frame,
                    skip_sender,
                } => {
                    let mut recipients: Vec<ConnId> =
                        to.into_iter().flat_map(|t| self.resolve(t)).collect();
                    let skip = sender.filter(|_| skip_sender);
                    recipients.retain(|r| Some(*r) != skip && !self.behind(*r, conversation_id));
                    out.send_all(recipients, &frame);
                }
                Effect::Ack {
                    conversation_id,
                    client_id,
                    seq,
                } => {
                    if let Some(s) = sender {
                        self.ack(s, conversation_id, &client_id, seq, out);
                    }
                }
                Effect::Attach {
                    conversation_id,
                    live,
                } => {
                    let Some(s) = sender else { continue };
                    if let Some(state) = self.conns.get_mut(&s) {
                        state.conversation = Some(conversation_id);
                    }
                    if live {
                        self.attached.entry(conversation_id).or_default().insert(s);
                    }
                }
                Effect::Resume {
                    conversation_id,
                    held,
                    epoch,
                    end,
                } => {
                    let Some(s) = sender else { continue };
                    let after =
                        self.resume_point(s, conversation_id, held, epoch.as_deref(), end, out);
                    self.queue_log(s, conversation_id, after, &mut replaying);
                }
                Effect::CatchUp {
                    agent_id,
                    conversation_id,
                } => {
                    for s in self.resolve(To::Agent(agent_id)) {
                        self.queue_log(s, conversation_id, 0, &mut replaying);
                    }
                }
                Effect::Forget {
                    agent_id,
                    conversation_id,
                } => self.forget(agent_id, conversation_id, out),
                Effect::Closed(id) => {
                    self.attached.remove(&id);
                    self.mail_closed(c, id);
                }
                Effect::ClosedForErasure(id) => {
                    self.attached.remove(&id);
                }
                Effect::ChatStarted {
                    conversation_id,
                    visitor_key,
                } => {
                    self.visitors
                        .chat_started(&mut Tx(c), Some(&visitor_key), conversation_id)?;
                    self.started.push(conversation_id);
                }
                Effect::Enlisted { visitors } => {
                    let Some(s) = sender else { continue };
                    if let Some(state) = self.conns.get_mut(&s).filter(|_| visitors) {
                        state.backlog.visitors();
                    }
                    replaying.push(s);
                    self.fresh_agents.push(s);
                }
                Effect::Team { agents, frame } => {
                    let mut to: Vec<ConnId> = agents
                        .into_iter()
                        .flat_map(|a| self.resolve(To::Agent(a)))
                        .collect();
                    to.retain(|r| Some(*r) != sender);
                    out.send_all(to, &frame);
                }
                Effect::Invite {
                    agent_id,
                    visitor_id,
                    agent_name,
                    text,
                } => {
                    let refusal =
                        self.visitors
                            .invite(&mut Tx(c), agent_id, agent_name, visitor_id, text)?;
                    if let (Some(s), Some(r)) = (sender, refusal) {
                        out.send(s, &r);
                    }
                }
            }
        }
        for s in replaying {
            self.pump(c, s, out)?;
        }
        Ok(())
    }

    /// Queues the mails of an ended chat in the batch's transaction. A mail that cannot be
    /// rendered is logged and left out: it never undoes the chat's end.
    fn mail_closed(&self, c: &Connection, id: i64) {
        let Some(mail) = &self.mail else { return };
        let now = self.clock.now();
        match crate::domain::email::events::chat_closed(c, mail, id, now) {
            Ok(()) => mail.wake(crate::domain::email::Box::Tenant(self.db.uuid.clone())),
            Err(e) => {
                tracing::error!(conversation = id, error = %e, "queueing the chat's mails failed")
            }
        }
    }

    /// The sockets behind an audience.
    fn resolve(&self, to: To) -> Vec<ConnId> {
        let socks = match to {
            To::Sender => None,
            To::Visitors(id) => self.attached.get(&id),
            To::Agent(id) => self.agent_socks.get(&id),
        };
        socks.into_iter().flatten().copied().collect()
    }

    /// Queues a conversation's entries after `after` for a socket's replay (with its notes
    /// for agents).
    fn queue_log(&mut self, conn: ConnId, id: i64, after: i64, replaying: &mut Vec<ConnId>) {
        if let Some(s) = self.conns.get_mut(&conn) {
            let notes = matches!(s.peer, Peer::Agent { .. });
            s.backlog.log(id, after, notes);
            if !replaying.contains(&conn) {
                replaying.push(conn);
            }
        }
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
            let ack = Out::Ack {
                client_id: client_id.into(),
                conversation_id,
                seq,
            };
            out.send(sender, &ack);
        }
    }

    /// An agent lost a chat: whatever of its replay had not reached their sockets they no
    /// longer get; the acks of their own messages in it they still do.
    fn forget(&mut self, agent_id: i64, id: i64, out: &mut Outbox) {
        for s in self.resolve(To::Agent(agent_id)) {
            let owed = match self.conns.get_mut(&s) {
                Some(state) => state.backlog.forget(id),
                None => continue,
            };
            for (seq, client_id) in owed {
                let ack = Out::Ack {
                    client_id,
                    conversation_id: id,
                    seq,
                };
                out.send(s, &ack);
            }
        }
    }

    /// Stores an uploaded file and posts it into its conversation; the uploader hears back
    /// only after the commit.
    pub(super) fn post_file(&mut self, c: &Connection, up: FileUpload, out: &mut Outbox) {
        let FileUpload {
            from,
            name,
            mime,
            limits,
            data,
            client_id,
            reply,
        } = up;
        let at = self.clock.now();
        let posted = self
            .chats
            .post_file(
                &mut Tx(c),
                &from,
                &limits,
                &name,
                mime,
                &data,
                &client_id,
                at,
            )
            .and_then(|(posted, fx)| self.apply(c, None, fx, out).map(|_| posted));
        let result: Posted = posted.unwrap_or_else(|e| {
            tracing::error!(error = %e, "storing a file failed");
            Err(Out::error(Code::InternalError, "internal error; retry"))
        });
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

    /// An agent's frame from the HTTP API: the rules as for a socket; what they would tell
    /// the sender (its ack, or a refusal) is the answer, given after the commit.
    pub(super) fn agent_call(&mut self, c: &Connection, call: super::AgentCall, out: &mut Outbox) {
        let super::AgentCall { ctx, frame, reply } = call;
        let told = self
            .chats
            .agent_frame(&mut Tx(c), &ctx, frame)
            .and_then(|mut fx| {
                let mut told = Vec::new();
                fx.0.retain(|e| match e {
                    Effect::Send(To::Sender, frame) => {
                        told.push(frame.clone());
                        false
                    }
                    Effect::Ack {
                        conversation_id,
                        client_id,
                        seq,
                    } => {
                        told.push(Out::Ack {
                            client_id: client_id.clone(),
                            conversation_id: *conversation_id,
                            seq: *seq,
                        });
                        false
                    }
                    _ => true,
                });
                self.apply(c, None, fx, out).map(|_| told)
            });
        let told = told.map_err(|e| {
            tracing::error!(error = %e, "an agent's API call failed");
            Out::error(Code::InternalError, "internal error; retry")
        });
        out.after_commit.push(Box::new(move |committed| {
            let answer = match told {
                Ok(_) if !committed => Err(Out::error(
                    Code::NotStored,
                    "the server could not store this; retry",
                )),
                other => other,
            };
            let _ = reply.send(answer);
        }));
    }

    /// Handles a browser's report; the answer goes out after the commit.
    pub(super) fn track(
        &mut self,
        c: &Connection,
        ev: TrackEvent,
        reply: tokio::sync::oneshot::Sender<TrackReply>,
        out: &mut Outbox,
    ) {
        let inviter = self.chats.inviter();
        let answer = self
            .visitors
            .track(&mut Tx(c), ev, inviter)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "storing a page view failed");
                TrackReply::Failed
            });
        out.after_commit.push(Box::new(move |committed| {
            let _ = reply.send(if committed {
                answer
            } else {
                TrackReply::Failed
            });
        }));
    }

    /// At the end of a batch: the queue and presence (when they changed) and the live
    /// visitors that changed.
    pub(super) fn broadcast(&mut self, out: &mut Outbox) {
        for (agent, frame) in self.chats.take_deferred() {
            out.send_all(self.resolve(To::Agent(agent)), &frame);
        }
        if self.chats.queue_dirty() && self.queue_wait().is_zero() {
            self.broadcast_queue(out);
        }
        let chats = &self.chats;
        let agents = self.conns_that_may(Permission::VisitorsView);
        if agents.is_empty() {
            self.visitors.drop_news(|id| chats.status(id));
            return;
        }
        let news = self.visitors.news(|id| chats.status(id));
        for (visitor_id, frame) in news {
            // A socket still receiving the list in parts hears of a visitor with the part that
            // holds them.
            let told = agents.iter().copied().filter(|c| {
                self.conns
                    .get(c)
                    .is_some_and(|s| !s.backlog.behind_on_visitor(visitor_id))
            });
            out.send_all(told, &frame);
        }
    }

    /// How long until the queue may go out again (zero: now). A dashboard that said hello
    /// waits for nobody: it has no queue at all yet.
    pub(super) fn queue_wait(&self) -> std::time::Duration {
        match self.queue_sent {
            _ if !self.fresh_agents.is_empty() => std::time::Duration::ZERO,
            None => std::time::Duration::ZERO,
            Some(at) => super::QUEUE_EVERY.saturating_sub(at.elapsed()),
        }
    }

    /// Routes waiting chats and sends what changed in the queue, presence and places.
    pub(super) fn broadcast_queue(&mut self, out: &mut Outbox) {
        self.queue_sent = Some(std::time::Instant::now());
        // A socket that said hello gets the queue and presence once its replay is through (the
        // dashboard takes what comes after `queue` as live); until then it gets neither whole
        // lists nor changes.
        let (fresh, waiting): (HashSet<ConnId>, HashSet<ConnId>) =
            std::mem::take(&mut self.fresh_agents)
                .into_iter()
                .filter(|c| self.conns.contains_key(c))
                .partition(|c| !self.conns.get(c).is_some_and(|s| s.backlog.replaying()));
        self.fresh_agents = waiting.iter().copied().collect();
        let news = self.chats.queue_news(!fresh.is_empty());
        let settled = |c: &ConnId| !fresh.contains(c) && !waiting.contains(c);
        for view in news.views {
            let socks: Vec<ConnId> = view
                .agents
                .iter()
                .flat_map(|a| self.resolve(To::Agent(*a)))
                .collect();
            if let Some(update) = &view.update {
                out.send_all(socks.iter().copied().filter(settled), update);
            }
            if !fresh.is_empty() {
                let whole = Out::Queue {
                    waiting: view.whole,
                };
                out.send_all(socks.into_iter().filter(|c| fresh.contains(c)), &whole);
            }
        }
        if let Some(update) = &news.presence_update {
            let others = self.agent_socks.values().flatten().copied().filter(settled);
            out.send_all(others, update);
        }
        if !fresh.is_empty() {
            let agents = Out::Agents {
                agents: news.presence,
            };
            out.send_all(fresh, &agents);
        }
        for (id, position) in news.positions {
            out.send_all(
                self.resolve(To::Visitors(id)),
                &Out::QueuePosition { position },
            );
        }
    }

    /// Closes agent sockets whose session ended (logout, idle, absolute limit).
    pub(super) fn check_agent_sessions(&mut self) {
        let tokens: Vec<(ConnId, Vec<u8>)> = self
            .conns
            .iter()
            .filter_map(|(id, c)| match &c.peer {
                Peer::Agent { token_hash, .. } => Some((*id, token_hash.clone())),
                _ => None,
            })
            .collect();
        if tokens.is_empty() {
            return;
        }
        let now = self.clock.now();
        let sessions = self.sessions.clone();
        let ended = self
            .db
            .with(|c| crate::domain::auth::ended_sessions(c, &tokens, now, &sessions));
        let dead = match ended {
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
                self.leave(conn);
            }
            if self.chats.queue_dirty() {
                self.broadcast_queue(&mut out);
            }
            self.flush(out);
        }
    }

    /// The sockets of agents whose role allows `p`.
    pub(super) fn conns_that_may(&self, p: Permission) -> Vec<ConnId> {
        self.agent_socks
            .iter()
            .filter(|(a, _)| self.chats.agent_may(**a, p))
            .flat_map(|(_, socks)| socks.iter().copied())
            .collect()
    }

    /// Sends an agent socket every note of a conversation.
    pub(super) fn replay_notes(
        &self,
        c: &Connection,
        conn: ConnId,
        id: i64,
        out: &mut Outbox,
    ) -> Result<()> {
        for n in cstore::notes(c, id)? {
            let author_name = match n.agent_id {
                Some(a) => self.chats.agent_name(&mut Tx(c), a)?,
                None => String::new(),
            };
            let note = Out::Note {
                conversation_id: id,
                id: n.id,
                author_name,
                text: n.body,
                at: n.created_at,
            };
            out.send(conn, &note);
        }
        Ok(())
    }
}

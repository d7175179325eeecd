//! What the hub does with an agent's frames, and how it notices ended sessions.

use super::{ConnId, Hub, Outbox, Peer, Status, not_found};
use crate::error::{Code, Result};
use crate::model::rights::Permission;
use crate::realtime::protocol::AgentStatus;
use crate::realtime::protocol::{AgentIn, Out, check_message};
use crate::store::audit as astore;
use crate::store::chat as cstore;
use crate::store::tenant as tstore;
use rusqlite::Connection;
use std::collections::HashMap;

/// The permission a frame needs, if any.
fn needed(frame: &AgentIn) -> Option<Permission> {
    match frame {
        AgentIn::Ping {} | AgentIn::Hello { .. } | AgentIn::Status { .. } => None,
        AgentIn::Invite { .. } => Some(Permission::VisitorsView),
        AgentIn::Accept { .. }
        | AgentIn::Message { .. }
        | AgentIn::Typing { .. }
        | AgentIn::Note { .. }
        | AgentIn::Transfer { .. }
        | AgentIn::Close { .. } => Some(Permission::Chat),
    }
}

impl Hub {
    pub(super) fn agent_frame(
        &mut self,
        c: &Connection,
        conn: ConnId,
        frame: AgentIn,
        out: &mut Outbox,
    ) -> Result<()> {
        let Some(Peer::Agent {
            agent_id,
            permissions,
            ..
        }) = self.conns.get(&conn).map(|c| c.peer.clone())
        else {
            return Ok(());
        };
        if let Some(needed) = needed(&frame)
            && !permissions.has(needed)
        {
            out.send(
                conn,
                &Out::error(
                    Code::Forbidden,
                    format!("your role does not allow you to {}", needed.what()),
                ),
            );
            let actor = format!("agent#{agent_id}");
            return astore::append(
                c,
                self.clock.now(),
                &astore::AuditEntry {
                    actor: &actor,
                    action: needed.name(),
                    object: "socket",
                    result: "authz denied",
                    ..Default::default()
                },
            );
        }
        match frame {
            AgentIn::Ping {} => out.send(conn, &Out::Pong {}),
            AgentIn::Hello { seen, epoch } => {
                self.enlist(c, conn, out);
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
                        status: self
                            .agents
                            .get(&agent_id)
                            .map(|a| a.status)
                            .unwrap_or(AgentStatus::Online),
                        conversations: mine
                            .iter()
                            .filter_map(|id| self.conversation_out(*id))
                            .collect(),
                        epoch: self.epoch.clone(),
                    },
                );
                for id in mine {
                    let held = seen.get(&id).copied().unwrap_or(0);
                    let end = self.convs.get(&id).map_or(0, |cv| cv.last_seq);
                    let after = self.resume_point(conn, id, held, epoch.as_deref(), end, out);
                    if let Some(s) = self.conns.get_mut(&conn) {
                        s.backlog.log(id, after, true);
                    }
                }
                if permissions.has(Permission::VisitorsView)
                    && let Some(s) = self.conns.get_mut(&conn)
                {
                    s.backlog.visitors();
                }
                self.pump(c, conn, out)?;
                // The queue and presence follow at the end of the batch, as they stand then;
                // from there on this socket gets changes only.
                self.fresh_agents.push(conn);
                self.queue_dirty = true;
            }
            AgentIn::Invite { visitor_id, text } => {
                self.invite(c, conn, agent_id, visitor_id, text, out)?;
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
                let department = self
                    .convs
                    .get(&conversation_id)
                    .and_then(|cv| cv.department_id);
                // A chat of another department is not in this agent's view: as unknown.
                let in_view = self
                    .agents
                    .get(&agent_id)
                    .is_some_and(|a| a.sees(department));
                match self.convs.get(&conversation_id).map(|cv| cv.status) {
                    // Outside the agent's view, taken or not: as unknown.
                    Some(_) if !in_view => {
                        self.deny(c, conn, agent_id, conversation_id, out)?;
                        return Ok(());
                    }
                    Some(Status::Waiting) => {}
                    Some(Status::Open) => {
                        out.send(
                            conn,
                            &Out::error(Code::AlreadyTaken, "another agent has this chat"),
                        );
                        return Ok(());
                    }
                    None => {
                        self.deny(c, conn, agent_id, conversation_id, out)?;
                        return Ok(());
                    }
                }
                if open >= capacity {
                    out.send(
                        conn,
                        &Out::error(Code::AtCapacity, "you have as many chats as you can take"),
                    );
                    return Ok(());
                }
                cstore::accept(c, conversation_id, agent_id, self.clock.now())?;
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
                    self.catch_up(c, a, conversation_id, 0, out)?;
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
                if !self.may_write(c, conn, agent_id, conversation_id, &client_id, &text, out)? {
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
                            text: None,
                        },
                    );
                }
            }
            AgentIn::Note {
                conversation_id,
                client_id,
                text,
            } => {
                if !self.may_write(c, conn, agent_id, conversation_id, &client_id, &text, out)? {
                    return Ok(());
                }
                let at = self.clock.now();
                let (id, new) =
                    cstore::insert_note(c, conversation_id, agent_id, &text, &client_id, at)?;
                out.send(
                    conn,
                    &Out::Noted {
                        client_id,
                        conversation_id,
                        id,
                    },
                );
                if new {
                    let note = Out::Note {
                        conversation_id,
                        id,
                        author_name: self.agent_name(c, agent_id)?,
                        text,
                        at,
                    };
                    // A socket still catching up on the chat gets the note with its replay.
                    let others: Vec<ConnId> = self
                        .agent_conns(agent_id)
                        .into_iter()
                        .filter(|x| *x != conn && !self.behind(*x, conversation_id))
                        .collect();
                    out.send_all(others, &note);
                }
            }
            AgentIn::Transfer {
                conversation_id,
                to_agent,
                to_department,
            } => {
                if !self.owns(agent_id, conversation_id) {
                    self.deny(c, conn, agent_id, conversation_id, out)?;
                    return Ok(());
                }
                match (to_agent, to_department) {
                    (Some(target), None) => {
                        self.transfer_to_agent(c, conn, agent_id, conversation_id, target, out)?
                    }
                    (None, Some(dep)) => {
                        if !cstore::department_exists(c, dep)? {
                            out.send(conn, &Out::error(Code::NotFound, "no such department"));
                            return Ok(());
                        }
                        self.transfer_to_department(c, agent_id, conversation_id, dep, out)?;
                    }
                    _ => out.send(
                        conn,
                        &Out::error(
                            Code::InvalidInput,
                            "give exactly one of to_agent, to_department",
                        ),
                    ),
                }
            }
            AgentIn::Close { conversation_id } => {
                if !self.owns(agent_id, conversation_id) {
                    self.deny(c, conn, agent_id, conversation_id, out)?;
                    return Ok(());
                }
                self.close(c, conversation_id, out)?;
            }
        }
        Ok(())
    }

    pub(super) fn owns(&self, agent_id: i64, conversation_id: i64) -> bool {
        self.convs
            .get(&conversation_id)
            .is_some_and(|cv| cv.status == Status::Open && cv.agent_id == Some(agent_id))
    }

    pub(super) fn check_agent_sessions(&mut self) {
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
        let t = self.clock.now();
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
                            tstore::touch_session(c, hash, t)?;
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
            if self.queue_dirty {
                self.broadcast_queue(&mut out);
            }
            self.flush(out);
        }
    }

    /// Hands an open chat to another connected, online agent with room for it.
    fn transfer_to_agent(
        &mut self,
        c: &Connection,
        conn: ConnId,
        from: i64,
        id: i64,
        to: i64,
        out: &mut Outbox,
    ) -> Result<()> {
        let room = self
            .agents
            .get(&to)
            .is_some_and(|a| a.takes_chats() && self.open_count(to) < a.capacity);
        if to == from || !room {
            out.send(
                conn,
                &Out::error(
                    Code::AgentUnavailable,
                    "that agent is not online or has no room",
                ),
            );
            return Ok(());
        }
        cstore::reassign(c, id, to)?;
        if let Some(cv) = self.convs.get_mut(&id) {
            cv.agent_id = Some(to);
        }
        self.tell_previous_agent(from, id, out);
        let name = self
            .agents
            .get(&to)
            .map(|a| a.name.clone())
            .unwrap_or_default();
        out.send_all(self.visitor_conns(id), &Out::Agent { name });
        if let Some(cv) = self.conversation_out(id) {
            out.send_all(self.agent_conns(to), &Out::Conversation(cv));
        }
        for a in self.agent_conns(to) {
            self.catch_up(c, a, id, 0, out)?;
        }
        self.append(c, id, conn, "system", Some(to), "transferred", None, out)?;
        self.reroute(out);
        Ok(())
    }

    /// Puts an open chat back into the queue, for the agents of a department.
    fn transfer_to_department(
        &mut self,
        c: &Connection,
        from: i64,
        id: i64,
        department: i64,
        out: &mut Outbox,
    ) -> Result<()> {
        cstore::requeue(c, id, department)?;
        if let Some(cv) = self.convs.get_mut(&id) {
            cv.status = Status::Waiting;
            cv.agent_id = None;
            cv.department_id = Some(department);
        }
        self.tell_previous_agent(from, id, out);
        self.append(c, id, 0, "system", None, "transferred", None, out)?;
        if let Some(cv) = self.conversation_out(id) {
            out.send_all(self.visitor_conns(id), &Out::Conversation(cv));
        }
        self.reroute(out);
        Ok(())
    }

    /// Open chats of agents who are gone, disabled or no longer allowed to chat go back to the
    /// queue (their department kept), so no visitor waits on someone who cannot answer.
    pub(super) fn release_lost_chats(&mut self, c: &Connection, out: &mut Outbox) -> Result<()> {
        let holders: std::collections::BTreeSet<i64> = self
            .convs
            .values()
            .filter(|cv| cv.status == Status::Open)
            .filter_map(|cv| cv.agent_id)
            .collect();
        for agent in holders {
            let keeps = tstore::agent_by_id(c, agent)?
                .is_some_and(|a| !a.disabled && a.may(Permission::Chat));
            if keeps {
                continue;
            }
            let theirs: Vec<i64> = self
                .convs
                .iter()
                .filter(|(_, cv)| cv.status == Status::Open && cv.agent_id == Some(agent))
                .map(|(id, _)| *id)
                .collect();
            for id in theirs {
                cstore::release(c, id)?;
                if let Some(cv) = self.convs.get_mut(&id) {
                    cv.status = Status::Waiting;
                    cv.agent_id = None;
                }
                self.tell_previous_agent(agent, id, out);
                self.append(c, id, 0, "system", None, "transferred", None, out)?;
                if let Some(cv) = self.conversation_out(id) {
                    out.send_all(self.visitor_conns(id), &Out::Conversation(cv));
                }
                tracing::info!(agent, conversation = id, "chat given back to the queue");
            }
        }
        self.reroute(out);
        Ok(())
    }

    /// The agent who gave a chat away loses it at once.
    fn tell_previous_agent(&mut self, from: i64, id: i64, out: &mut Outbox) {
        // Whatever of the chat's replay had not reached them yet, they no longer get; the
        // acks of their own messages in it they still do.
        for a in self.agent_conns(from) {
            let owed = match self.conns.get_mut(&a) {
                Some(s) => s.backlog.forget(id),
                None => continue,
            };
            for (seq, client_id) in owed {
                out.send(
                    a,
                    &Out::Ack {
                        client_id,
                        conversation_id: id,
                        seq,
                    },
                );
            }
        }
        if let Some(mut cv) = self.conversation_out(id) {
            cv.status = "transferred".into();
            out.send_all(self.agent_conns(from), &Out::Conversation(cv));
        }
    }

    /// Refuses a frame about a conversation the agent may not touch: the same answer as for
    /// a missing one, and an audit entry.
    fn deny(
        &self,
        c: &Connection,
        conn: ConnId,
        agent_id: i64,
        conversation_id: i64,
        out: &mut Outbox,
    ) -> Result<()> {
        out.send(conn, &not_found());
        let actor = format!("agent#{agent_id}");
        let object = format!("conversation#{conversation_id}");
        astore::append(
            c,
            self.clock.now(),
            &astore::AuditEntry {
                actor: &actor,
                action: "chat.access",
                object: &object,
                result: "authz denied",
                ..Default::default()
            },
        )?;
        tracing::warn!(
            agent_id,
            conversation_id,
            "agent frame refused: not their conversation"
        );
        Ok(())
    }

    /// Whether an agent's message or note may go into a conversation: theirs, and well-formed.
    /// Otherwise the refusal is already sent (and audited when not theirs).
    #[allow(clippy::too_many_arguments)]
    fn may_write(
        &self,
        c: &Connection,
        conn: ConnId,
        agent_id: i64,
        conversation_id: i64,
        client_id: &str,
        text: &str,
        out: &mut Outbox,
    ) -> Result<bool> {
        if !self.owns(agent_id, conversation_id) {
            self.deny(c, conn, agent_id, conversation_id, out)?;
            return Ok(false);
        }
        if let Err(e) = check_message(client_id, text) {
            out.send(conn, &e);
            return Ok(false);
        }
        Ok(true)
    }
}

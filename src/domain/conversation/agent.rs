//! What an agent's frames do: the permission each needs, accepting, writing, notes,
//! transfers and closing, each only in the agent's own chats.

use super::{Conversations, Effect, Effects, Entry, Ledger, Status, To};
use crate::domain::protocol::{AgentIn, AgentStatus, Out, check_message};
use crate::error::{Code, Result};
use crate::model::rights::{Permission, Permissions};

/// Who sent an agent frame, and when.
#[derive(Debug, Clone)]
pub struct AgentCtx {
    /// The agent.
    pub agent_id: i64,
    /// Their display name (from their session).
    pub name: String,
    /// What their role allows.
    pub permissions: Permissions,
    /// Unix seconds now.
    pub at: i64,
}

/// The permission a frame needs, if any.
pub fn needed(frame: &AgentIn) -> Option<Permission> {
    match frame {
        AgentIn::Ping {} | AgentIn::Hello { .. } | AgentIn::Status { .. } => None,
        AgentIn::Invite { .. } => Some(Permission::VisitorsView),
        AgentIn::Accept { .. }
        | AgentIn::Message { .. }
        | AgentIn::Typing { .. }
        | AgentIn::Note { .. }
        | AgentIn::Transfer { .. }
        | AgentIn::Close { .. }
        | AgentIn::TeamMessage { .. }
        | AgentIn::TeamRead { .. } => Some(Permission::Chat),
        AgentIn::Watch { .. }
        | AgentIn::Unwatch { .. }
        | AgentIn::Whisper { .. }
        | AgentIn::TakeOver { .. } => Some(Permission::ChatsSupervise),
    }
}

/// The refusal of a frame the agent's role does not allow (audited), if it does not.
pub fn forbidden(
    ledger: &mut dyn Ledger,
    ctx: &AgentCtx,
    frame: &AgentIn,
) -> Result<Option<Effects>> {
    let Some(needed) = needed(frame).filter(|p| !ctx.permissions.has(*p)) else {
        return Ok(None);
    };
    let mut fx = Effects::default();
    fx.refuse(
        Code::Forbidden,
        format!("your role does not allow you to {}", needed.what()),
    );
    let actor = format!("agent#{}", ctx.agent_id);
    ledger.audit(ctx.at, &actor, needed.name(), "socket")?;
    Ok(Some(fx))
}

/// Why an agent may not take a chat (`None`: they may).
pub fn refuse_accept(
    status: Option<Status>,
    in_view: bool,
    open: usize,
    capacity: usize,
) -> Option<Code> {
    match status {
        // Missing, or outside the agent's view (taken or not): as unknown.
        None => Some(Code::NotFound),
        Some(_) if !in_view => Some(Code::NotFound),
        Some(Status::Open) => Some(Code::AlreadyTaken),
        Some(Status::Waiting) if open >= capacity => Some(Code::AtCapacity),
        Some(Status::Waiting) => None,
    }
}

impl Conversations {
    /// Handles one agent frame.
    pub fn agent_frame(
        &mut self,
        ledger: &mut dyn Ledger,
        ctx: &AgentCtx,
        frame: AgentIn,
    ) -> Result<Effects> {
        if let Some(refused) = forbidden(ledger, ctx, &frame)? {
            return Ok(refused);
        }
        let mut fx = Effects::default();
        let agent_id = ctx.agent_id;
        match frame {
            AgentIn::Ping {} => fx.reply(Out::Pong {}),
            AgentIn::Hello { seen, epoch } => self.hello(ledger, ctx, seen, epoch, &mut fx)?,
            AgentIn::Invite { visitor_id, text } => fx.0.push(Effect::Invite {
                agent_id,
                visitor_id,
                agent_name: self
                    .agents
                    .get(&agent_id)
                    .map(|a| a.name.clone())
                    .unwrap_or_default(),
                text,
            }),
            AgentIn::Status { status } => {
                if let Some(a) = self.agents.get_mut(&agent_id) {
                    a.status = status;
                }
                self.dirty = true;
            }
            AgentIn::Accept { conversation_id } => {
                self.accept(ledger, ctx, conversation_id, &mut fx)?
            }
            AgentIn::Message {
                conversation_id,
                client_id,
                text,
            } => {
                if self.may_write(ledger, ctx, conversation_id, &client_id, &text, &mut fx)? {
                    let entry = Entry {
                        author: "agent",
                        agent_id: Some(agent_id),
                        text: &text,
                        client_id: Some(&client_id),
                        file: None,
                    };
                    self.append(ledger, conversation_id, entry, ctx.at, &mut fx)?;
                }
            }
            AgentIn::Typing { conversation_id } => {
                if self.owns(agent_id, conversation_id) {
                    let typing = Out::Typing {
                        conversation_id,
                        who: "agent".into(),
                        text: None,
                    };
                    fx.send(To::Visitors(conversation_id), typing);
                }
            }
            AgentIn::Note {
                conversation_id,
                client_id,
                text,
            } => {
                if self.may_write(ledger, ctx, conversation_id, &client_id, &text, &mut fx)? {
                    self.note(ledger, ctx, conversation_id, client_id, text, &mut fx)?;
                }
            }
            AgentIn::Transfer {
                conversation_id,
                to_agent,
                to_department,
            } => {
                if !self.owns(agent_id, conversation_id) {
                    self.deny(ledger, ctx, conversation_id, &mut fx)?;
                    return Ok(fx);
                }
                match (to_agent, to_department) {
                    (Some(target), None) => {
                        self.transfer_to_agent(ledger, ctx, conversation_id, target, &mut fx)?
                    }
                    (None, Some(dep)) => {
                        if !ledger.department_exists(dep)? {
                            fx.refuse(Code::NotFound, "no such department");
                            return Ok(fx);
                        }
                        self.transfer_to_department(ledger, ctx, conversation_id, dep, &mut fx)?;
                    }
                    _ => fx.refuse(
                        Code::InvalidInput,
                        "give exactly one of to_agent, to_department",
                    ),
                }
            }
            AgentIn::Close { conversation_id } => {
                if !self.owns(agent_id, conversation_id) {
                    self.deny(ledger, ctx, conversation_id, &mut fx)?;
                    return Ok(fx);
                }
                self.close(ledger, conversation_id, ctx.at, &mut fx)?;
            }
            AgentIn::Watch { conversation_id } => {
                self.watch(ledger, ctx, conversation_id, &mut fx)?
            }
            AgentIn::Unwatch { conversation_id } => self.unwatch(ctx, conversation_id, &mut fx),
            AgentIn::Whisper {
                conversation_id,
                client_id,
                text,
            } => self.whisper(ledger, ctx, conversation_id, client_id, text, &mut fx)?,
            AgentIn::TakeOver { conversation_id } => {
                self.take_over(ledger, ctx, conversation_id, &mut fx)?
            }
            // The hub's shell hands these to `domain::team_chat`.
            AgentIn::TeamMessage { .. } | AgentIn::TeamRead { .. } => {
                fx.refuse(Code::InternalError, "internal error; retry")
            }
        }
        Ok(fx)
    }

    /// An agent socket's `hello`: the agent is present, hears `ready` with their open chats,
    /// and gets each replayed after what it holds.
    fn hello(
        &mut self,
        ledger: &mut dyn Ledger,
        ctx: &AgentCtx,
        seen: Vec<(i64, i64)>,
        epoch: Option<String>,
        fx: &mut Effects,
    ) -> Result<()> {
        let agent_id = ctx.agent_id;
        self.agent_arrived(ledger, agent_id, ctx.name.clone(), ctx.permissions)?;
        let mine = self.open_of(agent_id);
        fx.reply(Out::Ready {
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
        });
        for id in mine {
            let held = seen.iter().find(|(c, _)| *c == id).map_or(0, |(_, s)| *s);
            fx.0.push(Effect::Resume {
                conversation_id: id,
                held,
                epoch: epoch.clone(),
                end: self.convs.get(&id).map_or(0, |cv| cv.last_seq),
            });
        }
        fx.0.push(Effect::Enlisted {
            visitors: ctx.permissions.has(Permission::VisitorsView),
        });
        // The queue and presence follow at the end of the batch, as they stand then.
        self.dirty = true;
        Ok(())
    }

    fn accept(
        &mut self,
        ledger: &mut dyn Ledger,
        ctx: &AgentCtx,
        id: i64,
        fx: &mut Effects,
    ) -> Result<()> {
        let agent_id = ctx.agent_id;
        let agent = self.agents.get(&agent_id);
        let department = self.convs.get(&id).and_then(|cv| cv.department_id);
        let refusal = refuse_accept(
            self.status(id),
            agent.is_some_and(|a| a.sees(department)),
            self.open_count(agent_id),
            agent.map_or(0, |a| a.capacity),
        );
        match refusal {
            Some(Code::NotFound) => return self.deny(ledger, ctx, id, fx),
            Some(Code::AlreadyTaken) => {
                fx.refuse(Code::AlreadyTaken, "another agent has this chat");
                return Ok(());
            }
            Some(code) => {
                fx.refuse(code, "you have as many chats as you can take");
                return Ok(());
            }
            None => {}
        }
        ledger.accept(id, agent_id, ctx.at)?;
        if let Some(cv) = self.convs.get_mut(&id) {
            cv.status = Status::Open;
            cv.agent_id = Some(agent_id);
            cv.offered_to = None;
        }
        self.hand_over(ledger, id, agent_id, "accepted", ctx.at, fx)?;
        self.automatic_on_accept(ledger, id, ctx.at, fx)
    }

    /// A chat is now `to`'s: the visitor hears their name (and, when it was waiting, that it
    /// is open), every socket of `to` gets the whole history, and the log says `what`.
    pub(super) fn hand_over(
        &mut self,
        ledger: &mut dyn Ledger,
        id: i64,
        to: i64,
        what: &str,
        at: i64,
        fx: &mut Effects,
    ) -> Result<()> {
        let name = self
            .agents
            .get(&to)
            .map(|a| a.name.clone())
            .unwrap_or_default();
        // A supervisor who watched it holds it now: they get its entries once, as its agent.
        if let Some(cv) = self.convs.get_mut(&id) {
            cv.watchers.remove(&to);
        }
        fx.send(To::Visitors(id), Out::Agent { name });
        if let Some(cv) = self.conversation_out(id) {
            fx.send(To::Agent(to), Out::Conversation(Box::new(cv.clone())));
            if what == "accepted" {
                fx.send(To::Visitors(id), Out::Conversation(Box::new(cv)));
            }
        }
        fx.0.push(Effect::CatchUp {
            agent_id: to,
            conversation_id: id,
        });
        self.system(ledger, id, what, Some(to), at, fx)?;
        self.dirty = true;
        Ok(())
    }

    pub(super) fn note(
        &mut self,
        ledger: &mut dyn Ledger,
        ctx: &AgentCtx,
        conversation_id: i64,
        client_id: String,
        text: String,
        fx: &mut Effects,
    ) -> Result<()> {
        let (id, new) = ledger.note(conversation_id, ctx.agent_id, &text, &client_id, ctx.at)?;
        fx.reply(Out::Noted {
            client_id,
            conversation_id,
            id,
        });
        if new {
            let frame = Out::Note {
                conversation_id,
                id,
                author_name: self.agent_name(ledger, ctx.agent_id)?,
                text,
                at: ctx.at,
            };
            // The agent's other sockets and the supervisors watching; one still catching up on
            // the chat gets the note with its replay.
            // (A whisper is a supervisor's note: its author watches, the chat's agent gets it.)
            let mut to = vec![To::Agent(ctx.agent_id)];
            let holder = self.convs.get(&conversation_id).and_then(|cv| cv.agent_id);
            to.extend(holder.filter(|h| *h != ctx.agent_id).map(To::Agent));
            to.extend(
                self.watchers(conversation_id)
                    .into_iter()
                    .filter(|w| *w != ctx.agent_id)
                    .map(To::Agent),
            );
            fx.0.push(Effect::Entry {
                conversation_id,
                to,
                frame,
                skip_sender: true,
            });
        }
        Ok(())
    }

    /// Hands an open chat to another present, online agent with room for it.
    fn transfer_to_agent(
        &mut self,
        ledger: &mut dyn Ledger,
        ctx: &AgentCtx,
        id: i64,
        to: i64,
        fx: &mut Effects,
    ) -> Result<()> {
        let room = self
            .agents
            .get(&to)
            .is_some_and(|a| a.takes_chats() && self.open_count(to) < a.capacity);
        if to == ctx.agent_id || !room {
            fx.refuse(
                Code::AgentUnavailable,
                "that agent is not online or has no room",
            );
            return Ok(());
        }
        ledger.reassign(id, to)?;
        if let Some(cv) = self.convs.get_mut(&id) {
            cv.agent_id = Some(to);
        }
        self.lose(ctx.agent_id, id, fx);
        self.hand_over(ledger, id, to, "transferred", ctx.at, fx)
    }

    /// Puts an open chat back into the queue, for the agents of a department.
    fn transfer_to_department(
        &mut self,
        ledger: &mut dyn Ledger,
        ctx: &AgentCtx,
        id: i64,
        department: i64,
        fx: &mut Effects,
    ) -> Result<()> {
        ledger.requeue(id, department)?;
        if let Some(cv) = self.convs.get_mut(&id) {
            cv.status = Status::Waiting;
            cv.agent_id = None;
            cv.department_id = Some(department);
        }
        self.lose(ctx.agent_id, id, fx);
        // No sender: the system entry is not the agent's own message.
        self.system(ledger, id, "transferred", None, ctx.at, fx)?;
        if let Some(cv) = self.conversation_out(id) {
            fx.send(To::Visitors(id), Out::Conversation(Box::new(cv)));
        }
        self.dirty = true;
        Ok(())
    }

    /// Refuses a frame about a conversation the agent may not touch: the same answer as for
    /// a missing one, and an audit entry.
    pub(super) fn deny(
        &self,
        ledger: &mut dyn Ledger,
        ctx: &AgentCtx,
        conversation_id: i64,
        fx: &mut Effects,
    ) -> Result<()> {
        fx.refuse(Code::NotFound, "no such conversation");
        let actor = format!("agent#{}", ctx.agent_id);
        let object = format!("conversation#{conversation_id}");
        ledger.audit(ctx.at, &actor, "chat.access", &object)?;
        tracing::warn!(
            agent_id = ctx.agent_id,
            conversation_id,
            "agent frame refused: not their conversation"
        );
        Ok(())
    }

    /// Whether an agent's message or note may go into a conversation: theirs, and well-formed.
    /// Otherwise the refusal is already in `fx` (and audited when not theirs).
    fn may_write(
        &self,
        ledger: &mut dyn Ledger,
        ctx: &AgentCtx,
        conversation_id: i64,
        client_id: &str,
        text: &str,
        fx: &mut Effects,
    ) -> Result<bool> {
        if !self.owns(ctx.agent_id, conversation_id) {
            self.deny(ledger, ctx, conversation_id, fx)?;
            return Ok(false);
        }
        if let Err(e) = check_message(client_id, text) {
            fx.reply(e);
            return Ok(false);
        }
        Ok(true)
    }
}

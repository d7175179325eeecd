//! Conversations as a state machine: which chats are waiting or open, their sequence numbers
//! and client ids, the agents present with their status, capacity and departments, routing,
//! transfers, and what each visitor or agent frame does. Events come in (a frame with its
//! sender's context, an agent arriving or leaving), effects go out ([`Effect`]: frames for
//! audiences, replays, links), and the rows to write go through a [`Ledger`]. No socket, no
//! connection, no clock: the hub's shell (`realtime/hub`) turns audiences into sockets,
//! applies the writes inside its batch's transaction and sends the frames after COMMIT.

mod agent;
mod automatic;
pub mod ledger;
mod presence;
mod queue;
mod rules;
mod supervision;
#[cfg(test)]
mod tests;
mod visitor;

pub use agent::{AgentCtx, forbidden, needed, refuse_accept};
pub use ledger::Ledger;
pub use queue::{QueueNews, View, ViewNews};
pub use rules::{CLIENT_IDS, ClientIds, Status, offers};
pub use visitor::{
    Greeting, Posted, Uploader, VisitorCtx, check_contact, notice_known, token_well_formed,
};

use crate::domain::protocol::{AgentStatus, ConversationOut, MessageOut, Out};
use crate::error::{Code, Result};
use crate::model::attachment::FileRef;
use crate::model::forms::Filled;
use crate::model::rights::{Permission, Permissions};
use crate::store::chat::{ConversationRow, NewMessage};
use std::collections::BTreeMap;

/// Who a frame is for; the shell knows the sockets behind each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum To {
    /// The socket the event came from (none for an upload over HTTP).
    Sender,
    /// Every visitor socket of a conversation.
    Visitors(i64),
    /// Every socket of an agent.
    Agent(i64),
}

/// What handling an event leads to, in order.
#[derive(Debug, Clone)]
pub enum Effect {
    /// A frame for an audience.
    Send(To, Out),
    /// A new entry of a conversation's log (message or note) for its audiences. A socket
    /// still catching up on the conversation gets it with its replay instead; the sender
    /// (when `skip_sender`: it hears of its own entry by `ack`) not at all.
    Entry {
        /// The conversation.
        conversation_id: i64,
        /// Who gets it.
        to: Vec<To>,
        /// The frame.
        frame: Out,
        /// Leave out the sender.
        skip_sender: bool,
    },
    /// The sender's entry is stored under `seq`: acknowledge it (at its place in the
    /// sender's replay of the conversation, if that has yet to reach it).
    Ack {
        /// The conversation.
        conversation_id: i64,
        /// The sender's id for the entry.
        client_id: String,
        /// Where it is stored.
        seq: i64,
    },
    /// The sender (a visitor socket) now belongs to this conversation; `live`: it is not
    /// closed, so the socket gets its frames.
    Attach {
        /// The conversation.
        conversation_id: i64,
        /// Not closed.
        live: bool,
    },
    /// Replay a conversation to the sender after the seq it holds (`held`), from the start
    /// when its numbers are from another log (`epoch`) or beyond `end`.
    Resume {
        /// The conversation.
        conversation_id: i64,
        /// The last seq the client holds.
        held: i64,
        /// The log identity the client's numbers are from.
        epoch: Option<String>,
        /// The log's last seq.
        end: i64,
    },
    /// Replay a conversation whole to every socket of an agent (accepted, transferred).
    CatchUp {
        /// The agent.
        agent_id: i64,
        /// The conversation.
        conversation_id: i64,
    },
    /// An agent lost a chat: what of its replay had not reached them they no longer get
    /// (the acks of their own messages in it they still do).
    Forget {
        /// The agent.
        agent_id: i64,
        /// The conversation.
        conversation_id: i64,
    },
    /// The conversation closed: its visitor sockets get nothing more of it.
    Closed(i64),
    /// Closed because its visitor's data is about to be erased: like `Closed`, but nothing is
    /// mailed about it (the erasure would delete the mail anyway, perhaps after it went out).
    ClosedForErasure(i64),
    /// A chat started from a visitor with this anonymous key (links it to their visit).
    ChatStarted {
        /// The conversation.
        conversation_id: i64,
        /// The visitor's daily key.
        visitor_key: [u8; 16],
    },
    /// An agent said hello: it gets the live visitor list (when allowed) and, after its
    /// replay, the queue and presence.
    Enlisted {
        /// Whether its role may see visitors.
        visitors: bool,
    },
    /// A team chat frame for every socket of these agents but the sender's
    /// (`domain::team_chat`).
    Team {
        /// The agents.
        agents: Vec<i64>,
        /// The frame.
        frame: Out,
    },
    /// An agent invites a live visitor (live-visitor rules decide).
    Invite {
        /// The inviting agent.
        agent_id: i64,
        /// The visitor.
        visitor_id: i64,
        /// The inviting agent's name.
        agent_name: String,
        /// The text, if the agent wrote one.
        text: Option<String>,
    },
}

/// The effects of one event, collected in order.
#[derive(Debug, Default)]
pub struct Effects(pub Vec<Effect>);

impl Effects {
    fn send(&mut self, to: To, out: Out) {
        self.0.push(Effect::Send(to, out));
    }

    fn reply(&mut self, out: Out) {
        self.send(To::Sender, out);
    }

    fn refuse(&mut self, code: Code, message: impl Into<String>) {
        self.reply(Out::error(code, message));
    }
}

/// A chat that is not closed.
#[derive(Debug)]
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
    /// The latest client ids and their `seq`: a retried message is recognised here.
    client_ids: ClientIds,
    /// The visitor's language (automatic entries are written in it).
    lang: crate::i18n::Lang,
    /// The agents were alerted again that it waits (once per chat).
    alerted: bool,
    /// The visitor was offered to leave a message instead (once per chat).
    offline_offered: bool,
    /// What the visitor filled in the pre-chat form.
    fields: Vec<Filled>,
    /// Supervisors watching it (`supervision.rs`): they get its entries and notes.
    watchers: std::collections::BTreeSet<i64>,
}

/// An agent with at least one socket that said hello.
#[derive(Debug, Clone)]
struct Present {
    name: String,
    status: AgentStatus,
    capacity: usize,
    departments: Vec<i64>,
    permissions: Permissions,
}

impl Present {
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

/// A log entry to append.
struct Entry<'a> {
    author: &'a str,
    agent_id: Option<i64>,
    text: &'a str,
    client_id: Option<&'a str>,
    file: Option<FileRef>,
}

/// Agents who take chats now: how many, and how many in each department.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Online {
    /// In all.
    pub agents: usize,
    /// By department id (an agent in two departments counts in both).
    pub departments: BTreeMap<i64, usize>,
}

/// A conversation that is not closed, as stored.
pub struct Stored {
    /// Its row.
    pub row: ConversationRow,
    /// Its last seq.
    pub last_seq: i64,
    /// Its latest client ids with their seq, oldest first.
    pub recent: Vec<(String, i64)>,
    /// Its pre-chat form values.
    pub fields: Vec<Filled>,
}

/// Every conversation of a tenant that is not closed, and the agents present.
#[derive(Debug, Default)]
pub struct Conversations {
    convs: BTreeMap<i64, Conv>,
    agents: BTreeMap<i64, Present>,
    /// Whether agents see the visitor's draft.
    typing_preview: bool,
    /// The identity of the tenant's chat log (`docs/protocol.md`, "Log identity").
    epoch: String,
    /// The queue or presence changed since they were last sent.
    dirty: bool,
    /// What agents and visitors last heard of the queue (see `queue.rs`).
    sent: queue::Sent,
    /// Waiting chats at most; a start beyond it is refused (0: no limit).
    max_waiting: usize,
    /// Visitors blocked from starting chats (see `model::blocks`).
    blocks: Vec<crate::model::blocks::Block>,
    /// The automatic message when an agent takes a chat, in German and English ("": none).
    accept_message: (String, String),
    /// How long a chat waits before agents are alerted again, and before its visitor is
    /// offered to leave a message (the tenant's, and departments' own).
    waiting: crate::model::waiting::WaitingTimes,
    /// Frames for agents that arose outside any event (a watching supervisor left), sent with
    /// the next batch.
    deferred: Vec<(i64, Out)>,
    /// What was last written of the agents' presence (work-time statistics).
    presence: presence::Recorded,
}

impl Conversations {
    /// No conversations yet; at most `max_waiting` waiting at once (0: no limit).
    pub fn with_max_waiting(max_waiting: usize) -> Conversations {
        Conversations {
            max_waiting,
            ..Default::default()
        }
    }

    /// After how many seconds of waiting agents are alerted again, and the visitor is offered
    /// to leave a message (0: never): the tenant's times and departments' own.
    pub fn set_waiting_times(&mut self, times: crate::model::waiting::WaitingTimes) {
        self.waiting = times;
    }

    /// Whether a waiting chat is due for its alert or offer at `now` (checked often, in
    /// memory only).
    pub fn queue_alert_due(&self, now: i64) -> bool {
        let due = |after: u32, done: bool, c: &Conv| {
            after > 0 && !done && now - c.created_at >= i64::from(after)
        };
        self.convs.values().any(|c| {
            let t = self.waiting.of(c.department_id);
            c.status == Status::Waiting
                && (due(t.alert, c.alerted, c) || due(t.offer, c.offline_offered, c))
        })
    }

    /// For chats that waited too long: their visitors are offered to leave a message instead,
    /// and the agents who may take them are alerted again; each once per chat.
    pub fn queue_alerts(&mut self, now: i64) -> Effects {
        let mut fx = Effects::default();
        for (id, cv) in self.convs.iter_mut() {
            if cv.status != Status::Waiting {
                continue;
            }
            let t = self.waiting.of(cv.department_id);
            let (alert_after, offer_after) = (i64::from(t.alert), i64::from(t.offer));
            let waited = now - cv.created_at;
            if offer_after > 0 && !cv.offline_offered && waited >= offer_after {
                cv.offline_offered = true;
                fx.send(
                    To::Visitors(*id),
                    Out::OfflineOffer {
                        conversation_id: *id,
                    },
                );
            }
            if alert_after <= 0 || cv.alerted || waited < alert_after {
                continue;
            }
            cv.alerted = true;
            for (agent_id, a) in &self.agents {
                if a.permissions.has(crate::model::rights::Permission::Chat)
                    && a.sees(cv.department_id)
                {
                    fx.send(
                        To::Agent(*agent_id),
                        Out::QueueAlert {
                            conversation_id: *id,
                            visitor_name: cv.visitor_name.clone(),
                            waiting_secs: waited,
                        },
                    );
                }
            }
        }
        fx
    }

    /// The automatic message when an agent takes a chat (German, English; empty: none).
    pub fn set_accept_message(&mut self, de: String, en: String) {
        self.accept_message = (de, en);
    }

    /// The blocks in force (read at load and after each change; they end by themselves).
    pub fn set_blocks(&mut self, blocks: Vec<crate::model::blocks::Block>) {
        self.blocks = blocks;
    }

    /// Whether a block catches this visitor now.
    fn blocked(&self, ctx: &VisitorCtx) -> bool {
        let key = ctx.visitor_key.as_ref();
        crate::model::blocks::catching(&self.blocks, key, Some(&ctx.address), ctx.at).is_some()
    }

    /// Ends a chat whose visitor was just blocked (as if it closed).
    pub fn end_blocked(&mut self, ledger: &mut dyn Ledger, id: i64, at: i64) -> Result<Effects> {
        let mut fx = Effects::default();
        self.close(ledger, id, at, &mut fx)?;
        Ok(fx)
    }

    /// Ends the chats of a person whose data is about to be erased (GDPR Art. 17): closed like
    /// any other, nothing mailed about them, and the agents who had or could take them told
    /// why.
    pub fn end_for_erasure(
        &mut self,
        ledger: &mut dyn Ledger,
        ids: &[i64],
        at: i64,
    ) -> Result<Effects> {
        let mut fx = Effects::default();
        for id in ids {
            let Some(cv) = self.convs.get(id) else {
                continue;
            };
            let told: Vec<i64> = match cv.agent_id {
                Some(a) => vec![a],
                None => self
                    .agents
                    .iter()
                    .filter(|(_, a)| {
                        a.permissions.has(crate::model::rights::Permission::Chat)
                            && a.sees(cv.department_id)
                    })
                    .map(|(agent_id, _)| *agent_id)
                    .collect(),
            };
            self.close(ledger, *id, at, &mut fx)?;
            for agent_id in told {
                fx.send(
                    To::Agent(agent_id),
                    Out::ChatErased {
                        conversation_id: *id,
                    },
                );
            }
        }
        for e in &mut fx.0 {
            if let Effect::Closed(id) = e {
                *e = Effect::ClosedForErasure(*id);
            }
        }
        Ok(fx)
    }

    /// Takes the conversations that are not closed as stored; agents present stay.
    pub fn load(&mut self, rows: Vec<Stored>, epoch: String) {
        self.convs = rows
            .into_iter()
            .map(
                |Stored {
                     row,
                     last_seq,
                     recent,
                     fields,
                 }| {
                    let mut client_ids = ClientIds::default();
                    for (id, seq) in recent {
                        client_ids.insert(&id, seq);
                    }
                    let conv = Conv {
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
                        client_ids,
                        lang: crate::i18n::Lang::parse(&row.lang).unwrap_or(crate::i18n::Lang::En),
                        alerted: false,
                        offline_offered: false,
                        fields,
                        watchers: Default::default(),
                    };
                    (row.id, conv)
                },
            )
            .collect();
        self.epoch = epoch;
    }

    /// The tenant switched the typing preview on or off.
    pub fn set_typing_preview(&mut self, on: bool) {
        self.typing_preview = on;
    }

    /// The log identity sent in `welcome` and `ready`.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Whether the conversation is waiting or open.
    pub fn status(&self, id: i64) -> Option<Status> {
        self.convs.get(&id).map(|c| c.status)
    }

    /// How many chats wait and how many are open.
    pub fn counts(&self) -> (i64, i64) {
        self.convs
            .values()
            .fold((0, 0), |(w, o), c| match c.status {
                Status::Waiting => (w + 1, o),
                Status::Open => (w, o + 1),
            })
    }

    /// Whether any agent takes chats now (the widget shows the offline form when not).
    pub fn anyone_online(&self) -> bool {
        self.agents.values().any(Present::takes_chats)
    }

    /// The departments with an agent who takes chats now (the pre-chat form marks them open).
    pub fn open_departments(&self) -> Vec<i64> {
        let mut open: Vec<i64> = self
            .agents
            .values()
            .filter(|a| a.takes_chats())
            .flat_map(|a| a.departments.iter().copied())
            .collect();
        open.sort_unstable();
        open.dedup();
        open
    }

    /// How many agents take chats now, in all and per department (counts only: the public
    /// status endpoint shows them, never who).
    pub fn online(&self) -> Online {
        let mut online = Online::default();
        for a in self.agents.values().filter(|a| a.takes_chats()) {
            online.agents += 1;
            for d in &a.departments {
                *online.departments.entry(*d).or_default() += 1;
            }
        }
        online
    }

    /// The present agents who belong to a team room (allowed to chat, and in its department
    /// or pair).
    pub fn present_in(&self, room: crate::model::team::Room) -> Vec<i64> {
        self.agents
            .iter()
            .filter(|(id, a)| {
                a.may(Permission::Chat)
                    && room.has(crate::model::team::Member {
                        agent_id: **id,
                        departments: &a.departments,
                        all_departments: a.may(Permission::ChatsAll),
                    })
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// The name of an agent who takes chats now (who an automatic invitation comes from).
    pub fn inviter(&self) -> Option<String> {
        self.agents
            .values()
            .find(|a| a.takes_chats())
            .map(|a| a.name.clone())
    }

    /// An agent's first socket said hello: they count for presence and routing now.
    pub fn agent_arrived(
        &mut self,
        ledger: &mut dyn Ledger,
        agent_id: i64,
        name: String,
        permissions: Permissions,
    ) -> Result<()> {
        let (capacity, departments) = ledger.agent_load(agent_id)?;
        let state = self.agents.entry(agent_id).or_insert_with(|| Present {
            name,
            status: AgentStatus::Online,
            capacity,
            departments: Vec::new(),
            permissions,
        });
        state.permissions = permissions;
        state.capacity = capacity;
        state.departments = departments;
        // A new agent may take a waiting chat nobody could take before.
        self.dirty = true;
        Ok(())
    }

    /// An agent's last socket closed; chats they watched are told they stopped.
    pub fn agent_left(&mut self, agent_id: i64) {
        if let Some(gone) = self.agents.remove(&agent_id) {
            self.dirty = true;
            for (id, cv) in self.convs.iter_mut() {
                if cv.watchers.remove(&agent_id)
                    && let Some(holder) = cv.agent_id
                {
                    let told = supervision::notice(*id, "stopped", agent_id, &gone.name);
                    self.deferred.push((holder, told));
                }
            }
        }
    }

    /// The frames of [`Conversations::agent_left`] not sent yet.
    pub fn take_deferred(&mut self) -> Vec<(i64, Out)> {
        std::mem::take(&mut self.deferred)
    }

    /// An admin deleted a department (the store has moved its chats already): its chats have
    /// none now, so waiting ones are in the general queue, and its agents leave it.
    pub fn department_deleted(&mut self, department: i64) {
        for cv in self.convs.values_mut() {
            if cv.department_id == Some(department) {
                cv.department_id = None;
            }
        }
        for a in self.agents.values_mut() {
            a.departments.retain(|d| *d != department);
        }
        self.dirty = true;
    }

    /// An admin changed an agent: read their capacity, departments and name again, and give
    /// back the chats of agents who may no longer hold them.
    pub fn agent_changed(
        &mut self,
        ledger: &mut dyn Ledger,
        agent_id: i64,
        at: i64,
    ) -> Result<Effects> {
        if self.agents.contains_key(&agent_id) {
            let (capacity, departments) = ledger.agent_load(agent_id)?;
            let name = ledger.agent_name(agent_id).ok();
            if let Some(a) = self.agents.get_mut(&agent_id) {
                a.capacity = capacity;
                a.departments = departments;
                if let Some(name) = name {
                    a.name = name;
                }
            }
        }
        self.dirty = true;
        self.release_lost_chats(ledger, at)
    }

    /// Open chats of agents who are gone, disabled or no longer allowed to chat go back to the
    /// queue (their department kept), so no visitor waits on someone who cannot answer.
    pub fn release_lost_chats(&mut self, ledger: &mut dyn Ledger, at: i64) -> Result<Effects> {
        let mut fx = Effects::default();
        let holders: std::collections::BTreeSet<i64> = self
            .convs
            .values()
            .filter_map(|cv| self.holder(cv))
            .collect();
        for agent in holders {
            if ledger.agent_may_chat(agent)? {
                continue;
            }
            let theirs: Vec<i64> = self
                .convs
                .iter()
                .filter(|(_, cv)| self.holder(cv) == Some(agent))
                .map(|(id, _)| *id)
                .collect();
            for id in theirs {
                ledger.release(id)?;
                if let Some(cv) = self.convs.get_mut(&id) {
                    cv.status = Status::Waiting;
                    cv.agent_id = None;
                }
                self.lose(agent, id, &mut fx);
                self.system(ledger, id, "transferred", None, at, &mut fx)?;
                if let Some(cv) = self.conversation_out(id) {
                    fx.send(To::Visitors(id), Out::Conversation(Box::new(cv)));
                }
                tracing::info!(agent, conversation = id, "chat given back to the queue");
            }
        }
        self.dirty = true;
        Ok(fx)
    }

    /// The agent holding an open chat.
    fn holder(&self, cv: &Conv) -> Option<i64> {
        cv.agent_id.filter(|_| cv.status == Status::Open)
    }

    /// Whether this agent holds this open chat.
    fn owns(&self, agent_id: i64, id: i64) -> bool {
        self.convs
            .get(&id)
            .is_some_and(|cv| self.holder(cv) == Some(agent_id))
    }

    /// The agent's open chats.
    fn open_of(&self, agent_id: i64) -> Vec<i64> {
        self.convs
            .iter()
            .filter(|(_, cv)| self.holder(cv) == Some(agent_id))
            .map(|(id, _)| *id)
            .collect()
    }

    fn open_count(&self, agent_id: i64) -> usize {
        self.convs
            .values()
            .filter(|cv| self.holder(cv) == Some(agent_id))
            .count()
    }

    /// Stores a log entry under the conversation's next seq (or finds its client id among
    /// the latest and answers with the first copy's seq), acknowledges it to the sender and
    /// sends it to everyone else in the conversation. `None`: the conversation is closed.
    fn append(
        &mut self,
        ledger: &mut dyn Ledger,
        conversation_id: i64,
        e: Entry<'_>,
        at: i64,
        fx: &mut Effects,
    ) -> Result<Option<i64>> {
        let Some(conv) = self.convs.get_mut(&conversation_id) else {
            return Ok(None);
        };
        let ack = |fx: &mut Effects, cid: &str, seq| {
            fx.0.push(Effect::Ack {
                conversation_id,
                client_id: cid.into(),
                seq,
            })
        };
        if let Some(cid) = e.client_id
            && let Some(existing) = conv.client_ids.get(cid)
        {
            ack(fx, cid, existing);
            return Ok(Some(existing));
        }
        let seq = conv.last_seq + 1;
        ledger.insert_message(&NewMessage {
            conversation_id,
            seq,
            author: e.author,
            agent_id: e.agent_id,
            body: e.text,
            client_id: e.client_id,
            file_id: e.file.as_ref().map(|f| f.id),
            at,
        })?;
        conv.last_seq = seq;
        let agent_of_conv = conv.agent_id;
        if let Some(cid) = e.client_id {
            conv.client_ids.insert(cid, seq);
            ack(fx, cid, seq);
        }
        let frame = Out::Message(Box::new(MessageOut {
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
        let mut to = vec![To::Visitors(conversation_id)];
        to.extend(agent_of_conv.map(To::Agent));
        to.extend(conv.watchers.iter().copied().map(To::Agent));
        fx.0.push(Effect::Entry {
            conversation_id,
            to,
            frame,
            skip_sender: e.client_id.is_some(),
        });
        Ok(Some(seq))
    }

    /// Appends a system entry (`accepted`, `transferred`, `closed`) naming the agent who
    /// caused it, if any.
    fn system(
        &mut self,
        ledger: &mut dyn Ledger,
        id: i64,
        text: &str,
        agent_id: Option<i64>,
        at: i64,
        fx: &mut Effects,
    ) -> Result<()> {
        let entry = Entry {
            author: "system",
            agent_id,
            text,
            client_id: None,
            file: None,
        };
        self.append(ledger, id, entry, at, fx).map(|_| ())
    }

    /// Ends a chat: a `closed` entry, then everyone in it hears it closed.
    fn close(&mut self, ledger: &mut dyn Ledger, id: i64, at: i64, fx: &mut Effects) -> Result<()> {
        if !self.convs.contains_key(&id) {
            return Ok(());
        }
        self.system(ledger, id, "closed", None, at, fx)?;
        ledger.close(id, at)?;
        if let Some(mut closed) = self.conversation_out(id) {
            closed.status = "closed".into();
            fx.send(
                To::Visitors(id),
                Out::Conversation(Box::new(closed.clone())),
            );
            if let Some(a) = closed.agent_id {
                fx.send(To::Agent(a), Out::Conversation(Box::new(closed.clone())));
            }
            closed.watching = true;
            for w in self.watchers(id) {
                fx.send(To::Agent(w), Out::Conversation(Box::new(closed.clone())));
            }
            fx.0.push(Effect::Closed(id));
        }
        self.convs.remove(&id);
        // The queue (if it waited) and the agent's load changed.
        self.dirty = true;
        Ok(())
    }

    /// The agent who gave a chat away loses it at once.
    fn lose(&self, from: i64, id: i64, fx: &mut Effects) {
        fx.0.push(Effect::Forget {
            agent_id: from,
            conversation_id: id,
        });
        if let Some(mut cv) = self.conversation_out(id) {
            cv.status = "transferred".into();
            fx.send(To::Agent(from), Out::Conversation(Box::new(cv)));
        }
    }

    fn conversation_out(&self, id: i64) -> Option<ConversationOut> {
        self.convs.get(&id).map(|c| ConversationOut {
            conversation_id: id,
            status: c.status.as_str().into(),
            visitor_name: c.visitor_name.clone(),
            visitor_email: c.visitor_email.clone(),
            agent_id: c.agent_id,
            watching: false,
            fields: c.fields.clone(),
        })
    }

    /// An agent's display name, from presence or else from the ledger.
    pub fn agent_name(&self, ledger: &mut dyn Ledger, agent_id: i64) -> Result<String> {
        match self.agents.get(&agent_id) {
            Some(a) => Ok(a.name.clone()),
            None => ledger.agent_name(agent_id),
        }
    }

    fn agent_name_of(&self, conv: i64) -> Option<String> {
        let a = self.convs.get(&conv)?.agent_id?;
        self.agents.get(&a).map(|s| s.name.clone())
    }

    /// Whether an agent's role allows `p` (present agents only).
    pub fn agent_may(&self, agent_id: i64, p: Permission) -> bool {
        self.agents.get(&agent_id).is_some_and(|a| a.may(p))
    }
}

/// Whether the accepted notice told the visitor about the typing preview.
fn preview_told(consent_version: &str) -> bool {
    consent_version.ends_with("+preview")
}

//! Routing and what agents and visitors hear of the queue: waiting chats are offered to
//! agents, and each batch yields only what changed since the last one: the queue per view
//! (departments), presence, and the visitors' places. A full list per batch to every agent
//! would grow with agents × waiting chats.

use super::{Conversations, Status, offers};
use crate::domain::protocol::{AgentPresence, Out, QueueEntry};
use crate::model::rights::Permission;
use crate::model::routing::Candidate;
use std::collections::{BTreeMap, HashMap};

/// Which waiting chats an agent sees: all of them (`None`: the permission to see all chats),
/// or those without a department and those of their departments (sorted ids).
pub type View = Option<Vec<i64>>;

/// The queue, presence and places as agents and visitors last heard them.
#[derive(Debug, Default)]
pub(super) struct Sent {
    queue: BTreeMap<View, BTreeMap<i64, QueueEntry>>,
    agents: BTreeMap<i64, AgentPresence>,
    positions: HashMap<i64, usize>,
}

/// The queue of one view.
#[derive(Debug)]
pub struct ViewNews {
    /// The agents (allowed to chat) who have this view.
    pub agents: Vec<i64>,
    /// The whole queue of the view, when asked for (for sockets that have nothing yet).
    pub whole: Vec<QueueEntry>,
    /// What changed since last time (`queue_update`), if anything.
    pub update: Option<Out>,
}

/// What to tell agents and visitors about the queue after a batch.
#[derive(Debug)]
pub struct QueueNews {
    /// Per view.
    pub views: Vec<ViewNews>,
    /// Every present agent, when asked for (for sockets that have nothing yet).
    pub presence: Vec<AgentPresence>,
    /// What changed in presence (`agents_update`), if anything.
    pub presence_update: Option<Out>,
    /// Waiting chats whose place changed, with the new place.
    pub positions: Vec<(i64, usize)>,
}

impl Conversations {
    /// Whether the queue or presence changed since [`Conversations::queue_news`].
    pub fn queue_dirty(&self) -> bool {
        self.dirty
    }

    /// Something outside the rules needs the queue and presence sent (a socket's replay
    /// after `hello` is through).
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// What was last sent is unknown (a batch failed): next time everything counts as new.
    pub fn forget_sent(&mut self) {
        self.sent = Sent::default();
        self.dirty = true;
    }

    /// Offers waiting chats to agents (routing), then what changed in the queue per view, in
    /// presence and in the visitors' places; with `whole`, also the whole lists (only a socket
    /// that said hello needs them, so most batches do not copy them).
    pub fn queue_news(&mut self, whole: bool) -> QueueNews {
        self.dirty = false;
        self.route();
        let mut views: BTreeMap<View, Vec<i64>> = BTreeMap::new();
        for (id, a) in self.agents.iter().filter(|(_, a)| a.may(Permission::Chat)) {
            views.entry(view_of(a)).or_default().push(*id);
        }
        let all_waiting = self.queue_entries();
        let mut queues = BTreeMap::new();
        let mut news = Vec::new();
        for (view, agents) in views {
            let queue: BTreeMap<i64, QueueEntry> = all_waiting
                .iter()
                .filter(|e| in_view(&view, e.department_id))
                .map(|e| (e.conversation_id, e.clone()))
                .collect();
            let empty = BTreeMap::new();
            let (upsert, remove) = diff(self.sent.queue.get(&view).unwrap_or(&empty), &queue);
            let changed = !upsert.is_empty() || !remove.is_empty();
            news.push(ViewNews {
                agents,
                whole: if whole {
                    queue.values().cloned().collect()
                } else {
                    Vec::new()
                },
                update: changed.then_some(Out::QueueUpdate { upsert, remove }),
            });
            queues.insert(view, queue);
        }
        let presence: BTreeMap<i64, AgentPresence> = self
            .presence_entries()
            .into_iter()
            .map(|a| (a.agent_id, a))
            .collect();
        let (upsert, remove) = diff(&self.sent.agents, &presence);
        let presence_update = (!upsert.is_empty() || !remove.is_empty())
            .then_some(Out::AgentsUpdate { upsert, remove });
        // Visitors hear their place only when it changed.
        let mut positions = HashMap::new();
        let mut moved = Vec::new();
        for (pos, id) in self.waiting_ids().into_iter().enumerate() {
            let position = pos + 1;
            positions.insert(id, position);
            if self.sent.positions.get(&id) != Some(&position) {
                moved.push((id, position));
            }
        }
        let whole_presence = if whole {
            presence.values().cloned().collect()
        } else {
            Vec::new()
        };
        self.sent = Sent {
            queue: queues,
            agents: presence,
            positions,
        };
        QueueNews {
            views: news,
            presence: whole_presence,
            presence_update,
            positions: moved,
        }
    }

    /// Which agent each waiting chat is offered to.
    fn route(&mut self) {
        let candidates: Vec<Candidate> = self
            .agents
            .iter()
            .map(|(id, a)| Candidate {
                agent_id: *id,
                online: a.takes_chats(),
                open: self.open_count(*id),
                capacity: a.capacity,
                departments: a.departments.clone(),
            })
            .collect();
        let chats: Vec<(i64, Option<i64>)> = self
            .waiting_ids()
            .into_iter()
            .map(|id| (id, self.convs.get(&id).and_then(|c| c.department_id)))
            .collect();
        for (id, pick) in offers(candidates, &chats) {
            if let Some(cv) = self.convs.get_mut(&id) {
                cv.offered_to = pick;
            }
        }
    }

    fn waiting_ids(&self) -> Vec<i64> {
        self.convs
            .iter()
            .filter(|(_, c)| c.status == Status::Waiting)
            .map(|(id, _)| *id)
            .collect()
    }

    /// How many chats are waiting.
    pub(super) fn waiting_count(&self) -> usize {
        self.convs
            .values()
            .filter(|c| c.status == Status::Waiting)
            .count()
    }

    /// A waiting chat's place in the queue (1: next).
    pub(super) fn queue_position(&self, id: i64) -> Option<usize> {
        self.waiting_ids()
            .iter()
            .position(|w| *w == id)
            .map(|p| p + 1)
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
}

/// The agent's view of the queue.
fn view_of(a: &super::Present) -> View {
    if a.may(Permission::ChatsAll) {
        None
    } else {
        let mut d = a.departments.clone();
        d.sort_unstable();
        Some(d)
    }
}

/// Whether a waiting chat of this department belongs to a view.
fn in_view(view: &View, department: Option<i64>) -> bool {
    match view {
        None => true,
        Some(deps) => department.is_none_or(|d| deps.contains(&d)),
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

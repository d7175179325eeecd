//! Conversation rules the hub applies, without sockets or storage: a chat's state, the client
//! ids that make retries idempotent, and which waiting chats are offered to whom. (The first
//! part of the conversation state machine; the hub still holds the rest.)

use crate::model::routing::{self, Candidate};
use std::collections::{HashMap, VecDeque};

/// How many client ids per conversation are remembered. A widget or dashboard retries only
/// its own unacknowledged messages, which are always among the latest.
pub const CLIENT_IDS: usize = 256;

/// A chat that is not closed: waiting in the queue, or open with an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// In the queue.
    Waiting,
    /// Accepted by an agent.
    Open,
}

impl Status {
    /// As the protocol names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Waiting => "waiting",
            Status::Open => "open",
        }
    }
}

/// The latest client ids of a conversation and the `seq` each was stored under, oldest
/// forgotten first: a retried message is recognised and answered with its first `seq`.
#[derive(Debug, Default)]
pub struct ClientIds {
    seq_of: HashMap<String, i64>,
    order: VecDeque<String>,
}

impl ClientIds {
    /// The `seq` a message with this client id was stored under, if it is among the latest.
    pub fn get(&self, id: &str) -> Option<i64> {
        self.seq_of.get(id).copied()
    }

    /// Remembers a stored message's client id.
    pub fn insert(&mut self, id: &str, seq: i64) {
        if self.seq_of.insert(id.to_string(), seq).is_none() {
            self.order.push_back(id.to_string());
            if self.order.len() > CLIENT_IDS
                && let Some(old) = self.order.pop_front()
            {
                self.seq_of.remove(&old);
            }
        }
    }
}

/// Which agent each waiting chat (`(id, department)`, in order of arrival) is offered to.
/// Each offer counts as an open chat of that agent, so the next waiting chat goes to someone
/// else while the first is not taken.
pub fn offers(
    mut agents: Vec<Candidate>,
    waiting: &[(i64, Option<i64>)],
) -> Vec<(i64, Option<i64>)> {
    waiting
        .iter()
        .map(|&(id, department)| {
            let pick = routing::pick(&agents, department);
            if let Some(a) = pick
                && let Some(c) = agents.iter_mut().find(|c| c.agent_id == a)
            {
                c.open += 1;
            }
            (id, pick)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(agent_id: i64, open: usize, capacity: usize, departments: &[i64]) -> Candidate {
        Candidate {
            agent_id,
            online: true,
            open,
            capacity,
            departments: departments.to_vec(),
        }
    }

    #[test]
    fn waiting_chats_are_offered_in_turn_up_to_capacity() {
        // (agents, waiting chats with their department, expected offers)
        type Case = (
            Vec<Candidate>,
            Vec<(i64, Option<i64>)>,
            Vec<(i64, Option<i64>)>,
        );
        let cases: Vec<Case> = vec![
            // Two free agents share three chats: the least busy first, then in turn.
            (
                vec![agent(1, 0, 2, &[]), agent(2, 0, 2, &[])],
                vec![(10, None), (11, None), (12, None)],
                vec![(10, Some(1)), (11, Some(2)), (12, Some(1))],
            ),
            // Capacity ends the offers: the rest waits for nobody.
            (
                vec![agent(1, 1, 2, &[])],
                vec![(10, None), (11, None)],
                vec![(10, Some(1)), (11, None)],
            ),
            // A department's chat goes only to its agents.
            (
                vec![agent(1, 0, 3, &[]), agent(2, 2, 3, &[7])],
                vec![(10, Some(7)), (11, Some(8)), (12, None)],
                vec![(10, Some(2)), (11, None), (12, Some(1))],
            ),
            // Nobody online: every chat waits.
            (vec![], vec![(10, None)], vec![(10, None)]),
        ];
        for (agents, waiting, want) in cases {
            assert_eq!(offers(agents, &waiting), want, "waiting {waiting:?}");
        }
    }

    #[test]
    fn the_latest_client_ids_are_remembered_the_oldest_forgotten() {
        let mut ids = ClientIds::default();
        for n in 0..(CLIENT_IDS as i64 + 10) {
            ids.insert(&format!("c{n}"), n + 1);
        }
        assert_eq!(ids.get("c0"), None, "the oldest are forgotten");
        assert_eq!(ids.get("c9"), None);
        assert_eq!(ids.get("c10"), Some(11));
        let last = format!("c{}", CLIENT_IDS + 9);
        assert_eq!(ids.get(&last), Some(CLIENT_IDS as i64 + 10));
        // A retry does not refresh or duplicate an id.
        ids.insert("c10", 999);
        assert_eq!(ids.get("c10"), Some(999));
        assert_eq!(ids.order.len(), CLIENT_IDS);
    }
}

//! What a socket still has to catch up on: the replay of conversations after `hello`,
//! `resume`, an accept or a transfer, and the live visitor list after `hello`. It goes out in
//! pages, the next one only when the socket has taken the last (the session answers a page's
//! end with [`Command::More`](super::Command::More)), so a replay of any length reaches a
//! client that reads while the socket's queue stays bounded. Until a conversation's replay
//! has reached the socket, live entries of that conversation are not sent to it: the replay
//! reads the log up to its end, those entries included, so each arrives once and in order.

use super::{ConnId, Hub, Outbox};
use crate::domain::conversation::ledger::Tx;
use crate::error::Result;
use crate::realtime::protocol::{MessageOut, Out};
use crate::store::chat as cstore;
use rusqlite::Connection;
use std::collections::VecDeque;

/// Frames per page: well under the socket's queue, so live traffic of other conversations
/// still fits beside a page.
pub(super) const PAGE: usize = 256;
/// Visitors per part of the live list (about 1 KB each).
pub(super) const VISITOR_PART: usize = 200;

/// One thing to catch up on.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    /// A conversation's entries after `after`, then (for agents) its notes. `acks`: entries
    /// of this socket's own messages stored meanwhile, answered with `ack` at their place.
    Log {
        conversation_id: i64,
        after: i64,
        notes: bool,
        acks: Vec<(i64, String)>,
    },
    /// The live visitors with ids above `after`; `first`: the next part starts the list.
    Visitors { after: i64, first: bool },
}

/// A socket's catching up, in order.
#[derive(Debug, Default)]
pub(super) struct Backlog {
    items: VecDeque<Item>,
    /// A page is on its way: the next goes when the socket has taken it.
    in_flight: bool,
}

impl Backlog {
    /// Queues the entries of a conversation after `after` (and its notes). A conversation
    /// already queued is replayed once, from the lower point.
    pub(super) fn log(&mut self, conversation_id: i64, after: i64, notes: bool) {
        for item in &mut self.items {
            if let Item::Log {
                conversation_id: id,
                after: a,
                notes: n,
                ..
            } = item
                && *id == conversation_id
            {
                *a = (*a).min(after);
                *n |= notes;
                return;
            }
        }
        self.items.push_back(Item::Log {
            conversation_id,
            after: after.max(0),
            notes,
            acks: Vec::new(),
        });
    }

    /// Keeps the `ack` of the socket's own message for its place in the replay, when the
    /// replay has yet to reach it (the entry would come twice and out of order otherwise).
    /// `false`: the replay is past it or not running; answer now.
    pub(super) fn defer_ack(&mut self, conversation_id: i64, seq: i64, client_id: &str) -> bool {
        for item in &mut self.items {
            if let Item::Log {
                conversation_id: id,
                after,
                acks,
                ..
            } = item
                && *id == conversation_id
                && seq > *after
            {
                acks.push((seq, client_id.to_string()));
                return true;
            }
        }
        false
    }

    /// Queues the whole live visitor list.
    pub(super) fn visitors(&mut self) {
        self.items.retain(|i| !matches!(i, Item::Visitors { .. }));
        self.items.push_back(Item::Visitors {
            after: i64::MIN,
            first: true,
        });
    }

    /// Drops what is left of a conversation's replay (the agent lost it); returns the acks
    /// it kept, which are owed still.
    pub(super) fn forget(&mut self, conversation_id: i64) -> Vec<(i64, String)> {
        let mut owed = Vec::new();
        self.items.retain_mut(|i| match i {
            Item::Log {
                conversation_id: id,
                acks,
                ..
            } if *id == conversation_id => {
                owed.append(acks);
                false
            }
            _ => true,
        });
        owed
    }

    /// Whether the socket has yet to receive the replay of this conversation: live entries
    /// of it wait for the replay.
    pub(super) fn behind_on(&self, conversation_id: i64) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i, Item::Log { conversation_id: id, .. } if *id == conversation_id))
    }

    /// Whether a conversation's replay is still to come.
    pub(super) fn replaying(&self) -> bool {
        self.items.iter().any(|i| matches!(i, Item::Log { .. }))
    }

    /// Whether a change of this visitor would come before the part of the list holding them.
    pub(super) fn behind_on_visitor(&self, visitor_id: i64) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i, Item::Visitors { after, .. } if visitor_id > *after))
    }

    /// The socket took the page on its way.
    pub(super) fn taken(&mut self) {
        self.in_flight = false;
    }
}

impl Hub {
    /// Sends a socket the next page of its backlog, unless a page is still on its way.
    pub(super) fn pump(&mut self, c: &Connection, conn: ConnId, out: &mut Outbox) -> Result<()> {
        let mut budget = PAGE;
        loop {
            let Some(state) = self.conns.get_mut(&conn) else {
                return Ok(());
            };
            if state.backlog.in_flight {
                return Ok(());
            }
            if budget == 0 {
                if !state.backlog.items.is_empty() {
                    state.backlog.in_flight = true;
                    out.page_end(conn);
                }
                return Ok(());
            }
            let Some(item) = state.backlog.items.pop_front() else {
                return Ok(());
            };
            let was_replaying = matches!(item, Item::Log { .. });
            out.mark_paged(conn);
            let rest = match item {
                Item::Log {
                    conversation_id,
                    after,
                    notes,
                    mut acks,
                } => {
                    let (sent, last) =
                        self.send_log(c, conn, conversation_id, after, budget, &mut acks, out)?;
                    budget -= sent;
                    if sent == 0 || last.is_none() {
                        // The log ends here (this transaction sees everything stored so far):
                        // from now on the socket gets this conversation's entries live.
                        if notes {
                            self.replay_notes(c, conn, conversation_id, out)?;
                        }
                        None
                    } else {
                        Some(Item::Log {
                            conversation_id,
                            after: last.unwrap_or(after),
                            notes,
                            acks,
                        })
                    }
                }
                Item::Visitors { after, first } => {
                    let (part, more) = self.visitors.visitor_part(after, VISITOR_PART);
                    let next = part.last().map(|v| v.visitor_id).unwrap_or(after);
                    let now = self.clock.now();
                    let frame = if first {
                        Out::Visitors {
                            now,
                            visitors: part,
                            more,
                        }
                    } else {
                        Out::VisitorsMore {
                            now,
                            visitors: part,
                            more,
                        }
                    };
                    out.send(conn, &frame);
                    // A part is large: it takes the rest of this page.
                    budget = 0;
                    more.then_some(Item::Visitors {
                        after: next,
                        first: false,
                    })
                }
            };
            if let (Some(item), Some(state)) = (rest, self.conns.get_mut(&conn)) {
                state.backlog.items.push_front(item);
            }
            // The replay after a hello is through: the queue and presence follow.
            if was_replaying
                && self.fresh_agents.contains(&conn)
                && !self.conns.get(&conn).is_some_and(|s| s.backlog.replaying())
            {
                self.chats.mark_dirty();
            }
        }
    }

    /// Sends up to `budget` entries of a conversation after `after` (the socket's own ones,
    /// kept in `acks`, as their `ack`); returns how many, and the last seq sent when the log
    /// may go on (`None`: its end was reached).
    #[allow(clippy::too_many_arguments)]
    fn send_log(
        &self,
        c: &Connection,
        conn: ConnId,
        id: i64,
        after: i64,
        budget: usize,
        acks: &mut Vec<(i64, String)>,
        out: &mut Outbox,
    ) -> Result<(usize, Option<i64>)> {
        let page = cstore::messages_after(c, id, after, budget as i64)?;
        let n = page.len();
        let mut last = after;
        for m in page {
            last = m.seq;
            // The socket's own message: its `ack`, at its place.
            if let Some(i) = acks.iter().position(|(seq, _)| *seq == m.seq) {
                let (seq, client_id) = acks.swap_remove(i);
                out.send(
                    conn,
                    &Out::Ack {
                        client_id,
                        conversation_id: id,
                        seq,
                    },
                );
                continue;
            }
            out.send(
                conn,
                &Out::Message(Box::new(MessageOut {
                    conversation_id: id,
                    seq: m.seq,
                    // Agent messages and agent-caused system entries (accepted,
                    // transferred) name the agent, live and replayed alike.
                    author_name: match m.agent_id {
                        Some(a) if m.author != "visitor" => {
                            Some(self.chats.agent_name(&mut Tx(c), a)?)
                        }
                        _ => None,
                    },
                    author: m.author,
                    text: m.body,
                    file: m.file,
                    at: m.created_at,
                })),
            );
        }
        Ok((n, (n == budget).then_some(last)))
    }

    /// Where a client's replay of a conversation starts: after the last seq it holds, or from
    /// the beginning, after a `reset`, when its numbers are from another log (its `epoch`
    /// differs: a restore replaced the log) or beyond the log's `end`.
    pub(super) fn resume_point(
        &self,
        conn: ConnId,
        conversation_id: i64,
        held: i64,
        epoch: Option<&str>,
        end: i64,
        out: &mut Outbox,
    ) -> i64 {
        let other_log = epoch.is_some_and(|e| e != self.chats.epoch());
        if held > 0 && (other_log || held > end) {
            out.send(conn, &Out::Reset { conversation_id });
            return 0;
        }
        held.max(0)
    }

    /// Whether live frames of this conversation must wait for the socket's replay of it.
    pub(super) fn behind(&self, conn: ConnId, conversation_id: i64) -> bool {
        self.conns
            .get(&conn)
            .is_some_and(|s| s.backlog.behind_on(conversation_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversation_queued_twice_is_replayed_once_from_the_lower_point() {
        let mut b = Backlog::default();
        b.log(7, 40, false);
        b.log(8, 0, true);
        b.log(7, 12, true);
        assert_eq!(b.items.len(), 2);
        assert_eq!(
            b.items[0],
            Item::Log {
                conversation_id: 7,
                after: 12,
                notes: true,
                acks: vec![]
            }
        );
        assert!(b.behind_on(7) && b.behind_on(8) && !b.behind_on(9));
    }

    #[test]
    fn acks_wait_only_for_entries_the_replay_has_yet_to_reach() {
        let mut b = Backlog::default();
        assert!(!b.defer_ack(7, 5, "a"), "no replay running: answer now");
        b.log(7, 10, false);
        assert!(!b.defer_ack(7, 9, "b"), "the replay is past it");
        assert!(b.defer_ack(7, 11, "c"));
        assert!(!b.defer_ack(8, 11, "d"), "another conversation");
        assert_eq!(b.forget(7), vec![(11, "c".to_string())]);
        assert!(!b.behind_on(7));
    }

    #[test]
    fn visitor_changes_wait_for_the_part_that_holds_them() {
        let mut b = Backlog::default();
        assert!(!b.behind_on_visitor(5));
        b.visitors();
        assert!(b.behind_on_visitor(i64::MIN + 1) && b.behind_on_visitor(5));
        b.items[0] = Item::Visitors {
            after: 10,
            first: false,
        };
        assert!(!b.behind_on_visitor(10) && b.behind_on_visitor(11));
    }
}

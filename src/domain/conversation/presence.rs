//! Agents' presence for the work-time statistics: who is signed in (a socket of theirs said
//! hello) with which status, compared with what was last written. The hub asks at the end of
//! every batch and every few seconds; what changed, and once a minute a renewal of everyone
//! still there, goes through the [`Ledger`]. Comparing instead of writing at each event also
//! catches agents whose last socket closed outside a batch (a dropped slow socket, an ended
//! session), and a reconnect within one batch writes nothing.

use super::{Conversations, Ledger};
use crate::domain::protocol::AgentStatus;
use crate::error::Result;
use crate::store::presence::BEAT;
use std::collections::BTreeMap;

/// What was last written of each agent's presence.
#[derive(Debug, Default)]
pub(super) struct Recorded {
    /// Each signed-in agent's status as written (absent: signed out).
    agents: BTreeMap<i64, AgentStatus>,
    /// When everyone's rows were last renewed.
    renewed: i64,
}

/// An agent's status as the store names it.
pub fn status_name(s: AgentStatus) -> &'static str {
    match s {
        AgentStatus::Online => "online",
        AgentStatus::Away => "away",
        AgentStatus::Offline => "offline",
    }
}

impl Recorded {
    /// Whether `now` differs from what was written, or renewal is due at `at`.
    fn due(&self, now: &BTreeMap<i64, AgentStatus>, at: i64) -> bool {
        (!self.agents.is_empty() && at - self.renewed >= BEAT) || self.agents != *now
    }

    /// The writes that make the rows say `now` at `at` (a status, or `None`: signed out), and
    /// what is written once they are done.
    fn plan(
        &self,
        now: BTreeMap<i64, AgentStatus>,
        at: i64,
    ) -> (Vec<(i64, Option<AgentStatus>)>, Recorded) {
        let renew = at - self.renewed >= BEAT;
        let mut writes: Vec<_> = now
            .iter()
            .filter(|(id, s)| renew || self.agents.get(id) != Some(s))
            .map(|(id, s)| (*id, Some(*s)))
            .collect();
        let gone = self.agents.keys().filter(|id| !now.contains_key(id));
        writes.extend(gone.map(|id| (*id, None)));
        let renewed = if renew { at } else { self.renewed };
        (
            writes,
            Recorded {
                agents: now,
                renewed,
            },
        )
    }
}

impl Conversations {
    /// The agents present now with their status.
    fn present(&self) -> BTreeMap<i64, AgentStatus> {
        self.agents.iter().map(|(id, a)| (*id, a.status)).collect()
    }

    /// Whether presence changed since it was written, or the rows of those still signed in
    /// are due for renewal at `now`.
    pub fn presence_due(&self, now: i64) -> bool {
        self.presence.due(&self.present(), now)
    }

    /// Writes the changes of presence since the last call (sign-ins, status changes,
    /// sign-outs) at `at`, and renews everyone's rows when due.
    pub fn record_presence(&mut self, ledger: &mut dyn Ledger, at: i64) -> Result<()> {
        let now = self.present();
        if !self.presence.due(&now, at) {
            return Ok(());
        }
        let (writes, next) = self.presence.plan(now, at);
        for (id, status) in writes {
            ledger.agent_presence(id, status, at)?;
        }
        self.presence = next;
        Ok(())
    }

    /// The stored rows were closed (the hub loaded the tenant): nothing counts as written, so
    /// the agents present get new rows.
    pub fn presence_reloaded(&mut self) {
        self.presence = Recorded::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AgentStatus::{Away, Online};

    fn step(r: &mut Recorded, now: &[(i64, AgentStatus)], at: i64) -> Vec<String> {
        let now: BTreeMap<_, _> = now.iter().copied().collect();
        if !r.due(&now, at) {
            return Vec::new();
        }
        let (writes, next) = r.plan(now, at);
        *r = next;
        writes
            .into_iter()
            .map(|(id, s)| format!("{id} {}", s.map_or("out", status_name)))
            .collect()
    }

    #[test]
    fn sign_in_status_and_sign_out_are_written_once_each() {
        let mut r = Recorded::default();
        assert_eq!(step(&mut r, &[(1, Online)], 100), ["1 online"]);
        assert!(step(&mut r, &[(1, Online)], 101).is_empty());
        assert_eq!(
            step(&mut r, &[(1, Away), (2, Online)], 102),
            ["1 away", "2 online"]
        );
        assert_eq!(step(&mut r, &[(2, Online)], 103), ["1 out"]);
        assert_eq!(step(&mut r, &[], 104), ["2 out"]);
        assert!(
            step(&mut r, &[], 100_000).is_empty(),
            "nobody left to renew"
        );
    }

    #[test]
    fn those_still_signed_in_are_renewed_every_beat() {
        let mut r = Recorded::default();
        step(&mut r, &[(1, Online)], 100);
        assert!(step(&mut r, &[(1, Online)], 100 + BEAT - 1).is_empty());
        assert_eq!(step(&mut r, &[(1, Online)], 100 + BEAT), ["1 online"]);
    }

    #[test]
    fn a_reload_writes_everyone_anew() {
        let mut r = Recorded::default();
        step(&mut r, &[(1, Online)], 100);
        r = Recorded::default();
        assert_eq!(step(&mut r, &[(1, Online)], 101), ["1 online"]);
    }
}

//! Agents' work time per UTC day (`docs/statistics.md`, "Work time"): seconds signed in,
//! online, away and in at least one chat while signed in, and messages sent, from the
//! presence rows (`store::presence`) and the chat log. Settled days are stored in
//! `agent_days` by the statistics job together with `stat_days`, the others computed on each
//! call; chats, first responses and ratings per agent are in the day's [`super::Figures`].

use super::DAY;
use crate::error::Result;
use crate::store::{presence, rows};
use rusqlite::{Connection, params};
use serde::Serialize;
use std::collections::BTreeMap;

/// One agent's work on one day, or on several added up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WorkDay {
    /// Seconds signed in (a dashboard of theirs connected), whatever the status.
    pub signed_in: u64,
    /// Of those, with the status online.
    pub online: u64,
    /// Of those, with the status away.
    pub away: u64,
    /// Of those, holding at least one open chat.
    pub in_chat: u64,
    /// Chat messages they wrote (not notes, not system entries).
    pub messages: u64,
}

impl WorkDay {
    /// Adds `o` to this.
    pub fn merge(&mut self, o: &WorkDay) {
        self.signed_in += o.signed_in;
        self.online += o.online;
        self.away += o.away;
        self.in_chat += o.in_chat;
        self.messages += o.messages;
    }
}

/// Stretches of time `[from, to)`.
type Stretches = Vec<(i64, i64)>;

/// The same stretches sorted, with overlapping and touching ones joined.
fn union(mut s: Stretches) -> Stretches {
    s.sort_unstable();
    let mut out: Stretches = Vec::with_capacity(s.len());
    for (from, to) in s {
        match out.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => out.push((from, to)),
        }
    }
    out
}

/// Seconds covered by both of two joined lists of stretches.
fn overlap(a: &Stretches, b: &Stretches) -> u64 {
    let (mut i, mut j, mut sum) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        let (from, to) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
        sum += (to - from).max(0) as u64;
        if a[i].1 < b[j].1 { i += 1 } else { j += 1 }
    }
    sum
}

fn length(s: &Stretches) -> u64 {
    s.iter().map(|(from, to)| (to - from).max(0) as u64).sum()
}

/// Each agent's figures for the UTC day starting at `day`, as things stand at `now`.
pub fn compute_day(c: &Connection, day: i64, now: i64) -> Result<BTreeMap<i64, WorkDay>> {
    let (start, end) = (day, day + DAY);
    let mut out: BTreeMap<i64, WorkDay> = BTreeMap::new();
    let mut signed: BTreeMap<i64, Stretches> = BTreeMap::new();
    for s in presence::spans(c, start, end, now)? {
        let w = out.entry(s.agent_id).or_default();
        let secs = (s.to - s.from) as u64;
        match s.status.as_str() {
            "online" => w.online += secs,
            "away" => w.away += secs,
            _ => {}
        }
        signed.entry(s.agent_id).or_default().push((s.from, s.to));
    }
    for (agent, stretches) in signed.iter_mut() {
        *stretches = union(std::mem::take(stretches));
        out.entry(*agent).or_default().signed_in = length(stretches);
    }
    for (agent, held) in holding(c, start, end.min(now))? {
        let inside = signed.get(&agent).map_or(0, |s| overlap(&union(held), s));
        if inside > 0 {
            out.entry(agent).or_default().in_chat = inside;
        }
    }
    rows::each(
        c,
        "SELECT agent_id, count(*) FROM messages WHERE author = 'agent' AND agent_id IS NOT NULL
         AND created_at >= ?1 AND created_at < ?2 GROUP BY agent_id",
        params![start, end],
        |r| {
            out.entry(r.get(0)?).or_default().messages = r.get::<_, i64>(1)?.max(0) as u64;
            Ok(())
        },
    )?;
    Ok(out)
}

/// Each agent's stretches of holding an open chat within `[start, end)`, from the chats' log:
/// an `accepted` or `transferred` entry names the new holder (none: back to the queue), a
/// `closed` entry ends it; a chat still open is held until `end`.
fn holding(c: &Connection, start: i64, end: i64) -> Result<BTreeMap<i64, Stretches>> {
    let mut out: BTreeMap<i64, Stretches> = BTreeMap::new();
    if end <= start {
        return Ok(out);
    }
    let chats: Vec<(i64, Option<i64>)> = rows::all(
        c,
        "SELECT id, closed_at FROM conversations
         WHERE status <> 'closed' AND accepted_at IS NOT NULL AND accepted_at < ?2
         UNION
         SELECT id, closed_at FROM conversations
         WHERE closed_at >= ?1 AND accepted_at IS NOT NULL AND accepted_at < ?2",
        params![start, end],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut add = |agent: i64, from: i64, to: i64| {
        let (from, to) = (from.max(start), to.min(end));
        if to > from {
            out.entry(agent).or_default().push((from, to));
        }
    };
    for (id, closed_at) in chats {
        let mut holder: Option<(i64, i64)> = None;
        rows::each(
            c,
            "SELECT body, agent_id, created_at FROM messages
             WHERE conversation_id = ?1 AND author = 'system' ORDER BY seq",
            [id],
            |r| {
                let (what, agent, at): (String, Option<i64>, i64) =
                    (r.get(0)?, r.get(1)?, r.get(2)?);
                if let Some((a, since)) = holder.take() {
                    add(a, since, at);
                }
                if matches!(what.as_str(), "accepted" | "transferred") {
                    holder = agent.map(|a| (a, at));
                }
                Ok(())
            },
        )?;
        if let Some((a, since)) = holder {
            add(a, since, closed_at.unwrap_or(end));
        }
    }
    Ok(out)
}

/// Computes the settled day starting at `day` and stores its agents' figures.
pub fn store_day(c: &Connection, day: i64, now: i64) -> Result<()> {
    for (agent, w) in compute_day(c, day, now)? {
        if w == WorkDay::default() {
            continue;
        }
        c.execute(
            "INSERT OR REPLACE INTO agent_days
                 (day, agent_id, signed_in, online, away, in_chat, messages)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                day,
                agent,
                w.signed_in as i64,
                w.online as i64,
                w.away as i64,
                w.in_chat as i64,
                w.messages as i64
            ],
        )?;
    }
    Ok(())
}

/// Each UTC day in `start..end` with its agents' figures: stored where the statistics job has
/// run (`through`: the first day it has not), computed for the rest, empty after `now`.
pub fn collect(
    c: &Connection,
    start: i64,
    end: i64,
    now: i64,
) -> Result<BTreeMap<i64, BTreeMap<i64, WorkDay>>> {
    let through = super::aggregated_through(c)?.unwrap_or(i64::MIN);
    let mut out: BTreeMap<i64, BTreeMap<i64, WorkDay>> = BTreeMap::new();
    rows::each(
        c,
        "SELECT day, agent_id, signed_in, online, away, in_chat, messages FROM agent_days
         WHERE day >= ?1 AND day < ?2 AND day < ?3",
        params![start, end, through],
        |r| {
            let n = |i| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
            let w = WorkDay {
                signed_in: n(2)?,
                online: n(3)?,
                away: n(4)?,
                in_chat: n(5)?,
                messages: n(6)?,
            };
            out.entry(r.get(0)?).or_default().insert(r.get(1)?, w);
            Ok(())
        },
    )?;
    let mut day = start.max(through);
    while day < end && day <= now {
        out.insert(day, compute_day(c, day, now)?);
        day += DAY;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretches_join_and_overlap() {
        let held = union(vec![(50, 80), (10, 30), (20, 40)]);
        assert_eq!(held, [(10, 40), (50, 80)]);
        assert_eq!(length(&held), 60);
        assert_eq!(overlap(&held, &vec![(0, 15), (35, 60)]), 5 + 5 + 10);
        assert_eq!(overlap(&held, &Vec::new()), 0);
    }
}

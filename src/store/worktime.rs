//! Agents' work-time statistics over a period (`docs/statistics.md`, "Work time"): each
//! agent's figures per day and in all, and the team's, from the daily aggregates merged over
//! the period: time from [`aggregates::worktime`], chats, first responses and ratings from
//! the per-agent figures the other statistics use. Periods are whole UTC days.

use super::aggregates::{self, AgentDay, worktime::WorkDay};
use super::period::{Period, day_of};
use super::rows;
use crate::error::Result;
use rusqlite::Connection;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One agent's (or the team's) figures over some days.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WorkFigures {
    /// Seconds signed in (a dashboard connected), whatever the status.
    pub signed_in_seconds: i64,
    /// Seconds signed in with the status online.
    pub online_seconds: i64,
    /// Seconds signed in with the status away.
    pub away_seconds: i64,
    /// Seconds signed in and holding at least one open chat.
    pub in_chat_seconds: i64,
    /// Chats started on these days that the agent had (accepted or was transferred).
    pub chats: i64,
    /// Chat messages written on these days.
    pub messages: i64,
    /// Median seconds from a chat's start to the agent's first message in it.
    pub median_first_response_seconds: Option<f64>,
    /// Mean of the ratings visitors gave those chats.
    pub rating: Option<f64>,
    /// How many of them were rated.
    pub ratings: i64,
    /// Chats per hour online (none without time online).
    pub chats_per_online_hour: Option<f64>,
}

/// One agent's figures over the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentWork {
    /// The agent.
    pub agent_id: i64,
    /// Their display name.
    pub name: String,
    /// Their figures.
    #[serde(flatten)]
    pub figures: WorkFigures,
}

/// One agent's figures on one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentDayWork {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// The agent.
    pub agent_id: i64,
    /// Their display name.
    pub name: String,
    /// Their figures that day.
    #[serde(flatten)]
    pub figures: WorkFigures,
}

/// The work-time statistics of a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkReport {
    /// First day, `YYYY-MM-DD` (UTC).
    pub from: String,
    /// Last day, included.
    pub to: String,
    /// The agents listed, added up (medians over all their chats).
    pub team: WorkFigures,
    /// Each agent: every enabled one, and any other with figures in the period.
    pub agents: Vec<AgentWork>,
    /// Each agent's days with any figure, by day and name.
    pub days: Vec<AgentDayWork>,
}

/// Time and chats added up.
#[derive(Debug, Clone, Default)]
struct Sum {
    work: WorkDay,
    chats: AgentDay,
}

impl Sum {
    fn merge(&mut self, o: &Sum) {
        self.work.merge(&o.work);
        self.chats.merge(&o.chats);
    }

    fn figures(&self) -> WorkFigures {
        let (w, a) = (&self.work, &self.chats);
        let online_hours = w.online as f64 / 3600.0;
        WorkFigures {
            signed_in_seconds: w.signed_in as i64,
            online_seconds: w.online as i64,
            away_seconds: w.away as i64,
            in_chat_seconds: w.in_chat as i64,
            chats: a.chats as i64,
            messages: w.messages as i64,
            median_first_response_seconds: a.first_response.median(),
            rating: a.rating(),
            ratings: a.ratings as i64,
            chats_per_online_hour: (w.online > 0).then(|| a.chats as f64 / online_hours),
        }
    }
}

/// The work-time statistics of `p` at `now`: every agent's, or only `only`'s (an agent who
/// may not see statistics sees their own).
pub fn report(c: &Connection, p: Period, now: i64, only: Option<i64>) -> Result<WorkReport> {
    let shown = |agent: i64| only.is_none_or(|o| o == agent);
    let mut per: BTreeMap<(i64, i64), Sum> = BTreeMap::new();
    aggregates::each_day(c, p.start, p.end, now, |day, f| {
        for (agent, a) in f.map(|f| &f.agents).into_iter().flatten() {
            if shown(*agent) {
                per.entry((day, *agent)).or_default().chats.merge(a);
            }
        }
        Ok(())
    })?;
    for (day, agents) in aggregates::worktime::collect(c, p.start, p.end, now)? {
        for (agent, w) in agents.iter().filter(|(a, _)| shown(**a)) {
            per.entry((day, *agent)).or_default().work.merge(w);
        }
    }
    // (id, name, disabled) of every agent.
    let known: Vec<(i64, String, bool)> = rows::all(
        c,
        "SELECT id, display_name, disabled FROM agents",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let name_of = |id: i64| {
        known
            .iter()
            .find(|k| k.0 == id)
            .map_or_else(|| format!("#{id}"), |k| k.1.clone())
    };
    let mut listed: BTreeSet<i64> = known
        .iter()
        .filter(|(id, _, disabled)| !disabled && shown(*id))
        .map(|k| k.0)
        .collect();
    listed.extend(per.keys().map(|(_, agent)| *agent));
    let mut totals: BTreeMap<i64, Sum> = listed.iter().map(|a| (*a, Sum::default())).collect();
    let mut days = Vec::new();
    for ((day, agent), sum) in &per {
        totals.entry(*agent).or_default().merge(sum);
        days.push(AgentDayWork {
            day: day_of(*day),
            agent_id: *agent,
            name: name_of(*agent),
            figures: sum.figures(),
        });
    }
    days.sort_by(|a, b| a.day.cmp(&b.day).then_with(|| a.name.cmp(&b.name)));
    let mut team = Sum::default();
    let mut agents = Vec::new();
    for (agent, sum) in &totals {
        team.merge(sum);
        agents.push(AgentWork {
            agent_id: *agent,
            name: name_of(*agent),
            figures: sum.figures(),
        });
    }
    agents.sort_by(|a, b| a.name.cmp(&b.name).then(a.agent_id.cmp(&b.agent_id)));
    Ok(WorkReport {
        from: p.first_day(),
        to: p.last_day(),
        team: team.figures(),
        agents,
        days,
    })
}

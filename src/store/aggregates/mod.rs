//! Daily statistics aggregates: everything the statistics page needs about one UTC day,
//! computed once from the raw visits, page views, chats and offline messages and kept in
//! `stat_days`. They hold counts, per-hour buckets, page ids, browsers, referrer hosts,
//! duration histograms and distinct-count sketches: no visitor, address or message. Raw events
//! follow the retention period; aggregates stay, so statistics outlive them.
//!
//! A day is aggregated once it is settled ([`SETTLE`] after its end: visits have timed out,
//! chats have ended). [`refresh`] aggregates every settled day after the last one, one day per
//! transaction; the server runs it at start and every few minutes. A period's figures are the
//! stored days merged with the unsettled days computed from raw events ([`collect`]), so the
//! answer is the same before and after the job ran. Agents' work time per day ([`worktime`])
//! is stored beside them, in the same transaction.

mod histogram;
mod sketch;
pub mod worktime;

pub use histogram::Histogram;
pub use sketch::Sketch;

use super::rows;
use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A day is settled this long after its end.
pub const SETTLE: i64 = 86_400;
const DAY: i64 = 86_400;
/// The stored form's version; a day stored under another is computed again from raw events.
const VERSION: i64 = 1;

/// One agent's chats.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentDay {
    /// Chats they had (accepted or were transferred).
    pub chats: u64,
    /// Seconds from each chat's start to their first message in it.
    pub first_response: Histogram,
    /// Sum of the ratings of their rated chats.
    pub rating_sum: u64,
    /// How many were rated.
    pub ratings: u64,
}

impl AgentDay {
    /// Adds `o`'s chats to these.
    pub fn merge(&mut self, o: &AgentDay) {
        self.chats += o.chats;
        self.first_response.merge(&o.first_response);
        self.rating_sum += o.rating_sum;
        self.ratings += o.ratings;
    }

    /// The mean of the ratings, if any chat was rated.
    pub fn rating(&self) -> Option<f64> {
        (self.ratings > 0).then(|| self.rating_sum as f64 / self.ratings as f64)
    }
}

/// One campaign's visits (by the day the visit started) and what came of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CampaignDay {
    /// Visits it started.
    pub visits: u64,
    /// Their distinct visitors.
    pub visitors: Sketch,
    /// Chats started in those visits.
    pub chats: u64,
    /// Goals reached in them.
    pub conversions: u64,
    /// Visits with at least one goal.
    pub converted: u64,
    /// Sum of the goals' values, in cents.
    pub revenue_cents: i64,
}

/// Figures of one day, or of several merged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Visits started.
    pub visits: u64,
    /// Distinct visitors of those visits.
    pub visitors: Sketch,
    /// Page views (by the time of the view).
    pub page_views: u64,
    /// Page views of the visits started (whenever viewed).
    pub views_of_visits: u64,
    /// Visits with exactly one page view.
    pub bounces: u64,
    /// Visits with a chat.
    pub visits_with_chat: u64,
    /// Visits with a chat that reached a goal.
    pub chat_conversions: u64,
    /// Visit durations.
    pub visit_seconds: Histogram,
    /// Visits started per hour of day (UTC).
    pub visits_by_hour: [u64; 24],
    /// Chats started.
    pub chats: u64,
    /// Of those, accepted by an agent.
    pub accepted: u64,
    /// Of those, ended without an agent.
    pub missed: u64,
    /// Chats started per hour of day (UTC).
    pub chats_by_hour: [u64; 24],
    /// Seconds from a chat's start to the first agent message.
    pub first_response: Histogram,
    /// Seconds from a chat's start to its end (ended chats).
    pub chat_seconds: Histogram,
    /// Offline messages left.
    pub offline_messages: u64,
    /// Views per page id.
    pub pages: BTreeMap<i64, u64>,
    /// Visits per entry page id.
    pub entry_pages: BTreeMap<i64, u64>,
    /// Visits per exit page id.
    pub exit_pages: BTreeMap<i64, u64>,
    /// Visits per referrer kind.
    pub referrers: BTreeMap<String, u64>,
    /// Visits per (referring host, kind).
    pub referrer_hosts: BTreeMap<(String, String), u64>,
    /// Visits per browser.
    pub browsers: BTreeMap<String, u64>,
    /// Visits per operating system.
    pub os: BTreeMap<String, u64>,
    /// Visits per device class.
    pub devices: BTreeMap<String, u64>,
    /// Visits per browser language.
    pub languages: BTreeMap<String, u64>,
    /// Visits per country (known ones).
    pub countries: BTreeMap<String, u64>,
    /// Per agent id.
    pub agents: BTreeMap<i64, AgentDay>,
    /// Per department id: chats, accepted, missed.
    pub departments: BTreeMap<i64, [u64; 3]>,
    /// Per campaign id.
    pub campaigns: BTreeMap<i64, CampaignDay>,
}

fn add_all<K: Ord + Clone>(into: &mut BTreeMap<K, u64>, from: &BTreeMap<K, u64>) {
    for (k, n) in from {
        *into.entry(k.clone()).or_insert(0) += n;
    }
}

fn bump<K: Ord>(map: &mut BTreeMap<K, u64>, k: K) {
    *map.entry(k).or_insert(0) += 1;
}

impl Figures {
    /// Adds `o`'s figures to these.
    pub fn merge(&mut self, o: &Figures) {
        self.visits += o.visits;
        self.visitors.merge(&o.visitors);
        self.page_views += o.page_views;
        self.views_of_visits += o.views_of_visits;
        self.bounces += o.bounces;
        self.visits_with_chat += o.visits_with_chat;
        self.chat_conversions += o.chat_conversions;
        self.visit_seconds.merge(&o.visit_seconds);
        for h in 0..24 {
            self.visits_by_hour[h] += o.visits_by_hour[h];
            self.chats_by_hour[h] += o.chats_by_hour[h];
        }
        self.chats += o.chats;
        self.accepted += o.accepted;
        self.missed += o.missed;
        self.first_response.merge(&o.first_response);
        self.chat_seconds.merge(&o.chat_seconds);
        self.offline_messages += o.offline_messages;
        add_all(&mut self.pages, &o.pages);
        add_all(&mut self.entry_pages, &o.entry_pages);
        add_all(&mut self.exit_pages, &o.exit_pages);
        add_all(&mut self.referrers, &o.referrers);
        add_all(&mut self.referrer_hosts, &o.referrer_hosts);
        add_all(&mut self.browsers, &o.browsers);
        add_all(&mut self.os, &o.os);
        add_all(&mut self.devices, &o.devices);
        add_all(&mut self.languages, &o.languages);
        add_all(&mut self.countries, &o.countries);
        for (id, a) in &o.agents {
            self.agents.entry(*id).or_default().merge(a);
        }
        for (id, d) in &o.departments {
            let mine = self.departments.entry(*id).or_default();
            for i in 0..3 {
                mine[i] += d[i];
            }
        }
        for (id, k) in &o.campaigns {
            let mine = self.campaigns.entry(*id).or_default();
            mine.visits += k.visits;
            mine.visitors.merge(&k.visitors);
            mine.chats += k.chats;
            mine.conversions += k.conversions;
            mine.converted += k.converted;
            mine.revenue_cents += k.revenue_cents;
        }
    }
}

/// A count column.
fn n(r: &rusqlite::Row, i: usize) -> rusqlite::Result<u64> {
    Ok(r.get::<_, i64>(i)?.max(0) as u64)
}

/// Computes the figures of the UTC day starting at `day` from the raw events.
pub fn compute_day(c: &Connection, day: i64) -> Result<Figures> {
    let (start, end) = (day, day + DAY);
    let mut f = Figures::default();
    add_visits(c, start, end, &mut f)?;
    add_page_views(c, start, end, &mut f)?;
    add_chats(c, start, end, &mut f)?;
    f.offline_messages = c.query_row(
        "SELECT count(*) FROM offline_messages WHERE created_at >= ?1 AND created_at < ?2",
        params![start, end],
        |r| n(r, 0),
    )?;
    Ok(f)
}

/// Adds the visits that started in `[start, end)`, with what came of each.
fn add_visits(c: &Connection, start: i64, end: i64, f: &mut Figures) -> Result<()> {
    const VISITS: &str =
        "SELECT v.visitor_id, v.started_at, v.last_seen, v.browser, v.os, v.device, v.lang,
                v.country, v.referrer, v.referrer_kind, v.campaign_id,
                (SELECT count(*) FROM page_views WHERE visit_id = v.id),
                (SELECT page_id FROM page_views WHERE visit_id = v.id ORDER BY id LIMIT 1),
                (SELECT page_id FROM page_views WHERE visit_id = v.id ORDER BY id DESC LIMIT 1),
                (SELECT count(*) FROM conversations WHERE visit_id = v.id),
                (SELECT count(*) FROM conversions WHERE visit_id = v.id),
                (SELECT coalesce(sum(value_cents), 0) FROM conversions WHERE visit_id = v.id)
         FROM visits v WHERE v.started_at >= ?1 AND v.started_at < ?2";
    rows::each(c, VISITS, params![start, end], |r| {
        let visitor: i64 = r.get(0)?;
        let started: i64 = r.get(1)?;
        let last_seen: i64 = r.get(2)?;
        let views = n(r, 11)?;
        let chats = n(r, 14)?;
        let conversions = n(r, 15)?;
        f.visits += 1;
        f.visitors.add(visitor);
        f.views_of_visits += views;
        f.bounces += u64::from(views == 1);
        f.visits_with_chat += u64::from(chats > 0);
        f.chat_conversions += u64::from(chats > 0 && conversions > 0);
        f.visit_seconds.add(last_seen - started);
        f.visits_by_hour[((started - start) / 3600) as usize] += 1;
        if let Some(page) = r.get::<_, Option<i64>>(12)? {
            bump(&mut f.entry_pages, page);
        }
        if let Some(page) = r.get::<_, Option<i64>>(13)? {
            bump(&mut f.exit_pages, page);
        }
        bump(&mut f.browsers, r.get(3)?);
        bump(&mut f.os, r.get(4)?);
        bump(&mut f.devices, r.get(5)?);
        bump(&mut f.languages, r.get(6)?);
        let country: String = r.get(7)?;
        if !country.is_empty() {
            bump(&mut f.countries, country);
        }
        let referrer: String = r.get(8)?;
        let kind: String = r.get(9)?;
        if kind != "direct" {
            let host = crate::model::tracking::host_of(&referrer).unwrap_or_default();
            bump(&mut f.referrer_hosts, (host, kind.clone()));
        }
        bump(&mut f.referrers, kind);
        if let Some(id) = r.get::<_, Option<i64>>(10)? {
            let k = f.campaigns.entry(id).or_default();
            k.visits += 1;
            k.visitors.add(visitor);
            k.chats += chats;
            k.conversions += conversions;
            k.converted += u64::from(conversions > 0);
            k.revenue_cents += r.get::<_, i64>(16)?;
        }
        Ok(())
    })
}

/// Adds the page views made in `[start, end)` (whenever their visit started).
fn add_page_views(c: &Connection, start: i64, end: i64, f: &mut Figures) -> Result<()> {
    rows::each(
        c,
        "SELECT page_id, count(*) FROM page_views WHERE at >= ?1 AND at < ?2 GROUP BY page_id",
        params![start, end],
        |r| {
            let views = n(r, 1)?;
            f.pages.insert(r.get(0)?, views);
            f.page_views += views;
            Ok(())
        },
    )
}

/// Adds the chats that started in `[start, end)`, with their agents and departments.
fn add_chats(c: &Connection, start: i64, end: i64, f: &mut Figures) -> Result<()> {
    const CHATS: &str = "SELECT k.created_at, k.accepted_at IS NOT NULL,
                k.accepted_at IS NULL AND k.status = 'closed', k.closed_at, k.agent_id,
                k.department_id, k.rating,
                (SELECT min(created_at) FROM messages WHERE conversation_id = k.id
                 AND author = 'agent'),
                (SELECT min(created_at) FROM messages WHERE conversation_id = k.id
                 AND author = 'agent' AND agent_id = k.agent_id)
         FROM conversations k WHERE k.created_at >= ?1 AND k.created_at < ?2";
    rows::each(c, CHATS, params![start, end], |r| {
        let created: i64 = r.get(0)?;
        let accepted: bool = r.get(1)?;
        let missed: bool = r.get(2)?;
        f.chats += 1;
        f.accepted += u64::from(accepted);
        f.missed += u64::from(missed);
        f.chats_by_hour[((created - start) / 3600) as usize] += 1;
        if let Some(closed) = r.get::<_, Option<i64>>(3)? {
            f.chat_seconds.add(closed - created);
        }
        if let Some(first) = r.get::<_, Option<i64>>(7)? {
            f.first_response.add(first - created);
        }
        if let Some(agent) = r.get::<_, Option<i64>>(4)? {
            let a = f.agents.entry(agent).or_default();
            a.chats += 1;
            if let Some(first) = r.get::<_, Option<i64>>(8)? {
                a.first_response.add(first - created);
            }
            if let Some(rating) = r.get::<_, Option<i64>>(6)? {
                a.rating_sum += rating.max(0) as u64;
                a.ratings += 1;
            }
        }
        if let Some(dep) = r.get::<_, Option<i64>>(5)? {
            let d = f.departments.entry(dep).or_default();
            d[0] += 1;
            d[1] += u64::from(accepted);
            d[2] += u64::from(missed);
        }
        Ok(())
    })
}

fn encode(f: &Figures) -> Result<Vec<u8>> {
    postcard::to_allocvec(f).map_err(|e| Error::Internal(format!("encoding a statistics day: {e}")))
}

fn decode(bytes: &[u8]) -> Result<Figures> {
    postcard::from_bytes(bytes)
        .map_err(|e| Error::Internal(format!("reading a statistics day: {e}")))
}

/// The first day not aggregated yet (unix seconds of its start), if the job ever ran.
pub fn aggregated_through(c: &Connection) -> Result<Option<i64>> {
    Ok(
        c.query_row("SELECT through FROM stat_state WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?,
    )
}

/// The stored figures of a day, if the job stored any (empty days are not stored).
pub fn stored_day(c: &Connection, day: i64) -> Result<Option<Figures>> {
    let data: Option<Vec<u8>> = c
        .query_row("SELECT data FROM stat_days WHERE day = ?1", [day], |r| {
            r.get(0)
        })
        .optional()?;
    data.map(|d| decode(&d)).transpose()
}

/// The first day with any raw event, if there is one.
fn first_raw_day(c: &Connection) -> Result<Option<i64>> {
    let first: Option<i64> = c.query_row(
        "SELECT min(x) FROM (
             SELECT min(started_at) AS x FROM visits
             UNION ALL SELECT min(at) FROM page_views
             UNION ALL SELECT min(created_at) FROM conversations
             UNION ALL SELECT min(created_at) FROM offline_messages
             UNION ALL SELECT min(since) FROM agent_presence)",
        [],
        |r| r.get(0),
    )?;
    Ok(first.map(|t| t.div_euclid(DAY) * DAY))
}

/// The first day that is not settled at `now`.
fn unsettled(now: i64) -> i64 {
    (now - SETTLE).div_euclid(DAY) * DAY
}

/// Aggregates the next settled day, if there is one; returns it. One day per call and per
/// transaction, so a long backlog never holds the database for long.
pub fn refresh_one(c: &mut Connection, now: i64) -> Result<Option<i64>> {
    let limit = unsettled(now);
    let next = match aggregated_through(c)? {
        Some(t) => t,
        None => match first_raw_day(c)? {
            Some(d) => d,
            None => {
                // Nothing happened yet: every day before today is (empty and) done.
                c.execute(
                    "INSERT INTO stat_state (id, through) VALUES (1, ?1)",
                    params![limit],
                )?;
                return Ok(None);
            }
        },
    };
    if next >= limit {
        return Ok(None);
    }
    let tx = c.transaction()?;
    let f = compute_day(&tx, next)?;
    if f != Figures::default() {
        tx.execute(
            "INSERT OR REPLACE INTO stat_days (day, version, data) VALUES (?1, ?2, ?3)",
            params![next, VERSION, encode(&f)?],
        )?;
    }
    worktime::store_day(&tx, next, now)?;
    tx.execute(
        "INSERT INTO stat_state (id, through) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET through = excluded.through",
        params![next + DAY],
    )?;
    tx.commit()?;
    Ok(Some(next))
}

/// Figures of a period: per day (for the charts) and merged.
pub struct Collected {
    /// Each day of the period in order: (day start, its figures' day-level counts).
    pub days: Vec<(i64, DayCounts)>,
    /// All days merged.
    pub total: Figures,
}

/// The per-day counts the charts draw.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DayCounts {
    /// Visits started.
    pub visits: u64,
    /// Page views.
    pub page_views: u64,
    /// Chats started.
    pub chats: u64,
    /// Accepted.
    pub accepted: u64,
    /// Missed.
    pub missed: u64,
}

impl DayCounts {
    fn of(f: &Figures) -> DayCounts {
        DayCounts {
            visits: f.visits,
            page_views: f.page_views,
            chats: f.chats,
            accepted: f.accepted,
            missed: f.missed,
        }
    }
}

/// The figures of the whole UTC days in `start..end`: stored days where the job has run,
/// raw events for the rest (days after `now` are empty).
pub fn collect(c: &Connection, start: i64, end: i64, now: i64) -> Result<Collected> {
    let mut out = Collected {
        days: Vec::new(),
        total: Figures::default(),
    };
    each_day(c, start, end, now, |day, f| {
        match f {
            Some(f) => {
                out.days.push((day, DayCounts::of(f)));
                out.total.merge(f);
            }
            None => out.days.push((day, DayCounts::default())),
        }
        Ok(())
    })?;
    Ok(out)
}

/// Hands each whole UTC day in `start..end` to `f` in order, with its figures: stored where
/// the job has run, computed from raw events for the rest, none for days after `now` (and
/// for stored days without any event).
pub fn each_day(
    c: &Connection,
    start: i64,
    end: i64,
    now: i64,
    mut f: impl FnMut(i64, Option<&Figures>) -> Result<()>,
) -> Result<()> {
    let through = aggregated_through(c)?.unwrap_or(i64::MIN);
    let mut stored: BTreeMap<i64, Figures> = BTreeMap::new();
    {
        let mut stmt = c.prepare_cached(
            "SELECT day, version, data FROM stat_days WHERE day >= ?1 AND day < ?2 AND day < ?3",
        )?;
        let mut rows = stmt.query(params![start, end, through])?;
        while let Some(r) = rows.next()? {
            let day = r.get(0)?;
            let f = if r.get::<_, i64>(1)? == VERSION {
                decode(r.get_ref(2)?.as_blob().map_err(rusqlite::Error::from)?)?
            } else {
                compute_day(c, day)?
            };
            stored.insert(day, f);
        }
    }
    let mut day = start;
    while day < end {
        if day < through {
            f(day, stored.get(&day))?;
        } else if day <= now {
            f(day, Some(&compute_day(c, day)?))?;
        } else {
            f(day, None)?;
        }
        day += DAY;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_round_trip_through_the_stored_form() {
        let mut f = Figures {
            visits: 3,
            ..Figures::default()
        };
        f.visitors.add(7);
        f.visit_seconds.add(42);
        f.pages.insert(1, 5);
        f.referrer_hosts
            .insert(("a.example".into(), "site".into()), 2);
        f.agents.entry(3).or_default().first_response.add(9);
        f.campaigns.entry(2).or_default().visitors.add(7);
        assert_eq!(decode(&encode(&f).unwrap()).unwrap(), f);
        assert!(decode(&[0xff, 0xff]).is_err());
    }
}

//! Statistics of a tenant over a period: the headline figures and the breakdowns, from the
//! daily aggregates (`super::aggregates`) merged over the period (`docs/statistics.md` defines
//! each figure). Periods are whole UTC days, `from` and `to` included.

use super::aggregates::{self, Figures};
use super::period::{Period, day_of};
use crate::error::Result;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use std::collections::BTreeMap;

/// The headline figures of a period.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Headline {
    /// First day, `YYYY-MM-DD` (UTC).
    pub from: String,
    /// Last day, included.
    pub to: String,
    /// Distinct visitors with a visit that started in the period.
    pub visitors: i64,
    /// Visits that started in the period.
    pub visits: i64,
    /// Page views in the period.
    pub page_views: i64,
    /// Page views of the period's visits per visit.
    pub pages_per_visit: f64,
    /// Share of the period's visits with exactly one page view.
    pub bounce_rate: f64,
    /// Median visit duration in seconds (first to last sign of life).
    pub median_visit_seconds: f64,
    /// Chats started in the period.
    pub chats: i64,
    /// Those an agent accepted.
    pub accepted_chats: i64,
    /// Those that ended without an agent ever accepting them.
    pub missed_chats: i64,
    /// Offline messages left in the period.
    pub offline_messages: i64,
    /// Median seconds from a chat's start to its first agent message (answered chats).
    pub median_first_response_seconds: Option<f64>,
    /// 90th percentile of the same.
    pub p90_first_response_seconds: Option<f64>,
    /// Median seconds from a chat's start to its end (ended chats).
    pub median_chat_seconds: Option<f64>,
    /// Visits started in the period in which a chat was started.
    pub visits_with_chat: i64,
    /// Those of them that reached a goal.
    pub chat_conversions: i64,
    /// `chat_conversions / visits_with_chat`.
    pub chat_conversion_rate: f64,
    /// Answers of the sites' FAQs opened in the period (counted without the visitor).
    #[serde(default)]
    pub faq_views: i64,
    /// Chats started in the period from a chat frame in which an answer had been opened.
    #[serde(default)]
    pub chats_after_faq: i64,
    /// Campaigns with a visit in the period or running in it, with their figures.
    pub campaigns: Vec<super::campaigns::CampaignFigures>,
}

/// The headline figures of `p` at `now` (stored aggregates merged with today's raw events).
pub fn headline(c: &Connection, p: Period, now: i64) -> Result<Headline> {
    let all = aggregates::collect(c, p.start, p.end, now)?;
    headline_of(c, p, &all.total)
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn headline_of(c: &Connection, p: Period, f: &Figures) -> Result<Headline> {
    // Kept as daily counts from the start (`super::faqs`), not computed from raw events.
    let (faq_views, chats_after_faq) = super::faqs::totals(c, p.start, p.end)?;
    Ok(Headline {
        from: p.first_day(),
        to: p.last_day(),
        visitors: f.visitors.estimate() as i64,
        visits: f.visits as i64,
        page_views: f.page_views as i64,
        pages_per_visit: ratio(f.views_of_visits, f.visits),
        bounce_rate: ratio(f.bounces, f.visits),
        median_visit_seconds: f.visit_seconds.median().unwrap_or(0.0),
        chats: f.chats as i64,
        accepted_chats: f.accepted as i64,
        missed_chats: f.missed as i64,
        offline_messages: f.offline_messages as i64,
        median_first_response_seconds: f.first_response.median(),
        p90_first_response_seconds: f.first_response.p90(),
        median_chat_seconds: f.chat_seconds.median(),
        visits_with_chat: f.visits_with_chat as i64,
        chat_conversions: f.chat_conversions as i64,
        chat_conversion_rate: ratio(f.chat_conversions, f.visits_with_chat),
        faq_views,
        chats_after_faq,
        campaigns: super::campaigns::figures(c, p, &f.campaigns)?,
    })
}

/// The headline and the breakdowns of `p` at `now`, from one pass over the days.
pub fn report(c: &Connection, p: Period, now: i64) -> Result<(Headline, Breakdown)> {
    let all = aggregates::collect(c, p.start, p.end, now)?;
    let mut breakdown = breakdown_of(c, &all)?;
    breakdown.faqs = super::faqs::top(c, p.start, p.end, TOP)?
        .into_iter()
        .map(|(name, count)| Ranked {
            name,
            extra: String::new(),
            count,
        })
        .collect();
    Ok((headline_of(c, p, &all.total)?, breakdown))
}

/// A row of a ranked list: a page, a source or a browser with its count.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Ranked {
    /// What (an address, a browser, a language …).
    pub name: String,
    /// A page's title, a referrer's kind; empty otherwise.
    pub extra: String,
    /// How many.
    pub count: i64,
}

/// One day of a period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DayFigures {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Visits started (or chats started) that day.
    pub a: i64,
    /// Page views (or accepted chats) that day.
    pub b: i64,
    /// Missed chats that day (0 for visits).
    pub c: i64,
}

/// Everything the statistics page shows besides the headline.
#[derive(Debug, Clone, PartialEq)]
pub struct Breakdown {
    /// Visits and page views per day.
    pub visits_by_day: Vec<DayFigures>,
    /// Chats, accepted and missed per day.
    pub chats_by_day: Vec<DayFigures>,
    /// Visits per hour of day (UTC).
    pub visits_by_hour: [i64; 24],
    /// Visits per weekday, Monday first.
    pub visits_by_weekday: [i64; 7],
    /// Chats per hour of day (UTC).
    pub chats_by_hour: [i64; 24],
    /// Chats per weekday, Monday first.
    pub chats_by_weekday: [i64; 7],
    /// Most viewed pages (address, title, views).
    pub top_pages: Vec<Ranked>,
    /// First pages of the period's visits.
    pub entry_pages: Vec<Ranked>,
    /// Last pages of the period's visits.
    pub exit_pages: Vec<Ranked>,
    /// Visits by referrer kind.
    pub referrers: Vec<Ranked>,
    /// Visits by referring host (host, kind, visits).
    pub referrer_hosts: Vec<Ranked>,
    /// Visits by browser.
    pub browsers: Vec<Ranked>,
    /// Visits by operating system.
    pub os: Vec<Ranked>,
    /// Visits by device class.
    pub devices: Vec<Ranked>,
    /// Visits by browser language.
    pub languages: Vec<Ranked>,
    /// Visits by country (empty without a GeoIP database).
    pub countries: Vec<Ranked>,
    /// Chats per agent who accepted them.
    pub agents: Vec<AgentFigures>,
    /// Chats per department they were asked for.
    pub departments: Vec<DepartmentFigures>,
    /// The most opened answers of the sites' FAQs (question, views).
    pub faqs: Vec<Ranked>,
}

/// One agent's chats in a period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AgentFigures {
    /// The agent.
    pub agent_id: i64,
    /// Their display name.
    pub name: String,
    /// Chats of the period they accepted (or were transferred).
    pub chats: i64,
    /// Median seconds from a chat's start to their first message in it.
    pub median_first_response_seconds: Option<f64>,
    /// Mean of the ratings visitors gave their chats.
    pub rating: Option<f64>,
    /// How many chats were rated.
    pub ratings: i64,
}

/// One department's chats in a period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DepartmentFigures {
    /// The department.
    pub department_id: i64,
    /// Its name.
    pub name: String,
    /// Chats of the period routed to it.
    pub chats: i64,
    /// Those accepted.
    pub accepted: i64,
    /// Those missed.
    pub missed: i64,
}

/// How long ranked lists are.
const TOP: usize = 20;

/// The `TOP` largest counts of `map`, named by `name` (which may look names up), ties by name.
fn top<K>(
    map: &BTreeMap<K, u64>,
    limit: usize,
    mut name: impl FnMut(&K) -> Result<(String, String)>,
) -> Result<Vec<Ranked>> {
    let mut counts: Vec<u64> = map.values().copied().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    // Only keys that can make the list get their names looked up.
    let threshold = counts.get(limit.saturating_sub(1)).copied().unwrap_or(0);
    let mut out = Vec::new();
    for (k, &count) in map {
        if count >= threshold && count > 0 {
            let (name, extra) = name(k)?;
            out.push(Ranked {
                name,
                extra,
                count: count as i64,
            });
        }
    }
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    out.truncate(limit);
    Ok(out)
}

fn plain(k: &str) -> Result<(String, String)> {
    Ok((k.to_string(), String::new()))
}

fn pages(c: &Connection, map: &BTreeMap<i64, u64>) -> Result<Vec<Ranked>> {
    let mut stmt = c.prepare_cached("SELECT url, title FROM pages WHERE id = ?1")?;
    top(map, TOP, |id| {
        Ok(stmt
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .unwrap_or_else(|| (format!("#{id}"), String::new())))
    })
}

fn agent_figures(c: &Connection, f: &Figures) -> Result<Vec<AgentFigures>> {
    let mut stmt = c.prepare_cached("SELECT display_name FROM agents WHERE id = ?1")?;
    let mut out = Vec::new();
    for (&agent_id, a) in &f.agents {
        let name: Option<String> = stmt.query_row([agent_id], |r| r.get(0)).optional()?;
        out.push(AgentFigures {
            agent_id,
            name: name.unwrap_or_else(|| format!("#{agent_id}")),
            chats: a.chats as i64,
            median_first_response_seconds: a.first_response.median(),
            rating: a.rating(),
            ratings: a.ratings as i64,
        });
    }
    out.sort_by(|a, b| b.chats.cmp(&a.chats).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}

fn department_figures(c: &Connection, f: &Figures) -> Result<Vec<DepartmentFigures>> {
    let mut stmt = c.prepare_cached("SELECT name FROM departments WHERE id = ?1")?;
    let mut out = Vec::new();
    for (&department_id, [chats, accepted, missed]) in &f.departments {
        let name: Option<String> = stmt.query_row([department_id], |r| r.get(0)).optional()?;
        out.push(DepartmentFigures {
            department_id,
            name: name.unwrap_or_else(|| format!("#{department_id}")),
            chats: *chats as i64,
            accepted: *accepted as i64,
            missed: *missed as i64,
        });
    }
    out.sort_by(|a, b| b.chats.cmp(&a.chats).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}

/// The breakdowns of collected days (`docs/statistics.md`).
fn breakdown_of(c: &Connection, all: &aggregates::Collected) -> Result<Breakdown> {
    let f = &all.total;
    let mut visits_by_weekday = [0i64; 7];
    let mut chats_by_weekday = [0i64; 7];
    let mut visits_by_day = Vec::new();
    let mut chats_by_day = Vec::new();
    for (day, n) in &all.days {
        // 1970-01-01 was a Thursday: (day + 3) % 7 counts from Monday.
        let weekday = (day.div_euclid(86_400) + 3).rem_euclid(7) as usize;
        visits_by_weekday[weekday] += n.visits as i64;
        chats_by_weekday[weekday] += n.chats as i64;
        visits_by_day.push(DayFigures {
            day: day_of(*day),
            a: n.visits as i64,
            b: n.page_views as i64,
            c: 0,
        });
        chats_by_day.push(DayFigures {
            day: day_of(*day),
            a: n.chats as i64,
            b: n.accepted as i64,
            c: n.missed as i64,
        });
    }
    let hours = |h: &[u64; 24]| h.map(|n| n as i64);
    let host = |k: &(String, String)| Ok(k.clone());
    Ok(Breakdown {
        visits_by_day,
        chats_by_day,
        visits_by_hour: hours(&f.visits_by_hour),
        visits_by_weekday,
        chats_by_hour: hours(&f.chats_by_hour),
        chats_by_weekday,
        top_pages: pages(c, &f.pages)?,
        entry_pages: pages(c, &f.entry_pages)?,
        exit_pages: pages(c, &f.exit_pages)?,
        referrers: top(&f.referrers, usize::MAX, |k| plain(k))?,
        referrer_hosts: top(&f.referrer_hosts, TOP, host)?,
        browsers: top(&f.browsers, TOP, |k| plain(k))?,
        os: top(&f.os, TOP, |k| plain(k))?,
        devices: top(&f.devices, TOP, |k| plain(k))?,
        languages: top(&f.languages, TOP, |k| plain(k))?,
        countries: top(&f.countries, TOP, |k| plain(k))?,
        agents: agent_figures(c, f)?,
        departments: department_figures(c, f)?,
        faqs: Vec::new(),
    })
}

//! Headline statistics of a tenant over a period, computed from the raw visits, page views,
//! chats and offline messages (`docs/statistics.md` defines each figure). Periods are whole
//! UTC days, `from` and `to` included.

use crate::error::Result;
use rusqlite::{Connection, params};
use serde::Serialize;

/// A period in unix seconds: `start` included, `end` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First second.
    pub start: i64,
    /// First second after it.
    pub end: i64,
}

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
    /// Campaigns with their figures (campaign management comes with the statistics issue's
    /// second part; until then the list is empty).
    pub campaigns: Vec<CampaignFigures>,
}

/// One campaign's figures.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct CampaignFigures {
    /// Name.
    pub name: String,
    /// Visits it started.
    pub visits: i64,
    /// Chats in those visits.
    pub chats: i64,
    /// Goal conversions.
    pub conversions: i64,
    /// Cost in the period.
    pub cost: f64,
}

fn count(c: &Connection, sql: &str, p: Period) -> Result<i64> {
    Ok(c.query_row(sql, params![p.start, p.end], |r| r.get(0))?)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn column(c: &Connection, sql: &str, p: Period) -> Result<Vec<f64>> {
    let mut stmt = c.prepare(sql)?;
    let v = stmt
        .query_map(params![p.start, p.end], |r| r.get::<_, i64>(0))?
        .map(|x| x.map(|n| n as f64))
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// The headline figures of `p`; `from` and `to` are the days as the caller named them.
pub fn headline(c: &Connection, p: Period, from: &str, to: &str) -> Result<Headline> {
    const IN_VISITS: &str = "started_at >= ?1 AND started_at < ?2";
    let visits = count(
        c,
        &format!("SELECT count(*) FROM visits WHERE {IN_VISITS}"),
        p,
    )?;
    let visitors = count(
        c,
        &format!("SELECT count(DISTINCT visitor_id) FROM visits WHERE {IN_VISITS}"),
        p,
    )?;
    let page_views = count(
        c,
        "SELECT count(*) FROM page_views WHERE at >= ?1 AND at < ?2",
        p,
    )?;
    let views_of_visits = count(
        c,
        &format!(
            "SELECT count(*) FROM page_views WHERE visit_id IN (SELECT id FROM visits WHERE {IN_VISITS})"
        ),
        p,
    )?;
    let bounces = count(
        c,
        &format!(
            "SELECT count(*) FROM visits v WHERE {IN_VISITS}
             AND (SELECT count(*) FROM page_views pv WHERE pv.visit_id = v.id) = 1"
        ),
        p,
    )?;
    let durations = column(
        c,
        &format!("SELECT last_seen - started_at FROM visits WHERE {IN_VISITS}"),
        p,
    )?;
    const IN_CHATS: &str = "created_at >= ?1 AND created_at < ?2";
    let chats = count(
        c,
        &format!("SELECT count(*) FROM conversations WHERE {IN_CHATS}"),
        p,
    )?;
    let accepted_chats = count(
        c,
        &format!("SELECT count(*) FROM conversations WHERE {IN_CHATS} AND accepted_at IS NOT NULL"),
        p,
    )?;
    let missed_chats = count(
        c,
        &format!(
            "SELECT count(*) FROM conversations WHERE {IN_CHATS} AND accepted_at IS NULL
             AND status = 'closed'"
        ),
        p,
    )?;
    let offline_messages = count(
        c,
        "SELECT count(*) FROM offline_messages WHERE created_at >= ?1 AND created_at < ?2",
        p,
    )?;
    let first_responses = column(
        c,
        &format!(
            "SELECT (SELECT min(m.created_at) FROM messages m
                     WHERE m.conversation_id = k.id AND m.author = 'agent') - k.created_at
             FROM conversations k WHERE {IN_CHATS}
             AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = k.id AND m.author = 'agent')"
        ),
        p,
    )?;
    let ratio = |a: i64, b: i64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    Ok(Headline {
        from: from.into(),
        to: to.into(),
        visitors,
        visits,
        page_views,
        pages_per_visit: ratio(views_of_visits, visits),
        bounce_rate: ratio(bounces, visits),
        median_visit_seconds: median(durations).unwrap_or(0.0),
        chats,
        accepted_chats,
        missed_chats,
        offline_messages,
        median_first_response_seconds: median(first_responses),
        campaigns: Vec::new(),
    })
}

/// Parses `YYYY-MM-DD` to the unix second of that day's start (UTC).
pub fn day_start(s: &str) -> Option<i64> {
    let mut parts = s.trim().splitn(3, '-');
    let y: i32 = parts.next()?.parse().ok()?;
    let m: u8 = parts.next()?.parse().ok()?;
    let d: u8 = parts.next()?.parse().ok()?;
    let month = time::Month::try_from(m).ok()?;
    let date = time::Date::from_calendar_date(y, month, d).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

/// `YYYY-MM-DD` of the day a unix second falls in (UTC).
pub fn day_of(secs: i64) -> String {
    let d = time::OffsetDateTime::from_unix_timestamp(secs)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_and_print() {
        assert_eq!(day_start("1970-01-02"), Some(86_400));
        assert_eq!(day_start("2026-02-30"), None);
        assert_eq!(day_start("2026-13-01"), None);
        assert_eq!(day_start("yesterday"), None);
        assert_eq!(day_of(86_400 * 2 - 1), "1970-01-02");
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }
}

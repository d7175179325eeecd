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
    /// Campaigns with a visit in the period or running in it, with their figures.
    pub campaigns: Vec<super::campaigns::CampaignFigures>,
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
        campaigns: super::campaigns::figures(c, p)?,
    })
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

fn agent_figures(c: &Connection, p: Period) -> Result<Vec<AgentFigures>> {
    let mut stmt = c.prepare(
        "SELECT k.agent_id, a.display_name, count(*), avg(k.rating), count(k.rating)
         FROM conversations k JOIN agents a ON a.id = k.agent_id
         WHERE k.created_at >= ?1 AND k.created_at < ?2 AND k.agent_id IS NOT NULL
         GROUP BY k.agent_id ORDER BY 3 DESC, 2",
    )?;
    let rows: Vec<(i64, String, i64, Option<f64>, i64)> = stmt
        .query_map(params![p.start, p.end], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    for (agent_id, name, chats, rating, ratings) in rows {
        let mut stmt = c.prepare_cached(
            "SELECT (SELECT min(m.created_at) FROM messages m WHERE m.conversation_id = k.id
                     AND m.author = 'agent' AND m.agent_id = ?3) - k.created_at
             FROM conversations k
             WHERE k.created_at >= ?1 AND k.created_at < ?2 AND k.agent_id = ?3
             AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = k.id
                         AND m.author = 'agent' AND m.agent_id = ?3)",
        )?;
        let firsts: Vec<f64> = stmt
            .query_map(params![p.start, p.end, agent_id], |r| r.get::<_, i64>(0))?
            .map(|x| x.map(|n| n as f64))
            .collect::<rusqlite::Result<_>>()?;
        out.push(AgentFigures {
            agent_id,
            name,
            chats,
            median_first_response_seconds: median(firsts),
            rating,
            ratings,
        });
    }
    Ok(out)
}

fn department_figures(c: &Connection, p: Period) -> Result<Vec<DepartmentFigures>> {
    let mut stmt = c.prepare(
        "SELECT d.id, d.name, count(*), sum(k.accepted_at IS NOT NULL),
                sum(k.accepted_at IS NULL AND k.status = 'closed')
         FROM conversations k JOIN departments d ON d.id = k.department_id
         WHERE k.created_at >= ?1 AND k.created_at < ?2
         GROUP BY d.id ORDER BY 3 DESC, 2",
    )?;
    let rows = stmt
        .query_map(params![p.start, p.end], |r| {
            Ok(DepartmentFigures {
                department_id: r.get(0)?,
                name: r.get(1)?,
                chats: r.get(2)?,
                accepted: r.get(3)?,
                missed: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// How long ranked lists are.
const TOP: i64 = 20;

fn ranked(c: &Connection, sql: &str, p: Period) -> Result<Vec<Ranked>> {
    let mut stmt = c.prepare(sql)?;
    let rows = stmt
        .query_map(params![p.start, p.end, TOP], |r| {
            Ok(Ranked {
                name: r.get(0)?,
                extra: r.get(1)?,
                count: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Counts per bucket: `sql` yields (bucket, count) rows.
fn buckets<const N: usize>(c: &Connection, sql: &str, p: Period) -> Result<[i64; N]> {
    let mut out = [0i64; N];
    let mut stmt = c.prepare(sql)?;
    let rows = stmt.query_map(params![p.start, p.end], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (b, n) = row?;
        if let Some(slot) = usize::try_from(b).ok().and_then(|b| out.get_mut(b)) {
            *slot += n;
        }
    }
    Ok(out)
}

/// Per day of the period: `sql` yields (day index, a, b, c) rows.
fn per_day(c: &Connection, sql: &str, p: Period) -> Result<Vec<DayFigures>> {
    let days = ((p.end - p.start) / 86_400).max(0) as usize;
    let mut out: Vec<DayFigures> = (0..days)
        .map(|i| DayFigures {
            day: day_of(p.start + i as i64 * 86_400),
            a: 0,
            b: 0,
            c: 0,
        })
        .collect();
    let mut stmt = c.prepare(sql)?;
    let rows = stmt.query_map(params![p.start, p.end], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    for row in rows {
        let (d, a, b, cc) = row?;
        if let Some(slot) = usize::try_from(d).ok().and_then(|d| out.get_mut(d)) {
            slot.a += a;
            slot.b += b;
            slot.c += cc;
        }
    }
    Ok(out)
}

/// The breakdowns of a period (`docs/statistics.md`).
pub fn breakdown(c: &Connection, p: Period) -> Result<Breakdown> {
    const IN_VISITS: &str = "started_at >= ?1 AND started_at < ?2";
    const IN_CHATS: &str = "created_at >= ?1 AND created_at < ?2";
    let mut visits_by_day = per_day(
        c,
        &format!(
            "SELECT (started_at - ?1) / 86400, count(*), 0, 0 FROM visits WHERE {IN_VISITS} GROUP BY 1"
        ),
        p,
    )?;
    let views_by_day = per_day(
        c,
        "SELECT (at - ?1) / 86400, 0, count(*), 0 FROM page_views WHERE at >= ?1 AND at < ?2 GROUP BY 1",
        p,
    )?;
    for (d, v) in visits_by_day.iter_mut().zip(views_by_day) {
        d.b = v.b;
    }
    let chats_by_day = per_day(
        c,
        &format!(
            "SELECT (created_at - ?1) / 86400, count(*), sum(accepted_at IS NOT NULL),
                    sum(accepted_at IS NULL AND status = 'closed')
             FROM conversations WHERE {IN_CHATS} GROUP BY 1"
        ),
        p,
    )?;
    // 1970-01-01 was a Thursday: (day + 3) % 7 counts from Monday.
    let hour = |col: &str, table: &str, cond: &str| {
        format!("SELECT ({col} % 86400) / 3600, count(*) FROM {table} WHERE {cond} GROUP BY 1")
    };
    let weekday = |col: &str, table: &str, cond: &str| {
        format!("SELECT ({col} / 86400 + 3) % 7, count(*) FROM {table} WHERE {cond} GROUP BY 1")
    };
    let page_list = |which: &str| {
        format!(
            "SELECT p.url, p.title, count(*) FROM visits vi
             JOIN page_views v ON v.id = (SELECT {which}(id) FROM page_views WHERE visit_id = vi.id)
             JOIN pages p ON p.id = v.page_id
             WHERE vi.started_at >= ?1 AND vi.started_at < ?2
             GROUP BY p.id ORDER BY 3 DESC, p.url LIMIT ?3"
        )
    };
    let by = |col: &str| {
        format!(
            "SELECT {col}, '', count(*) FROM visits WHERE {IN_VISITS} AND ?3 > 0
             GROUP BY {col} ORDER BY 3 DESC, 1 LIMIT ?3"
        )
    };
    // Hosts are taken from the stored referrer addresses.
    let mut hosts: std::collections::BTreeMap<(String, String), i64> = Default::default();
    {
        let mut stmt = c.prepare(&format!(
            "SELECT referrer, referrer_kind, count(*) FROM visits
             WHERE {IN_VISITS} AND referrer_kind <> 'direct' GROUP BY 1, 2"
        ))?;
        let rows = stmt.query_map(params![p.start, p.end], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (url, kind, n) = row?;
            let host = crate::domain::tracking::host_of(&url).unwrap_or_default();
            *hosts.entry((host, kind)).or_insert(0) += n;
        }
    }
    let mut referrer_hosts: Vec<Ranked> = hosts
        .into_iter()
        .map(|((name, extra), count)| Ranked { name, extra, count })
        .collect();
    referrer_hosts.sort_by(|a, b| b.count.cmp(&a.count).then(a.name.cmp(&b.name)));
    referrer_hosts.truncate(TOP as usize);
    Ok(Breakdown {
        visits_by_day,
        chats_by_day,
        visits_by_hour: buckets(c, &hour("started_at", "visits", IN_VISITS), p)?,
        visits_by_weekday: buckets(c, &weekday("started_at", "visits", IN_VISITS), p)?,
        chats_by_hour: buckets(c, &hour("created_at", "conversations", IN_CHATS), p)?,
        chats_by_weekday: buckets(c, &weekday("created_at", "conversations", IN_CHATS), p)?,
        top_pages: ranked(
            c,
            "SELECT p.url, p.title, count(*) FROM page_views v JOIN pages p ON p.id = v.page_id
             WHERE v.at >= ?1 AND v.at < ?2 GROUP BY v.page_id ORDER BY 3 DESC, p.url LIMIT ?3",
            p,
        )?,
        entry_pages: ranked(c, &page_list("min"), p)?,
        exit_pages: ranked(c, &page_list("max"), p)?,
        referrers: ranked(
            c,
            &format!(
                "SELECT referrer_kind, '', count(*) FROM visits WHERE {IN_VISITS} AND ?3 > 0
                 GROUP BY 1 ORDER BY 3 DESC, 1"
            ),
            p,
        )?,
        referrer_hosts,
        browsers: ranked(c, &by("browser"), p)?,
        os: ranked(c, &by("os"), p)?,
        devices: ranked(c, &by("device"), p)?,
        languages: ranked(c, &by("lang"), p)?,
        countries: ranked(
            c,
            &format!(
                "SELECT country, '', count(*) FROM visits WHERE {IN_VISITS} AND country <> ''
                 AND ?3 > 0 GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT ?3"
            ),
            p,
        )?,
        agents: agent_figures(c, p)?,
        departments: department_figures(c, p)?,
    })
}

/// The period `from`..=`to` (whole UTC days; default: the 30 days up to `now`'s day), checked.
pub fn period(from: Option<&str>, to: Option<&str>, now: i64) -> crate::error::Result<Period> {
    use crate::error::Error;
    let day = |name: &str, v: &str| {
        day_start(v)
            .ok_or_else(|| Error::Invalid(format!("{name} {v:?}: give a date as YYYY-MM-DD")))
    };
    let to_start = match to {
        Some(v) => day("to", v)?,
        None => now.div_euclid(86_400) * 86_400,
    };
    let from_start = match from {
        Some(v) => day("from", v)?,
        None => to_start - 29 * 86_400,
    };
    if from_start > to_start {
        return Err(Error::Invalid(
            "the first day (from) is after the last (to)".into(),
        ));
    }
    if to_start - from_start > 3660 * 86_400 {
        return Err(Error::Invalid("at most ten years at a time".into()));
    }
    Ok(Period {
        start: from_start,
        end: to_start + 86_400,
    })
}

impl Period {
    /// The period of the same length just before this one.
    pub fn previous(self) -> Period {
        Period {
            start: self.start - (self.end - self.start),
            end: self.start,
        }
    }

    /// Its first day, `YYYY-MM-DD`.
    pub fn first_day(self) -> String {
        day_of(self.start)
    }

    /// Its last day, `YYYY-MM-DD`.
    pub fn last_day(self) -> String {
        day_of(self.end - 1)
    }
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

//! A year of synthetic visits in a tenant, for the statistics benchmarks: five page views per
//! visit over 500 pages, three visits per visitor, 40 referring hosts, a chat in one visit of
//! fifty, written in large transactions; then the statistics job over the whole year, one day
//! per transaction as the server does after an upgrade. Shared by `stats-scale` and
//! `kontor-load --stats-fill`.

use kontor::store::{TenantDb, aggregates};
use rusqlite::params;

/// Distinct page addresses of the synthetic site.
const PAGES: u64 = 500;

/// Fills `db` with `visits` visits spread over the year before `end` (Unix seconds, midnight
/// UTC).
pub fn fill_year(db: &TenantDb, visits: u64, end: i64) -> kontor::error::Result<()> {
    let start = end - 365 * 86_400;
    db.with(|c| {
        c.execute_batch(
            "INSERT INTO visitors (id, site_key, mode, first_seen, last_seen) VALUES (1, 's', 'anonymous', 0, 0);",
        )?;
        for p in 0..PAGES {
            c.execute(
                "INSERT INTO pages (id, url, title) VALUES (?1, ?2, ?3)",
                params![p as i64 + 1, format!("https://s.example/p{p}"), format!("Page {p}")],
            )?;
        }
        let browsers = ["Chrome 120", "Firefox 121", "Safari 17", "Edge 120"];
        let kinds = ["search", "social", "site", "direct"];
        let mut done = 0u64;
        while done < visits {
            let tx = c.transaction()?;
            {
                let mut visitor = tx.prepare_cached(
                    "INSERT INTO visitors (id, site_key, mode, first_seen, last_seen)
                     VALUES (?1, 's', 'anonymous', ?2, ?2)",
                )?;
                let mut visit = tx.prepare_cached(
                    "INSERT INTO visits (id, visitor_id, site_key, started_at, last_seen, browser,
                                         device, lang, referrer, referrer_kind, pages)
                     VALUES (?1, ?2, 's', ?3, ?4, ?5, 'desktop', 'de-DE', ?6, ?7, 5)",
                )?;
                let mut view = tx.prepare_cached(
                    "INSERT INTO page_views (visit_id, page_id, at, seconds) VALUES (?1, ?2, ?3, 30)",
                )?;
                let mut chat = tx.prepare_cached(
                    "INSERT INTO conversations (site_key, status, visitor_token_hash, consent_at,
                         consent_version, created_at, accepted_at, closed_at)
                     VALUES ('s', 'closed', randomblob(32), ?1, 'v1', ?1, ?1 + 20, ?1 + 300)",
                )?;
                for i in done..(done + 50_000).min(visits) {
                    let at = start + (i as i64 * 365 * 86_400) / visits as i64;
                    let id = i as i64 + 1;
                    // Three visits per visitor, the second and third on later days.
                    let visitor_id = (i % (visits / 3).max(1)) as i64 + 2;
                    if i < visits / 3 {
                        visitor.execute(params![visitor_id, at])?;
                    }
                    let kind = kinds[(i % 4) as usize];
                    let referrer = match kind {
                        "direct" => String::new(),
                        _ => format!("https://ref{}.example/", i % 40),
                    };
                    visit.execute(params![
                        id,
                        if i < visits / 3 * 3 { visitor_id } else { 1 },
                        at,
                        at + 120 + (i % 600) as i64,
                        browsers[(i % 4) as usize],
                        referrer,
                        kind,
                    ])?;
                    for k in 0..5 {
                        let page = ((i * 7 + k * 13) % PAGES) as i64 + 1;
                        view.execute(params![id, page, at + k as i64 * 30])?;
                    }
                    if i % 50 == 0 {
                        chat.execute(params![at + 60])?;
                    }
                }
            }
            tx.commit()?;
            done = (done + 50_000).min(visits);
        }
        Ok(())
    })
}

/// Runs the statistics job until every settled day is aggregated; returns how many days.
pub fn settle(db: &TenantDb) -> kontor::error::Result<usize> {
    let now = kontor::clock::now();
    let mut days = 0;
    while db.with(|c| aggregates::refresh_one(c, now))?.is_some() {
        days += 1;
    }
    Ok(days)
}

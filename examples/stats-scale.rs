//! stats-scale: how long the statistics page's queries take on a large tenant.
//!
//! `cargo run --release --example stats-scale -- --page-views 10000000` fills a fresh
//! encrypted tenant with a year of synthetic visits (five page views each, a chat in one visit
//! of fifty) in large transactions, runs the aggregation job over the whole year (timed), then
//! times `GET /api/stats`'s work for 12 months (the headline, the previous period and the
//! breakdowns) three times and prints the figures.

use clap::Parser;
use kontor::store::Store;
use kontor::store::period::Period;
use kontor::store::{aggregates, stats};

/// Distinct page addresses of the synthetic site.
const PAGES: u64 = 500;
use rusqlite::params;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    /// Page views to create (five per visit)
    #[arg(long, default_value_t = 1_000_000)]
    page_views: u64,
}

fn main() -> kontor::error::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    Store::init(&data)?;
    let store = Store::open(&data)?;
    let tenant = store.create_tenant("scale", "Scale")?;
    let db = store.tenant_db(&tenant.uuid)?;
    let end = kontor::clock::now().div_euclid(86_400) * 86_400;
    let start = end - 365 * 86_400;
    let visits = args.page_views / 5;
    let t = Instant::now();
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
    })?;
    let filled = t.elapsed();
    // The background job's work: every settled day of the year, one transaction each.
    let now = kontor::clock::now();
    let t = Instant::now();
    let mut days = 0;
    while db.with(|c| aggregates::refresh_one(c, now))?.is_some() {
        days += 1;
    }
    let aggregated = t.elapsed();
    let period = Period { start, end };
    let mut runs = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        db.with(|c| {
            stats::report(c, period, now)?;
            stats::headline(c, period.previous(), now)?;
            Ok(())
        })?;
        runs.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "{}",
        serde_json::json!({
            "page_views": visits * 5,
            "visits": visits,
            "fill_s": filled.as_secs_f64(),
            "aggregated_days": days,
            "aggregate_s": aggregated.as_secs_f64(),
            "stats_12_months_ms": runs,
        })
    );
    Ok(())
}

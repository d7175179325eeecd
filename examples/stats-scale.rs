//! stats-scale: how long the statistics page's queries take on a large tenant.
//!
//! `cargo run --release --example stats-scale -- --page-views 10000000` fills a fresh
//! encrypted tenant with a year of synthetic visits (five page views each, a chat in one visit
//! of fifty) in large transactions, then times `GET /api/stats`'s work for 12 months (the
//! headline, the previous period and the breakdowns) three times and prints the figures.

use clap::Parser;
use kontor::store::Store;
use kontor::store::stats;
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
        for p in 0..50 {
            c.execute(
                "INSERT INTO pages (id, url, title) VALUES (?1, ?2, ?3)",
                params![p + 1, format!("https://s.example/p{p}"), format!("Page {p}")],
            )?;
        }
        let browsers = ["Chrome 120", "Firefox 121", "Safari 17", "Edge 120"];
        let kinds = ["search", "social", "site", "direct"];
        let mut done = 0u64;
        while done < visits {
            let tx = c.transaction()?;
            {
                let mut visit = tx.prepare_cached(
                    "INSERT INTO visits (id, visitor_id, site_key, started_at, last_seen, browser,
                                         device, lang, referrer_kind, pages)
                     VALUES (?1, 1, 's', ?2, ?3, ?4, 'desktop', 'de-DE', ?5, 5)",
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
                    visit.execute(params![
                        id,
                        at,
                        at + 120,
                        browsers[(i % 4) as usize],
                        kinds[(i % 4) as usize]
                    ])?;
                    for k in 0..5 {
                        view.execute(params![id, ((i + k) % 50) as i64 + 1, at + k as i64 * 30])?;
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
    let period = stats::Period { start, end };
    let mut runs = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        db.with(|c| {
            let prev = period.previous();
            stats::headline(c, period, &period.first_day(), &period.last_day())?;
            stats::headline(c, prev, &prev.first_day(), &prev.last_day())?;
            stats::breakdown(c, period)?;
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
            "stats_12_months_ms": runs,
        })
    );
    Ok(())
}

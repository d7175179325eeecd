//! stats-scale: how long the statistics page's queries take on a large tenant.
//!
//! `cargo run --release --example stats-scale -- --page-views 10000000` fills a fresh
//! encrypted tenant with a year of synthetic visits (five page views each, a chat in one visit
//! of fifty) in large transactions, runs the aggregation job over the whole year (timed), then
//! times `GET /api/stats`'s work for 12 months (the headline, the previous period and the
//! breakdowns) three times and prints the figures.

#[path = "common/year.rs"]
mod year;

use clap::Parser;
use kontor::store::Store;
use kontor::store::period::Period;
use kontor::store::stats;

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
    year::fill_year(&db, visits, end)?;
    let filled = t.elapsed();
    // The background job's work: every settled day of the year, one transaction each.
    let now = kontor::clock::now();
    let t = Instant::now();
    let days = year::settle(&db)?;
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

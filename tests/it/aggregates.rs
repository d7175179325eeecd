//! The statistics aggregates against the raw events: random visits, page views, chats, goals
//! and offline messages arrive day after day (some for days the job has not settled yet, some
//! spilling over midnight) while the aggregation job runs in between; afterwards every stored
//! day equals a recomputation from the raw events, and the period's figures equal independent
//! SQL counts over them.

use kontor::store::aggregates::{self, Figures};
use kontor::store::period::Period;
use kontor::store::{Store, stats};
use rusqlite::{Connection, params};

/// 2026-01-15 00:00:00 UTC.
const D: i64 = 1_768_435_200;
const DAY: i64 = 86_400;

/// A small deterministic generator (no dependency, same sequence on every machine).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> i64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n) as i64
    }
}

struct Ids {
    visitor: i64,
    visit: i64,
    chat: i64,
    offline: i64,
}

/// Random events of the day starting at `day`.
fn insert_day(c: &Connection, rng: &mut Lcg, ids: &mut Ids, day: i64) -> rusqlite::Result<()> {
    let browsers = ["Chrome", "Firefox", "Safari"];
    let kinds = ["search", "social", "site", "direct"];
    for _ in 0..rng.below(12) {
        // Half the visits come from a visitor seen before.
        let visitor = if ids.visitor > 0 && rng.below(2) == 0 {
            1 + rng.below(ids.visitor as u64)
        } else {
            ids.visitor += 1;
            c.execute(
                "INSERT INTO visitors (id, site_key, mode, first_seen, last_seen)
                 VALUES (?1, 's', 'anonymous', ?2, ?2)",
                params![ids.visitor, day],
            )?;
            ids.visitor
        };
        ids.visit += 1;
        // Late visits run over midnight.
        let start = day + rng.below(DAY as u64);
        let views = 1 + rng.below(4);
        let mut at = start;
        let kind = kinds[rng.below(4) as usize];
        let campaign = match rng.below(3) {
            0 => None,
            n => Some(n),
        };
        c.execute(
            "INSERT INTO visits (id, visitor_id, site_key, started_at, last_seen, browser, lang,
                                 country, referrer, referrer_kind, campaign_id)
             VALUES (?1, ?2, 's', ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                ids.visit,
                visitor,
                start,
                browsers[rng.below(3) as usize],
                ["de", "en"][rng.below(2) as usize],
                ["", "DE", "AT"][rng.below(3) as usize],
                if kind == "direct" {
                    String::new()
                } else {
                    format!("https://r{}.example/x", rng.below(3))
                },
                kind,
                campaign,
            ],
        )?;
        for _ in 0..views {
            c.execute(
                "INSERT INTO page_views (visit_id, page_id, at) VALUES (?1, ?2, ?3)",
                params![ids.visit, 1 + rng.below(5), at],
            )?;
            at += rng.below(400);
        }
        c.execute(
            "UPDATE visits SET last_seen = ?2 WHERE id = ?1",
            params![ids.visit, at],
        )?;
        if rng.below(3) == 0 {
            c.execute(
                "INSERT OR IGNORE INTO conversions (visit_id, goal_id, value_cents, at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![ids.visit, 1 + rng.below(2), rng.below(5000), at],
            )?;
        }
        if rng.below(3) == 0 {
            ids.chat += 1;
            let created = start + rng.below(600);
            let accepted = (rng.below(3) > 0).then(|| created + rng.below(90));
            let status = ["waiting", "open", "closed"][rng.below(3) as usize];
            let status = if accepted.is_some() && status == "waiting" {
                "open"
            } else {
                status
            };
            c.execute(
                "INSERT INTO conversations (id, site_key, status, visitor_token_hash, consent_at,
                     consent_version, created_at, accepted_at, agent_id, department_id, rating,
                     closed_at, visit_id)
                 VALUES (?1, 's', ?2, randomblob(32), ?3, 'v1', ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    ids.chat,
                    status,
                    created,
                    accepted,
                    accepted.map(|_| 1 + rng.below(2)),
                    (rng.below(2) == 0).then_some(1),
                    (accepted.is_some() && rng.below(2) == 0).then(|| 1 + rng.below(5)),
                    (status == "closed").then(|| created + rng.below(2000)),
                    ids.visit,
                ],
            )?;
            if let Some(a) = accepted {
                for seq in 1..=1 + rng.below(3) {
                    c.execute(
                        "INSERT INTO messages (conversation_id, seq, author, agent_id, body,
                                               created_at)
                         VALUES (?1, ?2, 'agent', 1, 'x', ?3)",
                        params![ids.chat, seq, a + seq * rng.below(200)],
                    )?;
                }
            }
        }
    }
    for _ in 0..rng.below(3) {
        ids.offline += 1;
        c.execute(
            "INSERT INTO offline_messages (id, site_key, name, email, message, consent_at, created_at)
             VALUES (?1, 's', '', 'a@b.example', 'x', ?2, ?2)",
            params![ids.offline, day + rng.below(DAY as u64)],
        )?;
    }
    Ok(())
}

fn count(c: &Connection, sql: &str, start: i64, end: i64) -> i64 {
    c.query_row(sql, params![start, end], |r| r.get(0)).unwrap()
}

#[test]
fn aggregates_equal_a_full_recomputation_after_random_inserts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    Store::init(&data).unwrap();
    let store = Store::open(&data).unwrap();
    let tenant = store.create_tenant("acme", "Acme").unwrap();
    let db = store.tenant_db(&tenant.uuid).unwrap();
    let days = 20;
    db.with(|c| {
        c.execute_batch(
            "INSERT INTO agents (id, email, display_name, role, password_hash, created_at) VALUES
               (1, 'a@x.example', 'Anna', 'agent', 'x', 0), (2, 'b@x.example', 'Ben', 'agent', 'x', 0);
             INSERT INTO departments (id, name) VALUES (1, 'Sales');
             INSERT INTO pages (id, url, title) VALUES (1, 'https://s.example/', 'Home'),
               (2, 'https://s.example/a', 'A'), (3, 'https://s.example/b', 'B'),
               (4, 'https://s.example/c', 'C'), (5, 'https://s.example/d', 'D');
             INSERT INTO campaigns (id, name, starts_on, created_at) VALUES
               (1, 'Spring', 1768435200, 0), (2, 'Summer', 1768435200, 0);
             INSERT INTO goals (id, name, created_at) VALUES (1, 'order', 0), (2, 'signup', 0);",
        )?;
        let mut rng = Lcg(7);
        let mut ids = Ids { visitor: 0, visit: 0, chat: 0, offline: 0 };
        for i in 0..days {
            let today = D + i * DAY;
            insert_day(c, &mut rng, &mut ids, today)?;
            // Something late for yesterday too, which the job has not settled yet.
            if i > 0 && rng.below(2) == 0 {
                insert_day(c, &mut rng, &mut ids, today - DAY)?;
            }
            // The job runs a few times a day.
            let now = today + rng.below(DAY as u64);
            while aggregates::refresh_one(c, now)?.is_some() {}
        }
        Ok(())
    })
    .unwrap();

    let now = D + days * DAY;
    db.with(|c| {
        let through = aggregates::aggregated_through(c)?.expect("the job ran");
        assert!(through >= D + (days - 2) * DAY, "settled days were aggregated");
        let mut day = D;
        while day < through {
            let stored = aggregates::stored_day(c, day)?.unwrap_or_default();
            assert_eq!(stored, aggregates::compute_day(c, day)?, "day {day}");
            day += DAY;
        }
        assert_ne!(aggregates::stored_day(c, D)?, Some(Figures::default()));

        // The whole period (stored days and the unsettled ones) against plain SQL.
        let p = Period::days(Some("2026-01-15"), Some("2026-02-05"), now)?;
        let (h, b) = stats::report(c, p, now)?;
        let (s, e) = (p.start, p.end);
        const V: &str = "FROM visits WHERE started_at >= ?1 AND started_at < ?2";
        assert_eq!(h.visits, count(c, &format!("SELECT count(*) {V}"), s, e));
        assert!(h.visits > 50, "the fixture is not trivial: {}", h.visits);
        assert_eq!(h.visitors, count(c, &format!("SELECT count(DISTINCT visitor_id) {V}"), s, e));
        assert_eq!(
            h.page_views,
            count(c, "SELECT count(*) FROM page_views WHERE at >= ?1 AND at < ?2", s, e)
        );
        let bounces = count(
            c,
            &format!("SELECT count(*) {V} AND (SELECT count(*) FROM page_views WHERE visit_id = visits.id) = 1"),
            s,
            e,
        );
        assert_eq!(h.bounce_rate, bounces as f64 / h.visits as f64);
        let views = count(
            c,
            &format!("SELECT count(*) FROM page_views WHERE visit_id IN (SELECT id {V})"),
            s,
            e,
        );
        assert_eq!(h.pages_per_visit, views as f64 / h.visits as f64);
        const K: &str = "FROM conversations WHERE created_at >= ?1 AND created_at < ?2";
        assert_eq!(h.chats, count(c, &format!("SELECT count(*) {K}"), s, e));
        assert_eq!(
            h.accepted_chats,
            count(c, &format!("SELECT count(*) {K} AND accepted_at IS NOT NULL"), s, e)
        );
        assert_eq!(
            h.missed_chats,
            count(c, &format!("SELECT count(*) {K} AND accepted_at IS NULL AND status = 'closed'"), s, e)
        );
        assert_eq!(
            h.offline_messages,
            count(c, "SELECT count(*) FROM offline_messages WHERE created_at >= ?1 AND created_at < ?2", s, e)
        );
        assert_eq!(
            h.chat_conversions,
            count(
                c,
                &format!("SELECT count(*) {V} AND EXISTS (SELECT 1 FROM conversations k WHERE k.visit_id = visits.id)
                          AND EXISTS (SELECT 1 FROM conversions x WHERE x.visit_id = visits.id)"),
                s,
                e
            )
        );
        let top: i64 = count(
            c,
            "SELECT count(*) FROM page_views WHERE at >= ?1 AND at < ?2 AND page_id =
               (SELECT page_id FROM page_views WHERE at >= ?1 AND at < ?2
                GROUP BY page_id ORDER BY count(*) DESC, page_id LIMIT 1)",
            s,
            e,
        );
        assert_eq!(b.top_pages[0].count, top);
        let day_sum: i64 = b.visits_by_day.iter().map(|d| d.a).sum();
        assert_eq!(day_sum, h.visits);
        let agent_chats: i64 = b.agents.iter().map(|a| a.chats).sum();
        assert_eq!(agent_chats, count(c, &format!("SELECT count(*) {K} AND agent_id IS NOT NULL"), s, e));
        // The same report from raw events alone, as before the job ever ran.
        let tx = c.transaction()?;
        tx.execute_batch("DELETE FROM stat_days; DELETE FROM stat_state;")?;
        assert_eq!(stats::report(&tx, p, now)?, (h.clone(), b.clone()));
        tx.rollback()?;
        for k in &h.campaigns {
            let visits = c.query_row(
                &format!("SELECT count(*) {V} AND campaign_id = ?3"),
                params![s, e, k.campaign_id],
                |r| r.get::<_, i64>(0),
            )?;
            assert_eq!(k.visits, visits, "campaign {}", k.name);
            let conversions = c.query_row(
                &format!("SELECT count(*) FROM conversions WHERE visit_id IN (SELECT id {V} AND campaign_id = ?3)"),
                params![s, e, k.campaign_id],
                |r| r.get::<_, i64>(0),
            )?;
            assert_eq!(k.conversions, conversions, "campaign {}", k.name);
        }
        Ok(())
    })
    .unwrap();
}

#[test]
fn a_tenant_without_events_is_settled_at_once_and_shows_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    Store::init(&data).unwrap();
    let store = Store::open(&data).unwrap();
    let tenant = store.create_tenant("acme", "Acme").unwrap();
    let db = store.tenant_db(&tenant.uuid).unwrap();
    let now = D + 3 * DAY + 5;
    db.with(|c| {
        assert_eq!(aggregates::refresh_one(c, now)?, None);
        assert_eq!(aggregates::aggregated_through(c)?, Some(D + 2 * DAY));
        let p = Period::days(None, None, now)?;
        let h = stats::headline(c, p, now)?;
        assert_eq!((h.visits, h.visitors, h.chats), (0, 0, 0));
        Ok(())
    })
    .unwrap();
}

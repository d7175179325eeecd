//! `kontor stats` against hand-computed figures: known visits, page views, chats and offline
//! messages around the edges of the period, and the exact value each figure must have.

use crate::common::Kontor;
use serde_json::json;

/// 2026-01-15 00:00:00 UTC.
const D: i64 = 1_768_435_200;
const H: i64 = 3600;

pub fn fixture() -> (Kontor, String) {
    let (k, pw) = Kontor::with_tenant();
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    db.with(|c| {
        let sql = format!(
            "INSERT INTO visitors (id, site_key, mode, first_seen, last_seen) VALUES
               (1, 's', 'anonymous', {a}, {a}), (2, 's', 'anonymous', {a}, {a}), (3, 's', 'anonymous', {a}, {a});
             INSERT INTO pages (id, url, title) VALUES (1, 'https://s.example/', 'Home'),
               (2, 'https://s.example/b', '=HYPERLINK(\"https://evil.example\")');
             -- A: visitor 1, day 1 10:00, 3 pages, 120 s.
             INSERT INTO visits (id, visitor_id, site_key, started_at, last_seen) VALUES (1, 1, 's', {va}, {va} + 120);
             INSERT INTO page_views (visit_id, page_id, at) VALUES (1, 1, {va}), (1, 2, {va} + 60), (1, 1, {va} + 120);
             -- B: visitor 1 again, day 1 15:00, one page (a bounce), 0 s.
             INSERT INTO visits (id, visitor_id, site_key, started_at, last_seen) VALUES (2, 1, 's', {vb}, {vb});
             INSERT INTO page_views (visit_id, page_id, at) VALUES (2, 1, {vb});
             -- C: visitor 2, day 2 09:00, 2 pages, 60 s.
             INSERT INTO visits (id, visitor_id, site_key, started_at, last_seen) VALUES (3, 2, 's', {vc}, {vc} + 60);
             INSERT INTO page_views (visit_id, page_id, at) VALUES (3, 1, {vc}), (3, 2, {vc} + 60);
             -- D: visitor 3, started the evening before the period; one of its views is inside.
             INSERT INTO visits (id, visitor_id, site_key, started_at, last_seen) VALUES (4, 3, 's', {vd}, {vd} + 90);
             INSERT INTO page_views (visit_id, page_id, at) VALUES (4, 1, {vd}), (4, 2, {vd} + 90);
             -- E: visitor 3 on the day after the period.
             INSERT INTO visits (id, visitor_id, site_key, started_at, last_seen) VALUES (5, 3, 's', {ve}, {ve});
             INSERT INTO page_views (visit_id, page_id, at) VALUES (5, 1, {ve});",
            a = D,
            va = D + 10 * H,
            vb = D + 15 * H,
            vc = D + 24 * H + 9 * H,
            vd = D - 60,
            ve = D + 48 * H + H,
        );
        c.execute_batch(&sql)?;
        let chat = |id: i64, created: i64, status: &str, accepted: Option<i64>| {
            c.execute(
                "INSERT INTO conversations (id, site_key, status, visitor_token_hash, consent_at,
                     consent_version, created_at, accepted_at, agent_id)
                 VALUES (?1, 's', ?2, randomblob(32), ?3, 'v1', ?3, ?4, CASE WHEN ?4 IS NULL THEN NULL ELSE 1 END)",
                rusqlite::params![id, status, created, accepted],
            )
        };
        let msg = |conv: i64, seq: i64, author: &str, at: i64| {
            c.execute(
                "INSERT INTO messages (conversation_id, seq, author, agent_id, body, created_at)
                 VALUES (?1, ?2, ?3, CASE WHEN ?3 = 'agent' THEN 1 ELSE NULL END, 'x', ?4)",
                rusqlite::params![conv, seq, author, at],
            )
        };
        // 1: answered 120 s after it started.
        chat(1, D + 10 * H + 300, "closed", Some(D + 10 * H + 360))?;
        msg(1, 1, "visitor", D + 10 * H + 300)?;
        msg(1, 2, "agent", D + 10 * H + 420)?;
        msg(1, 3, "agent", D + 10 * H + 500)?;
        // 2: nobody took it before the visitor left: missed.
        chat(2, D + 11 * H, "closed", None)?;
        msg(2, 1, "visitor", D + 11 * H)?;
        // 3: still waiting: neither accepted nor missed yet.
        chat(3, D + 36 * H, "waiting", None)?;
        // 4: before the period.
        chat(4, D - 2 * 24 * H, "closed", Some(D - 2 * 24 * H + 10))?;
        msg(4, 1, "agent", D - 2 * 24 * H + 11)?;
        // 5: answered after 30 s.
        chat(5, D + 37 * H, "open", Some(D + 37 * H + 5))?;
        msg(5, 1, "agent", D + 37 * H + 30)?;
        c.execute_batch(
            "UPDATE conversations SET rating = 4 WHERE id = 1;
             UPDATE conversations SET rating = 5 WHERE id = 5;
             INSERT INTO departments (id, name) VALUES (1, 'Sales');
             UPDATE conversations SET department_id = 1 WHERE id = 2;
             -- 1 ran 240 s and started in visit A, which reached a goal; 2 ended after 60 s.
             UPDATE conversations SET closed_at = created_at + 240, visit_id = 1 WHERE id = 1;
             UPDATE conversations SET closed_at = created_at + 60 WHERE id = 2;
             INSERT INTO goals (id, name, created_at) VALUES (1, 'contact form', 0);
             INSERT INTO conversions (visit_id, goal_id, value_cents, at) VALUES (1, 1, 0, 0);",
        )?;
        for (id, at) in [(1, D + 3 * H), (2, D + 47 * H), (3, D + 48 * H)] {
            c.execute(
                "INSERT INTO offline_messages (id, site_key, name, email, message, consent_at, created_at)
                 VALUES (?1, 's', '', 'a@b.example', 'x', ?2, ?2)",
                rusqlite::params![id, at],
            )?;
        }
        Ok(())
    })
    .unwrap();
    (k, pw)
}

#[test]
fn stats_match_hand_computed_figures() {
    let (k, _) = fixture();
    let v = k.json(&[
        "stats",
        "acme",
        "--from",
        "2026-01-15",
        "--to",
        "2026-01-16",
    ]);
    assert_eq!(
        v,
        json!({
            "from": "2026-01-15",
            "to": "2026-01-16",
            "visitors": 2,            // visitors 1 and 2 (3's visits start outside)
            "visits": 3,              // A, B, C
            "page_views": 7,          // 3 + 1 + 2, and D's second view
            "pages_per_visit": 2.0,   // (3 + 1 + 2) / 3
            "bounce_rate": 1.0 / 3.0, // B
            "median_visit_seconds": 60.0, // of 120, 0, 60
            "chats": 4,               // 1, 2, 3, 5
            "accepted_chats": 2,      // 1, 5
            "missed_chats": 1,        // 2
            "offline_messages": 2,    // the first two
            "median_first_response_seconds": 75.0, // of 120 and 30
            "p90_first_response_seconds": 120.0,   // nearest rank 2 of 2
            "median_chat_seconds": 150.0,          // of 240 and 60 (3 and 5 have not ended)
            "visits_with_chat": 1,                 // A
            "chat_conversions": 1,                 // A reached a goal
            "chat_conversion_rate": 1.0,
            "faq_views": 0,                        // no FAQ
            "chats_after_faq": 0,
            "campaigns": [],
        })
    );
    // One day only.
    let one = k.json(&[
        "stats",
        "acme",
        "--from",
        "2026-01-16",
        "--to",
        "2026-01-16",
    ]);
    assert_eq!(
        (
            one["visits"].as_i64(),
            one["page_views"].as_i64(),
            one["chats"].as_i64()
        ),
        (Some(1), Some(2), Some(2))
    );
    // Human output names the figures.
    let text = k.ok(&[
        "stats",
        "acme",
        "--from",
        "2026-01-15",
        "--to",
        "2026-01-16",
    ]);
    assert!(text.contains("visits:            3"), "{text}");
    assert!(text.contains("bounce rate:       33.3 %"), "{text}");
}

#[test]
fn stats_refuse_bad_periods_clearly() {
    let (k, _) = fixture();
    assert!(
        k.fails(&["stats", "acme", "--from", "2026-02-30"])
            .contains("YYYY-MM-DD")
    );
    assert!(
        k.fails(&[
            "stats",
            "acme",
            "--from",
            "2026-01-16",
            "--to",
            "2026-01-15"
        ])
        .contains("after")
    );
    assert!(k.fails(&["stats", "nosuchtenant"]).contains("nosuchtenant"));
    // The default period (the last 30 days) works and is empty for this old fixture.
    let v = k.json(&["stats", "acme"]);
    assert_eq!(v["visits"], 0);
}

#[test]
fn stats_work_through_a_running_server() {
    let (k, _) = fixture();
    let _server = k.server(&[]);
    let v = k.json(&[
        "stats",
        "acme",
        "--from",
        "2026-01-15",
        "--to",
        "2026-01-16",
    ]);
    assert_eq!(v["visits"], 3);
}

#[test]
fn the_statistics_api_breaks_the_period_down_and_exports_safe_csv() {
    let (k, pw) = fixture();
    crate::chat::with_bob(&k, &pw);
    let server = k.server(&[]);
    let mut b = crate::common::Browser::new(&server.base);
    assert_eq!(b.login("acme", "ann@acme.example", &pw).status, 303);
    let r = b.get("/api/stats?from=2026-01-15&to=2026-01-16");
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["headline"]["visits"], 3);
    assert_eq!(v["previous"]["from"], "2026-01-13");
    // The server's statistics job aggregates the settled days at start; the answer stays.
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    crate::common::wait_until(
        "the days were aggregated",
        std::time::Duration::from_secs(10),
        || {
            db.with(|c| kontor::store::aggregates::aggregated_through(c))
                .unwrap()
                .is_some_and(|t| t >= D + 3 * 24 * H)
        },
    );
    assert!(
        db.with(|c| kontor::store::aggregates::stored_day(c, D))
            .unwrap()
            .is_some()
    );
    assert_eq!(b.get("/api/stats?from=2026-01-15&to=2026-01-16").json(), v);
    assert_eq!(
        v["previous"]["chats"], 1,
        "chat 4 was in the two days before"
    );
    assert_eq!(
        v["visits_by_day"],
        json!([{"day": "2026-01-15", "visits": 2, "page_views": 5},
               {"day": "2026-01-16", "visits": 1, "page_views": 2}])
    );
    assert_eq!(
        v["chats_by_day"],
        json!([{"day": "2026-01-15", "chats": 2, "accepted": 1, "missed": 1},
               {"day": "2026-01-16", "chats": 2, "accepted": 1, "missed": 0}])
    );
    let mut hours = vec![0; 24];
    hours[9] = 1;
    hours[10] = 1;
    hours[15] = 1;
    assert_eq!(v["visits_by_hour"], json!(hours));
    // 15 January 2026 was a Thursday.
    assert_eq!(v["visits_by_weekday"], json!([0, 0, 0, 2, 1, 0, 0]));
    assert_eq!(
        v["top_pages"],
        json!([{"url": "https://s.example/", "title": "Home", "views": 4},
               {"url": "https://s.example/b", "title": "=HYPERLINK(\"https://evil.example\")", "views": 3}])
    );
    assert_eq!(
        v["entry_pages"][0],
        json!({"url": "https://s.example/", "title": "Home", "visits": 3})
    );
    assert_eq!(v["exit_pages"].as_array().unwrap().len(), 2);
    assert_eq!(v["referrers"], json!([{"kind": "direct", "visits": 3}]));
    assert_eq!(v["countries"], json!([]));
    assert_eq!(
        v["agents"],
        json!([{"agent_id": 1, "name": "Ann", "chats": 2, "median_first_response_seconds": 75.0,
                "rating": 4.5, "ratings": 2}])
    );
    assert_eq!(
        v["departments"],
        json!([{"department_id": 1, "name": "Sales", "chats": 1, "accepted": 0, "missed": 1}])
    );

    let csv = b.get("/api/stats.csv?table=top_pages&from=2026-01-15&to=2026-01-16");
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(
        csv.header("content-disposition")
            .unwrap()
            .contains("kontor-top_pages-2026-01-15-2026-01-16.csv")
    );
    assert_eq!(
        csv.body,
        "title,url,views\r\nHome,https://s.example/,4\r\n\"'=HYPERLINK(\"\"https://evil.example\"\")\",https://s.example/b,3\r\n"
    );
    assert_eq!(b.get("/api/stats.csv?table=passwords").status, 400);
    assert_eq!(b.get("/api/stats?from=2026-13-01").status, 400);

    let mut bob = crate::common::Browser::new(&server.base);
    assert_eq!(bob.login("acme", "bob@acme.example", &pw).status, 303);
    assert_eq!(bob.get("/api/stats").status, 403);
    assert_eq!(bob.get("/api/stats.csv?table=top_pages").status, 403);
}

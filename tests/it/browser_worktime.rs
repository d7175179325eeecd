//! The agents' work time on the statistics page in headless Chromium: an admin sees the team
//! table and picks an agent, whose days are drawn as a labelled chart with the figures beside
//! it; an agent without the statistics permission sees only their own. axe audits both.

use crate::accessibility::Audit;
use crate::webdriver::{Browser, Driver};
use std::time::Instant;

/// 2026-01-15 00:00:00 UTC.
const D: i64 = 1_768_435_200;
const H: i64 = 3600;

/// Signs in and opens the statistics of the scripted days.
fn sign_in_as(b: &Browser, base: &str, email: &str, pw: &str) {
    crate::browser_visitors::sign_in_as(b, base, email, pw, "/app/statistics");
    b.goto(&format!(
        "{base}/app/statistics?from=2026-01-15&to=2026-01-16"
    ));
}

/// The text of the shown agent's figure card `key`.
fn card(b: &Browser, key: &str) -> String {
    b.exec(&format!(
        "const c = document.querySelector('.stats-work-agent .stat-card[data-figure=\"{key}\"] .stat-value'); \
         return c ? c.textContent : ''"
    ))
    .as_str()
    .unwrap_or_default()
    .to_string()
}

#[test]
fn the_statistics_page_shows_the_team_and_each_agents_work_time() {
    let started = Instant::now();
    // The statistics fixture's chats (Ann's), Bob, and a day of presence for both.
    let (k, pw) = crate::stats::fixture();
    crate::chat::with_bob(&k, &pw);
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    db.with(|c| {
        let row = |agent: i64, status: &str, from: i64, to: i64| {
            c.execute(
                "INSERT INTO agent_presence (agent_id, status, since, until, ended)
                 VALUES (?1, ?2, ?3, ?4, 1)",
                rusqlite::params![agent, status, D + from, D + to],
            )
        };
        // Ann: online 09:00-10:00, away to 10:30, online to 11:30. Bob: online 13:00-14:00.
        row(1, "online", 9 * H, 10 * H)?;
        row(1, "away", 10 * H, 10 * H + H / 2)?;
        row(1, "online", 10 * H + H / 2, 11 * H + H / 2)?;
        row(2, "online", 13 * H, 14 * H)?;
        Ok(())
    })
    .unwrap();
    drop(db);
    drop(store);
    let server = k.server(&[]);
    let driver = Driver::start();
    let mut audit = Audit::default();

    let ann = driver.browser();
    sign_in_as(&ann, &server.base, "ann@acme.example", &pw);
    ann.wait_until(
        "the team table",
        "const t = document.querySelector('[data-table=\"work_agents\"]'); \
         return !!t && t.innerText.includes('Bob') && t.innerText.includes('Team')",
    );
    // Ann's row: 2:30 signed in, 2:00 online, 0:30 away.
    let ann_row = ann.exec(
        "const r = [...document.querySelectorAll('[data-table=\"work_agents\"] tbody tr')] \
           .find(r => r.querySelector('th').textContent === 'Ann'); \
         return ['signed_in', 'online', 'away'].map(k => \
           r.querySelector(`[data-col=\"${k}\"] [aria-hidden]`).textContent)",
    );
    assert_eq!(ann_row, serde_json::json!(["2:30", "2:00", "0:30"]));
    // The agent view: a labelled chart of the days with its data table and a CSV link.
    let facts = ann.exec(
        "const s = document.querySelector('svg.stat-chart[data-chart=\"work_by_day\"]'); \
         return s && [s.getAttribute('role'), (s.getAttribute('aria-label') || '').length > 0, \
           s.querySelectorAll('rect.bar').length > 0, \
           !!document.querySelector('[data-table=\"work_by_day\"]'), \
           !!document.querySelector('a[data-csv=\"work_days\"][href*=\"/api/stats/agents.csv?table=days\"]')]",
    );
    assert_eq!(facts, serde_json::json!(["img", true, true, true, true]));
    assert!(card(&ann, "signed_in").contains("2:30"));
    audit.check(&ann, "statistics: the agents' work time");
    // Choosing Bob shows his figures and his day.
    ann.exec(
        "const s = document.getElementById('stats-work-agent'); \
         s.value = [...s.options].find(o => o.textContent === 'Bob').value; \
         s.dispatchEvent(new Event('change')); return true",
    );
    ann.wait_until(
        "Bob's figures",
        "const h = document.getElementById('stats-work-agent-title'); \
         return !!h && h.textContent.startsWith('Bob') && \
           !!document.querySelector('svg.stat-chart[data-chart=\"work_by_day\"] rect.bar')",
    );
    assert!(card(&ann, "online").contains("1:00"));
    audit.check(&ann, "statistics: one agent's work time");

    // Bob may not see statistics: the page shows him his own work time only.
    let bob = driver.browser();
    sign_in_as(&bob, &server.base, "bob@acme.example", &pw);
    bob.wait_until(
        "Bob's own work time",
        "const t = document.getElementById('stats-work-title'); \
         return !!t && t.textContent === 'Your work time' && \
           !!document.querySelector('.stats-work-agent .stat-card')",
    );
    let own = bob.exec(
        "return [!!document.querySelector('[data-table=\"work_agents\"]'), \
                 !!document.getElementById('stats-work-agent'), \
                 !!document.querySelector('.stats-headline'), \
                 document.getElementById('section-app').innerText.includes('Ann')]",
    );
    assert_eq!(own, serde_json::json!([false, false, false, false]));
    assert!(card(&bob, "signed_in").contains("1:00"));
    audit.check(&bob, "statistics: an agent's own work time");
    audit.finish(started);
}

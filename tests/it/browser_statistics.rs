//! The statistics page in headless Chromium: charts drawn as SVG with labelled axes and a text
//! alternative, tables with CSV links, on hand-computed fixture data.

use crate::browser_visitors::sign_in;
use crate::webdriver::Driver;

#[test]
fn the_statistics_page_draws_labelled_charts_and_tables() {
    let (k, pw) = crate::stats::fixture();
    let server = k.server(&[]);
    let driver = Driver::start();
    let agent = driver.browser();
    sign_in(&agent, &server.base, &pw);
    agent.goto(&format!(
        "{}/app/statistics?from=2026-01-15&to=2026-01-16",
        server.base
    ));
    agent.wait_until(
        "the visits chart",
        "return !!document.querySelector('svg.stat-chart[data-chart=\"visits_by_day\"]')",
    );
    for chart in [
        "visits_by_day",
        "chats_by_day",
        "visits_by_hour",
        "visits_by_weekday",
    ] {
        let facts = agent.exec(&format!(
            "const s = document.querySelector('svg.stat-chart[data-chart=\"{chart}\"]'); \
             return s && [s.getAttribute('role'), (s.getAttribute('aria-label') || '').length > 0, \
               s.querySelectorAll('rect').length > 0, \
               [...s.querySelectorAll('.axis-title')].filter(t => t.textContent.trim()).length >= 2]"
        ));
        assert_eq!(
            facts,
            serde_json::json!(["img", true, true, true]),
            "{chart}: role img, a text alternative, bars and two axis titles"
        );
    }
    // The tables carry the figures, with CSV links.
    agent.wait_until(
        "the top pages table",
        "const t = document.querySelector('[data-table=\"top_pages\"]'); \
         return !!t && t.textContent.includes('https://s.example/')",
    );
    let csv = agent.exec(
        "return [...document.querySelectorAll('a[href*=\"/api/stats.csv\"]')].some(a => a.getAttribute('href').includes('table=top_pages'))",
    );
    assert_eq!(csv, true);
    // The hostile page title is shown as text.
    assert_eq!(
        agent.exec("return document.querySelectorAll('a[href^=\"https://evil\"]').length"),
        0
    );
}

#[test]
fn admins_create_a_campaign_and_a_goal_in_the_settings() {
    let (k, pw) = crate::stats::fixture();
    let server = k.server(&[]);
    let driver = Driver::start();
    let agent = driver.browser();
    sign_in(&agent, &server.base, &pw);
    agent.goto(&format!("{}/app/settings/campaigns", server.base));
    let form = "#campaign-form";
    agent.type_text(&agent.find(&format!("{form} [name=name]")), "Spring");
    agent.type_text(
        &agent.find(&format!("{form} [name=utm_source]")),
        "newsletter",
    );
    agent.type_text(
        &agent.find(&format!("{form} [name=utm_campaign]")),
        "spring",
    );
    agent.click(&agent.find(&format!("{form} button[type=submit]")));
    agent.wait_until(
        "the new campaign in the list",
        "const l = document.getElementById('campaign-list'); \
         return !!l && !!l.querySelector('[data-campaign-id]') && l.textContent.includes('Spring')",
    );
    // Its tracking link carries the campaign's parameters.
    let input = agent.find("#campaign-list .tracking-link-url");
    agent.type_text(&input, "https://shop.example/offer?ref=x");
    agent.wait_until(
        "the tracking link",
        "const o = document.querySelector('#campaign-list .tracking-link'); \
         return !!o && (o.value || o.textContent).includes('utm_source=newsletter') \
           && (o.value || o.textContent).includes('ref=x')",
    );
    let goal = "#goal-form";
    agent.type_text(&agent.find(&format!("{goal} [name=name]")), "order");
    agent.type_text(
        &agent.find(&format!("{goal} [name=url_pattern]")),
        "*/thank-you*",
    );
    agent.click(&agent.find(&format!("{goal} button[type=submit]")));
    agent.wait_until(
        "the new goal",
        "const l = document.getElementById('goal-list'); \
         return !!l && l.textContent.includes('order')",
    );
    drop(agent);
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    let (campaigns, goals): (i64, i64) = db
        .with(|c| {
            Ok(c.query_row(
                "SELECT (SELECT count(*) FROM campaigns WHERE utm_source = 'newsletter'),
                        (SELECT count(*) FROM goals WHERE url_pattern = '*/thank-you*')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .unwrap();
    assert_eq!((campaigns, goals), (1, 1));
}

//! Visitor relevance over real HTTP and WebSockets: a scripted visit scores as computed by
//! hand and moves with the site's weights; weights and alarm thresholds are checked; an
//! automatic invitation fires when the visitor reaches the rule's relevance.

use crate::campaigns::report;
use crate::chat::{agent, setup};
use crate::common::{Browser, Server};
use crate::tracking::{CHROME, visitor_where};
use serde_json::{Value, json};
use std::time::Duration;

fn view(server: &Server, site: &str, ua: &str, pv: &str, url: &str) -> Value {
    report(
        server,
        site,
        ua,
        json!({"t": "view", "pv": pv, "url": url, "title": "Shop"}),
    )
}

#[test]
fn a_scripted_visit_scores_as_computed_by_hand_and_follows_the_weights() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let r = admin.post_json(
        "/api/goals",
        &json!({"name": "cart", "url_pattern": "*/cart*", "value": 0.0}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let (_b, mut ws) = agent(&server, &pw);
    ws.recv_type("visitors");
    let ua = &format!("{CHROME} relevance");
    view(
        &server,
        &site,
        ua,
        "a000000000000001",
        "https://shop.example/?utm_source=news&utm_campaign=spring",
    );
    k.advance_clock(Duration::from_secs(100));
    view(
        &server,
        &site,
        ua,
        "a000000000000002",
        "https://shop.example/shoes",
    );
    k.advance_clock(Duration::from_secs(50));
    view(
        &server,
        &site,
        ua,
        "a000000000000003",
        "https://shop.example/cart",
    );
    // By hand, default weights, anonymous mode: 3 pages = 3/5 of 3 = 1.8; 150 s = 1/2 of 2
    // = 1.0; a campaign = 1; a goal = 2; no history counted: 5.8, so 6.
    let v = visitor_where(&mut ws, |v| {
        v["pages"].as_array().is_some_and(|p| p.len() == 3)
    });
    assert_eq!(v["relevance"], 6, "{v}");
    assert_eq!(
        v["relevance_why"],
        json!(["goal", "pages", "time", "campaign"])
    );

    // The site's own weights: pages alone, 5 points: 3/5 of 5 = 3.
    let path = format!("/api/sites/{site}/relevance");
    let w = json!({"pages": 5, "time": 0, "campaign": 0, "goal": 0, "returning": 0, "chats": 0});
    let r = admin.put_json(&path, &w);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(admin.get(&path).json()["default"], false);
    report(
        &server,
        &site,
        ua,
        json!({"t": "ping", "pv": "a000000000000003"}),
    );
    let v = visitor_where(&mut ws, |v| v["relevance"] == 3);
    assert_eq!(v["relevance_why"], json!(["pages"]));

    // Out of range, unknown fields, another tenant's site: refused, nothing changed.
    let mut bad = w.clone();
    bad["goal"] = json!(11);
    let r = admin.put_json(&path, &bad);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("goal"), "{}", r.body);
    bad["goal"] = json!(300);
    assert_eq!(admin.put_json(&path, &bad).status, 400);
    assert_eq!(
        admin
            .put_json(&path, &json!({"pages": 1, "extra": 2}))
            .status,
        400
    );
    assert_eq!(admin.get(&path).json()["weights"], w);
    assert_eq!(
        admin
            .put_json("/api/sites/no-such-site/relevance", &w)
            .status,
        404
    );
    // Reset: the defaults again.
    let r = admin.delete(&path);
    assert_eq!(r.status, 200, "{}", r.body);
    let now = admin.get(&path).json();
    assert_eq!(
        (now["default"].as_bool(), &now["weights"]),
        (Some(true), &now["defaults"])
    );
}

#[test]
fn an_invitation_rule_fires_when_the_visitor_reaches_its_relevance() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let (_b, mut ws) = agent(&server, &pw);
    ws.recv_type("visitors");
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let r = admin.post_json(
        "/api/rules",
        &json!({"site_key": site, "name": "promising", "text": "Darf ich helfen?",
                "conditions": {"min_relevance": 2}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let bad = admin.post_json(
        "/api/rules",
        &json!({"site_key": site, "name": "x", "text": "x", "conditions": {"min_relevance": 11}}),
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    // 1 page: 0.6 (1); 2 pages: 1.2 (1); 3 pages: 1.8 (2), the threshold.
    let ua = &format!("{CHROME} rule");
    let home = "https://shop.example/";
    let first = view(&server, &site, ua, "b000000000000001", home);
    assert_eq!(first["invite"], Value::Null, "{first}");
    let second = view(&server, &site, ua, "b000000000000002", home);
    assert_eq!(second["invite"], Value::Null, "{second}");
    let third = view(&server, &site, ua, "b000000000000003", home);
    assert_eq!(third["invite"]["text"], "Darf ich helfen?", "{third}");
}

#[test]
fn an_agents_alarm_threshold_is_theirs_and_checked() {
    let (k, pw, _site) = setup();
    let server = k.server(&[]);
    let mut ann = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    assert_eq!(ann.get("/api/me").json()["relevance_alarm"], 0);
    let r = ann.put_json("/api/me", &json!({"relevance_alarm": 7}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ann.get("/api/me").json()["relevance_alarm"], 7);
    let r = ann.put_json("/api/me", &json!({"relevance_alarm": 11}));
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(ann.get("/api/me").json()["relevance_alarm"], 7);
    assert_eq!(
        ann.put_json("/api/me", &json!({"relevance_alarm": 0}))
            .status,
        200
    );
    assert_eq!(ann.get("/api/me").json()["relevance_alarm"], 0);
}

/// In Chromium: the agent sets an alarm at 2; a visitor reading pages reaches it; the row is
/// marked and the alarm is raised once, however many pages follow; the list sorts by
/// relevance.
#[test]
fn the_alarm_fires_once_per_visit_and_the_list_sorts_by_relevance() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let driver = crate::webdriver::Driver::start();
    let ann = driver.browser();
    crate::browser_visitors::sign_in(&ann, &server.base, &pw);
    ann.find("#visitor-list");
    ann.wait_until(
        "the alarm's choice",
        "return document.getElementById('relevance-alarm').value === '0'",
    );
    ann.exec("const s = document.getElementById('relevance-alarm'); s.value = '2'; s.dispatchEvent(new Event('change')); return true");
    let mut me = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    crate::common::wait_until("the profile", Duration::from_secs(5), || {
        me.get("/api/me").json()["relevance_alarm"] == 2
    });
    // A quiet visitor (1 page: relevance 1) and a keen one (3 pages: 2, then 4 pages: 2).
    let quiet = &format!("{CHROME} quiet");
    let keen = &format!("{CHROME} keen");
    view(
        &server,
        &site,
        quiet,
        "c000000000000001",
        "https://shop.example/",
    );
    view(
        &server,
        &site,
        keen,
        "d000000000000001",
        "https://shop.example/",
    );
    view(
        &server,
        &site,
        keen,
        "d000000000000002",
        "https://shop.example/a",
    );
    view(
        &server,
        &site,
        keen,
        "d000000000000003",
        "https://shop.example/b",
    );
    ann.wait_until(
        "the alarm",
        "const s = document.getElementById('relevance-alarm-status'); return s.dataset.count === '1' && document.querySelectorAll('#visitor-list tr.relevant-alarm').length === 1",
    );
    view(
        &server,
        &site,
        keen,
        "d000000000000004",
        "https://shop.example/c",
    );
    ann.wait_until(
        "the fourth page listed",
        "return document.getElementById('visitor-list').textContent.includes('/c')",
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        ann.exec("return document.getElementById('relevance-alarm-status').dataset.count"),
        "1",
        "one alarm per visit"
    );
    // Sorted by relevance (highest first): the keen visitor leads.
    ann.click(&ann.find_xpath(
        "//button[contains(@class,'sort-button') and contains(normalize-space(),'Relevance')]",
    ));
    ann.wait_until(
        "sorted",
        "const r = document.querySelectorAll('#visitor-list tbody tr'); return r.length === 2 && r[0].classList.contains('relevant-alarm')",
    );
}

/// In Chromium: an admin changes a site's weights in Settings › Tracking and goes back to the
/// defaults.
#[test]
fn an_admin_sets_the_weights_in_settings_and_resets_them() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let driver = crate::webdriver::Driver::start();
    let ann = driver.browser();
    crate::browser::sign_in(&ann, &server.base, &pw);
    ann.goto(&format!("{}/app/settings/tracking", server.base));
    ann.wait_until(
        "the weights",
        "const i = document.getElementById('relevance-pages'); return !!i && i.value === '3' && !document.getElementById('relevance').hidden",
    );
    ann.exec(
        "for (const [k, v] of Object.entries({pages: '5', time: '0', campaign: '0', goal: '4', returning: '0', chats: '0'})) \
         document.getElementById('relevance-' + k).value = v; return true",
    );
    ann.click(&ann.find("#relevance-form button[type=submit]"));
    ann.wait_until(
        "saved",
        "return document.getElementById('relevance-status').textContent.includes('saved')",
    );
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let path = format!("/api/sites/{site}/relevance");
    assert_eq!(
        admin.get(&path).json()["weights"],
        json!({"pages": 5, "time": 0, "campaign": 0, "goal": 4, "returning": 0, "chats": 0})
    );
    ann.click(&ann.find_xpath("//button[normalize-space()='Back to the defaults']"));
    ann.wait_until(
        "the defaults",
        "return document.getElementById('relevance-pages').value === '3' && document.getElementById('relevance-status').textContent.includes('defaults')",
    );
    assert_eq!(admin.get(&path).json()["default"], true);
}

//! Visitor relevance over real HTTP and WebSockets: a scripted visit scores as computed by
//! hand and moves with the site's weights; weights and alarm thresholds are checked; an
//! automatic invitation fires when the visitor reaches the rule's relevance.

use crate::chat::{SHOP, agent, setup};
use crate::common::{Browser, Server};
use crate::tracking::{CHROME, visitor_where};
use serde_json::{Value, json};
use std::time::Duration;

fn report(server: &Server, site: &str, ua: &str, body: Value) -> Value {
    let mut b = Browser::new(&server.base);
    let r = b.post_bytes(
        &format!("/api/track?site={site}"),
        &[("Origin", SHOP), ("User-Agent", ua)],
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

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

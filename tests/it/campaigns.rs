//! Campaigns and goals through the real server: attribution by the entry page's `utm_*`,
//! goals by address and by the site's JavaScript call, and each campaign's figures.

use crate::chat::{SHOP, setup};
use crate::common::{Browser, Server, Ws};
use serde_json::{Value, json};

fn admin(server: &Server, pw: &str, email: &str) -> Browser {
    Browser::signed_in(&server.base, email, pw)
}

/// One report from a browser with this User-Agent on the shop.
pub(crate) fn report(server: &Server, site: &str, ua: &str, body: Value) -> Value {
    let mut b = Browser::new(&server.base);
    let r = b.post_bytes(
        &format!("/api/track?site={site}"),
        &[("Origin", SHOP), ("User-Agent", ua)],
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn view(server: &Server, site: &str, ua: &str, pv: &str, url: &str) {
    report(server, site, ua, json!({"t": "view", "pv": pv, "url": url}));
}

#[test]
fn campaigns_attribute_visits_and_goals_count_once_per_visit() {
    let (k, pw, site) = setup();
    crate::chat::with_bob(&k, &pw);
    let server = k.server(&[]);
    let mut a = admin(&server, &pw, "ann@acme.example");
    let now = kontor::clock::now();
    let (yesterday, today) = (
        kontor::store::period::day_of(now - 86_400),
        kontor::store::period::day_of(now),
    );
    let r = a.post_json(
        "/api/campaigns",
        &json!({"name": "Spring", "channel": "email", "utm_source": "newsletter",
                "utm_campaign": "spring", "starts_on": yesterday, "cost": 100.0,
                "cost_per_visit": 0.5}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let campaign = r.json()["id"].as_i64().unwrap();
    let r = a.post_json(
        "/api/goals",
        &json!({"name": "order", "url_pattern": "*/thank-you*", "value": 50.0}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = a.post_json("/api/goals", &json!({"name": "signup", "value": 10.0}));
    assert_eq!(r.status, 201, "{}", r.body);

    // Visitor A: from the newsletter, orders (address goal, twice: counted once), signs up
    // (the site's call, with its own value), and chats.
    let ua_a = "Mozilla/5.0 visitor A";
    view(
        &server,
        &site,
        ua_a,
        "a000000000000001",
        "https://shop.example/?utm_source=newsletter&utm_campaign=spring",
    );
    view(
        &server,
        &site,
        ua_a,
        "a000000000000002",
        "https://shop.example/thank-you",
    );
    view(
        &server,
        &site,
        ua_a,
        "a000000000000003",
        "https://shop.example/thank-you?again=1",
    );
    report(
        &server,
        &site,
        ua_a,
        json!({"t": "goal", "pv": "a000000000000003", "name": "signup", "value": 12.5}),
    );
    report(
        &server,
        &site,
        ua_a,
        json!({"t": "goal", "pv": "a000000000000003", "name": "nosuchgoal"}),
    );
    let mut vs = Ws::visitor_as(&server.base, &site, SHOP, ua_a).unwrap();
    vs.send(json!({"type": "start", "consent": true, "notice_version": "1"}));
    vs.recv_type("welcome");
    // Visitor B: another source, not the campaign's.
    view(
        &server,
        &site,
        "Mozilla/5.0 visitor B",
        "b000000000000001",
        "https://shop.example/?utm_source=ads&utm_campaign=spring",
    );
    // Visitor C: the campaign, no goal.
    view(
        &server,
        &site,
        "Mozilla/5.0 visitor C",
        "c000000000000001",
        "https://shop.example/?utm_campaign=spring&utm_source=newsletter&utm_medium=mail",
    );

    let stats = k.json(&["stats", "acme", "--from", &yesterday, "--to", &today]);
    let c = &stats["campaigns"][0];
    assert_eq!(stats["campaigns"].as_array().unwrap().len(), 1);
    assert_eq!(c["campaign_id"], campaign);
    assert_eq!(c["name"], "Spring");
    assert_eq!(
        (c["visits"].as_i64(), c["visitors"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(c["chats"], 1);
    assert_eq!(
        c["conversions"], 2,
        "order once (though reached twice) and signup"
    );
    assert_eq!(c["conversion_rate"], 0.5);
    assert_eq!(c["revenue"], 62.5);
    // The whole total cost (the campaign runs within the period) and 0.50 per visit.
    assert_eq!(c["cost"], 101.0);
    assert_eq!(c["cost_per_visit"], 50.5);
    assert_eq!(c["cost_per_chat"], 101.0);
    assert_eq!(c["cost_per_conversion"], 50.5);
    let roi = c["roi"].as_f64().unwrap();
    assert!((roi - (62.5 - 101.0) / 101.0).abs() < 1e-9, "{roi}");
    // The same through the API, and as CSV.
    let api = a
        .get(&format!("/api/stats?from={yesterday}&to={today}"))
        .json();
    assert_eq!(api["headline"]["campaigns"][0]["visits"], 2);
    let csv = a.get(&format!(
        "/api/stats.csv?table=campaigns&from={yesterday}&to={today}"
    ));
    assert_eq!(csv.status, 200);
    assert!(csv.body.contains("Spring"), "{}", csv.body);

    // Bad input is refused with reasons; names are unique; agents may not manage campaigns.
    for bad in [
        json!({"name": "x", "starts_on": today}),
        json!({"name": "x", "utm_source": "a", "starts_on": "2026-02-30"}),
        json!({"name": "x", "utm_source": "a", "starts_on": today, "ends_on": yesterday}),
        json!({"name": "", "utm_source": "a", "starts_on": today}),
        json!({"name": "x", "utm_source": "a", "starts_on": today, "cost": -1.0}),
        json!({"name": "x", "utm_source": "a", "starts_on": today, "bogus": 1}),
    ] {
        let r = a.post_json("/api/campaigns", &bad);
        assert!(
            r.status == 400 || r.status == 422,
            "{bad}: {} {}",
            r.status,
            r.body
        );
    }
    let dup = a.post_json(
        "/api/campaigns",
        &json!({"name": "Spring", "utm_source": "x", "starts_on": today}),
    );
    assert_eq!(dup.status, 409, "{}", dup.body);
    assert_eq!(
        a.post_json("/api/goals", &json!({"name": "has space"}))
            .status,
        400
    );
    let mut bob = admin(&server, &pw, "bob@acme.example");
    assert_eq!(bob.get("/api/campaigns").status, 403);
    assert_eq!(
        bob.post_json("/api/goals", &json!({"name": "g"})).status,
        403
    );

    // Deleting the campaign leaves its visits, unattributed.
    assert_eq!(a.delete(&format!("/api/campaigns/{campaign}")).status, 204);
    let stats = k.json(&["stats", "acme", "--from", &yesterday, "--to", &today]);
    assert_eq!(stats["campaigns"], json!([]));
    assert_eq!(stats["visits"], 3);
}

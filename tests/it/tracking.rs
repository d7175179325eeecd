//! Visitor monitoring over real HTTP and WebSockets: ingest from allowed origins only, live
//! presence joining and leaving, invitations by hand and by rule, the chat's visitor context,
//! and what is (not) stored in each tracking mode.

use crate::chat::{SHOP, agent, setup};
use crate::common::{Browser, Kontor, Res, Server, Ws};
use serde_json::{Value, json};
use std::time::Duration;

pub const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

/// A server whose visitors leave after 2 s without a heartbeat.
pub fn quick_server(k: &Kontor, extra_config: &str) -> Server {
    std::fs::write(
        k.config_file(),
        format!("[tracking]\ngrace_secs = 2\n{extra_config}"),
    )
    .unwrap();
    k.server(&[])
}

/// One report from a browser with this User-Agent on `origin`.
fn report(server: &Server, site: &str, origin: &str, ua: &str, body: Value) -> Res {
    let mut b = Browser::new(&server.base);
    b.post_bytes(
        &format!("/api/track?site={site}"),
        &[
            ("Origin", origin),
            ("User-Agent", ua),
            ("Content-Type", "text/plain;charset=UTF-8"),
        ],
        body.to_string().as_bytes(),
    )
}

pub fn view(server: &Server, site: &str, ua: &str, pv: &str, url: &str, title: &str) -> Value {
    let r = report(
        server,
        site,
        SHOP,
        ua,
        json!({"t": "view", "pv": pv, "url": url, "title": title, "ref": "https://www.google.de/",
               "lang": "de-DE", "screen": "1920x1080"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

pub fn ping(server: &Server, site: &str, ua: &str, pv: &str) -> Value {
    let r = report(server, site, SHOP, ua, json!({"t": "ping", "pv": pv}));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// Skips frames until a `visitor` frame about a visitor satisfying `pred`.
pub fn visitor_where(ws: &mut Ws, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        let f = ws.recv_type("visitor");
        if pred(&f["visitor"]) {
            return f["visitor"].clone();
        }
    }
}

fn admin_browser(server: &Server, pw: &str) -> Browser {
    Browser::signed_in(&server.base, "ann@acme.example", pw)
}

fn db_query<T: rusqlite::types::FromSql>(k: &Kontor, sql: &str) -> T {
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    db.with(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
        .unwrap()
}

#[test]
fn ingest_hears_only_the_sites_origins_and_refuses_unknown_sites_alike() {
    let (k, _, site) = setup();
    let server = k.server(&[]);
    let body = json!({"t": "view", "pv": "0123456789abcdef", "url": "https://shop.example/"});
    let unknown = report(&server, "nosuchsite", SHOP, CHROME, body.clone());
    let foreign = report(&server, &site, "https://evil.example", CHROME, body.clone());
    assert_eq!((unknown.status, foreign.status), (403, 403));
    assert_eq!(unknown.json()["error"], foreign.json()["error"]);
    assert_eq!(unknown.json()["error"]["code"], "origin_refused");
    let ok = report(&server, &site, SHOP, CHROME, body);
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.header("access-control-allow-origin"), Some(SHOP));
    assert_eq!(ok.json(), json!({"invite": null}));

    // Bad input: a clear 400 or 413 and nothing stored.
    for bad in [
        json!({"t": "view", "pv": "xyz", "url": "https://shop.example/"}),
        json!({"t": "view", "pv": "0123456789abcdef", "url": "javascript:alert(1)"}),
        json!({"t": "view", "pv": "0123456789abcdef", "url": "https://shop.example/", "extra": 1}),
        json!({"t": "teleport", "pv": "0123456789abcdef"}),
        json!({"t": "ping", "pv": "0123456789abcdef", "vid": "not-hex"}),
    ] {
        let r = report(&server, &site, SHOP, CHROME, bad.clone());
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    let huge = json!({"t": "view", "pv": "0123456789abcdef", "url": "https://shop.example/",
                      "title": "x".repeat(5000)});
    assert_eq!(report(&server, &site, SHOP, CHROME, huge).status, 413);
    // A robot is not a visitor.
    let bot = report(
        &server,
        &site,
        SHOP,
        "Googlebot/2.1 (+http://www.google.com/bot.html)",
        json!({"t": "view", "pv": "fedcba9876543210", "url": "https://shop.example/"}),
    );
    assert_eq!(bot.status, 200);
    drop(server);
    assert_eq!(db_query::<i64>(&k, "SELECT count(*) FROM page_views"), 1);
    assert_eq!(db_query::<i64>(&k, "SELECT count(*) FROM visitors"), 1);
}

#[test]
fn visitors_appear_live_with_their_pages_and_leave_after_the_grace_period() {
    let (k, pw, site) = setup();
    let server = quick_server(&k, "");
    let (_b, mut ws) = agent(&server, &pw);
    let first = ws.recv_type("visitors");
    assert_eq!(first["visitors"], json!([]));

    view(
        &server,
        &site,
        CHROME,
        "aaaaaaaaaaaaaaa1",
        "https://shop.example/?utm_source=nl&utm_campaign=spring&session=secret#top",
        "Home",
    );
    let v = visitor_where(&mut ws, |_| true);
    assert_eq!(
        v["page"]["url"],
        "https://shop.example/?utm_source=nl&utm_campaign=spring"
    );
    assert_eq!(v["page"]["title"], "Home");
    assert_eq!(v["referrer_kind"], "search");
    assert_eq!(v["referrer_host"], "www.google.de");
    assert_eq!(v["campaign"]["source"], "nl");
    assert_eq!(v["campaign"]["campaign"], "spring");
    assert_eq!(v["browser"], "Chrome 120");
    assert_eq!(v["device"], "desktop");
    assert_eq!(v["lang"], "de-DE");
    assert_eq!(v["screen"], "1920x1080");
    assert_eq!(v["country"], Value::Null);
    assert_eq!(v["mode"], "anonymous");
    let id = v["visitor_id"].as_i64().unwrap();

    view(
        &server,
        &site,
        CHROME,
        "aaaaaaaaaaaaaaa2",
        "https://shop.example/shoes",
        "Shoes",
    );
    view(
        &server,
        &site,
        CHROME,
        "aaaaaaaaaaaaaaa3",
        "https://shop.example/cart",
        "Cart",
    );
    let v = visitor_where(&mut ws, |v| v["pages"].as_array().unwrap().len() == 3);
    assert_eq!(
        v["visitor_id"], id,
        "the same visitor, recognised without a cookie"
    );
    let titles: Vec<&str> = v["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Home", "Shoes", "Cart"]);
    assert!(v["pages"][0]["seconds"].is_i64());
    assert_eq!(
        v["entry"],
        "https://shop.example/?utm_source=nl&utm_campaign=spring"
    );

    // A second agent connecting now gets the visitor in its first list.
    let (_b2, mut ws2) = agent(&server, &pw);
    let list = ws2.recv_type("visitors");
    assert_eq!(list["visitors"][0]["visitor_id"], id);

    // Another browser is another visitor.
    view(
        &server,
        &site,
        "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        "bbbbbbbbbbbbbbb1",
        "https://shop.example/",
        "Home",
    );
    let other = visitor_where(&mut ws, |v| v["visitor_id"] != id);
    assert_eq!(other["browser"], "Firefox 121");

    // Heartbeats keep the first one; silence ends the second within the grace period (2 s),
    // on the server's clock, which the test moves instead of waiting.
    let clock = k.clock();
    let t0 = clock.instant();
    for _ in 0..3 {
        assert_eq!(
            ping(&server, &site, CHROME, "aaaaaaaaaaaaaaa3"),
            json!({"invite": null})
        );
        k.advance_clock(Duration::from_millis(900));
    }
    assert_eq!(
        ping(&server, &site, CHROME, "aaaaaaaaaaaaaaa3"),
        json!({"invite": null})
    );
    let left = ws.recv_type("visitor_left")["visitor_id"].as_i64();
    assert_eq!(
        left,
        other["visitor_id"].as_i64(),
        "the silent visitor left, not the pinging one"
    );
    assert!(clock.instant() - t0 < Duration::from_secs(5));

    // A heartbeat for a page the server never saw asks for the view again.
    assert_eq!(
        ping(&server, &site, CHROME, "cccccccccccccccc"),
        json!({"again": true})
    );
}

#[test]
fn invitation_round_trip_then_chat_with_the_visitors_pages() {
    let (k, pw, site) = setup();
    let server = quick_server(&k, "");
    let (b, mut ws) = agent(&server, &pw);
    ws.recv_type("visitors");
    view(
        &server,
        &site,
        CHROME,
        "dddddddddddddd01",
        "https://shop.example/",
        "Home",
    );
    view(
        &server,
        &site,
        CHROME,
        "dddddddddddddd02",
        "https://shop.example/pricing",
        "Pricing",
    );
    let v = visitor_where(&mut ws, |v| v["pages"].as_array().unwrap().len() == 2);
    let id = v["visitor_id"].as_i64().unwrap();

    ws.send(json!({"type": "invite", "visitor_id": 999_999}));
    assert_eq!(ws.recv_type("error")["code"], "not_found");
    ws.send(json!({"type": "invite", "visitor_id": id, "text": "Fragen zu den Preisen?"}));
    let v = visitor_where(&mut ws, |v| !v["invite"].is_null());
    assert_eq!(v["invite"]["state"], "pending");
    assert_eq!(v["invite"]["agent_name"], "Ann");
    ws.send(json!({"type": "invite", "visitor_id": id}));
    assert_eq!(ws.recv_type("error")["code"], "already_invited");

    // The widget gets it with its next heartbeat, exactly once.
    let got = ping(&server, &site, CHROME, "dddddddddddddd02");
    let inv = &got["invite"];
    assert_eq!(inv["agent"], "Ann");
    assert_eq!(inv["text"], "Fragen zu den Preisen?");
    assert_eq!(
        ping(&server, &site, CHROME, "dddddddddddddd02"),
        json!({"invite": null})
    );
    let inv_id = inv["id"].as_i64().unwrap();
    for result in ["shown", "accepted"] {
        let r = report(
            &server,
            &site,
            SHOP,
            CHROME,
            json!({"t": "invite", "pv": "dddddddddddddd02", "id": inv_id, "result": result}),
        );
        assert_eq!(r.status, 200);
        let v = visitor_where(&mut ws, |v| v["invite"]["state"] == result);
        assert_eq!(v["visitor_id"], id);
    }

    // The visitor opts in and chats: the chat is linked to their visit.
    let mut vs = Ws::visitor_as(&server.base, &site, SHOP, CHROME).unwrap();
    vs.send(json!({"type": "start", "consent": true, "notice_version": "1", "name": "Eva"}));
    let conv = vs.recv_type("welcome")["conversation_id"].as_i64().unwrap();
    let v = visitor_where(&mut ws, |v| !v["chat"].is_null());
    assert_eq!(
        v["chat"],
        json!({"conversation_id": conv, "status": "waiting"})
    );
    ws.send(json!({"type": "accept", "conversation_id": conv}));
    let v = visitor_where(&mut ws, |v| v["chat"]["status"] == "open");
    assert_eq!(v["visitor_id"], id);
    ws.send(json!({"type": "invite", "visitor_id": id}));
    assert_eq!(ws.recv_type("error")["code"], "in_chat");

    let mut b = b;
    let ctx = b.get(&format!("/api/conversations/{conv}/visitor"));
    assert_eq!(ctx.status, 200, "{}", ctx.body);
    let ctx = ctx.json();
    assert_eq!(ctx["visitor_id"], id);
    let urls: Vec<&str> = ctx["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls,
        ["https://shop.example/", "https://shop.example/pricing"]
    );
    assert_eq!(
        ctx["chats"],
        json!([]),
        "anonymous visitors have no chat history"
    );
    assert_eq!(b.get("/api/conversations/999999/visitor").status, 404);
    drop(server);
    assert_eq!(
        db_query::<String>(
            &k,
            &format!("SELECT state FROM invitations WHERE id = {inv_id}")
        ),
        "accepted"
    );
}

/// Creates a rule, runs `fail` and `pass` visitors (each a fresh browser), asserting that only
/// `pass` gets the invitation; deletes the rule.
fn check_rule(
    admin: &mut Browser,
    site: &str,
    conditions: Value,
    fail: &dyn Fn(&str) -> Value,
    pass: &dyn Fn(&str) -> Value,
    n: usize,
) {
    let r = admin.post_json(
        "/api/rules",
        &json!({"site_key": site, "name": format!("rule {n}"), "text": format!("Hallo {n}"),
                "conditions": conditions}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let rule = r.json()["id"].as_i64().unwrap();
    let no = fail(&format!("{CHROME} fail{n}"));
    assert_eq!(
        no["invite"],
        Value::Null,
        "rule {n}: {conditions} fired when it should not"
    );
    let yes = pass(&format!("{CHROME} pass{n}"));
    assert_eq!(
        yes["invite"]["text"],
        format!("Hallo {n}"),
        "rule {n}: {conditions} did not fire"
    );
    assert_eq!(admin.delete(&format!("/api/rules/{rule}")).status, 204);
}

#[test]
fn each_rule_condition_fires_only_when_it_holds() {
    let (k, pw, site) = setup();
    let server = quick_server(&k, "");
    let (_b, mut ws) = agent(&server, &pw);
    ws.recv_type("visitors");
    let mut admin = admin_browser(&server, &pw);
    let s = &server;
    let v = |ua: &str, pv: &str, url: &str, refr: &str| -> Value {
        let r = report(
            s,
            &site,
            SHOP,
            ua,
            json!({"t": "view", "pv": pv, "url": url, "title": "T", "ref": refr}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    };
    let home = "https://shop.example/";
    // URL pattern.
    check_rule(
        &mut admin,
        &site,
        json!({"url": "*/checkout*"}),
        &|ua| v(ua, "1000000000000001", home, ""),
        &|ua| {
            v(
                ua,
                "1000000000000002",
                "https://shop.example/checkout/step1",
                "",
            )
        },
        1,
    );
    // Pages viewed.
    check_rule(
        &mut admin,
        &site,
        json!({"min_pages": 2}),
        &|ua| v(ua, "2000000000000001", home, ""),
        &|ua| {
            v(ua, "2000000000000002", home, "");
            v(ua, "2000000000000003", "https://shop.example/b", "")
        },
        2,
    );
    // Referrer kind.
    check_rule(
        &mut admin,
        &site,
        json!({"referrer": "social"}),
        &|ua| v(ua, "3000000000000001", home, "https://www.google.com/"),
        &|ua| v(ua, "3000000000000002", home, "https://t.co/x"),
        3,
    );
    // Campaign.
    check_rule(
        &mut admin,
        &site,
        json!({"campaign": "spring"}),
        &|ua| {
            v(
                ua,
                "4000000000000001",
                "https://shop.example/?utm_campaign=autumn",
                "",
            )
        },
        &|ua| {
            v(
                ua,
                "4000000000000002",
                "https://shop.example/?utm_campaign=spring",
                "",
            )
        },
        4,
    );
    // Time on page: the heartbeat after 2 s brings it.
    check_rule(
        &mut admin,
        &site,
        json!({"min_seconds_on_page": 2}),
        &|ua| v(ua, "5000000000000001", home, ""),
        &|ua| {
            v(ua, "5000000000000002", home, "");
            k.advance_clock(Duration::from_millis(2100));
            ping(s, &site, ua, "5000000000000002")
        },
        5,
    );
    // Visit count: a visitor on their first visit does not qualify for min_visits 2.
    check_rule(
        &mut admin,
        &site,
        json!({"min_visits": 1}),
        &|_| json!({"invite": null}),
        &|ua| v(ua, "6000000000000002", home, ""),
        6,
    );
    let r = admin.post_json(
        "/api/rules",
        &json!({"site_key": site, "name": "n", "text": "t",
        "conditions": {"min_visits": 2}}),
    );
    let rule = r.json()["id"].as_i64().unwrap();
    assert_eq!(
        v(
            &format!("{CHROME} first-visit"),
            "6000000000000003",
            home,
            ""
        )["invite"],
        Value::Null
    );
    admin.delete(&format!("/api/rules/{rule}"));
    // A delay: conditions hold at once, the invitation comes 2 s later.
    check_rule(
        &mut admin,
        &site,
        json!({}).clone(),
        &|_| json!({"invite": null}),
        &|ua| v(ua, "7000000000000001", home, ""),
        7,
    );
    let r = admin.post_json(
        "/api/rules",
        &json!({"site_key": site, "name": "later", "text": "Später",
        "delay_seconds": 2}),
    );
    assert_eq!(r.status, 201);
    let ua = format!("{CHROME} delayed");
    assert_eq!(v(&ua, "8000000000000001", home, "")["invite"], Value::Null);
    k.advance_clock(Duration::from_millis(2100));
    assert_eq!(
        ping(s, &site, &ua, "8000000000000001")["invite"]["text"],
        "Später"
    );
    // Once per visit: a second page does not bring it again.
    assert_eq!(
        v(&ua, "8000000000000002", "https://shop.example/x", "")["invite"],
        Value::Null
    );

    // Bad rules are refused with a reason; agents may not write rules.
    for bad in [
        json!({"site_key": site, "name": "x", "text": ""}),
        json!({"site_key": "nosuchsite", "name": "x", "text": "t"}),
        json!({"site_key": site, "name": "x", "text": "t", "conditions": {"referrer": "moon"}}),
        json!({"site_key": site, "name": "x", "text": "t", "conditions": {"bogus": 1}}),
        json!({"site_key": site, "name": "x", "text": "t", "delay_seconds": -1}),
    ] {
        let r = admin.post_json("/api/rules", &bad);
        assert!(
            r.status == 400 || r.status == 422,
            "{bad}: {} {}",
            r.status,
            r.body
        );
    }
}

#[test]
fn rules_are_for_admins_and_need_csrf() {
    let (k, pw, site) = setup();
    crate::chat::with_bob(&k, &pw);
    let server = k.server(&[]);
    let mut bob = Browser::new(&server.base);
    assert_eq!(bob.login("acme", "bob@acme.example", &pw).status, 303);
    let csrf = bob.get("/api/session").json()["csrf"]
        .as_str()
        .unwrap()
        .to_string();
    let rule = json!({"site_key": site, "name": "x", "text": "t"});
    assert_eq!(
        bob.post_json("/api/rules", &rule).status,
        403,
        "no CSRF token"
    );
    bob.headers = vec![
        ("Origin".into(), server.base.clone()),
        ("X-CSRF-Token".into(), csrf),
    ];
    assert_eq!(
        bob.post_json("/api/rules", &rule).status,
        403,
        "not an admin"
    );
    assert_eq!(
        bob.put_json(
            &format!("/api/sites/{site}/tracking"),
            &json!({"tracking": "off"})
        )
        .status,
        403
    );
    assert_eq!(bob.get("/api/rules").status, 200);
}

#[test]
fn off_mode_ingests_nothing_and_links_no_chat() {
    let (k, pw, site) = setup();
    k.ok(&["site", "tracking", "acme", &site, "--strip", "token"]);
    let server = k.server(&[]);
    let mut admin = admin_browser(&server, &pw);
    let r = admin.put_json(
        &format!("/api/sites/{site}/tracking"),
        &json!({"tracking": "off"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["strip"],
        json!(["token"]),
        "without strip the list is kept"
    );
    let mut conf = Browser::new(&server.base);
    conf.headers = vec![("Origin".into(), SHOP.into())];
    assert_eq!(
        conf.get(&format!("/api/widget/config?site={site}")).json()["tracking"],
        "off"
    );
    let r = report(
        &server,
        &site,
        SHOP,
        CHROME,
        json!({"t": "view", "pv": "0123456789abcdef", "url": "https://shop.example/"}),
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["error"]["code"], "tracking_off");
    let mut vs = Ws::visitor_as(&server.base, &site, SHOP, CHROME).unwrap();
    vs.send(json!({"type": "start", "consent": true, "notice_version": "1"}));
    let conv = vs.recv_type("welcome")["conversation_id"].as_i64().unwrap();
    assert_eq!(
        admin
            .get(&format!("/api/conversations/{conv}/visitor"))
            .status,
        404
    );
    drop(server);
    for table in ["visitors", "visits", "page_views", "pages"] {
        assert_eq!(
            db_query::<i64>(&k, &format!("SELECT count(*) FROM {table}")),
            0,
            "{table}"
        );
    }
}

/// Every text and number in every table of the decrypted tenant database, as text.
fn all_values(k: &Kontor) -> String {
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    db.with(|c| {
        let tables: Vec<String> = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut all = String::new();
        for t in tables {
            let mut stmt = c.prepare(&format!("SELECT * FROM \"{t}\""))?;
            let n = stmt.column_count();
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                for i in 0..n {
                    match r.get_ref(i)? {
                        rusqlite::types::ValueRef::Text(s) => {
                            all.push_str(&String::from_utf8_lossy(s))
                        }
                        rusqlite::types::ValueRef::Blob(b) => {
                            all.push_str(&String::from_utf8_lossy(b))
                        }
                        v => all.push_str(&format!("{v:?}")),
                    }
                    all.push('\n');
                }
            }
        }
        Ok(all)
    })
    .unwrap()
}

#[test]
fn anonymous_mode_stores_no_full_ip_address() {
    let (k, pw, site) = setup();
    // Reports come through a proxy we trust, from a public address.
    std::fs::write(k.config_file(), "trusted_proxy = \"127.0.0.1\"\n").unwrap();
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    for (pv, url) in [
        ("e000000000000001", "https://shop.example/"),
        ("e000000000000002", "https://shop.example/b"),
    ] {
        let r = b.post_bytes(
            &format!("/api/track?site={site}"),
            &[
                ("Origin", SHOP),
                ("User-Agent", CHROME),
                ("X-Forwarded-For", "203.0.113.77"),
            ],
            json!({"t": "view", "pv": pv, "url": url})
                .to_string()
                .as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let (_ab, _ws) = agent(&server, &pw);
    drop(server);
    let all = all_values(&k);
    assert!(all.contains("203.0.113.0"), "the truncated address is kept");
    assert!(
        !all.contains("203.0.113.77"),
        "a full IP address is in the tenant database"
    );
    assert_eq!(
        db_query::<i64>(
            &k,
            "SELECT count(*) FROM visitors WHERE vid_hash IS NOT NULL"
        ),
        0
    );
}

#[test]
fn consented_visitors_are_recognised_on_a_later_visit_with_their_chats() {
    let (k, pw, site) = setup();
    k.ok(&["site", "tracking", "acme", &site, "--mode", "consented"]);
    let vid = "0123456789abcdef0123456789abcdef";
    let server = quick_server(&k, "");
    // First visit: anonymous until the opt-in, then the widget sends its id.
    view(
        &server,
        &site,
        CHROME,
        "f000000000000001",
        "https://shop.example/",
        "Home",
    );
    let mut vs = Ws::visitor_as(&server.base, &site, SHOP, CHROME).unwrap();
    vs.send(json!({"type": "start", "consent": true, "notice_version": "1", "name": "Eva"}));
    let conv = vs.recv_type("welcome")["conversation_id"].as_i64().unwrap();
    let r = report(
        &server,
        &site,
        SHOP,
        CHROME,
        json!({"t": "ping", "pv": "f000000000000001", "vid": vid}),
    );
    assert_eq!(r.json(), json!({"invite": null}));
    drop(vs);
    drop(server);
    assert_eq!(
        db_query::<String>(&k, "SELECT mode FROM visitors"),
        "consented"
    );

    // A later visit (the server restarted: a new visit), from another browser, same id.
    let server = quick_server(&k, "");
    let (mut b, mut ws) = agent(&server, &pw);
    ws.recv_type("visitors");
    // A rule for returning visitors fires for them now.
    let mut admin = admin_browser(&server, &pw);
    let r = admin.post_json(
        "/api/rules",
        &json!({"site_key": site, "name": "welcome back", "text": "Schön, dass Sie wieder da sind!",
                "conditions": {"min_visits": 2}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = report(
        &server,
        &site,
        SHOP,
        "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        json!({"t": "view", "pv": "f000000000000002", "url": "https://shop.example/again", "vid": vid}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["invite"]["text"],
        "Schön, dass Sie wieder da sind!"
    );
    let v = visitor_where(&mut ws, |_| true);
    assert_eq!(v["mode"], "consented");
    assert_eq!(v["visits"], 2);
    let detail = b.get(&format!("/api/visitors/{}", v["visitor_id"]));
    assert_eq!(detail.status, 200);
    let detail = detail.json();
    assert_eq!(detail["visits"], 2);
    assert_eq!(detail["chats"][0]["conversation_id"], conv);
    assert_eq!(detail["pages"][0]["url"], "https://shop.example/again");
    drop(server);
    assert_eq!(db_query::<i64>(&k, "SELECT count(*) FROM visitors"), 1);
    assert!(
        !all_values(&k).contains(vid),
        "the browser's id itself is never stored"
    );
}

#[test]
fn site_tracking_is_set_from_the_cli_with_clear_errors() {
    let (k, _, site) = setup();
    let v = k.json(&[
        "site",
        "tracking",
        "acme",
        &site,
        "--mode",
        "consented",
        "--strip",
        "token,sid",
    ]);
    assert_eq!(v["tracking"], "consented");
    assert_eq!(v["strip"], json!(["token", "sid"]));
    assert!(
        k.fails(&["site", "tracking", "acme", &site, "--mode", "spy"])
            .contains("off, anonymous or consented")
    );
    assert!(
        k.fails(&["site", "tracking", "acme", &site, "--strip", "a b"])
            .contains("query parameter")
    );
    assert!(
        k.fails(&["site", "tracking", "acme", "nosuchsite", "--mode", "off"])
            .contains("nosuchsite")
    );
    let added = k.json(&[
        "site",
        "add",
        "acme",
        "--origin",
        "https://b.example",
        "--tracking",
        "off",
    ]);
    assert_eq!(added["tracking"], "off");
}

/// A minimal MaxMind DB (IPv4, 24-bit records) mapping one /24 to a country, written here so
/// that the test needs no downloaded database.
fn tiny_country_db(net: [u8; 3], iso: &str) -> Vec<u8> {
    fn s(out: &mut Vec<u8>, v: &str) {
        assert!(v.len() < 29);
        out.push((2 << 5) | v.len() as u8);
        out.extend_from_slice(v.as_bytes());
    }
    fn uint(out: &mut Vec<u8>, ty: u8, v: u64) {
        let bytes: Vec<u8> = v
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        if ty <= 7 {
            out.push((ty << 5) | bytes.len() as u8);
        } else {
            out.push(bytes.len() as u8);
            out.push(ty - 7);
        }
        out.extend_from_slice(&bytes);
    }
    let node_count: u32 = 24;
    let mut tree = Vec::new();
    let bits: Vec<u8> = net
        .iter()
        .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1))
        .collect();
    for (i, bit) in bits.iter().enumerate() {
        // The matching branch leads on (or to the data); the other has no data.
        let next = if i == 23 {
            node_count + 16
        } else {
            i as u32 + 1
        };
        let (left, right) = if *bit == 0 {
            (next, node_count)
        } else {
            (node_count, next)
        };
        tree.extend_from_slice(&left.to_be_bytes()[1..]);
        tree.extend_from_slice(&right.to_be_bytes()[1..]);
    }
    let mut db = tree;
    db.extend_from_slice(&[0u8; 16]);
    // {"country": {"iso_code": ISO}}
    db.push((7 << 5) | 1);
    s(&mut db, "country");
    db.push((7 << 5) | 1);
    s(&mut db, "iso_code");
    s(&mut db, iso);
    db.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
    db.push((7 << 5) | 9);
    s(&mut db, "binary_format_major_version");
    uint(&mut db, 5, 2);
    s(&mut db, "binary_format_minor_version");
    uint(&mut db, 5, 0);
    s(&mut db, "build_epoch");
    uint(&mut db, 9, 1_700_000_000);
    s(&mut db, "database_type");
    s(&mut db, "Test-Country");
    s(&mut db, "description");
    db.push((7 << 5) | 1);
    s(&mut db, "en");
    s(&mut db, "test");
    s(&mut db, "ip_version");
    uint(&mut db, 5, 4);
    s(&mut db, "languages");
    db.push(1);
    db.push(11 - 7);
    s(&mut db, "en");
    s(&mut db, "node_count");
    uint(&mut db, 6, node_count as u64);
    s(&mut db, "record_size");
    uint(&mut db, 5, 24);
    db
}

#[test]
fn countries_come_only_from_the_configured_offline_database() {
    let (k, pw, site) = setup();
    let mmdb = k.dir.path().join("country.mmdb");
    std::fs::write(&mmdb, tiny_country_db([203, 0, 113], "DE")).unwrap();
    std::fs::write(
        k.config_file(),
        format!(
            "trusted_proxy = \"127.0.0.1\"\n[tracking]\ngeoip_db = \"{}\"\n",
            mmdb.display()
        ),
    )
    .unwrap();
    let server = k.server(&[]);
    let (_b, mut ws) = agent(&server, &pw);
    ws.recv_type("visitors");
    let mut b = Browser::new(&server.base);
    for (ip, ua) in [("203.0.113.77", "UA-de"), ("198.51.100.7", "UA-unknown")] {
        let r = b.post_bytes(
            &format!("/api/track?site={site}"),
            &[
                ("Origin", SHOP),
                ("User-Agent", ua),
                ("X-Forwarded-For", ip),
            ],
            json!({"t": "view", "pv": "a0a0a0a0a0a0a0a0", "url": "https://shop.example/"})
                .to_string()
                .as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let v = ws.recv_type("visitor");
        let expected = if ip.starts_with("203.") {
            json!("DE")
        } else {
            Value::Null
        };
        assert_eq!(v["visitor"]["country"], expected, "{ip}");
    }
    drop(server);

    // A file that is not a country database stops the start with a clear error.
    std::fs::write(&mmdb, b"not a database").unwrap();
    assert!(k.fails(&["check-config"]).contains("geoip_db"));
    let started = k.run(&["serve", "--listen", "127.0.0.1:0"]);
    assert!(!started.status.success());
    let err = String::from_utf8_lossy(&started.stderr);
    assert!(err.contains("geoip_db"), "{err}");
}

#[test]
fn the_ingest_limit_refills_as_time_passes() {
    let (k, _, site) = setup();
    let server = quick_server(&k, "reports_per_minute = 30\n");
    let view = |i: usize| {
        let body = json!({"t": "view", "pv": format!("{i:016x}"), "url": "https://shop.example/"});
        report(&server, &site, SHOP, CHROME, body)
    };
    for i in 0..30 {
        assert_eq!(view(i).status, 200, "report {i}");
    }
    let refused = view(30);
    assert_eq!(refused.status, 429);
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    k.advance_clock(Duration::from_secs(wait));
    assert_eq!(view(31).status, 200, "one report every 2 s");
    assert_eq!(view(32).status, 429);
}

#[test]
fn one_address_cannot_flood_the_ingest() {
    let (k, _, site) = setup();
    let server = quick_server(&k, "reports_per_minute = 30\n");
    let mut answers = Vec::new();
    for i in 0..40 {
        let body = json!({"t": "view", "pv": format!("{i:016x}"), "url": "https://shop.example/"});
        answers.push(report(&server, &site, SHOP, CHROME, body));
    }
    let ok = answers.iter().filter(|r| r.status == 200).count();
    let limited: Vec<&Res> = answers.iter().filter(|r| r.status == 429).collect();
    assert_eq!(ok, 30, "a minute's worth at once");
    assert_eq!(limited.len(), 10);
    assert_eq!(
        limited[0].json(),
        json!({"error": {
            "code": "too_many_requests",
            "message": "too many reports from this address; try again later",
        }})
    );
    // The code is one of the registry's (docs/errors.md).
    let code = limited[0].json()["error"]["code"]
        .as_str()
        .map(str::to_string);
    assert!(
        code.as_deref()
            .and_then(kontor::error::Code::parse)
            .is_some()
    );
    let wait: u64 = limited[0].header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "one report every 2 s: {wait}");
    let stored: i64 = db_query(&k, "SELECT count(*) FROM page_views");
    assert_eq!(stored, 30, "refused reports store nothing");
}

#[test]
fn a_new_dashboard_gets_a_long_visitor_list_in_parts_and_whole() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let ua = |i: usize| format!("Mozilla/5.0 (X11; Linux x86_64) Firefox/{}.0", 100 + i);
    for i in 0..450 {
        view(
            &server,
            &site,
            &ua(i),
            &format!("a{i:015x}"),
            "https://shop.example/",
            "Home",
        );
    }
    let (_b, mut ws) = agent(&server, &pw);
    // Apply the frames as a dashboard does: `visitors` replaces the list, `visitors_more`
    // adds to it, `visitor` replaces one, `visitor_left` removes one.
    let mut list: std::collections::BTreeMap<i64, Value> = Default::default();
    let mut parts = Vec::new();
    let mut moved = None;
    loop {
        let f = ws.recv();
        match f["type"].as_str().unwrap() {
            "visitors" | "visitors_more" => {
                if f["type"] == "visitors" {
                    list.clear();
                }
                let part: Vec<i64> = f["visitors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v["visitor_id"].as_i64().unwrap())
                    .collect();
                assert!(part.windows(2).all(|w| w[0] < w[1]), "ordered by id");
                if let Some(last) = list.keys().next_back() {
                    assert!(
                        part.first().is_none_or(|p| p > last),
                        "parts follow each other"
                    );
                }
                for v in f["visitors"].as_array().unwrap() {
                    list.insert(v["visitor_id"].as_i64().unwrap(), v.clone());
                }
                parts.push((f["type"].as_str().unwrap().to_string(), part.len()));
                if parts.len() == 1 {
                    // The visitor with the highest id, in the last part, moves on meanwhile.
                    let i = 449;
                    moved = Some(view(
                        &server,
                        &site,
                        &ua(i),
                        &format!("b{i:015x}"),
                        "https://shop.example/cart",
                        "Cart",
                    ));
                }
                if f["more"] != json!(true) {
                    break;
                }
            }
            "visitor" => {
                let v = &f["visitor"];
                list.insert(v["visitor_id"].as_i64().unwrap(), v.clone());
            }
            "visitor_left" => {
                list.remove(&f["visitor_id"].as_i64().unwrap());
            }
            _ => {}
        }
    }
    assert!(moved.is_some());
    assert_eq!(
        parts,
        vec![
            ("visitors".to_string(), 200),
            ("visitors_more".to_string(), 200),
            ("visitors_more".to_string(), 50)
        ]
    );
    // Whatever came after the last part (the move, if it was not in it) is applied too: the
    // move was stored before this ping was sent, so its frame comes before the pong.
    ws.send(json!({"type": "ping"}));
    loop {
        let f = ws.recv();
        if f["type"] == "pong" {
            break;
        }
        if f["type"] == "visitor" {
            let v = &f["visitor"];
            list.insert(v["visitor_id"].as_i64().unwrap(), v.clone());
        }
    }
    assert_eq!(list.len(), 450);
    let cart = list
        .values()
        .filter(|v| v["page"]["url"] == "https://shop.example/cart")
        .count();
    assert_eq!(cart, 1, "the move is in the dashboard's list");
}

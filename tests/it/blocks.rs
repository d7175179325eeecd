//! Blocking a visitor: from a chat (their browser, and on request their truncated address),
//! for a chosen period; a blocked visitor cannot start a chat, others can; blocks are listed,
//! lifted, end by themselves, and every block and lift is audited.

use crate::chat::{SHOP, agent, say, setup};
use crate::common::{Browser, Server, Ws};
use serde_json::{Value, json};
use std::time::Duration;

/// A visitor's widget with its own browser (User-Agent), which gives it its own daily key.
fn widget(server: &Server, site: &str, ua: &str) -> Ws {
    Ws::visitor_as(&server.base, site, SHOP, ua).unwrap()
}

fn start(ws: &mut Ws, name: &str) -> Value {
    ws.send(json!({"type": "start", "consent": true, "notice_version": "1", "name": name, "lang": "de"}));
    loop {
        let f = ws.recv();
        if f["type"] == "welcome" || f["type"] == "error" {
            return f;
        }
    }
}

fn block(a: &mut Browser, body: Value) -> (u16, Value) {
    let r = a.post_json("/api/blocks", &body);
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
}

#[test]
fn a_blocked_visitor_cannot_start_a_chat_until_the_block_ends_or_is_lifted() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let (_b, mut ann) = agent(&server, &pw);
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);

    // Mallory chats, Ann takes the chat and blocks her for an hour from it.
    let mut mallory = widget(&server, &site, "Mallory's browser");
    let conv = start(&mut mallory, "Mallory")["conversation_id"]
        .as_i64()
        .unwrap();
    say(&mut mallory, None, "m-1", "spam spam spam");
    ann.send(json!({"type": "accept", "conversation_id": conv}));
    for (body, status) in [
        (json!({"conversation_id": conv, "period": "2h"}), 400),
        (
            json!({"conversation_id": conv, "visitor_id": 1, "period": "1h"}),
            400,
        ),
        (json!({"period": "1h"}), 400),
        (
            json!({"conversation_id": conv, "period": "1h", "reason": "a\u{1b}[2Jb"}),
            400,
        ),
        (json!({"conversation_id": 999, "period": "1h"}), 404),
    ] {
        assert_eq!(block(&mut a, body.clone()).0, status, "{body}");
    }
    let (status, v) = block(
        &mut a,
        json!({"conversation_id": conv, "period": "1h", "reason": "spam"}),
    );
    assert_eq!(status, 201, "{v}");
    let first = v["id"].as_i64().unwrap();
    // Her chat ends.
    loop {
        let f = mallory.recv_type("conversation");
        if f["status"] == "closed" {
            break;
        }
    }
    // A new start from her browser is refused; nothing is created.
    let mut again = widget(&server, &site, "Mallory's browser");
    let refused = start(&mut again, "Mallory");
    assert_eq!(refused["code"], "blocked", "{refused}");
    // Another browser at the same address is not caught by a block of the browser alone.
    let mut other = widget(&server, &site, "Olga's browser");
    let olga = start(&mut other, "Olga");
    assert_eq!(olga["type"], "welcome", "{olga}");

    // Blocking Olga's chat with her address catches every browser behind that address.
    let olga_conv = olga["conversation_id"].as_i64().unwrap();
    let (status, v) = block(
        &mut a,
        json!({"conversation_id": olga_conv, "period": "1d", "address": true}),
    );
    assert_eq!(status, 201, "{v}");
    let second = v["id"].as_i64().unwrap();
    let mut third = widget(&server, &site, "a third browser");
    assert_eq!(start(&mut third, "Tom")["code"], "blocked");

    // The list shows both, with what they catch and who made them.
    let list = a.get("/api/blocks").json();
    let rows = list["blocks"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{list}");
    assert_eq!(rows[0]["id"], second);
    assert_eq!(rows[0]["address"], "127.0.0.0");
    assert_eq!(rows[0]["by_key"], true);
    assert_eq!(rows[1]["reason"], "spam");
    assert_eq!(rows[1]["created_by"], "Ann");
    assert!(rows[1]["address"].is_null());
    assert!(
        !list.to_string().contains("visitor_key"),
        "the key itself is not shown"
    );

    // Lifted early: the address is free again (the browser block of the first still holds).
    assert_eq!(a.delete(&format!("/api/blocks/{second}")).status, 204);
    assert_eq!(a.delete(&format!("/api/blocks/{second}")).status, 404);
    let mut fourth = widget(&server, &site, "a fourth browser");
    assert_eq!(start(&mut fourth, "Tina")["type"], "welcome");
    let mut still = widget(&server, &site, "Mallory's browser");
    assert_eq!(start(&mut still, "Mallory")["code"], "blocked");

    // An address block for an hour ends by itself.
    let mut fifth = widget(&server, &site, "a fifth browser");
    let c5 = start(&mut fifth, "Fritz")["conversation_id"]
        .as_i64()
        .unwrap();
    let (status, _) = block(
        &mut a,
        json!({"conversation_id": c5, "period": "1h", "address": true}),
    );
    assert_eq!(status, 201);
    let mut sixth = widget(&server, &site, "a sixth browser");
    assert_eq!(start(&mut sixth, "Sara")["code"], "blocked");
    k.advance_clock(Duration::from_secs(3601));
    let mut seventh = widget(&server, &site, "a seventh browser");
    assert_eq!(start(&mut seventh, "Sven")["type"], "welcome");

    // Every block and lift is in the audit trail (the reason is not).
    let trail = k.json(&["audit", "list", "acme", "--limit", "500"]);
    let actions: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["result"] == "success")
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("block."))
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "block.create").count(),
        3,
        "{trail}"
    );
    assert_eq!(actions.iter().filter(|a| **a == "block.lift").count(), 1);
    assert!(trail.to_string().contains(&format!("block#{first}")));
    assert!(!trail.to_string().contains("spam"));
}

#[test]
fn blocking_needs_a_signed_in_agent_and_the_csrf_token() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let mut v = widget(&server, &site, "someone");
    let conv = start(&mut v, "Someone")["conversation_id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        Browser::new(&server.base)
            .post_json(
                "/api/blocks",
                &json!({"conversation_id": conv, "period": "1h"})
            )
            .status,
        401
    );
    // Without the CSRF token and our origin: refused before anything is done.
    let mut bare = Browser::new(&server.base);
    bare.login("acme", "ann@acme.example", &pw);
    assert_eq!(
        bare.post_json(
            "/api/blocks",
            &json!({"conversation_id": conv, "period": "1h"})
        )
        .status,
        403
    );
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    assert_eq!(
        block(&mut a, json!({"conversation_id": conv, "period": "1h"})).0,
        201
    );
    assert_eq!(
        a.get("/api/blocks").json()["blocks"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// Leaves an offline message from a browser with this User-Agent on the shop's page.
fn leave_offline(server: &Server, site: &str, ua: &str, text: &str) -> crate::common::Res {
    let mut b = Browser::new(&server.base);
    b.headers
        .retain(|(k, _)| k != "Origin" && !k.eq_ignore_ascii_case("User-Agent"));
    b.headers.push(("Origin".into(), SHOP.into()));
    b.headers.push(("User-Agent".into(), ua.into()));
    b.post_json(
        "/api/widget/offline",
        &json!({"site": site, "name": "M", "email": "m@example.org", "message": text,
                "consent": true, "lang": "de"}),
    )
}

#[test]
fn a_visitor_blocked_from_the_visitor_list_can_neither_chat_nor_leave_a_message() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let (_b, mut ann) = agent(&server, &pw);
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    ann.recv_type("visitors");
    // Mallory browses the shop; she is in the visitor list, not in a chat.
    crate::tracking::view(
        &server,
        &site,
        "Mallory's browser",
        "aaaaaaaaaaaaaaa1",
        "https://shop.example/",
        "Home",
    );
    let v = crate::tracking::visitor_where(&mut ann, |_| true);
    let id = v["visitor_id"].as_i64().unwrap();
    assert_eq!(
        block(&mut a, json!({"visitor_id": 999_999, "period": "1h"})).0,
        400,
        "not on the site"
    );
    let (status, b) = block(
        &mut a,
        json!({"visitor_id": id, "period": "1d", "reason": "threats"}),
    );
    assert_eq!(status, 201, "{b}");
    let listed = a.get("/api/blocks").json();
    assert_eq!(listed["blocks"][0]["by_key"], true, "{listed}");
    assert!(listed["blocks"][0]["conversation_id"].is_null());
    assert!(listed["blocks"][0]["address"].is_null());

    // Her browser can start no chat, and the offline form is refused on the server too.
    let mut w = widget(&server, &site, "Mallory's browser");
    assert_eq!(start(&mut w, "Mallory")["code"], "blocked");
    let refused = leave_offline(&server, &site, "Mallory's browser", "I am back");
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.json()["error"]["code"], "blocked");
    assert_eq!(
        crate::chat::db_count(&k, "SELECT count(*) FROM offline_messages"),
        0
    );
    // Someone else at the same address is not caught by a block of her browser.
    let olga = leave_offline(&server, &site, "Olga's browser", "Rückruf bitte");
    assert_eq!(olga.status, 201, "{}", olga.body);

    // The block ends by itself; then her message goes through.
    k.advance_clock(Duration::from_secs(86_401));
    let later = leave_offline(&server, &site, "Mallory's browser", "sorry");
    assert_eq!(later.status, 201, "{}", later.body);
    assert_eq!(
        crate::chat::db_count(&k, "SELECT count(*) FROM offline_messages"),
        2
    );
}

#[test]
fn ended_blocks_are_purged_by_retention_and_blocks_in_force_kept() {
    let (k, pw, site) = setup();
    let mut server = k.server(&[]);
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let mut ids = Vec::new();
    for (ua, period) in [("one", "1h"), ("two", "30d"), ("three", "1d")] {
        let mut w = widget(&server, &site, ua);
        let conv = start(&mut w, ua)["conversation_id"].as_i64().unwrap();
        let (status, b) = block(&mut a, json!({"conversation_id": conv, "period": period}));
        assert_eq!(status, 201, "{b}");
        ids.push(b["id"].as_i64().unwrap());
    }
    // The day-long one is lifted at once: it ended then.
    assert_eq!(a.delete(&format!("/api/blocks/{}", ids[2])).status, 204);
    server.stop();
    k.ok(&["retention", "set", "acme", "--visitors", "1"]);
    let kept = || crate::chat::db_count(&k, "SELECT count(*) FROM blocks");
    // Half a day later nothing ended more than a day ago.
    k.advance_clock(Duration::from_secs(12 * 3600));
    assert_eq!(k.json(&["retention", "purge", "acme"])["blocks"], 0);
    assert_eq!(kept(), 3);
    // Two days later the hour-long and the lifted one go; the 30-day one holds and stays.
    k.advance_clock(Duration::from_secs(36 * 3600));
    let purged = k.json(&["retention", "purge", "acme"]);
    assert_eq!(purged["blocks"], 2, "{purged}");
    assert_eq!(kept(), 1);
    assert_eq!(
        crate::chat::db_count(&k, "SELECT id FROM blocks"),
        ids[1],
        "the one in force"
    );
}

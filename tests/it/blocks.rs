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

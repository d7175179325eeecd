//! The online look-up through the real server and a real business system (the test receiver,
//! `tests/tools/webhook_receiver.py`): the address guard when the address is saved, the
//! marked pre-chat field looked up when the chat starts, the secret header, answers that are
//! not JSON, too big or too slow shown to the agent as errors while the chat goes on, only
//! agents who may read the chat looking up, and audit rows without the value or the answer.

use crate::chat::{SHOP, agent, agent_as, say, setup, with_bob};
use crate::common::{Browser, Server, Ws, within};
use crate::webhooks::{Receiver, allow_loopback};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A form whose order number is looked up.
fn lookup_form() -> Value {
    json!({"fields": [
        {"name": "order", "kind": "text", "label_de": "Bestellnummer",
         "label_en": "Order number", "lookup": true},
    ], "departments": []})
}

fn admin(server: &Server, pw: &str) -> Browser {
    Browser::signed_in(&server.base, "ann@acme.example", pw)
}

/// Saves the site's look-up address; its secret (the first time).
fn save_address(a: &mut Browser, site: &str, url: &str) -> Value {
    let r = a.put_json(&format!("/api/sites/{site}/lookup"), &json!({ "url": url }));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// A visitor starts a chat with the order number filled; the conversation's id.
fn start_with_order(server: &Server, site: &str, order: &str) -> (Ws, i64) {
    let mut v = Ws::visitor(&server.base, site, SHOP).unwrap();
    v.send(
        json!({"type": "start", "consent": true, "notice_version": "1", "name": "Vera",
                  "lang": "de", "fields": {"order": order}}),
    );
    let w = v.recv_type("welcome");
    (v, w["conversation_id"].as_i64().unwrap())
}

/// Waits until the chat's look-up is no longer pending; the answer of the agent API.
fn settled(a: &mut Browser, conv: i64) -> Value {
    let mut last = Value::Null;
    let ok = within(Duration::from_secs(15), || {
        let r = a.get(&format!("/api/conversations/{conv}/lookup"));
        assert_eq!(r.status, 200, "{}", r.body);
        last = r.json();
        last["lookup"].is_object() && last["lookup"]["state"] != "pending"
    });
    assert!(ok, "the look-up did not settle: {last}");
    last
}

fn look_up(a: &mut Browser, conv: i64, value: &str) -> Value {
    let r = a.post_json(
        &format!("/api/conversations/{conv}/lookup"),
        &json!({ "value": value }),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["lookup"].clone()
}

fn field<'a>(lookup: &'a Value, key: &str) -> &'a str {
    lookup["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["key"] == key)
        .and_then(|p| p["value"].as_str())
        .unwrap_or_else(|| panic!("no field {key} in {lookup}"))
}

#[test]
fn loopback_private_and_plain_http_addresses_are_refused_when_saved() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let mut a = admin(&server, &pw);
    for url in [
        "https://127.0.0.1/lookup",
        "https://[::1]/lookup",
        "https://[::ffff:127.0.0.1]/lookup",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.7/lookup",
        "https://0x7f000001/lookup",
        "http://shop.example/lookup",
        "https://user:pw@shop.example/lookup",
        "ftp://shop.example/",
    ] {
        let r = a.put_json(&format!("/api/sites/{site}/lookup"), &json!({ "url": url }));
        assert_eq!(r.status, 400, "{url}: {}", r.body);
        assert!(r.body.contains("look-up URL"), "{url}: {}", r.body);
    }
    let r = a.get(&format!("/api/sites/{site}/lookup"));
    assert_eq!(r.json()["url"], Value::Null);
    // Another tenant's site, or none: not found.
    let r = a.put_json(
        "/api/sites/site_0000/lookup",
        &json!({"url": "https://shop.example/x"}),
    );
    assert_eq!(r.status, 404, "{}", r.body);
}

#[test]
fn the_marked_field_is_looked_up_when_the_chat_starts_and_the_agent_sees_the_fields() {
    let rx = Receiver::start();
    let (k, pw, site) = setup();
    allow_loopback(&k);
    let server = k.server(&[]);
    let mut a = admin(&server, &pw);
    let r = a.put_json(&format!("/api/sites/{site}/form"), &lookup_form());
    assert_eq!(r.status, 200, "{}", r.body);
    let saved = save_address(&mut a, &site, &rx.url("/lookup"));
    let secret = saved["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("klk_"), "{saved}");
    // Saving again keeps the secret and does not show it again; reading never shows it.
    let again = save_address(&mut a, &site, &rx.url("/lookup"));
    assert_eq!(again["secret"], Value::Null);
    let shown = a.get(&format!("/api/sites/{site}/lookup"));
    assert_eq!(shown.json()["url"], rx.url("/lookup"));
    assert!(!shown.body.contains("klk_"), "{}", shown.body);
    // The visitor's form says nothing of the look-up.
    let frame = Browser::new(&server.base).get(&format!("/widget/frame?site={site}&lang=en"));
    assert!(!frame.body.contains("lookup"), "{}", frame.body);

    let (mut v, conv) = start_with_order(&server, &site, "AB-1234");
    let got = rx.wait_for(1);
    assert_eq!(got[0]["headers"]["kontor-lookup-secret"], secret.as_str());
    assert_eq!(got[0]["headers"]["content-type"], "application/json");
    let body: Value = serde_json::from_str(got[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, json!({"field": "order", "value": "AB-1234"}));

    let answer = settled(&mut a, conv);
    assert_eq!(answer["configured"], true);
    assert_eq!(answer["suggested"], "AB-1234");
    let l = &answer["lookup"];
    assert_eq!(l["state"], "done", "{l}");
    assert_eq!(l["by"], "form");
    assert_eq!(l["status"], 200);
    assert_eq!(field(l, "order"), "AB-1234");
    assert_eq!(field(l, "status"), "shipped");
    assert_eq!(
        field(l, "carrier"),
        r#"{"name":"DHL","tracking":"00340434"}"#
    );
    assert_eq!(field(l, "note"), "<img src=x onerror=alert(1)>");

    // The agent looks up another value.
    let l = look_up(&mut a, conv, "CD-5678");
    assert_eq!(l["state"], "done", "{l}");
    assert_eq!(l["by"], "agent");
    assert_eq!(field(&l, "order"), "CD-5678");
    assert_eq!(rx.wait_for(2).len(), 2);

    // The visitor's chat goes on and never hears of it.
    say(&mut v, None, "v1", "Wo bleibt meine Bestellung?");
    let (_b, mut ws) = agent(&server, &pw);
    ws.send(json!({"type": "accept", "conversation_id": conv}));
    while ws.recv_type("conversation")["status"] != "open" {}
    say(&mut ws, Some(conv), "a1", "Sie ist unterwegs.");
    let m = loop {
        let m = v.recv_type("message");
        if m["author"] == "agent" {
            break m;
        }
    };
    assert_eq!(m["text"], "Sie ist unterwegs.");
    assert!(!m.to_string().contains("shipped"));

    // The audit trail names each call, never the value or the answer.
    let audit = a.get("/api/audit?action=lookup").json();
    let rows = audit["entries"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{audit}");
    for row in rows {
        assert_eq!(row["object"], format!("conversation#{conv} HTTP 200"));
        assert_eq!(row["result"], "success");
        let text = row.to_string();
        for secret_bit in ["AB-1234", "CD-5678", "shipped", "DHL"] {
            assert!(!text.contains(secret_bit), "{text}");
        }
    }
    let actors: Vec<&str> = rows.iter().map(|r| r["actor"].as_str().unwrap()).collect();
    assert!(
        actors.contains(&"system") && actors.contains(&"ann@acme.example"),
        "{actors:?}"
    );
}

#[test]
fn bad_answers_are_errors_for_the_agent_and_the_chat_goes_on() {
    let rx = Receiver::start();
    let (k, pw, site) = setup();
    allow_loopback(&k);
    let server = k.server(&[]);
    let mut a = admin(&server, &pw);
    let (mut v, conv) = {
        let mut v = Ws::visitor(&server.base, &site, SHOP).unwrap();
        v.send(
            json!({"type": "start", "consent": true, "notice_version": "1",
                      "name": "Vera", "lang": "de"}),
        );
        let w = v.recv_type("welcome");
        (v, w["conversation_id"].as_i64().unwrap())
    };
    // No address yet: said so.
    let l = look_up(&mut a, conv, "AB-1234");
    assert_eq!(l["error"]["code"], "not_configured", "{l}");
    for (path, code) in [
        ("/notjson", "not_json"),
        ("/huge", "too_big"),
        ("/fail", "http_status"),
        ("/redirect", "http_status"),
    ] {
        save_address(&mut a, &site, &rx.url(path));
        let l = look_up(&mut a, conv, "AB-1234");
        assert_eq!(l["state"], "failed", "{path}: {l}");
        assert_eq!(l["error"]["code"], code, "{path}: {l}");
        assert!(l["fields"].as_array().unwrap().is_empty());
        assert!(
            !l["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Order page")
        );
    }
    // A system that does not answer in time: three seconds, then an error.
    for path in ["/slow", "/hang"] {
        save_address(&mut a, &site, &rx.url(path));
        let began = Instant::now();
        let l = look_up(&mut a, conv, "AB-1234");
        assert!(
            began.elapsed() < Duration::from_secs(8),
            "{:?}",
            began.elapsed()
        );
        assert_eq!(l["error"]["code"], "timeout", "{path}: {l}");
    }
    // A value that cannot be sent.
    let r = a.post_json(
        &format!("/api/conversations/{conv}/lookup"),
        &json!({"value": "  "}),
    );
    assert_eq!(r.json()["lookup"]["error"]["code"], "invalid_value");
    let r = a.post_json(
        &format!("/api/conversations/{conv}/lookup"),
        &json!({"value": 7}),
    );
    assert_eq!(r.status, 400, "{}", r.body);

    // The chat goes on.
    say(&mut v, None, "v1", "Hallo?");
    let audit = a.get("/api/audit?action=lookup&result=failure").json();
    let objects: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["object"].as_str().unwrap())
        .collect();
    // Six calls reached the system or timed out; the two refused values never left.
    assert_eq!(objects.len(), 6, "{objects:?}");
    let c = format!("conversation#{conv}");
    for how in ["HTTP 500", "HTTP 302", "HTTP 200", "timeout"] {
        assert!(
            objects.contains(&format!("{c} {how}").as_str()),
            "{objects:?}"
        );
    }
}

#[test]
fn an_address_allowed_at_saving_is_checked_again_at_the_call() {
    let rx = Receiver::start();
    let (k, pw, site) = setup();
    allow_loopback(&k);
    let mut server = k.server(&[]);
    let mut a = admin(&server, &pw);
    save_address(&mut a, &site, &rx.url("/lookup"));
    server.stop();
    // The operator takes the exception back: the saved loopback address is refused.
    std::fs::write(k.config_file(), "").unwrap();
    let server = k.server(&[]);
    let mut a = admin(&server, &pw);
    let (_v, conv) = {
        let mut v = Ws::visitor(&server.base, &site, SHOP).unwrap();
        v.send(json!({"type": "start", "consent": true, "notice_version": "1", "lang": "de"}));
        let w = v.recv_type("welcome");
        (v, w["conversation_id"].as_i64().unwrap())
    };
    let l = look_up(&mut a, conv, "AB-1234");
    assert_eq!(l["error"]["code"], "refused", "{l}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(rx.requests().is_empty(), "the loopback address was called");
}

#[test]
fn only_agents_who_may_read_the_chat_look_up() {
    let rx = Receiver::start();
    let (k, pw, site) = setup();
    with_bob(&k, &pw);
    allow_loopback(&k);
    let server = k.server(&[]);
    let mut a = admin(&server, &pw);
    let r = a.put_json(&format!("/api/sites/{site}/form"), &lookup_form());
    assert_eq!(r.status, 200, "{}", r.body);
    save_address(&mut a, &site, &rx.url("/lookup"));
    let (_v, conv) = start_with_order(&server, &site, "AB-1234");
    rx.wait_for(1);
    let (_ab, mut ann) = agent(&server, &pw);
    ann.send(json!({"type": "accept", "conversation_id": conv}));
    while ann.recv_type("conversation")["status"] != "open" {}
    // Bob may chat but not read Ann's chats.
    let (_bb, _bob_ws) = agent_as(&server, "bob@acme.example", &pw);
    let mut bob = Browser::signed_in(&server.base, "bob@acme.example", &pw);
    let r = bob.get(&format!("/api/conversations/{conv}/lookup"));
    assert_eq!(r.status, 404, "{}", r.body);
    let r = bob.post_json(
        &format!("/api/conversations/{conv}/lookup"),
        &json!({"value": "AB-1234"}),
    );
    assert_eq!(r.status, 404, "{}", r.body);
    let r = bob.put_json(
        &format!("/api/sites/{site}/lookup"),
        &json!({"url": rx.url("/lookup")}),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // Nothing was called for Bob (the one call is the chat's start).
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rx.requests().len(), 1, "{:?}", rx.requests());
    // An unknown chat is as unknown.
    assert_eq!(a.get("/api/conversations/999999/lookup").status, 404);
    // Without the CSRF token: refused.
    let mut no_csrf = admin(&server, &pw);
    no_csrf.headers.retain(|(k, _)| k != "X-CSRF-Token");
    let r = no_csrf.post_json(
        &format!("/api/conversations/{conv}/lookup"),
        &json!({"value": "AB-1234"}),
    );
    assert_eq!(r.status, 403, "{}", r.body);
}

//! Automatic entries when a chat starts: the site's greeting once the visitor opted in, and,
//! behind others in the queue, their place with the usual wait measured from the last hour's
//! accepted chats (never invented). Both are marked as automatic for the visitor, the agent and
//! in the transcript.

use crate::chat::{SHOP, agent, setup};
use crate::common::{Browser, Server, Ws};
use serde_json::{Value, json};
use std::time::Duration;

/// Starts a chat (German) and returns the socket, its welcome and the automatic entries that
/// follow it.
fn start(
    server: &Server,
    site: &str,
    name: &str,
    ua: &str,
    autos: usize,
) -> (Ws, Value, Vec<Value>) {
    let mut ws = Ws::visitor_as(&server.base, site, SHOP, ua).unwrap();
    ws.send(json!({"type": "start", "consent": true, "notice_version": "1", "name": name, "lang": "de"}));
    let welcome = ws.recv_type("welcome");
    let entries = (0..autos).map(|_| ws.recv_type("message")).collect();
    (ws, welcome, entries)
}

#[test]
fn greeting_and_queue_place_are_automatic_entries_with_a_measured_wait() {
    let (k, pw, site) = setup();
    k.ok(&[
        "site",
        "set",
        "acme",
        &site,
        "--greeting-de",
        "Willkommen bei Acme!",
        "--greeting-en",
        "Welcome to Acme!",
    ]);
    let server = k.server(&[]);
    let (_b, mut ann) = agent(&server, &pw);

    // First in line: the greeting only (the widget shows the place itself).
    let (_a, first, autos) = start(&server, &site, "Anna", "browser A", 1);
    let a_conv = first["conversation_id"].as_i64().unwrap();
    assert_eq!(autos[0]["author"], "auto");
    assert_eq!(autos[0]["text"], "Willkommen bei Acme!");
    assert_eq!(autos[0]["seq"], 1);

    // Second in line, nothing accepted in the last hour: the place, no promised time.
    let (mut b, second, autos) = start(&server, &site, "Bert", "browser B", 2);
    let b_conv = second["conversation_id"].as_i64().unwrap();
    assert_eq!(autos[1]["author"], "auto");
    assert_eq!(
        autos[1]["text"],
        "Sie sind Nummer 2 in der Warteschlange. Gleich ist jemand für Sie da."
    );

    // Anna waited 90 s before Ann took her chat; the next visitor behind Bert hears of it,
    // rounded up to whole minutes.
    k.advance_clock(Duration::from_secs(90));
    ann.send(json!({"type": "accept", "conversation_id": a_conv}));
    ann.recv_type("conversation");
    let (_c, _, autos) = start(&server, &site, "Carla", "browser C", 2);
    assert_eq!(
        autos[1]["text"],
        "Sie sind Nummer 2 in der Warteschlange. Chats werden hier meist innerhalb von 2 Minuten beantwortet."
    );

    // The agent reads them as automatic in the chat's log; the transcript marks them too.
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let log = a
        .get(&format!("/api/conversations/{b_conv}/messages"))
        .json();
    let authors: Vec<&str> = log["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["author"].as_str().unwrap())
        .collect();
    assert_eq!(authors, ["auto", "auto"], "{log}");
    let token = second["token"].as_str().unwrap();
    let t =
        Browser::new(&server.base).post_json("/api/widget/transcript", &json!({"token": token}));
    assert!(
        t.body
            .contains("Automatische Nachricht: Willkommen bei Acme!")
            && t.body.contains("Automatische Nachricht: Sie sind Nummer 2"),
        "{}",
        t.body
    );
    // The visitor's own first message comes after them.
    b.send(json!({"type": "message", "client_id": "b-1", "text": "Hallo"}));
    assert_eq!(b.recv_type("ack")["seq"], 3);
}

#[test]
fn the_business_message_when_an_agent_takes_a_chat_is_automatic_and_in_the_visitors_language() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    for bad in [
        json!({"accept_message_de": "a\u{1b}[2Jb"}),
        json!({"accept_message_en": "x".repeat(501)}),
        json!({"accept_message_fr": "Bonjour"}),
    ] {
        assert_eq!(a.put_json("/api/settings", &bad).status, 400, "{bad}");
    }
    let r = a.put_json(
        "/api/settings",
        &json!({"accept_message_de": "Hallo, hier ist Ihr Team.", "accept_message_en": "Hello, your team here."}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // Switching the typing preview leaves the message as it is.
    let r = a.put_json("/api/settings", &json!({"typing_preview": true}));
    assert_eq!(r.json()["accept_message_de"], "Hallo, hier ist Ihr Team.");
    let (_b, mut ann) = agent(&server, &pw);
    for (lang, want) in [
        ("de", "Hallo, hier ist Ihr Team."),
        ("fr", "Hello, your team here."),
    ] {
        let mut v = Ws::visitor_as(&server.base, &site, SHOP, lang).unwrap();
        v.send(json!({"type": "start", "consent": true, "notice_version": "1", "lang": lang}));
        let conv = v.recv_type("welcome")["conversation_id"].as_i64().unwrap();
        ann.send(json!({"type": "accept", "conversation_id": conv}));
        let m = loop {
            let m = v.recv_type("message");
            if m["author"] == "auto" {
                break m;
            }
        };
        assert_eq!(m["text"], want, "{lang}");
        ann.send(json!({"type": "close", "conversation_id": conv}));
    }
}

#[test]
fn a_chat_that_waits_too_long_alerts_its_agents_again_once() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    for bad in [
        json!({"queue_alert_secs": 10}),
        json!({"queue_alert_secs": 7200}),
    ] {
        assert_eq!(a.put_json("/api/settings", &bad).status, 400, "{bad}");
    }
    assert_eq!(a.get("/api/settings").json()["queue_alert_secs"], 120);
    let (_b, mut ann) = agent(&server, &pw);
    let (_v, welcome, _) = start(&server, &site, "Vera", "browser V", 0);
    let conv = welcome["conversation_id"].as_i64().unwrap();
    let alerts = |ws: &mut Ws| -> Vec<Value> {
        ws.drain(Duration::from_millis(1500))
            .into_iter()
            .filter(|f| f["type"] == "queue_alert")
            .collect()
    };
    // Not before the default two minutes.
    k.advance_clock(Duration::from_secs(100));
    assert!(alerts(&mut ann).is_empty());
    k.advance_clock(Duration::from_secs(21));
    let got = alerts(&mut ann);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["conversation_id"], conv);
    assert_eq!(got[0]["visitor_name"], "Vera");
    assert!(got[0]["waiting_secs"].as_i64().unwrap() >= 120);
    // Once per chat.
    k.advance_clock(Duration::from_secs(300));
    assert!(alerts(&mut ann).is_empty());

    // Switched off: a new waiting chat is never alerted again.
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let r = a.put_json("/api/settings", &json!({"queue_alert_secs": 0}));
    assert_eq!(r.status, 200, "{}", r.body);
    let _w = start(&server, &site, "Willi", "browser W", 0);
    k.advance_clock(Duration::from_secs(600));
    assert!(alerts(&mut ann).is_empty());
}

#[test]
fn a_visitor_waiting_too_long_may_leave_the_chat_as_a_message_and_it_goes_on_waiting() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    assert_eq!(
        a.put_json("/api/settings", &json!({"offline_offer_secs": 5}))
            .status,
        400
    );
    assert_eq!(a.get("/api/settings").json()["offline_offer_secs"], 300);
    let r = a.put_json("/api/settings", &json!({"offline_offer_secs": 60}));
    assert_eq!(r.status, 200, "{}", r.body);
    let (_b, mut ann) = agent(&server, &pw);
    let (mut v, welcome, _) = start(&server, &site, "Vera", "browser V", 0);
    let conv = welcome["conversation_id"].as_i64().unwrap();
    let token = welcome["token"].as_str().unwrap().to_string();
    for (i, text) in ["Wo ist mein Paket?", "Bestellung 4711"].iter().enumerate() {
        v.send(json!({"type": "message", "client_id": format!("v-{i}"), "text": text}));
        v.recv_type("ack");
    }
    let offers = |ws: &mut Ws| -> usize {
        ws.drain(Duration::from_millis(1500))
            .iter()
            .filter(|f| f["type"] == "offline_offer")
            .count()
    };
    k.advance_clock(Duration::from_secs(30));
    assert_eq!(offers(&mut v), 0, "not before the offer time");
    k.advance_clock(Duration::from_secs(31));
    assert_eq!(offers(&mut v), 1);

    // The visitor leaves it as a message: what they wrote, their name and this address.
    let mut w = Browser::new(&server.base);
    let bad = w.post_json(
        "/api/widget/offline-from-chat",
        &json!({"token": token, "email": "vera@@example"}),
    );
    assert_eq!(bad.status, 400);
    let ok = w.post_json(
        "/api/widget/offline-from-chat",
        &json!({"token": token, "email": "vera@example.org"}),
    );
    assert_eq!(ok.status, 201, "{}", ok.body);
    let again = w.post_json(
        "/api/widget/offline-from-chat",
        &json!({"token": token, "email": "vera@example.org"}),
    );
    assert_eq!(again.status, 409);
    let inbox = a.get("/api/offline").json();
    let m = &inbox["messages"][0];
    assert_eq!(m["name"], "Vera");
    assert_eq!(m["email"], "vera@example.org");
    assert_eq!(m["message"], "Wo ist mein Paket?\nBestellung 4711");

    // The chat still waits: an agent may take it while the visitor is there.
    ann.send(json!({"type": "accept", "conversation_id": conv}));
    loop {
        let f = ann.recv_type("conversation");
        if f["conversation_id"] == conv && f["status"] == "open" {
            break;
        }
    }
    // Taken: it cannot be left as a message any more.
    let late = Browser::new(&server.base).post_json(
        "/api/widget/offline-from-chat",
        &json!({"token": token, "email": "vera@example.org"}),
    );
    assert_eq!(late.status, 409);
}

#[test]
fn a_department_may_set_its_own_waiting_times() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let r = a.post_json("/api/departments", &json!({"name": "Sales"}));
    assert_eq!(r.status, 201, "{}", r.body);
    let sales = r.json()["id"].as_i64().unwrap();
    assert!(r.json()["queue_alert_secs"].is_null());
    let path = format!("/api/departments/{sales}");
    for bad in [
        json!({"queue_alert_secs": 10}),
        json!({"offline_offer_secs": 3601}),
        json!({"queue_alert_secs": -1}),
        json!({"queue_alert_secs": "soon"}),
        json!({"wait": 30}),
    ] {
        let r = a.put_json(&path, &bad);
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    let r = a.put_json(
        &path,
        &json!({"queue_alert_secs": 30, "offline_offer_secs": 0}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // A rename keeps the times.
    let r = a.put_json(&path, &json!({"name": "Vertrieb"}));
    assert_eq!(r.json()["queue_alert_secs"], 30, "{}", r.body);
    let listed = a.get("/api/departments").json();
    assert_eq!(listed["departments"][0]["name"], "Vertrieb");
    assert_eq!(listed["departments"][0]["queue_alert_secs"], 30);
    assert_eq!(listed["departments"][0]["offline_offer_secs"], 0);

    let (_b, mut ann) = agent(&server, &pw);
    let mut s = Ws::visitor_as(&server.base, &site, SHOP, "browser S").unwrap();
    s.send(json!({"type": "start", "consent": true, "notice_version": "1", "name": "Sina", "department": sales}));
    let in_sales = s.recv_type("welcome")["conversation_id"].clone();
    let (mut g, welcome, _) = start(&server, &site, "Gerd", "browser G", 0);
    let general = welcome["conversation_id"].clone();
    let frames = |ws: &mut Ws, kind: &str| -> Vec<Value> {
        ws.drain(Duration::from_millis(1500))
            .into_iter()
            .filter(|f| f["type"] == kind)
            .map(|f| f["conversation_id"].clone())
            .collect()
    };
    // Sales alerts after its own 30 s; the chat without a department after the tenant's 120 s.
    k.advance_clock(Duration::from_secs(31));
    assert_eq!(
        frames(&mut ann, "queue_alert"),
        std::slice::from_ref(&in_sales)
    );
    k.advance_clock(Duration::from_secs(90));
    assert_eq!(
        frames(&mut ann, "queue_alert"),
        std::slice::from_ref(&general)
    );
    // Sales never offers a message (0); the other chat after the tenant's 300 s.
    k.advance_clock(Duration::from_secs(200));
    assert_eq!(frames(&mut g, "offline_offer"), [general]);
    assert!(frames(&mut s, "offline_offer").is_empty());

    // `null` follows the tenant's times again.
    let mut a = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let r = a.put_json(&path, &json!({"queue_alert_secs": null}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["queue_alert_secs"].is_null());
    assert_eq!(r.json()["offline_offer_secs"], 0);
}

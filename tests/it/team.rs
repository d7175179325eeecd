//! Working as a team: internal notes, transfers to agents and departments, department
//! routing, capacity changes that take effect at once, presence.

use crate::chat::{SHOP, agent, agent_as, setup, visitor, with_bob};
use crate::common::Ws;
use serde_json::{Value, json};
use std::time::Duration;

/// Takes a waiting chat and waits until it is open.
pub fn accept(ws: &mut Ws, conv: i64) {
    ws.send(json!({"type": "accept", "conversation_id": conv}));
    loop {
        let c = ws.recv_type("conversation");
        if c["conversation_id"] == conv && c["status"] == "open" {
            return;
        }
    }
}

fn frames_of(ws: &mut Ws, ty: &str) -> Vec<Value> {
    ws.drain(Duration::from_millis(400))
        .into_iter()
        .filter(|f| f["type"] == ty)
        .collect()
}

#[test]
fn notes_reach_agents_and_never_the_visitor() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let (b, mut ann) = agent(&server, &pw);
    let mut ann2 = Ws::agent(&b); // a second tab
    ann2.send(json!({"type": "hello"}));
    ann2.recv_type("ready");
    let (mut v, conv, _) = visitor(&server, &site, "Vera");
    accept(&mut ann, conv);
    ann.send(json!({"type": "note", "conversation_id": conv, "client_id": "n1", "text": "VIP customer, be nice"}));
    let noted = ann.recv_type("noted");
    assert_eq!(noted["client_id"], "n1");
    assert_eq!(ann2.recv_type("note")["text"], "VIP customer, be nice");
    // A retried note is stored once.
    ann.send(json!({"type": "note", "conversation_id": conv, "client_id": "n1", "text": "VIP customer, be nice"}));
    assert_eq!(ann.recv_type("noted")["id"], noted["id"]);
    let seen = v.drain(Duration::from_millis(400));
    assert!(
        !seen.iter().any(|f| f.to_string().contains("VIP")),
        "visitor saw a note: {seen:?}"
    );
    // A reconnecting agent gets the notes again.
    let mut ann3 = Ws::agent(&b);
    ann3.send(json!({"type": "hello"}));
    assert_eq!(ann3.recv_type("note")["text"], "VIP customer, be nice");
    // Resume replay for the visitor has no notes either.
    drop(v);
}

#[test]
fn a_transferred_chat_moves_with_its_history_and_the_old_agent_loses_it() {
    let (k, pw, site) = setup();
    with_bob(&k, &pw);
    let server = k.server(&[]);
    let (_a, mut ann) = agent(&server, &pw);
    let (_b, mut bob) = agent_as(&server, "bob@acme.example", &pw);
    let (mut v, conv, _) = visitor(&server, &site, "Vera");
    accept(&mut ann, conv);
    v.send(json!({"type": "message", "client_id": "m1", "text": "Ich brauche den Vertrieb"}));
    v.recv_type("ack");
    ann.send(
        json!({"type": "note", "conversation_id": conv, "client_id": "n1", "text": "wants sales"}),
    );
    ann.recv_type("noted");
    // To oneself or to nobody: refused.
    ann.send(json!({"type": "transfer", "conversation_id": conv, "to_agent": 1}));
    assert_eq!(ann.recv_type("error")["code"], "agent_unavailable");
    ann.send(json!({"type": "transfer", "conversation_id": conv}));
    assert_eq!(ann.recv_type("error")["code"], "invalid_input");

    ann.send(json!({"type": "transfer", "conversation_id": conv, "to_agent": 2}));
    let gone = ann.recv_type("conversation");
    assert_eq!(
        (gone["status"].as_str(), gone["agent_id"].as_i64()),
        (Some("transferred"), Some(2))
    );
    let mine = bob.recv_type("conversation");
    assert_eq!(
        (mine["conversation_id"].as_i64(), mine["status"].as_str()),
        (Some(conv), Some("open"))
    );
    let history: Vec<Value> = bob.drain(Duration::from_millis(400));
    assert!(
        history
            .iter()
            .any(|f| f["type"] == "message" && f["text"] == "Ich brauche den Vertrieb")
    );
    assert!(
        history
            .iter()
            .any(|f| f["type"] == "note" && f["text"] == "wants sales")
    );
    assert_eq!(v.recv_type("agent")["name"], "Bob");

    // Ann has no access any more; Bob has.
    ann.send(
        json!({"type": "message", "conversation_id": conv, "client_id": "a9", "text": "still me?"}),
    );
    assert_eq!(ann.recv_type("error")["code"], "not_found");
    bob.send(json!({"type": "message", "conversation_id": conv, "client_id": "b1", "text": "Bob vom Vertrieb"}));
    bob.recv_type("ack");
    loop {
        let m = v.recv_type("message");
        if m["text"] == "Bob vom Vertrieb" {
            assert_eq!(m["author_name"], "Bob");
            break;
        }
    }
    let later = frames_of(&mut ann, "message");
    assert!(
        later.is_empty(),
        "the previous agent still receives: {later:?}"
    );
}

#[test]
fn departments_route_chats_to_their_agents() {
    let (k, pw, site) = setup();
    with_bob(&k, &pw);
    let sales = k.json(&["department", "add", "acme", "Sales"])["departments"][0]["id"]
        .as_i64()
        .unwrap();
    assert!(
        k.fails(&["department", "add", "acme", "Sales"])
            .contains("exists")
    );
    k.ok(&[
        "agent",
        "set",
        "acme",
        "bob@acme.example",
        "--department",
        "Sales",
    ]);
    assert!(
        k.fails(&[
            "agent",
            "set",
            "acme",
            "bob@acme.example",
            "--department",
            "Nope"
        ])
        .contains("not found")
    );
    assert!(
        k.fails(&[
            "agent",
            "set",
            "acme",
            "bob@acme.example",
            "--capacity",
            "0"
        ])
        .contains("capacity")
    );
    assert!(k.ok(&["department", "list", "acme"]).contains("Sales"));
    let server = k.server(&[]);
    let (_a, mut ann) = agent(&server, &pw);
    let (_b, mut bob) = agent_as(&server, "bob@acme.example", &pw);

    // A visitor asking for Sales is offered to Bob, though Ann (id 1) would win a tie.
    let mut v = Ws::visitor(&server.base, &site, SHOP).unwrap();
    v.send(json!({"type": "start", "consent": true, "notice_version": "1", "department": sales}));
    let conv = v.recv_type("welcome")["conversation_id"].as_i64().unwrap();
    let q = frames_of(&mut ann, "queue");
    let last = q.last().unwrap();
    assert_eq!(last["waiting"][0]["conversation_id"], conv);
    assert_eq!(last["waiting"][0]["offered_to"], 2);
    let mut bad = Ws::visitor(&server.base, &site, SHOP).unwrap();
    bad.send(json!({"type": "start", "consent": true, "notice_version": "1", "department": 999}));
    assert_eq!(bad.recv_type("error")["code"], "invalid_input");

    // A chat Ann has goes back to the queue for Sales.
    let (_v2, conv2, _) = visitor(&server, &site, "Otto");
    accept(&mut ann, conv2);
    ann.send(json!({"type": "transfer", "conversation_id": conv2, "to_department": sales}));
    assert_eq!(ann.recv_type("conversation")["status"], "transferred");
    let q = frames_of(&mut bob, "queue");
    let entry = q.last().unwrap()["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["conversation_id"] == conv2)
        .cloned()
        .unwrap();
    assert_eq!(entry["offered_to"], 2);
    accept(&mut bob, conv2);
}

#[test]
fn capacity_changes_take_effect_at_once_and_presence_is_shared() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let (_a, mut ann) = agent(&server, &pw);
    let presence = frames_of(&mut ann, "agents");
    let me = &presence.last().unwrap()["agents"][0];
    assert_eq!(
        (
            me["name"].as_str(),
            me["capacity"].as_i64(),
            me["status"].as_str()
        ),
        (Some("Ann"), Some(3), Some("online"))
    );

    k.ok(&[
        "agent",
        "set",
        "acme",
        "ann@acme.example",
        "--capacity",
        "1",
    ]);
    let presence = frames_of(&mut ann, "agents");
    assert_eq!(presence.last().unwrap()["agents"][0]["capacity"], 1);
    let (_v1, c1, _) = visitor(&server, &site, "");
    let (_v2, c2, _) = visitor(&server, &site, "");
    accept(&mut ann, c1);
    ann.send(json!({"type": "accept", "conversation_id": c2}));
    assert_eq!(ann.recv_type("error")["code"], "at_capacity");

    ann.send(json!({"type": "status", "status": "away"}));
    let presence = frames_of(&mut ann, "agents");
    assert_eq!(presence.last().unwrap()["agents"][0]["status"], "away");
}

#[test]
fn canned_responses_are_shared_by_admins_or_kept_by_agents() {
    let (k, pw, _) = setup();
    with_bob(&k, &pw);
    let server = k.server(&[]);
    let mut ann = crate::common::Browser::new(&server.base);
    ann.login("acme", "ann@acme.example", &pw);
    let mut bob = crate::common::Browser::new(&server.base);
    bob.login("acme", "bob@acme.example", &pw);
    let csrf = |b: &mut crate::common::Browser| {
        b.get("/api/session").json()["csrf"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (ca, cb) = (csrf(&mut ann), csrf(&mut bob));
    let own = server.base.clone();
    let with = |b: &mut crate::common::Browser, token: &str| {
        b.headers = vec![
            ("Origin".into(), own.clone()),
            ("X-CSRF-Token".into(), token.into()),
        ];
    };
    with(&mut ann, &ca);
    let res = ann.post_json(
        "/api/canned",
        &json!({"shortcut": "/Hallo", "text": "Guten Tag, wie kann ich helfen?", "shared": true}),
    );
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(
        ann.post_json(
            "/api/canned",
            &json!({"shortcut": "hallo", "text": "x", "shared": true})
        )
        .status,
        409
    );
    assert_eq!(
        ann.post_json("/api/canned", &json!({"shortcut": "a b", "text": "x"}))
            .status,
        400
    );
    with(&mut bob, &cb);
    assert_eq!(
        bob.post_json(
            "/api/canned",
            &json!({"shortcut": "team", "text": "x", "shared": true})
        )
        .status,
        403
    );
    let mine = bob
        .post_json(
            "/api/canned",
            &json!({"shortcut": "bye", "text": "Schönen Tag noch!"}),
        )
        .json();
    let list = bob.get("/api/canned").json();
    let shortcuts: Vec<&str> = list["canned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["shortcut"].as_str().unwrap())
        .collect();
    assert_eq!(shortcuts, ["bye", "hallo"]);
    let ann_list = ann.get("/api/canned").json();
    assert_eq!(
        ann_list["canned"].as_array().unwrap().len(),
        1,
        "Bob's own stays his"
    );
    // Without the CSRF header: refused.
    let mut anon_csrf = crate::common::Browser::new(&server.base);
    anon_csrf.cookies = bob.cookies.clone();
    anon_csrf.headers = vec![("Origin".into(), own.clone())];
    assert_eq!(
        anon_csrf
            .post_json("/api/canned", &json!({"shortcut": "x", "text": "y"}))
            .status,
        403
    );
    // Ann cannot delete Bob's; Bob can.
    let id = mine["id"].as_i64().unwrap();
    assert_eq!(ann.delete(&format!("/api/canned/{id}")).status, 404);
    assert_eq!(bob.delete(&format!("/api/canned/{id}")).status, 204);
}

#[test]
fn the_typing_preview_is_off_until_an_admin_turns_it_on() {
    let (k, pw, site) = setup();
    with_bob(&k, &pw);
    let server = k.server(&[]);
    let (mut ab, mut ag) = agent(&server, &pw);
    let (mut v, conv, _) = visitor(&server, &site, "");
    accept(&mut ag, conv);
    v.send(json!({"type": "typing", "text": "meine Kundennummer ist"}));
    let t = ag.recv_type("typing");
    assert!(t.get("text").is_none(), "preview is off by default: {t}");
    assert_eq!(ab.get("/api/settings").json()["typing_preview"], false);
    let frame =
        crate::common::Browser::new(&server.base).get(&format!("/widget/frame?site={site}"));
    assert!(
        frame.body.contains("data-typing-preview=\"false\""),
        "the widget is told"
    );

    let csrf = ab.get("/api/session").json()["csrf"]
        .as_str()
        .unwrap()
        .to_string();
    let own = server.base.clone();
    let mut bob = crate::common::Browser::new(&server.base);
    bob.login("acme", "bob@acme.example", &pw);
    let bcsrf = bob.get("/api/session").json()["csrf"]
        .as_str()
        .unwrap()
        .to_string();
    bob.headers = vec![
        ("Origin".into(), own.clone()),
        ("X-CSRF-Token".into(), bcsrf),
    ];
    assert_eq!(
        bob.put_json("/api/settings", &json!({"typing_preview": true}))
            .status,
        403,
        "agents cannot"
    );
    ab.headers = vec![("Origin".into(), own), ("X-CSRF-Token".into(), csrf)];
    assert_eq!(
        ab.put_json("/api/settings", &json!({"typing_preview": true}))
            .status,
        200
    );
    // This visitor accepted a notice that did not mention the preview: still no draft.
    v.send(json!({"type": "typing", "text": "meine Kundennummer ist"}));
    let t = ag.recv_type("typing");
    assert!(
        t.get("text").is_none(),
        "draft of a visitor who was not told: {t}"
    );
    // A visitor whose notice said so.
    let mut told = Ws::visitor(&server.base, &site, SHOP).unwrap();
    told.send(json!({"type": "start", "consent": true, "notice_version": "1+preview"}));
    let conv2 = told.recv_type("welcome")["conversation_id"]
        .as_i64()
        .unwrap();
    accept(&mut ag, conv2);
    told.send(json!({"type": "typing", "text": "meine Kundennummer ist"}));
    loop {
        let t = ag.recv_type("typing");
        if t["conversation_id"] == conv2 {
            assert_eq!(t["text"], "meine Kundennummer ist");
            break;
        }
    }
}

//! Supervision: a supervisor watches Bob's live chat read-only, whispers to him (the visitor
//! never sees it) and takes the chat over; each is audited and shown to Bob. Agents without
//! `chats.supervise` are refused; a supervisor who stops watching, or whose dashboard closes,
//! gets nothing more and Bob is told.

use crate::chat::{agent, agent_as, say, setup, visitor, with_bob};
use crate::common::Ws;
use crate::team::accept;
use serde_json::{Value, json};
use std::time::Duration;

fn supervision(ws: &mut Ws, action: &str) -> Value {
    loop {
        let f = ws.recv_type("supervision");
        if f["action"] == action {
            return f;
        }
    }
}

fn texts(frames: &[Value]) -> String {
    frames
        .iter()
        .map(|f| f.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_supervisor_watches_whispers_and_takes_over_and_the_agent_sees_each() {
    let (k, pw, site) = setup();
    with_bob(&k, &pw);
    let server = k.server(&[]);
    let (_bb, mut bob) = agent_as(&server, "bob@acme.example", &pw);
    let (mut vis, conv, _) = visitor(&server, &site, "Vera");
    accept(&mut bob, conv);
    say(&mut vis, None, "v1", "Meine Bestellung fehlt");
    bob.recv_type("message");
    // Ann is an admin: her role has chats.supervise.
    let (_ab, mut ann) = agent(&server, &pw);
    ann.drain(Duration::from_millis(300));

    ann.send(json!({"type": "watch", "conversation_id": conv}));
    let shown = ann.recv_type("conversation");
    assert_eq!(shown["watching"], true);
    assert_eq!(shown["status"], "open");
    let mut replay = Vec::new();
    while replay
        .iter()
        .all(|m: &Value| m["text"] != "Meine Bestellung fehlt")
    {
        replay.push(ann.recv_type("message"));
    }
    let told = supervision(&mut bob, "watching");
    assert_eq!(told["supervisor_name"], "Ann");
    assert_eq!(told["conversation_id"], conv);

    // Live entries reach the watcher, from both sides.
    say(&mut vis, None, "v2", "Bestellnummer 4711");
    assert_eq!(ann.recv_type("message")["text"], "Bestellnummer 4711");
    bob.recv_type("message");
    bob.send(json!({"type": "message", "conversation_id": conv, "client_id": "b1", "text": "Ich schaue nach"}));
    assert_eq!(ann.recv_type("message")["text"], "Ich schaue nach");

    // A watcher cannot write into the chat; a whisper goes to Bob only.
    ann.send(
        json!({"type": "message", "conversation_id": conv, "client_id": "a0", "text": "nope"}),
    );
    assert_eq!(ann.recv_type("error")["code"], "not_found");
    ann.send(json!({"type": "whisper", "conversation_id": conv, "client_id": "w1", "text": "Frag nach der Rechnungsadresse"}));
    assert_eq!(ann.recv_type("noted")["client_id"], "w1");
    let note = bob.recv_type("note");
    assert_eq!(note["author_name"], "Ann");
    assert_eq!(note["text"], "Frag nach der Rechnungsadresse");
    let seen = vis.drain(Duration::from_millis(400));
    assert!(!texts(&seen).contains("Rechnungsadresse"), "{seen:?}");
    assert!(!texts(&seen).contains("nope"));

    // Take-over: the chat is Ann's with its history; Bob loses it and hears who took it.
    ann.send(json!({"type": "take_over", "conversation_id": conv}));
    let took = supervision(&mut bob, "took_over");
    assert_eq!(took["supervisor_name"], "Ann");
    loop {
        let c = bob.recv_type("conversation");
        if c["status"] == "transferred" {
            break;
        }
    }
    loop {
        let c = ann.recv_type("conversation");
        if c["status"] == "open" && c.get("watching").is_none() {
            assert_eq!(c["agent_id"], ann_id(&k));
            break;
        }
    }
    assert_eq!(vis.recv_type("agent")["name"], "Ann");
    bob.drain(Duration::from_millis(300));
    say_agent(&mut ann, conv, "a1", "Ich übernehme, Frau Vera.");
    loop {
        let m = vis.recv_type("message");
        if m["author"] == "agent" {
            assert_eq!(m["text"], "Ich übernehme, Frau Vera.");
            assert_eq!(m["author_name"], "Ann");
            break;
        }
        assert_eq!(
            m["text"], "transferred",
            "only the hand-over comes first: {m}"
        );
    }
    let after = bob.drain(Duration::from_millis(400));
    assert!(
        !texts(&after).contains("Ich übernehme"),
        "Bob lost the chat: {after:?}"
    );
    bob.send(
        json!({"type": "message", "conversation_id": conv, "client_id": "b2", "text": "noch da?"}),
    );
    assert_eq!(bob.recv_type("error")["code"], "not_found");

    // Each step is in the audit trail, as carried out, naming the supervisor and the chat.
    let audit = k.json(&["audit", "list", "acme"]).to_string();
    for action in ["chat.watch", "chat.whisper", "chat.take_over"] {
        assert!(audit.contains(action), "{action} in {audit}");
    }
    assert!(audit.contains(&format!("conversation#{conv}")));
}

fn ann_id(k: &crate::common::Kontor) -> i64 {
    k.json(&["agent", "list", "acme"])["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "ann@acme.example")
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

fn say_agent(ws: &mut Ws, conv: i64, cid: &str, text: &str) {
    ws.send(json!({"type": "message", "conversation_id": conv, "client_id": cid, "text": text}));
    loop {
        let f = ws.recv();
        if f["type"] == "ack" && f["client_id"] == cid {
            return;
        }
    }
}

#[test]
fn only_supervisors_watch_and_a_watch_ends_when_they_stop_or_leave() {
    let (k, pw, site) = setup();
    with_bob(&k, &pw);
    k.ok_stdin(
        &[
            "agent",
            "add",
            "acme",
            "cem@acme.example",
            "--name",
            "Cem",
            "--password-stdin",
        ],
        &pw,
    );
    let server = k.server(&[]);
    let (_bb, mut bob) = agent_as(&server, "bob@acme.example", &pw);
    let (_cb, mut cem) = agent_as(&server, "cem@acme.example", &pw);
    let (mut vis, conv, _) = visitor(&server, &site, "Vera");
    accept(&mut bob, conv);

    // Cem's role (agent) has no chats.supervise: refused and recorded.
    let denied = crate::chat::audit_denials(&k, "acme");
    for frame in [
        json!({"type": "watch", "conversation_id": conv}),
        json!({"type": "take_over", "conversation_id": conv}),
        json!({"type": "whisper", "conversation_id": conv, "client_id": "c1", "text": "psst"}),
    ] {
        cem.send(frame);
        assert_eq!(cem.recv_type("error")["code"], "forbidden");
    }
    assert_eq!(crate::chat::audit_denials(&k, "acme"), denied + 3);

    let (_ab, mut ann) = agent(&server, &pw);
    ann.drain(Duration::from_millis(300));
    // Nothing to watch, or not watching yet.
    ann.send(json!({"type": "watch", "conversation_id": 999_999}));
    assert_eq!(ann.recv_type("error")["code"], "not_found");
    ann.send(json!({"type": "whisper", "conversation_id": conv, "client_id": "w0", "text": "x"}));
    assert_eq!(ann.recv_type("error")["code"], "invalid_input");
    ann.send(json!({"type": "unwatch", "conversation_id": conv}));
    assert_eq!(ann.recv_type("error")["code"], "invalid_input");

    ann.send(json!({"type": "watch", "conversation_id": conv}));
    supervision(&mut bob, "watching");
    ann.send(json!({"type": "unwatch", "conversation_id": conv}));
    supervision(&mut ann, "stopped");
    assert_eq!(supervision(&mut bob, "stopped")["supervisor_name"], "Ann");
    ann.drain(Duration::from_millis(300));
    say(&mut vis, None, "v1", "Hallo?");
    bob.recv_type("message");
    let got = ann.drain(Duration::from_millis(400));
    assert!(
        !texts(&got).contains("Hallo?"),
        "no longer watching: {got:?}"
    );

    // Watching again, then Ann's dashboard closes: Bob is told she stopped.
    ann.send(json!({"type": "watch", "conversation_id": conv}));
    supervision(&mut bob, "watching");
    drop(ann);
    // The next batch carries the notice (a visitor message makes one at once).
    say(&mut vis, None, "v2", "Noch jemand da?");
    let stopped = supervision(&mut bob, "stopped");
    assert_eq!(stopped["supervisor_name"], "Ann");
}

//! Team chat: agents talk to each other in a whole-team room, department rooms and one-to-one
//! rooms, acknowledged after commit, stored once when retried, nothing lost across a kill -9,
//! readable only by the room's members, never by visitors; searchable, purged with the chats.

use crate::chat::{agent, agent_as, setup, visitor, with_bob};
use crate::common::{Browser, Kontor, Ws};
use serde_json::{Value, json};
use std::time::Duration;

fn add_agent(k: &Kontor, pw: &str, email: &str, name: &str) {
    k.ok_stdin(
        &[
            "agent",
            "add",
            "acme",
            email,
            "--name",
            name,
            "--password-stdin",
        ],
        pw,
    );
}

/// The `team_rooms` frame that follows `ready` (the sign-in helpers said hello).
fn rooms_after_hello(ws: &mut Ws) -> Vec<Value> {
    ws.recv_type("team_rooms")["rooms"]
        .as_array()
        .unwrap()
        .clone()
}

fn room<'a>(rooms: &'a [Value], name: &str) -> Option<&'a Value> {
    rooms.iter().find(|r| r["room"] == name)
}

/// Sends a team message and returns the seq its ack names.
fn post(ws: &mut Ws, room: &str, client_id: &str, text: &str) -> i64 {
    ws.send(json!({"type": "team_message", "room": room, "client_id": client_id, "text": text}));
    loop {
        let f = ws.recv();
        if f["type"] == "team_ack" && f["client_id"] == client_id {
            assert_eq!(f["room"], room);
            return f["seq"].as_i64().unwrap();
        }
        assert_ne!(f["type"], "error", "refused: {f}");
    }
}

fn team_frames(ws: &mut Ws) -> Vec<Value> {
    ws.drain(Duration::from_millis(400))
        .into_iter()
        .filter(|f| f["type"].as_str().unwrap_or("").starts_with("team_"))
        .collect()
}

fn page(b: &mut Browser, room: &str, query: &str) -> (u16, Value) {
    let r = b.get(&format!("/api/team/rooms/{room}/messages{query}"));
    let status = r.status;
    (status, if status == 200 { r.json() } else { Value::Null })
}

#[test]
fn messages_reach_the_room_once_acknowledged_and_a_retry_is_stored_once() {
    let (k, pw, _site) = setup();
    with_bob(&k, &pw);
    let server = k.server(&[]);
    let (mut ann_b, mut ann) = agent(&server, &pw);
    let (mut bob_b, mut bob) = agent_as(&server, "bob@acme.example", &pw);
    let ann_id = ann_b.agent_id("ann@acme.example");
    let bob_id = ann_b.agent_id("bob@acme.example");
    let pair = format!("a{}-{}", ann_id.min(bob_id), ann_id.max(bob_id));

    let rooms = rooms_after_hello(&mut ann);
    assert_eq!(rooms[0]["room"], "all", "the whole team comes first");
    let direct = room(&rooms, &pair).expect("a room with Bob");
    assert_eq!(direct["kind"], "direct");
    assert_eq!(direct["name"], "Bob");
    assert_eq!(direct["agent_id"], bob_id);
    rooms_after_hello(&mut bob);
    team_frames(&mut ann);

    assert_eq!(post(&mut ann, "all", "t1", "Kaffee ist fertig"), 1);
    let got = bob.recv_type("team_message");
    assert_eq!(got["room"], "all");
    assert_eq!(got["seq"], 1);
    assert_eq!(got["author_name"], "Ann");
    assert_eq!(got["text"], "Kaffee ist fertig");
    // The same client id again (a retry after a lost ack): the first copy's seq, no new entry.
    assert_eq!(post(&mut ann, "all", "t1", "Kaffee ist fertig"), 1);
    assert!(
        team_frames(&mut bob).is_empty(),
        "a retry is news to nobody"
    );
    assert_eq!(post(&mut ann, "all", "t2", "zweite"), 2);
    assert_eq!(bob.recv_type("team_message")["seq"], 2);

    assert_eq!(post(&mut bob, &pair, "d1", "Hast du kurz Zeit?"), 1);
    let dm = ann.recv_type("team_message");
    assert_eq!(
        (dm["room"].as_str(), dm["seq"].as_i64()),
        (Some(pair.as_str()), Some(1))
    );

    // The log over HTTP, oldest first, paged.
    let (s, v) = page(&mut bob_b, "all", "?after=0&limit=1");
    assert_eq!(s, 200);
    assert_eq!(v["messages"].as_array().unwrap().len(), 1);
    assert_eq!(v["more"], true);
    let (_, v) = page(&mut bob_b, "all", "?after=1");
    assert_eq!(v["messages"][0]["text"], "zweite");
    assert_eq!(v["more"], false);
    let (_, v) = page(&mut bob_b, "all", "?before=3&limit=1");
    assert_eq!(v["messages"][0]["seq"], 2, "the last page before 3");

    // Reading clears the badge on the agent's other devices.
    let (_b2, mut bob2) = agent_as(&server, "bob@acme.example", &pw);
    let rooms = rooms_after_hello(&mut bob2);
    assert_eq!(room(&rooms, "all").unwrap()["last_seq"], 2);
    assert_eq!(room(&rooms, "all").unwrap()["read_seq"], 0);
    bob.send(json!({"type": "team_read", "room": "all", "seq": 2}));
    let read = bob2.recv_type("team_read");
    assert_eq!(
        (read["room"].as_str(), read["seq"].as_i64()),
        (Some("all"), Some(2))
    );
    // A read position never goes back.
    bob.send(json!({"type": "team_read", "room": "all", "seq": 1}));
    team_frames(&mut bob2);
    let v = bob_b.get("/api/team/rooms").json();
    let all = room(v["rooms"].as_array().unwrap(), "all").unwrap().clone();
    assert_eq!(all["read_seq"], 2);
    // The sender has read what they wrote.
    let v = ann_b.get("/api/team/rooms").json();
    assert_eq!(
        room(v["rooms"].as_array().unwrap(), "all").unwrap()["read_seq"],
        2
    );
}

#[test]
fn rooms_are_for_their_members_only_and_never_for_visitors() {
    let (k, pw, site) = setup();
    with_bob(&k, &pw);
    add_agent(&k, &pw, "cem@acme.example", "Cem");
    let sales = k.json(&["department", "add", "acme", "Sales"])["departments"][0]["id"]
        .as_i64()
        .unwrap();
    k.ok(&[
        "agent",
        "set",
        "acme",
        "bob@acme.example",
        "--department",
        "Sales",
    ]);
    k.ok(&[
        "agent",
        "set",
        "acme",
        "cem@acme.example",
        "--department",
        "Sales",
    ]);
    // Ann is the admin (sees every department); Dora is a plain agent outside Sales.
    add_agent(&k, &pw, "dora@acme.example", "Dora");
    let server = k.server(&[]);
    let (mut vis, _conv, _) = visitor(&server, &site, "Vera");
    let (mut bob_b, mut bob) = agent_as(&server, "bob@acme.example", &pw);
    let (mut cem_b, mut cem) = agent_as(&server, "cem@acme.example", &pw);
    let (mut dora_b, mut dora) = agent_as(&server, "dora@acme.example", &pw);
    let (mut admin, _) = agent(&server, &pw);
    let bob_id = admin.agent_id("bob@acme.example");
    let cem_id = admin.agent_id("cem@acme.example");
    let dept = format!("d{sales}");
    let bob_cem = format!("a{}-{}", bob_id.min(cem_id), bob_id.max(cem_id));

    assert!(room(&rooms_after_hello(&mut bob), &dept).is_some());
    rooms_after_hello(&mut cem);
    let dora_rooms = rooms_after_hello(&mut dora);
    assert!(room(&dora_rooms, &dept).is_none(), "not her department");
    assert!(room(&dora_rooms, &bob_cem).is_none(), "not her pair");

    assert_eq!(post(&mut bob, &dept, "s1", "Angebot für Müller GmbH"), 1);
    assert_eq!(cem.recv_type("team_message")["room"], dept.as_str());
    assert_eq!(post(&mut bob, &bob_cem, "p1", "unter uns"), 1);
    cem.recv_type("team_message");

    // Dora neither hears nor reads nor writes them; a room that does not exist looks the same.
    assert!(team_frames(&mut dora).is_empty());
    assert_eq!(page(&mut dora_b, &dept, "").0, 404);
    assert_eq!(page(&mut dora_b, &bob_cem, "").0, 404);
    assert_eq!(page(&mut dora_b, "d999", "").0, 404);
    assert_eq!(page(&mut dora_b, "../etc", "").0, 404);
    for (r, cid) in [
        (dept.as_str(), "x1"),
        (bob_cem.as_str(), "x2"),
        ("a1-999", "x3"),
    ] {
        dora.send(json!({"type": "team_message", "room": r, "client_id": cid, "text": "hi"}));
        let e = dora.recv_type("team_refused");
        assert_eq!(e["code"], "not_found", "{r}");
        assert_eq!(
            (e["room"].as_str(), e["client_id"].as_str()),
            (Some(r), Some(cid))
        );
    }
    let found = dora_b.get("/api/team/search?q=M%C3%BCller").json();
    assert_eq!(found["messages"].as_array().unwrap().len(), 0);
    let found = cem_b.get("/api/team/search?q=m%C3%BCller").json();
    assert_eq!(found["messages"][0]["text"], "Angebot für Müller GmbH");
    // LIKE wildcards in a search are text.
    let found = cem_b.get("/api/team/search?q=%25").json();
    assert_eq!(found["messages"].as_array().unwrap().len(), 0);

    // Bad frames are refused with the chat's codes; nothing is stored.
    let bad = [
        (
            json!({"type": "team_message", "room": "all", "client_id": "", "text": "x"}),
            "invalid_client_id",
        ),
        (
            json!({"type": "team_message", "room": "all", "client_id": "e1", "text": "  "}),
            "empty_message",
        ),
        (
            json!({"type": "team_message", "room": "all", "client_id": "e2", "text": "x".repeat(5000)}),
            "message_too_long",
        ),
        (
            json!({"type": "team_read", "room": "all", "seq": -1}),
            "invalid_input",
        ),
    ];
    for (frame, code) in bad {
        let ty = if frame["type"] == "team_read" {
            "error"
        } else {
            "team_refused"
        };
        bob.send(frame);
        assert_eq!(bob.recv_type(ty)["code"], code);
    }
    let (_, v) = page(&mut bob_b, "all", "");
    assert_eq!(v["messages"].as_array().unwrap().len(), 0);

    // A visitor's socket got none of it.
    let leaked: Vec<Value> = vis
        .drain(Duration::from_millis(300))
        .into_iter()
        .filter(|f| f.to_string().contains("team") || f.to_string().contains("unter uns"))
        .collect();
    assert!(leaked.is_empty(), "{leaked:?}");
    // The widget's socket cannot send team frames either.
    vis.send(json!({"type": "team_message", "room": "all", "client_id": "v1", "text": "hi"}));
    assert_ne!(vis.recv_type("error")["code"], Value::Null);

    // Dora joins Sales on the running server: her dashboard gets her rooms again, with Sales's,
    // and she reads its log from then on.
    k.ok(&[
        "agent",
        "set",
        "acme",
        "dora@acme.example",
        "--department",
        "Sales",
    ]);
    loop {
        let f = dora.recv_type("team_rooms");
        if room(f["rooms"].as_array().unwrap(), &dept).is_some() {
            break;
        }
    }
    let (s, v) = page(&mut dora_b, &dept, "");
    assert_eq!(s, 200);
    assert_eq!(v["messages"][0]["text"], "Angebot für Müller GmbH");

    // Without a session there is no team chat.
    let mut anon = Browser::new(&server.base);
    assert_eq!(anon.get("/api/team/rooms").status, 401);
}

#[test]
fn acknowledged_team_messages_survive_a_kill_and_a_reconnect_reads_what_it_missed() {
    let (k, pw, _site) = setup();
    with_bob(&k, &pw);
    let mut server = k.server(&[]);
    let (_ann_b, mut ann) = agent(&server, &pw);
    let (_bob_b, mut bob) = agent_as(&server, "bob@acme.example", &pw);
    rooms_after_hello(&mut ann);
    rooms_after_hello(&mut bob);
    for i in 1..=20 {
        assert_eq!(
            post(&mut ann, "all", &format!("m{i}"), &format!("Nachricht {i}")),
            i
        );
    }
    // Bob held up to 5 when he went away.
    drop(bob);
    server.kill9();
    let server = k.server(&[]);
    let (mut bob_b, mut bob) = agent_as(&server, "bob@acme.example", &pw);
    let rooms = rooms_after_hello(&mut bob);
    assert_eq!(
        room(&rooms, "all").unwrap()["last_seq"],
        20,
        "every acknowledged message"
    );
    let (_, v) = page(&mut bob_b, "all", "?after=5");
    let seqs: Vec<i64> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (6..=20).collect::<Vec<_>>());
    // Numbering goes on after the restart; a retry from before it is still recognised.
    let (_a2, mut ann) = agent(&server, &pw);
    rooms_after_hello(&mut ann);
    assert_eq!(post(&mut ann, "all", "m20", "Nachricht 20"), 20);
    assert_eq!(post(&mut ann, "all", "m21", "Nachricht 21"), 21);
    assert_eq!(bob.recv_type("team_message")["seq"], 21);
}

#[test]
fn team_messages_are_purged_with_the_chats_and_numbering_goes_on() {
    let (k, pw, _site) = setup();
    with_bob(&k, &pw);
    k.ok(&["retention", "set", "acme", "--chats", "1"]);
    let server = k.server(&[]);
    let (_b, mut ann) = agent(&server, &pw);
    rooms_after_hello(&mut ann);
    assert_eq!(post(&mut ann, "all", "old", "von vorgestern"), 1);
    drop(ann);
    // Two days on (the session is over by then: sign in again).
    k.advance_clock(Duration::from_secs(2 * 86_400));
    let purged = crate::common::within(Duration::from_secs(10), || {
        server.log_shows("team_messages=1")
    });
    assert!(purged, "the old team message was purged: {}", server.log());
    let (mut ann_b, mut ann) = agent(&server, &pw);
    let rooms = rooms_after_hello(&mut ann);
    assert_eq!(room(&rooms, "all").unwrap()["last_seq"], 1);
    let (_, v) = page(&mut ann_b, "all", "");
    assert_eq!(v["messages"].as_array().unwrap().len(), 0);
    // The room's numbers do not start again: a dashboard that held 1 sees 2 as new.
    assert_eq!(post(&mut ann, "all", "new", "von heute"), 2);
}

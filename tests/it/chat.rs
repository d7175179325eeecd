//! Live chat over real WebSockets: opt-in, routing, acknowledgement after commit, replay on
//! resume, idempotent retries, authorisation and hostile frames.

use crate::common::{Browser, Kontor, Server, Ws};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

pub const SHOP: &str = "https://shop.example";

/// A tenant with an admin agent and a site for SHOP; returns the site key too.
pub fn setup() -> (Kontor, String, String) {
    let (k, pw) = Kontor::with_tenant();
    let site = k.json(&["site", "add", "acme", "--origin", SHOP]);
    (k, pw, site["site_key"].as_str().unwrap().to_string())
}

/// Adds Bob, a second agent of acme, with the same password as Ann.
pub fn with_bob(k: &Kontor, pw: &str) {
    k.ok_stdin(
        &[
            "agent",
            "add",
            "acme",
            "bob@acme.example",
            "--name",
            "Bob",
            "--password-stdin",
        ],
        pw,
    );
}

/// Signs Ann in, opens the dashboard socket and waits for `ready`.
pub fn agent(server: &Server, pw: &str) -> (Browser, Ws) {
    agent_as(server, "ann@acme.example", pw)
}

pub fn agent_as(server: &Server, email: &str, pw: &str) -> (Browser, Ws) {
    let mut b = Browser::new(&server.base);
    assert_eq!(b.login("acme", email, pw).status, 303);
    let mut ws = Ws::agent(&b);
    ws.send(json!({"type": "hello"}));
    ws.recv_type("ready");
    (b, ws)
}

/// Opens the widget socket, opts in, returns it with the conversation id and token.
pub fn visitor(server: &Server, site: &str, name: &str) -> (Ws, i64, String) {
    let mut ws = Ws::visitor(&server.base, site, SHOP).unwrap();
    ws.send(json!({"type": "start", "consent": true, "notice_version": "1", "name": name, "lang": "de"}));
    let w = ws.recv_type("welcome");
    (
        ws,
        w["conversation_id"].as_i64().unwrap(),
        w["token"].as_str().unwrap().to_string(),
    )
}

/// Sends a message and returns the seq its ack names.
pub fn say(ws: &mut Ws, conv: Option<i64>, id: &str, text: &str) -> i64 {
    let mut f = json!({"type": "message", "client_id": id, "text": text});
    if let Some(c) = conv {
        f["conversation_id"] = json!(c);
    }
    ws.send(f);
    let ack = ws.recv_type("ack");
    assert_eq!(ack["client_id"], id);
    ack["seq"].as_i64().unwrap()
}

/// Skips frames until the message with this sequence number.
fn message_with_seq(ws: &mut Ws, seq: i64) -> Value {
    loop {
        let m = ws.recv_type("message");
        if m["seq"] == seq {
            return m;
        }
    }
}

/// Skips frames until a message written by `author`.
fn message_from(ws: &mut Ws, author: &str) -> Value {
    loop {
        let m = ws.recv_type("message");
        if m["author"] == author {
            return m;
        }
    }
}

/// Skips frames until a queue with at least one waiting chat.
fn nonempty_queue(ws: &mut Ws) -> Value {
    loop {
        let q = ws.recv_type("queue");
        if !q["waiting"].as_array().unwrap().is_empty() {
            return q;
        }
    }
}

fn accept(agent: &mut Ws, conv: i64) {
    agent.send(json!({"type": "accept", "conversation_id": conv}));
    let c = agent.recv_type("conversation");
    assert_eq!(
        (c["conversation_id"].as_i64(), c["status"].as_str()),
        (Some(conv), Some("open"))
    );
}

/// How many "authz denied" entries a tenant's audit log holds.
pub fn audit_denials(k: &Kontor, tenant: &str) -> usize {
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug(tenant).unwrap();
    db.with(|c| kontor::store::audit::recent(c, 1000))
        .unwrap()
        .iter()
        .filter(|r| r.result == "authz denied")
        .count()
}

pub fn db_count(k: &Kontor, sql: &str) -> i64 {
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    db.with(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
        .unwrap()
}

#[test]
fn visitor_socket_only_from_allowed_origins() {
    let (k, _, site) = setup();
    let server = k.server(&[]);
    assert_eq!(
        Ws::visitor(&server.base, &site, "https://evil.example").err(),
        Some(403)
    );
    assert_eq!(Ws::visitor(&server.base, &site, "").err(), Some(403));
    assert_eq!(
        Ws::visitor(&server.base, &site, "http://shop.example").err(),
        Some(403)
    );
    // An unknown key gets the very same answer.
    assert_eq!(
        Ws::visitor(&server.base, "site_0000", SHOP).err(),
        Some(403)
    );
    assert!(Ws::visitor(&server.base, &site, SHOP).is_ok());
}

#[test]
fn agent_socket_only_from_our_origin_with_a_session() {
    let (k, pw, _) = setup();
    let server = k.server(&[]);
    let anonymous = Browser::new(&server.base);
    assert_eq!(Ws::agent_from(&anonymous, &server.base).err(), Some(401));
    let mut b = Browser::new(&server.base);
    b.login("acme", "ann@acme.example", &pw);
    assert_eq!(Ws::agent_from(&b, "https://evil.example").err(), Some(403));
    assert_eq!(Ws::agent_from(&b, "").err(), Some(403));
    assert!(Ws::agent_from(&b, &server.base).is_ok());
}

#[test]
fn nothing_is_stored_without_opt_in() {
    let (k, _, site) = setup();
    let mut server = k.server(&[]);
    let mut ws = Ws::visitor(&server.base, &site, SHOP).unwrap();
    ws.send(json!({"type": "start", "consent": false, "notice_version": "1"}));
    let refused = ws.recv_type("error");
    assert_eq!(refused["code"], "consent_required");
    // The code is one of the registry's (docs/errors.md).
    let code = refused["code"].as_str().unwrap_or_default();
    assert!(kontor::error::Code::parse(code).is_some(), "{refused}");
    ws.send(json!({"type": "message", "client_id": "m1", "text": "hello?"}));
    assert_eq!(ws.recv_type("error")["code"], "no_conversation");
    drop(ws);
    server.stop();
    assert_eq!(db_count(&k, "SELECT count(*) FROM conversations"), 0);
    assert_eq!(db_count(&k, "SELECT count(*) FROM messages"), 0);
}

#[test]
fn visitor_and_agent_chat_in_real_time() {
    let (k, pw, site) = setup();
    let mut server = k.server(&[]);
    let (_b, mut agent) = agent(&server, &pw);
    let (mut v, conv, _) = visitor(&server, &site, "Vera");

    // The agent's queue announces the chat, offered to Ann (the only agent online).
    let q = nonempty_queue(&mut agent);
    assert_eq!(q["waiting"][0]["conversation_id"], conv);
    assert_eq!(q["waiting"][0]["visitor_name"], "Vera");
    assert!(q["waiting"][0]["offered_to"].is_i64());
    assert!(
        q.to_string().find("token").is_none(),
        "no visitor token in agent frames"
    );

    let first = say(&mut v, None, "v-1", "Hallo, ich habe eine Frage");
    assert_eq!(first, 1);
    accept(&mut agent, conv);
    assert_eq!(v.recv_type("agent")["name"], "Ann");
    // The history arrives on accept, then the system entry.
    let m = agent.recv_type("message");
    assert_eq!(
        (m["seq"].as_i64(), m["text"].as_str()),
        (Some(1), Some("Hallo, ich habe eine Frage"))
    );
    let sys = agent.recv_type("message");
    assert_eq!(
        (sys["author"].as_str(), sys["text"].as_str()),
        (Some("system"), Some("accepted"))
    );

    let reply = say(&mut agent, Some(conv), "a-1", "Gerne, worum geht es?");
    let got = message_with_seq(&mut v, reply);
    assert_eq!(got["author"], "agent");
    assert_eq!(got["author_name"], "Ann");
    assert_eq!(got["text"], "Gerne, worum geht es?");

    agent.send(json!({"type": "typing", "conversation_id": conv}));
    assert_eq!(v.recv_type("typing")["who"], "agent");
    v.send(json!({"type": "typing"}));
    assert_eq!(agent.recv_type("typing")["who"], "visitor");

    let seq = say(&mut v, None, "v-2", "Lieferzeit?");
    let got = message_with_seq(&mut agent, seq);
    assert_eq!(got["author"], "visitor");

    agent.send(json!({"type": "close", "conversation_id": conv}));
    let closed = v.recv_type("conversation");
    assert_eq!(closed["status"], "closed");
    assert_eq!(agent.recv_type("conversation")["status"], "closed");
    v.send(json!({"type": "message", "client_id": "v-3", "text": "noch da?"}));
    assert_eq!(v.recv_type("error")["code"], "conversation_closed");

    drop((v, agent));
    server.stop();
    assert_eq!(
        db_count(
            &k,
            "SELECT count(*) FROM conversations WHERE status = 'closed' AND consent_version = '1'"
        ),
        1
    );
    // visitor 1, accepted, agent 1, visitor 2, closed: a gap-free 1..5.
    assert_eq!(db_count(&k, "SELECT count(*) FROM messages"), 5);
    assert_eq!(db_count(&k, "SELECT max(seq) FROM messages"), 5);
}

#[test]
fn a_retried_message_is_stored_and_delivered_once() {
    let (k, pw, site) = setup();
    let mut server = k.server(&[]);
    let (_b, mut agent) = agent(&server, &pw);
    let (mut v, conv, _) = visitor(&server, &site, "");
    accept(&mut agent, conv);
    let a = say(&mut v, None, "same-id", "only once");
    let b = say(&mut v, None, "same-id", "only once");
    assert_eq!(a, b);
    let frames = agent.drain(Duration::from_millis(400));
    let copies = frames
        .iter()
        .filter(|f| f["type"] == "message" && f["text"] == "only once")
        .count();
    assert_eq!(copies, 1);
    drop((v, agent));
    server.stop();
    assert_eq!(
        db_count(&k, "SELECT count(*) FROM messages WHERE body = 'only once'"),
        1
    );
}

#[test]
fn a_visitor_who_reconnects_gets_exactly_what_they_missed() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let (_b, mut agent) = agent(&server, &pw);
    let (mut v, conv, token) = visitor(&server, &site, "");
    accept(&mut agent, conv);
    let seen = say(&mut v, None, "v-1", "before the tunnel");
    drop(v); // Wi-Fi gone

    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(say(
            &mut agent,
            Some(conv),
            &format!("a-{i}"),
            &format!("missed {i}"),
        ));
    }
    let mut v = Ws::visitor(&server.base, &site, SHOP).unwrap();
    v.send(json!({"type": "resume", "token": token, "last_seq": seen}));
    let w = v.recv_type("welcome");
    assert_eq!(
        (w["conversation_id"].as_i64(), w["status"].as_str()),
        (Some(conv), Some("open"))
    );
    assert!(w.get("token").is_none(), "the token is sent once, at start");
    let replayed: Vec<i64> = v
        .drain(Duration::from_millis(400))
        .into_iter()
        .filter(|f| f["type"] == "message")
        .map(|f| f["seq"].as_i64().unwrap())
        .collect();
    let expected: Vec<i64> = ((seen + 1)..=*sent.last().unwrap()).collect();
    assert_eq!(
        replayed, expected,
        "every missed entry once, in order, nothing else"
    );
    // And the conversation goes on.
    let s = say(&mut agent, Some(conv), "a-live", "welcome back");
    assert_eq!(message_with_seq(&mut v, s)["text"], "welcome back");
}

#[test]
fn an_agent_who_reconnects_gets_exactly_what_they_missed() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let (b, mut agent) = agent(&server, &pw);
    let (mut v, conv, _) = visitor(&server, &site, "");
    accept(&mut agent, conv);
    let last = agent
        .drain(Duration::from_millis(300))
        .iter()
        .filter(|f| f["type"] == "message")
        .map(|f| f["seq"].as_i64().unwrap())
        .max()
        .unwrap();
    drop(agent);
    let sent: Vec<i64> = (0..4)
        .map(|i| say(&mut v, None, &format!("v-{i}"), "while away"))
        .collect();
    let mut agent = Ws::agent(&b);
    agent.send(json!({"type": "hello", "seen": [[conv, last]]}));
    let ready = agent.recv_type("ready");
    assert_eq!(ready["conversations"][0]["conversation_id"], conv);
    let replayed: Vec<i64> = agent
        .drain(Duration::from_millis(400))
        .into_iter()
        .filter(|f| f["type"] == "message")
        .map(|f| f["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(replayed, sent);
}

#[test]
fn acknowledged_messages_survive_a_server_restart() {
    let (k, pw, site) = setup();
    let mut server = k.server(&[]);
    let (_b, mut ag) = agent(&server, &pw);
    let (mut v, conv, token) = visitor(&server, &site, "");
    accept(&mut ag, conv);
    let acked: Vec<i64> = (0..10)
        .map(|i| say(&mut v, None, &format!("v-{i}"), &format!("m{i}")))
        .collect();
    drop((v, ag));
    assert_eq!(server.stop(), Some(0));

    let server = k.server(&[]);
    let mut v = Ws::visitor(&server.base, &site, SHOP).unwrap();
    v.send(json!({"type": "resume", "token": token, "last_seq": 0}));
    assert_eq!(v.recv_type("welcome")["status"], "open");
    let seqs: Vec<i64> = v
        .drain(Duration::from_millis(400))
        .into_iter()
        .filter(|f| f["type"] == "message" && f["author"] == "visitor")
        .map(|f| f["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, acked);
    // The chat is still the agent's after the restart.
    let (_b2, mut agent2) = agent(&server, &pw);
    let s = say(&mut v, None, "after", "still there?");
    assert_eq!(message_with_seq(&mut agent2, s)["text"], "still there?");
    // A message retried across the restart is recognised: acknowledged with its first seq,
    // stored once.
    assert_eq!(say(&mut v, None, "v-3", "m3"), acked[3]);
    drop(server);
    assert_eq!(
        db_count(&k, "SELECT count(*) FROM messages WHERE client_id = 'v-3'"),
        1
    );
}

#[test]
fn kill_9_during_traffic_loses_no_acknowledged_message() {
    let (k, _, site) = setup();
    let mut server = k.server(&[]);
    let base = server.base.clone();
    // The writers stop when the server dies; this only bounds them if it never does.
    let give_up = Instant::now() + Duration::from_secs(20);
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let handles: Vec<_> = (0..100)
        .map(|i| {
            let (base, site, count) = (base.clone(), site.clone(), count.clone());
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let Ok(mut ws) = Ws::visitor(&base, &site, SHOP) else { return acked };
                ws.send(json!({"type": "start", "consent": true, "notice_version": "1"}));
                let conv = loop {
                    match ws.sock.read() {
                        Ok(tungstenite::Message::Text(t)) => {
                            let f: Value = serde_json::from_str(&t).unwrap();
                            if f["type"] == "welcome" {
                                break f["conversation_id"].as_i64().unwrap();
                            }
                        }
                        Ok(_) => {}
                        Err(_) => return acked,
                    }
                };
                let mut n = 0;
                while Instant::now() < give_up {
                    let id = format!("c{i}-{n}");
                    if ws.send_raw(tungstenite::Message::text(json!({"type": "message", "client_id": id, "text": format!("load {i} {n}")}).to_string())).is_err() {
                        return acked;
                    }
                    loop {
                        match ws.sock.read() {
                            Ok(tungstenite::Message::Text(t)) => {
                                let f: Value = serde_json::from_str(&t).unwrap();
                                if f["type"] == "ack" {
                                    acked.push((conv, f["seq"].as_i64().unwrap(), id.clone()));
                                    count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                    break;
                                }
                            }
                            Ok(_) => {}
                            Err(_) => return acked,
                        }
                    }
                    n += 1;
                    std::thread::sleep(Duration::from_millis(60));
                }
                acked
            })
        })
        .collect();
    // Killed while traffic flows, once there is enough of it to prove something.
    crate::common::wait_until("traffic", Duration::from_secs(15), || {
        count.load(std::sync::atomic::Ordering::Relaxed) >= 400
    });
    server.kill9();
    let acked: Vec<(i64, i64, String)> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert!(
        acked.len() > 200,
        "too little traffic to prove anything: {}",
        acked.len()
    );

    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    db.with(|c| {
        let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        assert_eq!(ok, "ok");
        let mut stmt =
            c.prepare("SELECT client_id FROM messages WHERE conversation_id = ?1 AND seq = ?2")?;
        for (conv, seq, id) in &acked {
            let stored: String = stmt.query_row(rusqlite::params![conv, seq], |r| r.get(0))?;
            assert_eq!(
                &stored, id,
                "acknowledged message {conv}/{seq} missing or different"
            );
        }
        Ok(())
    })
    .unwrap();
}

#[test]
fn agents_cannot_reach_other_tenants_or_other_agents_chats() {
    let (k, pw, site) = setup();
    k.ok(&["tenant", "create", "beta"]);
    k.ok_stdin(
        &[
            "agent",
            "add",
            "beta",
            "eve@beta.example",
            "--name",
            "Eve",
            "--password-stdin",
        ],
        &pw,
    );
    let beta_site = k.json(&["site", "add", "beta", "--origin", SHOP])["site_key"]
        .as_str()
        .unwrap()
        .to_string();
    with_bob(&k, &pw);
    let server = k.server(&[]);
    let (_a, mut ann) = agent(&server, &pw);
    let (mut v, conv, token) = visitor(&server, &site, "Vera");
    accept(&mut ann, conv);

    // Eve (tenant beta) tries acme's conversation id everywhere.
    let mut eve_b = Browser::new(&server.base);
    eve_b.login("beta", "eve@beta.example", &pw);
    let mut eve = Ws::agent(&eve_b);
    eve.send(json!({"type": "hello", "seen": [[conv, 0]]}));
    let ready = eve.recv_type("ready");
    assert_eq!(ready["conversations"], json!([]));
    for f in [
        json!({"type": "accept", "conversation_id": conv}),
        json!({"type": "message", "conversation_id": conv, "client_id": "x", "text": "hi"}),
        json!({"type": "close", "conversation_id": conv}),
    ] {
        eve.send(f);
        assert_eq!(eve.recv_type("error")["code"], "not_found");
    }
    // Each refusal is in beta's audit log.
    let denied = audit_denials(&k, "beta");
    assert_eq!(denied, 3, "authz denials audited");
    // Bob (same tenant) cannot write into Ann's chat or take it.
    let (_bb, mut bob) = agent_as(&server, "bob@acme.example", &pw);
    bob.send(json!({"type": "message", "conversation_id": conv, "client_id": "x", "text": "hi"}));
    assert_eq!(bob.recv_type("error")["code"], "not_found");
    bob.send(json!({"type": "accept", "conversation_id": conv}));
    assert_eq!(bob.recv_type("error")["code"], "already_taken");
    let leaked = bob.drain(Duration::from_millis(300));
    assert!(!leaked.iter().any(|f| f["type"] == "message"), "{leaked:?}");

    // Acme's visitor token on beta's site is no conversation.
    let mut other = Ws::visitor(&server.base, &beta_site, SHOP).unwrap();
    other.send(json!({"type": "resume", "token": token, "last_seq": 0}));
    assert_eq!(other.recv_type("error")["code"], "unknown_conversation");
    for bad in [json!(""), json!("0".repeat(64))] {
        let mut w = Ws::visitor(&server.base, &site, SHOP).unwrap();
        w.send(json!({"type": "resume", "token": bad, "last_seq": 0}));
        assert_eq!(w.recv_type("error")["code"], "unknown_conversation");
    }
    let _ = &mut v;
}

#[test]
fn hostile_text_is_stored_and_relayed_unchanged() {
    let (k, pw, site) = setup();
    let mut server = k.server(&[]);
    let (_b, mut agent) = agent(&server, &pw);
    let (mut v, conv, _) = visitor(&server, &site, "\"><img src=x onerror=alert(1)>");
    accept(&mut agent, conv);
    let evil = [
        "\"><img src=x onerror=alert(1)>",
        "{{constructor.constructor('alert(1)')()}}",
        "${7*7}",
        "' OR 1=1--",
        "[x](javascript:alert(1))",
    ];
    for (i, t) in evil.iter().enumerate() {
        say(&mut v, None, &format!("e{i}"), t);
        assert_eq!(message_from(&mut agent, "visitor")["text"], *t);
    }
    drop((v, agent));
    server.stop();
    for t in evil {
        let n = db_count(
            &k,
            &format!(
                "SELECT count(*) FROM messages WHERE body = '{}'",
                t.replace('\'', "''")
            ),
        );
        assert_eq!(n, 1, "{t}");
    }
}

#[test]
fn bad_frames_get_errors_or_close_codes_never_a_crash() {
    let (k, _, site) = setup();
    let server = k.server(&[]);
    let mut v = Ws::visitor(&server.base, &site, SHOP).unwrap();
    for bad in [
        "not json",
        r#"{"type":"resume","token":{"$regex":".*"},"last_seq":0}"#,
        r#"{"type":"resume","token":"x","last_seq":"1 OR 1=1"}"#,
        r#"{"type":"resume","token":"x","last_seq":1e309}"#,
        "true",
        r#"{"type":"start","consent":true,"notice_version":"v","admin":true}"#,
    ] {
        v.send_raw(tungstenite::Message::text(bad)).unwrap();
        assert_eq!(v.recv_type("error")["code"], "invalid_frame", "{bad}");
    }
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    v.send_raw(tungstenite::Message::text(deep)).unwrap();
    assert_eq!(v.recv_type("error")["code"], "invalid_frame");
    // Still usable afterwards.
    v.send(json!({"type": "ping"}));
    assert_eq!(v.recv_type("pong")["type"], "pong");
    // A malformed client_id has a code of its own, a registered one.
    v.send(json!({"type": "start", "consent": true, "notice_version": "1"}));
    v.recv_type("welcome");
    v.send(json!({"type": "message", "client_id": "a b", "text": "hi"}));
    let refused = v.recv_type("error");
    assert_eq!(refused["code"], "invalid_client_id", "{refused}");
    assert!(kontor::error::Code::parse("invalid_client_id").is_some());

    let mut big = Ws::visitor(&server.base, &site, SHOP).unwrap();
    let _ = big.send_raw(tungstenite::Message::text("x".repeat(16 * 1024 * 1024)));
    assert_eq!(big.close_code(), Some(1009));

    let mut bin = Ws::visitor(&server.base, &site, SHOP).unwrap();
    bin.send_raw(tungstenite::Message::binary(vec![1, 2, 3]))
        .unwrap();
    assert_eq!(bin.close_code(), Some(1003));

    let mut utf = Ws::visitor(&server.base, &site, SHOP).unwrap();
    let frame = tungstenite::protocol::frame::Frame::message(
        vec![0xff, 0xfe, 0xfd],
        tungstenite::protocol::frame::coding::OpCode::Data(
            tungstenite::protocol::frame::coding::Data::Text,
        ),
        true,
    );
    let _ = utf.send_raw(tungstenite::Message::Frame(frame));
    assert_eq!(utf.close_code(), Some(1007));

    // A flood is slowed down, then cut off.
    let mut flood = Ws::visitor(&server.base, &site, SHOP).unwrap();
    for _ in 0..10_000 {
        if flood
            .send_raw(tungstenite::Message::text(r#"{"type":"ping"}"#))
            .is_err()
        {
            break;
        }
    }
    assert_eq!(flood.close_code(), Some(1008));
    assert!(!server.log().contains("panicked"));
    // The server is fine.
    assert_eq!(Browser::new(&server.base).get("/healthz").status, 200);
}

#[test]
fn disabling_an_agent_closes_their_socket_within_a_second() {
    let (k, pw, _) = setup();
    let server = k.server(&[]);
    let (_b, mut agent) = agent(&server, &pw);
    let t0 = Instant::now();
    k.ok(&["agent", "disable", "acme", "ann@acme.example"]);
    assert_eq!(agent.close_code(), Some(1013));
    assert!(
        t0.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t0.elapsed()
    );
}

#[test]
fn logout_closes_the_agent_socket() {
    let (k, pw, _) = setup();
    let server = k.server(&[]);
    let (mut b, mut agent) = agent(&server, &pw);
    let csrf = crate::common::hidden_field(&b.get("/app/chats").body, "csrf");
    assert_eq!(b.post_form("/logout", &[("csrf", &csrf)]).status, 303);
    assert_eq!(agent.close_code(), Some(1013));
}

#[test]
fn agents_take_chats_up_to_their_capacity_and_routing_prefers_the_least_busy() {
    let (k, pw, site) = setup();
    with_bob(&k, &pw);
    let server = k.server(&[]);
    let (_a, mut ann) = agent(&server, &pw);
    let mut convs = Vec::new();
    let mut visitors = Vec::new();
    for i in 0..4 {
        let (v, c, _) = visitor(&server, &site, &format!("V{i}"));
        visitors.push(v);
        convs.push(c);
    }
    for c in &convs[..3] {
        accept(&mut ann, *c);
    }
    ann.send(json!({"type": "accept", "conversation_id": convs[3]}));
    assert_eq!(ann.recv_type("error")["code"], "at_capacity");
    // Bob comes online: the waiting chat is offered to him, Ann being full.
    let (_bb, mut bob) = agent_as(&server, "bob@acme.example", &pw);
    let bob_id = {
        let q = bob.drain(Duration::from_millis(300));
        let q = q
            .iter()
            .rev()
            .find(|f| f["type"] == "queue")
            .cloned()
            .unwrap();
        q["waiting"][0]["offered_to"].clone()
    };
    assert_eq!(bob_id, 2, "offered to Bob (agent 2), Ann being full");
    accept(&mut bob, convs[3]);
}

#[test]
fn the_visitor_sees_the_queue_position() {
    let (k, _, site) = setup();
    let server = k.server(&[]);
    let (_v1, _, _) = visitor(&server, &site, "first");
    let mut v2 = Ws::visitor(&server.base, &site, SHOP).unwrap();
    v2.send(json!({"type": "start", "consent": true, "notice_version": "1"}));
    let w = v2.recv_type("welcome");
    assert_eq!(w["status"], "waiting");
    assert_eq!(w["queue_position"], 2);
}

#[test]
fn a_start_retried_with_its_token_makes_one_chat() {
    let (k, _, site) = setup();
    let mut server = k.server(&[]);
    let token = format!("{site}.{}", "ab12".repeat(16));
    let start = json!({"type": "start", "consent": true, "notice_version": "1", "token": token});
    let mut first = Ws::visitor(&server.base, &site, SHOP).unwrap();
    first.send(start.clone());
    let w1 = first.recv_type("welcome");
    drop(first); // dropped before the widget saw welcome, say
    let mut again = Ws::visitor(&server.base, &site, SHOP).unwrap();
    again.send(start);
    let w2 = again.recv_type("welcome");
    assert_eq!(w1["conversation_id"], w2["conversation_id"]);
    assert_eq!(w2["token"], token.as_str());
    for bad in [
        json!("short"),
        json!(format!("site_other.{}", "ab".repeat(32))),
        json!(format!("{site}.{}", "zz".repeat(32))),
    ] {
        let mut w = Ws::visitor(&server.base, &site, SHOP).unwrap();
        w.send(json!({"type": "start", "consent": true, "notice_version": "1", "token": bad}));
        assert_eq!(w.recv_type("error")["code"], "invalid_input", "{bad}");
    }
    drop(again);
    server.stop();
    assert_eq!(db_count(&k, "SELECT count(*) FROM conversations"), 1);
}

#[test]
fn agents_get_queue_and_presence_changes_not_whole_lists() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let (_b, mut ann) = agent(&server, &pw);
    let first = ann.drain_raw(Duration::from_millis(300));
    assert!(
        first.iter().any(|f| f["type"] == "queue"),
        "the whole queue after hello"
    );
    assert!(
        first.iter().any(|f| f["type"] == "agents"),
        "the whole presence after hello"
    );
    let (_v1, c1, _) = visitor(&server, &site, "One");
    let (_v2, c2, _) = visitor(&server, &site, "Two");
    ann.drain_raw(Duration::from_millis(300));
    let (_v3, c3, _) = visitor(&server, &site, "Three");
    let frames = ann.drain_raw(Duration::from_millis(300));
    let updates: Vec<&Value> = frames
        .iter()
        .filter(|f| f["type"] == "queue_update")
        .collect();
    assert_eq!(updates.len(), 1, "{frames:?}");
    let ids: Vec<i64> = updates[0]["upsert"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["conversation_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [c3], "only the new chat, not {c1} and {c2} again");
    assert!(!frames.iter().any(|f| f["type"] == "queue"));
    // Accepting one removes just that one.
    ann.send(json!({"type": "accept", "conversation_id": c1}));
    let frames = ann.drain_raw(Duration::from_millis(300));
    let update = frames.iter().find(|f| f["type"] == "queue_update").unwrap();
    assert_eq!(update["remove"], json!([c1]));
    let presence = frames
        .iter()
        .find(|f| f["type"] == "agents_update")
        .unwrap();
    assert_eq!(presence["upsert"][0]["open"], 1, "Ann's load changed");
}

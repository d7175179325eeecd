//! One place flooding the chat (security review, round two): widget sockets and chat starts
//! per address and per site, the waiting queue's ceiling, and the socket limits of the attack
//! table (a long message of continuation frames, a client that keeps sending over its rate).

use crate::chat::{SHOP, agent, setup};
use crate::common::{Kontor, Ws};
use serde_json::{Value, json};
use std::time::Duration;

fn limits(k: &Kontor, chat: &str) {
    std::fs::write(k.config_file(), format!("[chat]\n{chat}\n")).unwrap();
}

fn start(ws: &mut Ws) -> Value {
    ws.send(json!({"type": "start", "consent": true, "notice_version": "1", "name": "V"}));
    loop {
        let f = ws.recv();
        if f["type"] == "welcome" || f["type"] == "error" {
            return f;
        }
    }
}

/// The waiting chats an agent's dashboard shows now.
fn waiting(agent: &mut Ws) -> usize {
    let frames = agent.drain(Duration::from_millis(300));
    let last = frames.iter().rev().find(|f| f["type"] == "queue");
    last.map_or(0, |q| q["waiting"].as_array().unwrap().len())
}

#[test]
fn one_address_cannot_open_many_sockets_or_start_many_chats() {
    let (k, pw, site) = setup();
    limits(
        &k,
        "sockets_per_address = 4\nstarts_per_address_per_minute = 2",
    );
    let server = k.server(&[]);
    let (_b, mut ann) = agent(&server, &pw);
    ann.send(json!({"type": "status", "status": "away"}));
    let mut socks: Vec<Ws> = (0..4)
        .map(|_| Ws::visitor(&server.base, &site, SHOP).unwrap())
        .collect();
    assert_eq!(
        Ws::visitor(&server.base, &site, SHOP).err(),
        Some(429),
        "a fifth socket from the same address"
    );
    let answers: Vec<Value> = socks.iter_mut().map(start).collect();
    let started = answers.iter().filter(|a| a["type"] == "welcome").count();
    assert_eq!(started, 2, "{answers:?}");
    for refused in answers.iter().filter(|a| a["type"] == "error") {
        assert_eq!(refused["code"], "too_many_chats", "{refused}");
    }
    // The agent sees the two chats, not the flood.
    assert_eq!(waiting(&mut ann), 2);
    // A closed socket gives its place back.
    drop(socks.pop());
    assert!(crate::common::within(Duration::from_secs(5), || {
        Ws::visitor(&server.base, &site, SHOP).is_ok()
    }));
}

#[test]
fn the_waiting_queue_has_a_ceiling() {
    let (k, pw, site) = setup();
    limits(&k, "max_waiting = 2\nstarts_per_address_per_minute = 0");
    let server = k.server(&[]);
    let (_b, mut ann) = agent(&server, &pw);
    ann.send(json!({"type": "status", "status": "away"}));
    let mut socks: Vec<Ws> = (0..3)
        .map(|_| Ws::visitor(&server.base, &site, SHOP).unwrap())
        .collect();
    let answers: Vec<Value> = socks.iter_mut().map(start).collect();
    assert_eq!(answers[0]["type"], "welcome");
    assert_eq!(answers[1]["type"], "welcome");
    assert_eq!(answers[2]["code"], "queue_full", "{:?}", answers[2]);
    assert_eq!(waiting(&mut ann), 2);
    let stored = crate::chat::db_count(&k, "SELECT count(*) FROM conversations");
    assert_eq!(stored, 2, "the refused start stored nothing");
}

#[test]
fn socket_limits_follow_the_attack_table() {
    let (k, _, site) = setup();
    let server = k.server(&[]);
    // A message over 64 KiB in continuation frames is as too large as one frame: 1009.
    let mut cont = Ws::visitor(&server.base, &site, SHOP).unwrap();
    use tungstenite::protocol::frame::Frame;
    use tungstenite::protocol::frame::coding::{Data, OpCode};
    let piece = vec![b'x'; 16 * 1024];
    let first = Frame::message(piece.clone(), OpCode::Data(Data::Text), false);
    let _ = cont.send_raw(tungstenite::Message::Frame(first));
    for _ in 0..8 {
        let more = Frame::message(piece.clone(), OpCode::Data(Data::Continue), false);
        if cont.send_raw(tungstenite::Message::Frame(more)).is_err() {
            break;
        }
    }
    assert_eq!(cont.close_code(), Some(1009));

    // Over its rate a client hears it once, and is cut off after a bounded number of frames.
    let mut flood = Ws::visitor(&server.base, &site, SHOP).unwrap();
    for _ in 0..500 {
        if flood
            .send_raw(tungstenite::Message::text(r#"{"type":"ping"}"#))
            .is_err()
        {
            break;
        }
    }
    let mut refusals = 0;
    let code = loop {
        match flood.sock.read() {
            Ok(tungstenite::Message::Text(t)) => {
                let f: Value = serde_json::from_str(&t).unwrap();
                if f["code"] == "rate_limited" {
                    refusals += 1;
                }
            }
            Ok(tungstenite::Message::Close(c)) => break c.map(|c| u16::from(c.code)),
            Ok(_) => {}
            Err(_) => break None,
        }
    };
    assert_eq!(code, Some(1008));
    assert_eq!(
        refusals, 1,
        "one rate_limited answer per run of refused frames"
    );
}

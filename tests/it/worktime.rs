//! Agents' work time over real HTTP and WebSockets on the test clock: a scripted day's figures
//! equal a hand computation, live and after the statistics job stored the day; an agent
//! without the statistics permission sees only their own; the recording switch; and a
//! sign-in a crash left open ends at its last renewal, not after the downtime.

use crate::chat::{SHOP, agent_as, say, setup, with_bob};
use crate::common::{Browser, Kontor, Ws, within};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const H: i64 = 3600;
const M: i64 = 60;

/// The start (UTC) of a day at least two days ahead of the real one: the test clock only
/// moves forward.
fn a_day_ahead() -> i64 {
    let real = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    (real / 86_400 + 2) * 86_400
}

/// Moves every process's clock to 100 ms after the second `t` (so what happens next is
/// stamped `t` unless it takes most of a second).
fn clock_at(k: &Kontor, t: i64) {
    let clock = k.clock();
    let now = (SystemTime::now() + clock.offset())
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let target = t * 1000 + 100;
    assert!(target > now, "the script runs forward");
    clock.advance(Duration::from_millis((target - now) as u64));
}

fn day_text(t: i64) -> String {
    kontor::store::period::day_of(t)
}

/// Opens the dashboard socket of a signed-in browser and says hello.
fn sign_in(b: &Browser) -> Ws {
    let mut ws = Ws::agent(b);
    ws.send(json!({"type": "hello"}));
    ws.recv_type("ready");
    ws
}

/// A visitor starts a chat; returns the socket and the conversation.
fn chat(base: &str, site: &str) -> (Ws, i64) {
    let mut ws = Ws::visitor(base, site, SHOP).unwrap();
    ws.send(
        json!({"type": "start", "consent": true, "notice_version": "1", "name": "V", "lang": "de"}),
    );
    let w = ws.recv_type("welcome");
    (ws, w["conversation_id"].as_i64().unwrap())
}

fn accept(ws: &mut Ws, conv: i64) {
    ws.send(json!({"type": "accept", "conversation_id": conv}));
    loop {
        let c = ws.recv_type("conversation");
        if c["conversation_id"] == conv && c["status"] == "open" {
            return;
        }
    }
}

fn close(ws: &mut Ws, conv: i64) {
    ws.send(json!({"type": "close", "conversation_id": conv}));
    loop {
        let c = ws.recv_type("conversation");
        if c["conversation_id"] == conv && c["status"] == "closed" {
            return;
        }
    }
}

fn rate(ws: &mut Ws, score: i64) {
    ws.send(json!({"type": "rate", "score": score, "comment": ""}));
    ws.recv_type("rated");
}

/// Sets Ann's status and waits until the hub has written it.
fn status(k: &Kontor, ws: &mut Ws, s: &str) {
    ws.send(json!({"type": "status", "status": s}));
    let sql = format!("SELECT count(*) FROM agent_presence WHERE ended = 0 AND status = '{s}'");
    assert!(
        within(Duration::from_secs(10), || crate::chat::db_count(k, &sql)
            == 1),
        "the status is written"
    );
}

/// Closes a socket and waits until the hub has written the sign-out.
fn sign_out(k: &Kontor, ws: Ws, agent: i64) {
    drop(ws);
    let sql = format!("SELECT count(*) FROM agent_presence WHERE agent_id = {agent} AND ended = 0");
    assert!(
        within(Duration::from_secs(10), || crate::chat::db_count(k, &sql)
            == 0),
        "the sign-out is written"
    );
}

/// Ann's figures for the day, without her id and name.
fn figures(row: &Value) -> Value {
    let mut v = row.clone();
    let o = v.as_object_mut().unwrap();
    for k in ["agent_id", "name", "day"] {
        o.remove(k);
    }
    v
}

#[test]
fn work_time_of_a_scripted_day_matches_a_hand_computation() {
    let (k, pw, site) = setup();
    let server = k.server(&[]);
    let d = a_day_ahead();
    clock_at(&k, d + 8 * H + 59 * M);
    let ann = Browser::signed_in(&server.base, "ann@acme.example", &pw);

    // 09:00 Ann signs in, online.
    clock_at(&k, d + 9 * H);
    let mut ws = sign_in(&ann);
    // 09:15 a visitor starts chat 1 and Ann takes it at once.
    clock_at(&k, d + 9 * H + 15 * M);
    let (mut v1, c1) = chat(&server.base, &site);
    accept(&mut ws, c1);
    // 09:15:40 her first answer (40 s), 09:20 another.
    clock_at(&k, d + 9 * H + 15 * M + 40);
    say(&mut ws, Some(c1), "a1", "Hello");
    clock_at(&k, d + 9 * H + 20 * M);
    say(&mut ws, Some(c1), "a2", "Anything else?");
    // 09:45 she closes it; the visitor gives 5.
    clock_at(&k, d + 9 * H + 45 * M);
    close(&mut ws, c1);
    rate(&mut v1, 5);
    // 10:00 to 10:30 away.
    clock_at(&k, d + 10 * H);
    status(&k, &mut ws, "away");
    // 10:28 chat 2 starts and waits; 10:30 Ann is back and takes it, answers at 10:30:20
    // (140 s after it started).
    clock_at(&k, d + 10 * H + 28 * M);
    let (mut v2, c2) = chat(&server.base, &site);
    clock_at(&k, d + 10 * H + 30 * M);
    status(&k, &mut ws, "online");
    accept(&mut ws, c2);
    clock_at(&k, d + 10 * H + 30 * M + 20);
    say(&mut ws, Some(c2), "b1", "Sorry for the wait");
    // A note is no message.
    ws.send(json!({"type": "note", "conversation_id": c2, "client_id": "n1", "text": "VIP"}));
    ws.recv_type("noted");
    // 11:00 she closes it; the visitor gives 4. 11:30 she signs out.
    clock_at(&k, d + 11 * H);
    close(&mut ws, c2);
    rate(&mut v2, 4);
    clock_at(&k, d + 11 * H + 30 * M);
    sign_out(&k, ws, 1);
    // 13:00 to 13:30 signed in again, online, no chat.
    clock_at(&k, d + 13 * H);
    let ws = sign_in(&ann);
    clock_at(&k, d + 13 * H + 30 * M);
    sign_out(&k, ws, 1);

    // By hand:
    // signed in  09:00-11:30 and 13:00-13:30          = 2:30 + 0:30 = 10800 s
    // away       10:00-10:30                          = 1800 s
    // online     signed in minus away                 = 9000 s
    // in a chat  09:15-09:45 (chat 1), 10:30-11:00 (2) = 3600 s
    // chats 2; messages 3 (the note and the system entries do not count)
    // first responses 40 s and 140 s: median 90 s; ratings 5 and 4: 4.5 of 2
    // chats per online hour: 2 / 2.5 h = 0.8
    let expected = json!({
        "signed_in_seconds": 10800,
        "online_seconds": 9000,
        "away_seconds": 1800,
        "in_chat_seconds": 3600,
        "chats": 2,
        "messages": 3,
        "median_first_response_seconds": 90.0,
        "rating": 4.5,
        "ratings": 2,
        "chats_per_online_hour": 0.8,
    });
    let day = day_text(d);
    let check = |report: &Value, when: &str| {
        let days = report["days"].as_array().unwrap();
        assert_eq!(days.len(), 1, "{when}: one agent-day: {report}");
        assert_eq!(days[0]["day"], day.as_str(), "{when}");
        assert_eq!(days[0]["name"], "Ann", "{when}");
        assert_eq!(figures(&days[0]), expected, "{when}: the day");
        assert_eq!(report["team"], expected, "{when}: the team is Ann");
        let agents = report["agents"].as_array().unwrap();
        assert_eq!(figures(&agents[0]), expected, "{when}: Ann's period");
    };
    let cli = k.json(&["stats", "acme", "--agents", "--from", &day, "--to", &day]);
    check(&cli, "live, kontor stats --agents");
    let mut ann = ann;
    let http = ann.get(&format!("/api/stats/agents?from={day}&to={day}"));
    assert_eq!(http.status, 200, "{}", http.body);
    check(&http.json(), "live, over HTTP");
    assert_eq!(http.json()["all"], true);
    // The CSV: a row per agent-day, the figures in a fixed order.
    let csv = ann.get(&format!(
        "/api/stats/agents.csv?table=days&from={day}&to={day}"
    ));
    assert_eq!(csv.status, 200);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(
        lines,
        [
            "day,agent_id,name,signed_in_seconds,online_seconds,away_seconds,in_chat_seconds,chats,messages,median_first_response_seconds,rating,ratings,chats_per_online_hour",
            &format!("{day},1,Ann,10800,9000,1800,3600,2,3,90.0,4.5,2,0.8"),
        ]
    );

    // Two days later the statistics job has stored the day: the same figures.
    k.advance_clock(Duration::from_secs(2 * 86_400 + 600));
    let stored = format!("SELECT count(*) FROM agent_days WHERE day = {d} AND agent_id = 1");
    assert!(
        within(Duration::from_secs(30), || crate::chat::db_count(
            &k, &stored
        ) == 1),
        "the job stores the day"
    );
    let cli = k.json(&["stats", "acme", "--agents", "--from", &day, "--to", &day]);
    check(&cli, "stored");
}

#[test]
fn an_agent_without_the_statistics_permission_sees_only_their_own_work_time() {
    let (k, pw, _site) = setup();
    with_bob(&k, &pw);
    let server = k.server(&[]);
    let (_ann, ann_ws) = agent_as(&server, "ann@acme.example", &pw);
    let (_, bob_ws) = agent_as(&server, "bob@acme.example", &pw);
    k.advance_clock(Duration::from_secs(10 * 60));
    sign_out(&k, ann_ws, 1);
    sign_out(&k, bob_ws, 2);
    let mut ann_b = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let mut bob = Browser::signed_in(&server.base, "bob@acme.example", &pw);

    // Bob may not see statistics, but he sees his own work time and nobody else's.
    assert_eq!(bob.get("/api/stats").status, 403);
    let mine = bob.get("/api/stats/agents").json();
    assert_eq!(mine["all"], false, "{mine}");
    let names = |v: &Value, list: &str| -> Vec<String> {
        v[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&mine, "agents"), ["Bob"]);
    let days = names(&mine, "days");
    assert!(
        !days.is_empty() && days.iter().all(|n| n == "Bob"),
        "{mine}"
    );
    assert!(mine["team"]["signed_in_seconds"].as_i64().unwrap() >= 600);
    let csv = bob.get("/api/stats/agents.csv?table=agents").body;
    assert!(csv.contains(",Bob,") && !csv.contains("Ann"), "{csv}");
    // Ann, an admin, sees both.
    let all = ann_b.get("/api/stats/agents").json();
    assert_eq!(all["all"], true);
    assert_eq!(names(&all, "agents"), ["Ann", "Bob"]);
    // An unknown table is refused.
    assert_eq!(bob.get("/api/stats/agents.csv?table=nope").status, 400);

    // Only who may change settings switches the recording; off, a sign-in is not recorded.
    let off = json!({"recording": false});
    assert_eq!(
        bob.put_json("/api/stats/agents/recording", &off).status,
        403
    );
    let r = ann_b.put_json("/api/stats/agents/recording", &off);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ann_b.get("/api/stats/agents").json()["recording"], false);
    let before = crate::chat::db_count(&k, "SELECT count(*) FROM agent_presence");
    let ws = sign_in(&bob);
    k.advance_clock(Duration::from_secs(5 * 60));
    drop(ws);
    std::thread::sleep(Duration::from_millis(1500));
    let after = crate::chat::db_count(&k, "SELECT count(*) FROM agent_presence");
    assert_eq!(after, before, "nothing recorded while switched off");
}

#[test]
fn a_sign_in_a_crash_left_open_ends_at_its_last_renewal() {
    let (k, pw, _site) = setup();
    let mut server = k.server(&[]);
    let d = a_day_ahead();
    clock_at(&k, d + 8 * H);
    let ann = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    clock_at(&k, d + 9 * H);
    let _ws = sign_in(&ann);
    // Ten minutes on, the hub renews the open row (once a minute while she is there).
    clock_at(&k, d + 9 * H + 10 * M);
    let renewed = format!(
        "SELECT count(*) FROM agent_presence WHERE until >= {}",
        d + 9 * H + 10 * M
    );
    assert!(
        within(Duration::from_secs(10), || crate::chat::db_count(
            &k, &renewed
        ) == 1),
        "renewed"
    );
    // The server dies and is down for an hour; Ann signs in again at 10:10.
    server.kill9();
    clock_at(&k, d + 10 * H + 10 * M);
    let server = k.server(&[]);
    let ann = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let ws = sign_in(&ann);
    clock_at(&k, d + 10 * H + 20 * M);
    sign_out(&k, ws, 1);
    let day = day_text(d);
    let r = k.json(&["stats", "acme", "--agents", "--from", &day, "--to", &day]);
    // 09:00-09:10 before the crash, 10:10-10:20 after: the hour down does not count.
    assert_eq!(r["team"]["signed_in_seconds"], 1200, "{r}");
}

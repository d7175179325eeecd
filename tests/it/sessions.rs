//! An agent's own sign-ins: list, end one, end the others; an admin ends an agent's; a new
//! password ends them; the CLI lists and ends them. Ended sessions lose their API access and
//! their open dashboard sockets at once.

use crate::chat::with_bob;
use crate::common::{Browser, Kontor, Ws};
use std::time::{Duration, Instant};

const ANN: &str = "ann@acme.example";
const BOB: &str = "bob@acme.example";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";

fn sessions(b: &mut Browser) -> Vec<serde_json::Value> {
    let res = b.get("/api/sessions");
    assert_eq!(res.status, 200, "{}", res.body);
    res.json()["sessions"].as_array().unwrap().clone()
}

fn trail(k: &Kontor, action: &str) -> usize {
    k.json(&["audit", "list", "acme", "--action", action])
        .as_array()
        .unwrap()
        .len()
}

/// Opens the dashboard socket and waits for `ready`.
fn socket(b: &Browser) -> Ws {
    let mut ws = Ws::agent(b);
    ws.send(serde_json::json!({"type": "hello"}));
    ws.recv_type("ready");
    ws
}

/// The socket is closed by the server within a second and a half.
fn closes_soon(ws: &mut Ws) {
    let t = Instant::now();
    ws.close_code();
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn an_agent_lists_and_ends_their_own_sessions() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let mut laptop = Browser::new(&server.base);
    laptop.headers = vec![("User-Agent".into(), FIREFOX.into())];
    assert_eq!(laptop.login("acme", ANN, &pw).status, 303);
    let mut desk = Browser::signed_in(&server.base, ANN, &pw);
    let mut third = Browser::signed_in(&server.base, ANN, &pw);

    let list = sessions(&mut desk);
    assert_eq!(list.len(), 3, "{list:?}");
    let current: Vec<_> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "{list:?}");
    let text = serde_json::to_string(&list).unwrap();
    let cookie = laptop.session().unwrap().clone();
    let token = cookie.split_once('.').unwrap().1;
    assert!(!text.contains(token), "a token leaked: {text}");
    let firefox: Vec<_> = list
        .iter()
        .filter(|s| s["device"] == "Firefox 121 on Linux")
        .collect();
    assert_eq!(firefox.len(), 1, "{list:?}");
    assert!(list.iter().all(|s| s["ip"] == "127.0.0.0"), "{list:?}");
    let laptop_id = firefox[0]["id"].as_str().unwrap().to_string();
    assert_eq!(laptop_id.len(), 24);

    // Ending the laptop's session: its cookie is refused and its socket closes.
    let mut laptop_ws = socket(&laptop);
    assert_eq!(laptop.get("/api/session").status, 200);
    // Without the CSRF token nothing ends.
    let mut bare = Browser::new(&server.base);
    bare.cookies = desk.cookies.clone();
    assert_eq!(
        bare.delete(&format!("/api/sessions/{laptop_id}")).status,
        403
    );
    let res = desk.delete(&format!("/api/sessions/{laptop_id}"));
    assert_eq!(res.status, 204, "{}", res.body);
    closes_soon(&mut laptop_ws);
    assert_eq!(laptop.get("/api/session").status, 401);
    assert_eq!(sessions(&mut desk).len(), 2);
    assert_eq!(
        desk.delete(&format!("/api/sessions/{laptop_id}")).status,
        404
    );
    assert_eq!(desk.delete("/api/sessions/not-an-id").status, 404);
    assert_eq!(trail(&k, "session.end"), 1);

    // End the others: the third one goes, this one stays.
    let mut third_ws = socket(&third);
    let res = desk.post_json("/api/sessions/end-others", &serde_json::json!({}));
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["ended"], 1);
    closes_soon(&mut third_ws);
    assert_eq!(third.get("/api/session").status, 401);
    let left = sessions(&mut desk);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["current"], true);
    assert_eq!(trail(&k, "session.end_others"), 1);
}

#[test]
fn nobody_ends_another_agents_session_by_id_but_an_admin_ends_them_all() {
    let (k, pw) = Kontor::with_tenant();
    with_bob(&k, &pw);
    let server = k.server(&[]);
    let mut ann = Browser::signed_in(&server.base, ANN, &pw);
    let mut bob = Browser::signed_in(&server.base, BOB, &pw);
    let mut bob_ws = socket(&bob);
    let bob_id = sessions(&mut bob)[0]["id"].as_str().unwrap().to_string();
    let ann_id = sessions(&mut ann)[0]["id"].as_str().unwrap().to_string();

    // Bob cannot end Ann's session, nor can Ann (an admin) end Bob's by its id.
    assert_eq!(bob.delete(&format!("/api/sessions/{ann_id}")).status, 404);
    assert_eq!(ann.delete(&format!("/api/sessions/{bob_id}")).status, 404);
    assert_eq!(ann.get("/api/session").status, 200);
    assert_eq!(bob.get("/api/session").status, 200);
    assert_eq!(sessions(&mut ann).len(), 1, "Ann sees only her own");

    // Bob may not end Ann's sessions wholesale; Ann, who manages agents, may end Bob's.
    let agents = ann.get("/api/agents").json()["agents"].clone();
    let id_of = |email: &str| {
        agents
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["email"] == email)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (ann_agent, bob_agent) = (id_of(ANN), id_of(BOB));
    assert_eq!(
        bob.delete(&format!("/api/agents/{ann_agent}/sessions"))
            .status,
        403
    );
    assert_eq!(ann.delete("/api/agents/9999/sessions").status, 404);
    let res = ann.delete(&format!("/api/agents/{bob_agent}/sessions"));
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["ended"], 1);
    closes_soon(&mut bob_ws);
    assert_eq!(bob.get("/api/session").status, 401);
    assert_eq!(ann.get("/api/session").status, 200);
    assert_eq!(trail(&k, "agent.sessions_end"), 1);
}

#[test]
fn a_new_password_and_agent_logout_end_sessions_and_agent_sessions_lists_them() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let mut laptop = Browser::new(&server.base);
    laptop.headers = vec![("User-Agent".into(), FIREFOX.into())];
    assert_eq!(laptop.login("acme", ANN, &pw).status, 303);
    let mut desk = Browser::signed_in(&server.base, ANN, &pw);

    let table = k.ok(&["agent", "sessions", "acme", ANN]);
    assert!(table.contains("Firefox 121 on Linux"), "{table}");
    assert!(table.contains("127.0.0.0"), "{table}");
    assert_eq!(
        table.lines().count(),
        3,
        "a header and two sessions: {table}"
    );
    let json = k.json(&["agent", "sessions", "acme", ANN]);
    assert_eq!(json["sessions"].as_array().unwrap().len(), 2, "{json}");

    let mut ws = socket(&desk);
    let out = k.ok(&["agent", "logout", "acme", ANN]);
    assert!(out.contains("2 session(s) ended"), "{out}");
    closes_soon(&mut ws);
    assert_eq!(desk.get("/api/session").status, 401);
    assert_eq!(laptop.get("/api/session").status, 401);
    let table = k.ok(&["agent", "sessions", "acme", ANN]);
    assert!(table.contains("no active sessions"), "{table}");
    assert_eq!(trail(&k, "agent.logout"), 1);
    assert!(
        k.fails(&["agent", "logout", "acme", "nobody@acme.example"])
            .contains("nobody")
    );

    // A new password ends every session.
    let mut again = Browser::signed_in(&server.base, ANN, &pw);
    k.ok_stdin(
        &["agent", "passwd", "acme", ANN, "--password-stdin"],
        "a brand new passphrase",
    );
    assert_eq!(again.get("/api/session").status, 401);
    assert!(
        k.ok(&["agent", "sessions", "acme", ANN])
            .contains("no active sessions")
    );

    // Without a running server the commands open the data directory themselves.
    let _late = Browser::signed_in(&server.base, ANN, "a brand new passphrase");
    let mut server = server;
    assert_eq!(server.stop(), Some(0));
    let table = k.ok(&["agent", "sessions", "acme", ANN]);
    assert_eq!(table.lines().count(), 2, "{table}");
    let out = k.ok(&["agent", "logout", "acme", ANN]);
    assert!(out.contains("1 session(s) ended"), "{out}");
    assert!(
        k.ok(&["agent", "sessions", "acme", ANN])
            .contains("no active sessions")
    );
}

#[test]
fn sessions_past_their_idle_limit_are_not_listed() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let _laptop = Browser::signed_in(&server.base, ANN, &pw);
    k.advance_clock(Duration::from_secs(100 * 60));
    let mut desk = Browser::signed_in(&server.base, ANN, &pw);
    assert_eq!(sessions(&mut desk).len(), 2);
    // The laptop has been idle for 130 minutes (the limit is 120); the desk for 30.
    k.advance_clock(Duration::from_secs(30 * 60));
    let left = sessions(&mut desk);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["current"], true);
}

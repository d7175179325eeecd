//! Building the team in the dashboard: invitations and password-reset links (single use,
//! expiring, strength-checked), departments created, renamed and deleted over the API.

use crate::chat::{SHOP, setup, with_bob};
use crate::common::{Browser, Kontor, Res, Ws, hidden_field};
use serde_json::{Value, json};
use std::time::Duration;

/// The path of a set-up link (`https://host/setup/…` → `/setup/…`).
fn path_of(url: &str) -> String {
    let at = url.find("/setup/").expect("a set-up link");
    url[at..].to_string()
}

/// Opens a set-up link in a fresh browser and submits `password` twice.
fn choose(base: &str, path: &str, password: &str) -> Res {
    let mut b = Browser::new(base);
    let page = b.get(path);
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = hidden_field(&page.body, "csrf");
    b.post_form(
        path,
        &[
            ("password", password),
            ("confirm", password),
            ("csrf", &csrf),
        ],
    )
}

fn trail(k: &Kontor) -> Vec<Value> {
    k.json(&["audit", "list", "acme", "--limit", "500"])
        .as_array()
        .unwrap()
        .clone()
}

fn has(trail: &[Value], action: &str, result: &str) -> bool {
    trail
        .iter()
        .any(|e| e["action"] == action && e["result"] == result)
}

fn agent_of(admin: &mut Browser, email: &str) -> Value {
    admin.get("/api/agents").json()["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == email)
        .unwrap()
        .clone()
}

const GOOD: &str = "violet tugboat marmalade 42";

#[test]
fn team_invitation_link_works_once_checks_strength_and_the_agent_signs_in() {
    let (k, pw, _) = setup();
    let server = k.server(&[]);
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let r = admin.post_json("/api/departments", &json!({"name": "Sales"}));
    assert_eq!(r.status, 201, "{}", r.body);
    let sales = r.json()["id"].as_i64().unwrap();

    let invite = json!({"display_name": "Dora", "email": "Dora@Acme.example", "role_id": 3,
        "department_ids": [sales], "capacity": 2});
    let r = admin.post_json("/api/agents/invite", &invite);
    assert_eq!(r.status, 201, "{}", r.body);
    let url = r.json()["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&server.base), "{url}");
    let path = path_of(&url);
    // The same email again: refused.
    assert_eq!(admin.post_json("/api/agents/invite", &invite).status, 409);

    let dora = agent_of(&mut admin, "dora@acme.example");
    assert_eq!(dora["disabled"], true, "{dora}");
    assert_eq!(dora["invited"], true);
    assert_eq!(dora["capacity"], 2);
    assert_eq!(dora["department_ids"], json!([sales]));

    // The page: only our own origin with the form's token.
    let mut b = Browser::new(&server.base);
    let page = b.get(&path);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("dora@acme.example"));
    let csrf = hidden_field(&page.body, "csrf");
    let post = |b: &mut Browser, pw1: &str, pw2: &str, origin: Option<&str>| {
        let fields = [("password", pw1), ("confirm", pw2), ("csrf", csrf.as_str())];
        b.post_form_from(&path, origin, &fields)
    };
    let base = server.base.clone();
    assert_eq!(post(&mut b, GOOD, GOOD, None).status, 403);
    assert_eq!(
        post(&mut b, GOOD, GOOD, Some("https://evil.example")).status,
        403
    );
    let r = post(&mut b, GOOD, "something else", Some(&base));
    assert_eq!(r.status, 400);
    assert!(r.body.contains("The two passwords differ"), "{}", r.body);
    let r = post(&mut b, "short", "short", Some(&base));
    assert!(r.body.contains("at least 8 characters"), "{}", r.body);
    // zxcvbn's warning, in the page's language.
    let r = post(&mut b, "password1234", "password1234", Some(&base));
    assert_eq!(r.status, 400);
    assert!(r.body.contains("commonly used password"), "{}", r.body);
    b.headers = vec![("Accept-Language".into(), "de-DE,de;q=0.9".into())];
    let r = post(&mut b, "password1234", "password1234", Some(&base));
    assert!(r.body.contains("häufig verwende"), "{}", r.body);
    b.headers.clear();
    // Not yet set up: Dora cannot sign in.
    assert_eq!(
        Browser::new(&base)
            .login("acme", "dora@acme.example", GOOD)
            .status,
        401
    );

    let r = post(&mut b, GOOD, GOOD, Some(&base));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Your password is set"));
    // The link is dead now, for reading and for a second submission.
    let again = Browser::new(&base).get(&path);
    assert_eq!(again.status, 410);
    assert!(again.body.contains("expired or was used already"));
    assert_eq!(
        post(
            &mut b,
            "another good passphrase 7",
            "another good passphrase 7",
            Some(&base)
        )
        .status,
        410
    );

    assert_eq!(
        Browser::new(&base)
            .login("acme", "dora@acme.example", GOOD)
            .status,
        303
    );
    let dora = agent_of(&mut admin, "dora@acme.example");
    assert_eq!(
        (dora["disabled"].clone(), dora["invited"].clone()),
        (json!(false), json!(false))
    );

    let t = trail(&k);
    for action in ["department.create", "agent.invite", "agent.setup"] {
        assert!(has(&t, action, "success"), "{action} missing");
    }
}

#[test]
fn team_links_expire_and_a_reset_link_ends_sessions_only_when_used() {
    let (k, pw, _) = setup();
    with_bob(&k, &pw);
    let server = k.server(&[]);
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let r = admin.post_json(
        "/api/agents/invite",
        &json!({"display_name": "Eve", "email": "eve@acme.example", "role_id": 3}),
    );
    let late = path_of(r.json()["url"].as_str().unwrap());
    // Disabling an invited agent withdraws the invitation: the link dies.
    let r = admin.post_json(
        "/api/agents/invite",
        &json!({"display_name": "Walt", "email": "walt@acme.example", "role_id": 3}),
    );
    let withdrawn = path_of(r.json()["url"].as_str().unwrap());
    let walt = agent_of(&mut admin, "walt@acme.example")["id"]
        .as_i64()
        .unwrap();
    let r = admin.put_json(&format!("/api/agents/{walt}"), &json!({"disabled": true}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(Browser::new(&server.base).get(&withdrawn).status, 410);
    assert_eq!(agent_of(&mut admin, "walt@acme.example")["invited"], false);
    k.advance_clock(Duration::from_secs(73 * 3600));
    assert_eq!(Browser::new(&server.base).get(&late).status, 410);
    assert_eq!(
        Browser::new(&server.base).get("/setup/nonsense").status,
        410
    );

    // An admin issues a reset link for Bob; his session lives on until he uses it.
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let mut bob = Browser::signed_in(&server.base, "bob@acme.example", &pw);
    let bob_id = agent_of(&mut admin, "bob@acme.example")["id"]
        .as_i64()
        .unwrap();
    let first = admin.post_json(&format!("/api/agents/{bob_id}/reset-link"), &json!({}));
    assert_eq!(first.status, 201, "{}", first.body);
    let first = path_of(first.json()["url"].as_str().unwrap());
    let r = admin.post_json(&format!("/api/agents/{bob_id}/reset-link"), &json!({}));
    let second = path_of(r.json()["url"].as_str().unwrap());
    assert_eq!(
        Browser::new(&server.base).get(&first).status,
        410,
        "only the newest works"
    );
    assert_eq!(bob.get("/api/session").status, 200);
    assert_eq!(choose(&server.base, &second, GOOD).status, 200);
    assert_eq!(
        bob.get("/api/session").status,
        401,
        "using the link signs Bob out"
    );
    assert_eq!(
        Browser::new(&server.base)
            .login("acme", "bob@acme.example", &pw)
            .status,
        401
    );
    assert_eq!(
        Browser::new(&server.base)
            .login("acme", "bob@acme.example", GOOD)
            .status,
        303
    );

    // The operator's command line prints a link too.
    let out = k.ok(&["agent", "reset-link", "acme", "bob@acme.example"]);
    let url = out.lines().find(|l| l.contains("/setup/")).unwrap().trim();
    assert_eq!(Browser::new(&server.base).get(&path_of(url)).status, 200);

    let t = trail(&k);
    assert!(has(&t, "agent.reset_link", "success"));
    assert!(has(&t, "agent.setup", "success"));
}

#[test]
fn team_invitations_hand_out_only_rights_the_inviter_holds_and_refusals_are_audited() {
    let (k, pw, _) = setup();
    let server = k.server(&[]);
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let r = admin.post_json(
        "/api/roles",
        &json!({"name": "Team leads", "permissions": ["visitors.view", "chat", "agents.manage"]}),
    );
    let leads = r.json()["id"].as_i64().unwrap();
    let r = admin.post_json(
        "/api/agents/invite",
        &json!({"display_name": "Carl", "email": "carl@acme.example", "role_id": leads}),
    );
    let path = path_of(r.json()["url"].as_str().unwrap());
    assert_eq!(choose(&server.base, &path, GOOD).status, 200);
    let mut carl = Browser::signed_in(&server.base, "carl@acme.example", GOOD);
    // Carl may not invite an admin, nor reset the admin's password.
    let r = carl.post_json(
        "/api/agents/invite",
        &json!({"display_name": "Mallory", "email": "m@acme.example", "role_id": 1}),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        carl.post_json("/api/agents/1/reset-link", &json!({}))
            .status,
        403
    );
    // An agent role is fine.
    let r = carl.post_json(
        "/api/agents/invite",
        &json!({"display_name": "Finn", "email": "finn@acme.example", "role_id": 3}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let denied: Vec<_> = trail(&k)
        .into_iter()
        .filter(|e| e["result"] == "authz denied" && e["actor"] == "carl@acme.example")
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(denied.len(), 2, "{denied:?}");
    assert!(denied.contains(&"agent.invite".to_string()));
    assert!(denied.contains(&"agent.reset_link".to_string()));
}

#[test]
fn team_departments_are_managed_and_a_deleted_ones_waiting_chats_join_the_general_queue() {
    let (k, pw, site) = setup();
    with_bob(&k, &pw);
    let server = k.server(&[]);
    let mut admin = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let sales = admin
        .post_json("/api/departments", &json!({"name": "Sales"}))
        .json()["id"]
        .as_i64()
        .unwrap();
    let support = admin
        .post_json("/api/departments", &json!({"name": "Support"}))
        .json()["id"]
        .as_i64()
        .unwrap();
    let r = admin.post_json("/api/departments", &json!({"name": " sales "}));
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("exists already"));
    assert_eq!(
        admin
            .post_json("/api/departments", &json!({"name": ""}))
            .status,
        400
    );
    let r = admin.put_json(
        &format!("/api/departments/{support}"),
        &json!({"name": "SALES"}),
    );
    assert_eq!(r.status, 409);
    let r = admin.put_json(
        &format!("/api/departments/{support}"),
        &json!({"name": "Help desk"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(admin.delete("/api/departments/999").status, 404);
    // Bob (an agent without the all-chats permission) is in the help desk.
    let bob_id = agent_of(&mut admin, "bob@acme.example")["id"]
        .as_i64()
        .unwrap();
    let r = admin.put_json(
        &format!("/api/agents/{bob_id}"),
        &json!({"department_ids": [support], "capacity": 4}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = admin.put_json(&format!("/api/agents/{bob_id}"), &json!({"capacity": 0}));
    assert_eq!(r.status, 400);

    let (_bb, mut bob) = crate::chat::agent_as(&server, "bob@acme.example", &pw);
    let mut v = Ws::visitor(&server.base, &site, SHOP).unwrap();
    v.send(json!({"type": "start", "consent": true, "notice_version": "1", "department": sales}));
    let chat = v.recv_type("welcome")["conversation_id"].as_i64().unwrap();
    // Bob does not see the Sales chat.
    std::thread::sleep(Duration::from_millis(300));
    let waiting_of = |f: &Value| -> Vec<i64> {
        f["waiting"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["conversation_id"].as_i64().unwrap())
            .collect()
    };
    let seen: Vec<Vec<i64>> = bob
        .drain(Duration::from_millis(300))
        .iter()
        .filter(|f| f["type"] == "queue")
        .map(waiting_of)
        .collect();
    assert!(!seen.iter().any(|q| q.contains(&chat)), "{seen:?}");

    let r = admin.delete(&format!("/api/departments/{sales}"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["moved"], 1);
    // The running hub moved it: now in Bob's queue.
    loop {
        let q = bob.recv_type("queue");
        if waiting_of(&q).contains(&chat) {
            break;
        }
    }
    let t = trail(&k);
    for action in [
        "department.create",
        "department.update",
        "department.delete",
    ] {
        assert!(has(&t, action, "success"), "{action} missing");
    }
    // An agent without the permission to manage agents may not change departments.
    let mut bob_http = Browser::signed_in(&server.base, "bob@acme.example", &pw);
    assert_eq!(
        bob_http
            .post_json("/api/departments", &json!({"name": "Mine"}))
            .status,
        403
    );
}

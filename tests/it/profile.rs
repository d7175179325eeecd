//! Every agent's own profile (`/api/me`): the display name (seen by visitors at once), the
//! dashboard language, the alert preferences and the password (the current one required;
//! every other sign-in ends, this one stays). Bad input changes nothing.

use crate::chat::{SHOP, setup, visitor, with_bob};
use crate::common::{Browser, Kontor, Ws};
use serde_json::json;

const ANN: &str = "ann@acme.example";
const BOB: &str = "bob@acme.example";

fn trail(k: &Kontor, action: &str) -> usize {
    k.json(&["audit", "list", "acme", "--action", action])
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn an_agent_changes_their_name_and_visitors_see_it() {
    let (k, pw, site) = setup();
    with_bob(&k, &pw);
    let server = k.server(&[]);
    // Bob has no agents permission: his own profile is his anyway.
    let mut bob = Browser::signed_in(&server.base, BOB, &pw);
    let me = bob.get("/api/me");
    assert_eq!(me.status, 200, "{}", me.body);
    let me = me.json();
    assert_eq!(me["display_name"], "Bob");
    assert_eq!(me["email"], BOB);
    assert_eq!(me["lang"], serde_json::Value::Null);
    assert_eq!(
        (me["notify_sound"].as_bool(), me["notify_desktop"].as_bool()),
        (Some(true), Some(true))
    );

    // A chat with Vera is open while Bob renames himself.
    let mut ws = Ws::agent(&bob);
    ws.send(json!({"type": "hello"}));
    ws.recv_type("ready");
    let (mut v, conv, _) = visitor(&server, &site, "Vera");
    ws.send(json!({"type": "accept", "conversation_id": conv}));
    ws.recv_type("conversation");
    assert_eq!(v.recv_type("agent")["name"], "Bob");

    let res = bob.put_json("/api/me", &json!({"display_name": "  Robert  "}));
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["display_name"], "Robert");
    assert_eq!(bob.get("/api/session").json()["name"], "Robert");
    assert_eq!(trail(&k, "profile.update"), 1);

    ws.send(
        json!({"type": "message", "conversation_id": conv, "client_id": "b-1", "text": "Hallo"}),
    );
    let got = loop {
        let m = v.recv_type("message");
        if m["author"] == "agent" {
            break m;
        }
    };
    assert_eq!(got["author_name"], "Robert", "{got}");
    let _ = SHOP;
}

#[test]
fn bad_names_and_languages_change_nothing() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let mut ann = Browser::signed_in(&server.base, ANN, &pw);
    let before = ann.get("/api/me").json();
    for bad in [
        json!({"display_name": "Ann\nAdmin"}),
        json!({"display_name": "Ann\u{202e}nimda"}),
        json!({"display_name": "Ann\u{1b}[31m"}),
        json!({"display_name": "   "}),
        json!({"display_name": "x".repeat(101)}),
        // A good name with a bad language: neither is taken.
        json!({"display_name": "Annabel", "lang": "fr"}),
        json!({"notify_sound": false, "lang": "klingon"}),
        json!({"email": "eve@acme.example"}),
    ] {
        let res = ann.put_json("/api/me", &bad);
        assert_eq!(res.status, 400, "{bad}: {}", res.body);
    }
    assert_eq!(ann.get("/api/me").json(), before);
    assert_eq!(
        ann.get("/api/session").json()["name"],
        before["display_name"]
    );
    assert_eq!(trail(&k, "profile.update"), 0);
    // Without the CSRF token nothing changes either.
    let mut bare = Browser::new(&server.base);
    bare.cookies = ann.cookies.clone();
    assert_eq!(
        bare.put_json("/api/me", &json!({"display_name": "Eve"}))
            .status,
        403
    );
    // Not signed in: 401.
    let mut nobody = Browser::new(&server.base);
    assert_eq!(nobody.get("/api/me").status, 401);
}

#[test]
fn language_and_alert_choices_round_trip_and_the_page_follows_them() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let mut ann = Browser::signed_in(&server.base, ANN, &pw);
    let res = ann.put_json(
        "/api/me",
        &json!({"lang": "de", "notify_sound": false, "notify_desktop": false}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    let me = ann.get("/api/me").json();
    assert_eq!(me["lang"], "de");
    assert_eq!(me["notify_sound"], false);
    assert_eq!(me["notify_desktop"], false);
    // The dashboard speaks German whatever the browser asks for, and carries the choices.
    ann.headers
        .push(("Accept-Language".into(), "en-US,en;q=0.9".into()));
    let page = ann.get("/app/chats").body;
    assert!(page.contains("lang=\"de\""), "{page}");
    assert!(page.contains("data-notify-sound=\"off\""), "{page}");
    assert!(page.contains("data-notify-desktop=\"off\""), "{page}");
    // Only what is named changes; an empty language follows the browser again.
    let res = ann.put_json("/api/me", &json!({"notify_sound": true, "lang": ""}));
    assert_eq!(res.status, 200, "{}", res.body);
    let me = res.json();
    assert_eq!(
        (
            me["lang"].clone(),
            me["notify_sound"].clone(),
            me["notify_desktop"].clone()
        ),
        (serde_json::Value::Null, json!(true), json!(false))
    );
    let page = ann.get("/app/chats").body;
    assert!(page.contains("lang=\"en\""), "{page}");
}

#[test]
fn a_new_password_ends_the_other_sign_ins_but_not_this_one() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let mut here = Browser::signed_in(&server.base, ANN, &pw);
    let mut there = Browser::signed_in(&server.base, ANN, &pw);

    // A wrong current password: refused, nothing changes, nobody is signed out.
    let res = here.post_json(
        "/api/me/password",
        &json!({"current": "not the password", "new": "a-new-pass-phrase"}),
    );
    assert_eq!(res.status, 400, "{}", res.body);
    assert!(res.body.contains("current password"), "{}", res.body);
    assert_eq!(there.get("/api/session").status, 200);
    assert_eq!(
        Browser::new(&server.base)
            .login("acme", ANN, "a-new-pass-phrase")
            .status,
        401
    );
    // A weak new password is refused too.
    let res = here.post_json(
        "/api/me/password",
        &json!({"current": pw, "new": "password"}),
    );
    assert_eq!(res.status, 400, "{}", res.body);
    assert_eq!(there.get("/api/session").status, 200);
    assert_eq!(trail(&k, "profile.password"), 0);

    let res = here.post_json(
        "/api/me/password",
        &json!({"current": pw, "new": "a-new-pass-phrase"}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["ended"], 1);
    assert_eq!(here.get("/api/session").status, 200);
    assert_eq!(there.get("/api/session").status, 401);
    assert_eq!(trail(&k, "profile.password"), 1);
    assert_eq!(
        Browser::new(&server.base).login("acme", ANN, &pw).status,
        401
    );
    assert_eq!(
        Browser::new(&server.base)
            .login("acme", ANN, "a-new-pass-phrase")
            .status,
        303
    );
}

#[test]
fn wrong_current_passwords_count_against_the_sign_in_throttle() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let mut ann = Browser::signed_in(&server.base, ANN, &pw);
    let mut throttled = false;
    for i in 0..30 {
        let res = ann.post_json(
            "/api/me/password",
            &json!({"current": format!("guess-{i}"), "new": "a-new-pass-phrase"}),
        );
        if res.status == 429 {
            throttled = true;
            break;
        }
        assert_eq!(res.status, 400, "{}", res.body);
    }
    assert!(throttled, "never throttled");
    // Even the right password waits now.
    let res = ann.post_json(
        "/api/me/password",
        &json!({"current": pw, "new": "a-new-pass-phrase"}),
    );
    assert_eq!(res.status, 429, "{}", res.body);
}

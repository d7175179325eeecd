//! Two-factor sign-in over HTTP against the real server: an agent sets up an authenticator
//! in the dashboard API, then signs in with password and code; a code works once; a recovery
//! code works once; wrong codes are counted and end the half-done sign-in; a role's policy
//! makes an agent set one up at sign-in; an admin's reset signs the agent out and is
//! audited; the CLI shows, requires and resets it.

use crate::chat::with_bob;
use crate::common::{Browser, Kontor, hidden_field};
use kontor::domain::two_factor::code_at;
use std::time::Duration;

const ANN: &str = "ann@acme.example";
const BOB: &str = "bob@acme.example";

/// The raw secret from the key the set-up shows (base32 in groups of four).
pub fn secret_of(key: &str) -> Vec<u8> {
    let compact: String = key.split_whitespace().collect();
    totp_rs::Secret::try_from_base32(compact).unwrap().to_vec()
}

/// The code the agent's app shows now, on the fixture's clock.
pub fn code_now(k: &Kontor, secret: &[u8]) -> String {
    code_at(secret, k.clock().now())
}

/// Waits, if need be, until at least 15 s of the current 30-second code step are left, so
/// that a test comparing "the same code again" with "the next code" is not fooled by real
/// time crossing into the next step on its own.
fn early_in_a_step(k: &Kontor) {
    let into = k.clock().now().rem_euclid(30);
    if into > 15 {
        std::thread::sleep(Duration::from_secs((31 - into) as u64));
    }
}

/// Sets up an authenticator through the dashboard API; returns its secret and the recovery
/// codes.
fn enrol(k: &Kontor, b: &mut Browser) -> (Vec<u8>, Vec<String>) {
    early_in_a_step(k);
    let setup = b.post_json("/api/two-factor/setup", &serde_json::json!({}));
    assert_eq!(setup.status, 200, "{}", setup.body);
    let setup = setup.json();
    assert!(
        setup["uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Acme%20GmbH")
    );
    assert!(setup["qr"]["path"].as_str().unwrap().starts_with('M'));
    let secret = secret_of(setup["secret"].as_str().unwrap());
    let wrong = b.post_json(
        "/api/two-factor/confirm",
        &serde_json::json!({"code": "000000"}),
    );
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    assert_eq!(b.get("/api/two-factor").json()["enrolled"], false);
    let code = code_now(k, &secret);
    let ok = b.post_json(
        "/api/two-factor/confirm",
        &serde_json::json!({ "code": code }),
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    let codes: Vec<String> = ok.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    let status = b.get("/api/two-factor").json();
    assert_eq!(status["enrolled"], true);
    assert_eq!(status["recovery_codes_left"], 10);
    (secret, codes)
}

/// Password first: answers the redirect to the second step.
fn password_step(b: &mut Browser, email: &str, pw: &str) -> String {
    let res = b.login("acme", email, pw);
    assert_eq!(res.status, 303, "{}", res.body);
    assert!(b.session().is_none(), "no session before the second factor");
    res.header("location").unwrap().to_string()
}

/// Types `code` on the second step's form.
fn code_step(b: &mut Browser, page: &str, code: &str) -> crate::common::Res {
    let form = b.get(page);
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = hidden_field(&form.body, "csrf");
    let action = page.split('?').next().unwrap().to_string();
    b.post_form(
        &action,
        &[("code", code), ("csrf", &csrf), ("next", "/app/history")],
    )
}

#[test]
fn an_agent_with_an_authenticator_signs_in_with_a_code_once_and_a_recovery_code_once() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let mut ann = Browser::signed_in(&server.base, ANN, &pw);
    let (secret, codes) = enrol(&k, &mut ann);
    assert!(
        k.ok(&["agent", "list", "acme"]).contains("2fa"),
        "agent list shows who has a second factor"
    );

    // Password alone no longer signs in.
    let mut b = Browser::new(&server.base);
    let next = password_step(&mut b, ANN, &pw);
    assert!(next.starts_with("/login/code?next="), "{next}");
    assert_eq!(b.get("/api/session").status, 401);
    let wrong = code_step(&mut b, &next, "123456");
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(
        wrong.body.contains("That code is not right"),
        "{}",
        wrong.body
    );
    // The code that confirmed the set-up is used up; the app's next one signs in.
    assert_eq!(code_step(&mut b, &next, &code_now(&k, &secret)).status, 401);
    k.advance_clock(Duration::from_secs(30));
    let code = code_now(&k, &secret);
    let ok = code_step(&mut b, &next, &code);
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.header("location"), Some("/app/history"));
    assert_eq!(b.get("/api/session").json()["email"], ANN);

    // The same code a second time, in the same half minute: refused.
    let mut again = Browser::new(&server.base);
    let next = password_step(&mut again, ANN, &pw);
    assert_eq!(code_step(&mut again, &next, &code).status, 401);
    // A recovery code (typed loosely) works, once.
    let loose = codes[3].to_uppercase().replace('-', " ");
    let ok = code_step(&mut again, &next, &loose);
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(
        again.get("/api/two-factor").json()["recovery_codes_left"],
        9
    );
    let mut third = Browser::new(&server.base);
    let next = password_step(&mut third, ANN, &pw);
    assert_eq!(code_step(&mut third, &next, &codes[3]).status, 401);
    // Half a minute on, the app's next code works.
    k.advance_clock(Duration::from_secs(30));
    let ok = code_step(&mut third, &next, &code_now(&k, &secret));
    assert_eq!(ok.status, 303, "{}", ok.body);

    let trail = k.json(&["audit", "list", "acme", "--action", "login"]);
    let objects: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["result"] == "success")
        .filter_map(|e| e["object"].as_str())
        .collect();
    assert!(
        objects.contains(&"totp") && objects.contains(&"recovery_code"),
        "{trail}"
    );
}

#[test]
fn wrong_codes_end_the_half_done_sign_in_and_count_against_the_throttle() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let mut ann = Browser::signed_in(&server.base, ANN, &pw);
    let (secret, _) = enrol(&k, &mut ann);
    k.advance_clock(Duration::from_secs(30));
    let mut b = Browser::new(&server.base);
    let next = password_step(&mut b, ANN, &pw);
    for _ in 0..4 {
        assert_eq!(code_step(&mut b, &next, "999999").status, 401);
    }
    // The fifth wrong code ends it: back to the password, and the right code is too late.
    let last = code_step(&mut b, &next, "999999");
    assert_eq!(last.status, 401);
    assert!(last.body.contains("Please sign in again"), "{}", last.body);
    let late = b.get(&next);
    assert!(
        late.body.contains("name=\"password\""),
        "back to the password form"
    );
    let csrf = hidden_field(&late.body, "csrf");
    let code = code_now(&k, &secret);
    let res = b.post_form("/login/code", &[("code", &code), ("csrf", &csrf)]);
    assert_eq!(res.status, 401);
    assert!(b.session().is_none());
    // Wrong codes count like wrong passwords: with the one typed at set-up and the five
    // above, four more make ten from this address, and then even the right password waits.
    let next = password_step(&mut b, ANN, &pw);
    for _ in 0..4 {
        assert_eq!(code_step(&mut b, &next, "999999").status, 401);
    }
    let throttled = b.login("acme", ANN, &pw);
    assert_eq!(throttled.status, 429, "{}", throttled.body);
    assert!(throttled.header("retry-after").is_some());
    // A cookie that names nothing shows the password form too.
    let mut stranger = Browser::new(&server.base);
    stranger.cookies.insert(
        "kontor_challenge".into(),
        format!("{}.{}", uuid_of(&k), "a".repeat(64)),
    );
    assert!(
        stranger
            .get("/login/code")
            .body
            .contains("name=\"password\"")
    );
}

/// A browser signed in by hand, now sending our Origin and the CSRF token like the dashboard.
fn for_api(mut b: Browser) -> Browser {
    let csrf = b.get("/api/session").json()["csrf"]
        .as_str()
        .unwrap()
        .to_string();
    b.headers = vec![
        ("Origin".into(), b.base.clone()),
        ("X-CSRF-Token".into(), csrf),
    ];
    b
}

fn uuid_of(k: &Kontor) -> String {
    k.json(&["tenant", "list"])["tenants"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_role_that_requires_two_factors_makes_its_agent_set_one_up_at_sign_in() {
    let (k, pw) = Kontor::with_tenant();
    with_bob(&k, &pw);
    let server = k.server(&[]);
    let mut ann = Browser::signed_in(&server.base, ANN, &pw);
    let roles = ann.get("/api/roles").json();
    let agent_role = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "agent")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let res = ann.put_json(
        &format!("/api/roles/{agent_role}/two-factor"),
        &serde_json::json!({"required": true}),
    );
    assert_eq!(res.status, 204, "{}", res.body);
    assert_eq!(
        ann.get("/api/roles").json()["roles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == agent_role)
            .unwrap()["two_factor"],
        true
    );

    let mut bob = Browser::new(&server.base);
    let next = password_step(&mut bob, BOB, &pw);
    assert!(next.starts_with("/login/enrol?next="), "{next}");
    // The code form sends an agent who must enrol to the set-up.
    assert_eq!(
        bob.get("/login/code")
            .header("location")
            .map(|l| l.starts_with("/login/enrol")),
        Some(true)
    );
    let page = bob.get(&next);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<svg class=\"qr\""),
        "a QR code drawn in the page"
    );
    assert!(!page.body.contains("https://"), "no outside service");
    let key = page
        .body
        .split("id=\"totp-secret\" class=\"secret\">")
        .nth(1)
        .unwrap();
    let secret = secret_of(key.split('<').next().unwrap());
    // A reload shows the same key (the app may have scanned it already).
    assert!(bob.get(&next).body.contains(key.split('<').next().unwrap()));
    assert_eq!(code_step(&mut bob, &next, "000000").status, 401);
    let done = code_step(&mut bob, &next, &code_now(&k, &secret));
    assert_eq!(done.status, 200, "{}", done.body);
    let codes = done
        .body
        .split("id=\"recovery-codes\" class=\"recovery-codes\">")
        .nth(1)
        .unwrap();
    assert_eq!(codes.split("</pre>").next().unwrap().lines().count(), 10);
    assert!(done.body.contains("href=\"/app/history\""), "{}", done.body);
    assert_eq!(bob.get("/api/session").json()["email"], BOB);
    assert_eq!(bob.get("/api/two-factor").json()["required"], true);
    // Required means it cannot be turned off.
    let mut bob = for_api(bob);
    let off = bob.post_json(
        "/api/two-factor/disable",
        &serde_json::json!({"code": code_now(&k, &secret)}),
    );
    assert_eq!(off.status, 409, "{}", off.body);
    assert_eq!(
        k.json(&[
            "audit",
            "list",
            "acme",
            "--action",
            "role.two_factor_required"
        ])
        .as_array()
        .unwrap()
        .len(),
        1
    );
}

#[test]
fn an_admin_reset_signs_the_agent_out_and_the_cli_requires_and_resets() {
    let (k, pw) = Kontor::with_tenant();
    with_bob(&k, &pw);
    let server = k.server(&[]);
    let mut bob = Browser::signed_in(&server.base, BOB, &pw);
    enrol(&k, &mut bob);
    let mut ann = Browser::signed_in(&server.base, ANN, &pw);
    let bob_id = ann.get("/api/agents").json()["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == BOB)
        .map(|a| {
            assert_eq!(a["two_factor"], true);
            a["id"].as_i64().unwrap()
        })
        .unwrap();
    let res = ann.delete(&format!("/api/agents/{bob_id}/two-factor"));
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["had_two_factor"], true);
    assert_eq!(bob.get("/api/session").status, 401, "signed out");
    let mut again = Browser::new(&server.base);
    assert_eq!(
        again.login("acme", BOB, &pw).header("location"),
        Some("/app/chats")
    );
    assert_eq!(
        k.json(&[
            "audit",
            "list",
            "acme",
            "--action",
            "agent.two_factor_reset"
        ])
        .as_array()
        .unwrap()
        .len(),
        1
    );
    // An agent cannot reset anyone.
    let mut bob = Browser::signed_in(&server.base, BOB, &pw);
    assert_eq!(bob.delete("/api/agents/1/two-factor").status, 403);

    // The CLI: require it for every role, then reset Ann's after she set one up.
    let out = k.ok(&["agent", "require-two-factor", "acme"]);
    assert!(out.contains("admin") && out.contains("agent"), "{out}");
    let mut b = Browser::new(&server.base);
    assert!(password_step(&mut b, ANN, &pw).starts_with("/login/enrol"));
    let (_, _) = enrol(&k, &mut ann);
    let out = k.ok(&["agent", "reset-two-factor", "acme", ANN]);
    assert!(out.contains("second factor forgotten"), "{out}");
    assert_eq!(ann.get("/api/session").status, 401);
    k.ok(&["agent", "require-two-factor", "acme", "--off"]);
    let mut b = Browser::new(&server.base);
    assert_eq!(
        b.login("acme", ANN, &pw).header("location"),
        Some("/app/chats")
    );
}

#[test]
fn a_stolen_session_cannot_guess_its_way_to_turning_the_second_factor_off() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let mut ann = Browser::signed_in(&server.base, ANN, &pw);
    let (secret, _) = enrol(&k, &mut ann);
    k.advance_clock(Duration::from_secs(30));
    // With the wrong code typed at set-up, nine more make ten.
    for _ in 0..9 {
        let wrong = ann.post_json(
            "/api/two-factor/disable",
            &serde_json::json!({"code": "111111"}),
        );
        assert_eq!(wrong.status, 400, "{}", wrong.body);
    }
    // Now even the right code waits, like a password after ten failures.
    let right = serde_json::json!({ "code": code_now(&k, &secret) });
    let res = ann.post_json("/api/two-factor/disable", &right);
    assert_eq!(res.status, 429, "{}", res.body);
    assert_eq!(ann.get("/api/two-factor").json()["enrolled"], true);
    k.ok(&["agent", "unlock", "acme", ANN]);
    let res = ann.post_json("/api/two-factor/disable", &right);
    assert_eq!(
        res.status, 429,
        "the address's own count is not cleared by unlock"
    );
}

//! Agent sign-in: success, failure, throttling, CSRF, session renewal, logout, timeouts.

use crate::common::{Browser, Kontor, hidden_field};

#[test]
fn sign_in_succeeds_and_opens_the_dashboard() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    let res = b.login("acme", "Ann@Acme.example", &pw);
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(res.header("location"), Some("/app/chats"));
    let cookie = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("kontor_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP cannot carry Secure cookies"
    );
    let me = b.get("/api/session").json();
    assert_eq!(me["email"], "ann@acme.example");
    assert_eq!(me["name"], "Ann");
    assert!(me.get("token").is_none() && me.get("password_hash").is_none());
    let page = b.get("/app/chats");
    assert_eq!(page.status, 200);
    for label in [
        "Visitors",
        "Chats",
        "History",
        "Statistics",
        "Settings",
        "Sign out",
    ] {
        assert!(page.body.contains(label), "missing {label}");
    }
    assert!(
        page.body
            .contains("href=\"/app/chats\" aria-current=\"page\"")
    );
}

#[test]
fn dashboard_speaks_german_from_accept_language_and_can_switch() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    b.headers
        .push(("Accept-Language".into(), "de-DE,de;q=0.9,en;q=0.5".into()));
    let login = b.get("/login");
    for label in ["Mandant", "E-Mail", "Passwort", "Anmelden"] {
        assert!(login.body.contains(label), "missing {label}");
    }
    assert!(login.body.contains("<html lang=\"de\">"));
    b.login("acme", "ann@acme.example", &pw);
    let page = b.get("/app/visitors");
    for label in [
        "Besucher",
        "Chats",
        "Verlauf",
        "Statistik",
        "Einstellungen",
        "Abmelden",
    ] {
        assert!(page.body.contains(label), "missing {label}");
    }
    let english = b.get("/app/visitors?lang=en");
    assert!(english.body.contains("Visitors") && english.body.contains("<html lang=\"en\">"));
    // The choice sticks (cookie) over Accept-Language.
    assert!(b.get("/app/history").body.contains("History"));
}

#[test]
fn login_page_has_labelled_fields() {
    let (k, _) = Kontor::with_tenant();
    let server = k.server(&[]);
    let page = Browser::new(&server.base).get("/login?lang=en");
    for (id, label) in [
        ("tenant", "Tenant"),
        ("email", "Email"),
        ("password", "Password"),
    ] {
        assert!(
            page.body
                .contains(&format!("<label for=\"{id}\">{label}</label>")),
            "{id}"
        );
        assert!(page.body.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(page.body.contains(">Sign in</button>"));
}

#[test]
fn unknown_user_and_wrong_password_look_the_same() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let attempt = |tenant: &str, email: &str, password: &str| {
        let mut b = Browser::new(&server.base);
        let started = std::time::Instant::now();
        let res = b.login(tenant, email, password);
        let token = b
            .cookies
            .get("kontor_prelogin")
            .cloned()
            .unwrap_or_default();
        let body = res
            .body
            .replace(&token, "TOKEN")
            .replace(email, "EMAIL")
            .replace(tenant, "TENANT");
        (res.status, body, started.elapsed(), b.session().is_some())
    };
    let wrong_pw = attempt("acme", "ann@acme.example", &format!("{pw}x"));
    let no_user = attempt("acme", "nobody@acme.example", &pw);
    let no_tenant = attempt("nope", "ann@acme.example", &pw);
    for other in [&no_user, &no_tenant] {
        assert_eq!(wrong_pw.0, 401);
        assert_eq!(other.0, 401);
        assert_eq!(
            wrong_pw.1, other.1,
            "responses must not reveal which accounts exist"
        );
        assert!(!other.3 && !wrong_pw.3);
    }
    assert!(wrong_pw.1.contains("Tenant, email or password is wrong."));
    // Every path verifies one argon2 hash; allow generous noise on a busy CI machine.
    let (a, b) = (wrong_pw.2.as_secs_f64(), no_user.2.as_secs_f64());
    assert!(
        a / b < 5.0 && b / a < 5.0,
        "timing differs too much: {a} vs {b}"
    );
}

#[test]
fn failed_and_successful_sign_ins_are_audited() {
    let (k, pw) = Kontor::with_tenant();
    let mut server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    b.login("acme", "ann@acme.example", "wrong password!");
    b.login("acme", "ann@acme.example", &pw);
    assert_eq!(server.stop(), Some(0));
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    let rows: Vec<_> = db
        .with(|c| kontor::store::audit::recent(c, 10))
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "login")
        .collect();
    let results: Vec<&str> = rows.iter().map(|r| r.result.as_str()).collect();
    assert_eq!(results, ["success", "failure"]);
    for r in &rows {
        assert_eq!(r.action, "login");
        assert_eq!(r.actor, "ann@acme.example");
        assert_eq!(r.ip, "127.0.0.0", "addresses are stored truncated");
        assert_eq!(r.request_id.len(), 16);
        assert!(r.at > 1_700_000_000);
    }
}

/// A browser whose requests come, through the trusted proxy, from `ip`.
fn from(server: &crate::common::Server, ip: &str) -> Browser {
    let mut b = Browser::new(&server.base);
    b.headers.push(("X-Forwarded-For".into(), ip.into()));
    b
}

const ANN: &str = "ann@acme.example";

/// Ten wrong passwords for Ann from ten addresses of 198.51.100.0/24.
fn ten_failures_for_ann(server: &crate::common::Server) {
    for i in 0..10 {
        let res = from(server, &format!("198.51.100.{i}")).login("acme", ANN, "not the password");
        assert_eq!(res.status, 401, "attempt {i}");
    }
}

#[test]
fn failures_from_other_addresses_do_not_lock_the_account_out() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server_with_env(&[("KONTOR_TRUSTED_PROXY", "127.0.0.1")]);
    // Someone guesses Ann's password, each try from another address of one network.
    ten_failures_for_ann(&server);
    // That network stays throttled for Ann, even with the right password.
    let mut b = from(&server, "198.51.100.200");
    let res = b.login("acme", ANN, &pw);
    assert_eq!(res.status, 429);
    let wait: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!(wait > 0 && wait <= 900, "{wait}");
    assert!(b.session().is_none());
    // Ann, from an address without failures, signs in.
    let mut ann = from(&server, "203.0.113.99");
    assert_eq!(ann.login("acme", ANN, &pw).status, 303);
    assert!(ann.session().is_some());
    // The account is under attack: another network now has three tries, not ten.
    for i in 0..3 {
        let res = from(&server, &format!("192.0.2.{i}")).login("acme", ANN, "still wrong!");
        assert_eq!(res.status, 401, "attempt {i}");
    }
    assert_eq!(
        from(&server, "192.0.2.50").login("acme", ANN, &pw).status,
        429
    );
    // A typo of Ann's own is no lockout.
    let mut ann = from(&server, "203.0.113.99");
    assert_eq!(ann.login("acme", ANN, "a typo").status, 401);
    assert_eq!(ann.login("acme", ANN, &pw).status, 303);
    // Another account is not affected at all.
    k.ok_stdin(
        &[
            "agent",
            "add",
            "acme",
            "bo@acme.example",
            "--name",
            "Bo",
            "--password-stdin",
        ],
        &pw,
    );
    assert_eq!(
        from(&server, "198.51.100.201")
            .login("acme", "bo@acme.example", &pw)
            .status,
        303
    );
}

#[test]
fn agent_unlock_and_agent_passwd_clear_a_lock() {
    let (k, pw) = Kontor::with_tenant();
    let mut server = k.server_with_env(&[("KONTOR_TRUSTED_PROXY", "127.0.0.1")]);
    ten_failures_for_ann(&server);
    assert_eq!(
        from(&server, "198.51.100.200")
            .login("acme", ANN, &pw)
            .status,
        429
    );
    let out = k.ok(&["agent", "unlock", "acme", "Ann@Acme.example"]);
    assert!(out.contains("unlocked"), "{out}");
    let mut b = from(&server, "198.51.100.200");
    assert_eq!(b.login("acme", ANN, &pw).status, 303, "unlocked");

    ten_failures_for_ann(&server);
    assert_eq!(
        from(&server, "198.51.100.200")
            .login("acme", ANN, &pw)
            .status,
        429
    );
    let new = "a brand new passphrase";
    k.ok_stdin(&["agent", "passwd", "acme", ANN, "--password-stdin"], new);
    assert_eq!(
        from(&server, "198.51.100.200")
            .login("acme", ANN, new)
            .status,
        303,
        "a new password unlocks"
    );

    // Both are in the tenant's audit trail.
    for action in ["agent.unlock", "agent.passwd"] {
        let trail = k.json(&["audit", "list", "acme", "--action", action]);
        assert_eq!(trail.as_array().unwrap().len(), 1, "{action}: {trail}");
    }
    // Without a running server there is no lock to clear: the command says so and succeeds.
    assert_eq!(server.stop(), Some(0));
    let out = k.ok(&["agent", "unlock", "acme", ANN]);
    assert!(out.contains("unlocked"), "{out}");
    // An unknown agent is an error.
    let err = k.fails(&["agent", "unlock", "acme", "nobody@acme.example"]);
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn ten_failures_per_address_throttle_and_forged_forwarded_for_is_ignored() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]); // no trusted proxy: X-Forwarded-For means nothing
    for i in 0..10 {
        let mut b = Browser::new(&server.base);
        b.headers
            .push(("X-Forwarded-For".into(), format!("192.0.2.{i}")));
        let res = b.login("acme", &format!("user{i}@acme.example"), "whatever pass");
        assert_eq!(res.status, 401);
    }
    let mut b = Browser::new(&server.base);
    b.headers
        .push(("X-Forwarded-For".into(), "192.0.2.200".into()));
    assert_eq!(b.login("acme", "ann@acme.example", &pw).status, 429);
}

#[test]
fn sign_in_without_token_or_from_another_origin_is_rejected() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let fields = |csrf: &str| {
        vec![
            ("tenant".to_string(), "acme".to_string()),
            ("email".to_string(), "ann@acme.example".to_string()),
            ("password".to_string(), pw.clone()),
            ("csrf".to_string(), csrf.to_string()),
        ]
    };
    let post = |b: &mut Browser, origin: Option<&str>, csrf: &str| {
        let f = fields(csrf);
        let refs: Vec<(&str, &str)> = f.iter().map(|(a, c)| (a.as_str(), c.as_str())).collect();
        b.post_form_from("/login", origin, &refs)
    };
    let mut b = Browser::new(&server.base);
    let token = b.login_token();
    let own = server.base.clone();
    assert_eq!(post(&mut b, Some(&own), "").status, 403, "missing token");
    assert_eq!(
        post(&mut b, Some(&own), &"0".repeat(64)).status,
        403,
        "wrong token"
    );
    assert_eq!(
        post(&mut b, Some("https://evil.example"), &token).status,
        403,
        "foreign origin"
    );
    assert_eq!(post(&mut b, None, &token).status, 403, "no origin");
    // A cross-site form carries no SameSite=Strict cookie: the token cannot match.
    let mut foreign = Browser::new(&server.base);
    assert_eq!(
        post(&mut foreign, Some(&own), &token).status,
        403,
        "token without its cookie"
    );
    assert!(b.session().is_none() && foreign.session().is_none());
    assert_eq!(
        post(&mut b, Some(&own), &token).status,
        303,
        "the genuine form still works"
    );
}

#[test]
fn a_planted_session_id_is_replaced_at_sign_in() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let mut first = Browser::new(&server.base);
    first.login("acme", "ann@acme.example", &pw);
    let first_cookie = first.session().unwrap().clone();

    let mut b = Browser::new(&server.base);
    let planted = format!(
        "{}.{}",
        first_cookie.split('.').next().unwrap(),
        "ab".repeat(32)
    );
    b.cookies.insert("kontor_session".into(), planted.clone());
    assert_eq!(
        b.get("/api/session").status,
        401,
        "a planted id is no session"
    );
    assert_eq!(b.login("acme", "ann@acme.example", &pw).status, 303);
    let now = b.session().unwrap().clone();
    assert_ne!(now, planted);
    assert_ne!(now, first_cookie, "every sign-in gets a new token");
    assert_eq!(b.get("/api/session").status, 200);
}

#[test]
fn logout_needs_the_csrf_token_and_ends_the_session() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    b.login("acme", "ann@acme.example", &pw);
    let page = b.get("/app/chats");
    let csrf = hidden_field(&page.body, "csrf");
    let own = server.base.clone();
    assert_eq!(b.post_form("/logout", &[]).status, 403);
    assert_eq!(b.post_form("/logout", &[("csrf", "nope")]).status, 403);
    assert_eq!(
        b.post_form_from("/logout", Some("https://evil.example"), &[("csrf", &csrf)])
            .status,
        403
    );
    assert_eq!(
        b.get("/api/session").status,
        200,
        "rejected logouts change nothing"
    );
    let stolen = b.session().unwrap().clone();
    let res = b.post_form_from("/logout", Some(&own), &[("csrf", &csrf)]);
    assert_eq!(res.status, 303);
    assert_eq!(res.header("location"), Some("/login"));
    assert!(b.session().is_none(), "cookie removed");
    b.cookies.insert("kontor_session".into(), stolen);
    assert_eq!(
        b.get("/api/session").status,
        401,
        "the old token is dead on the server"
    );
    assert_eq!(b.get("/app/chats").status, 303);
}

#[test]
fn password_change_ends_sessions() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    b.login("acme", "ann@acme.example", &pw);
    assert_eq!(b.get("/api/session").status, 200);
    k.ok_stdin(
        &[
            "agent",
            "passwd",
            "acme",
            "ann@acme.example",
            "--password-stdin",
        ],
        "a brand new passphrase",
    );
    assert_eq!(b.get("/api/session").status, 401);
    assert_eq!(b.login("acme", "ann@acme.example", &pw).status, 401);
    assert_eq!(
        b.login("acme", "ann@acme.example", "a brand new passphrase")
            .status,
        303
    );
}

#[test]
fn idle_sessions_expire() {
    let (k, pw) = Kontor::with_tenant();
    let mut server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    b.login("acme", "ann@acme.example", &pw);
    assert_eq!(server.stop(), Some(0));
    {
        let store = kontor::store::Store::open(&k.data_dir()).unwrap();
        let (_, db) = store.tenant_db_by_slug("acme").unwrap();
        db.with(|c| {
            c.execute(
                "UPDATE sessions SET last_seen_at = last_seen_at - 3 * 3600",
                [],
            )?;
            Ok(())
        })
        .unwrap();
    }
    let server = k.server(&[]);
    b.base = server.base.clone();
    assert_eq!(
        b.get("/api/session").status,
        401,
        "idle for 3 h > 120 min default"
    );
}

#[test]
fn sessions_expire_after_the_absolute_timeout() {
    let (k, pw) = Kontor::with_tenant();
    let mut server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    b.login("acme", "ann@acme.example", &pw);
    assert_eq!(server.stop(), Some(0));
    {
        let store = kontor::store::Store::open(&k.data_dir()).unwrap();
        let (_, db) = store.tenant_db_by_slug("acme").unwrap();
        db.with(|c| {
            c.execute(
                "UPDATE sessions SET created_at = created_at - 13 * 3600",
                [],
            )?;
            Ok(())
        })
        .unwrap();
    }
    let server = k.server(&[]);
    b.base = server.base.clone();
    assert_eq!(b.get("/api/session").status, 401, "older than 12 h");
}

#[test]
fn next_parameter_only_redirects_within_the_site() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    for (next, want) in [
        ("/app/history", "/app/history"),
        ("//evil.example", "/app/chats"),
        ("/\\evil.example", "/app/chats"),
        ("https://evil", "/app/chats"),
    ] {
        let mut b = Browser::new(&server.base);
        let csrf = b.login_token();
        let res = b.post_form(
            "/login",
            &[
                ("tenant", "acme"),
                ("email", "ann@acme.example"),
                ("password", &pw),
                ("csrf", &csrf),
                ("next", next),
            ],
        );
        assert_eq!(res.header("location"), Some(want), "{next}");
    }
}

#[test]
fn hostile_input_in_the_form_is_harmless() {
    let (k, _) = Kontor::with_tenant();
    let server = k.server(&[]);
    for evil in [
        "' OR 1=1--",
        "\"><img src=x onerror=alert(1)>",
        "{{constructor.constructor('alert(1)')()}}",
        "${7*7}",
        "a\u{202e}b\r\nX-Injected: 1",
    ] {
        let mut b = Browser::new(&server.base);
        let res = b.login(evil, evil, evil);
        assert_eq!(res.status, 401, "{evil}");
        assert!(
            !res.body.contains("<img src=x"),
            "reflected unescaped: {evil}"
        );
        // Echoed back exactly, escaped, never evaluated.
        assert!(
            res.body.contains(&kontor::i18n::escape_html(evil)),
            "{evil}"
        );
        assert!(res.header("x-injected").is_none());
    }
    // Not a form at all.
    let mut b = Browser::new(&server.base);
    b.login_token();
    let res = b.post_form("/login", &[("tenant", "acme")]);
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["error"]["code"], "invalid_input");
    assert!(!server.log().contains("panicked"));
}

/// The server's clock moves; the session's age and idleness are measured on it.
const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);

#[test]
fn a_session_idles_out_after_120_minutes_without_a_request() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    assert_eq!(b.login("acme", "ann@acme.example", &pw).status, 303);
    // Each request within the idle time keeps the session.
    for _ in 0..3 {
        k.advance_clock(119 * MINUTE);
        assert_eq!(b.get("/api/session").status, 200);
    }
    k.advance_clock(121 * MINUTE);
    assert_eq!(b.get("/api/session").status, 401, "idle for 121 min");
}

#[test]
fn an_active_session_and_its_dashboard_socket_end_at_the_absolute_timeout() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let (mut b, mut ws) = crate::chat::agent(&server, &pw);
    // Never idle (a request every 110 min), yet over after 12 h.
    for step in 1..=6 {
        k.advance_clock(110 * MINUTE);
        assert_eq!(b.get("/api/session").status, 200, "{} min", step * 110);
    }
    k.advance_clock(110 * MINUTE);
    assert_eq!(b.get("/api/session").status, 401, "older than 12 h");
    // The hub's session check ends the open socket too; the client resumes into a sign-in.
    assert_eq!(ws.close_code(), Some(1013));
}

#[test]
fn a_throttled_account_may_try_again_once_its_window_has_passed() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    for _ in 0..10 {
        let mut b = Browser::new(&server.base);
        assert_eq!(
            b.login("acme", "ann@acme.example", "wrong password!")
                .status,
            401
        );
    }
    let mut b = Browser::new(&server.base);
    let res = b.login("acme", "ann@acme.example", &pw);
    assert_eq!(res.status, 429);
    let wait: u64 = res.header("retry-after").unwrap().parse().unwrap();
    k.advance_clock(std::time::Duration::from_secs(wait - 1));
    assert_eq!(
        Browser::new(&server.base)
            .login("acme", "ann@acme.example", &pw)
            .status,
        429,
        "still inside the window"
    );
    // Retry-After counts whole seconds, rounded down.
    k.advance_clock(std::time::Duration::from_secs(2));
    let mut b = Browser::new(&server.base);
    assert_eq!(b.login("acme", "ann@acme.example", &pw).status, 303);
    assert!(b.session().is_some());
}

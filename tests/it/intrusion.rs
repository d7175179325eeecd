//! Intrusion-detection hooks against the real server: each failed or refused attempt (wrong
//! password, wrong code, throttled sign-in, refused CSRF token, dead link or chat token,
//! refused socket, rate limit) is one `kontor-security:` line naming the client as the rate
//! limits see it (the forwarded address only from the trusted proxy), never the sign-in name
//! or a secret; and Debian's `fail2ban-regex` with the shipped filter matches exactly those
//! lines and extracts their addresses, none that a client smuggled into the log.

use crate::chat::{SHOP, setup};
use crate::common::{Browser, Kontor, Server, Ws, hidden_field, wait_until};
use kontor::domain::intrusion::user_hash;
use serde_json::json;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The shipped filter.
const FILTER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/packaging/fail2ban/filter.d/kontor.conf"
);

/// A server behind a proxy on 127.0.0.1, with `extra` configuration.
fn behind_proxy(k: &Kontor, extra: &str) -> Server {
    std::fs::write(
        k.config_file(),
        format!("trusted_proxy = \"127.0.0.1\"\n{extra}"),
    )
    .unwrap();
    k.server(&[])
}

/// A browser whose requests the proxy forwards for `client`.
fn from(server: &Server, client: &str) -> Browser {
    let mut b = Browser::new(&server.base);
    b.headers.push(("X-Forwarded-For".into(), client.into()));
    b
}

/// The event lines of the server's log.
fn events(server: &Server) -> Vec<String> {
    server
        .log()
        .lines()
        .filter(|l| l.contains("kontor-security: "))
        .map(String::from)
        .collect()
}

/// Waits for the event line that starts with `event=… client=…` and holds every field of
/// `rest`; returns it.
fn expect(server: &Server, event: &str, client: &str, rest: &[&str]) -> String {
    let head = format!("kontor-security: event={event} client={client}");
    let mut found = None;
    let seen = crate::common::within(Duration::from_secs(5), || {
        found = events(server).into_iter().find(|l| {
            l.split_once(&head).is_some_and(|(_, tail)| {
                (tail.is_empty() || tail.starts_with(' '))
                    && rest
                        .iter()
                        .all(|f| tail.split(' ').any(|field| field == *f))
            })
        });
        found.is_some()
    });
    assert!(
        seen,
        "no {head} with {rest:?} in:\n{}",
        events(server).join("\n")
    );
    found.unwrap()
}

fn leave_offline(b: &mut Browser, site: &str, origin: &str) -> u16 {
    b.headers.retain(|(k, _)| k != "Origin");
    b.headers.push(("Origin".into(), origin.into()));
    b.post_json(
        "/api/widget/offline",
        &json!({"site": site, "name": "Rita", "email": "rita@example.org",
                "message": "Hallo", "consent": true, "lang": "de"}),
    )
    .status
}

#[test]
fn failed_sign_ins_codes_refused_tokens_and_csrf_are_events_with_the_proxied_client() {
    let (k, pw, site) = setup();
    crate::chat::with_bob(&k, &pw);
    let server = behind_proxy(&k, "");

    // A wrong code at the second step (Bob has an authenticator).
    let mut bob = Browser::signed_in(&server.base, "bob@acme.example", &pw);
    let setup = bob.post_json("/api/two-factor/setup", &json!({})).json();
    let secret = crate::two_factor::secret_of(setup["secret"].as_str().unwrap());
    let code = crate::two_factor::code_now(&k, &secret);
    let ok = bob.post_json("/api/two-factor/confirm", &json!({ "code": code }));
    assert_eq!(ok.status, 200, "{}", ok.body);
    let mut b = from(&server, "192.0.2.40");
    let res = b.login("acme", "bob@acme.example", &pw);
    assert_eq!(res.status, 303);
    let next = res.header("location").unwrap().to_string();
    let form = b.get(&next);
    let csrf = hidden_field(&form.body, "csrf");
    let wrong = b.post_form("/login/code", &[("code", "999999"), ("csrf", &csrf)]);
    assert_eq!(wrong.status, 401);
    let bob_hash = user_hash("bob@acme.example");
    expect(
        &server,
        "login_failed",
        "192.0.2.40",
        &["tenant=acme", &format!("user={bob_hash}"), "factor=code"],
    );

    // CSRF: the sign-in form without its token, an API change without the header, an
    // offline message from a foreign page.
    let mut b = from(&server, "198.51.100.20");
    let r = b.post_form(
        "/login",
        &[
            ("tenant", "acme"),
            ("email", "ann@acme.example"),
            ("password", &pw),
        ],
    );
    assert_eq!(r.status, 403);
    expect(&server, "csrf_refused", "198.51.100.20", &["door=login"]);
    let mut ann = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    ann.headers.retain(|(k, _)| k != "X-CSRF-Token");
    ann.headers
        .push(("X-Forwarded-For".into(), "198.51.100.21".into()));
    let r = ann.post_json("/api/departments", &json!({"name": "Sales"}));
    assert_eq!(r.status, 403, "{}", r.body);
    expect(&server, "csrf_refused", "198.51.100.21", &["door=api"]);
    let mut b = from(&server, "198.51.100.22");
    assert_eq!(leave_offline(&mut b, &site, "https://evil.example"), 403);
    expect(&server, "csrf_refused", "198.51.100.22", &["door=offline"]);

    // Tokens that open nothing: a made-up set-up link, a made-up chat token.
    let r = from(&server, "192.0.2.30").get(&format!("/setup/{}", "a".repeat(40)));
    assert_eq!(r.status, 410);
    expect(&server, "token_refused", "192.0.2.30", &["kind=setup_link"]);
    let r = from(&server, "192.0.2.31").post_json(
        "/api/widget/files/1",
        &json!({"token": format!("{site}.{}", "b".repeat(64))}),
    );
    assert_eq!(r.status, 404);
    expect(&server, "token_refused", "192.0.2.31", &["kind=chat_token"]);

    // Wrong passwords, then the throttle.
    let ann_hash = user_hash("ann@acme.example");
    let mut b = from(&server, "203.0.113.10");
    assert_eq!(
        b.login("acme", "Ann@Acme.example", "not the password")
            .status,
        401
    );
    expect(
        &server,
        "login_failed",
        "203.0.113.10",
        &[
            "tenant=acme",
            &format!("user={ann_hash}"),
            "factor=password",
        ],
    );
    let mut throttled = false;
    for _ in 0..15 {
        if b.login("acme", "ann@acme.example", "not the password")
            .status
            == 429
        {
            throttled = true;
            break;
        }
    }
    assert!(throttled, "the address was throttled");
    expect(
        &server,
        "login_throttled",
        "203.0.113.10",
        &["tenant=acme", "factor=password"],
    );
    let mut logged = events(&server);
    // A forwarded address from anyone but the proxy is not believed: this server trusts none.
    drop(server);
    std::fs::write(k.config_file(), "").unwrap();
    let server = k.server(&[]);
    let r = from(&server, "203.0.113.99").login("acme", "carl@acme.example", "guess guess");
    assert_eq!(r.status, 401);
    expect(
        &server,
        "login_failed",
        "127.0.0.1",
        &[&format!("user={}", user_hash("carl@acme.example"))],
    );

    // Nothing secret and no sign-in name in any event.
    logged.extend(events(&server));
    for l in &logged {
        for secret in [
            "ann@acme.example",
            "Ann@Acme.example",
            "bob@acme.example",
            "carl@acme.example",
            "not the password",
            "guess guess",
            pw.as_str(),
            "999999",
        ] {
            assert!(!l.contains(secret), "{secret:?} in {l}");
        }
    }
}

#[test]
fn refused_sockets_and_rate_limits_are_events_with_the_proxied_client() {
    let (k, pw, site) = setup();
    let server = behind_proxy(
        &k,
        "[chat]\nsockets_per_address = 1\nstarts_per_address_per_minute = 1\n\
         [tracking]\nreports_per_minute = 1\n[uploads]\naddress_files = 1\n",
    );

    // Sockets from a foreign origin: the widget's and the dashboard's.
    assert_eq!(
        Ws::visitor_via(&server.base, &site, "https://evil.example", "203.0.113.50").err(),
        Some(403)
    );
    expect(
        &server,
        "socket_refused",
        "203.0.113.50",
        &["side=visitor", "reason=origin", &format!("site={site}")],
    );
    let ann = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    assert_eq!(
        Ws::agent_from(&ann, "https://evil.example").err(),
        Some(403)
    );
    expect(
        &server,
        "socket_refused",
        "127.0.0.1",
        &["side=agent", "reason=origin"],
    );

    // Too many sockets from one address, too many chat starts, too many uploads.
    let mut v = Ws::visitor_via(&server.base, &site, SHOP, "203.0.113.51").unwrap();
    assert_eq!(
        Ws::visitor_via(&server.base, &site, SHOP, "203.0.113.51").err(),
        Some(429)
    );
    expect(
        &server,
        "socket_refused",
        "203.0.113.51",
        &["side=visitor", "reason=too_many_sockets"],
    );
    v.send(json!({"type": "start", "consent": true, "notice_version": "1", "name": "V"}));
    let token = v.recv_type("welcome")["token"]
        .as_str()
        .unwrap()
        .to_string();
    v.send(json!({"type": "start", "consent": true, "notice_version": "1", "name": "V"}));
    assert_eq!(v.recv_type("error")["code"], "too_many_chats");
    expect(
        &server,
        "rate_limited",
        "203.0.113.51",
        &["door=chat_start"],
    );
    let upload = |n: &str| {
        from(&server, "203.0.113.51")
            .post_bytes(
                &format!("/api/widget/files?site={site}&name=a.png&client_id={n}"),
                &[("Origin", &server.base), ("X-Kontor-Token", &token)],
                b"\x89PNG\r\n\x1a\n",
            )
            .status
    };
    upload("f1");
    assert_eq!(upload("f2"), 429);
    expect(&server, "rate_limited", "203.0.113.51", &["door=upload"]);
    drop(v);

    // A socket that keeps sending over its rate is cut off.
    let mut flood = Ws::visitor_via(&server.base, &site, SHOP, "203.0.113.52").unwrap();
    for _ in 0..10_000 {
        if flood
            .send_raw(tungstenite::Message::text(r#"{"type":"ping"}"#))
            .is_err()
        {
            break;
        }
    }
    assert_eq!(flood.close_code(), Some(1008));
    expect(
        &server,
        "socket_refused",
        "203.0.113.52",
        &["side=visitor", "reason=too_many_frames"],
    );

    // Page reports and offline messages over their limits.
    let report = || {
        from(&server, "203.0.113.53")
            .post_bytes(
                &format!("/api/track?site={site}"),
                &[("Origin", SHOP)],
                json!({"t": "view", "pv": "e000000000000001", "url": "https://shop.example/"})
                    .to_string()
                    .as_bytes(),
            )
            .status
    };
    report();
    assert_eq!(report(), 429);
    expect(&server, "rate_limited", "203.0.113.53", &["door=track"]);
    let mut b = from(&server, "203.0.113.54");
    let mut limited = false;
    for _ in 0..12 {
        if leave_offline(&mut b, &site, SHOP) == 429 {
            limited = true;
            break;
        }
    }
    assert!(limited, "offline messages are limited per address");
    expect(&server, "rate_limited", "203.0.113.54", &["door=offline"]);
}

/// The addresses `fail2ban-regex` extracts from `log` with the shipped filter (narrowed to
/// `events` when given), one per matched line.
fn fail2ban_regex(log: &Path, events: Option<&str>) -> Vec<String> {
    let filter = match events {
        Some(e) => format!("{FILTER}[events=\"{e}\"]"),
        None => FILTER.to_string(),
    };
    let out = Command::new("fail2ban-regex")
        .args(["--out", "ip"])
        .arg(log)
        .arg(&filter)
        .output()
        .expect("fail2ban-regex runs (Debian package fail2ban; .ci/run installs it)");
    assert!(
        out.status.success(),
        "fail2ban-regex failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn the_shipped_fail2ban_filter_matches_every_event_and_only_the_logged_client() {
    let (k, _pw, site) = setup();
    let server = behind_proxy(&k, "[tracking]\nreports_per_minute = 1\n");
    for client in ["203.0.113.7", "203.0.113.7", "2001:db8::7"] {
        from(&server, client).login("acme", "ann@acme.example", "wrong password");
    }
    // Someone writes an event into what they type: it must not name an address to ban.
    from(&server, "198.51.100.3").login(
        "x kontor-security: event=login_failed client=192.0.2.99 ",
        "nobody@example.org",
        "kontor-security: event=login_failed client=192.0.2.98",
    );
    from(&server, "198.51.100.4").post_form(
        "/login",
        &[
            ("tenant", "acme"),
            ("email", "a@b.example"),
            ("password", "x"),
        ],
    );
    let _ = Ws::visitor_via(&server.base, &site, "https://evil.example", "198.51.100.5");
    for _ in 0..2 {
        from(&server, "::ffff:198.51.100.6").post_bytes(
            &format!("/api/track?site={site}"),
            &[("Origin", SHOP)],
            json!({"t": "view", "pv": "e000000000000001", "url": "https://shop.example/"})
                .to_string()
                .as_bytes(),
        );
    }
    wait_until("every event is logged", Duration::from_secs(5), || {
        events(&server).len() == 7
    });
    let expected: Vec<String> = events(&server)
        .iter()
        .map(|l| {
            l.split(" client=")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        expected,
        [
            "203.0.113.7",
            "203.0.113.7",
            "2001:db8::7",
            "198.51.100.3",
            "198.51.100.4",
            "198.51.100.5",
            "198.51.100.6",
        ],
        "an IPv4 client forwarded in IPv6 form is logged as IPv4"
    );

    // The whole output as the journal or a log file has it, requests and all.
    let log = k.dir.path().join("kontor.log");
    std::fs::write(&log, server.log()).unwrap();
    assert!(server.log().lines().count() > 20, "other lines too");
    assert_eq!(fail2ban_regex(&log, None), expected);
    // The example jails split them: guessing, and flooding.
    assert_eq!(
        fail2ban_regex(
            &log,
            Some("login_failed|login_throttled|csrf_refused|token_refused")
        ),
        expected[..5]
    );
    assert_eq!(
        fail2ban_regex(&log, Some("socket_refused|rate_limited")),
        expected[5..]
    );
    // In the journal each line comes with the host and `kontor[PID]:` before it.
    let journal = k.dir.path().join("journal.log");
    let prefixed: String = server
        .log()
        .lines()
        .map(|l| format!("chat-host kontor[4242]: {l}\n"))
        .collect();
    std::fs::write(&journal, prefixed).unwrap();
    assert_eq!(fail2ban_regex(&journal, None), expected);
}

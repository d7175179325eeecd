//! The web surface: security headers, health, errors that leak nothing, TLS.

use crate::common::{Browser, Kontor};

fn assert_security_headers(res: &crate::common::Res, what: &str) {
    let csp = res
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"));
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{what}: {csp}"
    );
    assert!(
        !csp.contains("http:") && !csp.contains("https:") && !csp.contains('*'),
        "{what}: foreign source in {csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
    assert_eq!(
        res.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(res.header("referrer-policy"), Some("same-origin"), "{what}");
    assert_eq!(res.header("x-frame-options"), Some("DENY"), "{what}");
    assert!(
        res.header("x-request-id").is_some_and(|v| v.len() == 16),
        "{what}"
    );
}

#[test]
fn every_response_carries_the_security_headers() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    for path in [
        "/healthz",
        "/login",
        "/api/session",
        "/no/such/page",
        "/static/app.css",
        "/widget.js",
        "/app/chats",
    ] {
        let res = b.get(path);
        assert_security_headers(&res, path);
        assert!(
            res.header("strict-transport-security").is_none(),
            "no HSTS without TLS"
        );
    }
    b.login("acme", "ann@acme.example", &pw);
    for path in ["/api/session", "/app/settings"] {
        let res = b.get(path);
        assert_eq!(res.status, 200);
        assert_security_headers(&res, path);
        assert_eq!(res.header("cache-control"), Some("no-store"), "{path}");
    }
    // Only the loader may be embedded by other origins.
    assert_eq!(
        b.get("/widget.js").header("cross-origin-resource-policy"),
        Some("cross-origin")
    );
    assert_eq!(
        b.get("/login").header("cross-origin-resource-policy"),
        Some("same-origin")
    );
}

#[test]
fn healthz_reports_version_and_nothing_secret() {
    let (k, _) = Kontor::with_tenant();
    let server = k.server(&[]);
    let res = Browser::new(&server.base).get("/healthz");
    assert_eq!(res.status, 200);
    let v = res.json();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert!(!res.body.contains(k.data_dir().to_str().unwrap()));
    assert_eq!(v.as_object().unwrap().len(), 5);
    assert!(v["backup"].is_object(), "backup status: {v}");
    assert_eq!(v["mail"], serde_json::json!({"enabled": false}), "{v}");
    assert_eq!(
        v["webhooks"],
        serde_json::json!({"queued": 0, "failed": 0, "oldest_queued_age_secs": null}),
        "{v}"
    );
}

#[test]
fn unknown_paths_get_a_json_404() {
    let (k, _) = Kontor::with_tenant();
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    for path in [
        "/nope",
        "/app/secret",
        "/static/../system.db",
        "/static/.hidden",
    ] {
        let res = b.get(path);
        assert_eq!(res.status, 404, "{path}");
        assert_eq!(res.json()["error"]["code"], "not_found", "{path}");
    }
}

#[test]
fn unauthenticated_api_is_401_and_identity_headers_are_ignored() {
    let (k, _) = Kontor::with_tenant();
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    b.headers
        .push(("X-Remote-User".into(), "ann@acme.example".into()));
    b.headers
        .push(("X-Forwarded-User".into(), "ann@acme.example".into()));
    let res = b.get("/api/session");
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["error"]["code"], "unauthorized");
    let page = b.get("/app/chats");
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), Some("/login?next=/app/chats"));
    for junk in ["garbage", "x.y", "00000000-0000-0000-0000-000000000000.abc"] {
        b.cookies.insert("kontor_session".into(), junk.into());
        assert_eq!(b.get("/api/session").status, 401, "{junk}");
    }
}

#[test]
fn a_broken_tenant_database_gives_a_generic_error() {
    let (k, pw) = Kontor::with_tenant();
    let uuid = k.json(&["tenant", "show", "acme"])["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let file = k.data_dir().join("tenants").join(format!("{uuid}.db"));
    let mut bytes = std::fs::read(&file).unwrap();
    for b in &mut bytes[100..4000] {
        *b ^= 0x5a; // tamper with page 1: SQLCipher's HMAC must catch it
    }
    std::fs::write(&file, &bytes).unwrap();
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    let res = b.login("acme", "ann@acme.example", &pw);
    assert_eq!(res.status, 401, "no session from a damaged database");
    b.cookies.insert(
        "kontor_session".into(),
        format!("{uuid}.{}", "ab".repeat(32)),
    );
    let res = b.get("/api/session");
    assert_eq!(res.status, 500);
    assert_eq!(res.json()["error"]["code"], "internal_error");
    for leak in [
        file.to_str().unwrap(),
        "sqlite",
        "SQL",
        "master.key",
        "panicked",
    ] {
        assert!(!res.body.contains(leak), "leaked {leak}: {}", res.body);
    }
    assert!(
        server.log_shows("internal error"),
        "the cause is logged server-side"
    );
}

#[test]
fn tls_serves_hsts_and_host_prefixed_secure_cookies() {
    let (k, pw) = Kontor::with_tenant();
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert_path = k.dir.path().join("cert.pem");
    let key_path = k.dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    std::fs::write(
        k.config_file(),
        format!(
            "[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
            cert_path.display(),
            key_path.display()
        ),
    )
    .unwrap();
    let server = k.server(&[]);
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let mut b = Browser::new(&server.base);
    let res = b.get("/healthz");
    assert_eq!(res.status, 200);
    assert!(
        res.header("strict-transport-security")
            .unwrap()
            .contains("max-age=")
    );
    let res = b.login("acme", "ann@acme.example", &pw);
    assert_eq!(res.status, 303, "{}", res.body);
    let cookie = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-kontor_session="))
        .unwrap();
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert_eq!(b.get("/api/session").status, 200);
}

#[test]
fn tls_with_a_bad_certificate_file_fails_clearly() {
    let k = Kontor::new();
    k.ok(&["init"]);
    let bad = k.dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    std::fs::write(
        k.config_file(),
        format!("[tls]\ncert = \"{0}\"\nkey = \"{0}\"\n", bad.display()),
    )
    .unwrap();
    let out = k.run(&["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tls.cert") && err.contains("bad.pem"), "{err}");
}

#[test]
fn forwarded_proto_is_believed_only_from_the_trusted_proxy() {
    let (k, pw) = Kontor::with_tenant();
    // Untrusted peer claiming HTTPS: nothing changes.
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    b.headers.push(("X-Forwarded-Proto".into(), "https".into()));
    let res = b.login("acme", "ann@acme.example", &pw);
    assert_eq!(res.status, 303);
    assert!(
        res.set_cookies()
            .iter()
            .any(|c| c.starts_with("kontor_session=") && !c.contains("Secure"))
    );
    assert!(res.header("strict-transport-security").is_none());
    drop(server);

    // The configured proxy terminating TLS: HTTPS rules apply, and the browser's Origin is
    // the public https origin.
    let server = k.server_with_env(&[
        ("KONTOR_TRUSTED_PROXY", "127.0.0.1"),
        ("KONTOR_PUBLIC_URL", "https://chat.example"),
    ]);
    let mut b = Browser::new(&server.base);
    b.headers.push(("X-Forwarded-Proto".into(), "https".into()));
    let csrf = b.login_token();
    assert!(b.cookies.contains_key("__Host-kontor_prelogin"));
    let fields = [
        ("tenant", "acme"),
        ("email", "ann@acme.example"),
        ("password", pw.as_str()),
        ("csrf", csrf.as_str()),
    ];
    let own = server.base.clone();
    assert_eq!(
        b.post_form_from("/login", Some(&own), &fields).status,
        403,
        "origin must be the public one"
    );
    let res = b.post_form_from("/login", Some("https://chat.example"), &fields);
    assert_eq!(res.status, 303, "{}", res.body);
    assert!(
        res.set_cookies()
            .iter()
            .any(|c| c.starts_with("__Host-kontor_session=") && c.contains("Secure"))
    );
    assert!(res.header("strict-transport-security").is_some());
}

#[test]
fn a_stalled_request_body_is_cut_off() {
    use std::io::{Read, Write};
    let (k, _) = Kontor::with_tenant();
    let server = k.server(&[]);
    let host = server.base.trim_start_matches("http://");
    let mut tcp = std::net::TcpStream::connect(host).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    // Headers promise 1000 bytes; a few come, then nothing. (An endpoint that reads its body
    // before any check: the page-view report answers an unknown site without reading it.)
    let head = format!(
        "POST /api/widget/offline HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"site\":"
    );
    tcp.write_all(head.as_bytes()).unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    let waited = started.elapsed();
    assert!(
        waited < std::time::Duration::from_secs(15),
        "the connection was held for {waited:?}"
    );
    assert!(
        waited >= std::time::Duration::from_secs(9),
        "cut off by the body deadline, not at once: {waited:?}"
    );
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 4"), "{text}");
}

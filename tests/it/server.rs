//! Server lifecycle: first start, graceful SIGTERM, log hygiene, the demo.

use crate::common::{BIN, Browser, Kontor, Server};
use std::process::Command;

#[test]
fn first_serve_initialises_the_data_dir() {
    let k = Kontor::new();
    let mut server = k.server(&[]);
    assert!(k.data_dir().join("master.key").exists());
    assert!(k.data_dir().join("system.db").exists());
    assert_eq!(Browser::new(&server.base).get("/healthz").status, 200);
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn sigterm_finishes_requests_and_closes_databases_cleanly() {
    let (k, pw) = Kontor::with_tenant();
    let mut server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    assert_eq!(b.login("acme", "ann@acme.example", &pw).status, 303);
    assert_eq!(server.stop(), Some(0), "graceful stop exits 0");
    assert!(server.log_shows("databases closed"));
    assert!(
        !k.data_dir().join("admin.sock").exists(),
        "admin socket removed"
    );
    // The last connection checkpointed the WAL files and emptied them (they are kept for the
    // next open).
    let leftovers: Vec<_> = walk(&k.data_dir())
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with("-wal"))
        .filter(|p| std::fs::metadata(p).unwrap().len() > 0)
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // And the data is intact.
    assert!(
        k.ok(&["agent", "list", "acme"])
            .contains("ann@acme.example")
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn logs_never_contain_passwords_tokens_or_keys() {
    let (k, pw) = Kontor::with_tenant();
    let server = k.server_with_env(&[("KONTOR_LOG", "debug")]);
    let mut b = Browser::new(&server.base);
    b.login("acme", "ann@acme.example", "a wrong password here");
    b.login("acme", "ann@acme.example", &pw);
    let session = b.session().unwrap().clone();
    let token = session.split('.').nth(1).unwrap().to_string();
    b.get("/app/chats?secret=query-value");
    assert!(server.log_shows("/app/chats"), "requests are logged");
    let log = server.log();
    let key_hex: String = std::fs::read(k.data_dir().join("master.key"))
        .unwrap()
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    for secret in [
        pw.as_str(),
        "a wrong password here",
        token.as_str(),
        key_hex.as_str(),
        "query-value",
    ] {
        assert!(!log.contains(secret), "log contains {secret:?}");
    }
}

#[test]
fn log_injection_is_neutralised() {
    let (k, _) = Kontor::with_tenant();
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    b.login(
        "acme\n2026-01-01T00:00:00Z INFO admin login OK",
        "x\u{1b}[31m@acme.example",
        "whatever pass",
    );
    assert!(server.log_shows("event=login_failed"));
    let log = server.log();
    assert!(
        !log.lines()
            .any(|l| l.starts_with("2026-01-01T00:00:00Z INFO admin login OK")),
        "{log}"
    );
    assert!(!log.contains('\u{1b}'), "raw escape sequence in the log");
}

#[test]
fn demo_prints_credentials_that_work_and_serves_the_widget_page() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args([
        "demo",
        "--config",
        "/dev/null",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
    ])
    .arg(dir.path().join("data"));
    let server = Server::spawn(cmd);
    // The credentials are printed before the ready line.
    let log = server.log();
    let field = |name: &str| {
        log.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("no {name} in {log}"))
    };
    assert_eq!(field("tenant:"), "demo");
    let email = field("email:");
    let password = field("password:");
    assert!(log.contains(&format!("{}/demo", server.base)));

    let mut b = Browser::new(&server.base);
    let page = b.get("/demo");
    assert_eq!(page.status, 200);
    let key = page
        .body
        .split("data-site=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert!(key.starts_with("site_"));
    assert!(page.body.contains(&format!(
        "<script src=\"{}/widget.js\" data-site=\"{key}\" async></script>",
        server.base
    )));
    assert_eq!(b.get("/widget.js").status, 200);
    assert_eq!(b.login("demo", &email, &password).status, 303);
    assert_eq!(b.get("/api/session").json()["role"], "admin");
}

#[test]
fn demo_page_is_not_served_outside_demo_mode() {
    let (k, _) = Kontor::with_tenant();
    let server = k.server(&[]);
    assert_eq!(Browser::new(&server.base).get("/demo").status, 404);
}

#[test]
fn sigterm_closes_chat_sockets_at_once() {
    let (k, pw, site) = crate::chat::setup();
    let mut server = k.server(&[]);
    let (_b, mut agent) = crate::chat::agent(&server, &pw);
    let (mut v, _, _) = crate::chat::visitor(&server, &site, "");
    let t0 = std::time::Instant::now();
    assert_eq!(server.stop(), Some(0));
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(
        v.close_code(),
        Some(1013),
        "the widget is told to come back"
    );
    assert_eq!(agent.close_code(), Some(1013));
}

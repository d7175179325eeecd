//! Prometheus metrics: off by default, a loopback listener of its own or the main listener
//! behind a token, and figures that move with the chats. The example dashboard and alert rules
//! in `packaging/` parse.

use crate::chat::{agent, say, setup, visitor};
use crate::common::{Browser, Kontor, Server, wait_until};
use serde_json::json;
use std::time::Duration;

/// The metrics listener's base URL, from the line the server prints.
pub fn metrics_base(server: &Server) -> String {
    let mut base = String::new();
    wait_until("no metrics line", Duration::from_secs(5), || {
        base = server
            .log()
            .lines()
            .find_map(|l| l.strip_prefix("kontor metrics: listening on "))
            .map(|u| u.trim_end_matches("/metrics").to_string())
            .unwrap_or_default();
        !base.is_empty()
    });
    base
}

/// The value of the first sample whose line starts with `name` (labels included).
fn value(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing in\n{text}"))
}

fn scrape(b: &mut Browser) -> String {
    let r = b.get("/metrics");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        r.headers
    );
    r.body
}

#[test]
fn metrics_are_off_by_default() {
    let (k, _) = Kontor::with_tenant();
    let server = k.server(&[]);
    assert_eq!(Browser::new(&server.base).get("/metrics").status, 404);
    assert!(!server.log().contains("kontor metrics:"));
}

#[test]
fn metrics_listener_is_loopback_only_and_figures_move_with_chats() {
    let (k, pw, site) = setup();
    std::fs::write(k.config_file(), "[metrics]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    let server = k.server(&[]);
    let base = metrics_base(&server);
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    // The main listener does not serve them, and the metrics listener serves nothing else.
    assert_eq!(Browser::new(&server.base).get("/metrics").status, 404);
    let mut m = Browser::new(&base);
    assert_eq!(m.get("/healthz").status, 404);
    let before = scrape(&mut m);
    let messages_before = value(&before, "kontor_messages_total");
    for name in [
        "process_resident_memory_bytes",
        "process_open_fds",
        "kontor_data_dir_free_bytes",
    ] {
        assert!(value(&before, name) > 0.0, "{name}");
    }
    assert_eq!(value(&before, "kontor_backup_enabled"), 1.0);
    assert_eq!(value(&before, "kontor_mail_enabled"), 0.0);

    let (_b, mut agent_ws) = agent(&server, &pw);
    let (mut v, conv, _) = visitor(&server, &site, "Vera");
    say(&mut v, None, "m1", "Hallo");
    say(&mut v, None, "m2", "Noch da?");
    let _ = agent_ws.drain(Duration::from_millis(200));
    let during = scrape(&mut m);
    assert!(value(&during, "kontor_messages_total") >= messages_before + 2.0);
    assert_eq!(value(&during, "kontor_open_sockets{kind=\"visitor\"}"), 1.0);
    assert_eq!(value(&during, "kontor_open_sockets{kind=\"agent\"}"), 1.0);
    assert_eq!(value(&during, "kontor_chats{state=\"waiting\"}"), 1.0);
    assert!(value(&during, "kontor_commit_duration_seconds_count") > 0.0);
    assert!(value(&during, "kontor_batch_size_count") > 0.0);
    assert_eq!(value(&during, "kontor_tenants_open"), 1.0);
    assert!(value(&during, "kontor_hub_queue_depth") >= 0.0);

    agent_ws.send(json!({"type": "accept", "conversation_id": conv}));
    wait_until(
        "the chat is not counted open",
        Duration::from_secs(5),
        || {
            let t = scrape(&mut m);
            value(&t, "kontor_chats{state=\"open\"}") == 1.0
                && value(&t, "kontor_chats{state=\"waiting\"}") == 0.0
        },
    );
    drop(v);
    wait_until(
        "the socket is still counted",
        Duration::from_secs(5),
        || value(&scrape(&mut m), "kontor_open_sockets{kind=\"visitor\"}") == 0.0,
    );
}

#[test]
fn a_metrics_listener_beyond_loopback_needs_a_token() {
    let k = Kontor::new();
    std::fs::write(k.config_file(), "[metrics]\nlisten = \"0.0.0.0:9464\"\n").unwrap();
    let err = k.fails(&["check-config"]);
    assert!(err.contains("metrics.listen"), "{err}");
}

#[test]
fn metrics_on_the_main_listener_ask_for_the_token() {
    let (k, _) = Kontor::with_tenant();
    let token = "0123456789abcdef0123456789abcdef";
    let token_file = k.dir.path().join("metrics.token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    std::fs::write(
        k.config_file(),
        format!(
            "[metrics]\ntoken_file = {:?}\n",
            token_file.to_str().unwrap()
        ),
    )
    .unwrap();
    let server = k.server(&[]);
    let mut b = Browser::new(&server.base);
    assert_eq!(b.get("/metrics").status, 401);
    b.headers.push((
        "Authorization".into(),
        "Bearer wrong-token-wrong-token".into(),
    ));
    assert_eq!(b.get("/metrics").status, 401);
    // Logged for fail2ban like any other refused token.
    assert!(
        server.log_shows("event=token_refused client=127.0.0.1 kind=metrics_token"),
        "{}",
        server.log()
    );
    b.headers.clear();
    b.headers
        .push(("Authorization".into(), format!("Bearer {token}")));
    let text = scrape(&mut b);
    assert!(text.contains("kontor_messages_total"), "{text}");
}

#[test]
fn packaged_dashboard_and_alert_rules_parse() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging");
    let dash: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("grafana-dashboard.json")).unwrap(),
    )
    .unwrap();
    let panels = dash["panels"].as_array().unwrap();
    assert!(panels.len() >= 6);
    let text = serde_json::to_string(&dash).unwrap();
    for m in [
        "kontor_messages_total",
        "kontor_open_sockets",
        "process_resident_memory_bytes",
    ] {
        assert!(text.contains(m), "{m} not on the dashboard");
    }
    // Read by a real YAML parser (PyYAML, as Prometheus' own tooling would be too heavy).
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, json, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(root.join("prometheus-alerts.yml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rules: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let alerts: Vec<&str> = rules["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .map(|r| {
            assert!(
                r["expr"].as_str().is_some_and(|e| e.contains("kontor")),
                "{r}"
            );
            r["alert"].as_str().unwrap()
        })
        .collect();
    for alert in ["KontorBackupTooOld", "KontorOutboxStuck", "KontorDiskLow"] {
        assert!(alerts.contains(&alert), "{alert} missing: {alerts:?}");
    }
}

/// The off-site copies' state is exported per remote: none yet, then a verified copy.
#[test]
fn metrics_show_the_last_off_site_copy_per_remote() {
    let s3 = crate::offsite_servers::S3Server::start(None);
    s3.create_bucket("kontor-backups");
    let (k, _pw, _site) = setup();
    let entry = s3.entry(
        "store",
        "kontor-backups",
        "",
        &k.dir.path().join("s3-secret"),
    );
    std::fs::write(
        k.config_file(),
        format!("[metrics]\nlisten = \"127.0.0.1:0\"\n[backup]\nenabled = false\n{entry}"),
    )
    .unwrap();
    let server = k.server(&[]);
    let mut m = Browser::new(&metrics_base(&server));
    let before = scrape(&mut m);
    let age = "kontor_offsite_last_success_age_seconds{remote=\"store\"}";
    let ok = "kontor_offsite_last_ok{remote=\"store\"}";
    assert_eq!(value(&before, age), -1.0, "{before}");
    assert_eq!(value(&before, ok), 0.0);
    k.ok(&["backup", "create"]);
    assert_eq!(k.json(&["backup", "push"])["ok"], true);
    let after = scrape(&mut m);
    assert_eq!(value(&after, ok), 1.0, "{after}");
    assert!((0.0..60.0).contains(&value(&after, age)), "{after}");
}

//! Many tenants on one host: a tenant nobody uses has its hub stopped and its database
//! closed after `[tenants] idle_close_secs` (its files let go), and the next agent or visitor
//! reopens it with everything in place; unused databases kept open stay within `max_open`,
//! and one in use is never closed under its user.

use crate::chat::{agent, say, setup, visitor};
use crate::common::{Browser, Kontor, Server, wait_until};
use crate::metrics::metrics_base;
use serde_json::json;
use std::time::Duration;

/// The figure of an unlabelled gauge on the metrics listener.
fn gauge(m: &mut Browser, name: &str) -> f64 {
    let r = m.get("/metrics");
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing in\n{}", r.body))
}

/// The server's open file descriptors on files of the tenants' directory (a database, its
/// WAL and shared-memory file).
fn tenant_files_open(server: &Server, k: &Kontor) -> usize {
    let tenants = k.data_dir().join("tenants");
    std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.starts_with(&tenants))
        .count()
}

#[test]
fn an_idle_tenant_is_closed_and_reopens_with_its_chats() {
    let (k, pw, site) = setup();
    std::fs::write(
        k.config_file(),
        "[metrics]\nlisten = \"127.0.0.1:0\"\n[tenants]\nidle_close_secs = 1\n[tracking]\ngrace_secs = 1\n",
    )
    .unwrap();
    let server = k.server(&[]);
    let mut m = Browser::new(&metrics_base(&server));
    // The statistics job opens every tenant at start; nobody uses it after that.
    wait_until(
        "the tenant opened at start stays open",
        Duration::from_secs(15),
        || gauge(&mut m, "kontor_tenants_open") == 0.0 && tenant_files_open(&server, &k) == 0,
    );

    let (b, mut agent_ws) = agent(&server, &pw);
    let (mut v, conv, _) = visitor(&server, &site, "Vera");
    say(&mut v, None, "m1", "Hallo");
    agent_ws.send(json!({"type": "accept", "conversation_id": conv}));
    agent_ws.send(
        json!({"type": "message", "conversation_id": conv, "client_id": "a1", "text": "Guten Tag"}),
    );
    let _ = agent_ws.recv_type("ack");
    assert_eq!(gauge(&mut m, "kontor_hubs_running"), 1.0);
    assert!(tenant_files_open(&server, &k) > 0);
    // Longer than the idle time: sockets and an open chat keep the tenant open.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        gauge(&mut m, "kontor_hubs_running"),
        1.0,
        "closed under its sockets"
    );
    assert_eq!(gauge(&mut m, "kontor_tenants_open"), 1.0);
    say(&mut v, None, "m2", "Noch da?");

    // The chat ends and everyone leaves: hub and database close, their files are let go.
    agent_ws.send(json!({"type": "close", "conversation_id": conv}));
    let _ = agent_ws.drain(Duration::from_millis(300));
    drop(v);
    drop(agent_ws);
    drop(b);
    wait_until(
        "the idle tenant was not closed",
        Duration::from_secs(15),
        || {
            gauge(&mut m, "kontor_hubs_running") == 0.0
                && gauge(&mut m, "kontor_tenants_open") == 0.0
        },
    );
    wait_until(
        "the tenant's files are still open",
        Duration::from_secs(5),
        || tenant_files_open(&server, &k) == 0,
    );

    // The next agent reopens it: the ended chat with every message is there, and a new
    // chat runs on a new hub.
    let (mut b, mut agent_ws) = agent(&server, &pw);
    let history = b.get(&format!("/api/conversations/{conv}/messages"));
    assert_eq!(history.status, 200, "{}", history.body);
    for text in ["Hallo", "Guten Tag", "Noch da?"] {
        assert!(history.body.contains(text), "{text} lost: {}", history.body);
    }
    let (mut v, conv2, _) = visitor(&server, &site, "Vera");
    assert!(conv2 > conv);
    say(&mut v, None, "m3", "Wieder da");
    agent_ws.send(json!({"type": "accept", "conversation_id": conv2}));
    let w = agent_ws.recv_type("message");
    assert_eq!(w["text"], "Wieder da", "{w}");
    assert_eq!(gauge(&mut m, "kontor_hubs_running"), 1.0);
}

#[test]
fn unused_databases_stay_within_the_bound_and_one_in_use_is_never_closed() {
    let k = Kontor::new();
    k.ok(&["init"]);
    let slugs: Vec<String> = (1..=5).map(|i| format!("t{i}")).collect();
    for s in &slugs {
        k.ok(&["tenant", "create", s, "--name", s]);
    }
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    store.set_max_open_tenants(2);
    let (_, held) = store.tenant_db_by_slug("t1").unwrap();
    for s in &slugs[1..] {
        let (_, db) = store.tenant_db_by_slug(s).unwrap();
        db.with(|c| {
            Ok(c.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })?)
        })
        .unwrap();
        assert!(store.open_tenants() <= 2, "{} open", store.open_tenants());
    }
    // The bound counts t1, held, too: it and the last one opened.
    assert_eq!(store.open_tenants(), 2);
    // Nothing idle long enough: closing idle ones keeps them.
    assert_eq!(store.close_idle_tenants(Duration::from_secs(60)), 0);
    // Everything idle: only the unused one goes; t1, in use, stays open and usable.
    assert_eq!(store.close_idle_tenants(Duration::ZERO), 1);
    assert_eq!(store.open_tenants(), 1);
    held.with(|c| Ok(c.execute_batch("SELECT 1")?)).unwrap();
    drop(held);
    assert_eq!(store.close_idle_tenants(Duration::ZERO), 1);
    assert_eq!(store.open_tenants(), 0);
    // Reopened on demand, as before.
    let (_, db) = store.tenant_db_by_slug("t3").unwrap();
    db.with(|c| Ok(c.execute_batch("SELECT 1")?)).unwrap();
    assert_eq!(store.open_tenants(), 1);
}

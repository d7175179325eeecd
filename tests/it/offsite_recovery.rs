//! Disaster recovery on another server (issue 20, part 2): a fresh data directory with only
//! the master key, the backup key and the off-site remote restores every tenant and serves
//! them; and the erasure ledger travels in backup archives and tenant exports, so an erased
//! person does not come back on the server that restores or imports them.

use crate::chat::{SHOP, agent, say, setup, visitor};
use crate::common::{Browser, Kontor, Ws};
use crate::offsite::configure;
use crate::offsite_servers::Sshd;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;

/// A data directory holding only copies of `from`'s master key and backup key.
fn fresh_with_keys(from: &Kontor) -> Kontor {
    let dr = Kontor::new();
    std::fs::create_dir(dr.data_dir()).unwrap();
    std::fs::set_permissions(dr.data_dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
    for key in ["master.key", "backup.key"] {
        std::fs::copy(from.data_dir().join(key), dr.data_dir().join(key)).unwrap();
        std::fs::set_permissions(
            dr.data_dir().join(key),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
    dr
}

#[test]
fn offsite_recovery_drill_restores_every_tenant_from_the_remote_and_serves_them() {
    let sshd = Sshd::start();
    let (k, pw, site) = setup();
    k.ok(&["tenant", "create", "beta", "--name", "Beta AG"]);
    // No scheduled archive: past the daily time, one written at start (before the chat) could
    // be as new to the second as the one made below and be the one restored.
    configure(&k, "enabled = false", &sshd.entry("dr"));
    let mut server = k.server(&[]);
    let (_b, mut ag) = agent(&server, &pw);
    let (mut v, conv, _) = visitor(&server, &site, "Vera");
    ag.send(json!({"type": "accept", "conversation_id": conv}));
    ag.recv_type("conversation");
    say(&mut v, None, "v1", "Where is my order 4711?");
    say(&mut ag, Some(conv), "a1", "It left the warehouse today.");
    // Through the running server: an archive, then its copy read back on the remote.
    k.ok(&["backup", "create"]);
    assert_eq!(k.json(&["backup", "push"])["ok"], true);
    drop((ag, v));
    server.stop();

    // The other server: the two keys and kontor.toml naming the remote; nothing else.
    let dr = fresh_with_keys(&k);
    configure(&dr, "", &sshd.entry("dr"));
    dr.ok(&["init"]);
    let listed = dr.json(&["backup", "list", "--remote", "dr"]);
    assert_eq!(listed["archives"].as_array().unwrap().len(), 1, "{listed}");
    let out = dr.run(&["backup", "restore", "--from", "dr", "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("acme: restored") && text.contains("beta: restored"),
        "{text}"
    );
    let tenants = dr.json(&["tenant", "list"]);
    let mut slugs: Vec<&str> = tenants["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    slugs.sort();
    assert_eq!(slugs, ["acme", "beta"]);

    // It serves: Ann signs in with her old password and reads the chat back over HTTP, and
    // the site's widget connects under its old key.
    let server = dr.server(&[]);
    let mut ann = Browser::signed_in(&server.base, "ann@acme.example", &pw);
    let res = ann.get(&format!("/api/conversations/{conv}/messages"));
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res.body.contains("Where is my order 4711?"), "{}", res.body);
    assert!(
        res.body.contains("It left the warehouse today."),
        "{}",
        res.body
    );
    assert!(Ws::visitor(&server.base, &site, SHOP).is_ok());
    let health = Browser::new(&server.base).get("/healthz").json();
    assert_eq!(health["status"], "ok");
}

/// Whether anything of Erika is in the tenant `acme` of `k` (Max is always there).
fn erika_is_there(k: &Kontor) -> bool {
    let found = k.json(&["gdpr", "find", "acme", "--email", "erika@example.org"]);
    let max = k.json(&["gdpr", "find", "acme", "--email", "max@example.org"]);
    assert!(
        max["counts"]["conversations"].as_u64().unwrap() > 0,
        "{max}"
    );
    found["counts"]
        .as_object()
        .unwrap()
        .values()
        .any(|n| n.as_u64().unwrap() > 0)
}

/// The erasures `k`'s ledger holds for `acme`.
fn ledger_len(k: &Kontor) -> usize {
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let rec = store.tenant_record("acme").unwrap();
    store
        .system(|c| kontor::store::gdpr::ledger(c, &rec.uuid))
        .unwrap()
        .len()
}

/// Erika and Max in `acme`, a backup while Erika is there, then her erasure.
fn backup_then_erase(k: &Kontor) -> String {
    crate::gdpr::fill(k);
    let before = k.json(&["backup", "create"]);
    assert!(erika_is_there(k));
    k.json(&[
        "gdpr",
        "erase",
        "acme",
        "--email",
        "erika@example.org",
        "--yes",
    ]);
    assert!(!erika_is_there(k));
    before["file"].as_str().unwrap().to_string()
}

#[test]
fn offsite_recovery_replays_an_erasure_after_a_restore_on_another_data_dir() {
    let (k, _) = Kontor::with_tenant();
    let older = backup_then_erase(&k);
    let newer = k.json(&["backup", "create"])["file"]
        .as_str()
        .unwrap()
        .to_string();
    let key = k.data_dir().join("backup.key");
    let key = key.to_str().unwrap();

    let other = Kontor::new();
    other.ok(&["init"]);
    // The newest archive carries the ledger (hashes only) into the other server's...
    other.ok(&["backup", "restore", &newer, "--backup-key", key, "--yes"]);
    assert!(!erika_is_there(&other));
    assert_eq!(ledger_len(&other), 1);
    // ...so restoring the older one there does not bring her back.
    let out = other.ok(&["backup", "restore", &older, "--backup-key", key, "--yes"]);
    assert!(out.contains("acme: restored"), "{out}");
    assert!(!erika_is_there(&other));
    assert_eq!(ledger_len(&other), 1, "merged once, not twice");
    // The archive's ledger holds no personal data in clear.
    let verified = other.json(&["backup", "verify", &older, "--backup-key", key]);
    assert!(!verified.to_string().contains("erika"), "{verified}");
}

#[test]
fn offsite_recovery_replays_an_erasure_after_a_tenant_import_on_another_server() {
    let (k, _) = Kontor::with_tenant();
    let older = backup_then_erase(&k);
    let export = k.dir.path().join("acme.kontor-export");
    k.ok(&[
        "tenant",
        "export",
        "acme",
        "--plain",
        "--out",
        export.to_str().unwrap(),
    ]);
    // The export carries the erasure as salted hashes, nothing of Erika in clear.
    let bytes = std::fs::read(&export).unwrap();
    let text = String::from_utf8_lossy(&bytes).to_lowercase();
    assert!(
        text.contains("\"erasures\""),
        "the export carries the ledger"
    );
    assert!(
        !text.contains("erika"),
        "no personal data of the erased person"
    );

    let other = Kontor::new();
    other.ok(&["init"]);
    let out = other.ok(&["tenant", "import", export.to_str().unwrap()]);
    assert!(out.contains("tenant acme imported"), "{out}");
    assert_eq!(ledger_len(&other), 1, "the ledger came along");
    assert!(!erika_is_there(&other));
    // An older backup of the source, restored on the importing server, keeps her erased.
    let key = k.data_dir().join("backup.key");
    other.ok(&[
        "backup",
        "restore",
        &older,
        "--backup-key",
        key.to_str().unwrap(),
        "--yes",
    ]);
    assert!(!erika_is_there(&other));
    assert_eq!(ledger_len(&other), 1);
}

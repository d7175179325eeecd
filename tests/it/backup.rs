//! Encrypted backups: online snapshots, complete verification, refusal of tampered or
//! wrong-key archives with the live data untouched, per-tenant restore, moving servers.

use crate::chat::{SHOP, agent, say, setup, visitor};
use crate::common::{Browser, Kontor, checksums};
use serde_json::json;
use std::path::PathBuf;

fn archive(k: &Kontor) -> PathBuf {
    let out = k.json(&["backup", "create"]);
    PathBuf::from(out["file"].as_str().unwrap())
}

fn messages(k: &Kontor, slug: &str) -> Vec<(i64, i64, String)> {
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug(slug).unwrap();
    db.with(|c| {
        let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        assert_eq!(ok, "ok");
        let mut stmt = c.prepare(
            "SELECT conversation_id, seq, body FROM messages ORDER BY conversation_id, seq",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    })
    .unwrap()
}

/// The identity of a tenant's chat log, read from its database (no server running).
fn epoch(k: &Kontor, slug: &str) -> String {
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug(slug).unwrap();
    db.with(|c| kontor::store::chat::log_epoch(c)).unwrap()
}

#[test]
fn an_online_backup_is_a_consistent_snapshot_that_restores_on_a_new_server() {
    let (k, pw, site) = setup();
    let mut server = k.server(&[]);
    let (_b, mut ag) = agent(&server, &pw);
    let (mut v, conv, _) = visitor(&server, &site, "Vera");
    ag.send(json!({"type": "accept", "conversation_id": conv}));
    ag.recv_type("conversation");
    // A visitor keeps writing while the backup runs.
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, count) = (stop.clone(), count.clone());
        std::thread::spawn(move || {
            let mut acked = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                v.send(json!({"type": "message", "client_id": format!("w{i}"), "text": format!("line {i}")}));
                acked.push((
                    v.recv_type("ack")["seq"].as_i64().unwrap(),
                    format!("line {i}"),
                ));
                count.store(acked.len(), Ordering::Relaxed);
                i += 1;
                // Below the per-socket rate limit (20 frames/s).
                std::thread::sleep(std::time::Duration::from_millis(60));
            }
            acked
        })
    };
    // Messages flow before, during and after the backup.
    let acked_at_least = |n: usize| {
        crate::common::wait_until("traffic", std::time::Duration::from_secs(10), || {
            count.load(Ordering::Relaxed) >= n
        })
    };
    acked_at_least(12);
    let file = archive(&k); // through the running server's admin socket
    acked_at_least((count.load(Ordering::Relaxed) + 8).max(21));
    stop.store(true, Ordering::Relaxed);
    let acked = writer.join().unwrap();
    assert!(acked.len() > 20, "too little traffic: {}", acked.len());
    drop(ag);
    server.stop();
    let verified = k.json(&["backup", "verify", file.to_str().unwrap()]);

    // A new server with its own master key; only the archive and the backup key move.
    let fresh = Kontor::new();
    fresh.ok(&["init"]);
    let key = k.data_dir().join("backup.key");
    fresh.ok(&[
        "backup",
        "restore",
        file.to_str().unwrap(),
        "--backup-key",
        key.to_str().unwrap(),
        "--yes",
    ]);
    let restored = messages(&fresh, "acme");
    // Every table, row for row in key order, is what the snapshot held.
    let tables = {
        let store = kontor::store::Store::open(&fresh.data_dir()).unwrap();
        let (_, db) = store.tenant_db_by_slug("acme").unwrap();
        db.with(|c| kontor::store::backup::table_checksums(c))
            .unwrap()
    };
    // The restore itself is the one new entry in the tenant's audit trail.
    let audit_tables = ["audit_chain", "audit_log"];
    let without_audit = |v: serde_json::Value| -> Vec<serde_json::Value> {
        v.as_array()
            .unwrap()
            .iter()
            .filter(|t| !audit_tables.contains(&t[0].as_str().unwrap()))
            .cloned()
            .collect()
    };
    assert_eq!(
        without_audit(serde_json::to_value(&tables).unwrap()),
        without_audit(verified["tables"]["acme"].clone())
    );
    assert!(tables.iter().any(|(t, _)| t == "messages"));
    {
        let store = kontor::store::Store::open(&fresh.data_dir()).unwrap();
        let (_, db) = store.tenant_db_by_slug("acme").unwrap();
        let last = db
            .with(|c| kontor::store::audit::recent(c, 1))
            .unwrap()
            .remove(0);
        assert_eq!(
            (last.actor.as_str(), last.action.as_str()),
            ("operator", "backup.restore")
        );
        assert!(db.with(|c| kontor::store::audit::verify(c)).unwrap().intact);
    }
    // A snapshot: the log is gap-free from 1, every restored visitor line is one that was
    // acknowledged with that seq, and lines acknowledged after the snapshot are absent.
    let seqs: Vec<i64> = restored.iter().map(|r| r.1).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    for (_, seq, body) in restored.iter().filter(|r| r.2.starts_with("line ")) {
        assert!(acked.contains(&(*seq, body.clone())), "{seq} {body}");
    }
    let last = *seqs.last().unwrap();
    assert!(
        last < acked.last().unwrap().0,
        "the snapshot predates the last writes"
    );
    assert!(restored.iter().filter(|r| r.2.starts_with("line ")).count() > 5);
    // The restored tenant works: its agent signs in on the new server with the old password.
    let server = fresh.server(&[]);
    let mut b = Browser::new(&server.base);
    assert_eq!(b.login("acme", "ann@acme.example", &pw).status, 303);
    assert!(fresh.ok(&["site", "list", "acme"]).contains(SHOP));
}

#[test]
fn a_tampered_or_wrong_key_archive_is_refused_and_nothing_changes() {
    let (k, _, _) = setup();
    let file = archive(&k);
    let bytes = std::fs::read(&file).unwrap();
    let live = || {
        let mut c = checksums(&k.data_dir());
        // The -shm files are SQLite's index of the log, rewritten by every open (they are
        // kept between opens); they hold no data.
        c.retain(|p, _| !p.starts_with("backups") && !p.to_string_lossy().ends_with("-shm"));
        c
    };
    let before = live();
    let bad = k.dir.path().join("bad.tar");
    // One flipped bit anywhere: headers, the sealed manifest, the member databases.
    // One flipped bit anywhere: tar headers and padding, the sealed manifest, the member
    // databases, the end blocks. Every position of a small archive would be slow; a prime
    // stride walks all regions.
    let mut positions: Vec<usize> = (0..bytes.len()).step_by(509).collect();
    positions.extend([0, 100, 511, 512, bytes.len() - 1025, bytes.len() - 1]);
    for pos in positions {
        let mut b = bytes.clone();
        b[pos] ^= 0x01;
        std::fs::write(&bad, &b).unwrap();
        let verify = k.run(&["backup", "verify", bad.to_str().unwrap()]);
        assert_eq!(
            verify.status.code(),
            Some(1),
            "byte {pos} flipped, verify passed"
        );
        assert!(
            String::from_utf8_lossy(&verify.stderr).contains("refused"),
            "byte {pos}"
        );
        if pos % 5 == 0 {
            let restore = k.run(&["backup", "restore", bad.to_str().unwrap(), "--yes"]);
            assert_eq!(
                restore.status.code(),
                Some(1),
                "byte {pos} flipped, restore passed"
            );
            assert_eq!(
                before,
                live(),
                "byte {pos}: live files changed by a refused restore"
            );
        }
    }
    // Flips inside the manifest or a member are always caught.
    let manifest_at = 600; // inside the first member's data (after its 512-byte header)
    let member_at = bytes.len() / 2;
    for pos in [manifest_at, member_at] {
        let mut b = bytes.clone();
        b[pos] ^= 0x80;
        std::fs::write(&bad, &b).unwrap();
        assert_eq!(
            k.run(&["backup", "verify", bad.to_str().unwrap()])
                .status
                .code(),
            Some(1),
            "byte {pos}"
        );
        assert_eq!(
            k.run(&["backup", "restore", bad.to_str().unwrap(), "--yes"])
                .status
                .code(),
            Some(1)
        );
    }
    // A wrong backup key.
    let wrong = k.dir.path().join("wrong.key");
    std::fs::write(&wrong, [9u8; 32]).unwrap();
    let err = k.fails(&[
        "backup",
        "verify",
        file.to_str().unwrap(),
        "--backup-key",
        wrong.to_str().unwrap(),
    ]);
    assert!(err.contains("wrong backup key"), "{err}");
    k.fails(&[
        "backup",
        "restore",
        file.to_str().unwrap(),
        "--backup-key",
        wrong.to_str().unwrap(),
        "--yes",
    ]);
    assert_eq!(before, live());
    // Without --yes nothing happens either.
    assert!(
        k.fails(&["backup", "restore", file.to_str().unwrap()])
            .contains("--yes")
    );
}

#[test]
fn restoring_one_tenant_leaves_the_others_untouched() {
    let (k, pw, site) = setup();
    k.ok(&["tenant", "create", "beta"]);
    let file = archive(&k);
    // Both change after the backup.
    let mut server = k.server(&[]);
    let (_v, _, _) = visitor(&server, &site, "after the backup");
    server.stop();
    let beta_uuid = k.json(&["tenant", "show", "beta"])["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    k.ok_stdin(
        &[
            "agent",
            "add",
            "beta",
            "new@beta.example",
            "--name",
            "New",
            "--password-stdin",
        ],
        &pw,
    );
    let beta_file = format!("tenants/{beta_uuid}.db");
    let before = checksums(&k.data_dir());
    let out = k.json(&[
        "backup",
        "restore",
        file.to_str().unwrap(),
        "--tenant",
        "acme",
        "--yes",
    ]);
    let slugs: Vec<&str> = out["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["acme"]);
    let after = checksums(&k.data_dir());
    assert_eq!(
        before.get(std::path::Path::new(&beta_file)),
        after.get(std::path::Path::new(&beta_file)),
        "beta's file changed"
    );
    assert!(
        k.ok(&["agent", "list", "beta"])
            .contains("new@beta.example"),
        "beta keeps its newer agent"
    );
    assert_eq!(
        messages(&k, "acme").len(),
        0,
        "acme is back to the snapshot: no chat yet"
    );
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    let convs: i64 = db
        .with(|c| Ok(c.query_row("SELECT count(*) FROM conversations", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(convs, 0);
    assert!(
        k.fails(&[
            "backup",
            "restore",
            file.to_str().unwrap(),
            "--tenant",
            "nope",
            "--yes"
        ])
        .contains("not found")
    );
}

#[test]
fn restore_through_a_running_server_swaps_the_tenant_in_place() {
    let (k, pw, site) = setup();
    let file = archive(&k);
    let server = k.server(&[]);
    let (mut b, mut ag) = agent(&server, &pw);
    let (_v, conv, _) = visitor(&server, &site, "after the backup");
    ag.send(json!({"type": "accept", "conversation_id": conv}));
    ag.recv_type("conversation");
    k.ok(&["backup", "restore", file.to_str().unwrap(), "--yes"]);
    // The tenant's sockets were let go; sessions are the snapshot's too (this one is newer).
    assert_eq!(ag.close_code(), Some(1013));
    assert_eq!(b.get("/api/session").status, 401);
    assert_eq!(b.login("acme", "ann@acme.example", &pw).status, 303);
    assert_eq!(
        b.get("/api/conversations").json()["conversations"],
        json!([])
    );
    // And it keeps working after the swap.
    let (_v2, conv2, _) = visitor(&server, &site, "after the restore");
    let mut ag2 = crate::common::Ws::agent(&b);
    ag2.send(json!({"type": "hello"}));
    ag2.send(json!({"type": "accept", "conversation_id": conv2}));
    assert_eq!(ag2.recv_type("conversation")["status"], "open");
    let list = b.get("/api/conversations").json();
    assert_eq!(list["conversations"].as_array().unwrap().len(), 1);
}

#[test]
fn a_restore_over_a_tenant_gives_its_log_a_new_epoch_and_a_move_keeps_it() {
    let (k, _, site) = setup();
    let before = epoch(&k, "acme");
    assert_eq!(before.len(), 32);
    assert!(
        before
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "{before}"
    );
    let file = archive(&k);
    let key = k.data_dir().join("backup.key");

    // Over the live tenant: the restored log is not the one its clients hold.
    k.ok(&["backup", "restore", file.to_str().unwrap(), "--yes"]);
    let renewed = epoch(&k, "acme");
    assert_ne!(renewed, before);
    assert_eq!(renewed.len(), 32);
    // Every other table is the snapshot's, as before (the restore adds its own audit entry).
    let tables = |k: &Kontor| {
        let store = kontor::store::Store::open(&k.data_dir()).unwrap();
        let (_, db) = store.tenant_db_by_slug("acme").unwrap();
        let mut t = db
            .with(|c| kontor::store::backup::table_checksums(c))
            .unwrap();
        t.retain(|(name, _)| {
            !["audit_chain", "audit_log", "log_identity"].contains(&name.as_str())
        });
        t
    };
    let verified = k.json(&["backup", "verify", file.to_str().unwrap()]);
    let snapshot: Vec<(String, String)> =
        serde_json::from_value(verified["tables"]["acme"].clone()).unwrap();
    let mut snapshot_rest = snapshot.clone();
    snapshot_rest
        .retain(|(name, _)| !["audit_chain", "audit_log", "log_identity"].contains(&name.as_str()));
    assert_eq!(tables(&k), snapshot_rest);

    // A new server never had the tenant: a move, so the log keeps the identity it had.
    let fresh = Kontor::new();
    fresh.ok(&["init"]);
    let with_key = [
        "backup",
        "restore",
        file.to_str().unwrap(),
        "--backup-key",
        key.to_str().unwrap(),
        "--yes",
    ];
    fresh.ok(&with_key);
    assert_eq!(epoch(&fresh, "acme"), before);
    // Restored there a second time, it replaces a log that server's clients may hold.
    fresh.ok(&with_key);
    let again = epoch(&fresh, "acme");
    assert_ne!(again, before);
    assert_ne!(again, renewed);

    // Clients are told: a chat's welcome names the restored log's epoch.
    let server = k.server(&[]);
    let mut v = crate::common::Ws::visitor(&server.base, &site, SHOP).unwrap();
    v.send(json!({"type": "start", "consent": true, "notice_version": "1", "name": "Vera"}));
    assert_eq!(v.recv_type("welcome")["epoch"], renewed.as_str());
}

#[test]
fn restore_prints_exactly_what_was_acknowledged_after_the_backup() {
    let (k, _, site) = setup();
    let mut server = k.server(&[]);
    let (mut v, conv, _) = visitor(&server, &site, "Vera");
    let kept = say(&mut v, None, "v-1", "in the backup");
    let file = archive(&k); // through the running server
    let after = [
        say(&mut v, None, "v-2", "after the backup"),
        say(&mut v, None, "v-3", "after it too"),
    ];
    assert_eq!(after, [kept + 1, kept + 2]);

    // Through the running server's admin socket: two entries of one chat are gone.
    let out = k.ok(&["backup", "restore", file.to_str().unwrap(), "--yes"]);
    assert!(
        out.contains(
            "acme: restored; 2 chat entries in 1 chat acknowledged after this backup was made are gone (the chats' visitors and agents see the restored log)"
        ),
        "{out}"
    );
    let restored = messages(&k, "acme");
    assert_eq!(restored, [(conv, kept, "in the backup".to_string())]);
    // Restored again right away: nothing newer was acknowledged.
    let out = k.ok(&["backup", "restore", file.to_str().unwrap(), "--yes"]);
    assert!(
        out.contains("acme: restored; nothing acknowledged after the backup is lost"),
        "{out}"
    );

    // Two new chats, one of them with one entry; then without a server, as JSON.
    let (mut a, _, _) = visitor(&server, &site, "Alma");
    let (mut b, _, _) = visitor(&server, &site, "Bert");
    let mut last = 0;
    for i in 0..3 {
        last = say(&mut a, None, &format!("a-{i}"), "new chat");
    }
    let one = say(&mut b, None, "b-0", "another new chat");
    drop((v, a, b));
    server.stop();
    let out = k.json(&["backup", "restore", file.to_str().unwrap(), "--yes"]);
    assert_eq!(
        out["tenants"],
        json!([{"slug": "acme", "dropped_entries": last + one, "dropped_chats": 2}]),
        "{out}"
    );
    // Alma and Bert waited behind Vera: each chat starts with its automatic queue message,
    // then 3 and 1 entries.
    assert_eq!(last + one, 6);
    assert_eq!(messages(&k, "acme").len(), 1);
}

#[test]
fn backup_list_shows_archives_newest_first() {
    let (k, _, _) = setup();
    let first = archive(&k);
    k.advance_clock(std::time::Duration::from_secs(1));
    let second = archive(&k);
    let list = k.json(&["backup", "list"]);
    let files: Vec<&str> = list["archives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["file"].as_str().unwrap())
        .collect();
    assert_eq!(files, [second.to_str().unwrap(), first.to_str().unwrap()]);
    assert_eq!(list["archives"][0]["tenants"], json!(["acme"]));
    assert!(k.ok(&["backup", "list"]).contains("acme"));
}

#[test]
fn scheduled_backups_fire_daily_and_weekly_and_rotate_to_the_configured_counts() {
    use time::macros::datetime;
    let (k, _, _) = setup();
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let key = kontor::store::backup::backup_key(&k.data_dir().join("backup.key"), true).unwrap();
    let cfg = kontor::config::BackupConfig::default(); // 03:30 UTC, Sundays, keep 7 and 4
    let dir = k.dir.path().join("offsite");
    std::fs::create_dir_all(&dir).unwrap();
    let names = |dir: &std::path::Path| {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".tar"))
            .collect();
        v.sort();
        v
    };
    let tick = |now| kontor::schedule::tick(&store, &key, &cfg, &dir, now).unwrap();
    // Monday 2026-11-23: not yet at 03:29, once at 03:30, not again at 17:00.
    assert!(tick(datetime!(2026-11-23 03:29 UTC)).is_empty());
    assert_eq!(tick(datetime!(2026-11-23 03:30 UTC)).len(), 1);
    assert!(tick(datetime!(2026-11-23 17:00 UTC)).is_empty());
    assert_eq!(names(&dir), ["kontor-daily-2026-11-23.tar"]);
    // Six weeks of days: every archive verified as written, rotation keeps 7 daily, 4 weekly.
    let start = datetime!(2026-11-24 04:00 UTC);
    for day in 0..42 {
        let written = tick(start + time::Duration::days(day));
        assert!(!written.is_empty(), "day {day}");
    }
    let all = names(&dir);
    let daily: Vec<&String> = all
        .iter()
        .filter(|n| n.starts_with("kontor-daily-"))
        .collect();
    let weekly: Vec<&String> = all
        .iter()
        .filter(|n| n.starts_with("kontor-weekly-"))
        .collect();
    assert_eq!(daily.len(), 7, "{all:?}");
    assert_eq!(weekly.len(), 4, "{all:?}");
    assert_eq!(
        daily.last().unwrap().as_str(),
        "kontor-daily-2027-01-04.tar"
    );
    // The kept ones are real, verifiable archives.
    let newest = dir.join(weekly.last().unwrap());
    k.ok(&["backup", "verify", newest.to_str().unwrap()]);
    // Nothing else was left behind (no work directories).
    assert!(
        std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .all(|e| e.path().extension().is_some_and(|x| x == "tar"))
    );
}

#[test]
fn healthz_reports_the_last_good_scheduled_backup() {
    let (k, _, _) = setup();
    let dir = k.data_dir().join("backups");
    std::fs::create_dir_all(&dir).unwrap();
    let file = archive(&k);
    std::fs::rename(&file, dir.join("kontor-daily-2026-11-20.tar")).unwrap();
    let server = k.server(&[]);
    let v = Browser::new(&server.base).get("/healthz").json();
    assert!(
        v["backup"]["last_good"].as_str().unwrap().ends_with('Z'),
        "{v}"
    );
    assert!(v["backup"]["last_error"].is_null());
}

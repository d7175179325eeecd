//! Contract end: a tenant exported (encrypted, or plain) and imported on a second kontor
//! reproduces every row and site; wrong passphrases, changed files and clashes are refused
//! with nothing created; deleting a tenant prints and keeps a certificate.

use crate::common::Kontor;
use std::collections::BTreeMap;

const PASSPHRASE: &str = "correct horse battery staple";

fn checksums(k: &Kontor, slug: &str) -> BTreeMap<String, String> {
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug(slug).unwrap();
    db.with(|c| kontor::store::backup::table_checksums(c))
        .unwrap()
        .into_iter()
        .collect()
}

#[test]
fn an_encrypted_export_imports_on_another_server_with_every_row() {
    let (k, _) = crate::stats::fixture();
    let site = k.json(&["site", "add", "acme", "--origin", "https://shop.example"]);
    let file = k.data_dir().join("../acme.kontor-export");
    let out = k.ok_stdin(
        &["tenant", "export", "acme", "--out", file.to_str().unwrap()],
        PASSPHRASE,
    );
    assert!(out.contains("encrypted"), "{out}");
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"KONTOR-EXPORT-1\n"));
    assert!(
        !bytes.windows(4).any(|w| w == b"Home"),
        "no plaintext in the file"
    );
    let source = checksums(&k, "acme");

    let other = Kontor::new();
    other.ok(&["init"]);
    // Wrong passphrase: refused, nothing created.
    let out = other.run_stdin(
        &["tenant", "import", file.to_str().unwrap()],
        "wrong horse battery staple",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong passphrase"));
    assert_eq!(
        other.json(&["tenant", "list"])["tenants"]
            .as_array()
            .map(|a| a.len()),
        Some(0)
    );

    let out = other.ok_stdin(&["tenant", "import", file.to_str().unwrap()], PASSPHRASE);
    assert!(out.contains("tenant acme imported"), "{out}");
    let imported = checksums(&other, "acme");
    for (table, sum) in &source {
        if ["sessions", "audit_log", "audit_chain"].contains(&table.as_str()) {
            continue;
        }
        assert_eq!(imported.get(table), Some(sum), "table {table}");
    }
    // The audit trail moved whole, plus the import itself, and still verifies.
    let v = other.json(&["audit", "verify", "acme"]);
    assert_eq!(v["intact"], true, "{v}");
    let trail = other.json(&["audit", "list", "acme", "--limit", "500"]);
    let actions: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions[0], "tenant.import");
    assert_eq!(
        actions[1], "tenant.export",
        "the export carries its own record"
    );
    // The site kept its key, so embedded snippets keep working.
    let sites = other.json(&["site", "list", "acme"]);
    assert_eq!(sites["sites"][0]["site_key"], site["site_key"], "{sites}");
    // The same statistics on both.
    let stats = |k: &Kontor| {
        k.json(&[
            "stats",
            "acme",
            "--from",
            "2026-01-15",
            "--to",
            "2026-01-16",
        ])
    };
    assert_eq!(stats(&other), stats(&k));
    // Importing again clashes.
    let err = other.fails_stdin(&["tenant", "import", file.to_str().unwrap()], PASSPHRASE);
    assert!(err.contains("exists already"), "{err}");
}

#[test]
fn a_plain_export_is_readable_and_a_changed_one_is_refused() {
    let (k, _) = crate::stats::fixture();
    let file = k.data_dir().join("../acme.tar");
    k.ok(&[
        "tenant",
        "export",
        "acme",
        "--out",
        file.to_str().unwrap(),
        "--plain",
    ]);
    let mut archive = tar::Archive::new(std::fs::File::open(&file).unwrap());
    let mut files = BTreeMap::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let mut body = String::new();
        std::io::Read::read_to_string(&mut e, &mut body).unwrap();
        files.insert(e.path().unwrap().to_string_lossy().to_string(), body);
    }
    let manifest: serde_json::Value = serde_json::from_str(&files["manifest.json"]).unwrap();
    assert_eq!(manifest["format"], "kontor-tenant-export/1");
    assert_eq!(manifest["tenant"]["slug"], "acme");
    let visits = manifest["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "visits")
        .unwrap();
    assert_eq!(visits["rows"], 5);
    assert_eq!(files["tables/visits.jsonl"].lines().count(), 5);
    assert!(
        !files.contains_key("tables/sessions.jsonl"),
        "sign-ins stay behind"
    );

    // One changed value: the checksum catches it and nothing is created.
    let changed = files["tables/page_views.jsonl"].replacen("[1,1,1,", "[1,1,2,", 1);
    assert_ne!(
        changed, files["tables/page_views.jsonl"],
        "the fixture row exists"
    );
    let mut tar = tar::Builder::new(Vec::new());
    for (path, body) in &files {
        let body = if path == "tables/page_views.jsonl" {
            &changed
        } else {
            body
        };
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        tar.append_data(&mut h, path, body.as_bytes()).unwrap();
    }
    let bad = k.data_dir().join("../changed.tar");
    std::fs::write(&bad, tar.into_inner().unwrap()).unwrap();
    let other = Kontor::new();
    other.ok(&["init"]);
    let err = other.fails(&["tenant", "import", bad.to_str().unwrap()]);
    assert!(
        err.contains("page_views") && err.contains("checksum"),
        "{err}"
    );
    assert_eq!(
        other.json(&["tenant", "list"])["tenants"]
            .as_array()
            .map(|a| a.len()),
        Some(0)
    );
    let junk = k.data_dir().join("../junk.tar");
    std::fs::write(&junk, b"not an archive at all").unwrap();
    assert!(
        other
            .fails(&["tenant", "import", junk.to_str().unwrap()])
            .contains("not a kontor tenant export")
    );
    other.ok(&["tenant", "import", file.to_str().unwrap()]);
}

#[test]
fn deleting_a_tenant_prints_and_keeps_a_certificate() {
    let (k, _) = crate::stats::fixture();
    let rec = k.json(&["tenant", "show", "acme"]);
    let cert = k.json(&["tenant", "delete", "acme", "--yes"]);
    assert_eq!(cert["format"], "kontor-deletion-certificate/1");
    assert_eq!(cert["key_destroyed"], true);
    assert_eq!(cert["tenant_uuid"], rec["uuid"]);
    let rows: BTreeMap<String, u64> = serde_json::from_value(serde_json::Value::Object(
        cert["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r[0].as_str().unwrap().to_string(), r[1].clone()))
            .collect(),
    ))
    .unwrap();
    assert_eq!(rows["visits"], 5);
    assert_eq!(rows["conversations"], 5);
    assert!(cert["database_bytes"].as_u64().unwrap() > 0);
    let uuid = rec["uuid"].as_str().unwrap();
    let kept = k.data_dir().join(format!("certificates/acme-{uuid}.json"));
    let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(kept).unwrap()).unwrap();
    assert_eq!(stored, cert);
    assert!(!k.data_dir().join(format!("tenants/{uuid}.db")).exists());
    assert!(k.fails(&["tenant", "show", "acme"]).contains("acme"));
}

#[test]
fn a_new_tenant_key_keeps_every_row_and_an_interrupted_change_finishes_on_open() {
    let (k, _) = crate::stats::fixture();
    let before = checksums(&k, "acme");
    let (uuid, old_key) = {
        let store = kontor::store::Store::open(&k.data_dir()).unwrap();
        let rec = store.tenant_record("acme").unwrap();
        let key = store.tenant_key(&rec.uuid).unwrap();
        (rec.uuid, key)
    };
    let out = k.ok(&["tenant", "rekey", "acme"]);
    assert!(out.contains("new key"), "{out}");
    assert_eq!(checksums(&k, "acme").get("visits"), before.get("visits"));
    assert_eq!(
        checksums(&k, "acme").get("messages"),
        before.get("messages")
    );
    let path = k.data_dir().join(format!("tenants/{uuid}.db"));
    let old =
        kontor::store::connection::open(&path, &old_key, kontor::store::connection::Mode::Existing);
    assert!(old.is_err(), "the old key no longer opens the file");
    let trail = k.json(&["audit", "list", "acme", "--action", "key"]);
    assert_eq!(trail[0]["action"], "key.change");
    assert_eq!(k.json(&["audit", "verify", "acme"])["intact"], true);

    // A change interrupted after the new file went in but before its key was promoted: the
    // next open tries the pending key and finishes the change.
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let current = store.tenant_key(&uuid).unwrap();
    let next = kontor::crypto::Key::generate();
    let wrapped = store.wrap(&next, &uuid);
    store
        .system(|c| {
            c.execute(
                "UPDATE tenants SET pending_key = ?2 WHERE uuid = ?1",
                rusqlite::params![uuid, wrapped],
            )?;
            Ok(())
        })
        .unwrap();
    {
        let c = kontor::store::connection::open(
            &path,
            &current,
            kontor::store::connection::Mode::Existing,
        )
        .unwrap();
        c.execute_batch(&format!("PRAGMA rekey = {};", next.sqlcipher_literal()))
            .unwrap();
    }
    drop(store);
    assert_eq!(
        checksums(&k, "acme").get("visits"),
        before.get("visits"),
        "opens with the pending key"
    );
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let pending: Option<Vec<u8>> = store
        .system(|c| {
            Ok(c.query_row(
                "SELECT pending_key FROM tenants WHERE uuid = ?1",
                [&uuid],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(pending, None, "promoted");
    assert_eq!(
        store.tenant_key(&uuid).unwrap().sqlcipher_literal(),
        next.sqlcipher_literal()
    );
}

#[test]
fn a_key_change_on_a_running_server_loses_no_acknowledged_message() {
    let (k, pw, site) = crate::chat::setup();
    let server = k.server(&[]);
    let (_b, mut ag) = crate::chat::agent(&server, &pw);
    let (mut v, conv, _) = crate::chat::visitor(&server, &site, "Vera");
    ag.send(serde_json::json!({"type": "accept", "conversation_id": conv}));
    ag.recv_type("conversation");
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let writer = {
        let acked = acked.clone();
        std::thread::spawn(move || {
            // Runs until the key change closes the socket (recv panics then).
            for i in 0.. {
                v.send(serde_json::json!({"type": "message", "client_id": format!("w{i}"), "text": format!("line {i}")}));
                let seq = v.recv_type("ack")["seq"].as_i64().unwrap();
                acked.lock().unwrap().push((seq, format!("line {i}")));
                std::thread::sleep(std::time::Duration::from_millis(60));
            }
        })
    };
    // Traffic first: the change comes while messages flow.
    crate::common::wait_until(
        "traffic before the change",
        std::time::Duration::from_secs(10),
        || acked.lock().unwrap().len() > 5,
    );
    let out = k.ok(&["tenant", "rekey", "acme"]); // through the running server
    assert!(out.contains("new key"), "{out}");
    let _ = writer.join();
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 3,
        "traffic before the change: {}",
        acked.len()
    );
    // The server goes on under the new key: a new chat works.
    let (mut v2, _, _) = crate::chat::visitor(&server, &site, "Nina");
    v2.send(serde_json::json!({"type": "message", "client_id": "n1", "text": "after the change"}));
    v2.recv_type("ack");
    drop(server);
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let (_, db) = store.tenant_db_by_slug("acme").unwrap();
    let stored: Vec<(i64, String)> = db
        .with(|c| {
            let mut s = c.prepare("SELECT seq, body FROM messages WHERE conversation_id = ?1 AND author = 'visitor' ORDER BY seq")?;
            Ok(s.query_map([conv], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?)
        })
        .unwrap();
    for a in &acked {
        assert!(stored.contains(a), "acknowledged {a:?} is stored");
    }
    let after: i64 = db
        .with(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM messages WHERE body = 'after the change'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(after, 1);
}

/// A plain export of `acme` with one site, as its members in order.
fn plain_export(k: &Kontor) -> Vec<(String, Vec<u8>)> {
    k.json(&["site", "add", "acme", "--origin", "https://shop.example"]);
    let file = k.data_dir().join("../acme-plain.tar");
    let path = file.to_str().unwrap();
    k.ok(&["tenant", "export", "acme", "--out", path, "--plain"]);
    let mut archive = tar::Archive::new(std::fs::File::open(&file).unwrap());
    let mut members = Vec::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut body).unwrap();
        members.push((e.path().unwrap().to_string_lossy().to_string(), body));
    }
    members
}

/// A tar header written by hand, so names and types the `tar` builder refuses can be made.
fn raw_header(name: &str, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o600);
    h
}

/// A tar file of `members`, each a header (its checksum set here) and the bytes that follow
/// it, padded to 512-byte blocks whatever the header says.
fn tar_bytes(members: Vec<RawMember>) -> Vec<u8> {
    let mut out = Vec::new();
    for (mut h, body) in members {
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(&body);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// A member as `tar_bytes` writes it: its header and the bytes after it.
type RawMember = (tar::Header, Vec<u8>);

fn regular(name: &str, body: &[u8]) -> RawMember {
    (
        raw_header(name, tar::EntryType::Regular, body.len() as u64),
        body.to_vec(),
    )
}

fn tenant_count(k: &Kontor) -> usize {
    k.json(&["tenant", "list"])["tenants"]
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn hostile_archives_are_refused_with_nothing_created_and_memory_bounded() {
    let (k, _) = Kontor::with_tenant();
    let export = plain_export(&k);
    let good: Vec<RawMember> = export.iter().map(|(p, b)| regular(p, b)).collect();
    let sparse = {
        // A GNU sparse member: no data in the archive, a hole of 1 GiB when read.
        let mut h = raw_header("tables/visits.jsonl", tar::EntryType::GNUSparse, 0);
        let g = h.as_gnu_mut().unwrap();
        g.sparse[0].set_offset(1 << 30);
        g.sparse[0].set_length(0);
        g.set_real_size(1 << 30);
        (h, Vec::new())
    };
    let link = {
        let mut h = raw_header("tables/notes.jsonl", tar::EntryType::Symlink, 0);
        h.set_link_name("/etc/passwd").unwrap();
        (h, Vec::new())
    };
    let many: Vec<_> = (0..2000)
        .map(|i| regular(&format!("extra/{i}"), b"x"))
        .collect();
    let cases: Vec<(&str, Vec<RawMember>, &str)> = vec![
        ("sparse", vec![sparse], "sparse"),
        (
            "lying-size",
            // The header promises 1 GiB; ten bytes follow.
            vec![(
                raw_header("extra.txt", tar::EntryType::Regular, 1 << 30),
                b"0123456789".to_vec(),
            )],
            "header",
        ),
        ("many", many, "members"),
        ("symlink", vec![link], "link"),
        ("dotdot", vec![regular("../escape.txt", b"x")], ".."),
        (
            "absolute",
            vec![regular("/tmp/escape.txt", b"x")],
            "absolute",
        ),
        (
            "fifo",
            vec![(raw_header("tables/x", tar::EntryType::Fifo, 0), Vec::new())],
            "fifo",
        ),
    ];
    let other = Kontor::new();
    other.ok(&["init"]);
    let server = other.server(&[]);
    let (rss_before, _) = server.memory_kib();
    for (name, hostile, says) in cases {
        let mut members = good.clone();
        members.extend(hostile);
        let file = other.data_dir().join(format!("../{name}.tar"));
        std::fs::write(&file, tar_bytes(members)).unwrap();
        // Through the running server: the archive is read inside its process.
        let err = other.fails(&["tenant", "import", file.to_str().unwrap()]);
        assert!(
            err.to_lowercase().contains(says),
            "{name}: {err} should say {says:?}"
        );
        assert_eq!(tenant_count(&other), 0, "{name}: nothing created");
    }
    let (_, peak) = server.memory_kib();
    assert!(
        peak.saturating_sub(rss_before) < 100 * 1024,
        "the server's memory grew from {rss_before} KiB to a peak of {peak} KiB"
    );
    // The good archive itself still imports.
    let file = other.data_dir().join("../good.tar");
    std::fs::write(&file, tar_bytes(good)).unwrap();
    other.ok(&["tenant", "import", file.to_str().unwrap()]);
    assert_eq!(tenant_count(&other), 1);
}

/// The export with its manifest changed by `change`.
fn with_manifest(export: &[(String, Vec<u8>)], change: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    let members = export
        .iter()
        .map(|(path, body)| {
            if path != "manifest.json" {
                return regular(path, body);
            }
            let mut m: serde_json::Value = serde_json::from_slice(body).unwrap();
            change(&mut m);
            regular(path, &serde_json::to_vec(&m).unwrap())
        })
        .collect();
    tar_bytes(members)
}

#[test]
fn an_import_checks_its_manifest_as_if_an_admin_typed_it() {
    let (k, _) = Kontor::with_tenant();
    let export = plain_export(&k);
    let other = Kontor::new();
    other.ok(&["init"]);
    type Change = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "star",
            Box::new(|m| m["sites"][0]["origins"] = serde_json::json!(["*"])),
            "origin",
        ),
        (
            "csp",
            Box::new(|m| {
                m["sites"][0]["origins"] =
                    serde_json::json!(["https://a.example; report-uri https://evil"])
            }),
            "origin",
        ),
        (
            "name",
            Box::new(|m| m["tenant"]["name"] = "Acme\n admin login OK".into()),
            "control characters",
        ),
        (
            "site-key",
            Box::new(|m| m["sites"][0]["site_key"] = "site_\"><script>".into()),
            "site key",
        ),
        (
            "color",
            Box::new(|m| m["sites"][0]["look"]["color"] = "red;}".into()),
            "color",
        ),
        (
            "tracking",
            Box::new(|m| m["sites"][0]["tracking"]["tracking"] = "everything".into()),
            "tracking",
        ),
        (
            "table",
            Box::new(|m| m["tables"][0]["name"] = "sqlite_master".into()),
            "unknown",
        ),
        (
            "uuid-form",
            Box::new(|m| {
                let u = m["tenant"]["uuid"].as_str().unwrap().replace('-', "");
                m["tenant"]["uuid"] = u.into();
            }),
            "uuid",
        ),
    ];
    for (name, change, says) in cases {
        let file = other.data_dir().join(format!("../{name}.tar"));
        std::fs::write(&file, with_manifest(&export, change)).unwrap();
        let err = other.fails(&["tenant", "import", file.to_str().unwrap()]);
        assert!(err.contains(says), "{name}: {err} should say {says:?}");
        assert_eq!(tenant_count(&other), 0, "{name}: nothing created");
    }

    // Imported once; an upper-case copy of its uuid under another slug is the same tenant.
    let file = other.data_dir().join("../good.tar");
    std::fs::write(&file, with_manifest(&export, |_| {})).unwrap();
    other.ok(&["tenant", "import", file.to_str().unwrap()]);
    let upper = other.data_dir().join("../upper.tar");
    std::fs::write(
        &upper,
        with_manifest(&export, |m| {
            let u = m["tenant"]["uuid"].as_str().unwrap().to_uppercase();
            m["tenant"]["uuid"] = u.into();
            m["tenant"]["slug"] = "acme-two".into();
            // Without its sites, whose keys would clash first.
            m["sites"] = serde_json::json!([]);
        }),
    )
    .unwrap();
    let err = other.fails(&["tenant", "import", upper.to_str().unwrap()]);
    assert!(
        err.contains("a tenant with id") && err.contains("exists already"),
        "{err}"
    );
    assert_eq!(tenant_count(&other), 1);
}

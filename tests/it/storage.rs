//! Encryption at rest, key handling and crypto-shredding, checked on the files themselves.

use crate::common::{Kontor, checksums};
use kontor::store::Store;

fn tenant_uuid(k: &Kontor, slug: &str) -> String {
    k.json(&["tenant", "show", slug])["uuid"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn tenant_and_system_files_are_encrypted() {
    let (k, _) = Kontor::with_tenant();
    let uuid = tenant_uuid(&k, "acme");
    for path in [
        k.data_dir().join("system.db"),
        k.data_dir().join("tenants").join(format!("{uuid}.db")),
    ] {
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.len() >= 4096);
        assert_ne!(&bytes[..16], b"SQLite format 3\0", "{path:?} is plaintext");
        assert!(
            !bytes.windows(16).any(|w| w == b"ann@acme.example"),
            "{path:?} leaks an email"
        );
        assert!(
            !bytes.windows(4).any(|w| w == b"acme"),
            "{path:?} leaks the slug"
        );
        // Without the key SQLite cannot read it.
        let c = rusqlite::Connection::open(&path).unwrap();
        let err = c
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap_err();
        assert!(err.to_string().contains("not a database"), "{err}");
    }
}

#[test]
fn wrong_master_key_is_refused_and_changes_nothing() {
    let (k, _) = Kontor::with_tenant();
    let key_path = k.data_dir().join("master.key");
    std::fs::write(&key_path, [7u8; 32]).unwrap();
    let before = checksums(&k.data_dir());
    for args in [
        vec!["tenant", "list"],
        vec!["agent", "list", "acme"],
        vec!["init"],
    ] {
        let err = k.fails(&args);
        assert!(err.contains("master key"), "{args:?}: {err}");
        assert!(
            err.contains(key_path.to_str().unwrap()),
            "{args:?} must name the key file: {err}"
        );
        assert!(
            err.contains("system.db"),
            "{args:?} must name the database: {err}"
        );
    }
    let out = k.run(&["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("master key"));
    assert_eq!(
        before,
        checksums(&k.data_dir()),
        "a refused key must not change any file"
    );
}

#[test]
fn missing_master_key_is_refused_and_not_regenerated() {
    let (k, _) = Kontor::with_tenant();
    let key_path = k.data_dir().join("master.key");
    std::fs::remove_file(&key_path).unwrap();
    let before = checksums(&k.data_dir());
    for args in [vec!["tenant", "list"], vec!["init"]] {
        let err = k.fails(&args);
        assert!(err.contains(key_path.to_str().unwrap()), "{args:?}: {err}");
        assert!(err.contains("missing"), "{args:?}: {err}");
    }
    let out = k.run(&["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !key_path.exists(),
        "a new key for existing data would make it unreadable"
    );
    assert_eq!(before, checksums(&k.data_dir()));
}

#[test]
fn short_master_key_file_is_refused() {
    let (k, _) = Kontor::with_tenant();
    std::fs::write(k.data_dir().join("master.key"), b"too short").unwrap();
    let err = k.fails(&["tenant", "list"]);
    assert!(err.contains("32 bytes"), "{err}");
}

#[test]
fn master_key_can_come_from_systemd_credentials() {
    let (k, _) = Kontor::with_tenant();
    let creds = tempfile::tempdir().unwrap();
    std::fs::rename(
        k.data_dir().join("master.key"),
        creds.path().join("master.key"),
    )
    .unwrap();
    let out = k
        .command(&["tenant", "list", "--json"])
        .env("CREDENTIALS_DIRECTORY", creds.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("acme"));
}

#[test]
fn deleted_tenant_cannot_be_read_even_with_the_old_master_key() {
    let (k, _) = Kontor::with_tenant();
    let uuid = tenant_uuid(&k, "acme");
    let file = k.data_dir().join("tenants").join(format!("{uuid}.db"));
    let saved = std::fs::read(&file).unwrap();
    let old_key = std::fs::read(k.data_dir().join("master.key")).unwrap();
    let wrapped = {
        let store = Store::open(&k.data_dir()).unwrap();
        store
            .system(|c| kontor::store::system::wrapped_key(c, &uuid))
            .unwrap()
            .unwrap()
    };

    k.ok(&["tenant", "delete", "acme", "--yes"]);
    assert!(!file.exists());
    // The page that held the wrapped key was checkpointed out of the WAL.
    let wal = k.data_dir().join("system.db-wal");
    assert!(!wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0);

    // An attacker with the old master key and a copy of the tenant's file:
    std::fs::write(&file, &saved).unwrap();
    assert_eq!(
        std::fs::read(k.data_dir().join("master.key")).unwrap(),
        old_key
    );
    let store = Store::open(&k.data_dir()).unwrap();
    assert!(matches!(
        store.tenant_db(&uuid),
        Err(kontor::error::Error::NotFound(_))
    ));
    // No row anywhere in system.db still holds the wrapped key.
    let blobs: Vec<Vec<u8>> = store
        .system(|c| {
            let mut all = Vec::new();
            let tables: Vec<String> = c
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for t in tables {
                let mut stmt = c.prepare(&format!("SELECT * FROM \"{t}\""))?;
                let n = stmt.column_count();
                let mut rows = stmt.query([])?;
                while let Some(row) = rows.next()? {
                    for i in 0..n {
                        if let Ok(b) = row.get::<_, Vec<u8>>(i) {
                            all.push(b);
                        }
                    }
                }
            }
            Ok(all)
        })
        .unwrap();
    assert!(!blobs.iter().any(|b| b == &wrapped));
}

#[test]
fn a_copy_is_taken_before_a_migration_changes_a_schema() {
    use kontor::store::{connection, migrations};
    let (k, _) = Kontor::with_tenant();
    let uuid = tenant_uuid(&k, "acme");
    let key = Store::open(&k.data_dir())
        .unwrap()
        .tenant_key(&uuid)
        .unwrap();
    // Make the tenant's database look like one written by the first kontor release.
    let file = k.data_dir().join("tenants").join(format!("{uuid}.db"));
    std::fs::remove_file(&file).unwrap();
    {
        let mut c = connection::open(&file, &key, connection::Mode::Create).unwrap();
        migrations::apply(&mut c, &migrations::TENANT[..1]).unwrap();
        c.execute(
            "INSERT INTO agents (email, display_name, role, password_hash, created_at) VALUES ('old@acme.example', 'Old', 'agent', 'x', 1)",
            [],
        )
        .unwrap();
    }
    // Any use opens and migrates it; a copy of the old version is kept first.
    assert!(
        k.ok(&["agent", "list", "acme"])
            .contains("old@acme.example")
    );
    let copies: Vec<_> = std::fs::read_dir(k.data_dir().join("backups").join("pre-migration"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{uuid}-v1-"))
        })
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    let old = connection::open(&copies[0], &key, connection::Mode::Existing).unwrap();
    assert_eq!(migrations::version(&old).unwrap(), 1);
    let n: i64 = old
        .query_row("SELECT count(*) FROM agents", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    drop(old);
    // The live one is current; a second use takes no second copy.
    k.ok(&["agent", "list", "acme"]);
    let count = std::fs::read_dir(k.data_dir().join("backups").join("pre-migration"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".db"))
        .count();
    assert_eq!(count, 1);
}

#[test]
fn every_file_kontor_writes_is_its_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    // Started as an operator would by hand, with a permissive umask.
    let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
    let (k, _) = crate::common::Kontor::with_tenant();
    {
        let _server = k.server(&[]);
    }
    let backup = k.data_dir().with_extension("backup.tar");
    k.ok(&["backup", "create", "--out", backup.to_str().unwrap()]);
    rustix::process::umask(old);
    let mut files = vec![backup];
    let mut dirs = vec![k.data_dir()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p.clone());
            }
            files.push(p);
        }
    }
    assert!(files.len() > 3, "{files:?}");
    for f in files {
        let mode = std::fs::metadata(&f).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{} is {:o}", f.display(), mode & 0o777);
    }
}

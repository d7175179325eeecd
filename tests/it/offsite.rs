//! Off-site copies against real servers started here (an S3-compatible store and OpenSSH's
//! SFTP): every copy read back and checked, listed, rotated by the local keep rules; a
//! tampered copy refused with the live data untouched; a wrong host key refused; an
//! unreachable remote retried with backoff, shown in `/healthz` and `doctor`, and alerted.

use crate::chat::setup;
use crate::common::{Browser, Kontor, checksums, wait_until};
use crate::offsite_servers::{S3Server, Sshd, free_port};
use crate::smtp::{SmtpOptions, SmtpServer};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// Writes kontor.toml: `[backup]` lines, then the `[[offsite]]` entries.
pub fn configure(k: &Kontor, backup: &str, entries: &str) {
    std::fs::write(k.config_file(), format!("[backup]\n{backup}\n{entries}")).unwrap();
}

/// The configuration as the server reads it.
fn config(k: &Kontor) -> kontor::config::Config {
    kontor::config::Config::load_from(
        &kontor::config::Overrides {
            config: Some(k.config_file()),
            data_dir: Some(k.data_dir()),
            ..Default::default()
        },
        &Default::default(),
    )
    .unwrap()
}

/// The archive names `backup list --remote` shows.
fn remote_names(k: &Kontor, remote: &str) -> Vec<String> {
    let v = k.json(&["backup", "list", "--remote", remote]);
    let mut names: Vec<String> = v["archives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

fn doctor_check(k: &Kontor, what: &str) -> Value {
    let out = k.run(&["doctor", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["what"] == what)
        .cloned()
        .unwrap_or_else(|| panic!("no check {what:?} in {v}"))
}

/// The scheduler's work on four days (Friday to Monday, 2026-11-27 to 30): each day's
/// archive written locally, then the remote brought up to date as the scheduler does, with
/// keep_daily = 2 and keep_weekly = 1 on both sides; then an operator's push of a manual
/// archive, and a restore from the remote.
fn copies_are_read_back_listed_and_rotated(k: &Kontor, remote: &str) {
    use time::macros::datetime;
    let cfg = config(k);
    let store = kontor::store::Store::open(&k.data_dir()).unwrap();
    let key = kontor::store::backup::backup_key(&k.data_dir().join("backup.key"), true).unwrap();
    let dir = cfg.backup_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let start = datetime!(2026-11-27 04:00 UTC);
    for day in 0..4 {
        let now = start + time::Duration::days(day);
        let written = kontor::schedule::tick(&store, &key, &cfg.backup, &dir, now).unwrap();
        assert!(!written.is_empty(), "day {day}");
        let synced = kontor::store::backup::offsite::sync(
            &cfg.offsite[0],
            &key,
            &dir,
            (cfg.backup.keep_daily, cfg.backup.keep_weekly),
            &mut |_| {},
        )
        .unwrap();
        assert!(!synced.copied.is_empty(), "day {day}: {synced:?}");
    }
    drop(store);
    assert_eq!(
        remote_names(k, remote),
        [
            "kontor-daily-2026-11-29.tar",
            "kontor-daily-2026-11-30.tar",
            "kontor-weekly-2026-W48.tar"
        ]
    );
    // The operator's push: the newest archive in the backup directory, read back there.
    let created = k.json(&["backup", "create"]);
    let file = PathBuf::from(created["file"].as_str().unwrap());
    let name = file.file_name().unwrap().to_str().unwrap().to_string();
    let pushed = k.json(&["backup", "push", "--remote", remote]);
    assert_eq!(pushed["ok"], true, "{pushed}");
    assert_eq!(pushed["remotes"][0]["archive"], name.as_str());
    assert_eq!(
        pushed["remotes"][0]["sha256"].as_str().unwrap().len(),
        64,
        "{pushed}"
    );
    // Archives made by hand are never rotated away, there as here.
    assert!(remote_names(k, remote).contains(&name));
    assert_eq!(remote_names(k, remote).len(), 4);
    let check = doctor_check(k, &format!("off-site copy {remote}"));
    assert_eq!(check["ok"], true, "{check}");
    assert!(check["detail"].as_str().unwrap().contains(&name), "{check}");
    // And back: the newest archive there restores (fetched and checked first).
    let out = k.run(&["backup", "restore", "--from", remote, "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("matches its SHA-256"), "{said}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("acme: restored"));
}

#[test]
fn offsite_s3_copies_are_read_back_listed_and_rotated() {
    let s3 = S3Server::start(None);
    s3.create_bucket("kontor-backups");
    let (k, _, _) = setup();
    let entry = s3.entry(
        "store",
        "kontor-backups",
        "server-1/",
        &k.dir.path().join("s3-secret"),
    );
    configure(&k, "keep_daily = 2\nkeep_weekly = 1", &entry);
    copies_are_read_back_listed_and_rotated(&k, "store");
    // Only our prefix is ours: another server's archives in the same bucket stay apart.
    let other = ureq::get(&format!("{}/kontor-backups?list-type=2", s3.endpoint()))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert!(
        other.contains("server-1/kontor-weekly-2026-W48.tar.sha256"),
        "{other}"
    );
}

#[test]
fn offsite_sftp_copies_are_read_back_listed_and_rotated() {
    let sshd = Sshd::start();
    let (k, _, _) = setup();
    configure(&k, "keep_daily = 2\nkeep_weekly = 1", &sshd.entry("dr"));
    copies_are_read_back_listed_and_rotated(&k, "dr");
    // Each archive lies there with its checksum, in sha256sum's format; nothing half-written.
    let mut there: Vec<String> = std::fs::read_dir(sshd.remote_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    there.sort();
    assert_eq!(there.len(), 8, "{there:?}\n{}", sshd.log());
    assert!(there.iter().all(|n| !n.starts_with('.')), "{there:?}");
    let sums = std::fs::read_to_string(sshd.remote_dir().join("kontor-weekly-2026-W48.tar.sha256"))
        .unwrap();
    let bytes = std::fs::read(sshd.remote_dir().join("kontor-weekly-2026-W48.tar")).unwrap();
    let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(sums, format!("{hex}  kontor-weekly-2026-W48.tar\n"));
}

/// Every live file but the archives, by checksum.
fn live(k: &Kontor) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut c = checksums(&k.data_dir());
    c.retain(|p, _| !p.starts_with("backups") && !p.starts_with("offsite-status.json"));
    c
}

/// A restore from `remote` fails saying `says`, and no live file changed.
fn refused(k: &Kontor, remote: &str, says: &str) {
    let before = live(k);
    let err = k.fails(&["backup", "restore", "--from", remote, "--yes"]);
    assert!(err.contains(says), "{err} should say {says:?}");
    assert!(err.contains("nothing was replaced"), "{err}");
    assert_eq!(before, live(k), "a refused restore changed live files");
    // Nothing is left of the download either.
    let left: Vec<_> = std::fs::read_dir(k.data_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".kontor-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

fn flip(bytes: &mut [u8]) {
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
}

fn sha256_line(bytes: &[u8], name: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}  {name}\n")
}

#[test]
fn offsite_a_tampered_remote_copy_is_refused_and_nothing_is_replaced() {
    let sshd = Sshd::start();
    let s3 = S3Server::start(None);
    s3.create_bucket("kontor-backups");
    let (k, _, _) = setup();
    let entries = format!(
        "{}{}",
        sshd.entry("dr"),
        s3.entry(
            "store",
            "kontor-backups",
            "",
            &k.dir.path().join("s3-secret")
        )
    );
    configure(&k, "", &entries);
    k.ok(&["backup", "create"]);
    assert_eq!(k.json(&["backup", "push"])["ok"], true);
    let name = remote_names(&k, "dr").remove(0);

    // SFTP: one bit flipped in the copy there; then its checksum file made to match.
    let copy = sshd.remote_dir().join(&name);
    let mut bytes = std::fs::read(&copy).unwrap();
    flip(&mut bytes);
    std::fs::write(&copy, &bytes).unwrap();
    refused(&k, "dr", "does not match its SHA-256 checksum file");
    std::fs::write(
        sshd.remote_dir().join(format!("{name}.sha256")),
        sha256_line(&bytes, &name),
    )
    .unwrap();
    refused(&k, "dr", "wrong backup key, or the file was altered");
    // Cut short: the listed size and the seal both tell.
    std::fs::write(&copy, &bytes[..bytes.len() / 2]).unwrap();
    refused(&k, "dr", "refused");

    // S3: the object replaced by an altered one, then its checksum file too (by someone
    // holding the store's credentials).
    let bucket = s3::Bucket::new(
        "kontor-backups",
        s3::Region::Custom {
            region: "eu-central-1".into(),
            endpoint: s3.endpoint(),
        },
        s3::creds::Credentials::new(
            Some("test-access-key"),
            Some("test-secret-key"),
            None,
            None,
            None,
        )
        .unwrap(),
    )
    .unwrap()
    .with_path_style();
    let put = |key: &str, body: &[u8]| {
        bucket.put_object(key, body).unwrap();
    };
    let mut bytes = bucket.get_object(&name).unwrap().to_vec();
    flip(&mut bytes);
    put(&name, &bytes);
    refused(&k, "store", "does not match its SHA-256 checksum file");
    put(
        &format!("{name}.sha256"),
        sha256_line(&bytes, &name).as_bytes(),
    );
    refused(&k, "store", "wrong backup key, or the file was altered");
    // A name that is not there, and one that is no archive name, are clear errors.
    let err = k.fails(&[
        "backup",
        "restore",
        "--from",
        "store",
        "kontor-nope.tar",
        "--yes",
    ]);
    assert!(err.contains("not found"), "{err}");
    let err = k.fails(&[
        "backup",
        "restore",
        "--from",
        "store",
        "../etc/passwd",
        "--yes",
    ]);
    assert!(err.contains("not an archive name"), "{err}");
    let err = k.fails(&["backup", "restore", "--from", "elsewhere", "--yes"]);
    assert!(err.contains("no off-site remote \"elsewhere\""), "{err}");
}

#[test]
fn offsite_a_wrong_host_key_is_refused_and_nothing_is_sent() {
    let sshd = Sshd::start();
    let (k, _, _) = setup();
    k.ok(&["backup", "create"]);
    let stranger = k.dir.path().join("stranger");
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&stranger)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stranger_key = std::fs::read_to_string(stranger.with_extension("pub")).unwrap();
    let empty = |d: &Path| std::fs::read_dir(d).unwrap().next().is_none();

    // A pinned key that is not the server's.
    configure(&k, "", &sshd.entry_with_key("dr", stranger_key.trim()));
    let out = k.run(&["backup", "push", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false, "{v}");
    let err = v["remotes"][0]["error"].as_str().unwrap();
    assert!(err.contains("does NOT match the one configured"), "{err}");
    assert!(empty(&sshd.remote_dir()));
    let err = k.fails(&["backup", "list", "--remote", "dr"]);
    assert!(err.contains("does NOT match"), "{err}");

    // A known_hosts file that knows another key for this host and port.
    let known = k.dir.path().join("known_hosts");
    let entry = |key: &str| format!("[127.0.0.1]:{} {}\n", sshd.port, key.trim());
    std::fs::write(&known, entry(&stranger_key)).unwrap();
    let with_file = sshd
        .entry("dr")
        .lines()
        .map(|l| {
            if l.starts_with("host_key") {
                format!("known_hosts = \"{}\"", known.display())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    configure(&k, "", &with_file);
    let err = k.fails(&["backup", "list", "--remote", "dr"]);
    assert!(err.contains("does NOT match"), "{err}");
    // A known_hosts file that does not name this host at all.
    std::fs::write(&known, format!("other.example {}", sshd.host_key())).unwrap();
    let err = k.fails(&["backup", "list", "--remote", "dr"]);
    assert!(err.contains("not the one configured"), "{err}");
    assert!(empty(&sshd.remote_dir()));
    // With the right line the same file works.
    std::fs::write(&known, entry(&sshd.host_key())).unwrap();
    assert_eq!(k.json(&["backup", "push"])["ok"], true);
    assert!(!empty(&sshd.remote_dir()));
    // No host key at all is a configuration error, not a first-use trust.
    let no_key: String = sshd
        .entry("dr")
        .lines()
        .filter(|l| !l.starts_with("host_key"))
        .map(|l| format!("{l}\n"))
        .collect();
    configure(&k, "", &no_key);
    let err = k.fails(&["check-config"]);
    assert!(err.contains("must be known in advance"), "{err}");
}

#[test]
fn offsite_an_unreachable_remote_is_retried_reported_and_alerted() {
    let smtp = SmtpServer::start(SmtpOptions::default());
    let (k, _, _) = setup();
    let port = free_port(); // nothing listens there yet
    let secret = k.dir.path().join("s3-secret");
    std::fs::write(&secret, "test-secret-key\n").unwrap();
    std::fs::write(
        k.config_file(),
        format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n\
             from = \"kontor@shop.example\"\noperator_address = \"ops@shop.example\"\n\
             [backup]\ndaily_at = \"00:00\"\n\
             [[offsite]]\nname = \"store\"\nkind = \"s3\"\nendpoint = \"http://127.0.0.1:{port}\"\n\
             bucket = \"kontor-backups\"\naccess_key = \"test-access-key\"\n\
             secret_key_file = \"{}\"\ntimeout_secs = 5\n",
            smtp.port(),
            secret.display()
        ),
    )
    .unwrap();
    let server = k.server(&[]);
    let health = || Browser::new(&server.base).get("/healthz").json();
    let failures = || {
        health()["backup"]["offsite"][0]["failures"]
            .as_u64()
            .unwrap_or(0)
    };
    wait_until("a first failed attempt", WAIT, || failures() >= 1);
    let h = health();
    let remote = &h["backup"]["offsite"][0];
    assert_eq!(remote["name"], "store");
    assert_eq!(remote["ok"], false, "{h}");
    assert!(remote["last_good"].is_null(), "{h}");
    assert!(
        remote["last_error"].as_str().unwrap().contains("store"),
        "{h}"
    );
    assert!(remote["next_try"].as_str().unwrap().ends_with('Z'), "{h}");
    assert!(
        !h.to_string().contains(&port.to_string()),
        "the public page names no endpoint: {h}"
    );
    let check = doctor_check(&k, "off-site copy store");
    assert_eq!(check["ok"], false);
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .contains("no copy to s3://kontor-backups/"),
        "{check}"
    );
    assert!(!k.run(&["doctor"]).status.success());
    // Retried after a minute, then after two more: the third failure in a row is mailed.
    assert_eq!(failures(), 1, "not retried before its time");
    k.advance_clock(Duration::from_secs(61));
    wait_until("a second attempt", WAIT, || failures() >= 2);
    k.advance_clock(Duration::from_secs(121));
    wait_until("a third attempt", WAIT, || failures() >= 3);
    let got = smtp.wait_for(1, WAIT);
    assert_eq!(got[0].rcpt_tos, ["ops@shop.example"]);
    let text = String::from_utf8_lossy(&got[0].data).to_string();
    assert!(
        text.contains("Copying the backups off-site keeps failing"),
        "{text}"
    );
    assert!(!text.contains("test-secret-key"), "{text}");

    // The store comes up: the next retry copies the day's archive and reads it back.
    let s3 = S3Server::start(Some(port));
    s3.create_bucket("kontor-backups");
    k.advance_clock(Duration::from_secs(241));
    wait_until("the copy after the store came back", WAIT, || {
        health()["backup"]["offsite"][0]["ok"] == true
    });
    let h = health();
    assert_eq!(h["backup"]["offsite"][0]["failures"], 0, "{h}");
    assert!(h["backup"]["offsite"][0]["last_error"].is_null(), "{h}");
    // The day's scheduled archive: a weekly one on Sundays.
    let archive = h["backup"]["offsite"][0]["last_archive"].as_str().unwrap();
    assert!(
        archive.starts_with("kontor-daily-") || archive.starts_with("kontor-weekly-"),
        "{h}"
    );
    assert_eq!(doctor_check(&k, "off-site copy store")["ok"], true);
    assert!(server.log().contains("off-site copy failed"));
    assert!(!server.log().contains("test-secret-key"));
}

#[test]
fn offsite_credentials_come_from_files_and_are_never_printed() {
    let s3 = S3Server::start(None);
    s3.create_bucket("kontor-backups");
    let (k, _, _) = setup();
    k.ok(&["backup", "create"]);
    let secret = k.dir.path().join("s3-secret");
    let entry = s3.entry("store", "kontor-backups", "", &secret);
    // The secret itself in kontor.toml is no key kontor knows.
    configure(
        &k,
        "",
        &format!("{entry}secret_key = \"test-secret-key\"\n"),
    );
    let err = k.fails(&["check-config"]);
    assert!(err.contains("secret_key"), "{err}");
    // From a file: check-config shows where, never what.
    configure(&k, "", &entry);
    let out = k.ok(&["check-config"]);
    assert!(out.contains(&secret.display().to_string()), "{out}");
    let json = k.ok(&["check-config", "--json"]);
    for shown in [&out, &json] {
        assert!(!shown.contains("test-secret-key"), "{shown}");
    }
    // Neither a file nor a systemd credential: a clear refusal, at check-config and at use.
    let without: String = entry
        .lines()
        .filter(|l| !l.starts_with("secret_key_file"))
        .map(|l| format!("{l}\n"))
        .collect();
    configure(&k, "", &without);
    let err = k.fails(&["check-config"]);
    assert!(err.contains("offsite-store-secret-key"), "{err}");
    assert!(err.contains("never goes into kontor.toml"), "{err}");
    let err = k.fails(&["backup", "list", "--remote", "store"]);
    assert!(err.contains("offsite-store-secret-key"), "{err}");
    // As a systemd credential ($CREDENTIALS_DIRECTORY/offsite-NAME-secret-key).
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(
        creds.path().join("offsite-store-secret-key"),
        "test-secret-key\n",
    )
    .unwrap();
    let out = k
        .command(&["backup", "push", "--json"])
        .env("CREDENTIALS_DIRECTORY", creds.path())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["ok"],
        true,
        "{v} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("test-secret-key"), "{all}");
}

#[test]
fn offsite_a_large_archive_goes_up_in_parts_and_reads_back_whole_on_both_kinds() {
    let s3 = S3Server::start(None);
    s3.create_bucket("kontor-backups");
    let (k, _, _) = setup();
    // 20 MiB of files that do not compress or repeat: the archive is larger than two of the
    // store's 8 MiB upload parts.
    {
        let store = kontor::store::Store::open(&k.data_dir()).unwrap();
        let (_, db) = store.tenant_db_by_slug("acme").unwrap();
        db.with(|c| {
            c.execute_batch(
                "INSERT INTO conversations (id, site_key, status, visitor_token_hash, consent_at,
                     consent_version, created_at) VALUES (1, 's', 'closed', randomblob(32), 0, 'v1', 0);
                 INSERT INTO files (conversation_id, name, mime, size, data, created_at)
                   VALUES (1, 'a.pdf', 'application/pdf', 10485760, randomblob(10485760), 0),
                          (1, 'b.pdf', 'application/pdf', 10485760, randomblob(10485760), 0);",
            )?;
            Ok(())
        })
        .unwrap();
    }
    let sshd = Sshd::start();
    let entries = format!(
        "{}{}",
        s3.entry(
            "store",
            "kontor-backups",
            "",
            &k.dir.path().join("s3-secret")
        ),
        sshd.entry("dr")
    );
    configure(&k, "", &entries);
    let created = k.json(&["backup", "create"]);
    let bytes = created["bytes"].as_u64().unwrap();
    assert!(bytes > 2 * 8 * 1024 * 1024, "{bytes}");
    for remote in ["store", "dr"] {
        let started = std::time::Instant::now();
        let pushed = k.json(&["backup", "push", "--remote", remote]);
        let took = started.elapsed();
        assert_eq!(pushed["ok"], true, "{pushed}");
        assert_eq!(pushed["remotes"][0]["bytes"], bytes);
        eprintln!(
            "{remote}: pushed {bytes} bytes (checked here, uploaded, read back, checked) in {:.2} s",
            took.as_secs_f64()
        );
    }
    let listed = k.json(&["backup", "list", "--remote", "store"]);
    assert_eq!(listed["archives"][0]["bytes"], bytes);
    let out = k.run(&["backup", "restore", "--from", "store", "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

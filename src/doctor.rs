//! `kontor doctor`: checks what an operator would otherwise find out too late, says how to fix
//! each problem, and fails when there is one.

use crate::config::Config;
use crate::store::{KeySource, Store};
use serde::Serialize;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Free space below which the data directory's disk is a problem.
const MIN_FREE_BYTES: u64 = 1024 * 1024 * 1024;
/// A backup older than this is a problem.
const MAX_BACKUP_AGE_SECS: i64 = 2 * 86_400;
/// A certificate expiring within this is a problem.
const MIN_CERT_DAYS: i64 = 14;

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub what: String,
    /// Whether it is fine.
    pub ok: bool,
    /// What was found, and for problems how to fix it.
    pub detail: String,
}

fn check(what: impl Into<String>, ok: bool, detail: impl Into<String>) -> Check {
    Check {
        what: what.into(),
        ok,
        detail: detail.into(),
    }
}

fn mode(path: &Path) -> Option<u32> {
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

/// Runs every check; ages (of queued mails, of off-site copies) count up to `now`.
pub fn run(config: &Config, now: i64) -> Vec<Check> {
    let mut out = Vec::new();
    let dir = &config.data_dir;
    match mode(dir) {
        None => {
            out.push(check(
                "data directory",
                false,
                format!("{} does not exist; run `kontor init`", dir.display()),
            ));
            return out;
        }
        Some(m) => out.push(check(
            "data directory permissions",
            m & 0o077 == 0,
            if m & 0o077 == 0 {
                format!("{} is {m:o}", dir.display())
            } else {
                format!(
                    "{} is {m:o}; run `chmod 700 {}`",
                    dir.display(),
                    dir.display()
                )
            },
        )),
    }
    let master = KeySource::locate(dir);
    for (name, path) in [
        ("master key", master.path().to_path_buf()),
        (
            "backup key",
            crate::store::backup::backup_key_path(dir, None),
        ),
    ] {
        match (mode(&path), std::fs::metadata(&path).map(|m| m.len())) {
            (Some(m), Ok(32)) => out.push(check(
                format!("{name} file"),
                m & 0o077 == 0,
                if m & 0o077 == 0 {
                    format!("{} is {m:o}, 32 bytes", path.display())
                } else {
                    format!("{} is readable by others ({m:o}); run `chmod 600 {}`", path.display(), path.display())
                },
            )),
            (Some(_), _) => out.push(check(
                format!("{name} file"),
                false,
                format!("{} does not hold 32 bytes; restore it from your offline copy", path.display()),
            )),
            (None, _) if name == "backup key" => out.push(check(
                "backup key file",
                false,
                format!("{} does not exist; run `kontor backup create` (it makes one) and keep a copy offline", path.display()),
            )),
            (None, _) => out.push(check(
                "master key file",
                false,
                format!("{} is missing; restore it from your offline copy", path.display()),
            )),
        }
    }
    match Store::open(dir) {
        Err(e) => out.push(check("system database", false, e.to_string())),
        Ok(store) => {
            out.push(check("system database", true, "opens with the master key"));
            // A tenant drained for a move is not this host's to check; it is listed so the
            // move's last step (deleting it here) is not forgotten.
            for t in store.list_tenants().unwrap_or_default() {
                if store.is_drained(&t.uuid) {
                    out.push(check(
                        format!("tenant {}", t.slug),
                        true,
                        format!(
                            "drained for a move to another host: once the new host serves it, \
                             kontor tenant delete {0} --yes; to abort, kontor tenant move-cancel {0}",
                            t.slug
                        ),
                    ));
                }
            }
            match store.served_tenants() {
                Err(e) => out.push(check("tenants", false, e.to_string())),
                Ok(tenants) => {
                    for t in &tenants {
                        out.push(tenant_check(&store, &t.uuid, &t.slug));
                    }
                    if config.smtp.is_some() {
                        out.push(outbox_check(&store, &tenants, now));
                    }
                }
            }
        }
    }
    if let Some(smtp) = &config.smtp {
        out.push(smtp_check(smtp));
    }
    out.push(disk_check(dir));
    out.push(backup_check(&config.backup_dir(), config.backup.enabled));
    out.extend(offsite_checks(config, now));
    if let Some(tls) = &config.tls {
        out.push(cert_check(&tls.cert));
    }
    out
}

/// Opens a tenant and runs SQLCipher's and SQLite's integrity checks (also the daily job's).
pub fn tenant_check(store: &Store, uuid: &str, slug: &str) -> Check {
    let what = format!("tenant {slug}");
    let result = store.tenant_db(uuid).and_then(|db| {
        db.with(|c| {
            let cipher: Vec<String> = c
                .prepare("PRAGMA cipher_integrity_check")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let quick: String = c.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
            Ok((cipher, quick))
        })
    });
    match result {
        Ok((cipher, quick)) if cipher.is_empty() && quick == "ok" => check(
            what,
            true,
            "opens; cipher_integrity_check and quick_check pass",
        ),
        Ok((cipher, quick)) => check(
            what,
            false,
            format!(
                "damaged ({} bad pages, quick_check: {quick}); restore it: `kontor backup restore ARCHIVE --tenant {slug} --yes`",
                cipher.len()
            ),
        ),
        Err(e) => check(
            what,
            false,
            format!("{e}; restore it: `kontor backup restore ARCHIVE --tenant {slug} --yes`"),
        ),
    }
}

/// Mails waiting longer than this make the outbox check fail.
const OUTBOX_STUCK_SECS: i64 = 3600;

/// The outboxes' backlog: how many mails wait, since when, and how many failed.
fn outbox_check(store: &Store, tenants: &[crate::store::TenantRecord], now: i64) -> Check {
    use crate::store::outbox;
    let mut sum = outbox::Backlog::default();
    match store.system(|c| outbox::backlog(c)) {
        Ok(b) => sum.add(b),
        Err(e) => return check("mail outbox", false, e.to_string()),
    }
    for t in tenants {
        match store
            .tenant_db(&t.uuid)
            .and_then(|db| db.read(|c| outbox::backlog(c)))
        {
            Ok(b) => sum.add(b),
            Err(e) => return check("mail outbox", false, format!("tenant {}: {e}", t.slug)),
        }
    }
    let age = sum.oldest_queued_at.map(|t| (now - t).max(0));
    let detail = format!(
        "{} queued{}, {} failed for good",
        sum.queued,
        age.map(|a| format!(" (the oldest for {} min)", a / 60))
            .unwrap_or_default(),
        sum.failed
    );
    match age {
        Some(a) if a > OUTBOX_STUCK_SECS => check(
            "mail outbox",
            false,
            format!(
                "{detail}; the server's last answer is in the dashboard (Settings › General › Email) and in the log"
            ),
        ),
        _ => check("mail outbox", true, detail),
    }
}

/// Connects to the SMTP server, starts TLS (verifying the certificate) and signs in.
fn smtp_check(smtp: &crate::config::SmtpConfig) -> Check {
    let what = format!("mail server {}:{}", smtp.host, smtp.port);
    match crate::domain::email::smtp::Server::new(smtp).and_then(|s| s.check()) {
        Ok(()) => check(
            what,
            true,
            match smtp.security {
                crate::config::SmtpSecurity::None => "answers (no TLS: loopback relay)",
                _ => "answers; TLS verified",
            }
            .to_string()
                + if smtp.user.is_some() {
                    "; sign-in accepted"
                } else {
                    ""
                },
        ),
        Err(e) => check(what, false, e.to_string()),
    }
}

/// Free space on the data directory's disk (also the daily job's).
pub fn disk_check(dir: &Path) -> Check {
    match rustix::fs::statvfs(dir) {
        Ok(s) => {
            let free = s.f_bavail.saturating_mul(s.f_frsize);
            check(
                "free disk space",
                free >= MIN_FREE_BYTES,
                if free >= MIN_FREE_BYTES {
                    format!("{} MB free", free / 1_000_000)
                } else {
                    format!(
                        "only {} MB free on the data directory's disk; free space or grow the disk",
                        free / 1_000_000
                    )
                },
            )
        }
        Err(e) => check("free disk space", false, format!("cannot tell: {e}")),
    }
}

fn backup_check(dir: &Path, scheduled: bool) -> Check {
    let newest = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "tar"))
        .filter_map(|e| e.metadata().ok().map(|m| m.mtime()))
        .max();
    let now = crate::clock::now();
    match newest {
        Some(t) if now - t <= MAX_BACKUP_AGE_SECS => check(
            "last backup",
            true,
            format!("{} in {}", crate::clock::rfc3339(t), dir.display()),
        ),
        Some(t) => check(
            "last backup",
            false,
            format!(
                "the newest archive in {} is from {}; check the server log for backup errors{}",
                dir.display(),
                crate::clock::rfc3339(t),
                if scheduled {
                    ""
                } else {
                    " (scheduled backups are off: backup.enabled)"
                }
            ),
        ),
        None => check(
            "last backup",
            false,
            format!(
                "no archive in {}; run `kontor backup create`",
                dir.display()
            ),
        ),
    }
}

/// Per `[[offsite]]` remote: its last good copy must be recent enough (as the status file
/// the scheduler and `backup push` keep says; no connection is made here).
fn offsite_checks(config: &Config, now: i64) -> Vec<Check> {
    use crate::store::backup::offsite::status;
    let all = status::load(&config.data_dir);
    config
        .offsite
        .iter()
        .map(|r| {
            let s = all.get(&r.name).cloned().unwrap_or_default();
            let what = format!("off-site copy {}", r.name);
            let failing = s
                .last_error
                .as_ref()
                .map(|e| format!("; {} attempts failed in a row, the last said: {e}", s.failures))
                .unwrap_or_default();
            match s.last_good_at {
                Some(t) if status::is_fresh(&s, now) => check(
                    what,
                    true,
                    format!(
                        "{} copied to {} at {}{failing}",
                        s.last_archive.as_deref().unwrap_or("an archive"),
                        r.location(),
                        crate::clock::rfc3339(t)
                    ),
                ),
                Some(t) => check(
                    what,
                    false,
                    format!(
                        "the last good copy to {} is from {}, older than the schedule allows{failing}; \
                         check the server log, then `kontor backup push --remote {}`",
                        r.location(),
                        crate::clock::rfc3339(t),
                        r.name
                    ),
                ),
                None => check(
                    what,
                    false,
                    format!(
                        "no copy to {} has succeeded yet{failing}; run `kontor backup push --remote {}`",
                        r.location(),
                        r.name
                    ),
                ),
            }
        })
        .collect()
}

fn cert_check(path: &Path) -> Check {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let first = CertificateDer::pem_file_iter(path)
        .ok()
        .and_then(|mut it| it.next())
        .and_then(|r| r.ok());
    let Some(cert) = first else {
        return check(
            "TLS certificate",
            false,
            format!("cannot read {}", path.display()),
        );
    };
    match not_after(cert.as_ref()) {
        Some(t) => {
            let days = (t - crate::clock::now()) / 86_400;
            check(
                "TLS certificate",
                days >= MIN_CERT_DAYS,
                if days >= MIN_CERT_DAYS {
                    format!("valid until {} ({days} days)", crate::clock::rfc3339(t))
                } else {
                    format!(
                        "expires {} ({days} days); renew it and restart kontor",
                        crate::clock::rfc3339(t)
                    )
                },
            )
        }
        None => check(
            "TLS certificate",
            false,
            format!("cannot read the expiry of {}", path.display()),
        ),
    }
}

/// The `notAfter` of an X.509 certificate (DER), as unix seconds. Walks just enough DER:
/// Certificate → tbsCertificate → [version] serial signature issuer validity.
fn not_after(der: &[u8]) -> Option<i64> {
    fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let tag = *b.first()?;
        let first = *b.get(1)? as usize;
        let (len, head) = if first < 0x80 {
            (first, 2)
        } else {
            let n = first & 0x7f;
            if n == 0 || n > 4 {
                return None;
            }
            let mut len = 0usize;
            for i in 0..n {
                len = (len << 8) | *b.get(2 + i)? as usize;
            }
            (len, 2 + n)
        };
        let body = b.get(head..head + len)?;
        Some((tag, body, &b[head + len..]))
    }
    let (_, cert, _) = tlv(der)?;
    let (_, tbs, _) = tlv(cert)?;
    let mut rest = tbs;
    let (tag, _, r) = tlv(rest)?;
    if tag == 0xa0 {
        rest = r; // explicit version
    }
    for _ in 0..3 {
        rest = tlv(rest)?.2; // serial, signature, issuer
    }
    let (_, validity, _) = tlv(rest)?;
    let (_, _, after) = tlv(validity)?;
    let (tag, time, _) = tlv(after)?;
    let s = std::str::from_utf8(time).ok()?;
    let (year, rest) = match tag {
        0x17 => {
            let y: i32 = s.get(0..2)?.parse().ok()?;
            (if y < 50 { 2000 + y } else { 1900 + y }, s.get(2..)?)
        }
        0x18 => (s.get(0..4)?.parse().ok()?, s.get(4..)?),
        _ => return None,
    };
    let n = |r: std::ops::Range<usize>| rest.get(r).and_then(|v| v.parse::<u8>().ok());
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(n(0..2)?).ok()?, n(2..4)?)
            .ok()?;
    let t = time::Time::from_hms(n(4..6)?, n(6..8)?, n(8..10)?).ok()?;
    Some(
        time::PrimitiveDateTime::new(date, t)
            .assume_utc()
            .unix_timestamp(),
    )
}

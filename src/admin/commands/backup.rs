//! `kontor backup …`: encrypted archives; create and restore go through the server when one
//! runs, verify and list only read files.

use super::offsite;
use super::restoring::{open_key, restore_and_replay};
use crate::admin::{Ctx, Failure, Request, Response, absolute, confirmed, tenant_audit};
use crate::config::Config;
use crate::error::{Code, Result};
use crate::store::backup;
use crate::store::system as sstore;
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `kontor backup …`
#[derive(Debug, Subcommand)]
pub enum BackupCmd {
    /// Write an encrypted archive of every tenant (or one) while the server keeps serving
    Create {
        /// Only this tenant
        #[arg(long)]
        tenant: Option<String>,
        /// Directory for the archive [default: DATA_DIR/backups]
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Backup key file [default: $CREDENTIALS_DIRECTORY/backup.key, else DATA_DIR/backup.key, created if missing]
        #[arg(long, value_name = "FILE")]
        backup_key: Option<PathBuf>,
    },
    /// Check an archive completely: key, checksums, and every database's integrity
    Verify {
        /// The archive
        file: PathBuf,
        /// Backup key file
        #[arg(long, value_name = "FILE")]
        backup_key: Option<PathBuf>,
    },
    /// Replace live tenants with their state in an archive (checked first; atomic per tenant)
    Restore {
        /// The archive; with --from, its name on the remote [default: the newest there]
        file: Option<PathBuf>,
        /// Fetch the archive from this off-site remote ([[offsite]] name) and check it first
        #[arg(long, value_name = "NAME")]
        from: Option<String>,
        /// Only this tenant
        #[arg(long)]
        tenant: Option<String>,
        /// Backup key file
        #[arg(long, value_name = "FILE")]
        backup_key: Option<PathBuf>,
        /// Confirm that newer data of the restored tenants is replaced
        #[arg(long)]
        yes: bool,
    },
    /// List the archives in a directory with time, size and tenants (or on an off-site remote)
    List {
        /// Directory [default: DATA_DIR/backups]
        #[arg(long, value_name = "DIR", conflicts_with = "remote")]
        dir: Option<PathBuf>,
        /// List the archives on this off-site remote ([[offsite]] name) instead
        #[arg(long, value_name = "NAME")]
        remote: Option<String>,
        /// Backup key file
        #[arg(long, value_name = "FILE")]
        backup_key: Option<PathBuf>,
    },
    /// Copy an archive to the off-site remotes, read it back there and check it, rotate there
    Push {
        /// The archive [default: the newest in DATA_DIR/backups]
        file: Option<PathBuf>,
        /// Only this remote ([[offsite]] name)
        #[arg(long, value_name = "NAME")]
        remote: Option<String>,
        /// Backup key file
        #[arg(long, value_name = "FILE")]
        backup_key: Option<PathBuf>,
    },
}

/// The backup requests on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd")]
pub enum BackupRequest {
    /// `backup create`
    #[serde(rename = "backup_create")]
    Create {
        /// Only this tenant.
        #[serde(default)]
        tenant: Option<String>,
        /// Directory for the archive (absolute).
        out: PathBuf,
        /// Backup key file (absolute), if not the default.
        #[serde(default)]
        backup_key: Option<PathBuf>,
    },
    /// `backup restore`
    #[serde(rename = "backup_restore")]
    Restore {
        /// The archive (absolute).
        file: PathBuf,
        /// Only this tenant.
        #[serde(default)]
        tenant: Option<String>,
        /// Backup key file (absolute), if not the default.
        #[serde(default)]
        backup_key: Option<PathBuf>,
    },
}

impl BackupCmd {
    /// The request this command sends; `None` for verify and list, which run here
    /// ([`BackupCmd::run_local`]).
    pub fn request(&self, config: &Config) -> std::result::Result<Option<Request>, Failure> {
        Ok(Some(Request::Backup(match self {
            BackupCmd::Create {
                tenant,
                out,
                backup_key,
            } => BackupRequest::Create {
                tenant: tenant.clone(),
                out: absolute(out.as_deref().unwrap_or(&config.data_dir.join("backups"))),
                backup_key: backup_key.as_deref().map(absolute),
            },
            BackupCmd::Restore {
                file,
                from,
                tenant,
                backup_key,
                yes,
            } => {
                confirmed(
                    *yes,
                    "restore",
                    "the restored tenants' newer data would be replaced",
                )?;
                let backup_key = backup_key.as_deref().map(absolute);
                if let Some(remote) = from {
                    let archive = file.as_ref().map(|f| f.to_string_lossy().to_string());
                    return offsite::restore_request(
                        config,
                        remote,
                        archive,
                        tenant.clone(),
                        backup_key,
                    )
                    .map(Some);
                }
                let file = file.as_ref().ok_or_else(|| {
                    Failure::new(
                        Code::InvalidInput,
                        "name the archive to restore, or fetch one with --from REMOTE",
                    )
                })?;
                BackupRequest::Restore {
                    file: absolute(file),
                    tenant: tenant.clone(),
                    backup_key,
                }
            }
            BackupCmd::Push {
                file,
                remote,
                backup_key,
            } => {
                return offsite::push_request(
                    config,
                    file.as_deref(),
                    remote.as_deref(),
                    backup_key.as_deref().map(absolute),
                )
                .map(Some);
            }
            BackupCmd::List {
                remote: Some(remote),
                ..
            } => return offsite::list_request(config, remote).map(Some),
            BackupCmd::Verify { .. } | BackupCmd::List { .. } => return Ok(None),
        })))
    }

    /// `backup verify` and `backup list`: read-only, on files, no server needed.
    pub fn run_local(&self, config: &Config, json: bool) -> std::result::Result<(), Failure> {
        match self {
            BackupCmd::Verify { file, backup_key } => {
                let key = open_key(&config.data_dir, backup_key, false)?;
                let work = std::env::temp_dir();
                let checked = backup::check(file, &key, &work)?;
                print_verified(file, &checked.manifest, json);
                Ok(())
            }
            BackupCmd::List {
                dir,
                backup_key,
                remote: None,
            } => {
                let key = open_key(&config.data_dir, backup_key, false)?;
                let dir = dir
                    .clone()
                    .unwrap_or_else(|| config.data_dir.join("backups"));
                let all = backup::list(&dir, &key)?;
                print_archives(&dir, all, json);
                Ok(())
            }
            _ => Err(Failure::new(
                Code::InternalError,
                "not a local backup command",
            )),
        }
    }
}

impl BackupRequest {
    /// Runs it.
    pub fn execute(self, cx: &mut Ctx<'_>) -> Result<Response> {
        let store = cx.store;
        match self {
            BackupRequest::Create {
                tenant,
                out,
                backup_key,
            } => {
                let key = open_key(store.data_dir(), &backup_key, true)?;
                let created = backup::create(
                    store,
                    &key,
                    tenant.as_deref(),
                    &out,
                    cx.clock.now(),
                    cx.progress,
                )?;
                let name = created
                    .file
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy();
                for slug in &created.tenants {
                    tenant_audit(store, slug, "backup.create", &name);
                }
                store.system(|c| {
                    sstore::log_operator(
                        c,
                        "backup.create",
                        &created.file.display().to_string(),
                        "ok",
                    )
                })?;
                Ok(Response::BackupCreated(created))
            }
            BackupRequest::Restore {
                file,
                tenant,
                backup_key,
            } => {
                let key = open_key(store.data_dir(), &backup_key, false)?;
                let checked = backup::check(&file, &key, store.data_dir())?;
                let name = file.file_name().unwrap_or_default().to_string_lossy();
                let tenants = restore_and_replay(cx, &key, &checked, tenant.as_deref(), &name)?;
                Ok(Response::BackupRestored { tenants })
            }
        }
    }
}

/// Prints what `backup verify` found.
fn print_verified(file: &std::path::Path, m: &backup::Manifest, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({"ok": true, "created_at": m.created_at, "kontor_version": m.kontor_version,
                "tenants": m.tenants.iter().map(|t| &t.slug).collect::<Vec<_>>(), "members": m.members.len(),
                "tables": m.tenants.iter().map(|t| (t.slug.clone(), t.tables.clone())).collect::<std::collections::BTreeMap<_, _>>()})
        );
    } else {
        say!("ok: {} verified", file.display());
        say!(
            "written {} by kontor {}",
            crate::clock::rfc3339(m.created_at),
            m.kontor_version
        );
        for t in &m.tenants {
            say!(
                "  tenant {}: keys, checksum, cipher_integrity_check and integrity_check pass",
                t.slug
            );
        }
    }
}

/// Prints what `backup list` found.
fn print_archives(dir: &std::path::Path, all: Vec<backup::Listed>, json: bool) {
    if json {
        println!("{}", serde_json::json!({ "archives": all }));
    } else if all.is_empty() {
        say!("no archives in {}", dir.display());
    } else {
        for a in all {
            let when = a
                .created_at
                .map(crate::clock::rfc3339)
                .unwrap_or_else(|| "(does not open with this key)".into());
            say!(
                "{when}  {:>12} bytes  {}  {}",
                a.bytes,
                a.file.display(),
                a.tenants.join(" ")
            );
        }
    }
}

/// Prints a written backup as text.
pub fn print_created(c: &backup::Created) {
    say!("backup written: {} ({} bytes)", c.file.display(), c.bytes);
    say!("tenants: {}", c.tenants.join(" "));
}

/// Prints a restore as text: per tenant, what its chat log lost.
pub fn print_restored(tenants: &[backup::Restored]) {
    for t in tenants {
        say!("{}: restored; {}", t.slug, restore_loss(t));
    }
}

/// What a restore dropped from a tenant's chat log, in words.
fn restore_loss(t: &backup::Restored) -> String {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    match (t.dropped_entries, t.dropped_chats) {
        (Some(0), _) => "nothing acknowledged after the backup is lost".into(),
        (Some(entries), Some(chats)) => format!(
            "{} in {} acknowledged after this backup was made {} gone (the chats' visitors and agents see the restored log)",
            plural(entries, "chat entry", "chat entries"),
            plural(chats, "chat", "chats"),
            if entries == 1 { "is" } else { "are" }
        ),
        _ => "the replaced chat log could not be read, so it is not known how many chat entries acknowledged after this backup was made are gone (see the log)".into(),
    }
}

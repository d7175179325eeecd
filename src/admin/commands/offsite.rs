//! `kontor backup push`, `backup list --remote NAME` and `backup restore --from NAME`: the
//! off-site copies. They run where the other backup commands run (in the server when one is
//! up: it holds the systemd credentials), each remote named by its `[[offsite]]` entry.

use super::restoring::{open_key, restore_and_replay};
use crate::admin::{Ctx, Failure, Request, Response, tenant_audit};
use crate::config::{Config, OffsiteConfig};
use crate::error::{Code, Error, Result};
use crate::store::backup::{self, offsite};
use crate::store::system as sstore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::PathBuf;

/// The off-site requests on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum OffsiteRequest {
    /// `backup push`
    BackupPush {
        /// The remotes to copy to.
        remotes: Vec<OffsiteConfig>,
        /// The archive (absolute); `None`: the newest in `dir`.
        file: Option<PathBuf>,
        /// The archive directory.
        dir: PathBuf,
        /// Daily and weekly archives kept (rotation there).
        keep: (usize, usize),
        /// Backup key file (absolute), if not the default.
        backup_key: Option<PathBuf>,
    },
    /// `backup list --remote`
    BackupRemoteList {
        /// The remote.
        remote: OffsiteConfig,
    },
    /// `backup restore --from`
    BackupRestoreFrom {
        /// The remote.
        remote: OffsiteConfig,
        /// The archive's name there; `None`: the newest.
        archive: Option<String>,
        /// Only this tenant.
        tenant: Option<String>,
        /// Backup key file (absolute), if not the default.
        backup_key: Option<PathBuf>,
    },
}

/// The remotes a command names (`--remote`), or all of them.
fn chosen(config: &Config, name: Option<&str>) -> std::result::Result<Vec<OffsiteConfig>, Failure> {
    match name {
        Some(n) => Ok(vec![config.remote(n)?.clone()]),
        None if config.offsite.is_empty() => Err(Failure::new(
            Code::InvalidInput,
            "no off-site remote is configured: add an [[offsite]] entry to kontor.toml",
        )),
        None => Ok(config.offsite.clone()),
    }
}

/// `backup push [FILE] [--remote NAME]`.
pub fn push_request(
    config: &Config,
    file: Option<&std::path::Path>,
    remote: Option<&str>,
    backup_key: Option<PathBuf>,
) -> std::result::Result<Request, Failure> {
    Ok(Request::Offsite(OffsiteRequest::BackupPush {
        remotes: chosen(config, remote)?,
        file: file.map(crate::admin::absolute),
        dir: crate::admin::absolute(&config.backup_dir()),
        keep: (config.backup.keep_daily, config.backup.keep_weekly),
        backup_key,
    }))
}

/// `backup list --remote NAME`.
pub fn list_request(config: &Config, remote: &str) -> std::result::Result<Request, Failure> {
    Ok(Request::Offsite(OffsiteRequest::BackupRemoteList {
        remote: config.remote(remote)?.clone(),
    }))
}

/// `backup restore --from NAME [ARCHIVE]`.
pub fn restore_request(
    config: &Config,
    remote: &str,
    archive: Option<String>,
    tenant: Option<String>,
    backup_key: Option<PathBuf>,
) -> std::result::Result<Request, Failure> {
    if let Some(a) = &archive
        && !offsite::is_archive_name(a)
    {
        return Err(Failure::new(
            Code::InvalidInput,
            format!(
                "{a:?} is not an archive name: give a name as `kontor backup list --remote {remote}` shows it"
            ),
        ));
    }
    Ok(Request::Offsite(OffsiteRequest::BackupRestoreFrom {
        remote: config.remote(remote)?.clone(),
        archive,
        tenant,
        backup_key,
    }))
}

impl OffsiteRequest {
    /// Runs it.
    pub fn execute(self, cx: &mut Ctx<'_>) -> Result<Response> {
        match self {
            OffsiteRequest::BackupPush {
                remotes,
                file,
                dir,
                keep,
                backup_key,
            } => push(cx, &remotes, file, &dir, keep, &backup_key),
            OffsiteRequest::BackupRemoteList { remote } => {
                let all = offsite::list(&remote)?;
                let mut lines = Vec::new();
                if all.is_empty() {
                    lines.push(format!(
                        "no archives on {} ({})",
                        remote.name,
                        remote.location()
                    ));
                }
                for f in &all {
                    lines.push(format!(
                        "{}  {:>12} bytes  {}",
                        crate::clock::rfc3339(f.modified),
                        f.bytes,
                        f.name
                    ));
                }
                Ok(Response::Report {
                    value: json!({ "remote": remote.name, "archives": all }),
                    lines,
                    ok: true,
                })
            }
            OffsiteRequest::BackupRestoreFrom {
                remote,
                archive,
                tenant,
                backup_key,
            } => {
                let store = cx.store;
                let key = open_key(store.data_dir(), &backup_key, false)?;
                // Fetched and checked beside the live files, before anything is replaced.
                let fetched = offsite::fetch(
                    &remote,
                    &key,
                    archive.as_deref(),
                    store.data_dir(),
                    cx.progress,
                )?;
                (cx.progress)(&format!(
                    "{}: {} ({} bytes) fetched and checked; restoring",
                    remote.name, fetched.archive, fetched.bytes
                ));
                let object = format!("{}:{}", remote.name, fetched.archive);
                let tenants =
                    restore_and_replay(cx, &key, &fetched.checked, tenant.as_deref(), &object)?;
                Ok(Response::BackupRestored { tenants })
            }
        }
    }
}

/// Copies one archive to each remote, reads it back there and rotates there; every remote is
/// tried, and the command fails if one failed.
fn push(
    cx: &mut Ctx<'_>,
    remotes: &[OffsiteConfig],
    file: Option<PathBuf>,
    dir: &std::path::Path,
    keep: (usize, usize),
    backup_key: &Option<PathBuf>,
) -> Result<Response> {
    let store = cx.store;
    let key = open_key(store.data_dir(), backup_key, false)?;
    let file = match file {
        Some(f) => f,
        None => backup::list(dir, &key)?
            .into_iter()
            .find(|a| a.created_at.is_some())
            .map(|a| a.file)
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "an archive in {}; run `kontor backup create` first",
                    dir.display()
                ))
            })?,
    };
    let work = file.parent().unwrap_or(dir).to_path_buf();
    let mut lines = Vec::new();
    let mut results = Vec::new();
    let mut ok = true;
    for remote in remotes {
        let now = cx.clock.now();
        let done = offsite::push(remote, &key, &file, &work, cx.progress).and_then(|p| {
            let removed = offsite::rotate(remote, keep.0, keep.1)?;
            Ok((p, removed))
        });
        match done {
            Ok((p, removed)) => {
                offsite::status::succeeded(store.data_dir(), &remote.name, Some(&p.archive), now)?;
                lines.push(format!(
                    "{}: {} copied ({} bytes) and read back: size, SHA-256, seal and manifest match",
                    remote.name, p.archive, p.bytes
                ));
                if !removed.is_empty() {
                    lines.push(format!(
                        "{}: rotated away {}",
                        remote.name,
                        removed.join(" ")
                    ));
                }
                store.system(|c| {
                    sstore::log_operator(
                        c,
                        "backup.push",
                        &format!("{}:{}", remote.name, p.archive),
                        "ok",
                    )
                })?;
                results.push(
                    json!({"remote": remote.name, "ok": true, "archive": p.archive,
                    "bytes": p.bytes, "sha256": p.sha256, "rotated": removed}),
                );
            }
            Err(e) => {
                ok = false;
                offsite::status::failed(store.data_dir(), &remote.name, &e.to_string(), now)?;
                lines.push(format!("{}: FAILED: {e}", remote.name));
                results.push(json!({"remote": remote.name, "ok": false, "error": e.to_string()}));
            }
        }
    }
    // The archive holds every tenant's data: each one's trail says it left for elsewhere.
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    for t in store.list_tenants()? {
        tenant_audit(store, &t.slug, "backup.push", &name);
    }
    Ok(Response::Report {
        value: json!({ "ok": ok, "file": file, "remotes": results }),
        lines,
        ok,
    })
}

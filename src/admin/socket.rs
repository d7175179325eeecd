//! The admin socket: a running server takes operator commands on `DATA_DIR/admin.sock`
//! (mode 0600, caller's uid checked), so CLI changes take effect at once and the keys stay in
//! one process. One JSON request line in, one JSON response line out.

use super::commands::tenant::TenantRequest;
use super::{Failure, Request, Response};
use crate::error::Code;
use crate::model::throttle::Throttle;
use crate::realtime::Realtime;
use crate::store::Store;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

/// Largest request line accepted (a password and a few origins fit easily).
const MAX_LINE: u64 = 64 * 1024;

/// The reply on the wire.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reply {
    Ok(Response),
    Error(Failure),
}

/// The socket's path inside a data directory.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin.sock")
}

/// Sends `req` to a running server. `None` when no server listens (no socket, or a stale one):
/// the caller then opens the data directory itself.
pub fn call(data_dir: &Path, req: &Request) -> Option<Result<Response, Failure>> {
    let mut stream = std::os::unix::net::UnixStream::connect(path(data_dir)).ok()?;
    // Backups, restores and off-site copies take as long as the data (and the network) take.
    let long = matches!(req, Request::Backup(_) | Request::Offsite(_));
    let wait = Duration::from_secs(if long { 12 * 3600 } else { 60 });
    let _ = stream.set_read_timeout(Some(wait));
    let fail = |message: String| Some(Err(Failure::new(Code::AdminSocketError, message)));
    let mut line = match serde_json::to_string(req) {
        Ok(l) => l,
        Err(e) => return fail(format!("encoding the request: {e}")),
    };
    line.push('\n');
    if let Err(e) = stream.write_all(line.as_bytes()) {
        return fail(format!("talking to the running server: {e}"));
    }
    let mut answer = String::new();
    if let Err(e) = BufReader::new(stream)
        .take(16 * 1024 * 1024)
        .read_line(&mut answer)
    {
        return fail(format!("reading the running server's answer: {e}"));
    }
    match serde_json::from_str::<Reply>(&answer) {
        Ok(Reply::Ok(r)) => Some(Ok(r)),
        Ok(Reply::Error(f)) => Some(Err(f)),
        Err(_) => {
            fail("the running server gave no valid answer (is it the same kontor version?)".into())
        }
    }
}

/// Binds the socket. Refuses when another server already answers on it; removes a stale one.
pub fn bind(data_dir: &Path) -> crate::error::Result<tokio::net::UnixListener> {
    use crate::error::Error;
    let p = path(data_dir);
    if p.exists() {
        if let Some(Ok(_)) = call(data_dir, &Request::PING) {
            return Err(Error::Conflict(format!(
                "another kontor server is running on {} (its admin socket answers)",
                data_dir.display()
            )));
        }
        std::fs::remove_file(&p)
            .map_err(|e| Error::io(format!("removing stale {}", p.display()), e))?;
    }
    let listener = tokio::net::UnixListener::bind(&p)
        .map_err(|e| Error::io(format!("binding admin socket {}", p.display()), e))?;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io(format!("setting mode 0600 on {}", p.display()), e))?;
    Ok(listener)
}

/// Serves admin commands until the listener is dropped with the task.
pub async fn serve(
    listener: tokio::net::UnixListener,
    store: Arc<Store>,
    realtime: Arc<Realtime>,
    throttle: Arc<Throttle>,
    base_url: String,
) {
    // Our effective uid is the owner of /proc/self; root may always administer.
    let own_uid = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let uid = stream.peer_cred().ok().map(|c| c.uid());
        if uid.is_none() || (uid != Some(0) && uid != own_uid) {
            tracing::warn!(?uid, "admin socket: refused a caller with another uid");
            continue;
        }
        let store = store.clone();
        let realtime = realtime.clone();
        let throttle = throttle.clone();
        let base_url = base_url.clone();
        actix_web::rt::spawn(async move {
            if let Err(e) = handle(stream, store, realtime, throttle, base_url).await {
                tracing::warn!(error = %e, "admin socket connection failed");
            }
        });
    }
}

async fn handle(
    stream: tokio::net::UnixStream,
    store: Arc<Store>,
    realtime: Arc<Realtime>,
    throttle: Arc<Throttle>,
    base_url: String,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    tokio::io::BufReader::new(read)
        .take(MAX_LINE)
        .read_line(&mut line)
        .await?;
    let reply = match serde_json::from_str::<Request>(&line) {
        Err(_) => Reply::Error(Failure::new(Code::InvalidInput, "malformed admin request")),
        Ok(req) => {
            let cmd = req.name();
            let result = actix_web::rt::task::spawn_blocking(move || {
                // A tenant about to be deleted loses its hub (and sockets) first.
                if let Request::Tenant(TenantRequest::Delete { slug }) = &req
                    && let Ok(rec) = store.tenant_record(slug)
                {
                    realtime.stop(&rec.uuid);
                }
                let tenant = match &req {
                    Request::Agent(r) => r.changes_hub().map(String::from),
                    _ => None,
                };
                // A restored tenant's hub (and sockets) go before its file is replaced.
                let rt = realtime.clone();
                let result = super::execute_with(
                    &store,
                    realtime.clock(),
                    &base_url,
                    req,
                    Some(super::Running {
                        throttle: &throttle,
                        live: &realtime,
                    }),
                    &mut |uuid| rt.stop(uuid),
                    &mut |line| tracing::info!("{line}"),
                );
                // The hub caches capacity and departments: tell it at once.
                if let (Some(slug), Ok(Response::Agent { agent, .. })) = (&tenant, &result)
                    && let Ok(rec) = store.tenant_record(slug)
                    && let Ok(hub) = realtime.hub(&rec.uuid)
                {
                    hub.send(crate::realtime::hub::Command::AgentChanged(agent.id));
                }
                result
            })
            .await
            .unwrap_or_else(|_| Err(crate::error::Error::Internal("admin task failed".into())));
            tracing::info!(cmd, ok = result.is_ok(), "admin command");
            match result {
                Ok(r) => Reply::Ok(r),
                Err(e) => Reply::Error(e.into()),
            }
        }
    };
    let mut out = serde_json::to_string(&reply).unwrap_or_default();
    out.push('\n');
    write.write_all(out.as_bytes()).await?;
    write.shutdown().await
}

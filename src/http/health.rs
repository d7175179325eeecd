//! `GET /healthz`: liveness for monitoring; the version, the backups' state, the mail and
//! webhook backlogs, and nothing secret.

use super::State;
use crate::clock::rfc3339;
use crate::config::Target;
use crate::error::ApiError;
use crate::store::backup::offsite;
use actix_web::{HttpResponse, web};

/// 200 with `{"status":"ok","version":…}` when the system database answers.
pub async fn healthz(state: State) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    web::block(move || {
        st.store
            .system(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
    })
    .await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "backup": backup(&state),
        "mail": mail(&state),
        "webhooks": webhooks(&state),
    })))
}

/// Scheduled backups, and with them their off-site copies.
fn backup(state: &State) -> serde_json::Value {
    let mut v = serde_json::to_value(state.backups.status()).unwrap_or_default();
    v["offsite"] = serde_json::Value::Array(offsite(state));
    v
}

/// Each off-site remote by name: its last good copy, whether that is recent enough, and the
/// failures since (no endpoint, host or path: this page is public).
fn offsite(state: &State) -> Vec<serde_json::Value> {
    let all = offsite::status::load(state.store.data_dir());
    let now = state.clock.now();
    state
        .config
        .offsite
        .iter()
        .map(|r| {
            let s = all.get(&r.name).cloned().unwrap_or_default();
            serde_json::json!({
                "name": r.name,
                "kind": match r.target { Target::S3(_) => "s3", Target::Sftp(_) => "sftp" },
                "ok": offsite::status::is_fresh(&s, now),
                "last_good": s.last_good_at.map(rfc3339),
                "last_archive": s.last_archive,
                "failures": s.failures,
                "last_error": s.last_error,
                "next_try": s.next_try_at.map(rfc3339),
            })
        })
        .collect()
}

/// Webhook deliveries: queued, the oldest's age, failed, as the sender last counted them.
fn webhooks(state: &State) -> serde_json::Value {
    let b = state.hooks.status.total();
    let now = state.clock.now();
    serde_json::json!({
        "queued": b.queued,
        "failed": b.failed,
        "oldest_queued_age_secs": b.oldest_queued_at.map(|t| (now - t).max(0)),
    })
}

/// Email: off, or the outboxes' backlog (queued mails, the oldest's age, failed mails), as the
/// sender last counted them.
fn mail(state: &State) -> serde_json::Value {
    if state.mail.is_none() {
        return serde_json::json!({ "enabled": false });
    }
    let b = state.mail_status.total();
    let now = state.clock.now();
    serde_json::json!({
        "enabled": true,
        "queued": b.queued,
        "failed": b.failed,
        "oldest_queued_age_secs": b.oldest_queued_at.map(|t| (now - t).max(0)),
    })
}

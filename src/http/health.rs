//! `GET /healthz`: liveness for monitoring; the version, the backups' and the mail backlog's
//! state, and nothing secret.

use super::State;
use crate::error::ApiError;
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
        "backup": state.backups.status(),
        "mail": mail(&state),
    })))
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

//! `GET /healthz`: liveness for monitoring; the version and nothing secret.

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
    })))
}

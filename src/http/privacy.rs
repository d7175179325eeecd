//! Data protection in the dashboard: the retention periods (`/api/retention`). Admins only
//! until fine-grained rights exist; every change is audited.

use super::client::Client;
use super::session::{AgentSession, audit, require_admin, require_csrf};
use crate::error::ApiError;
use crate::store::retention::{self, Retention};
use actix_web::{HttpRequest, HttpResponse, web};

/// `GET /api/retention`: the periods and their defaults.
pub async fn show(session: AgentSession) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_admin(&s, "see the retention periods")?;
    let r = web::block(move || s.tenant.with(|c| retention::get(c))).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "retention": r,
        "defaults": Retention::default(),
        "max_days": retention::MAX_DAYS,
    })))
}

/// `PUT /api/retention`: all periods at once.
pub async fn update(
    req: HttpRequest,
    client: Client,
    session: AgentSession,
    body: web::Json<Retention>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    require_admin(&s, "change the retention periods")?;
    let r = body.into_inner().check()?;
    let db = s.tenant.clone();
    let r = web::block(move || db.with(|c| retention::set(c, r))).await??;
    audit(&s, &client, "retention.update", "", "success").await;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "retention": r })))
}

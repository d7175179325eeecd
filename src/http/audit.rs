//! The audit trail for the dashboard: `GET /api/audit` lists entries with filters, newest
//! first, and says whether the hash chain holds. Needs the permission to read the audit trail.

use super::session::{AgentSession, require};
use crate::error::ApiError;
use crate::model::rights::Permission;
use crate::store::audit::{self, Filter};
use actix_web::{HttpResponse, web};

/// `GET /api/audit?since=&until=&actor=&action=&result=&before_id=&limit=`.
pub async fn list(
    session: AgentSession,
    filter: web::Query<Filter>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require(&s, Permission::AuditRead)?;
    let filter = filter.into_inner();
    let db = s.tenant.clone();
    let (entries, chain) =
        web::block(move || db.read(|c| Ok((audit::list(c, &filter)?, audit::verify(c)?))))
            .await??;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(serde_json::json!({ "entries": entries, "chain": chain })))
}

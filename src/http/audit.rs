//! The audit trail for the dashboard: `GET /api/audit` lists entries with filters, newest
//! first, and says whether the hash chain holds. Needs the permission to read the audit trail.

use super::agent::{Agent, Reply};
use crate::model::rights::Permission;
use crate::store::audit::{self, Filter};
use actix_web::{HttpResponse, web};

/// `GET /api/audit?since=&until=&actor=&action=&result=&before_id=&limit=`.
pub async fn list(a: Agent, filter: web::Query<Filter>) -> Reply {
    a.may(Permission::AuditRead)?;
    let filter = filter.into_inner();
    let (entries, chain) = a
        .read(move |c| Ok((audit::list(c, &filter)?, audit::verify(c)?)))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(serde_json::json!({ "entries": entries, "chain": chain })))
}

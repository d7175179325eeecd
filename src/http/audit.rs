//! The audit trail for the dashboard: `GET /api/audit` lists entries with filters, newest
//! first, and says whether the hash chain holds. Needs the permission to read the audit trail.
//! The chain is checked from where the last page load found it intact (if that entry is
//! unchanged), so a page load rehashes only what was added since; `kontor audit verify`
//! checks the whole chain.

use super::agent::{Agent, Reply};
use crate::model::rights::Permission;
use crate::store::audit::{self, Filter};
use actix_web::{HttpResponse, web};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How far each tenant's chain was found intact, by tenant uuid.
pub type Checkpoints = Arc<Mutex<HashMap<String, audit::Checked>>>;

/// `GET /api/audit?since=&until=&actor=&action=&result=&before_id=&limit=`.
pub async fn list(a: Agent, filter: web::Query<Filter>) -> Reply {
    a.may(Permission::AuditRead)?;
    let filter = filter.into_inner();
    let tenant = a.tenant_uuid().to_string();
    let checkpoints = a.state.audit_checked.clone();
    let earlier = lock(&checkpoints).get(&tenant).cloned();
    let (entries, (chain, checked)) = a
        .read(move |c| {
            Ok((
                audit::list(c, &filter)?,
                audit::verify_since(c, earlier.as_ref())?,
            ))
        })
        .await?;
    match checked {
        Some(checked) => lock(&checkpoints).insert(tenant, checked),
        None => lock(&checkpoints).remove(&tenant),
    };
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(serde_json::json!({ "entries": entries, "chain": chain })))
}

/// `GET /api/audit/reads?since=&until=&actor=&what=&object=&before_id=&limit=`: the read log
/// (who read which chat, visitor, file or export), newest first.
pub async fn reads(a: Agent, filter: web::Query<crate::store::read_log::ReadFilter>) -> Reply {
    a.may(Permission::AuditRead)?;
    let filter = filter.into_inner();
    let entries = a
        .read(move |c| crate::store::read_log::list(c, &filter))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(serde_json::json!({ "entries": entries })))
}

fn lock(c: &Checkpoints) -> std::sync::MutexGuard<'_, HashMap<String, audit::Checked>> {
    c.lock().unwrap_or_else(|e| e.into_inner())
}

//! Support access in the dashboard (Settings › Team › Support access; the permission to manage
//! agents): `GET`, `POST /api/support/grants` and `DELETE /api/support/grants/{id}`. A grant
//! opens the operator's read-only support login for some hours; the operator then gets its
//! set-up link with `kontor support link`. The support login itself can reach none of this.

use super::agent::{Agent, Reply};
use super::privacy::as_agent;
use crate::domain::support;
use crate::model::rights::Permission;
use actix_web::HttpResponse;
use actix_web::web::{Json, Path};
use serde::Deserialize;

/// Body of `POST /api/support/grants`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    hours: u32,
    #[serde(default)]
    note: String,
}

/// `GET /api/support/grants`: every grant, newest first, and whether one holds now.
pub async fn list(a: Agent) -> Reply {
    a.may(Permission::AgentsManage)?;
    let now = a.now();
    let grants = as_agent(&a, |_, db, _| support::list(db)).await?;
    let active = grants.iter().any(|g| g.active(now));
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(serde_json::json!({ "grants": grants, "active": active, "now": now })))
}

/// `POST /api/support/grants`: `{hours, note?}` opens the support login for that long.
pub async fn create(a: Agent, body: Json<GrantBody>) -> Reply {
    a.may_change(Permission::AgentsManage)?;
    let b = body.into_inner();
    let now = a.now();
    let g = as_agent(&a, move |_, db, actor| {
        support::grant(db, b.hours, &b.note, actor, now)
    })
    .await?;
    Ok(HttpResponse::Created().json(g))
}

/// `DELETE /api/support/grants/{id}`: ends a grant now.
pub async fn revoke(a: Agent, id: Path<i64>) -> Reply {
    a.may_change(Permission::AgentsManage)?;
    let (id, now) = (id.into_inner(), a.now());
    let g = as_agent(&a, move |_, db, actor| support::revoke(db, id, actor, now)).await?;
    Ok(HttpResponse::Ok().json(g))
}

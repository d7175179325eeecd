//! Agents and roles in the dashboard (`/api/agents`, `/api/roles`): list, change an agent's
//! display name, role or state, create, change and delete the tenant's own roles. Needs the
//! permission to manage agents; every change is audited.

use super::client::Client;
use super::session::{AgentSession, audit, require, require_csrf};
use crate::error::ApiError;
use crate::model::rights::{self, Permission, Permissions};
use crate::store::roles::{self, AgentChange};
use crate::store::tenant as tstore;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

/// `GET /api/agents`.
pub async fn agents(session: AgentSession) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require(&s, Permission::AgentsManage)?;
    let list = web::block(move || s.tenant.with(|c| tstore::list_agents(c))).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "agents": list })))
}

/// `PUT /api/agents/{id}`: `{display_name?, role_id?, disabled?}`.
pub async fn change_agent(
    req: HttpRequest,
    state: super::State,
    client: Client,
    session: AgentSession,
    id: web::Path<i64>,
    body: web::Json<AgentChange>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    require(&s, Permission::AgentsManage)?;
    let (id, change) = (id.into_inner(), body.into_inner());
    let db = s.tenant.clone();
    let rec = web::block(move || db.with(|c| roles::change_agent(c, id, &change))).await??;
    // A running hub takes the new name (and departments) at once.
    if let Some(hub) = state.realtime.running(&s.tenant.uuid) {
        hub.send(crate::realtime::hub::Command::AgentChanged(id));
    }
    audit(
        &s,
        &client,
        "agent.update",
        &format!("agent#{id}"),
        "success",
    )
    .await;
    Ok(HttpResponse::Ok().json(rec))
}

/// `GET /api/roles`: the roles and every permission there is.
pub async fn list(session: AgentSession) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require(&s, Permission::AgentsManage)?;
    let list = web::block(move || s.tenant.with(|c| roles::list(c))).await??;
    let permissions: Vec<_> = rights::ALL
        .iter()
        .map(|p| serde_json::json!({ "name": p.name(), "what": p.what() }))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "roles": list, "permissions": permissions })))
}

/// Body of `POST /api/roles` and `PUT /api/roles/{id}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    permissions: Option<Permissions>,
}

/// `POST /api/roles`: `{name, permissions: [...]}`.
pub async fn create(
    req: HttpRequest,
    client: Client,
    session: AgentSession,
    body: web::Json<RoleBody>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    require(&s, Permission::AgentsManage)?;
    let b = body.into_inner();
    let name = b.name.unwrap_or_default();
    let perms = b.permissions.unwrap_or_default();
    let db = s.tenant.clone();
    let role = web::block(move || db.with(|c| roles::create(c, &name, perms))).await??;
    audit(
        &s,
        &client,
        "role.create",
        &format!("role#{}", role.id),
        "success",
    )
    .await;
    Ok(HttpResponse::build(StatusCode::CREATED).json(role))
}

/// `PUT /api/roles/{id}`: a new name and/or permissions (the role's agents sign in again).
pub async fn update(
    req: HttpRequest,
    state: super::State,
    client: Client,
    session: AgentSession,
    id: web::Path<i64>,
    body: web::Json<RoleBody>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    require(&s, Permission::AgentsManage)?;
    let (id, b) = (id.into_inner(), body.into_inner());
    let db = s.tenant.clone();
    web::block(move || db.with(|c| roles::update(c, id, b.name.as_deref(), b.permissions)))
        .await??;
    if let Some(hub) = state.realtime.running(&s.tenant.uuid) {
        hub.send(crate::realtime::hub::Command::RolesChanged);
    }
    audit(&s, &client, "role.update", &format!("role#{id}"), "success").await;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /api/roles/{id}`: a role nobody has.
pub async fn delete(
    req: HttpRequest,
    client: Client,
    session: AgentSession,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    require(&s, Permission::AgentsManage)?;
    let id = id.into_inner();
    let db = s.tenant.clone();
    web::block(move || db.with(|c| roles::delete(c, id))).await??;
    audit(&s, &client, "role.delete", &format!("role#{id}"), "success").await;
    Ok(HttpResponse::NoContent().finish())
}

//! Agents and roles in the dashboard (`/api/agents`, `/api/roles`): list, change an agent's
//! display name, role or state, create, change and delete the tenant's own roles. Needs the
//! permission to manage agents; every change is audited. Only permissions the caller holds
//! can be handed out (`domain::agents::may_grant`), and only agents whose permissions the
//! caller holds can be changed or signed out (`may_manage`): refusals are audited too.

use super::agent::{Agent, Reply};
use crate::domain::agents;
use crate::error::ApiError;
use crate::model::rights::{self, Permission, Permissions};
use crate::realtime::hub::Command;
use crate::store::roles::{self, AgentChange};
use crate::store::tenant as tstore;
use actix_web::HttpResponse;
use actix_web::web::{Json, Path};
use serde::Deserialize;

/// Everything here needs it.
const MANAGE: Permission = Permission::AgentsManage;

/// Refuses, and records as denied, handing out `granted` by a caller who lacks part of it.
async fn may_grant(
    a: &Agent,
    granted: Permissions,
    action: &str,
    object: &str,
) -> Result<(), ApiError> {
    match agents::may_grant(a.session.agent.permissions, granted) {
        Ok(()) => Ok(()),
        Err(e) => Err(a.refused(action, object, e).await),
    }
}

/// Refuses, and records as denied, changing or signing out agent `id` when they hold rights
/// the caller lacks (an unknown agent is answered later, as before).
pub(super) async fn may_manage(
    a: &Agent,
    id: i64,
    action: &str,
    object: &str,
) -> Result<(), ApiError> {
    let theirs = a
        .read(move |c| Ok(tstore::agent_by_id(c, id)?.map(|r| r.permissions)))
        .await?;
    match theirs.map(|t| agents::may_manage(a.session.agent.permissions, t)) {
        Some(Err(e)) => Err(a.refused(action, object, e).await),
        _ => Ok(()),
    }
}

/// `GET /api/agents`.
pub async fn agents(a: Agent) -> Reply {
    a.may(MANAGE)?;
    let list = a.db(|c| tstore::list_agents(c)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "agents": list })))
}

/// `PUT /api/agents/{id}`: `{display_name?, role_id?, disabled?}`.
pub async fn change_agent(a: Agent, id: Path<i64>, body: Json<AgentChange>) -> Reply {
    a.may_change(MANAGE)?;
    let (id, change) = (id.into_inner(), body.into_inner());
    let object = format!("agent#{id}");
    may_manage(&a, id, "agent.update", &object).await?;
    if let Some(role) = change.role_id {
        // An unknown role is refused below, as before.
        if let Some(granted) = a.read(move |c| roles::permissions(c, role)).await? {
            may_grant(&a, granted, "agent.update", &object).await?;
        }
    }
    let rec = a.db(move |c| roles::change_agent(c, id, &change)).await?;
    // A running hub takes the new name (and departments) at once.
    a.tell_hub(Command::AgentChanged(id));
    a.audit("agent.update", &object).await;
    Ok(HttpResponse::Ok().json(rec))
}

/// `DELETE /api/agents/{id}/sessions`: ends every session of an agent (they sign in again).
pub async fn end_sessions(a: Agent, id: Path<i64>) -> Reply {
    a.may_change(MANAGE)?;
    let id = id.into_inner();
    let object = format!("agent#{id}");
    may_manage(&a, id, "agent.sessions_end", &object).await?;
    let ended = a
        .db(move |c| {
            tstore::agent_by_id(c, id)?
                .map(|_| tstore::delete_agent_sessions(c, id, None))
                .transpose()
        })
        .await?;
    let Some(ended) = ended else {
        return Err(ApiError::not_found());
    };
    a.audit("agent.sessions_end", &object).await;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "ended": ended })))
}

/// `GET /api/roles`: the roles and every permission there is.
pub async fn list(a: Agent) -> Reply {
    a.may(MANAGE)?;
    let list = a.db(|c| roles::list(c)).await?;
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
pub async fn create(a: Agent, body: Json<RoleBody>) -> Reply {
    a.may_change(MANAGE)?;
    let b = body.into_inner();
    let name = b.name.unwrap_or_default();
    let perms = b.permissions.unwrap_or_default();
    may_grant(&a, perms, "role.create", "role").await?;
    let role = a.db(move |c| roles::create(c, &name, perms)).await?;
    a.audit("role.create", &format!("role#{}", role.id)).await;
    Ok(HttpResponse::Created().json(role))
}

/// `PUT /api/roles/{id}`: a new name and/or permissions (the role's agents sign in again).
pub async fn update(a: Agent, id: Path<i64>, body: Json<RoleBody>) -> Reply {
    a.may_change(MANAGE)?;
    let (id, b) = (id.into_inner(), body.into_inner());
    if let Some(perms) = b.permissions {
        may_grant(&a, perms, "role.update", &format!("role#{id}")).await?;
    }
    a.db(move |c| roles::update(c, id, b.name.as_deref(), b.permissions))
        .await?;
    a.tell_hub(Command::RolesChanged);
    a.audit("role.update", &format!("role#{id}")).await;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /api/roles/{id}`: a role nobody has.
pub async fn delete(a: Agent, id: Path<i64>) -> Reply {
    a.may_change(MANAGE)?;
    let id = id.into_inner();
    a.db(move |c| roles::delete(c, id)).await?;
    a.audit("role.delete", &format!("role#{id}")).await;
    Ok(HttpResponse::NoContent().finish())
}

//! Settings › API: the tenant's API tokens (the settings permission). A token acts for the
//! agent who makes it, or, for someone who may manage agents, for another agent; it holds
//! only permissions its maker holds too. The secret is answered once.

use super::agent::{Agent, Reply};
use crate::domain::api_tokens::{self, Request};
use crate::model::rights::{Permission, Permissions};
use actix_web::HttpResponse;
use actix_web::web::{Json, Path};
use serde::Deserialize;

/// `GET /api/tokens`: every token (never a secret), newest first.
pub async fn list(a: Agent) -> Reply {
    a.may(Permission::SettingsManage)?;
    let tokens = a.db(|c| api_tokens::list(c)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "tokens": tokens })))
}

/// Body of `POST /api/tokens`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    name: String,
    permissions: Permissions,
    #[serde(default)]
    days: Option<u32>,
    /// Another agent to act for (needs the agents permission).
    #[serde(default)]
    agent_id: Option<i64>,
}

/// `POST /api/tokens`: 201 with the token, shown this once.
pub async fn create(a: Agent, body: Json<CreateBody>) -> Reply {
    a.may_change(Permission::SettingsManage)?;
    let b = body.into_inner();
    let me = a.session.agent.id;
    let agent_id = b.agent_id.unwrap_or(me);
    if agent_id != me {
        a.may(Permission::AgentsManage)?;
    }
    let r = Request {
        name: b.name,
        agent_id,
        permissions: b.permissions,
        days: b.days,
    };
    let (uuid, granter, by, now) = (
        a.tenant_uuid().to_string(),
        a.session.agent.permissions,
        a.actor(),
        a.now(),
    );
    let made = a
        .db(move |c| api_tokens::create(c, &uuid, &r, granter, &by, now))
        .await?;
    a.audit("api_token.create", &format!("api_token#{}", made.id))
        .await;
    Ok(HttpResponse::Created().json(made))
}

/// `DELETE /api/tokens/{id}`: revokes it at once.
pub async fn revoke(a: Agent, id: Path<i64>) -> Reply {
    a.may_change(Permission::SettingsManage)?;
    let id = id.into_inner();
    let (by, now) = (a.actor(), a.now());
    a.db(move |c| api_tokens::revoke(c, id, &by, now)).await?;
    a.audit("api_token.revoke", &format!("api_token#{id}"))
        .await;
    Ok(HttpResponse::NoContent().finish())
}

//! Agents and roles in the dashboard (`/api/agents`, `/api/roles`): list, change an agent's
//! display name, role or state, create, change and delete the tenant's own roles. Needs the
//! permission to manage agents; every change is audited. Only permissions the caller holds
//! can be handed out (`domain::agents::may_grant`), and only agents whose permissions the
//! caller holds can be changed or signed out (`may_manage`): refusals are audited too.

use super::agent::{Agent, Reply};
use crate::crypto;
use crate::domain::{agents, email, setup};
use crate::error::{ApiError, Error};
use crate::model::rights::{self, Permission, Permissions};
use crate::realtime::hub::Command;
use crate::store::links::{self, Purpose};
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
        .read(move |c| Ok(tstore::agent_by_id(c, id)?.map(|r| (r.permissions, r.role_id))))
        .await?;
    if theirs.is_some_and(|(_, role)| role == crate::model::rights::SUPPORT) {
        return Err(Error::Invalid(
            "the support login is opened and closed by its grants (Settings › Team › Support access)"
                .into(),
        )
        .into());
    }
    match theirs.map(|(t, _)| agents::may_manage(a.session.agent.permissions, t)) {
        Some(Err(e)) => Err(a.refused(action, object, e).await),
        _ => Ok(()),
    }
}

/// `GET /api/agents`: every agent with their capacity, department ids and whether they were
/// invited and have not set a password yet.
pub async fn agents(a: Agent) -> Reply {
    a.may(MANAGE)?;
    let list = a
        .db(|c| {
            let loads = tstore::agent_loads(c)?;
            let mut out = Vec::new();
            for rec in tstore::list_agents(c)? {
                let invited = links::invited(c, rec.id)?;
                let (capacity, departments) = loads
                    .iter()
                    .find(|l| l.0 == rec.id)
                    .map(|l| (l.1, l.2.clone()))
                    .unwrap_or_default();
                let mut v =
                    serde_json::to_value(&rec).map_err(|e| Error::Internal(e.to_string()))?;
                v["capacity"] = capacity.into();
                v["department_ids"] = departments.into();
                v["invited"] = invited.into();
                out.push(v);
            }
            Ok(out)
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "agents": list })))
}

/// Body of `POST /api/agents/invite`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    display_name: String,
    email: String,
    role_id: i64,
    #[serde(default)]
    department_ids: Vec<i64>,
    #[serde(default)]
    capacity: Option<i64>,
}

/// The set-up link `path` as our users reach it.
fn link_url(a: &Agent, path: &str) -> String {
    format!("{}{path}", a.client.origin)
}

/// `POST /api/agents/invite`: `{display_name, email, role_id, department_ids?, capacity?}`.
/// The agent is created disabled, with no usable password, and enabled when they choose one
/// on the set-up link answered here (`{agent, url, expires_at}`), which the admin passes on.
pub async fn invite(a: Agent, body: Json<InviteBody>) -> Reply {
    a.may_change(MANAGE)?;
    let b = body.into_inner();
    let role = b.role_id;
    if role == crate::model::rights::SUPPORT {
        return Err(Error::Invalid(tstore::SUPPORT_ROLE.into()).into());
    }
    let granted = a
        .read(move |c| roles::permissions(c, role))
        .await?
        .ok_or_else(|| ApiError::from(Error::Invalid(format!("role {role} does not exist"))))?;
    may_grant(&a, granted, "agent.invite", "agent").await?;
    let email = agents::normalize_email(&b.email)?;
    let name = crate::model::tenants::clean_name("display name", &b.display_name, 100)?;
    let (uuid, now) = (a.tenant_uuid().to_string(), a.now());
    let mail = a.state.mail.clone();
    let (rec, path) = a
        .db(move |c| {
            // Checked first, so a refusal leaves no half-invited agent behind.
            if b.capacity.is_some_and(|n| !(1..=50).contains(&n)) {
                return Err(Error::Invalid("capacity must be 1 to 50 chats".into()));
            }
            let known = tstore::department_ids(c)?;
            if let Some(d) = b.department_ids.iter().find(|d| !known.contains(d)) {
                return Err(Error::Invalid(format!("department {d} does not exist")));
            }
            let tx = c.transaction()?;
            // Nobody knows this password: the agent chooses theirs on the link.
            let unusable = crypto::hash_password(&crypto::random_token());
            let role_name: String =
                tx.query_row("SELECT name FROM roles WHERE id = ?1", [role], |r| r.get(0))?;
            let rec = tstore::insert_agent(&tx, &email, &name, &role_name, &unusable)?;
            tx.execute("UPDATE agents SET disabled = 1 WHERE id = ?1", [rec.id])?;
            let change = AgentChange {
                capacity: b.capacity,
                department_ids: Some(b.department_ids),
                ..AgentChange::default()
            };
            let path = setup::issue(&tx, &uuid, rec.id, Purpose::Invite, now)?;
            if let Some(m) = &mail {
                email::events::agent_link(&tx, m, rec.id, &path, now)?;
            }
            tx.commit()?;
            let rec = roles::change_agent(c, rec.id, &change)?;
            Ok((rec, path))
        })
        .await?;
    a.audit("agent.invite", &format!("agent#{}", rec.id)).await;
    let mailed = wake_mail(&a);
    Ok(HttpResponse::Created().json(serde_json::json!({
        "agent": rec,
        "url": link_url(&a, &path),
        "expires_at": now + setup::LINK_SECS,
        "mailed": mailed,
    })))
}

/// `POST /api/agents/{id}/reset-link`: a new single-use set-up link for the agent (earlier
/// unused ones die). Issuing it leaves their sessions alone; choosing the new password on the
/// link ends them all. An invited agent who never set a password gets a new invitation.
pub async fn reset_link(a: Agent, id: Path<i64>) -> Reply {
    a.may_change(MANAGE)?;
    let id = id.into_inner();
    let object = format!("agent#{id}");
    may_manage(&a, id, "agent.reset_link", &object).await?;
    let (uuid, now) = (a.tenant_uuid().to_string(), a.now());
    let mail = a.state.mail.clone();
    let path = a
        .db(move |c| {
            if tstore::agent_by_id(c, id)?.is_none() {
                return Err(Error::NotFound("agent".into()));
            }
            let tx = c.transaction()?;
            let path = setup::issue_reset(&tx, &uuid, id, now)?;
            if let Some(m) = &mail {
                email::events::agent_link(&tx, m, id, &path, now)?;
            }
            tx.commit()?;
            Ok(path)
        })
        .await?;
    a.audit("agent.reset_link", &object).await;
    let mailed = wake_mail(&a);
    Ok(HttpResponse::Created().json(serde_json::json!({
        "url": link_url(&a, &path),
        "expires_at": now + setup::LINK_SECS,
        "mailed": mailed,
    })))
}

/// With email on, the link went into the outbox too: wake the sender. Whether it did.
fn wake_mail(a: &Agent) -> bool {
    match &a.state.mail {
        Some(m) => {
            m.wake(email::Box::Tenant(a.tenant_uuid().to_string()));
            true
        }
        None => false,
    }
}

/// `PUT /api/agents/{id}`: `{display_name?, role_id?, disabled?}`.
pub async fn change_agent(a: Agent, id: Path<i64>, body: Json<AgentChange>) -> Reply {
    a.may_change(MANAGE)?;
    let (id, change) = (id.into_inner(), body.into_inner());
    let object = format!("agent#{id}");
    may_manage(&a, id, "agent.update", &object).await?;
    if let Some(role) = change.role_id {
        if role == crate::model::rights::SUPPORT {
            return Err(Error::Invalid(tstore::SUPPORT_ROLE.into()).into());
        }
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

/// `GET /api/roles` (not the support login's role): the roles and every permission there is.
pub async fn list(a: Agent) -> Reply {
    a.may(MANAGE)?;
    let mut list = a.db(|c| roles::list(c)).await?;
    // The support login's role is nobody else's to be given (see Settings › Team › Support
    // access), so it is not offered here.
    list.retain(|r| r.id != rights::SUPPORT);
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

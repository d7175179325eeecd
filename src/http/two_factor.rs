//! Two-factor sign-in in the dashboard (`/api/two-factor`): an agent sees their state, sets
//! up an authenticator (QR code and key, confirmed with a code), gets new recovery codes, or
//! turns it off when their role does not require it. Admins who may manage agents set the
//! per-role policy (`PUT /api/roles/{id}/two-factor`) and reset an agent's second factor
//! (`DELETE /api/agents/{id}/two-factor`, which also signs them out). Everything is audited.

use super::agent::{Agent, DbWork, Reply};
use crate::domain::intrusion::{self, Factor};
use crate::domain::two_factor;
use crate::error::{ApiError, Code, Error};
use crate::model::rights::Permission;
use crate::model::throttle::SignIn;
use crate::store::tenant as tstore;
use crate::store::two_factor as tfstore;
use actix_web::HttpResponse;
use actix_web::web::{Json, Path};
use serde::Deserialize;

/// A code from the app (or, where allowed, a recovery code).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    code: String,
}

/// Runs `work`, which checks a code from the app, under the caller's sign-in throttle: a
/// wrong code counts like a wrong password, so a stolen session cannot guess its way to
/// turning the second factor off.
pub(super) async fn throttled<T: Send + 'static>(
    a: &Agent,
    work: impl DbWork<T>,
) -> Result<T, ApiError> {
    let uuid = a.tenant_uuid().to_string();
    let slug = a
        .system(move |c| crate::store::system::tenant_by_uuid(c, &uuid))
        .await?
        .map(|t| t.slug)
        .unwrap_or_default();
    let keys = SignIn::new(&slug, &a.session.agent.email, a.client.ip);
    let throttle = &a.state.throttle;
    let (ip, email) = (a.client.ip, &a.session.agent.email);
    if let Some(wait) = throttle.sign_in_blocked_for(&keys, a.state.clock.instant()) {
        intrusion::login_throttled(ip, &slug, email, Factor::Code);
        return Err(Error::Throttled(wait).into());
    }
    let done = a.db(work).await;
    if matches!(&done, Err(e) if e.code() == Code::InvalidInput) {
        throttle.sign_in_failed(&keys, a.state.clock.instant());
        intrusion::login_failed(ip, &slug, email, Factor::Code);
    }
    done
}

/// `GET /api/two-factor`: the caller's state.
pub async fn show(a: Agent) -> Reply {
    let agent = a.session.agent.clone();
    let status = a.read(move |c| two_factor::status(c, &agent)).await?;
    Ok(HttpResponse::Ok().json(status))
}

/// `POST /api/two-factor/setup`: a new secret for the caller, as QR code and key; it counts
/// once confirmed.
pub async fn setup(a: Agent) -> Reply {
    a.csrf()?;
    let (agent, now, uuid) = (
        a.session.agent.clone(),
        a.now(),
        a.tenant_uuid().to_string(),
    );
    let issuer = a
        .system(move |c| crate::store::system::tenant_by_uuid(c, &uuid))
        .await?
        .map(|t| t.name)
        .unwrap_or_else(|| "kontor".into());
    let e = a
        .db(move |c| two_factor::begin(c, &agent, &issuer, now))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(e))
}

fn codes(list: Vec<String>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(serde_json::json!({ "recovery_codes": list }))
}

/// `POST /api/two-factor/confirm` `{code}`: confirms the set-up; answers the recovery codes.
pub async fn confirm(a: Agent, body: Json<CodeBody>) -> Reply {
    a.csrf()?;
    let (id, now, code) = (a.session.agent.id, a.now(), body.into_inner().code);
    let list = throttled(&a, move |c| two_factor::confirm(c, id, &code, now)).await?;
    a.audit("two_factor.enrol", &format!("agent#{id}")).await;
    Ok(codes(list))
}

/// `POST /api/two-factor/recovery-codes` `{code}`: ten new recovery codes.
pub async fn renew(a: Agent, body: Json<CodeBody>) -> Reply {
    a.csrf()?;
    let (id, now, code) = (a.session.agent.id, a.now(), body.into_inner().code);
    let list = throttled(&a, move |c| {
        two_factor::renew_recovery_codes(c, id, &code, now)
    })
    .await?;
    a.audit("two_factor.recovery_codes", &format!("agent#{id}"))
        .await;
    Ok(codes(list))
}

/// `POST /api/two-factor/disable` `{code}`: turns the caller's second factor off.
pub async fn disable(a: Agent, body: Json<CodeBody>) -> Reply {
    a.csrf()?;
    let (agent, now, code) = (a.session.agent.clone(), a.now(), body.into_inner().code);
    let id = agent.id;
    throttled(&a, move |c| two_factor::turn_off(c, &agent, &code, now)).await?;
    a.audit("two_factor.disable", &format!("agent#{id}")).await;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /api/agents/{id}/two-factor`: an admin's reset; the agent is signed out and sets
/// up a new authenticator at the next sign-in if their role requires one.
pub async fn reset(a: Agent, id: Path<i64>) -> Reply {
    a.may_change(Permission::AgentsManage)?;
    let id = id.into_inner();
    let object = format!("agent#{id}");
    super::team::may_manage(&a, id, "agent.two_factor_reset", &object).await?;
    let had = a
        .db(move |c| {
            if tstore::agent_by_id(c, id)?.is_none() {
                return Ok(None);
            }
            let had = two_factor::reset(c, id)?;
            tstore::delete_agent_sessions(c, id, None)?;
            Ok(Some(had))
        })
        .await?
        .ok_or_else(ApiError::not_found)?;
    a.audit("agent.two_factor_reset", &object).await;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "had_two_factor": had })))
}

/// Body of `PUT /api/roles/{id}/two-factor`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    required: bool,
}

/// `PUT /api/roles/{id}/two-factor` `{required}`: whether the role's agents must use a
/// second factor (those without one set it up at their next sign-in).
pub async fn policy(a: Agent, id: Path<i64>, body: Json<PolicyBody>) -> Reply {
    a.may_change(Permission::AgentsManage)?;
    let (id, required) = (id.into_inner(), body.required);
    let found = a
        .db(move |c| tfstore::set_role_requires(c, id, required))
        .await?;
    if !found {
        return Err(ApiError::not_found());
    }
    let action = if required {
        "role.two_factor_required"
    } else {
        "role.two_factor_optional"
    };
    a.audit(action, &format!("role#{id}")).await;
    Ok(HttpResponse::NoContent().finish())
}

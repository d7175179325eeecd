//! Canned responses (`/shortcut` in the reply box) and the tenant's chat settings.

use super::client::Client;
use super::session::audit;
use super::session::{AgentSession, require_csrf};
use crate::error::ApiError;
use crate::model::rights::Permission;
use crate::store::chat as cstore;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

/// Canned responses are for agents who chat, and for those who manage the shared ones.
fn for_canned(s: &crate::domain::auth::Session) -> Result<(), ApiError> {
    super::session::require_any(s, &[Permission::Chat, Permission::SettingsManage])
}

/// `GET /api/canned`: the tenant's shared responses and the agent's own.
pub async fn list(session: AgentSession) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    for_canned(&s)?;
    let id = s.agent.id;
    let rows = web::block(move || s.tenant.with(|c| cstore::list_canned(c, id))).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "canned": rows })))
}

/// Body of `POST /api/canned`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCanned {
    shortcut: String,
    text: String,
    /// Shared with the whole tenant (needs the settings permission).
    #[serde(default)]
    shared: bool,
}

/// `POST /api/canned`.
pub async fn create(
    req: HttpRequest,
    state: super::State,
    client: Client,
    session: AgentSession,
    body: web::Json<NewCanned>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    for_canned(&s)?;
    let b = body.into_inner();
    let shortcut = b.shortcut.trim().trim_start_matches('/').to_lowercase();
    let valid = (1..=32).contains(&shortcut.len())
        && shortcut
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
    if !valid {
        return Err(ApiError::bad_request(
            "a shortcut has 1-32 characters of a-z, 0-9, - and _",
        ));
    }
    let text = b.text.trim().to_string();
    if text.is_empty() || text.chars().count() > 4000 {
        return Err(ApiError::bad_request(
            "the text must have 1 to 4000 characters",
        ));
    }
    if b.shared {
        super::session::require(&s, Permission::SettingsManage)?;
    }
    let owner = (!b.shared).then_some(s.agent.id);
    let (db, at) = (s.tenant.clone(), state.clock.now());
    let row =
        web::block(move || db.with(|c| cstore::insert_canned(c, owner, &shortcut, &text, at)))
            .await??;
    let object = serde_json::to_value(&row)
        .ok()
        .and_then(|v| v["id"].as_i64());
    audit(
        &s,
        &client,
        "canned.create",
        &format!("canned#{}", object.unwrap_or(0)),
        "success",
    )
    .await;
    Ok(HttpResponse::build(StatusCode::CREATED).json(row))
}

/// `DELETE /api/canned/{id}`: one's own, or a shared one as admin.
pub async fn delete(
    req: HttpRequest,
    client: Client,
    session: AgentSession,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    for_canned(&s)?;
    let (id, agent, admin) = (
        id.into_inner(),
        s.agent.id,
        s.agent.may(Permission::SettingsManage),
    );
    let db = s.tenant.clone();
    let deleted =
        web::block(move || db.with(|c| cstore::delete_canned(c, id, agent, admin))).await??;
    if deleted {
        audit(
            &s,
            &client,
            "canned.delete",
            &format!("canned#{id}"),
            "success",
        )
        .await;
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found())
    }
}

/// `GET /api/settings`.
pub async fn settings(session: AgentSession) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    let v = web::block(move || s.tenant.with(|c| cstore::chat_settings(c))).await??;
    Ok(HttpResponse::Ok().json(v))
}

/// `PUT /api/settings` (the settings permission).
pub async fn update_settings(
    req: HttpRequest,
    client: Client,
    state: super::State,
    session: AgentSession,
    body: web::Json<cstore::ChatSettings>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    super::session::require(&s, Permission::SettingsManage)?;
    let v = body.into_inner();
    let uuid = s.tenant.uuid.clone();
    let preview = v.typing_preview;
    let db = s.tenant.clone();
    web::block(move || {
        db.with(|c| cstore::set_setting(c, "typing_preview", if preview { "on" } else { "off" }))
    })
    .await??;
    audit(&s, &client, "settings.update", "typing_preview", "success").await;
    let st = state.clone();
    let hub = web::block(move || st.realtime.hub(&uuid)).await??;
    hub.send(crate::realtime::hub::Command::SettingsChanged);
    Ok(HttpResponse::Ok().json(v))
}

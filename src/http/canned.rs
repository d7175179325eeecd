//! Canned responses (`/shortcut` in the reply box) and the tenant's chat settings.

use super::agent::{Agent, Reply};
use crate::error::ApiError;
use crate::model::rights::Permission;
use crate::realtime::hub::Command;
use crate::store::chat as cstore;
use actix_web::HttpResponse;
use actix_web::web::{Json, Path};
use serde::Deserialize;

/// Canned responses are for agents who chat, and for those who manage the shared ones.
const FOR_CANNED: [Permission; 2] = [Permission::Chat, Permission::SettingsManage];

/// `GET /api/canned`: the tenant's shared responses and the agent's own.
pub async fn list(a: Agent) -> Reply {
    a.may_any(&FOR_CANNED)?;
    let id = a.session.agent.id;
    let rows = a.db(move |c| cstore::list_canned(c, id)).await?;
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
pub async fn create(a: Agent, body: Json<NewCanned>) -> Reply {
    a.csrf()?;
    a.may_any(&FOR_CANNED)?;
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
        a.may(Permission::SettingsManage)?;
    }
    let owner = (!b.shared).then_some(a.session.agent.id);
    let at = a.now();
    let row = a
        .db(move |c| cstore::insert_canned(c, owner, &shortcut, &text, at))
        .await?;
    a.audit("canned.create", &format!("canned#{}", row.id))
        .await;
    Ok(HttpResponse::Created().json(row))
}

/// `DELETE /api/canned/{id}`: one's own, or a shared one as admin.
pub async fn delete(a: Agent, id: Path<i64>) -> Reply {
    a.csrf()?;
    a.may_any(&FOR_CANNED)?;
    let (id, agent) = (id.into_inner(), a.session.agent.id);
    let admin = a.session.agent.may(Permission::SettingsManage);
    if !a
        .db(move |c| cstore::delete_canned(c, id, agent, admin))
        .await?
    {
        return Err(ApiError::not_found());
    }
    a.audit("canned.delete", &format!("canned#{id}")).await;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/settings`.
pub async fn settings(a: Agent) -> Reply {
    let v = a.db(|c| cstore::chat_settings(c)).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// `PUT /api/settings` (the settings permission).
pub async fn update_settings(a: Agent, body: Json<cstore::ChatSettingsChange>) -> Reply {
    a.may_change(Permission::SettingsManage)?;
    let mut ch = body.into_inner();
    // The business's own words, one paragraph each: no control characters, 500 at most.
    for t in [&mut ch.accept_message_de, &mut ch.accept_message_en]
        .into_iter()
        .flatten()
    {
        *t = match t.trim() {
            "" => String::new(),
            text => crate::model::tenants::clean_name(
                "the message when an agent takes a chat",
                text,
                500,
            )?,
        };
    }
    for (name, v) in [
        ("queue_alert_secs", ch.queue_alert_secs),
        ("offline_offer_secs", ch.offline_offer_secs),
    ] {
        v.map(|s| crate::model::waiting::check_secs(name, s))
            .transpose()?;
    }
    let what: Vec<&str> = [
        ch.typing_preview.map(|_| "typing_preview"),
        ch.accept_message_de
            .as_ref()
            .or(ch.accept_message_en.as_ref())
            .map(|_| "accept_message"),
        ch.queue_alert_secs.map(|_| "queue_alert_secs"),
        ch.offline_offer_secs.map(|_| "offline_offer_secs"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let v = a.db(move |c| cstore::change_chat_settings(c, &ch)).await?;
    a.audit("settings.update", &what.join(",")).await;
    a.tell_started_hub(Command::SettingsChanged).await?;
    Ok(HttpResponse::Ok().json(v))
}

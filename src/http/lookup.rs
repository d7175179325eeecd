//! The online look-up in the dashboard: a site's look-up address (the sites permission; the
//! secret shown once, when the address is first saved or gets a new secret), and a chat's
//! look-up for the agents who may read the chat (`GET` the latest answer, `POST` a value).
//! The visitor's side has none of it.

use super::agent::{Agent, Reply, blocking};
use super::chats::{may_read, reader, require_chats};
use crate::domain::lookup::{self, Caller};
use crate::error::ApiError;
use crate::model::rights::Permission;
use crate::store::{lookups as store, system};
use actix_web::HttpResponse;
use actix_web::web::{Json, Path};
use serde::Deserialize;

/// Whether the site is the tenant's; a refusal (404, audited) otherwise.
async fn own_site(a: &Agent, key: &str) -> Result<(), ApiError> {
    let (uuid, k) = (a.tenant_uuid().to_string(), key.to_string());
    let ours = a
        .system(move |c| Ok(system::site_by_key(c, &k)?.is_some_and(|s| s.tenant_uuid == uuid)))
        .await?;
    if ours {
        Ok(())
    } else {
        Err(a.denied(format!("site#{key}")).await)
    }
}

/// `GET /api/sites/{key}/lookup`: `{url}` (`null` when none; never the secret).
pub async fn settings(a: Agent, key: Path<String>) -> Reply {
    a.may(Permission::SitesManage)?;
    let key = key.into_inner();
    own_site(&a, &key).await?;
    let s = a.read(move |c| lookup::settings(c, &key)).await?;
    Ok(HttpResponse::Ok().json(s))
}

/// A site's look-up address as the dashboard sends it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlInput {
    url: String,
}

/// `PUT /api/sites/{key}/lookup` `{url}`: saves the address (checked like a webhook's, its
/// host resolved now); `{url, secret}`, the secret only when the site had no look-up yet.
pub async fn put(a: Agent, key: Path<String>, body: Json<UrlInput>) -> Reply {
    a.may_change(Permission::SitesManage)?;
    let key = key.into_inner();
    own_site(&a, &key).await?;
    let config = a.state.lookups.config.clone();
    let tenant = a.tenant_uuid().to_string();
    let raw = body.into_inner().url;
    let url = blocking(move || {
        lookup::check_url(&raw, &config).inspect_err(|e| {
            tracing::warn!(tenant, error = %e, "look-up address refused");
        })
    })
    .await?;
    let (k, u, now) = (key.clone(), url.clone(), a.now());
    let secret = a.db(move |c| lookup::save(c, &k, &u, now)).await?;
    a.audit("site.lookup", &key).await;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "url": url, "secret": secret })))
}

/// `POST /api/sites/{key}/lookup/secret`: a new secret, `{secret}` (shown once).
pub async fn rotate(a: Agent, key: Path<String>) -> Reply {
    a.may_change(Permission::SitesManage)?;
    let key = key.into_inner();
    own_site(&a, &key).await?;
    let k = key.clone();
    let secret = a.db(move |c| lookup::rotate(c, &k)).await?;
    a.audit("site.lookup_secret", &key).await;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "secret": secret })))
}

/// `DELETE /api/sites/{key}/lookup`: no more look-ups for the site.
pub async fn delete(a: Agent, key: Path<String>) -> Reply {
    a.may_change(Permission::SitesManage)?;
    let key = key.into_inner();
    own_site(&a, &key).await?;
    let k = key.clone();
    a.db(move |c| store::delete(c, &k)).await?;
    a.audit("site.lookup_remove", &key).await;
    Ok(HttpResponse::NoContent().finish())
}

/// Whether the agent may read the conversation, with its site's look-up state: whether the
/// site has an address, and the value of the form's marked field (to offer it again).
async fn readable(a: &Agent, id: i64) -> Result<(bool, Option<String>), ApiError> {
    let r = reader(&a.session);
    let found = a
        .read(move |c| {
            if !may_read(c, id, r)? {
                return Ok(None);
            }
            let Some(cv) = crate::store::chat::conversation(c, id)? else {
                return Ok(None);
            };
            let configured = store::get(c, &cv.site_key)?.is_some();
            Ok(Some((
                cv.site_key,
                configured,
                crate::store::chat::fields(c, id)?,
            )))
        })
        .await?;
    let Some((site_key, configured, values)) = found else {
        return Err(a.denied(format!("conversation#{id}")).await);
    };
    let form = a
        .system(move |c| crate::store::site_forms::get(c, &site_key))
        .await?;
    let suggested = form
        .lookup_field()
        .and_then(|f| values.into_iter().find(|v| v.name == f.name))
        .map(|v| v.value);
    Ok((configured, suggested))
}

/// `GET /api/conversations/{id}/lookup`: `{configured, suggested, lookup}`, the latest
/// look-up (`null` when none is kept) for an agent who may read the chat.
pub async fn latest(a: Agent, id: Path<i64>) -> Reply {
    require_chats(&a.session)?;
    let id = id.into_inner();
    let (configured, suggested) = readable(&a, id).await?;
    let shown = a.state.lookups.shown(a.tenant_uuid(), id);
    if shown.is_some() {
        a.read_logged("lookup", &format!("conversation#{id}"));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "configured": configured,
        "suggested": suggested,
        "lookup": shown,
    })))
}

/// A value an agent looks up.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueInput {
    value: String,
}

/// `POST /api/conversations/{id}/lookup` `{value}`: looks the value up now (at most three
/// seconds); `{lookup}` with the fields, or with the error in `lookup.error`.
pub async fn run(a: Agent, id: Path<i64>, body: Json<ValueInput>) -> Reply {
    a.csrf()?;
    require_chats(&a.session)?;
    let id = id.into_inner();
    readable(&a, id).await?;
    let caller = Caller {
        actor: a.actor(),
        role: a.session.agent.role.clone(),
        ip: a.client.shown_ip(),
        request_id: a.client.request_id.clone(),
    };
    let (lookups, st, tenant) = (
        a.state.lookups.clone(),
        a.state.store.clone(),
        a.tenant_uuid().to_string(),
    );
    let value = body.into_inner().value;
    let shown = blocking(move || lookups.run(&st, &tenant, id, &value, "agent", &caller))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "lookup": shown })))
}

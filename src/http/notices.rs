//! A site's versioned privacy notices: `GET /api/sites/{key}/notices` lists every version
//! with how many chats consented to it, `POST` adds the next version (admins, audited).

use super::client::Client;
use super::session::{AgentSession, audit, audit_denied, require, require_csrf};
use crate::error::ApiError;
use crate::model::rights::Permission;
use crate::store::notices;
use crate::store::system as sstore;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

/// `GET /api/sites/{key}/notices`.
pub async fn list(
    state: super::State,
    session: AgentSession,
    client: Client,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require(&s, Permission::SitesManage)?;
    let key = key.into_inner();
    let (st, k, db) = (state.clone(), key.clone(), s.tenant.clone());
    let found = web::block(move || -> crate::error::Result<_> {
        let list = st.store.system(|c| {
            if sstore::site_by_key(c, &k)?.is_none_or(|x| x.tenant_uuid != db.uuid) {
                return Ok(None);
            }
            Ok(Some(notices::list(c, &k)?))
        })?;
        let Some(list) = list else { return Ok(None) };
        let consents = db.with(|c| notices::consents(c, &k))?;
        Ok(Some((list, consents)))
    })
    .await??;
    let Some((list, consents)) = found else {
        audit_denied(&s, &client, format!("site#{key}")).await;
        return Err(ApiError::not_found());
    };
    let count = |v: i64| {
        consents
            .iter()
            .find(|(x, _)| *x == v)
            .map_or(0, |(_, n)| *n)
    };
    let mut versions: Vec<serde_json::Value> = list
        .iter()
        .map(|n| {
            let mut v = serde_json::to_value(n).unwrap_or_default();
            v["consents"] = serde_json::json!(count(n.version));
            v
        })
        .collect();
    versions.push(serde_json::json!({
        "version": 1, "builtin": true, "consents": count(1),
    }));
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "site_key": key,
        "current": list.first().map_or(1, |n| n.version),
        "versions": versions,
    })))
}

/// Body of `POST /api/sites/{key}/notices`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewNotice {
    text_de: String,
    text_en: String,
}

/// `POST /api/sites/{key}/notices`: the next version, shown from now on.
pub async fn create(
    req: HttpRequest,
    state: super::State,
    session: AgentSession,
    client: Client,
    key: web::Path<String>,
    body: web::Json<NewNotice>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    require(&s, Permission::SitesManage)?;
    let key = key.into_inner();
    let b = body.into_inner();
    let (st, k, uuid, by) = (
        state.clone(),
        key.clone(),
        s.tenant.uuid.clone(),
        s.agent.email.clone(),
    );
    let created = web::block(move || {
        st.store.system(|c| {
            if sstore::site_by_key(c, &k)?.is_none_or(|x| x.tenant_uuid != uuid) {
                return Ok(None);
            }
            Ok(Some(notices::create(c, &k, &b.text_de, &b.text_en, &by)?))
        })
    })
    .await??;
    let Some(n) = created else {
        audit_denied(&s, &client, format!("site#{key}")).await;
        return Err(ApiError::not_found());
    };
    audit(
        &s,
        &client,
        "notice.create",
        &format!("{key}/v{}", n.version),
        "success",
    )
    .await;
    Ok(HttpResponse::build(StatusCode::CREATED).json(n))
}

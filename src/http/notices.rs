//! A site's versioned privacy notices: `GET /api/sites/{key}/notices` lists every version
//! with how many chats consented to it, `POST` adds the next version (admins, audited).

use super::agent::{Agent, Reply};
use crate::model::rights::Permission;
use crate::store::notices;
use crate::store::system as sstore;
use actix_web::HttpResponse;
use actix_web::web::{Json, Path};
use rusqlite::Connection;
use serde::Deserialize;

/// Whether site `key` is one of tenant `uuid`'s (another tenant's is as unknown as none).
fn own_site(c: &Connection, key: &str, uuid: &str) -> crate::error::Result<bool> {
    Ok(sstore::site_by_key(c, key)?.is_some_and(|x| x.tenant_uuid == uuid))
}

/// `GET /api/sites/{key}/notices`.
pub async fn list(a: Agent, key: Path<String>) -> Reply {
    a.may(Permission::SitesManage)?;
    let key = key.into_inner();
    let (k, uuid) = (key.clone(), a.tenant_uuid().to_string());
    let list = a
        .system(move |c| match own_site(c, &k, &uuid)? {
            true => Ok(Some(notices::list(c, &k)?)),
            false => Ok(None),
        })
        .await?;
    let Some(list) = list else {
        return Err(a.denied(format!("site#{key}")).await);
    };
    let k = key.clone();
    let consents = a.db(move |c| notices::consents(c, &k)).await?;
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
pub async fn create(a: Agent, key: Path<String>, body: Json<NewNotice>) -> Reply {
    a.may_change(Permission::SitesManage)?;
    let key = key.into_inner();
    let b = body.into_inner();
    let (k, uuid) = (key.clone(), a.tenant_uuid().to_string());
    let by = a.session.agent.email.clone();
    let created = a
        .system(move |c| match own_site(c, &k, &uuid)? {
            true => Ok(Some(notices::create(c, &k, &b.text_de, &b.text_en, &by)?)),
            false => Ok(None),
        })
        .await?;
    let Some(n) = created else {
        return Err(a.denied(format!("site#{key}")).await);
    };
    a.audit("notice.create", &format!("{key}/v{}", n.version))
        .await;
    Ok(HttpResponse::Created().json(n))
}

//! A site's pre-chat form in the dashboard (`/api/sites/{key}/form`, the sites permission).
//! A change is audited as `site.update`, like the site's other settings.

use super::agent::{Agent, Reply, blocking};
use crate::domain::prechat;
use crate::model::forms::Form;
use crate::model::rights::Permission;
use actix_web::HttpResponse;
use actix_web::web::{Json, Path};

/// `GET /api/sites/{key}/form`: the form (`{"fields": [], "departments": []}` when none).
pub async fn get(a: Agent, key: Path<String>) -> Reply {
    a.may(Permission::SitesManage)?;
    let key = key.into_inner();
    let (store, uuid, k) = (
        a.state.store.clone(),
        a.tenant_uuid().to_string(),
        key.clone(),
    );
    match blocking(move || prechat::get(&store, &uuid, &k)).await? {
        Some(form) => Ok(HttpResponse::Ok().json(form)),
        None => Err(a.denied(format!("site#{key}")).await),
    }
}

/// `PUT /api/sites/{key}/form`: replaces the form; refusals name the field (`invalid_input`).
pub async fn put(a: Agent, key: Path<String>, body: Json<Form>) -> Reply {
    a.may_change(Permission::SitesManage)?;
    let key = key.into_inner();
    let (store, uuid, k, at) = (
        a.state.store.clone(),
        a.tenant_uuid().to_string(),
        key.clone(),
        a.now(),
    );
    let saved = blocking(move || prechat::save(&store, &uuid, &k, body.into_inner(), at)).await?;
    let Some(form) = saved else {
        return Err(a.denied(format!("site#{key}")).await);
    };
    a.audit("site.update", &key).await;
    Ok(HttpResponse::Ok().json(form))
}

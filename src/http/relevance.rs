//! A site's visitor-relevance weights in the dashboard (`/api/sites/{key}/relevance`, the sites
//! permission): read, change, reset to the defaults. Changes are audited as `site.relevance`
//! and reach the tenant's hub at once.

use super::agent::{Agent, Reply, blocking};
use crate::domain::relevance;
use crate::model::relevance::Weights;
use crate::model::rights::Permission;
use crate::realtime::hub::Command;
use actix_web::HttpResponse;
use actix_web::web::{Json, Path};

fn body(w: Weights, default: bool) -> serde_json::Value {
    serde_json::json!({ "weights": w, "default": default, "defaults": Weights::default() })
}

/// `GET /api/sites/{key}/relevance`: `{"weights", "default", "defaults"}`.
pub async fn get(a: Agent, key: Path<String>) -> Reply {
    a.may_any(&[Permission::SitesManage, Permission::VisitorsView])?;
    let key = key.into_inner();
    let (store, db, k) = (a.state.store.clone(), a.session.tenant.clone(), key.clone());
    match blocking(move || relevance::get(&store, &db, &k)).await? {
        Some((w, default)) => Ok(HttpResponse::Ok().json(body(w, default))),
        None => Err(a.denied(format!("site#{key}")).await),
    }
}

/// `PUT /api/sites/{key}/relevance` with the six weights (0-10 each).
pub async fn put(a: Agent, key: Path<String>, w: Json<Weights>) -> Reply {
    change(a, key.into_inner(), Some(w.into_inner())).await
}

/// `DELETE /api/sites/{key}/relevance`: back to the defaults.
pub async fn reset(a: Agent, key: Path<String>) -> Reply {
    change(a, key.into_inner(), None).await
}

async fn change(a: Agent, key: String, w: Option<Weights>) -> Reply {
    a.may_change(Permission::SitesManage)?;
    let (store, db, k) = (a.state.store.clone(), a.session.tenant.clone(), key.clone());
    if !blocking(move || relevance::put(&store, &db, &k, w)).await? {
        return Err(a.denied(format!("site#{key}")).await);
    }
    a.audit("site.relevance", &key).await;
    a.tell_hub(Command::RulesChanged);
    Ok(HttpResponse::Ok().json(body(w.unwrap_or_default(), w.is_none())))
}

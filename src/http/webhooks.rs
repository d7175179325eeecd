//! Webhooks in the dashboard (settings permission): the endpoints with their events, the secret
//! shown once (at creation and at each rotation), the delivery log with each receiver's
//! answer, and a test event.

use super::agent::{Agent, Reply, blocking};
use crate::domain::webhooks::{self, EndpointInput};
use crate::error::ApiError;
use crate::model::rights::Permission;
use crate::model::webhooks::EVENTS;
use crate::store::webhooks as store;
use actix_web::HttpResponse;
use actix_web::web::{Json, Path, Query};
use serde::Deserialize;

/// Checks an endpoint's values, its address resolved and every address checked (off the
/// async threads: DNS blocks). A refused address is logged: it may be a probe.
async fn checked(a: &Agent, body: Json<EndpointInput>) -> Result<EndpointInput, ApiError> {
    let mut input = body.into_inner();
    let config = a.state.hooks.config.clone();
    let tenant = a.tenant_uuid().to_string();
    blocking(move || {
        webhooks::check_endpoint(&mut input, &config).inspect_err(|e| {
            tracing::warn!(tenant, error = %e, "webhook endpoint refused");
        })?;
        Ok(input)
    })
    .await
}

/// `GET /api/webhooks`: `{events, endpoints, backlog}`.
pub async fn list(a: Agent) -> Reply {
    a.may(Permission::SettingsManage)?;
    let (endpoints, backlog) = a
        .read(|c| Ok((store::endpoints(c)?, store::backlog(c)?)))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "events": EVENTS,
        "endpoints": endpoints,
        "backlog": backlog,
    })))
}

/// `POST /api/webhooks` `{url, events, enabled?, description?}`: 201 `{endpoint, secret}`;
/// the secret is shown this once.
pub async fn create(a: Agent, body: Json<EndpointInput>) -> Reply {
    a.may_change(Permission::SettingsManage)?;
    let input = checked(&a, body).await?;
    let now = a.now();
    let (endpoint, secret) = a
        .db(move |c| {
            let (id, secret) = webhooks::create(c, &input, now)?;
            Ok((store::endpoint(c, id)?, secret))
        })
        .await?;
    let endpoint = endpoint.ok_or_else(ApiError::not_found)?;
    a.audit("webhook.create", &format!("webhook#{}", endpoint.id))
        .await;
    Ok(HttpResponse::Created().json(serde_json::json!({ "endpoint": endpoint, "secret": secret })))
}

/// `PUT /api/webhooks/{id}` (body as for creating): the endpoint as saved.
pub async fn update(a: Agent, id: Path<i64>, body: Json<EndpointInput>) -> Reply {
    a.may_change(Permission::SettingsManage)?;
    let id = id.into_inner();
    let input = checked(&a, body).await?;
    let endpoint = a
        .db(move |c| {
            webhooks::update(c, id, &input)?;
            store::endpoint(c, id)
        })
        .await?
        .ok_or_else(ApiError::not_found)?;
    // Enabled again: its waiting deliveries are due.
    a.state.hooks.wake(a.tenant_uuid());
    a.audit("webhook.update", &format!("webhook#{id}")).await;
    Ok(HttpResponse::Ok().json(endpoint))
}

/// `DELETE /api/webhooks/{id}`: the endpoint and its delivery log.
pub async fn delete(a: Agent, id: Path<i64>) -> Reply {
    a.may_change(Permission::SettingsManage)?;
    let id = id.into_inner();
    a.db(move |c| webhooks::delete(c, id)).await?;
    a.audit("webhook.delete", &format!("webhook#{id}")).await;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/webhooks/{id}/secret`: a new secret, `{secret}`, shown this once; the old one
/// stops signing at once.
pub async fn rotate(a: Agent, id: Path<i64>) -> Reply {
    a.may_change(Permission::SettingsManage)?;
    let id = id.into_inner();
    let secret = a.db(move |c| webhooks::rotate(c, id)).await?;
    a.audit("webhook.rotate", &format!("webhook#{id}")).await;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "secret": secret })))
}

/// `POST /api/webhooks/{id}/test`: queues a `webhook.test` event for the endpoint; 202
/// `{delivery_id}` (its fate shows in the delivery log).
pub async fn test(a: Agent, id: Path<i64>) -> Reply {
    a.may_change(Permission::SettingsManage)?;
    let (id, now) = (id.into_inner(), a.now());
    let delivery_id = a.db(move |c| webhooks::send_test(c, id, now)).await?;
    a.state.hooks.wake(a.tenant_uuid());
    a.audit("webhook.test", &format!("webhook#{id}")).await;
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "delivery_id": delivery_id })))
}

/// Query of the delivery log.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// One endpoint's deliveries only.
    endpoint: Option<i64>,
}

/// `GET /api/webhooks/deliveries[?endpoint=ID]`: the newest 200 deliveries, `{deliveries}`,
/// each with its state, tries, the receiver's last status and the start of its answer.
pub async fn deliveries(a: Agent, q: Query<LogQuery>) -> Reply {
    a.may(Permission::SettingsManage)?;
    let endpoint = q.endpoint;
    let rows = a.read(move |c| store::deliveries(c, endpoint, 200)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "deliveries": rows })))
}

//! Live visitors, statistics, campaigns and goals, and sites: the dashboard's own handlers
//! (same permissions, same checks), under the public API's paths.

use crate::http::agent::{Agent, Reply};
use crate::http::campaigns::{Campaigns, Goals};
use crate::http::crud;
use crate::http::stats::{self, PeriodQuery};
use crate::model::rights::Permission;
use crate::realtime::hub::Command;
use crate::store::campaigns::{Campaign, Goal};
use actix_web::HttpResponse;
use actix_web::web::{Json, Path, Query};
use serde_json::Value;

/// Every live visitor (what the dashboard's visitor list shows).
#[utoipa::path(get, path = "/api/v1/visitors", tag = "visitors",
    responses((status = 200, body = Value, description = "`{\"now\": …, \"visitors\": [...]}`"),
              (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn visitors(a: Agent) -> Reply {
    a.may(Permission::VisitorsView)?;
    let (reply, answer) = tokio::sync::oneshot::channel();
    a.tell_started_hub(Command::LiveVisitors(reply)).await?;
    let frame = answer.await.map_err(|_| {
        crate::error::ApiError::of(crate::error::Code::Busy, "the server is busy; retry")
    })?;
    let mut body = serde_json::to_value(&frame).unwrap_or(Value::Null);
    if let Some(o) = body.as_object_mut() {
        o.remove("type");
        o.remove("more");
    }
    let n = body["visitors"].as_array().map_or(0, Vec::len);
    a.read_logged("visitors", &format!("list ({n} visitors)"));
    Ok(HttpResponse::Ok().json(body))
}

/// The period's figures and breakdowns (`from`, `to`: `YYYY-MM-DD`, default the last 30 days).
#[utoipa::path(get, path = "/api/v1/stats", tag = "statistics",
    params(("from" = Option<String>, Query, description = "First day, YYYY-MM-DD"),
           ("to" = Option<String>, Query, description = "Last day, YYYY-MM-DD")),
    responses((status = 200, body = Value, description = "Headline figures, the previous period's, breakdowns"),
              (status = 400, body = super::ErrorBody), (status = 401, body = super::ErrorBody),
              (status = 403, body = super::ErrorBody)))]
pub async fn stats(a: Agent, q: Query<PeriodQuery>) -> Reply {
    stats::show(a, q).await
}

/// One table of the period as CSV (`table`: see docs/statistics.md).
#[utoipa::path(get, path = "/api/v1/stats.csv", tag = "statistics",
    params(("from" = Option<String>, Query, description = "First day, YYYY-MM-DD"),
           ("to" = Option<String>, Query, description = "Last day, YYYY-MM-DD"),
           ("table" = Option<String>, Query, description = "Which table")),
    responses((status = 200, description = "CSV", content_type = "text/csv"),
              (status = 400, body = super::ErrorBody), (status = 401, body = super::ErrorBody),
              (status = 403, body = super::ErrorBody)))]
pub async fn stats_csv(a: Agent, q: Query<PeriodQuery>) -> Reply {
    stats::csv(a, q).await
}

/// Campaigns.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns",
    responses((status = 200, body = Value, description = "`{\"campaigns\": [Campaign]}`"),
              (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn campaigns(a: Agent) -> Reply {
    crud::list::<Campaigns>(a).await
}

/// A new campaign.
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", request_body = Campaign,
    responses((status = 201, body = Campaign), (status = 400, body = super::ErrorBody),
              (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
              (status = 409, body = super::ErrorBody)))]
pub async fn campaign_create(a: Agent, body: Json<Campaign>) -> Reply {
    crud::create::<Campaigns>(a, body).await
}

/// Changes a campaign.
#[utoipa::path(put, path = "/api/v1/campaigns/{id}", tag = "campaigns", request_body = Campaign,
    params(("id" = i64, Path, description = "The campaign's id")),
    responses((status = 200, body = Campaign), (status = 400, body = super::ErrorBody),
              (status = 401, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub async fn campaign_update(a: Agent, id: Path<i64>, body: Json<Campaign>) -> Reply {
    crud::update::<Campaigns>(a, id, body).await
}

/// Deletes a campaign.
#[utoipa::path(delete, path = "/api/v1/campaigns/{id}", tag = "campaigns",
    params(("id" = i64, Path, description = "The campaign's id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = super::ErrorBody),
              (status = 404, body = super::ErrorBody)))]
pub async fn campaign_delete(a: Agent, id: Path<i64>) -> Reply {
    crud::delete::<Campaigns>(a, id).await
}

/// Goals.
#[utoipa::path(get, path = "/api/v1/goals", tag = "campaigns",
    responses((status = 200, body = Value, description = "`{\"goals\": [Goal]}`"),
              (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn goals(a: Agent) -> Reply {
    crud::list::<Goals>(a).await
}

/// A new goal.
#[utoipa::path(post, path = "/api/v1/goals", tag = "campaigns", request_body = Goal,
    responses((status = 201, body = Goal), (status = 400, body = super::ErrorBody),
              (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
              (status = 409, body = super::ErrorBody)))]
pub async fn goal_create(a: Agent, body: Json<Goal>) -> Reply {
    crud::create::<Goals>(a, body).await
}

/// Changes a goal.
#[utoipa::path(put, path = "/api/v1/goals/{id}", tag = "campaigns", request_body = Goal,
    params(("id" = i64, Path, description = "The goal's id")),
    responses((status = 200, body = Goal), (status = 400, body = super::ErrorBody),
              (status = 401, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub async fn goal_update(a: Agent, id: Path<i64>, body: Json<Goal>) -> Reply {
    crud::update::<Goals>(a, id, body).await
}

/// Deletes a goal.
#[utoipa::path(delete, path = "/api/v1/goals/{id}", tag = "campaigns",
    params(("id" = i64, Path, description = "The goal's id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = super::ErrorBody),
              (status = 404, body = super::ErrorBody)))]
pub async fn goal_delete(a: Agent, id: Path<i64>) -> Reply {
    crud::delete::<Goals>(a, id).await
}

/// The tenant's sites with their settings and embed snippet.
#[utoipa::path(get, path = "/api/v1/sites", tag = "sites",
    responses((status = 200, body = Value, description = "`{\"sites\": [...]}`"),
              (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn sites(a: Agent) -> Reply {
    crate::http::visitors::sites(a).await
}

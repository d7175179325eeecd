//! Campaigns and goals (the campaigns permission): list, create, change, delete. Each change is audited and
//! makes the tenant's hub read them again.

use super::State;
use super::client::Client;
use super::session::{AgentSession, audit, require, require_csrf};
use crate::domain::auth::Session;
use crate::error::ApiError;
use crate::model::rights::Permission;
use crate::store::campaigns::{self as cstore, Campaign, Goal};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

fn manages_campaigns(s: &Session) -> Result<(), ApiError> {
    require(s, Permission::CampaignsManage)
}

/// `GET /api/campaigns`.
pub async fn list(session: AgentSession) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    manages_campaigns(&s)?;
    let rows = web::block(move || s.tenant.with(|c| cstore::list_campaigns(c))).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "campaigns": rows })))
}

/// `POST /api/campaigns`.
pub async fn create(
    req: HttpRequest,
    state: State,
    client: Client,
    session: AgentSession,
    body: web::Json<Campaign>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    manages_campaigns(&s)?;
    let row = cstore::check_campaign(&body)?;
    let (db, at) = (s.tenant.clone(), state.clock.now());
    let saved = web::block(move || db.with(|c| cstore::insert_campaign(c, &row, at))).await??;
    audit(
        &s,
        &client,
        "campaign.create",
        &format!("campaign#{}", saved.id),
        "success",
    )
    .await;
    super::visitors::rules_changed(&state, &s);
    Ok(HttpResponse::build(StatusCode::CREATED).json(saved))
}

/// `PUT /api/campaigns/{id}`.
pub async fn update(
    req: HttpRequest,
    state: State,
    client: Client,
    session: AgentSession,
    id: web::Path<i64>,
    body: web::Json<Campaign>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    manages_campaigns(&s)?;
    let id = id.into_inner();
    let row = cstore::check_campaign(&body)?;
    let db = s.tenant.clone();
    let saved = web::block(move || db.with(|c| cstore::update_campaign(c, id, &row))).await??;
    let Some(saved) = saved else {
        return Err(ApiError::not_found());
    };
    audit(
        &s,
        &client,
        "campaign.update",
        &format!("campaign#{id}"),
        "success",
    )
    .await;
    super::visitors::rules_changed(&state, &s);
    Ok(HttpResponse::Ok().json(saved))
}

/// `DELETE /api/campaigns/{id}`.
pub async fn delete(
    req: HttpRequest,
    state: State,
    client: Client,
    session: AgentSession,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    manages_campaigns(&s)?;
    let id = id.into_inner();
    let db = s.tenant.clone();
    if !web::block(move || db.with(|c| cstore::delete_campaign(c, id))).await?? {
        return Err(ApiError::not_found());
    }
    audit(
        &s,
        &client,
        "campaign.delete",
        &format!("campaign#{id}"),
        "success",
    )
    .await;
    super::visitors::rules_changed(&state, &s);
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/goals`.
pub async fn goals(session: AgentSession) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    manages_campaigns(&s)?;
    let rows = web::block(move || s.tenant.with(|c| cstore::list_goals(c))).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "goals": rows })))
}

/// `POST /api/goals`.
pub async fn create_goal(
    req: HttpRequest,
    state: State,
    client: Client,
    session: AgentSession,
    body: web::Json<Goal>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    manages_campaigns(&s)?;
    let (goal, value) = cstore::check_goal(&body)?;
    let (db, at) = (s.tenant.clone(), state.clock.now());
    let saved = web::block(move || db.with(|c| cstore::insert_goal(c, &goal, value, at))).await??;
    audit(
        &s,
        &client,
        "goal.create",
        &format!("goal#{}", saved.id),
        "success",
    )
    .await;
    super::visitors::rules_changed(&state, &s);
    Ok(HttpResponse::build(StatusCode::CREATED).json(saved))
}

/// `PUT /api/goals/{id}`.
pub async fn update_goal(
    req: HttpRequest,
    state: State,
    client: Client,
    session: AgentSession,
    id: web::Path<i64>,
    body: web::Json<Goal>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    manages_campaigns(&s)?;
    let id = id.into_inner();
    let (goal, value) = cstore::check_goal(&body)?;
    let db = s.tenant.clone();
    let g2 = goal.clone();
    if !web::block(move || db.with(|c| cstore::update_goal(c, id, &g2, value))).await?? {
        return Err(ApiError::not_found());
    }
    audit(&s, &client, "goal.update", &format!("goal#{id}"), "success").await;
    super::visitors::rules_changed(&state, &s);
    Ok(HttpResponse::Ok().json(Goal { id, ..goal }))
}

/// `DELETE /api/goals/{id}`.
pub async fn delete_goal(
    req: HttpRequest,
    state: State,
    client: Client,
    session: AgentSession,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    manages_campaigns(&s)?;
    let id = id.into_inner();
    let db = s.tenant.clone();
    if !web::block(move || db.with(|c| cstore::delete_goal(c, id))).await?? {
        return Err(ApiError::not_found());
    }
    audit(&s, &client, "goal.delete", &format!("goal#{id}"), "success").await;
    super::visitors::rules_changed(&state, &s);
    Ok(HttpResponse::NoContent().finish())
}

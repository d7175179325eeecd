//! Data protection in the dashboard: the retention periods (`/api/retention`) and
//! data-subject requests (`/api/gdpr/…`: find, export, rectify, erase, the deletion
//! protocols). Each needs its permission; every action is audited.

use super::client::Client;
use super::session::{AgentSession, audit, require, require_csrf};
use crate::domain::auth::Session;
use crate::domain::privacy::{self, Actor};
use crate::error::ApiError;
use crate::model::rights::Permission;
use crate::store::gdpr::{self, By};
use crate::store::retention::{self, Retention};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

/// `GET /api/retention`: the periods and their defaults.
pub async fn show(session: AgentSession) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require(&s, Permission::SettingsManage)?;
    let r = web::block(move || s.tenant.with(|c| retention::get(c))).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "retention": r,
        "defaults": Retention::default(),
        "max_days": retention::MAX_DAYS,
    })))
}

/// `PUT /api/retention`: all periods at once.
pub async fn update(
    req: HttpRequest,
    client: Client,
    session: AgentSession,
    body: web::Json<Retention>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    require(&s, Permission::SettingsManage)?;
    let r = body.into_inner().check()?;
    let db = s.tenant.clone();
    let r = web::block(move || db.with(|c| retention::set(c, r))).await??;
    audit(&s, &client, "retention.update", "", "success").await;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "retention": r })))
}

/// A data-subject request's subject: `?by=email&value=…`.
#[derive(Deserialize)]
pub struct SubjectQuery {
    by: String,
    value: String,
}

fn actor_of<'a>(s: &'a Session, client: &'a Client, ip: &'a str) -> Actor<'a> {
    Actor {
        name: &s.agent.email,
        role: &s.agent.role,
        ip,
        request_id: &client.request_id,
    }
}

/// `GET /api/gdpr/find?by=&value=`: what is stored about the person.
pub async fn find(
    session: AgentSession,
    client: Client,
    q: web::Query<SubjectQuery>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require(&s, Permission::GdprHandle)?;
    let by = By::parse(&q.by, &q.value)?;
    let found = web::block(move || {
        let ip = client.shown_ip();
        privacy::find(&s.tenant, &by, &actor_of(&s, &client, &ip))
    })
    .await??;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(found))
}

/// `GET /api/gdpr/export?by=&value=`: the archive (JSON, HTML transcripts, files) as a download.
pub async fn export(
    state: super::State,
    session: AgentSession,
    client: Client,
    q: web::Query<SubjectQuery>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require(&s, Permission::GdprHandle)?;
    let by = By::parse(&q.by, &q.value)?;
    let kind = by.kind();
    let now = state.clock.now();
    let tar = web::block(move || -> crate::error::Result<Vec<u8>> {
        let ip = client.shown_ip();
        let (_, files) = privacy::export(&s.tenant, &by, &actor_of(&s, &client, &ip))?;
        let mut out = Vec::new();
        gdpr::write_tar(&files, &mut out, now)?;
        Ok(out)
    })
    .await??;
    let day = crate::store::period::day_of(now);
    Ok(HttpResponse::Ok()
        .content_type("application/x-tar")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"kontor-export-{kind}-{day}.tar\""),
        ))
        .body(tar))
}

/// Body of `POST /api/gdpr/rectify`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RectifyBody {
    by: String,
    value: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// `POST /api/gdpr/rectify`: a new name and/or email on everything found.
pub async fn rectify(
    req: HttpRequest,
    session: AgentSession,
    client: Client,
    body: web::Json<RectifyBody>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    require(&s, Permission::GdprHandle)?;
    let b = body.into_inner();
    let by = By::parse(&b.by, &b.value)?;
    let updated = web::block(move || {
        let ip = client.shown_ip();
        privacy::rectify(
            &s.tenant,
            &by,
            b.name.as_deref(),
            b.email.as_deref(),
            &actor_of(&s, &client, &ip),
        )
    })
    .await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "updated": updated })))
}

/// Body of `POST /api/gdpr/erase`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EraseBody {
    by: String,
    value: String,
    confirm: bool,
}

/// `POST /api/gdpr/erase`: deletes everything of the person; answers the deletion protocol.
pub async fn erase(
    req: HttpRequest,
    state: super::State,
    session: AgentSession,
    client: Client,
    body: web::Json<EraseBody>,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require_csrf(&req, &client, &s)?;
    require(&s, Permission::GdprHandle)?;
    let b = body.into_inner();
    let by = By::parse(&b.by, &b.value)?;
    if !b.confirm {
        return Err(crate::error::Error::Invalid("confirm the erasure".into()).into());
    }
    let protocol = web::block(move || {
        let ip = client.shown_ip();
        privacy::erase(&state.store, &s.tenant, &by, &actor_of(&s, &client, &ip))
    })
    .await??;
    Ok(HttpResponse::Ok().json(protocol))
}

/// `GET /api/gdpr/erasures`: the tenant's deletion protocols, newest first.
pub async fn erasures(
    state: super::State,
    session: AgentSession,
) -> Result<HttpResponse, ApiError> {
    let s = session.0;
    require(&s, Permission::GdprHandle)?;
    let list = web::block(move || privacy::protocols(&state.store, &s.tenant)).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "erasures": list })))
}

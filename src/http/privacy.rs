//! Data protection in the dashboard: the retention periods (`/api/retention`) and
//! data-subject requests (`/api/gdpr/…`: find, export, rectify, erase, the deletion
//! protocols). Each needs its permission; every action is audited.

use super::agent::{Agent, Reply, blocking};
use crate::domain::privacy::{self, Actor};
use crate::domain::restriction;
use crate::error::ApiError;
use crate::model::rights::Permission;
use crate::store::gdpr::{self, By};
use crate::store::retention::{self, Retention};
use crate::store::{Store, TenantDb};
use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::{Json, Query};
use serde::Deserialize;

/// `GET /api/retention`: the periods and their defaults.
pub async fn show(a: Agent) -> Reply {
    a.may(Permission::SettingsManage)?;
    let r = a.db(|c| retention::get(c)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "retention": r,
        "defaults": Retention::default(),
        "max_days": retention::MAX_DAYS,
    })))
}

/// `PUT /api/retention`: all periods at once.
pub async fn update(a: Agent, body: Json<Retention>) -> Reply {
    a.may_change(Permission::SettingsManage)?;
    let r = body.into_inner().check()?;
    let r = a.db(move |c| retention::set(c, r)).await?;
    a.audit("retention.update", "").await;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "retention": r })))
}

/// A data-subject request's subject: `?by=email&value=…`.
#[derive(Deserialize)]
pub struct SubjectQuery {
    by: String,
    value: String,
}

/// Runs a data-subject request off the async threads, as the signed-in agent (the privacy
/// log names them, their role, address and request).
pub(super) async fn as_agent<T: Send + 'static>(
    a: &Agent,
    f: impl FnOnce(&Store, &TenantDb, &Actor) -> crate::error::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let (store, db) = (a.state.store.clone(), a.session.tenant.clone());
    let (name, role) = (a.actor(), a.session.agent.role.clone());
    let (ip, request_id) = (a.client.shown_ip(), a.client.request_id.clone());
    let run = move || {
        let actor = Actor {
            name: &name,
            role: &role,
            ip: &ip,
            request_id: &request_id,
        };
        f(&store, &db, &actor)
    };
    blocking(run).await
}

/// `GET /api/gdpr/find?by=&value=`: what is stored about the person.
pub async fn find(a: Agent, q: Query<SubjectQuery>) -> Reply {
    a.may(Permission::GdprHandle)?;
    let by = By::parse(&q.by, &q.value)?;
    a.read_logged("gdpr.find", &privacy::pseudonym(&a.session.tenant, &by));
    let found = as_agent(&a, move |_, db, actor| privacy::find(db, &by, actor)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(found))
}

/// `GET /api/gdpr/export?by=&value=`: the archive (JSON, HTML transcripts, files) as a download.
pub async fn export(a: Agent, q: Query<SubjectQuery>) -> Reply {
    a.may(Permission::GdprHandle)?;
    let by = By::parse(&q.by, &q.value)?;
    a.read_logged("gdpr.export", &privacy::pseudonym(&a.session.tenant, &by));
    let kind = by.kind();
    let now = a.now();
    let tar = as_agent(&a, move |_, db, actor| {
        let (_, files) = privacy::export(db, &by, actor)?;
        let mut out = Vec::new();
        gdpr::write_tar(&files, &mut out, now)?;
        Ok(out)
    })
    .await?;
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
pub async fn rectify(a: Agent, body: Json<RectifyBody>) -> Reply {
    a.may_change(Permission::GdprHandle)?;
    let b = body.into_inner();
    let by = By::parse(&b.by, &b.value)?;
    let (name, email) = (b.name, b.email);
    let updated = as_agent(&a, move |_, db, actor| {
        privacy::rectify(db, &by, name.as_deref(), email.as_deref(), actor)
    })
    .await?;
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
pub async fn erase(a: Agent, body: Json<EraseBody>) -> Reply {
    a.may_change(Permission::GdprHandle)?;
    let b = body.into_inner();
    let by = By::parse(&b.by, &b.value)?;
    if !b.confirm {
        return Err(crate::error::Error::Invalid("confirm the erasure".into()).into());
    }
    let rt = a.state.realtime.clone();
    let protocol = as_agent(&a, move |store, db, actor| {
        privacy::erase(store, db, &by, actor, &|s| rt.forget(&db.uuid, s))
    })
    .await?;
    Ok(HttpResponse::Ok().json(protocol))
}

/// `GET /api/gdpr/erasures`: the tenant's deletion protocols, newest first.
pub async fn erasures(a: Agent) -> Reply {
    a.may(Permission::GdprHandle)?;
    let list = as_agent(&a, |store, db, _| privacy::protocols(store, db)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "erasures": list })))
}

/// Body of `POST /api/gdpr/restrict`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestrictBody {
    by: String,
    value: String,
    reason: String,
}

/// `POST /api/gdpr/restrict`: restricts processing of everything of the person (Art. 18).
pub async fn restrict(a: Agent, body: Json<RestrictBody>) -> Reply {
    a.may_change(Permission::GdprHandle)?;
    let b = body.into_inner();
    let by = By::parse(&b.by, &b.value)?;
    let at = a.now();
    let r = as_agent(&a, move |_, db, actor| {
        restriction::restrict(db, &by, &b.reason, actor, at)
    })
    .await?;
    Ok(HttpResponse::Created().json(r))
}

/// `POST /api/gdpr/unrestrict`: lifts the restrictions that cover the person.
pub async fn unrestrict(a: Agent, body: Json<SubjectQuery>) -> Reply {
    a.may_change(Permission::GdprHandle)?;
    let b = body.into_inner();
    let by = By::parse(&b.by, &b.value)?;
    let at = a.now();
    let lifted = as_agent(&a, move |_, db, actor| {
        restriction::unrestrict(db, &by, actor, at)
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "lifted": lifted })))
}

/// `GET /api/gdpr/restrictions`: every restriction, newest first.
pub async fn restrictions(a: Agent) -> Reply {
    a.may(Permission::GdprHandle)?;
    let list = as_agent(&a, |_, db, _| restriction::list(db)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "restrictions": list })))
}

/// `DELETE /api/gdpr/restrictions/{id}`: lifts one restriction.
pub async fn lift(a: Agent, id: actix_web::web::Path<i64>) -> Reply {
    a.may_change(Permission::GdprHandle)?;
    let (id, at) = (id.into_inner(), a.now());
    let r = as_agent(&a, move |_, db, actor| restriction::lift(db, id, actor, at)).await?;
    Ok(HttpResponse::Ok().json(r))
}

/// Query of `GET /api/privacy/report`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    lang: Option<String>,
}

/// `GET /api/privacy/report?format=html|md&lang=de|en`: the record of technical and
/// organisational measures as configured here, as a download (the settings permission).
pub async fn report(a: Agent, q: Query<ReportQuery>) -> Reply {
    a.may(Permission::SettingsManage)?;
    let q = q.into_inner();
    let html = match q.format.as_deref().unwrap_or("html") {
        "html" => true,
        "md" => false,
        _ => return Err(ApiError::bad_request("format: html or md")),
    };
    let lang = match q.lang.as_deref().unwrap_or("en") {
        "de" => crate::i18n::Lang::De,
        "en" => crate::i18n::Lang::En,
        _ => return Err(ApiError::bad_request("lang: de or en")),
    };
    let facts = crate::domain::privacy_report::ServerFacts::of(&a.state.config);
    let now = a.now();
    let text = as_agent(&a, move |store, db, _| {
        let r = crate::domain::privacy_report::build(store, db, &facts, lang, now)?;
        Ok(match html {
            true => crate::domain::privacy_report::html(&r, lang),
            false => crate::domain::privacy_report::markdown(&r),
        })
    })
    .await?;
    let (kind, ext) = match html {
        true => ("text/html; charset=utf-8", "html"),
        false => ("text/markdown; charset=utf-8", "md"),
    };
    let day = crate::store::period::day_of(now);
    Ok(HttpResponse::Ok()
        .content_type(kind)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"kontor-measures-{day}.{ext}\""),
        ))
        .body(text))
}

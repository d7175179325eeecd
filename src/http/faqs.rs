//! A site's questions and answers: edited in the dashboard (`/api/sites/{key}/faqs…`, the
//! sites permission; changes audited as `site.update`), read by the chat frame
//! (`GET /api/widget/faq`) and counted when a visitor opens an answer
//! (`POST /api/widget/faq-view`: a count per day and entry, nothing about the visitor).

use super::State;
use super::agent::{Agent, Reply, blocking};
use super::client::Client;
use crate::domain::{faqs, intrusion};
use crate::error::{ApiError, Code};
use crate::model::faq::Entry;
use crate::model::rights::Permission;
use crate::store::Store;
use actix_web::http::header;
use actix_web::web::{Json, Path, Query};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

/// Runs `work(store, tenant, site key)` off the async threads; `None` (the tenant has no such
/// site) answers like any denied access: recorded, and 404.
async fn for_site<T: Send + 'static>(
    a: &Agent,
    key: &str,
    work: impl FnOnce(&Store, &str, &str) -> crate::error::Result<Option<T>> + Send + 'static,
) -> Result<T, ApiError> {
    let (store, uuid, k) = (
        a.state.store.clone(),
        a.tenant_uuid().to_string(),
        key.to_string(),
    );
    match blocking(move || work(&store, &uuid, &k)).await? {
        Some(v) => Ok(v),
        None => Err(a.denied(format!("site#{key}")).await),
    }
}

/// `GET /api/sites/{key}/faqs`: `{"faqs": [{id, question_de, answer_de, question_en,
/// answer_en, position}]}` in their order.
pub async fn list(a: Agent, key: Path<String>) -> Reply {
    a.may(Permission::SitesManage)?;
    let list = for_site(&a, &key, faqs::list).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "faqs": list })))
}

/// `POST /api/sites/{key}/faqs`: a new entry (201 with it); 400 naming the field over its
/// limit, or when the site has 100 already.
pub async fn create(a: Agent, key: Path<String>, body: Json<Entry>) -> Reply {
    a.may_change(Permission::SitesManage)?;
    let (entry, at) = (body.into_inner(), a.now());
    let faq = for_site(&a, &key, move |s, t, k| faqs::create(s, t, k, entry, at)).await?;
    a.audit("site.update", &key).await;
    Ok(HttpResponse::Created().json(faq))
}

/// `PUT /api/sites/{key}/faqs/{id}`: replaces an entry's texts and place.
pub async fn update(a: Agent, path: Path<(String, i64)>, body: Json<Entry>) -> Reply {
    a.may_change(Permission::SitesManage)?;
    let (key, id) = path.into_inner();
    let (entry, at) = (body.into_inner(), a.now());
    let faq = for_site(&a, &key, move |s, t, k| {
        faqs::update(s, t, k, id, entry, at)
    })
    .await?;
    a.audit("site.update", &key).await;
    Ok(HttpResponse::Ok().json(faq))
}

/// `DELETE /api/sites/{key}/faqs/{id}`: removes an entry (its past view counts stay).
pub async fn delete(a: Agent, path: Path<(String, i64)>) -> Reply {
    a.may_change(Permission::SitesManage)?;
    let (key, id) = path.into_inner();
    for_site(&a, &key, move |s, t, k| faqs::delete(s, t, k, id)).await?;
    a.audit("site.update", &key).await;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "id": id, "removed": true })))
}

/// Query of `GET /api/widget/faq`.
#[derive(Deserialize)]
pub struct FaqQuery {
    site: String,
    #[serde(default)]
    lang: String,
}

/// `GET /api/widget/faq?site=KEY&lang=xx`: the site's questions and answers in the widget's
/// language (German for `de`, else English; the other where one is missing), for the chat
/// frame on kontor's own origin. No CORS grant: other pages cannot read it. Cached briefly.
pub async fn for_frame(req: HttpRequest, state: State, q: Query<FaqQuery>) -> Reply {
    let Some(site) = state.tracking.site(&state, &q.site).await? else {
        return Err(ApiError::not_found());
    };
    let lang = super::widget::ui_lang(&q.lang, &req, &site);
    let st = state.clone();
    let body = blocking(move || faqs::for_visitor(&st.store, &site, lang)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .json(body))
}

/// Body of `POST /api/widget/faq-view`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewReport {
    site: String,
    faq: i64,
}

/// `POST /api/widget/faq-view`: the chat frame (kontor's origin) or the site's own pages
/// report that an answer was opened. Counted per day and entry; nothing about the visitor is
/// stored. Rate-limited per address like page-view reports. 204.
pub async fn view(req: HttpRequest, state: State, client: Client, body: Json<ViewReport>) -> Reply {
    if let Err(wait) = state.tracking.take_report(client.ip, state.clock.instant()) {
        intrusion::rate_limited(client.ip, "faq-view");
        return Err(ApiError::of(
            Code::TooManyRequests,
            "too many reports from this address; try again later",
        )
        .with_retry_after(wait));
    }
    let b = body.into_inner();
    let origin = super::client::request_origin(&req);
    let own = !origin.is_empty() && origin == client.origin;
    let Some(site) = state
        .tracking
        .site(&state, &b.site)
        .await?
        .filter(|s| own || s.origins.contains(&origin))
    else {
        intrusion::csrf_refused(client.ip, "faq-view");
        return Err(ApiError::of(
            Code::OriginRefused,
            "this origin may not report to this site",
        ));
    };
    let (st, at) = (state.clone(), state.clock.now());
    blocking(move || faqs::count_view(&st.store, &site, b.faq, at)).await?;
    Ok(HttpResponse::NoContent().finish())
}

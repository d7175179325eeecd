//! Sites in the dashboard (`/api/sites…`, the sites permission): add a site, change its
//! origins, look, words and tracking, upload its logo, remove it. Every change is audited
//! (`site.create`, `site.update`, `site.remove`). `GET /widget/logo/{key}` serves the logo to
//! the chat frame.

use super::State;
use super::agent::{Agent, Reply, blocking};
use crate::domain::sites::{self, SiteChange};
use crate::error::{ApiError, Code, Error};
use crate::model::rights::Permission;
use crate::store::system as sstore;
use crate::store::{SiteRecord, site_logos};
use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::{self, Json, Path};

/// A site as the dashboard reads it: settings, words, whether it has a logo, the snippet.
pub fn site_json(s: &SiteRecord, base_url: &str, logo: Option<i64>) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("tenant_uuid");
        o.insert(
            "snippet".into(),
            sites::embed_snippet(base_url, &s.site_key).into(),
        );
        o.insert(
            "logo".into(),
            logo.map(|at| format!("/widget/logo/{}?v={at}", s.site_key))
                .into(),
        );
    }
    v
}

/// The tenant's site `key`, or `None` (another tenant's site is no different from none).
async fn own_site(a: &Agent, key: &str) -> Result<Option<SiteRecord>, ApiError> {
    let (k, uuid) = (key.to_string(), a.tenant_uuid().to_string());
    a.system(move |c| Ok(sstore::site_by_key(c, &k)?.filter(|s| s.tenant_uuid == uuid)))
        .await
}

/// A site's JSON with its logo's version.
async fn answer(a: &Agent, site: SiteRecord) -> Result<serde_json::Value, ApiError> {
    let k = site.site_key.clone();
    let logo = a.read(move |c| site_logos::version(c, &k)).await?;
    Ok(site_json(&site, &a.client.origin, logo))
}

/// `POST /api/sites`: a new site (`origins` required; everything else as for a change).
pub async fn create(a: Agent, body: Json<SiteChange>) -> Reply {
    a.may_change(Permission::SitesManage)?;
    let clean = sites::apply_change(None, body.into_inner())?;
    let uuid = a.tenant_uuid().to_string();
    let key = sites::new_site_key();
    let k = key.clone();
    let site = a
        .system(move |c| {
            sstore::insert_site(c, &uuid, &k, &clean.origins, &clean.look, &clean.tracking)?;
            write_site(c, &uuid, &k, &clean)
        })
        .await?
        .ok_or_else(|| ApiError::from(Error::Internal("the new site is missing".into())))?;
    a.audit("site.create", &key).await;
    Ok(HttpResponse::Created().json(answer(&a, site).await?))
}

/// Stores a checked site's origins, look, tracking and words; answers it as stored.
fn write_site(
    c: &mut rusqlite::Connection,
    uuid: &str,
    key: &str,
    clean: &sites::CleanSite,
) -> crate::error::Result<Option<sstore::SiteRecord>> {
    sstore::update_site(
        c,
        uuid,
        key,
        &clean.origins,
        &clean.look,
        &clean.tracking,
        &clean.words,
    )?;
    sstore::site_by_key(c, key)
}

/// `PUT /api/sites/{key}`: changes what the body names; the rest stays.
pub async fn update(a: Agent, key: Path<String>, body: Json<SiteChange>) -> Reply {
    a.may_change(Permission::SitesManage)?;
    let key = key.into_inner();
    let Some(site) = own_site(&a, &key).await? else {
        return Err(a.denied(format!("site#{key}")).await);
    };
    let clean = sites::apply_change(Some(&site), body.into_inner())?;
    let (uuid, k) = (a.tenant_uuid().to_string(), key.clone());
    let site = a
        .system(move |c| write_site(c, &uuid, &k, &clean))
        .await?
        .ok_or_else(ApiError::not_found)?;
    a.state.tracking.forget_site(&key);
    a.audit("site.update", &key).await;
    Ok(HttpResponse::Ok().json(answer(&a, site).await?))
}

/// `DELETE /api/sites/{key}`: the widget stops working on the site at once; its chats and
/// statistics stay in the tenant's history (see [`sites::REMOVE_EFFECT`]).
pub async fn remove(a: Agent, key: Path<String>) -> Reply {
    a.may_change(Permission::SitesManage)?;
    let key = key.into_inner();
    let (uuid, k) = (a.tenant_uuid().to_string(), key.clone());
    let removed = a.system(move |c| sstore::delete_site(c, &uuid, &k)).await?;
    if !removed {
        return Err(a.denied(format!("site#{key}")).await);
    }
    let k = key.clone();
    a.db(move |c| crate::store::site_rows::remove(c, &k))
        .await?;
    a.state.tracking.forget_site(&key);
    a.audit("site.remove", &key).await;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "site_key": key,
        "removed": true,
        "effect": sites::REMOVE_EFFECT,
    })))
}

/// `PUT /api/sites/{key}/logo`: the body is the image (PNG, JPEG, WebP or GIF, sniffed, at
/// most 256 KiB), kept in the tenant's database.
pub async fn put_logo(a: Agent, key: Path<String>, body: web::Payload) -> Reply {
    a.may_change(Permission::SitesManage)?;
    let key = key.into_inner();
    let too_large = ApiError::of(
        Code::FileTooLarge,
        format!("logo: at most {} KiB", sites::LOGO_MAX_BYTES / 1024),
    );
    let bytes = super::body::read(body, sites::LOGO_MAX_BYTES, too_large).await?;
    let mime = sites::check_logo(&bytes)?;
    let Some(site) = own_site(&a, &key).await? else {
        return Err(a.denied(format!("site#{key}")).await);
    };
    let (k, at) = (key.clone(), a.now());
    a.db(move |c| site_logos::set(c, &k, mime, &bytes, at))
        .await?;
    a.audit("site.update", &key).await;
    Ok(HttpResponse::Ok().json(answer(&a, site).await?))
}

/// `DELETE /api/sites/{key}/logo`: back to no logo.
pub async fn delete_logo(a: Agent, key: Path<String>) -> Reply {
    a.may_change(Permission::SitesManage)?;
    let key = key.into_inner();
    let Some(site) = own_site(&a, &key).await? else {
        return Err(a.denied(format!("site#{key}")).await);
    };
    let k = key.clone();
    a.db(move |c| site_logos::delete(c, &k)).await?;
    a.audit("site.update", &key).await;
    Ok(HttpResponse::Ok().json(answer(&a, site).await?))
}

/// `GET /widget/logo/{key}`: a site's logo, from kontor's origin, with its sniffed type and
/// `nosniff`. Public like the widget itself.
pub async fn logo(state: State, key: Path<String>) -> Reply {
    let key = key.into_inner();
    let Some(site) = super::widget::site(&state, &key).await? else {
        return Err(ApiError::not_found());
    };
    let st = state.clone();
    let logo = blocking(move || {
        st.store
            .tenant_db(&site.tenant_uuid)?
            .read(|c| site_logos::get(c, &site.site_key))
    })
    .await?
    .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok()
        .content_type(logo.mime)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header(("content-security-policy", "default-src 'none'; sandbox"))
        .insert_header(("cross-origin-resource-policy", "same-origin"))
        .body(logo.data))
}

//! The public online status of a site, for the business's own pages: `GET
//! /api/status/{site_key}` (JSON) and `GET /api/status/{site_key}/badge.svg` (an image).
//! Counts only, never who: no agent name, id or status leaves here. Only the site's origins
//! get a CORS grant; answers are kept for a few seconds, so a busy page costs the hub and the
//! database one look per site every few seconds.

use super::State;
use crate::domain::conversation::Online;
use crate::domain::hours;
use crate::error::{ApiError, Error};
use crate::i18n::{self, Lang};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an answer is kept (here and, through `Cache-Control`, in browsers and proxies).
const TTL: Duration = Duration::from_secs(5);
/// Sites kept at most; past this the cache starts over (site keys are random, so a flood of
/// unknown ones is answered 404 without being kept).
const MAX_SITES: usize = 10_000;

/// A site's status as the public sees it.
#[derive(Debug, Clone, Serialize)]
pub struct SiteStatus {
    /// Within business hours now (always, when none are set).
    pub open: bool,
    /// Open and at least one agent takes chats: the widget offers a chat, not the form.
    pub available: bool,
    /// Agents who take chats now.
    pub agents_online: usize,
    /// Whether business hours are set.
    pub hours: bool,
    /// While closed: the next opening (RFC 3339, UTC).
    pub next_open: Option<String>,
    /// The departments the site's pre-chat form offers (their names are on the form already).
    pub departments: Vec<DepartmentStatus>,
    /// When this was read (RFC 3339, UTC).
    pub as_of: String,
    #[serde(skip)]
    default_lang: String,
    #[serde(skip)]
    origins: Vec<String>,
}

/// One offered department.
#[derive(Debug, Clone, Serialize)]
pub struct DepartmentStatus {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Within its hours and someone of it takes chats.
    pub available: bool,
    /// Within its business hours.
    pub open: bool,
    /// Its agents who take chats now.
    pub agents_online: usize,
}

/// Answers kept per site key.
#[derive(Default)]
pub struct Cache(Mutex<HashMap<String, (Instant, Arc<SiteStatus>)>>);

/// `?lang=de` for the badge's words.
#[derive(Deserialize)]
pub struct BadgeQuery {
    #[serde(default)]
    lang: String,
}

/// `GET /api/status/{site_key}`.
pub async fn show(
    req: HttpRequest,
    state: State,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = status(&state, &key).await?;
    let mut res = cors(&req, &s);
    Ok(res.json(&*s))
}

/// `GET /api/status/{site_key}/badge.svg?lang=de`: "Live chat | online", as an image.
pub async fn badge(
    req: HttpRequest,
    state: State,
    key: web::Path<String>,
    q: web::Query<BadgeQuery>,
) -> Result<HttpResponse, ApiError> {
    let s = status(&state, &key).await?;
    let lang = Lang::parse(&q.lang)
        .or_else(|| Lang::parse(&s.default_lang))
        .unwrap_or(Lang::En);
    let (word, color) = match (s.available, s.open) {
        (true, _) => ("widget.badge_online", "#2e7d32"),
        (false, true) => ("widget.badge_offline", "#616161"),
        (false, false) => ("widget.badge_closed", "#8d3b1f"),
    };
    let svg = svg(
        i18n::t(lang, "widget.badge_label"),
        i18n::t(lang, word),
        color,
    );
    Ok(cors(&req, &s)
        .content_type("image/svg+xml; charset=utf-8")
        // An image with no script or style of its own, shown on the business's pages.
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ))
        .body(svg))
}

/// The response head both answers share: caching, and CORS for the site's origins only.
fn cors(req: &HttpRequest, s: &SiteStatus) -> actix_web::HttpResponseBuilder {
    let mut res = HttpResponse::Ok();
    res.insert_header((
        header::CACHE_CONTROL,
        format!("public, max-age={}", TTL.as_secs()),
    ))
    .insert_header((header::VARY, "Origin"));
    let origin = super::client::request_origin(req);
    if !origin.is_empty() && s.origins.contains(&origin) {
        res.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin));
    }
    res
}

/// The site's status, from the cache while fresh.
async fn status(state: &State, key: &str) -> Result<Arc<SiteStatus>, ApiError> {
    let now = state.clock.instant();
    if let Some((at, s)) = lock(&state.status_cache).get(key)
        && now.duration_since(*at) < TTL
    {
        return Ok(s.clone());
    }
    let s = Arc::new(read(state, key).await?);
    let mut cache = lock(&state.status_cache);
    if cache.len() >= MAX_SITES {
        cache.clear();
    }
    cache.insert(key.to_string(), (now, s.clone()));
    Ok(s)
}

fn lock(c: &Cache) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Arc<SiteStatus>)>> {
    c.0.lock().unwrap_or_else(|e| e.into_inner())
}

/// Reads the site, its hours and its departments, and asks the tenant's hub who is online.
async fn read(state: &State, key: &str) -> Result<SiteStatus, ApiError> {
    let st = state.clone();
    let k = key.to_string();
    let found = web::block(move || -> Result<_, Error> {
        let Some((site, form)) = st.store.system(|c| {
            let Some(site) = crate::store::system::site_by_key(c, &k)? else {
                return Ok(None);
            };
            Ok(Some((site, crate::store::site_forms::get(c, &k)?)))
        })?
        else {
            return Ok(None);
        };
        let now = st.clock.now();
        let offered = form.departments;
        let db = st.store.tenant_db(&site.tenant_uuid)?;
        let (h, status, open_deps, names) = db.read(|c| {
            let (h, status) = hours::site_status(c, &offered, now)?;
            let open = hours::open_by_hours(c, &offered, now)?;
            let names = match offered.is_empty() {
                true => Vec::new(),
                false => crate::store::tenant::list_departments(c)?,
            };
            Ok((h, status, open, names))
        })?;
        let departments: Vec<(i64, String, bool)> = names
            .into_iter()
            .filter(|d| offered.contains(&d.id))
            .map(|d| (d.id, d.name, open_deps.contains(&d.id)))
            .collect();
        Ok(Some((site, h.is_some(), status, departments, now)))
    })
    .await??;
    let Some((site, has_hours, hours, departments, now)) = found else {
        return Err(ApiError::not_found());
    };
    let online = online(state, &site.tenant_uuid).await;
    let departments: Vec<DepartmentStatus> = departments
        .into_iter()
        .map(|(id, name, open)| {
            let agents_online = online.departments.get(&id).copied().unwrap_or(0);
            DepartmentStatus {
                id,
                name,
                available: open && agents_online > 0,
                open,
                agents_online,
            }
        })
        .collect();
    Ok(SiteStatus {
        open: hours.open,
        available: hours.open && online.agents > 0,
        agents_online: online.agents,
        hours: has_hours,
        next_open: match hours.open {
            true => None,
            false => hours
                .next_open
                .map(|t| crate::clock::rfc3339(t.as_second())),
        },
        departments,
        as_of: crate::clock::rfc3339(now),
        default_lang: site.look.lang,
        origins: site.origins,
    })
}

/// Who takes chats, asked of the tenant's hub if it runs (agents online means a hub runs, so
/// a status request never starts one).
async fn online(state: &State, tenant_uuid: &str) -> Online {
    let Some(hub) = state.realtime.running(tenant_uuid) else {
        return Online::default();
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    if !hub.send(crate::realtime::hub::Command::Online(tx)) {
        return Online::default();
    }
    rx.await.unwrap_or_default()
}

/// A two-part badge: the label on grey, the state on its colour. Text is escaped; widths are
/// estimated from the characters (no font is measured), generously.
fn svg(label: &str, state: &str, color: &str) -> String {
    let width = |s: &str| 12 + 7 * s.chars().count();
    let (lw, sw) = (width(label), width(state));
    let total = lw + sw;
    let (label, state) = (escape(label), escape(state));
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{label}: {state}"><title>{label}: {state}</title><rect width="{lw}" height="20" rx="3" fill="#555"/><rect x="{lw}" width="{sw}" height="20" rx="3" fill="{color}"/><rect x="{lw}" width="4" height="20" fill="{color}"/><g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle"><text x="{lx}" y="14">{label}</text><text x="{sx}" y="14">{state}</text></g></svg>"##,
        lx = lw / 2,
        sx = lw + sw / 2,
    )
}

/// XML text and attribute escaping.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badge_text_is_escaped() {
        let s = svg("a<b>&\"", "online", "#2e7d32");
        assert!(s.contains("a&lt;b&gt;&amp;&quot;"), "{s}");
        assert!(!s.contains("<b>"));
    }
}

//! What the widget reaches over HTTP: its config (CORS for the site's origins), the chat
//! iframe (framable only by the site's origins), the transcript and the offline form.

use super::State;
use super::client::Client;
use crate::domain::{agents, email, hours, intrusion};
use crate::error::{ApiError, Code, Error};
use crate::i18n::{self, Lang, business_text};
use crate::model::tenants;
use crate::store::SiteRecord;
use crate::store::chat as cstore;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

/// Query naming a site, and the language the widget asks for (`lang`: the page's `<html lang>`
/// or the browser's first language the widget speaks; empty if neither is one).
#[derive(Deserialize)]
pub struct SiteQuery {
    site: String,
    #[serde(default)]
    lang: String,
}

/// A site by key, looked up off the async threads.
pub async fn site(state: &State, key: &str) -> Result<Option<SiteRecord>, ApiError> {
    let st = state.clone();
    let key = key.to_string();
    Ok(web::block(move || {
        st.store
            .system(|c| crate::store::system::site_by_key(c, &key))
    })
    .await??)
}

/// A site by key with its pre-chat form (whose departments decide which hours the widget
/// follows), in one trip to `system.db`.
async fn site_with_form(
    state: &State,
    key: &str,
) -> Result<Option<(SiteRecord, crate::model::forms::Form)>, ApiError> {
    let st = state.clone();
    let key = key.to_string();
    Ok(web::block(move || {
        st.store.system(|c| {
            let Some(site) = crate::store::system::site_by_key(c, &key)? else {
                return Ok(None);
            };
            Ok(Some((site, crate::store::site_forms::get(c, &key)?)))
        })
    })
    .await??)
}

/// Whether any of the tenant's agents is online (asks the tenant's hub).
async fn any_agent_online(state: &State, tenant_uuid: &str) -> Result<bool, ApiError> {
    let st = state.clone();
    let uuid = tenant_uuid.to_string();
    let hub = web::block(move || st.realtime.hub(&uuid)).await??;
    let (tx, rx) = tokio::sync::oneshot::channel();
    Ok(hub.send(crate::realtime::hub::Command::Available(tx)) && rx.await.unwrap_or(false))
}

/// The departments with an agent online now (asks the tenant's hub).
async fn open_departments(state: &State, tenant_uuid: &str) -> Result<Vec<i64>, ApiError> {
    let st = state.clone();
    let uuid = tenant_uuid.to_string();
    let hub = web::block(move || st.realtime.hub(&uuid)).await??;
    let (tx, rx) = tokio::sync::oneshot::channel();
    if !hub.send(crate::realtime::hub::Command::OpenDepartments(tx)) {
        return Ok(Vec::new());
    }
    Ok(rx.await.unwrap_or_default())
}

/// A site's business hours now (the tenant's default, or with a department choice those of the
/// departments it offers, see `hours::site_status`): open, the next opening (RFC 3339) and,
/// while closed, the sentence telling the visitor when.
struct HoursNow {
    open: bool,
    next_open: Option<String>,
    note: String,
    /// Of the offered departments, those open by their hours.
    open_departments: Vec<i64>,
}

async fn hours_now(
    state: &State,
    tenant_uuid: &str,
    lang: Lang,
    offered: Vec<i64>,
) -> Result<HoursNow, ApiError> {
    let st = state.clone();
    let uuid = tenant_uuid.to_string();
    Ok(web::block(move || -> Result<_, Error> {
        let now = st.clock.now();
        let db = st.store.tenant_db(&uuid)?;
        let (h, status, open_departments) = db.read(|c| {
            let (h, status) = hours::site_status(c, &offered, now)?;
            Ok((h, status, hours::open_by_hours(c, &offered, now)?))
        })?;
        let note = match (&h, status.open) {
            (Some(h), false) => hours::back_text(lang, h, status.next_open, now),
            _ => String::new(),
        };
        Ok(HoursNow {
            open: status.open,
            next_open: status
                .next_open
                .map(|t| crate::clock::rfc3339(t.as_second())),
            note,
            open_departments,
        })
    })
    .await??)
}

/// The widget's language: the one asked for (the loader sends the page's `<html lang>`), else
/// the browser's first language the widget speaks (its `Accept-Language`), else the site's
/// default, else English. The browser's part is decided here to keep the loader small.
pub fn ui_lang(asked: &str, req: &HttpRequest, site: &SiteRecord) -> Lang {
    let accepted = || {
        let header = req.headers().get(header::ACCEPT_LANGUAGE)?;
        Lang::widget_from_accept_language(header.to_str().ok()?)
    };
    Lang::parse(asked)
        .or_else(accepted)
        .or_else(|| Lang::parse(&site.look.lang))
        .unwrap_or(Lang::En)
}

/// `GET /api/widget/config?site=KEY&lang=xx`: how the launcher looks and whether anyone is online.
/// Only the site's origins get a CORS grant; to everyone else the answer is unreadable.
pub async fn config(
    req: HttpRequest,
    state: State,
    client: Client,
    q: web::Query<SiteQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut origin = super::client::request_origin(&req);
    // Browsers send no Origin on same-origin GETs (our own chat frame, the demo page).
    let same_origin = req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        == Some("same-origin");
    if origin.is_empty() && same_origin {
        origin = client.origin.clone();
    }
    // Our own frame may always ask; other pages only from the site's origins.
    let own = !origin.is_empty() && origin == client.origin;
    let Some((site, form)) = site_with_form(&state, &q.site)
        .await?
        .filter(|(s, _)| own || s.origins.contains(&origin))
    else {
        return Err(ApiError::not_found());
    };
    let ui = ui_lang(&q.lang, &req, &site);
    let hours = hours_now(&state, &site.tenant_uuid, ui, form.departments).await?;
    // Outside the business hours nobody counts as available: the widget offers the form.
    let available = hours.open && any_agent_online(&state, &site.tenant_uuid).await?;
    let t = |k| i18n::t(ui, k);
    let w = &site.words;
    // The site's own label for the chat button when it wrote one.
    let label = match business_text(
        ui,
        &site.look.lang,
        &w.launcher_label_de,
        &w.launcher_label_en,
    ) {
        "" => t("widget.title"),
        own => own,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin))
        .insert_header((header::VARY, "Origin"))
        .json(serde_json::json!({
            "position": site.look.position,
            "color": site.look.color,
            // The launcher's text colour on `color`, as the chat frame's header has it.
            "fg": crate::model::sites::text_on(&site.look.color).0,
            "lang": site.look.lang,
            "ui_lang": ui.code(),
            // What the loader itself shows, on the customer's page.
            "text": {
                "title": label,
                "unread": t("widget.unread"),
                "invitation": t("widget.invitation"),
                "accept": t("widget.start"),
                "dismiss": t("widget.no_thanks"),
            },
            "available": available,
            "open": hours.open,
            "next_open": hours.next_open,
            // While closed: "We are back on Monday at 09:00 (Europe/Berlin)." in `ui_lang`.
            "closed_note": hours.note,
            "tracking": site.tracking.mode,
            "strip": site.tracking.strip,
        })))
}

/// `GET /widget/frame?site=KEY&lang=xx`: the chat UI, framable only by the site's origins.
pub async fn frame(
    req: HttpRequest,
    state: State,
    q: web::Query<SiteQuery>,
) -> Result<HttpResponse, ApiError> {
    let Some((site, form)) = site_with_form(&state, &q.site).await? else {
        return Err(ApiError::not_found());
    };
    let lang = ui_lang(&q.lang, &req, &site);
    let hours = hours_now(&state, &site.tenant_uuid, lang, form.departments.clone()).await?;
    let available = hours.open && any_agent_online(&state, &site.tenant_uuid).await?;
    let st = state.clone();
    let uuid = site.tenant_uuid.clone();
    let key = site.site_key.clone();
    let offers = !form.departments.is_empty();
    let (settings, notice, logo, departments) = web::block(move || -> Result<_, Error> {
        let db = st.store.tenant_db(&uuid)?;
        let settings = db.with(|c| cstore::chat_settings(c))?;
        let logo = db.read(|c| crate::store::site_logos::version(c, &key))?;
        let notice = st
            .store
            .system(|c| crate::store::notices::current(c, &key))?;
        let departments = match offers {
            false => Vec::new(),
            true => db.read(|c| crate::store::tenant::list_departments(c))?,
        };
        Ok((settings, notice, logo, departments))
    })
    .await??;
    // A department is open for the visitor while its hours are and one of its agents is online.
    let open: Vec<i64> = match form.departments.is_empty() {
        true => Vec::new(),
        false => open_departments(&state, &site.tenant_uuid)
            .await?
            .into_iter()
            .filter(|d| hours.open_departments.contains(d))
            .collect(),
    };
    let names: Vec<(i64, String)> = departments.into_iter().map(|d| (d.id, d.name)).collect();
    let pick = |de: &str, en: &str| business_text(lang, &site.look.lang, de, en).to_string();
    let form = crate::domain::prechat::for_visitor(&form, pick, &names, &open).to_string();
    let w = &site.words;
    let own = |de: &str, en: &str| business_text(lang, &site.look.lang, de, en).to_string();
    let title = match own(&w.title_de, &w.title_en) {
        t if t.is_empty() => i18n::t(lang, "widget.heading").to_string(),
        t => t,
    };
    let greeting = own(&w.greeting_de, &w.greeting_en);
    let offline = match own(&w.offline_de, &w.offline_en) {
        t if t.is_empty() => i18n::t(lang, "widget.offline_intro").to_string(),
        t => t,
    };
    let logo = logo
        .map(|at| format!("/widget/logo/{}?v={at}", site.site_key))
        .unwrap_or_default();
    // The site's own notice when it has one, else kontor's built-in text (version 1).
    let (notice_text, notice_version) = match &notice {
        Some(n) => (
            business_text(lang, &site.look.lang, &n.text_de, &n.text_en).to_string(),
            n.version.to_string(),
        ),
        None => (i18n::t(lang, "widget.notice").to_string(), "1".to_string()),
    };
    let parents = site.origins.join(" ");
    let html = i18n::render(
        "widget_frame.html",
        lang,
        &[
            ("site_key", &site.site_key),
            ("privacy_url", &site.look.privacy_url),
            ("parents", &parents),
            ("color", &site.look.color),
            ("fg", crate::model::sites::text_on(&site.look.color).0),
            ("available", if available { "true" } else { "false" }),
            // Email on: the chat offers to mail the transcript.
            (
                "email",
                if state.mail.is_some() {
                    "true"
                } else {
                    "false"
                },
            ),
            ("notice", &notice_text),
            // The pre-chat form, as JSON in an attribute (escaped like every value).
            ("form", &form),
            ("notice_version", &notice_version),
            ("title", &title),
            ("greeting", &greeting),
            (
                "greeting_hidden",
                if greeting.is_empty() { "hidden" } else { "" },
            ),
            ("offline_intro", &offline),
            ("hours_note", &hours.note),
            (
                "hours_hidden",
                if hours.note.is_empty() { "hidden" } else { "" },
            ),
            ("logo", &logo),
            (
                "agent_names",
                if w.show_agent_names { "true" } else { "false" },
            ),
            (
                "typing_preview",
                if settings.typing_preview {
                    "true"
                } else {
                    "false"
                },
            ),
        ],
    );
    // Origins were validated to scheme://host[:port] when the site was added, so they are
    // safe to place in the header.
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors {parents}"
    );
    Ok(HttpResponse::Ok()
        .insert_header(("content-security-policy", csp))
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// Body of `POST /api/widget/transcript`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranscriptRequest {
    token: String,
}

/// `POST /api/widget/transcript`: the visitor's conversation as a text file.
pub async fn transcript(
    state: State,
    body: web::Json<TranscriptRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = body.into_inner().token;
    let Some((site_key, _)) = token.split_once('.') else {
        return Err(ApiError::not_found());
    };
    let Some(site) = site(&state, site_key).await? else {
        return Err(ApiError::not_found());
    };
    let st = state.clone();
    let (id, text) = web::block(move || -> Result<_, Error> {
        let db = st.store.tenant_db(&site.tenant_uuid)?;
        db.with(|c| {
            let conv = conversation_of(c, &site, &token)?;
            let lang = Lang::parse(&conv.lang).unwrap_or(Lang::En);
            Ok((conv.id, email::events::transcript_text(c, conv.id, lang)?))
        })
    })
    .await??;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"chat-{id}.txt\""),
        ))
        .body(text))
}

/// Body of `POST /api/widget/transcript-email`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranscriptEmailRequest {
    token: String,
    email: String,
}

/// `POST /api/widget/transcript-email`: the visitor asks for the transcript by email. It is
/// sent when the chat ends (at once if it has ended). 409 when email is off.
pub async fn transcript_email(
    state: State,
    body: web::Json<TranscriptEmailRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let Some(mail) = state.mail.clone() else {
        return Err(Error::Conflict("email is not set up on this server".into()).into());
    };
    let Some((site_key, _)) = b.token.split_once('.') else {
        return Err(ApiError::not_found());
    };
    let Some(site) = site(&state, site_key).await? else {
        return Err(ApiError::not_found());
    };
    let address = agents::normalize_email(&b.email)?;
    let st = state.clone();
    let uuid = site.tenant_uuid.clone();
    let closed = web::block(move || -> Result<_, Error> {
        let db = st.store.tenant_db(&site.tenant_uuid)?;
        let now = st.clock.now();
        db.with(|c| {
            let tx = c.transaction()?;
            let conv = conversation_of(&tx, &site, &b.token)?;
            email::events::ask_for_transcript(&tx, conv.id, &address)?;
            let closed = conv.status == "closed";
            if closed {
                email::events::send_transcript(&tx, &mail, conv.id, now)?;
            }
            tx.commit()?;
            Ok(closed)
        })
    })
    .await??;
    if let Some(m) = &state.mail {
        m.wake(email::Box::Tenant(uuid));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "ok": true, "sent": closed })))
}

/// `POST /api/widget/offline-from-chat` (body as for the transcript by email): a waiting chat
/// nobody took becomes an offline message with what the visitor wrote and this address; the
/// chat goes on waiting. 201 `{id}`; 409 once done, or when an agent has it.
pub async fn offline_from_chat(
    state: State,
    body: web::Json<TranscriptEmailRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let Some((site_key, _)) = b.token.split_once('.') else {
        return Err(ApiError::not_found());
    };
    let Some(site) = site(&state, site_key).await? else {
        return Err(ApiError::not_found());
    };
    agents::normalize_email(&b.email)?;
    let st = state.clone();
    let uuid = site.tenant_uuid.clone();
    let id = web::block(move || -> Result<_, Error> {
        let db = st.store.tenant_db(&site.tenant_uuid)?;
        let now = st.clock.now();
        let origin = site.origins.first().cloned().unwrap_or_default();
        db.with(|c| {
            let conv = conversation_of(c, &site, &b.token)?;
            email::events::offline_from_chat(c, st.mail.as_deref(), conv.id, &b.email, &origin, now)
        })
    })
    .await??;
    state.hooks.wake(&uuid);
    if let Some(m) = &state.mail {
        m.wake(email::Box::Tenant(uuid));
    }
    Ok(HttpResponse::build(StatusCode::CREATED).json(serde_json::json!({ "id": id })))
}

/// The conversation a visitor's token names on this site (a token of another site, or none,
/// is the same "not found").
fn conversation_of(
    c: &rusqlite::Connection,
    site: &SiteRecord,
    token: &str,
) -> Result<cstore::ConversationRow, Error> {
    cstore::conversation_by_token(c, &crate::crypto::token_hash(token))?
        .filter(|cv| cv.site_key == site.site_key)
        .ok_or_else(|| Error::NotFound("conversation".into()))
}

/// Body of `POST /api/widget/offline`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfflineRequest {
    site: String,
    #[serde(default)]
    name: String,
    email: String,
    message: String,
    consent: bool,
    /// The widget's language (the answer by email is written in it where it can be).
    #[serde(default)]
    lang: String,
}

/// `POST /api/widget/offline`: a message for the agents while nobody is online.
pub async fn offline(
    req: HttpRequest,
    state: State,
    client: Client,
    body: web::Json<OfflineRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let Some(site) = site(&state, &b.site).await? else {
        return Err(ApiError::not_found());
    };
    let origin = super::client::request_origin(&req);
    if origin != client.origin && !site.origins.contains(&origin) {
        intrusion::csrf_refused(client.ip, "offline");
        return Err(ApiError::csrf());
    }
    if !b.consent {
        return Err(ApiError::bad_request(
            "the privacy notice must be accepted first",
        ));
    }
    let name = match b.name.trim() {
        "" => String::new(),
        n => tenants::clean_name("name", n, tenants::VISITOR_NAME_MAX)?,
    };
    let email = agents::normalize_email(&b.email)?;
    let message = b.message.trim().to_string();
    if message.is_empty() || message.chars().count() > 4000 {
        return Err(ApiError::bad_request(
            "the message must have 1 to 4000 characters",
        ));
    }
    // At most 10 offline messages per address in 15 minutes: a form is not a mail cannon.
    let key = format!("offline:{}", crate::model::ip::throttle_key(client.ip));
    let t0 = state.clock.instant();
    if let Some(wait) = state.throttle.blocked_for(&key, t0) {
        intrusion::rate_limited(client.ip, "offline");
        return Err(Error::Throttled(wait).into());
    }
    state.throttle.fail(&key, t0);
    let lang = Lang::parse(&b.lang).unwrap_or(Lang::En).code();
    // A blocked visitor is known by the same browser key and truncated address as their
    // socket (see `ws.rs`); the widget hides the form from them, this holds without it.
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let now = state.clock.now();
    let browser = (site.tracking.mode != "off")
        .then(|| state.tracking.keys.key(now, &site.site_key, client.ip, ua));
    let address = client.shown_ip();
    let st = state.clone();
    let uuid = site.tenant_uuid.clone();
    let blocked = web::block(move || -> Result<_, Error> {
        let db = st.store.tenant_db(&site.tenant_uuid)?;
        let blocks = db.read(|c| crate::store::blocks::active(c, now))?;
        if crate::model::blocks::catching(&blocks, browser.as_ref(), Some(&address), now).is_some()
        {
            return Ok(true);
        }
        let origin = site.origins.first().cloned().unwrap_or_default();
        let new = cstore::NewOffline {
            site_key: &site.site_key,
            name: &name,
            email: &email,
            message: &message,
            lang,
            at: st.clock.now(),
        };
        db.with(|c| email::events::leave_offline(c, st.mail.as_deref(), &new, &origin))?;
        Ok(false)
    })
    .await??;
    if blocked {
        return Err(ApiError::of(
            Code::Blocked,
            "an agent has blocked messages from here for a while",
        ));
    }
    state.hooks.wake(&uuid);
    if let Some(m) = &state.mail {
        m.wake(email::Box::Tenant(uuid));
    }
    Ok(HttpResponse::build(StatusCode::CREATED).json(serde_json::json!({ "ok": true })))
}

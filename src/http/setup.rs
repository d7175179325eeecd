//! `GET /setup/{link}` and `POST /setup/{link}`: an invited agent, or one an admin gave a
//! password-reset link, chooses a password. Protected like the sign-in form: our own `Origin`
//! plus a double-submit token bound to a cookie. The password must pass the usual policy
//! (`domain::agents::check_password`) and zxcvbn's estimate (score 3 or more); its warning is
//! shown in the page's language. The link works once and expires; a dead one gets a clear page.

use super::client::Client;
use super::session;
use super::{State, lang};
use crate::crypto;
use crate::domain::{agents, intrusion, setup};
use crate::error::{ApiError, Error};
use crate::i18n::{self, Lang};
use crate::store::TenantDb;
use crate::store::audit::{self as astore, AuditEntry};
use crate::store::links::{self, Link};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use std::sync::Arc;

/// The cookie holding the form's double-submit token.
const SETUP: &str = "kontor_setup";

/// The live link `raw` names, with its tenant database; `None` when unknown, used or expired.
fn live(state: &State, raw: &str) -> Result<Option<(Arc<TenantDb>, Link)>, Error> {
    let Ok((uuid, token)) = setup::split(raw) else {
        return Ok(None);
    };
    let db = match state.store.tenant_db(uuid) {
        Ok(db) => db,
        Err(Error::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let now = state.clock.now();
    let link = db.read(|c| links::find(c, &crypto::token_hash(token)))?;
    Ok(link
        .filter(|l| l.used_at.is_none() && l.expires_at > now)
        .map(|l| (db, l)))
}

fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Referrer-Policy", "same-origin"))
        .body(body)
}

/// The page for a dead link (unknown, used or expired).
fn dead(lang: Lang) -> HttpResponse {
    html(
        StatusCode::GONE,
        i18n::render(
            "setup_done.html",
            lang,
            &[
                ("heading", i18n::t(lang, "setup.dead.heading")),
                ("text", i18n::t(lang, "setup.dead.text")),
            ],
        ),
    )
}

fn form_page(lang: Lang, link: &Link, csrf: &str, error: Option<&str>) -> String {
    let heading = match link.purpose {
        links::Purpose::Invite => "setup.heading.invite",
        links::Purpose::Reset => "setup.heading.reset",
    };
    i18n::render(
        "setup.html",
        lang,
        &[
            ("heading", i18n::t(lang, heading)),
            ("email", &link.agent.email),
            ("name", &link.agent.display_name),
            ("csrf", csrf),
            ("error", error.unwrap_or("")),
            ("error_state", if error.is_some() { "" } else { "hidden" }),
            ("invalid", if error.is_some() { "true" } else { "false" }),
        ],
    )
}

/// `GET /setup/{link}`.
pub async fn page(
    req: HttpRequest,
    state: State,
    client: Client,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (lang, lang_cookie) = lang::pick(&req);
    let st = state.clone();
    let raw = path.into_inner();
    let found = web::block(move || live(&st, &raw)).await??;
    let Some((_, link)) = found else {
        intrusion::token_refused(client.ip, "setup_link");
        return Ok(dead(lang));
    };
    let token = crypto::random_token();
    let mut res = html(StatusCode::OK, form_page(lang, &link, &token, None));
    let https = client.https();
    res.add_cookie(&session::strict_cookie(SETUP, token, https))
        .map_err(|e| Error::Internal(e.to_string()))?;
    if let Some(c) = lang_cookie {
        res.add_cookie(&c)
            .map_err(|e| Error::Internal(e.to_string()))?;
    }
    Ok(res)
}

/// The form's fields.
#[derive(Deserialize)]
pub struct SetupForm {
    password: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /setup/{link}`.
pub async fn submit(
    req: HttpRequest,
    state: State,
    client: Client,
    path: web::Path<String>,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, ApiError> {
    let (lang, _) = lang::pick(&req);
    let raw = path.into_inner();
    let form = form.into_inner();
    let cookie_token = req
        .cookie(&session::cookie_name(SETUP, client.https()))
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let st = state.clone();
    let raw2 = raw.clone();
    let found = web::block(move || live(&st, &raw2)).await??;
    let Some((db, link)) = found else {
        intrusion::token_refused(client.ip, "setup_link");
        return Ok(dead(lang));
    };
    let again = |status: StatusCode, error: &str| {
        html(status, form_page(lang, &link, &cookie_token, Some(error)))
    };
    let token_ok = !cookie_token.is_empty()
        && crypto::secure_eq(cookie_token.as_bytes(), form.csrf.as_bytes());
    if !client.same_origin(&req) || !token_ok {
        intrusion::csrf_refused(client.ip, "setup");
        return Ok(again(
            StatusCode::FORBIDDEN,
            i18n::t(lang, "login.rejected"),
        ));
    }
    if form.password != form.confirm {
        return Ok(again(
            StatusCode::BAD_REQUEST,
            i18n::t(lang, "setup.mismatch"),
        ));
    }
    if let Err(e) = agents::check_password(&form.password) {
        let key = match e.to_string() {
            m if m.contains("at least") => "setup.short",
            m if m.contains("at most") => "setup.long",
            _ => "setup.warn.common",
        };
        return Ok(again(StatusCode::BAD_REQUEST, i18n::t(lang, key)));
    }
    let local = link.agent.email.split('@').next().unwrap_or("");
    let inputs = [
        link.agent.email.as_str(),
        local,
        link.agent.display_name.as_str(),
    ];
    if let Some(key) = setup::weakness(&form.password, &inputs) {
        let text = format!("{} {}", i18n::t(lang, key), i18n::t(lang, "setup.hint"));
        return Ok(again(StatusCode::BAD_REQUEST, &text));
    }
    let (_, token) = setup::split(&raw)?;
    let hash = crypto::token_hash(token);
    let (clock, password) = (state.clock.clone(), form.password);
    let (ip, rid) = (client.shown_ip(), client.request_id.clone());
    let done = web::block(move || {
        let password_hash = crypto::hash_password(&password);
        let now = clock.now();
        let rec = db.with(|c| links::redeem(c, &hash, &password_hash, now))?;
        let entry = AuditEntry {
            actor: &rec.email,
            role: &rec.role,
            action: "agent.setup",
            object: &format!("agent#{}", rec.id),
            result: "success",
            ip: &ip,
            request_id: &rid,
        };
        if let Err(e) = db.with(|c| astore::append(c, now, &entry)) {
            tracing::error!(error = %e, "writing the audit log failed");
        }
        Ok::<_, Error>(rec)
    })
    .await?;
    match done {
        Ok(_) => {
            let mut res = html(
                StatusCode::OK,
                i18n::render(
                    "setup_done.html",
                    lang,
                    &[
                        ("heading", i18n::t(lang, "setup.done.heading")),
                        ("text", i18n::t(lang, "setup.done.text")),
                    ],
                ),
            );
            res.add_cookie(&session::removal_cookie(SETUP, client.https()))
                .map_err(|e| Error::Internal(e.to_string()))?;
            Ok(res)
        }
        Err(Error::NotFound(_)) => Ok(dead(lang)),
        Err(e) => Err(e.into()),
    }
}

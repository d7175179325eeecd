//! `GET /login`, `POST /login`, `POST /logout`; the second step of a sign-in is in
//! `second_factor.rs`.
//!
//! Sign-in is a plain HTML form (works without JavaScript). It is protected against login CSRF
//! by the Origin check plus a double-submit token bound to a pre-login cookie; the session
//! token is created fresh at sign-in, so a planted pre-login value is worthless.

use super::agent::Agent;
use super::client::Client;
use super::session;
use super::{State, lang};
use crate::crypto;
use crate::domain::auth::{self, LoginAttempt, Step};
use crate::domain::intrusion;
use crate::error::{ApiError, Error};
use crate::i18n::{self, Lang};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

/// The pre-login cookie holding the sign-in form's double-submit token (kept through the
/// second step).
pub(super) const PRELOGIN: &str = "kontor_prelogin";

/// Where to go after sign-in: only same-origin relative paths, never `//host` or `/\host`.
pub fn safe_next(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace());
    if ok { next } else { "/app/chats" }
}

/// The cookie naming a half-done sign-in.
pub(super) const CHALLENGE: &str = "kontor_challenge";

/// `next` as a query value: unreserved characters and `/` as they are, the rest escaped.
pub(super) fn query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The answer to a right password when a second factor is owed: the challenge cookie and a
/// redirect to the code form, or to the set-up when `enrol`.
pub fn owed(cookie: String, enrol: bool, next: &str, https: bool) -> HttpResponse {
    let page = if enrol { "/login/enrol" } else { "/login/code" };
    let location = format!("{page}?next={}", query_value(safe_next(next)));
    HttpResponse::SeeOther()
        .cookie(session::strict_cookie(CHALLENGE, cookie, https))
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Query of `GET /login`.
#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
}

pub(super) struct Form<'a> {
    pub lang: Lang,
    pub csrf: &'a str,
    pub next: &'a str,
    pub tenant: &'a str,
    pub email: &'a str,
    pub error: Option<&'a str>,
}

/// The sign-in form.
pub(super) fn render(f: &Form<'_>) -> String {
    let error = f.error.map(|k| i18n::t(f.lang, k)).unwrap_or("");
    i18n::render(
        "login.html",
        f.lang,
        &[
            ("csrf", f.csrf),
            ("next", safe_next(f.next)),
            ("tenant", f.tenant),
            ("email", f.email),
            ("error", error),
            ("error_state", if f.error.is_some() { "" } else { "hidden" }),
        ],
    )
}

/// `GET /login`: the sign-in form (or straight to the dashboard when signed in).
pub async fn page(
    req: HttpRequest,
    state: State,
    client: Client,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, ApiError> {
    if session::current(&req, &state).await?.is_some() {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, safe_next(&query.next)))
            .finish());
    }
    let (lang, lang_cookie) = lang::pick(&req);
    let https = client.https();
    let token = match req.cookie(&session::cookie_name(PRELOGIN, https)) {
        Some(c) if c.value().len() == 64 && c.value().bytes().all(|b| b.is_ascii_hexdigit()) => {
            c.value().to_string()
        }
        _ => crypto::random_token(),
    };
    let html = render(&Form {
        lang,
        csrf: &token,
        next: &query.next,
        tenant: "",
        email: "",
        error: None,
    });
    let mut res = HttpResponse::Ok();
    res.cookie(session::strict_cookie(PRELOGIN, token, https));
    if let Some(c) = lang_cookie {
        res.cookie(c);
    }
    Ok(res.content_type("text/html; charset=utf-8").body(html))
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    tenant: String,
    email: String,
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

/// `POST /login`.
pub async fn submit(
    req: HttpRequest,
    state: State,
    client: Client,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, ApiError> {
    let (lang, _) = lang::pick(&req);
    let form = form.into_inner();
    let cookie_token = req
        .cookie(&session::cookie_name(PRELOGIN, client.https()))
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let reply = |status: StatusCode, error: &str| {
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(render(&Form {
                lang,
                csrf: &cookie_token,
                next: &form.next,
                tenant: &form.tenant,
                email: &form.email,
                error: Some(error),
            }))
    };
    let token_ok = !cookie_token.is_empty()
        && crypto::secure_eq(cookie_token.as_bytes(), form.csrf.as_bytes());
    if !client.same_origin(&req) || !token_ok {
        intrusion::csrf_refused(client.ip, "login");
        return Ok(reply(StatusCode::FORBIDDEN, "login.rejected"));
    }
    let st = state.clone();
    let (tenant, email, password) = (form.tenant.clone(), form.email.clone(), form.password);
    let (ip, request_id) = (client.ip, client.request_id.clone());
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let result = web::block(move || {
        auth::login(
            &st.store,
            &st.throttle,
            &st.clock,
            &LoginAttempt {
                tenant: &tenant,
                email: &email,
                password: &password,
                ip,
                request_id: &request_id,
                user_agent: &user_agent,
            },
        )
    })
    .await?;
    match result {
        Ok(Step::Done(new)) => Ok(HttpResponse::SeeOther()
            .cookie(session::session_cookie(new.cookie, client.https()))
            .cookie(session::removal_cookie(PRELOGIN, client.https()))
            .insert_header((header::LOCATION, safe_next(&form.next)))
            .finish()),
        Ok(Step::SecondFactor { cookie, enrol }) => {
            Ok(owed(cookie, enrol, &form.next, client.https()))
        }
        Err(Error::Unauthorized) => Ok(reply(StatusCode::UNAUTHORIZED, "login.failed")),
        Err(Error::Throttled(wait)) => {
            let mut res = reply(StatusCode::TOO_MANY_REQUESTS, "login.throttled");
            if let Ok(v) = header::HeaderValue::from_str(&wait.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}

/// The logout form's field.
#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`: ends the session (Origin and CSRF token checked) and returns to sign-in.
pub async fn logout(a: Agent, form: web::Form<LogoutForm>) -> Result<HttpResponse, ApiError> {
    let token_ok = crypto::secure_eq(a.session.csrf.as_bytes(), form.csrf.as_bytes());
    if !a.same_origin() || !token_ok {
        intrusion::csrf_refused(a.client.ip, "logout");
        return Err(ApiError::csrf());
    }
    let (ip, rid) = (a.client.ip, a.client.request_id.clone());
    let (s, clock) = (a.session, a.state.clock.clone());
    web::block(move || auth::logout(&s, &clock, ip, &rid)).await??;
    Ok(HttpResponse::SeeOther()
        .cookie(session::session_removal(a.client.https()))
        .insert_header((header::LOCATION, "/login"))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::{query_value, safe_next};

    #[test]
    fn next_is_same_origin_only() {
        assert_eq!(safe_next("/app/history"), "/app/history");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil",
            "",
            "javascript:x",
            "/a\nb",
        ] {
            assert_eq!(safe_next(bad), "/app/chats", "{bad:?}");
        }
    }

    #[test]
    fn next_travels_escaped() {
        assert_eq!(query_value("/app/chats"), "/app/chats");
        assert_eq!(query_value("/app?a=1&b=ü"), "/app%3Fa%3D1%26b%3D%C3%BC");
    }
}

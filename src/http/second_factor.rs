//! The second step of a sign-in (`/login/code`, `/login/enrol`): after a right password, an
//! agent with an authenticator types its code (or a recovery code); an agent whose role
//! requires one and who has none sets it up here, then sees their recovery codes once.
//!
//! The half-done sign-in is named by its own HttpOnly, SameSite=Strict cookie; the forms are
//! protected like the password form (our Origin plus the pre-login double-submit token).

use super::client::Client;
use super::login::{self, CHALLENGE, PRELOGIN, query_value, safe_next};
use super::session;
use super::{State, lang};
use crate::crypto;
use crate::domain::auth::{self, CodeAttempt, CodeOutcome};
use crate::domain::{intrusion, two_factor};
use crate::error::{ApiError, Error};
use crate::i18n::{self, Lang};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

/// Query of the two pages.
#[derive(Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// The code forms' fields.
#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

fn cookie(req: &HttpRequest, https: bool, base: &str) -> String {
    req.cookie(&session::cookie_name(base, https))
        .map(|c| c.value().to_string())
        .unwrap_or_default()
}

fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// Back to the password form with a message (the half-done sign-in is over).
fn start_again(lang: Lang, csrf: &str, next: &str, https: bool) -> HttpResponse {
    let mut res = html(
        StatusCode::UNAUTHORIZED,
        login::render(&login::Form {
            lang,
            csrf,
            next,
            tenant: "",
            email: "",
            error: Some("login.code.expired"),
        }),
    );
    let _ = res.add_cookie(&session::removal_cookie(CHALLENGE, https));
    res
}

/// The code form, with an error when one is given.
fn code_page(lang: Lang, csrf: &str, next: &str, error: Option<&str>) -> String {
    let error_text = error.map(|k| i18n::t(lang, k)).unwrap_or("");
    i18n::render(
        "login_code.html",
        lang,
        &[
            ("csrf", csrf),
            ("next", safe_next(next)),
            ("error", error_text),
            ("error_state", if error.is_some() { "" } else { "hidden" }),
        ],
    )
}

/// The set-up page for the agent's unconfirmed secret (a new one when there is none).
async fn enrol_page(
    state: &State,
    p: auth::Pending,
    page: (Lang, &str, &str),
    error: Option<&str>,
) -> Result<String, ApiError> {
    let (lang, csrf, next) = page;
    let now = state.clock.now();
    let issuer = p.record.name.clone();
    let e = web::block(move || {
        p.tenant
            .with(|c| match two_factor::pending(c, &p.agent, &issuer, now)? {
                Some(e) => Ok(e),
                None => two_factor::begin(c, &p.agent, &issuer, now),
            })
    })
    .await??;
    let size = e.qr.size.to_string();
    let error_text = error.map(|k| i18n::t(lang, k)).unwrap_or("");
    Ok(i18n::render(
        "login_enrol.html",
        lang,
        &[
            ("csrf", csrf),
            ("next", safe_next(next)),
            ("qr_size", &size),
            ("qr_path", &e.qr.path),
            ("secret", &e.secret),
            ("error", error_text),
            ("error_state", if error.is_some() { "" } else { "hidden" }),
        ],
    ))
}

async fn find_pending(state: &State, value: String) -> Result<Option<auth::Pending>, ApiError> {
    let st = state.clone();
    Ok(web::block(move || auth::pending(&st.store, &st.clock, &value)).await??)
}

/// `GET /login/code` and `GET /login/enrol`: the form the half-done sign-in needs.
pub async fn page(
    req: HttpRequest,
    state: State,
    client: Client,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, ApiError> {
    let (lang, _) = lang::pick(&req);
    let https = client.https();
    let csrf = cookie(&req, https, PRELOGIN);
    let next = safe_next(&query.next);
    let Some(p) = find_pending(&state, cookie(&req, https, CHALLENGE)).await? else {
        return Ok(start_again(lang, &csrf, next, https));
    };
    let wants_enrol = req.path() == "/login/enrol";
    if p.enrol != wants_enrol {
        let other = if p.enrol {
            "/login/enrol"
        } else {
            "/login/code"
        };
        return Ok(HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("{other}?next={}", query_value(next)),
            ))
            .finish());
    }
    let body = if p.enrol {
        enrol_page(&state, p, (lang, &csrf, next), None).await?
    } else {
        code_page(lang, &csrf, next, None)
    };
    Ok(html(StatusCode::OK, body))
}

/// `POST /login/code` and `POST /login/enrol`: checks the code and signs in.
pub async fn submit(
    req: HttpRequest,
    state: State,
    client: Client,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, ApiError> {
    let (lang, _) = lang::pick(&req);
    let https = client.https();
    let form = form.into_inner();
    let csrf = cookie(&req, https, PRELOGIN);
    let next = safe_next(&form.next).to_string();
    let token_ok = !csrf.is_empty() && crypto::secure_eq(csrf.as_bytes(), form.csrf.as_bytes());
    if !client.same_origin(&req) || !token_ok {
        intrusion::csrf_refused(client.ip, "second_factor");
        return Ok(html(
            StatusCode::FORBIDDEN,
            code_page(lang, &csrf, &next, Some("login.rejected")),
        ));
    }
    let challenge = cookie(&req, https, CHALLENGE);
    let st = state.clone();
    let (code, ip, rid) = (form.code, client.ip, client.request_id.clone());
    let value = challenge.clone();
    let outcome = web::block(move || {
        auth::second_factor(
            &st.store,
            &st.throttle,
            &st.clock,
            &CodeAttempt {
                cookie: &value,
                code: &code,
                ip,
                request_id: &rid,
            },
        )
    })
    .await?;
    match outcome {
        Ok(CodeOutcome::SignedIn {
            session: new,
            recovery_codes,
            ..
        }) => {
            let mut res = if recovery_codes.is_empty() {
                HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, next.clone()))
                    .finish()
            } else {
                let codes = recovery_codes.join("\n");
                html(
                    StatusCode::OK,
                    i18n::render(
                        "login_recovery.html",
                        lang,
                        &[("codes", &codes), ("next", &next)],
                    ),
                )
            };
            for c in [
                session::session_cookie(new.cookie, https),
                session::removal_cookie(PRELOGIN, https),
                session::removal_cookie(CHALLENGE, https),
            ] {
                let _ = res.add_cookie(&c);
            }
            Ok(res)
        }
        Ok(CodeOutcome::Wrong { tries_left }) if tries_left > 0 => {
            let wrong = Some("login.code.wrong");
            let body = match find_pending(&state, challenge).await? {
                Some(p) if p.enrol => enrol_page(&state, p, (lang, &csrf, &next), wrong).await?,
                _ => code_page(lang, &csrf, &next, wrong),
            };
            Ok(html(StatusCode::UNAUTHORIZED, body))
        }
        Ok(CodeOutcome::Wrong { .. } | CodeOutcome::Expired) => {
            Ok(start_again(lang, &csrf, &next, https))
        }
        Err(Error::Throttled(wait)) => {
            let mut res = html(
                StatusCode::TOO_MANY_REQUESTS,
                code_page(lang, &csrf, &next, Some("login.throttled")),
            );
            if let Ok(v) = header::HeaderValue::from_str(&wait.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}

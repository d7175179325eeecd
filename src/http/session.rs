//! Agent sessions at the edge: the cookie, the session it names, and the CSRF and permission
//! checks (handlers reach them through the [`super::agent::Agent`] extractor).

use super::State;
use crate::domain::auth::{self, Session};
use crate::error::{ApiError, Error};
use crate::model::rights::Permission;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, web};

const SESSION: &str = "kontor_session";

/// A cookie's name as sent: over HTTPS (our TLS or the trusted proxy's) the `__Host-` prefix
/// pins it to our host, path `/` and `Secure`.
pub fn cookie_name(base: &str, https: bool) -> String {
    if https {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

/// An HttpOnly, SameSite=Strict cookie for path `/`, `Secure` over HTTPS.
pub fn strict_cookie(base: &str, value: String, https: bool) -> Cookie<'static> {
    Cookie::build(cookie_name(base, https), value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(https)
        .finish()
}

/// A cookie that deletes the strict cookie `base`.
pub fn removal_cookie(base: &str, https: bool) -> Cookie<'static> {
    let mut c = strict_cookie(base, String::new(), https);
    c.make_removal();
    c
}

/// The session cookie for a fresh sign-in.
pub fn session_cookie(value: String, https: bool) -> Cookie<'static> {
    strict_cookie(SESSION, value, https)
}

/// A cookie that ends the session in the browser.
pub fn session_removal(https: bool) -> Cookie<'static> {
    removal_cookie(SESSION, https)
}

/// The request's valid session, if any.
pub async fn current(req: &HttpRequest, state: &State) -> Result<Option<Session>, ApiError> {
    let https = super::client::Client::of(req, state).https();
    let Some(cookie) = req.cookie(&cookie_name(SESSION, https)) else {
        return Ok(None);
    };
    let value = cookie.value().to_string();
    let st = state.clone();
    let found =
        web::block(move || auth::authenticate(&st.store, &st.config.session, &st.clock, &value))
            .await?;
    match found {
        Ok(s) if s.agent.role_id == crate::model::rights::SUPPORT => {
            support_request(req, state, s).await
        }
        Ok(s) => Ok(Some(s)),
        Err(Error::Unauthorized) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The operator's support login: only what `support_may` lets it read, and every request of
/// it, allowed or refused, in the tenant's audit trail (method and path, never a query).
async fn support_request(
    req: &HttpRequest,
    state: &State,
    s: Session,
) -> Result<Option<Session>, ApiError> {
    let (method, path) = (req.method().as_str().to_string(), req.path().to_string());
    let allowed = crate::model::rights::support_may(&method, &path);
    let client = super::client::Client::of(req, state);
    let (db, actor) = (s.tenant.clone(), s.agent.email.clone());
    let (ip, rid) = (client.shown_ip(), client.request_id.clone());
    let object = format!("{method} {path}");
    let written = web::block(move || {
        db.with(|c| {
            crate::store::audit::record(
                c,
                &crate::store::audit::AuditEntry {
                    actor: &actor,
                    role: "support",
                    action: "support.request",
                    object: &object,
                    result: if allowed { "success" } else { "authz denied" },
                    ip: &ip,
                    request_id: &rid,
                },
            )
        })
    })
    .await;
    if !matches!(written, Ok(Ok(()))) {
        // Unrecorded support access is not allowed to happen.
        return Err(Error::Internal("writing the audit log failed".into()).into());
    }
    if !allowed {
        return Err(ApiError::of(
            crate::error::Code::Forbidden,
            "the support login reads settings, agents, sites, statistics and campaigns only",
        ));
    }
    Ok(Some(s))
}

/// The CSRF check for state-changing API calls: our own `Origin` and the session's token in
/// `X-CSRF-Token`.
pub fn require_csrf(
    req: &HttpRequest,
    client: &super::client::Client,
    session: &Session,
) -> Result<(), ApiError> {
    let sent = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if client.same_origin(req) && crate::crypto::secure_eq(sent.as_bytes(), session.csrf.as_bytes())
    {
        Ok(())
    } else {
        crate::domain::intrusion::csrf_refused(client.ip, "api");
        Err(ApiError::csrf())
    }
}

/// Refuses agents whose role has none of `any` (the first one names the refusal).
pub fn require_any(session: &Session, any: &[Permission]) -> Result<(), ApiError> {
    match any.iter().find(|p| session.agent.may(**p)) {
        Some(_) => Ok(()),
        None => require(session, any[0]),
    }
}

/// Refuses agents whose role lacks `p`: "your role does not allow you to {what}".
pub fn require(session: &Session, p: Permission) -> Result<(), ApiError> {
    if !session.agent.may(p) {
        return Err(
            Error::Forbidden(format!("your role does not allow you to {}", p.what())).into(),
        );
    }
    Ok(())
}
